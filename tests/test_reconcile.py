"""`grader reconcile` against the fake GitHub: a small constant when nothing changed,
repairs of stale views, and every record re-derived when the course's dates move
(THREATS 53, 55; CONTRACT section 5, "a deadline changed in exercises/")."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.cli.common import OK
from tests import e2e_support
from tests.e2e_support import AFTER_GRACE, World, artifact_files, retarget

pytestmark = pytest.mark.kernel
world = e2e_support.world  # fixtures
real_artifacts = e2e_support.real_artifacts


def submit_many(world: World, real: dict[str, Path], n: int) -> list[int]:
    numbers = []
    for i in range(n):
        login = f"s{i:03d}"
        number, event = world.submit(login, f"{i + 1:040x}", head_ref=f"w{i}")
        artifact = retarget(real["complete"], world.tmp / login, login)
        assert world.publish(artifact, event) == OK
        numbers.append(number)
    return numbers


def test_reconcile_over_unchanged_prs_writes_nothing_and_costs_a_constant(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    submit_many(world, real_artifacts, 12)
    assert world.main("reconcile") == OK  # first run: notes what it has seen
    world.gh.clear_log()
    assert world.main("reconcile") == OK
    writes = [r for r in world.gh.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]
    assert writes == []
    # labels, ledger (archive + its redirect), reconcile's own file, one page of PRs, the
    # tracking issue and its comments: nothing per PR.
    assert len(world.gh.requests) <= 8, [f"{r.method} {r.path}" for r in world.gh.requests]


def test_a_view_whose_labels_were_lost_is_repaired(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    (number,) = submit_many(world, real_artifacts, 1)
    assert world.main("reconcile") == OK
    world.gh.state.issues[number].labels = []  # a publish that died before its labels
    assert world.main("reconcile") == OK
    assert world.gh.labels_on(number) == ["complete"]


def test_a_moved_deadline_rederives_every_record_and_rewrites_its_view(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    """A submission after the deadline is late; the course moves the deadline later, and
    the push that does so runs reconcile: the same submission is now on time."""
    number, event = world.submit("alice", "a" * 40, at=AFTER_GRACE)
    artifact = retarget(real_artifacts["complete"], world.tmp / "alice", "alice")
    assert world.publish(artifact, event) == OK
    assert world.gh.labels_on(number) == ["incomplete", "late"]
    assert world.main("reconcile") == OK
    a1 = world.course / "exercises" / "a1.yml"
    a1.write_text(a1.read_text().replace("2020-08-08T23:59:00Z", "2020-08-20T23:59:00Z"))
    assert world.main("reconcile") == OK
    assert world.gh.labels_on(number) == ["complete"]
    assert "Late" not in world.sticky(number)
    assert "The course's dates or rules changed" in world.sticky(number)  # told why


def test_a_moved_deadline_rewrites_comments_whose_labels_stay(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    """Only the text changes (the new deadline): found by the course having changed."""
    number, event = world.submit("alice", "a" * 40)
    artifact = retarget(real_artifacts["complete"], world.tmp / "alice", "alice")
    assert world.publish(artifact, event) == OK
    assert world.main("reconcile") == OK
    before = world.sticky(number)
    a1 = world.course / "exercises" / "a1.yml"
    a1.write_text(a1.read_text().replace("title: One", "title: One (revised)"))
    assert world.main("reconcile") == OK
    assert world.sticky(number) != before
    assert "One (revised)" in world.sticky(number)
    assert world.gh.labels_on(number) == ["complete"]
    assert "dates or rules changed" not in world.sticky(number)  # the status did not change


# --- THREATS 53: a publish that never ran ----------------------------------------------------


def test_a_push_whose_publish_never_ran_is_published_by_reconcile(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number, event = world.submit("alice", "a" * 40)  # grade ran; publish never did
    run_id = event["workflow_run"]["id"]
    artifact = retarget(real_artifacts["complete"], world.tmp / "alice", "alice")
    world.gh.add_artifact(run_id, files=artifact_files(artifact))
    assert world.main("reconcile") == OK
    (record,) = world.records()[("alice", "a1")]
    assert record["sha"] == "a" * 40
    assert record["at"].startswith("2020-08-07T10:00")  # GitHub's time of the run, not now
    assert world.gh.labels_on(number) == ["complete"]


def test_what_reconcile_cannot_repair_is_listed_once_with_why(
    world: World, real_artifacts: dict[str, Path], tmp_path: Path
) -> None:
    number, event = world.submit("alice", "b" * 40)
    world.gh.add_artifact(event["workflow_run"]["id"], files={"x": b"1"}, expired=True)
    summary = tmp_path / "summary.md"
    assert world.main("reconcile", GITHUB_STEP_SUMMARY=str(summary)) == OK
    assert f"#{number}" in summary.read_text()
    assert "expired" in summary.read_text()
    assert ("alice", "a1") not in world.records()
    world.gh.clear_log()
    assert world.main("reconcile") == OK  # not tried again until the PR moves on
    assert world.gh.count("GET", r"/artifacts$") == 0


def test_a_forged_artifact_is_not_repaired_into_a_record(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    """The same checks as publish: a 'complete' artifact for a wrong notebook is refused."""
    number, event = world.submit("alice", "c" * 40, content=e2e_support.WRONG)
    artifact = retarget(real_artifacts["complete"], world.tmp / "alice", "alice")
    world.gh.add_artifact(event["workflow_run"]["id"], files=artifact_files(artifact))
    assert world.main("reconcile") == OK
    assert ("alice", "a1") not in world.records()
    assert world.gh.labels_on(number) == []
