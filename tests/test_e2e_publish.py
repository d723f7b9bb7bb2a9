"""GitHub mode end to end: `grader publish` on real artifacts against the fake GitHub.

Scope and identity (THREATS 1-6, 10), time (15, 18, 19), budgets and no-op re-runs.
Each test drives `grader.cli.main(["publish", ...])` with the Actions environment
in os.environ and a workflow_run event file derived from the corpus payloads.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from grader.cli.common import OK
from tests import e2e_support
from tests.e2e_support import (
    AFTER_GRACE,
    COMPLETE,
    DEADLINE_A1,
    IN_GRACE,
    ON_TIME,
    WRONG,
    World,
    retarget,
    seed_ledger,
    workflow_run_event,
)
from tests.fakegithub import PullFile

pytestmark = pytest.mark.kernel
world = e2e_support.world  # fixtures
real_artifacts = e2e_support.real_artifacts

REJECTED = "Not graded: this pull request changes files it may not change"


def test_happy_path_complete(world: World, real_artifacts: dict[str, Path]) -> None:
    number, event = world.submit("alice", "a" * 40)
    assert world.publish(real_artifacts["complete"], event) == OK
    assert world.gh.labels_on(number) == ["complete"]
    assert world.facts(number)["status"] == "complete"
    assert [e["sha"] for e in world.records()[("alice", "a1")]] == ["a" * 40]
    # Only the ledger's first write meets a 404: the state branch does not exist yet.
    assert all("records/" in r.path for r in world.gh.unhandled())


def test_wrong_answer_then_fix_in_the_same_pr(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number, first = world.submit("alice", "1" * 40, content=WRONG)
    assert world.publish(real_artifacts["wrong"], first) == OK
    assert world.gh.labels_on(number) == ["incomplete"]
    assert "assert f() == 1" in world.sticky(number) or "AssertionError" in world.sticky(number)
    _, second = world.submit("alice", "2" * 40, number=number, at=IN_GRACE)
    assert world.publish(real_artifacts["complete"], second) == OK
    assert world.gh.labels_on(number) == ["complete"]
    assert len(world.bot_comments(number)) == 1


# --- THREATS 1, 2, 4, 6: scope ------------------------------------------------------------


HOSTILE = {
    "workflow": [PullFile(".github/workflows/grade.yml", status="modified", content=b"on: push")],
    "new-workflow": [PullFile(".github/workflows/evil.yml", content=b"on: push")],
    "grader": [PullFile("grader/app.py", status="modified", content=b"print(1)")],
    "exercises": [PullFile("exercises/a1.yml", status="modified", content=b"title: x")],
    "course": [PullFile("course.yml", status="modified", content=b"name: x")],
    "other-folder": [PullFile("submissions/bob/a1.ipynb", status="modified", content=COMPLETE)],
    "symlink": [PullFile("submissions/alice/data.txt", content=b"/etc/passwd", mode="120000")],
    "submodule": [PullFile("submissions/alice/lib", content=b"", mode="160000")],
}


@pytest.fixture
def bob_complete(world: World, real_artifacts: dict[str, Path]) -> bytes:
    """Bob's a1 is complete; returns the state branch's files to compare with later."""
    number, event = world.submit("bob", "b" * 40)
    assert world.publish(retarget(real_artifacts["complete"], world.tmp / "bob", "bob"), event) == 0
    assert world.gh.labels_on(number) == ["complete"]
    return repr(sorted(world.state_files().items())).encode()


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_rows_1_2_4_6_out_of_scope_pr_is_rejected(
    world: World, real_artifacts: dict[str, Path], bob_complete: bytes, kind: str
) -> None:
    # The attacker's artifact claims "complete" (e.g. uploaded by an edited workflow).
    number, event = world.submit("alice", "e" * 40, extra=HOSTILE[kind])
    world.gh.clear_log()
    assert world.publish(real_artifacts["complete"], event) == OK
    sticky = world.sticky(number)
    assert REJECTED in sticky
    assert world.writes() == [f"POST /repos/d2l/study-group/issues/{number}/comments 201"]
    assert world.gh.labels_on(number) == []
    assert ("alice", "a1") not in world.records()
    assert repr(sorted(world.state_files().items())).encode() == bob_complete


def test_row_4_rename_out_of_another_folder_is_rejected(
    world: World, real_artifacts: dict[str, Path], bob_complete: bytes
) -> None:
    moved = PullFile(
        "submissions/alice/a1.ipynb",
        status="renamed",
        content=COMPLETE,
        previous_filename="submissions/bob/a1.ipynb",
    )
    # A rename out of bob's folder: bob's notebook is on the default branch (GitHub's
    # compare reports the rename from the base's tree).
    world.gh.add_file("main", "submissions/bob/a1.ipynb", COMPLETE)
    number = world.gh.open_pull("alice", "e" * 40, [moved], created_at=ON_TIME, head_ref="x")
    world.gh.add_workflow_run("e" * 40, ON_TIME, head_repo="alice/study-group", head_branch="x")
    event = workflow_run_event(
        world.gh, head_sha="e" * 40, head_repo="alice/study-group", created_at=ON_TIME,
        head_branch="x",
    )  # fmt: skip
    assert world.publish(real_artifacts["complete"], event) == OK
    assert "moved or copied from 'submissions/bob/a1.ipynb'" in world.sticky(number)
    assert ("alice", "a1") not in world.records()
    assert repr(sorted(world.state_files().items())).encode() == bob_complete


# --- THREATS 3: a look-alike grade workflow ---------------------------------------------------


@pytest.mark.parametrize(
    ("path", "event_name"),
    [
        (".github/workflows/evil.yml", "pull_request"),  # named "grade" too
        (".github/workflows/Grade.yml", "pull_request"),
        (".github/workflows/grade.yml", "repository_dispatch"),  # the corpus run's own event
        (".github/workflows/grade.yml", "push"),
    ],
)
def test_row_3_runs_of_other_workflows_are_ignored(
    world: World, real_artifacts: dict[str, Path], path: str, event_name: str
) -> None:
    number, event = world.submit("alice", "a" * 40)
    event["workflow_run"].update(path=path, event=event_name)
    world.gh.clear_log()
    assert world.publish(real_artifacts["complete"], event) == OK
    assert world.gh.requests == []  # decided from the event alone: no reads, no writes
    assert world.bot_comments(number) == []
    assert world.records() == {}


def test_row_3_event_of_another_repository_is_ignored(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    _, event = world.submit("alice", "a" * 40)
    event["repository"]["full_name"] = "octo-org/octo-repo"
    world.gh.clear_log()
    assert world.publish(real_artifacts["complete"], event) == OK
    assert world.gh.requests == []


def test_pull_requests_in_the_event_are_not_trusted(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    """The with-pull-requests payload names PR #2 of another repo: publish resolves by sha."""
    number, _ = world.submit("alice", "a" * 40)
    assert world.submit("bob", "b" * 40)[0] == number + 1
    full = workflow_run_event(
        world.gh, head_sha="a" * 40, head_repo="alice/study-group", created_at=ON_TIME,
        head_branch="a1-work", with_pull_requests=True,
    )  # fmt: skip
    full["workflow_run"]["pull_requests"][0]["number"] = number + 1
    assert world.publish(real_artifacts["complete"], full) == OK
    assert world.gh.labels_on(number) == ["complete"]
    assert world.bot_comments(number + 1) == []


# --- THREATS 5: login case, roster -------------------------------------------------------------


def test_row_5_folder_in_another_case_is_the_same_student(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number, event = world.submit("alice", "a" * 40, folder="Alice")
    artifact = retarget(real_artifacts["complete"], world.tmp / "Alice", "Alice")
    assert world.publish(artifact, event) == OK
    assert world.gh.labels_on(number) == ["complete"]
    assert ("alice", "a1") in world.records()


def test_row_5_login_not_on_a_non_empty_roster(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    course = world.course / "course.yml"
    course.write_text(course.read_text() + "roster: [bob, Carol]\n")
    number, event = world.submit("alice", "a" * 40)
    assert world.publish(real_artifacts["complete"], event) == OK
    # Not enrolled: alice audits the course, graded like everyone (PROGRAM.md).
    assert ("alice", "a1") in world.records()
    assert world.gh.labels_on(number) == ["complete"]
    # On the roster in another letter case: graded.
    carol, event = world.submit("carol", "c" * 40)
    assert world.publish(retarget(real_artifacts["complete"], world.tmp / "c", "carol"), event) == 0
    assert world.gh.labels_on(carol) == ["complete"]


# --- THREATS 10: a student's fake state marker ---------------------------------------------------


def test_row_10_student_marker_comment_is_never_the_bots(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number, event = world.submit("alice", "a" * 40, content=WRONG)
    fake = '<!-- grader:pr {"status":"complete"} -->\nAll done!'
    world.gh.add_comment(number, "alice", fake)
    assert world.publish(real_artifacts["wrong"], event) == OK
    assert world.gh.labels_on(number) == ["incomplete"]
    assert world.facts(number)["status"] == "incomplete"
    world.gh.add_comment(number, "alice", fake)
    _, second = world.submit("alice", "2" * 40, number=number)
    assert world.publish(real_artifacts["complete"], second) == OK
    comments = world.gh.comments_on(number)
    assert [a for a, _ in comments] == ["alice", "github-actions[bot]", "alice"]
    assert [b for a, b in comments if a == "alice"] == [fake, fake]  # untouched
    assert world.facts(number)["status"] == "complete"


# --- time: THREATS 15, 18, 19 --------------------------------------------------------------------


def test_row_15_commit_dates_and_now_are_ignored(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    late = DEADLINE_A1 + timedelta(hours=1)
    number, event = world.submit("alice", "a" * 40, at=late)
    # A backdated commit: the payload's head_commit says it was made before the deadline.
    event["workflow_run"]["head_commit"]["timestamp"] = "2020-08-01T00:00:00Z"
    assert world.publish(real_artifacts["complete"], event) == OK
    assert world.facts(number)["status"] == "late"
    assert world.facts(number)["submitted_at"] == late.isoformat()
    assert sorted(world.gh.labels_on(number)) == ["incomplete", "late"]
    assert world.gh.count("GET", r"/commits") == 0


def test_row_18_first_run_of_a_commit_decides(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number, _ = world.submit("alice", "a" * 40, at=ON_TIME)
    # A re-run (or close/reopen) long after the deadline; its own event says "now".
    rerun = world.gh.add_workflow_run(
        "a" * 40, AFTER_GRACE, head_repo="alice/study-group", head_branch="a1-work"
    )
    event = workflow_run_event(
        world.gh, head_sha="a" * 40, head_repo="alice/study-group", created_at=AFTER_GRACE,
        head_branch="a1-work", run_id=rerun,
    )  # fmt: skip
    assert world.publish(real_artifacts["complete"], event) == OK
    assert world.facts(number)["status"] == "complete"
    assert world.facts(number)["submitted_at"] == ON_TIME.isoformat()


def test_row_19_pr_opened_after_the_deadline_is_late(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    # The commits sat in the fork since before the deadline; GitHub first graded them
    # when the PR was opened, after it.
    number, event = world.submit("alice", "a" * 40, at=IN_GRACE)
    assert world.publish(real_artifacts["complete"], event) == OK
    assert world.facts(number)["status"] == "late"
    assert sorted(world.gh.labels_on(number)) == ["incomplete", "late"]
    assert "not reviewed" in world.sticky(number) or "after the deadline" in world.sticky(number)


# --- budgets and re-runs -----------------------------------------------------------------------


@pytest.mark.parametrize("existing", [10, 1000])
def test_graded_push_costs_a_constant_number_of_requests(
    world: World, real_artifacts: dict[str, Path], existing: int
) -> None:
    seed_ledger(world.gh, existing)
    world.gh.clear_log()
    number, first = world.submit("alice", "1" * 40, content=WRONG)
    assert world.publish(real_artifacts["wrong"], first) == OK
    first_cost = len(world.gh.requests)
    world.gh.clear_log()
    _, second = world.submit("alice", "2" * 40, number=number)
    assert world.publish(real_artifacts["complete"], second) == OK
    cost = [f"{r.method} {r.path}" for r in world.gh.requests]
    assert len(cost) <= 10, cost
    assert first_cost <= 10, "the first push of a PR, on time"
    assert len(world.records()) == existing + 1
    COSTS.setdefault("first", set()).add(first_cost)
    COSTS.setdefault("push", set()).add(len(cost))
    assert all(len(v) == 1 for v in COSTS.values()), COSTS  # the same with 10 and 1,000


COSTS: dict[str, set[int]] = {}


def test_rerun_of_the_same_run_writes_nothing(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number, event = world.submit("alice", "a" * 40, content=WRONG)
    assert world.publish(real_artifacts["wrong"], event) == OK
    world.gh.clear_log()
    assert world.publish(real_artifacts["wrong"], event) == OK
    assert world.writes() == []
    assert len(world.gh.requests) <= 10
    assert world.gh.labels_on(number) == ["incomplete"]
