"""GitHubForge.runs_for and run_evidence over real HTTP against the fake GitHub.

reconcile repairs a push whose publish never ran: it lists the runs of the PR's
head commit and reads the grade run's artifact while GitHub keeps it. The
artifact is untrusted data (ARCHITECTURE section 2): every crafted archive
below must come back `invalid` (or `missing`), never `graded`.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from grader.adapters import github as forge_module
from grader.adapters.artifact import read_result, write_result
from grader.adapters.github import MAX_ARTIFACT_BYTES, MAX_ARTIFACT_UNZIPPED, GitHubForge
from grader.core.evidence import Evidence, GradedNotebook
from grader.core.model import Evaluation
from grader.core.runs import WorkflowRun
from tests.e2e_support import make_artifacts
from tests.fakegithub import FakeGitHub
from tests.fakegithub.artifacts import ArtifactConflict, zip_files

T0 = datetime(2020, 8, 7, 10, 0, tzinfo=UTC)
SHA = "c" * 40
NB = "submissions/alice/a1.ipynb"


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(owner="d2l", repo="study-group") as fake:
        yield fake


@pytest.fixture
def forge(gh: FakeGitHub) -> Iterator[GitHubForge]:
    with GitHubForge.from_env(gh.env(), throttle=False) as made:
        yield made


@pytest.fixture(scope="module")
def real_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder `grader run-submission` writes for alice's complete notebook."""
    return make_artifacts(tmp_path_factory.mktemp("artifacts"))["complete"]


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def small_result(tmp_path: Path) -> dict[str, bytes]:
    """A valid result.json + summary.md, without running a kernel."""
    notebook = GradedNotebook(NB, Evaluation(assignment="a1", status="complete"), ("a" * 64,))
    write_result(tmp_path / "result", [notebook], "all good\n")
    return folder_files(tmp_path / "result")


def api_calls(gh: FakeGitHub) -> list[str]:
    return [f"{r.method} {r.path} {r.status}" for r in gh.requests]


def grade_run(gh: FakeGitHub, forge: GitHubForge, **kw: object) -> WorkflowRun:
    run_id = gh.add_workflow_run(SHA, T0, head_repo="alice/study-group", **kw)  # type: ignore[arg-type]
    (run,) = [r for r in forge.runs_for(SHA) if r.id == run_id]
    gh.clear_log()
    return run


def crafted_zip(*entries: tuple[zipfile.ZipInfo | str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


# --- runs_for ---------------------------------------------------------------------------------


def test_runs_for_maps_a_rerun_keeping_created_at(gh: FakeGitHub, forge: GitHubForge) -> None:
    run_id = gh.add_workflow_run(
        SHA, T0, head_repo="alice/study-group", head_branch="work", conclusion="failure"
    )
    gh.add_workflow_run("d" * 40, T0)  # another commit's run: not listed
    gh.rerun(run_id, T0 + timedelta(hours=2), conclusion="success")
    gh.clear_log()

    runs = forge.runs_for(SHA)

    assert runs == [
        WorkflowRun(
            id=run_id,
            path=".github/workflows/grade.yml",
            event="pull_request",
            head_sha=SHA,
            head_repo="alice/study-group",
            head_ref="work",
            created_at=T0,
            status="completed",
            conclusion="success",
            attempt=2,
        )
    ]
    assert api_calls(gh) == ["GET /repos/d2l/study-group/actions/runs 200"]
    assert gh.requests[0].query == {"head_sha": SHA, "per_page": "100"}


def test_runs_for_a_deleted_fork_has_no_head_repository(gh: FakeGitHub, forge: GitHubForge) -> None:
    gh.add_workflow_run(SHA, T0, head_repo="alice/study-group", head_repo_deleted=True)
    (run,) = forge.runs_for(SHA)
    assert run.head_repo is None
    assert run.head_sha == SHA


def test_runs_for_reads_every_page_newest_first(gh: FakeGitHub, forge: GitHubForge) -> None:
    for minute in range(130):
        gh.add_workflow_run(SHA, T0 + timedelta(minutes=minute))
    gh.clear_log()
    runs = forge.runs_for(SHA)
    assert len(runs) == 130
    assert runs[0].created_at == T0 + timedelta(minutes=129)
    assert runs[-1].created_at == T0
    assert gh.count("GET", r"/actions/runs$") == 2


def test_runs_for_a_commit_without_runs(forge: GitHubForge) -> None:
    assert forge.runs_for(SHA) == []


# --- run_evidence: the real artifact ------------------------------------------------------------


def test_run_evidence_reads_a_real_artifact(
    gh: FakeGitHub, forge: GitHubForge, real_artifact: Path
) -> None:
    run = grade_run(gh, forge)
    gh.add_artifact(run.id, name="grader-result", files=folder_files(real_artifact))

    evidence = forge.run_evidence(run)

    assert evidence == Evidence.graded(read_result(real_artifact))
    assert evidence.notebooks[0].evaluation.status == "complete"
    assert api_calls(gh) == [
        f"GET /repos/d2l/study-group/actions/runs/{run.id}/artifacts 200",
        f"GET /repos/d2l/study-group/actions/artifacts/{gh.artifacts_of(run.id)[0]}/zip 302",
    ]
    assert gh.requests[0].query == {"name": "grader-result", "per_page": "100"}
    ((path, auth),) = gh.blob_downloads
    assert path.startswith(f"{gh.artifacts_of(run.id)[0]}/")
    assert auth is None, "the API token went to the storage host"


def test_run_evidence_ignores_other_artifacts(
    gh: FakeGitHub, forge: GitHubForge, tmp_path: Path
) -> None:
    run = grade_run(gh, forge)
    gh.add_artifact(run.id, name="executed-notebooks", files={"x.ipynb": b"{}"})
    assert forge.run_evidence(run).kind == "missing"
    gh.add_artifact(run.id, files=small_result(tmp_path))
    assert forge.run_evidence(run).kind == "graded"


def test_a_rerun_replaces_the_artifact_only_with_overwrite(
    gh: FakeGitHub, forge: GitHubForge, tmp_path: Path
) -> None:
    run = grade_run(gh, forge)
    first = gh.add_artifact(run.id, data=crafted_zip(("result.json", b"not json")))
    gh.rerun(run.id, T0 + timedelta(hours=1))
    with pytest.raises(ArtifactConflict, match="already exists on the workflow run"):
        gh.add_artifact(run.id, files=small_result(tmp_path))
    assert forge.run_evidence(run).kind == "invalid"  # still the first attempt's

    second = gh.add_artifact(run.id, files=small_result(tmp_path), overwrite=True)

    assert gh.artifacts_of(run.id) == [second] != [first]
    assert forge.run_evidence(run).kind == "graded"


# --- run_evidence: gone -------------------------------------------------------------------------


def test_an_expired_artifact_is_missing_without_a_download(
    gh: FakeGitHub, forge: GitHubForge, tmp_path: Path
) -> None:
    run = grade_run(gh, forge)
    gh.add_artifact(run.id, files=small_result(tmp_path), expired=True)

    evidence = forge.run_evidence(run)

    assert evidence.kind == "missing"
    assert "expired" in evidence.reason
    assert gh.count() == 1
    assert gh.blob_downloads == []


def test_an_artifact_expiring_before_its_download_is_missing(
    gh: FakeGitHub, forge: GitHubForge, tmp_path: Path
) -> None:
    run = grade_run(gh, forge)
    artifact = gh.add_artifact(run.id, files=small_result(tmp_path))
    gh.before_next("GET", r"/actions/artifacts/\d+/zip$", lambda: gh.expire_artifact(artifact))

    evidence = forge.run_evidence(run)

    assert evidence.kind == "missing"
    assert "410" in evidence.reason
    assert api_calls(gh)[-1].endswith("/zip 410")


def test_a_run_without_the_artifact_is_missing(gh: FakeGitHub, forge: GitHubForge) -> None:
    run = grade_run(gh, forge)
    evidence = forge.run_evidence(run)
    assert evidence.kind == "missing"
    assert "no grader-result artifact" in evidence.reason


def test_a_deleted_run_is_missing(gh: FakeGitHub, forge: GitHubForge, tmp_path: Path) -> None:
    run = grade_run(gh, forge)
    gh.add_artifact(run.id, files=small_result(tmp_path))
    gh.fail_next("GET", r"/actions/runs/\d+/artifacts$", 404, body={"message": "Not Found"})
    evidence = forge.run_evidence(run)
    assert evidence.kind == "missing"
    assert "404" in evidence.reason


# --- run_evidence: crafted archives ----------------------------------------------------------


def evidence_of(gh: FakeGitHub, forge: GitHubForge, data: bytes, **kw: object) -> Evidence:
    run = grade_run(gh, forge)
    gh.add_artifact(run.id, data=data, **kw)  # type: ignore[arg-type]
    return forge.run_evidence(run)


def test_a_zip_bomb_is_invalid(gh: FakeGitHub, forge: GitHubForge, tmp_path: Path) -> None:
    bomb = crafted_zip(
        ("result.json", small_result(tmp_path)["result.json"]),
        ("summary.md", b"\0" * (MAX_ARTIFACT_UNZIPPED + 1)),
    )
    assert len(bomb) < MAX_ARTIFACT_BYTES // 100  # small on the wire
    evidence = evidence_of(gh, forge, bomb)
    assert evidence.kind == "invalid"
    assert "zip bomb" in evidence.reason


def test_an_entry_outside_the_artifact_is_invalid(
    gh: FakeGitHub, forge: GitHubForge, tmp_path: Path
) -> None:
    result = small_result(tmp_path)
    data = crafted_zip(("../result.json", result["result.json"]), ("summary.md", b"x"))
    evidence = evidence_of(gh, forge, data)
    assert evidence.kind == "invalid"
    assert "outside the artifact" in evidence.reason


def test_an_absolute_entry_is_invalid(gh: FakeGitHub, forge: GitHubForge, tmp_path: Path) -> None:
    data = crafted_zip(("/tmp/result.json", small_result(tmp_path)["result.json"]))
    evidence = evidence_of(gh, forge, data)
    assert evidence.kind == "invalid"
    assert "absolute path" in evidence.reason


def test_a_symlink_entry_is_invalid(gh: FakeGitHub, forge: GitHubForge, tmp_path: Path) -> None:
    link = zipfile.ZipInfo("result.json")
    link.create_system = 3  # Unix
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = crafted_zip((link, b"/etc/passwd"), ("summary.md", b"x"))
    evidence = evidence_of(gh, forge, data)
    assert evidence.kind == "invalid"
    assert "symbolic link" in evidence.reason


def test_a_nested_entry_is_invalid(gh: FakeGitHub, forge: GitHubForge, tmp_path: Path) -> None:
    data = crafted_zip(("result/result.json", small_result(tmp_path)["result.json"]))
    evidence = evidence_of(gh, forge, data)
    assert evidence.kind == "invalid"
    assert "inside one" in evidence.reason


def test_too_many_entries_are_invalid(gh: FakeGitHub, forge: GitHubForge) -> None:
    """Refused before anything is unpacked: not one file per entry on disk first."""
    data = crafted_zip(*((f"f{i}", b"x") for i in range(1000)))
    evidence = evidence_of(gh, forge, data)
    assert evidence.kind == "invalid"
    assert f"1000 entries (at most {forge_module.MAX_ARTIFACT_ENTRIES})" in evidence.reason


def test_a_duplicate_entry_is_invalid(gh: FakeGitHub, forge: GitHubForge, tmp_path: Path) -> None:
    result = small_result(tmp_path)["result.json"]
    with pytest.warns(UserWarning, match="Duplicate name"):
        data = crafted_zip(("result.json", result), ("result.json", b"{}"))
    evidence = evidence_of(gh, forge, data)
    assert evidence.kind == "invalid"
    assert "twice" in evidence.reason


def test_not_a_zip_is_invalid(gh: FakeGitHub, forge: GitHubForge) -> None:
    evidence = evidence_of(gh, forge, b"PK\x03\x04 truncated")
    assert evidence.kind == "invalid"


def test_a_bad_result_inside_is_invalid(gh: FakeGitHub, forge: GitHubForge) -> None:
    data = zip_files({"result.json": json.dumps({"schema": 1, "notebooks": "x"}).encode()})
    evidence = evidence_of(gh, forge, data)
    assert evidence.kind == "invalid"
    assert "at most 50 notebooks" in evidence.reason


def test_an_oversized_artifact_is_invalid_without_a_download(
    gh: FakeGitHub, forge: GitHubForge
) -> None:
    big = zip_files({"result.json": os.urandom(MAX_ARTIFACT_BYTES + 1024)})
    evidence = evidence_of(gh, forge, big)
    assert evidence.kind == "invalid"
    assert "more than any real grading result" in evidence.reason
    assert gh.blob_downloads == []


def test_an_oversized_download_is_invalid_whatever_the_listing_says(
    gh: FakeGitHub, forge: GitHubForge
) -> None:
    big = zip_files({"result.json": os.urandom(MAX_ARTIFACT_BYTES + 1024)})
    evidence = evidence_of(gh, forge, big, size_in_bytes=1000)
    assert evidence.kind == "invalid"
    assert "larger than any real grading result" in evidence.reason
    assert len(gh.blob_downloads) == 1
