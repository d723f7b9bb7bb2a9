"""GitHub mode end to end: `grader ta-command` on issue_comment events (THREATS 8, 13, 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def _posted(world: World, number: int, author: str, body: str, **kw: Any) -> tuple[int, int]:
    """Post the comment on the fake and send its event: (comment id, exit code)."""
    comment_id = world.gh.add_comment(number, author, body)
    event = e2e_support.comment_event(world.gh, number=number, author=author, body=body, **kw)
    event["comment"]["id"] = comment_id
    return comment_id, world.main("ta-command", event=event)


def _changed_output(world: World) -> list[str]:
    path = world.tmp / "github_output"
    return path.read_text().splitlines() if path.exists() else []


def test_an_accepted_command_gets_a_reaction_and_says_the_ledger_changed(
    world: World, graded: int
) -> None:
    world.setenv(GITHUB_OUTPUT=str(world.tmp / "github_output"))
    comment_id, code = _posted(world, graded, "tina", "/grader complete checked by hand")
    assert code == OK
    assert world.gh.state.reactions[comment_id] == [(e2e_support.BOT, "+1")]
    assert f"POST /repos/{world.gh.repository}/issues/comments/{comment_id}/reactions 201" in (
        world.writes()
    )
    assert _changed_output(world) == ["changed=true"]


def test_a_stranger_is_refused_once_however_often_they_comment(world: World, graded: int) -> None:
    world.setenv(GITHUB_OUTPUT=str(world.tmp / "github_output"))
    before = world.state_files()
    for i in range(3):
        comment_id, code = _posted(world, graded, "stranger", f"/grader complete please {i}")
        assert code == OK
        assert comment_id not in world.gh.state.reactions
    refusals = [b for b in world.bot_comments(graded) if REFUSED in b]
    assert len(refusals) == 1
    assert world.state_files() == before
    assert _changed_output(world) == ["changed=false"] * 3
    world.gh.clear_log()
    _posted(world, graded, "stranger", "/grader regrade")
    assert world.writes() == []  # not a reply, not a reaction, not a re-run


def test_row_14_regrade_in_github_mode_reruns_the_grade_run(world: World, graded: int) -> None:
    """Any TA of the course (tina has no write access) starts grading again through the API."""
    (run_id,) = [r.id for r in world.gh.state.runs.values() if r.head_sha == "1" * 40]
    before = world.state_files()
    comment_id, code = _posted(world, graded, "tina", "/grader regrade")
    assert code == OK
    assert world.gh.state.runs[run_id].run_attempt == 2
    assert f"POST /repos/{world.gh.repository}/actions/runs/{run_id}/rerun 201" in world.writes()
    assert world.state_files() == before  # the new attempt publishes as any grade run does
    replies = [b for b in world.bot_comments(graded) if not b.startswith("<!--")]
    assert len(replies) == 1
    assert "Regrading started" in replies[0]
    assert world.gh.state.reactions[comment_id] == [(e2e_support.BOT, "rocket")]


def test_regrade_of_a_commit_without_a_grade_run_says_so(world: World, graded: int) -> None:
    world.gh.push(graded, "3" * 40)  # a new head that no grade run has seen yet
    _, code = _posted(world, graded, "tina", "/grader regrade")
    assert code == OK
    replies = [b for b in world.bot_comments(graded) if not b.startswith("<!--")]
    assert "no `grade` run" in replies[-1]


def test_extend_rederives_the_record(world: World, real_artifacts: dict[str, Path]) -> None:
    number, event = world.submit("alice", "1" * 40, at=IN_GRACE)  # first push after D: late
    assert world.publish(real_artifacts["complete"], event) == OK
    assert world.facts(number)["status"] == "late"
    assert world.command(number, "tina", "/grader extend 2d") == OK
    assert world.facts(number)["status"] == "complete"
    assert world.gh.labels_on(number) == ["complete"]
