"""Evidence bound to the graded commit (THREATS 36-40, 49), through `grader publish`
against the fake GitHub, with artifacts from the real `grader run-submission`.

A grade run is judged by its own commit: the files it changes since the PR's base
(GitHub's compare), their modes, and the notebooks at that commit; never by the
PR's current files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.cli.common import OK
from grader.core.runs import workflow_file
from tests import e2e_support
from tests.e2e_support import (
    COMPLETE,
    WRONG,
    World,
    copy_artifact,
    empty_artifact,
    forged_complete,
    workflow_run_event,
)
from tests.fakegithub import PullFile

pytestmark = pytest.mark.kernel
world = e2e_support.world  # fixtures
real_artifacts = e2e_support.real_artifacts

NB = "submissions/alice/a1.ipynb"


WORKFLOW_EDIT = PullFile(".github/workflows/grade.yml", "modified", content=b"on: push")


def test_row_36_a_reverted_workflow_edit_is_judged_by_its_own_commit(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    """Commit A edits the grade workflow (its run uploads a forged 'complete' artifact for a
    wrong notebook); commit B reverts the edit. A's run is published after B landed."""
    number, run_a = world.submit("alice", "a" * 40, content=WRONG, extra=[WORKFLOW_EDIT])
    world.submit("alice", "b" * 40, content=WRONG, number=number)  # the revert
    forged = forged_complete(real_artifacts, world.tmp / "forged")
    assert world.publish(forged, run_a) == OK
    assert ("alice", "a1") not in world.records()
    assert world.gh.labels_on(number) == []


def test_row_36_the_reverting_commit_is_graded_on_its_own_changes(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number, run_a = world.submit("alice", "a" * 40, content=WRONG, extra=[WORKFLOW_EDIT])
    _, run_b = world.submit("alice", "b" * 40, content=COMPLETE, number=number)
    assert world.publish(real_artifacts["complete"], run_b) == OK
    forged = forged_complete(real_artifacts, world.tmp / "forged")
    assert world.publish(forged, run_a) == OK  # late, and rejected
    events = world.records()[("alice", "a1")]
    assert [e["sha"] for e in events] == ["b" * 40]
    assert world.gh.labels_on(number) == ["complete"]
    assert "Not graded" not in world.sticky(number)  # the old run's rejection shows nowhere


def test_row_37_two_prs_with_one_head_are_judged_each_on_its_own(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    """Mallory opens a PR from alice's public fork branch: the same head commit. Each PR
    gets its own grade run; each run is about the PR whose author's folder it graded."""
    number, event = world.submit("alice", "c" * 40, head_ref="work")
    theirs = world.gh.open_pull(
        "mallory", "c" * 40, [PullFile(NB, content=COMPLETE)],
        head_repo="alice/study-group", head_ref="work",
    )  # fmt: skip
    assert world.publish(real_artifacts["complete"], event) == OK  # alice's run
    assert world.gh.labels_on(number) == ["complete"]
    assert [e["type"] for e in world.records()[("alice", "a1")]] == ["submission"]
    assert world.bot_comments(theirs) == []  # alice's run says nothing about mallory's PR
    before = world.sticky(number)
    nothing = empty_artifact(world.tmp / "mallorys-run")  # it graded submissions/mallory/
    assert world.publish(nothing, event) == OK
    assert "another student's folder" in world.sticky(theirs)
    assert world.sticky(number) == before  # the real author's PR is untouched
    assert ("mallory", "a1") not in world.records()


@pytest.mark.parametrize("committed", [b"not json", b"{}", b"[" * 200_000 + b"]" * 200_000])
def test_row_38_an_unreadable_committed_notebook_is_incomplete_whatever_the_artifact_says(
    world: World, real_artifacts: dict[str, Path], committed: bytes
) -> None:
    number, event = world.submit("alice", "d" * 40, content=committed)
    assert world.publish(forged_complete(real_artifacts, world.tmp / "forged"), event) == OK
    (record,) = world.records()[("alice", "a1")]
    assert record["evaluation"]["status"] == "incomplete"
    assert "cannot be read as a notebook" in json.dumps(record["evaluation"]["problems"])
    assert world.gh.labels_on(number) == ["incomplete"]


@pytest.mark.parametrize("conclusion", ["failure", "cancelled", "timed_out", "action_required"])
def test_row_39_a_run_that_did_not_succeed_is_no_grade(
    world: World, real_artifacts: dict[str, Path], conclusion: str
) -> None:
    number, event = world.submit("alice", "e" * 40)
    event["workflow_run"]["conclusion"] = conclusion
    assert world.publish(real_artifacts["complete"], event) == OK
    assert ("alice", "a1") not in world.records()
    assert "grading did not finish" in world.sticky(number)
    assert world.gh.labels_on(number) == []


@pytest.mark.parametrize("name", ["weights.pkl", "data.npy", "model.pt", "helpers.py"])
def test_row_40_files_beside_the_notebook_are_out_of_scope(
    world: World, real_artifacts: dict[str, Path], name: str
) -> None:
    hidden = PullFile(f"submissions/alice/{name}", content=b"\x80\x04cos\nsystem\n")
    number, event = world.submit("alice", "f" * 40, extra=[hidden])
    assert world.publish(real_artifacts["complete"], event) == OK
    assert ("alice", "a1") not in world.records()
    assert f"submissions/alice/{name}: only notebooks" in world.sticky(number)


# --- THREATS 49: the run path in every form ------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".github/workflows/grade.yml", ".github/workflows/grade.yml"),
        (".github/workflows/grade.yml@refs/heads/main", ".github/workflows/grade.yml"),
        ("d2l/study-group/.github/workflows/grade.yml@main", ".github/workflows/grade.yml"),
        ("D2L/Study-Group/.github/workflows/grade.yml@main", ".github/workflows/grade.yml"),
        ("mallory/study-group/.github/workflows/grade.yml@main", None),
        ("d2l/study-group/grade.yml@main", None),
        ("", None),
        (None, None),
    ],
)
def test_row_49_workflow_file_of_a_run_path(path: str | None, expected: str | None) -> None:
    assert workflow_file(path, "d2l/study-group") == expected


@pytest.mark.parametrize(
    ("path", "recorded"),
    [
        (".github/workflows/grade.yml@refs/heads/main", True),
        ("d2l/study-group/.github/workflows/grade.yml@refs/heads/main", True),
        ("mallory/study-group/.github/workflows/grade.yml@refs/heads/main", False),
        (".github/workflows/grade.yml.evil@main", False),
        (".github/workflows/fake-grade.yml", False),
    ],
)
def test_row_49_publish_recognises_the_grade_workflow_in_every_form(
    world: World, real_artifacts: dict[str, Path], path: str, recorded: bool
) -> None:
    number = world.gh.open_pull("alice", "1" * 40, [PullFile(NB, content=COMPLETE)], head_ref="w")
    event = workflow_run_event(
        world.gh, head_sha="1" * 40, head_repo="alice/study-group",
        created_at=e2e_support.ON_TIME, head_branch="w", path=path,
    )  # fmt: skip
    world.gh.add_workflow_run("1" * 40, e2e_support.ON_TIME, head_repo="alice/study-group")
    assert world.publish(copy_artifact(real_artifacts["complete"], world.tmp / "a"), event) == OK
    assert (("alice", "a1") in world.records()) is recorded
    assert (world.gh.labels_on(number) == ["complete"]) is recorded


# --- nothing goes unanswered, and the bot is quiet on the course's own PRs ------------------


def test_a_misplaced_notebook_is_answered_with_where_to_move_it(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number = world.gh.open_pull(
        "alice", "3" * 40, [PullFile("alice/a1.ipynb", content=COMPLETE)], head_ref="m"
    )
    event = workflow_run_event(
        world.gh, head_sha="3" * 40, head_repo="alice/study-group",
        created_at=e2e_support.ON_TIME, head_branch="m",
    )  # fmt: skip
    assert world.publish(real_artifacts["complete"], event) == OK
    assert "move it to submissions/alice/a1.ipynb" in world.sticky(number)
    assert ("alice", "a1") not in world.records()


def test_a_maintainers_own_pull_request_gets_no_comment(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    world.gh.set_permission("tina", "write")
    number = world.gh.open_pull(
        "tina", "4" * 40, [PullFile("grader/core/policy.py", "modified", content=b"x = 1\n")],
        head_ref="fix",
    )  # fmt: skip
    event = workflow_run_event(
        world.gh, head_sha="4" * 40, head_repo="tina/study-group",
        created_at=e2e_support.ON_TIME, head_branch="fix",
    )  # fmt: skip
    assert world.publish(real_artifacts["complete"], event) == OK
    assert world.bot_comments(number) == []
    assert world.gh.labels_on(number) == []


# --- THREATS 54: a re-run of a grade run ------------------------------------------------------


def test_row_54_a_rerun_after_the_deadline_keeps_the_first_runs_time(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    """The first attempt failed (a flaky runner); a TA re-runs it days later. GitHub keeps
    `created_at` and moves `run_started_at`: the hand-in stays on time."""
    number, event = world.submit("alice", "5" * 40)
    run_id = event["workflow_run"]["id"]
    event["workflow_run"]["conclusion"] = "failure"
    assert world.publish(real_artifacts["complete"], event) == OK
    assert ("alice", "a1") not in world.records()
    world.gh.rerun(run_id, e2e_support.AFTER_GRACE)
    run = world.gh.workflow_run(run_id)
    event["workflow_run"].update(
        conclusion="success",
        run_attempt=run.run_attempt,
        run_started_at=e2e_support.iso(e2e_support.AFTER_GRACE),
    )
    assert world.publish(real_artifacts["complete"], event) == OK
    (record,) = world.records()[("alice", "a1")]
    assert record["at"].startswith(e2e_support.iso(e2e_support.ON_TIME)[:16])
    assert world.gh.labels_on(number) == ["complete"]


def test_row_54_a_reruns_upload_replaces_the_artifact() -> None:
    import yaml

    grade = yaml.safe_load(
        (Path(__file__).parents[1] / ".github" / "workflows" / "grade.yml").read_text()
    )
    (upload,) = [
        s for s in grade["jobs"]["grade"]["steps"] if "upload-artifact" in str(s.get("uses"))
    ]
    assert upload["with"]["overwrite"] is True
    assert upload["with"]["name"] == "grader-result"


def test_a_pr_into_another_branch_is_no_submission(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    """Grading follows the default branch's rules; a PR into another branch is not graded."""
    world.gh.state.git.branches["old-term"] = world.gh.state.git.branches["main"]
    number = world.gh.open_pull("alice", "6" * 40, [PullFile(NB, content=COMPLETE)], head_ref="o")
    world.gh.state.issues[number].pull.base_ref = "old-term"  # type: ignore[union-attr]
    event = workflow_run_event(
        world.gh, head_sha="6" * 40, head_repo="alice/study-group",
        created_at=e2e_support.ON_TIME, head_branch="o",
    )  # fmt: skip
    event["repository"]["default_branch"] = "main"
    assert world.publish(real_artifacts["complete"], event) == OK
    assert ("alice", "a1") not in world.records()
    assert world.bot_comments(number) == []
