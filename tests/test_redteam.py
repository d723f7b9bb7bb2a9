"""Red-team attacks on `publish`, `reconcile` and `ta-command`, against the fake GitHub.

Each test asserts the secure behaviour. An attack that works today is marked
`xfail(strict=True)` with the attack in one line: the suite stays green, and the
test turns red (XPASS) once the hole is closed, so the mark must then be removed.
The passing tests are attacks the grader holds against, kept as regressions.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from grader.cli.common import OK
from tests import e2e_support
from tests.e2e_support import (
    COMPLETE,
    WRONG,
    World,
    artifact_files,
    empty_artifact,
    forged_complete,
    retarget,
    workflow_run_event,
)
from tests.fakegithub import PullFile

world = e2e_support.world  # fixtures
real_artifacts = e2e_support.real_artifacts

NB = "submissions/alice/a1.ipynb"
SHA = "c" * 40
BOB_A2 = "submissions/bob/a2.ipynb"
INVALID = "Not graded: the grading results could not be verified"


def mallory_shares_alices_head(
    world: World,
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Alice's PR, and Mallory's PR from alice's public fork branch (the same head), with
    the grade run GitHub makes for each PR: (alice's PR, her run's event, mallory's)."""
    alice, alices_run = world.submit("alice", SHA, head_ref="work")
    world.gh.open_pull(
        "mallory", SHA, [PullFile(NB, content=COMPLETE)],
        head_repo="alice/study-group", head_ref="work",
    )  # fmt: skip
    later = e2e_support.ON_TIME.replace(hour=11)
    run = world.gh.add_workflow_run(SHA, later, head_repo="alice/study-group", head_branch="work")
    event = workflow_run_event(
        world.gh, head_sha=SHA, head_repo="alice/study-group", created_at=later,
        head_branch="work", run_id=run,
    )  # fmt: skip
    return alice, alices_run, event


# --- attacks that work today (xfail strict) --------------------------------------------------


@pytest.mark.kernel
def test_another_prs_run_on_a_shared_head_leaves_the_authors_comment_alone(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    alice, alices_run, mallorys_run = mallory_shares_alices_head(world)
    assert world.publish(real_artifacts["complete"], alices_run) == OK
    assert world.gh.labels_on(alice) == ["complete"]
    assert world.publish(empty_artifact(world.tmp / "mallorys"), mallorys_run) == OK
    assert world.gh.labels_on(alice) == ["complete"]
    assert INVALID not in world.sticky(alice)  # today: alice's comment now says this


@pytest.mark.kernel
def test_reconcile_repairs_from_the_authors_own_run_not_a_shared_heads_newer_one(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    alice, alices_run, mallorys_run = mallory_shares_alices_head(world)
    # Alice's run left its real artifact; its publish died. Mallory's newer run too.
    artifact = retarget(real_artifacts["complete"], world.tmp / "alice", "alice")
    world.gh.add_artifact(alices_run["workflow_run"]["id"], files=artifact_files(artifact))
    mallorys = empty_artifact(world.tmp / "mallorys")
    world.gh.add_artifact(mallorys_run["workflow_run"]["id"], files=artifact_files(mallorys))
    assert world.main("reconcile") == OK
    assert ("alice", "a1") in world.records()  # today: not repaired, and never tried again
    assert world.gh.labels_on(alice) == ["complete"]


def test_a_student_cannot_make_the_bot_reply_to_every_comment(world: World) -> None:
    number = world.gh.open_pull("alice", "a" * 40, [PullFile(NB, content=COMPLETE)])
    world.gh.set_permission("alice", "read")
    for _ in range(5):
        assert world.command(number, "alice", "/grader enroll\n/grader enroll now") == OK
    assert len(world.bot_comments(number)) <= 1  # today: 5 bot comments


@pytest.mark.kernel
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="a grade run of a PR into another branch (its grader and exercises from that "
    "branch's base.sha; a branch made before b5cddbf runs grade.yml on PRs into it) is applied "
    "to every open PR with that head, the one into main included",
)
def test_a_run_for_a_pr_into_another_branch_grades_no_pr(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    """Alice opens two PRs from one branch: into main, and into last term's branch, whose
    older grader or checks call her wrong notebook complete. The runs look alike."""
    git = world.gh.state.git
    git.branches["old-term"] = git.branches["main"]
    into_main, _ = world.submit("alice", SHA, content=WRONG, head_ref="work")
    other = world.gh.open_pull("alice", SHA, [PullFile(NB, content=WRONG)], head_ref="work")
    world.gh.state.issues[other].pull.base_ref = "old-term"  # type: ignore[union-attr]
    run = world.gh.add_workflow_run(SHA, e2e_support.ON_TIME, head_repo="alice/study-group",
                                    head_branch="work")  # fmt: skip
    old_terms_run = workflow_run_event(
        world.gh, head_sha=SHA, head_repo="alice/study-group", created_at=e2e_support.ON_TIME,
        head_branch="work", run_id=run,
    )  # fmt: skip
    verdict = forged_complete(real_artifacts, world.tmp / "old-term")  # what its grader said
    assert world.publish(verdict, old_terms_run) == OK
    assert ("alice", "a1") not in world.records()  # today: complete, on the PR into main
    assert world.gh.labels_on(into_main) != ["complete"]


# A JSON `\ud800` escape is valid JSON, yet no UTF-8 text can hold it: a cell source with it.
LONE_SURROGATE = json.dumps(
    {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "id": "a",
                "metadata": {"tags": ["exercise-1"]},
                "source": "def f():\n    return 1  # \ud800",
                "outputs": [],
                "execution_count": None,
            }
        ],
    }
).encode("ascii")


@pytest.mark.kernel
def test_a_lone_surrogate_in_a_cell_is_no_crash_of_run_submission(tmp_path: Path) -> None:
    course = e2e_support.write_course(tmp_path / "course")
    folder = tmp_path / "submissions" / "alice"
    folder.mkdir(parents=True)
    (folder / "a1.ipynb").write_bytes(LONE_SURROGATE)
    assert e2e_support.run_submission(course, folder, tmp_path / "out") == OK


@pytest.mark.kernel
def test_a_lone_surrogate_in_the_committed_notebook_is_no_crash_of_publish(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number, event = world.submit("alice", SHA, content=LONE_SURROGATE)
    assert world.publish(real_artifacts["complete"], event) == OK  # today: exit 3
    assert world.gh.labels_on(number) != ["complete"]


def test_a_ta_command_sees_the_notebooks_publish_sees(world: World, tmp_path: Path) -> None:
    course = world.course / "course.yml"
    course.write_text(course.read_text() + 'submission_files: ["*.ipynb", "*.csv"]\n')
    data = PullFile("submissions/alice/data.csv", content=b"x,y\n1,2\n")
    number = world.gh.open_pull("alice", "a" * 40, [PullFile(NB, content=WRONG), data])
    assert world.command(number, "tina", "/grader complete checked by hand") == OK
    events = world.records().get(("alice", "a1"), [])
    assert [e["type"] for e in events] == ["override"]  # today: "no notebook" reply


# --- attacks the grader holds against (regressions) ------------------------------------------


@pytest.mark.kernel
@pytest.mark.parametrize(
    "extra",
    [
        # a Unicode lookalike of alice's folder (Cyrillic a), and the Kelvin sign for k
        PullFile("submissions/\u0430lice/a2.ipynb", content=COMPLETE),
        PullFile("submissions/alice/a2.ipynb".replace("a2", "\u212a2"), content=COMPLETE),
        # the same assignment twice, in two spellings of the folder
        PullFile("submissions/ALICE/a1.ipynb", content=COMPLETE),
        # renamed out of bob's folder; bob's notebook removed
        PullFile("submissions/alice/a2.ipynb", "renamed", previous_filename=BOB_A2),
        PullFile("submissions/bob/a1.ipynb", "removed"),
        # a mode change only: the notebook becomes a symbolic link
        PullFile("submissions/alice/a2.ipynb", "changed", mode="120000"),
        # path tricks
        PullFile("submissions/alice/../bob/a2.ipynb", content=COMPLETE),
        PullFile(".GitHub/workflows/grade.yml", content=b"on: push"),
        PullFile("submissions/alice/.ipynb_checkpoints/x.pkl", content=b"\x80\x04."),
    ],
    ids=["cyrillic", "kelvin", "case-twin", "rename-out", "remove-other", "symlink", "dotdot",
         "case-github", "checkpoint-pickle"],
)  # fmt: skip
def test_scope_tricks_are_rejected_and_no_record_is_written(
    world: World, real_artifacts: dict[str, Path], extra: PullFile
) -> None:
    world.gh.add_file("main", "submissions/bob/a1.ipynb", COMPLETE)
    world.gh.add_file("main", BOB_A2, b'{"cells": []}')
    number, event = world.submit("alice", SHA, extra=[extra])
    assert world.publish(real_artifacts["complete"], event) == OK
    assert world.records() == {}
    assert world.gh.labels_on(number) == []
    assert "changes files it may not change" in world.sticky(number)


@pytest.mark.kernel
@pytest.mark.parametrize(
    "path",
    [
        ".github/workflows/Grade.yml",
        "./.github/workflows/grade.yml",
        ".github/workflows/x/../grade.yml",
        "mallory/study-group/.github/workflows/grade.yml@main",
        "d2l/study-group.evil/.github/workflows/grade.yml@main",
    ],
)
def test_a_lookalike_workflow_path_is_ignored(
    world: World, real_artifacts: dict[str, Path], path: str
) -> None:
    number, event = world.submit("alice", SHA, content=WRONG)
    event["workflow_run"]["path"] = path
    forged = forged_complete(real_artifacts, world.tmp / "forged")
    assert world.publish(forged, event) == OK
    assert world.records() == {}
    assert world.gh.comments_on(number) == []


@pytest.mark.kernel
@pytest.mark.parametrize(
    "run",
    [
        [],
        None,
        {"path": e2e_support.GRADE, "event": "pull_request", "head_sha": 5},
        {"path": [e2e_support.GRADE], "event": "pull_request", "head_sha": SHA},
        {"path": e2e_support.GRADE, "event": "pull_request", "head_sha": SHA,
         "created_at": "2020-08-07T10:00:00", "head_repository": []},
    ],
    ids=["list", "null", "sha-int", "path-list", "naive-time"],
)  # fmt: skip
def test_a_crafted_workflow_run_event_is_no_crash(
    world: World, real_artifacts: dict[str, Path], run: Any
) -> None:
    _, event = world.submit("alice", SHA)
    event["workflow_run"] = run
    assert world.publish(real_artifacts["complete"], event) == OK
    # A time the event does not give comes from GitHub's runs API, never from "now".
    times = [e["at"] for events in world.records().values() for e in events]
    assert all(t.startswith("2020-08-07T10:00") for t in times)


def test_a_pr_with_nothing_to_record_gets_one_comment_and_is_repaired_once(
    world: World, tmp_path: Path
) -> None:
    checkpoint = "submissions/alice/.ipynb_checkpoints/a1-checkpoint.ipynb"
    number = world.gh.open_pull("alice", SHA, [PullFile(checkpoint, content=COMPLETE)])
    run = world.gh.add_workflow_run(SHA, e2e_support.ON_TIME, head_repo="alice/study-group")
    empty = empty_artifact(tmp_path / "empty")
    world.gh.add_artifact(run, files=artifact_files(empty))
    event = workflow_run_event(
        world.gh, head_sha=SHA, head_repo="alice/study-group", created_at=e2e_support.ON_TIME,
        run_id=run,
    )  # fmt: skip
    assert world.publish(empty, event) == OK
    for _ in range(3):
        assert world.main("reconcile") == OK
    comments = world.bot_comments(number)
    assert len(comments) <= 1, comments  # today: 4 empty comments
    assert all(c.strip() and not c.lstrip().startswith("<!-- grader:seq") for c in comments)
    world.gh.clear_log()
    assert world.main("reconcile") == OK  # nothing changed since: nothing to repair
    assert world.gh.count("GET", r"/compare/") == 0
    assert world.gh.count("GET", r"/artifacts") == 0


@pytest.mark.kernel
def test_an_earlier_run_of_a_lookalike_workflow_does_not_backdate_the_hand_in(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    """Only the real grade workflow's first run of the commit dates it (THREATS 3, 15, 19)."""
    for path in (
        ".github/workflows/grade-copy.yml",  # a copy the PR adds, same name "grade"
        ".github/workflows/Grade.yml",
        "mallory/study-group/.github/workflows/grade.yml@refs/heads/main",
    ):
        run = world.gh.add_workflow_run(SHA, e2e_support.ON_TIME, head_repo="alice/study-group")
        world.gh.state.runs[run].path = path
    number, event = world.submit("alice", SHA, at=e2e_support.AFTER_GRACE)
    assert world.publish(real_artifacts["complete"], event) == OK
    (record,) = world.records()[("alice", "a1")]
    assert record["at"].startswith("2020-08-12")  # late, not backdated to August 7
    assert world.gh.labels_on(number) == ["incomplete", "late"]


@pytest.mark.kernel
def test_a_pr_from_a_deleted_fork_is_graded_for_its_own_author(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number = world.gh.open_pull("alice", SHA, [PullFile(NB, content=COMPLETE)], head_repo=None)
    world.gh.open_pull("mallory", "d" * 40, [PullFile(NB, content=COMPLETE)], head_repo=None)
    run = world.gh.add_workflow_run(SHA, e2e_support.ON_TIME, head_repo_deleted=True)
    event = workflow_run_event(
        world.gh, head_sha=SHA, head_repo=None, created_at=e2e_support.ON_TIME, run_id=run
    )
    assert world.publish(real_artifacts["complete"], event) == OK
    assert list(world.records()) == [("alice", "a1")]
    assert world.gh.labels_on(number) == ["complete"]


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="each refused '/grader' comment re-lists the whole thread (1 request per 100 "
    "comments) to find the refusal marker: a student drains the bot's hourly API budget by "
    "commenting on a long thread",
)
def test_refusing_a_student_on_a_long_thread_costs_a_constant(world: World) -> None:
    number = world.gh.open_pull("alice", SHA, [PullFile(NB, content=COMPLETE)])
    for i in range(600):
        world.gh.add_comment(number, "alice", f"note {i}")
    assert world.command(number, "alice", "/grader complete") == OK
    world.gh.clear_log()
    assert world.command(number, "alice", "/grader complete") == OK
    assert len(world.bot_comments(number)) == 1
    assert len(world.gh.requests) <= 4, [f"{r.method} {r.path}" for r in world.gh.requests]


@pytest.mark.kernel
def test_one_pr_that_github_cannot_compare_does_not_stop_reconcile(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    for login, sha in (("alice", "a" * 40), ("bob", "b" * 40)):
        _, event = world.submit(login, sha, head_ref=f"{login}-work")
        artifact = retarget(real_artifacts["complete"], world.tmp / login, login)
        world.gh.add_artifact(event["workflow_run"]["id"], files=artifact_files(artifact))
    world.gh.fail_next("GET", r"/compare/main\.\.\.a{40}$", 422, times=50)
    assert world.main("reconcile") == OK
    assert ("bob", "a1") in world.records()


def corrupt_deflate() -> bytes:
    """A zip whose entry's deflate stream starts with an invalid block type."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("result.json", json.dumps({"schema": 1, "notebooks": []}))
    data = bytearray(buffer.getvalue())
    data[30 + len("result.json")] = 0xFF  # the first byte of the compressed data
    return bytes(data)


def nameless_entry() -> bytes:
    """A zip whose entry name starts with NUL: zipfile reads it as the empty name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("QZZZ", b"1")
    return buffer.getvalue().replace(b"QZZZ", b"\x00ZZZ")


@pytest.mark.kernel
@pytest.mark.parametrize("archive", [corrupt_deflate(), nameless_entry()], ids=["zlib", "nul"])
def test_a_malformed_artifact_zip_is_evidence_invalid_not_a_reconcile_crash(
    world: World, real_artifacts: dict[str, Path], archive: bytes
) -> None:
    edit = PullFile(".github/workflows/grade.yml", "modified", content=b"on: pull_request")
    _, forged = world.submit("mallory", "e" * 40, head_ref="evil", extra=[edit])
    world.gh.add_artifact(forged["workflow_run"]["id"], data=archive)
    _, event = world.submit("bob", "b" * 40, head_ref="work")  # bob's publish died
    artifact = retarget(real_artifacts["complete"], world.tmp / "bob", "bob")
    world.gh.add_artifact(event["workflow_run"]["id"], files=artifact_files(artifact))
    assert world.main("reconcile") == OK
    assert ("bob", "a1") in world.records()
    assert ("mallory", "a1") not in world.records()


@pytest.mark.kernel
def test_a_recent_pr_sharing_a_head_does_not_hide_the_authors_pr(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    alice, alices_run = world.submit("alice", SHA, head_ref="work")
    for i in range(100):  # the last hour before a deadline: 100 PRs updated since
        world.gh.open_pull(f"s{i}", f"{i + 1:040x}", [f"submissions/s{i}/a1.ipynb"])
    world.gh.open_pull(
        "mallory", SHA, [PullFile(NB, content=COMPLETE)], head_repo="alice/study-group",
        head_ref="work",
    )  # fmt: skip
    assert world.publish(real_artifacts["complete"], alices_run) == OK
    assert ("alice", "a1") in world.records()
    assert world.gh.labels_on(alice) == ["complete"]


def unterminated_string(escaped_quotes: int) -> bytes:
    """Not JSON: a string that never closes, made of escaped quotes. The runner rejects it
    at once (json.loads); json_depth's string regex retries from every quote."""
    return b'"' + b'\\"' * escaped_quotes


@pytest.mark.kernel
def test_a_committed_notebook_of_escaped_quotes_is_read_in_linear_time(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    import time

    def publish_time(sha: str, content: bytes, login: str) -> float:
        _, event = world.submit(login, sha, content=content, head_ref=f"{login}-work")
        artifact = retarget(real_artifacts["wrong"], world.tmp / sha, login)
        start = time.perf_counter()
        assert world.publish(artifact, event) == OK
        return time.perf_counter() - start

    size = 8_000
    publish_time("d" * 40, COMPLETE, "carol")  # the first publish also creates the labels
    control = publish_time("a" * 40, b'"' + b"ab" * size, "bob")  # as long, no escapes
    attack = publish_time("b" * 40, unterminated_string(size), "alice")
    assert attack < 2 * control + 0.2, (attack, control)
