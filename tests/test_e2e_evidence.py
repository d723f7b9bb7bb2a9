"""GitHub mode end to end: the artifact is untrusted (THREATS 7, 11, 12).

`grader run-submission` runs real notebooks with tokens in its environment; its
artifact then goes through `grader publish`, and so do hand-crafted hostile ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from grader.cli.common import OK
from tests import e2e_support
from tests.e2e_support import (
    COMPLETE,
    WRONG,
    World,
    copy_artifact,
    notebook_bytes,
    run_submission,
)

pytestmark = pytest.mark.kernel
world = e2e_support.world  # fixtures
real_artifacts = e2e_support.real_artifacts

UNVERIFIED = "Not graded: the grading results could not be verified"
EMPTY = notebook_bytes("pass")  # what the committed notebook really holds


def _edit_result(artifact: Path, change: object) -> None:
    data = json.loads((artifact / "result.json").read_text())
    change(data)  # type: ignore[operator]
    (artifact / "result.json").write_text(json.dumps(data))


def _set_path(value: str) -> object:
    return lambda d: d["notebooks"][0].update(path=value)


def _spoof(kind: str, artifact: Path) -> None:
    """Turn a real 'complete' artifact into a hostile one."""
    if kind == "wrong-schema":
        _edit_result(artifact, lambda d: d.update(schema=2))
    elif kind == "extra-key":
        _edit_result(artifact, lambda d: d.update(complete=True))
    elif kind == "extra-file":
        (artifact / "sitecustomize.py").write_text("print('hi')")
    elif kind == "dotdot-path":
        _edit_result(artifact, _set_path("submissions/alice/../bob/a1.ipynb"))
    elif kind == "absolute-path":
        _edit_result(artifact, _set_path("/submissions/alice/a1.ipynb"))
    elif kind == "other-student":
        _edit_result(artifact, _set_path("submissions/bob/a1.ipynb"))
    elif kind == "symlink":
        (artifact / "summary.md").unlink()
        (artifact / "summary.md").symlink_to("/etc/passwd")
    elif kind == "symlinked-result":
        target = artifact.parent / "elsewhere.json"
        (artifact / "result.json").rename(target)
        (artifact / "result.json").symlink_to(target)
    elif kind == "huge":  # stands in for a zip bomb: never parsed
        with (artifact / "result.json").open("a") as handle:
            handle.write(" " * 3_000_000)
    elif kind == "not-json":
        (artifact / "result.json").write_bytes(b"\xff\xfe{")
    elif kind == "other-assignment":
        _edit_result(artifact, lambda d: d["notebooks"][0]["evaluation"].update(assignment="a2"))
    elif kind == "hashes-differ":
        pass  # the real "complete" artifact, while the committed notebook is EMPTY
    else:  # pragma: no cover
        raise AssertionError(kind)


KINDS = [
    "wrong-schema", "extra-key", "extra-file", "dotdot-path", "absolute-path", "other-student",
    "symlink", "symlinked-result", "huge", "not-json", "other-assignment", "hashes-differ",
]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_row_11_spoofed_artifact_is_not_evidence(
    world: World, real_artifacts: dict[str, Path], kind: str
) -> None:
    # An earlier honest push recorded an incomplete result.
    number, first = world.submit("alice", "1" * 40, content=WRONG)
    assert world.publish(real_artifacts["wrong"], first) == OK
    before = world.state_files()
    _, second = world.submit("alice", "2" * 40, number=number, content=EMPTY)
    artifact = copy_artifact(real_artifacts["complete"], world.tmp / "spoofed")
    _spoof(kind, artifact)
    world.gh.clear_log()
    assert world.publish(artifact, second) == OK
    sticky = world.sticky(number)
    assert UNVERIFIED in sticky
    assert "Your record was not changed" in sticky
    assert "a1, exercise 1: empty" in sticky  # static checks still reported
    assert world.state_files() == before
    assert [w.split()[0] for w in world.writes()] == ["PATCH"]  # only the sticky comment
    assert world.gh.labels_on(number) == ["incomplete"]
    assert "passwd" not in sticky
    assert "root:" not in sticky


def test_row_12_missing_artifact_keeps_a_complete_record(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number, first = world.submit("alice", "1" * 40)
    assert world.publish(real_artifacts["complete"], first) == OK
    before = world.state_files()
    _, second = world.submit("alice", "2" * 40, number=number, content=WRONG)
    world.gh.clear_log()
    assert world.publish(world.tmp / "no-such-artifact", second) == OK
    sticky = world.sticky(number)
    assert "grading did not finish" in sticky
    assert "Your record was not changed" in sticky
    assert world.state_files() == before
    assert world.gh.labels_on(number) == ["complete"]
    assert [w.split()[0] for w in world.writes()] == ["PATCH"]


def test_row_12_missing_artifact_of_an_older_run_leaves_the_pr_alone(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number, first = world.submit("alice", "1" * 40, content=WRONG)
    _, second = world.submit("alice", "2" * 40, number=number)
    assert world.publish(real_artifacts["complete"], second) == OK
    shown = world.sticky(number)
    world.gh.clear_log()
    assert world.publish(world.tmp / "expired", first) == OK  # the old run's artifact is gone
    assert world.writes() == []
    assert world.sticky(number) == shown


# --- THREATS 7: run-submission sees no secrets and makes no request ----------------------------


SNOOP = """\
import os
print(dict(os.environ))
leaked = sorted(k for k in os.environ
                if k.startswith(("GITHUB_", "ACTIONS_", "GRADER_")) or "TOKEN" in k)
def f():
    return 1
assert not leaked, leaked
"""


def test_row_7_run_submission_has_no_secrets_and_no_network(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "GITHUB_TOKEN": "ghs_secret_token_value",
        "ACTIONS_RUNTIME_TOKEN": "runtime_secret_value",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc_secret_value",
        "GRADER_TOKEN": "ghp_pat_secret_value",
    }
    world.setenv(**secrets)  # GITHUB_API_URL points at the fake: any request would show
    folder = world.tmp / "head" / "submissions" / "alice"
    folder.mkdir(parents=True)
    (folder / "a1.ipynb").write_bytes(notebook_bytes(SNOOP))
    out = world.tmp / "result"
    assert os.environ["GITHUB_TOKEN"] == secrets["GITHUB_TOKEN"]
    assert run_submission(world.course, folder, out) == OK
    assert world.gh.requests == []
    result = json.loads((out / "result.json").read_text())
    (graded,) = result["notebooks"]
    assert graded["path"] == "submissions/alice/a1.ipynb"
    assert graded["evaluation"]["status"] == "complete", graded["evaluation"]
    written = "".join(p.read_text() for p in out.iterdir())
    assert not any(value in written for value in secrets.values())
    assert sorted(p.name for p in out.iterdir()) == ["result.json", "summary.md"]


def test_run_submission_artifact_publishes(world: World) -> None:
    """The artifact run-submission writes is exactly what publish accepts."""
    folder = world.tmp / "head" / "submissions" / "alice"
    folder.mkdir(parents=True)
    (folder / "a1.ipynb").write_bytes(COMPLETE)
    (folder / "notes.txt").write_text("data beside the notebook")
    assert run_submission(world.course, folder, world.tmp / "result") == OK
    number, event = world.submit("alice", "a" * 40)
    assert world.publish(world.tmp / "result", event) == OK
    assert world.gh.labels_on(number) == ["complete"]
