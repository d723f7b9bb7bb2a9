"""GitHub mode end to end: `grader ta-command` on issue_comment events (THREATS 8, 13, 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.cli.common import OK
from tests import e2e_support
from tests.e2e_support import IN_GRACE, WRONG, World

pytestmark = pytest.mark.kernel
world = e2e_support.world  # fixtures
real_artifacts = e2e_support.real_artifacts

REFUSED = "only course TAs and repository maintainers can run /grader commands"


@pytest.fixture
def graded(world: World, real_artifacts: dict[str, Path]) -> int:
    """Alice's PR, graded incomplete (a wrong answer)."""
    number, event = world.submit("alice", "1" * 40, content=WRONG)
    assert world.publish(real_artifacts["wrong"], event) == OK
    assert world.gh.labels_on(number) == ["incomplete"]
    return number


def _overrides(world: World) -> list[dict[str, object]]:
    return [e for e in world.records()[("alice", "a1")] if e["type"] == "override"]


@pytest.mark.parametrize(
    ("author", "permission"),
    [("alice", None), ("rita", "read"), ("tria", "triage"), ("stranger", None)],
)
def test_row_13_complete_from_a_student_or_reader_is_refused(
    world: World, graded: int, author: str, permission: str | None
) -> None:
    world.gh.set_permission(author, permission)
    before = world.state_files()
    assert world.command(graded, author, "/grader complete trust me") == OK
    assert world.state_files() == before
    assert world.gh.labels_on(graded) == ["incomplete"]
    replies = [b for b in world.bot_comments(graded) if not b.startswith("<!--")]
    assert len(replies) == 1
    assert REFUSED in replies[0]


@pytest.mark.parametrize(("author", "permission"), [("tina", None), ("wendy", "write")])
def test_row_13_complete_from_a_ta_or_writer_is_applied(
    world: World, graded: int, author: str, permission: str | None
) -> None:
    world.gh.set_permission(author, permission)
    assert world.command(graded, author, "/grader complete checked by hand") == OK
    assert world.gh.labels_on(graded) == ["complete"]
    assert world.facts(graded)["override"] is True
    assert [(o["status"], o["by"]) for o in _overrides(world)] == [("complete", author)]
    assert len(world.bot_comments(graded)) == 1  # the sticky comment, edited


def test_comments_by_bots_and_other_actions_are_ignored(world: World, graded: int) -> None:
    world.gh.clear_log()
    event = e2e_support.comment_event(
        world.gh, number=graded, author="tina", body="/grader complete", user_type="Bot"
    )
    assert world.main("ta-command", event=event) == OK
    stub = e2e_support.corpus_payload("issue_comment.created-by-app.all-contributors.json")
    assert world.main("ta-command", event=stub) == OK  # 81 bytes: no comment, no issue
    edited = e2e_support.comment_event(
        world.gh, number=graded, author="tina", body="/grader complete"
    )
    edited["action"] = "edited"
    assert world.main("ta-command", event=edited) == OK
    assert world.gh.requests == []


def test_a_comment_from_another_repository_is_ignored(world: World, graded: int) -> None:
    world.gh.clear_log()
    event = e2e_support.comment_event(
        world.gh, number=graded, author="tina", body="/grader complete"
    )
    event["repository"]["full_name"] = "someone/else"
    assert world.main("ta-command", event=event) == OK
    assert world.gh.requests == []


def test_row_8_the_body_comes_only_from_the_event_file(world: World, graded: int) -> None:
    """Look-alike variables in the environment are not read; the event file is."""
    lookalikes = {
        "COMMENT_BODY": "/grader incomplete from-env",
        "GITHUB_EVENT_COMMENT_BODY": "/grader incomplete from-env",
        "INPUT_BODY": "/grader incomplete from-env",
    }
    world.setenv(**lookalikes)
    assert world.command(graded, "tina", "/grader complete from-event") == OK
    assert [(o["status"], o["note"]) for o in _overrides(world)] == [("complete", "from-event")]
    assert all("from-env" not in body for _, body in world.gh.comments_on(graded))


def test_command_on_a_plain_issue_is_answered_there(world: World, graded: int) -> None:
    """The corpus' plain-issue comment: a command there that needs a PR is refused politely."""
    tracker = world.gh.add_issue("Progress tracker", "")
    assert world.command(tracker, "tina", "/grader complete", on_pull=False) == OK
    (reply,) = world.bot_comments(tracker)
    assert "works on the tracking issue" in reply
    assert _overrides(world) == []


@pytest.mark.parametrize("body", ["/grader complete", "/grader project presented"])
def test_command_on_another_plain_issue_gets_a_reply_not_a_crash(
    world: World, graded: int, body: str
) -> None:
    question = world.gh.add_issue("How do I submit?", "", author="alice")
    assert world.command(question, "tina", body, on_pull=False) == OK
    (reply,) = world.bot_comments(question)  # was an internal error: GET /pulls/N is 404
    assert "pull request" in reply or "Name the group" in reply
    assert world.gh.labels_on(graded) == ["incomplete"]


def test_row_14_command_racing_a_new_push_applies_to_the_record(
    world: World, graded: int, real_artifacts: dict[str, Path]
) -> None:
    # A new (still wrong) push; its grade run finishes after the TA's command.
    _, second = world.submit("alice", "2" * 40, number=graded, content=WRONG, at=IN_GRACE)
    assert world.command(graded, "tina", "/grader complete reviewed the notebook") == OK
    assert world.gh.labels_on(graded) == ["complete"]
    assert world.publish(real_artifacts["wrong"], second) == OK
    assert world.gh.labels_on(graded) == ["complete"]  # automation never undoes an override
    assert world.facts(graded)["status"] == "complete"
    shas = [e["sha"] for e in world.records()[("alice", "a1")] if e["type"] == "submission"]
    assert shas == ["1" * 40, "2" * 40]


def test_row_14_regrade_in_github_mode_says_what_happens(world: World, graded: int) -> None:
    before = world.state_files()
    assert world.command(graded, "tina", "/grader regrade") == OK
    assert world.state_files() == before
    replies = [b for b in world.bot_comments(graded) if not b.startswith("<!--")]
    assert len(replies) == 1
    assert "Re-run all jobs" in replies[0]
    assert "grade" in replies[0]


def test_extend_rederives_the_record(world: World, real_artifacts: dict[str, Path]) -> None:
    number, event = world.submit("alice", "1" * 40, at=IN_GRACE)  # first push after D: late
    assert world.publish(real_artifacts["complete"], event) == OK
    assert world.facts(number)["status"] == "late"
    assert world.command(number, "tina", "/grader extend 2d") == OK
    assert world.facts(number)["status"] == "complete"
    assert world.gh.labels_on(number) == ["complete"]
