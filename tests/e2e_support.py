"""Shared fixtures for the end-to-end tests of GitHub mode (tests/test_e2e_*.py).

The real subcommands run through `grader.main([...])`, reading their
environment from `os.environ` (set with `monkeypatch.setenv`), against the fake
GitHub server. Events are written to files derived from the real webhook
payloads of the shared corpus; artifacts come from `grader run-submission` on
real notebooks, or are hand-crafted from those to play an attacker.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import threading
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.cli.common import OK
from grader.cli.main import main
from grader.core import notices, render
from tests import notebooks as nbf
from tests.corpus import corpus_file
from tests.fakegithub import FakeGitHub, PullFile

BOT = "github-actions[bot]"
GRADE = ".github/workflows/grade.yml"

# a1: D = 2020-08-08T23:59Z, D + 48 h = 2020-08-10T23:59Z. a2: a week later.
DEADLINE_A1 = datetime(2020, 8, 8, 23, 59, tzinfo=UTC)
ON_TIME = datetime(2020, 8, 7, 10, 0, tzinfo=UTC)
IN_GRACE = datetime(2020, 8, 9, 12, 0, tzinfo=UTC)
AFTER_GRACE = datetime(2020, 8, 12, 0, 0, tzinfo=UTC)

COURSE = """\
name: E2E course
tas: [tina]
execution: {cell_timeout_s: 10, notebook_timeout_s: 60, memory_mb: 1024}
"""
ASSIGNMENT = """\
title: {title}
deadline: {deadline}
exercises:
  - {{id: "1", answer: code, test: "assert f() == 1"}}
"""


def corpus_payload(name: str) -> dict[str, Any]:
    """A real webhook payload from the shared corpus; skips when the corpus is absent."""
    path = corpus_file("webhooks", name)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def write_course(root: Path, course: str = COURSE) -> Path:
    (root / "exercises").mkdir(parents=True, exist_ok=True)
    (root / "course.yml").write_text(course, encoding="utf-8")
    for name, title, deadline in (
        ("a1", "One", "2020-08-08T23:59:00Z"),
        ("a2", "Two", "2020-08-15T23:59:00Z"),
    ):
        text = ASSIGNMENT.format(title=title, deadline=deadline)
        (root / "exercises" / f"{name}.yml").write_text(text, encoding="utf-8")
    return root


def notebook_bytes(*sources: str) -> bytes:
    """A notebook whose tagged cell answers exercise 1 with the first source."""
    cells = [nbf.code(sources[0], tags=["exercise-1"]), *(nbf.code(s) for s in sources[1:])]
    return nbformat.writes(nbf.notebook(*cells)).encode("utf-8")


COMPLETE = notebook_bytes("def f():\n    return 1")
WRONG = notebook_bytes("def f():\n    return 2")


# --- the environment of one command, per thread ------------------------------------


class ThreadEnviron(MutableMapping[str, str]):
    """The environment `main` is given, one mapping per thread (for concurrent runs)."""

    def __init__(self, base: Mapping[str, str]) -> None:
        self._base = dict(base)
        self._local = threading.local()

    def _env(self) -> dict[str, str]:
        env: dict[str, str] | None = getattr(self._local, "env", None)
        if env is None:
            env = self._local.env = dict(self._base)
        return env

    def __getitem__(self, key: str) -> str:
        return self._env()[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._env()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._env()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._env()))

    def __len__(self) -> int:
        return len(self._env())


def publish_concurrently(
    world: World, jobs: Sequence[tuple[Path, dict[str, Any]]], workers: int
) -> list[int]:
    """`grader publish` for each (artifact, event) job, `workers` at a time, each thread
    with its own event file; returns the exit codes in job order."""
    environ = ThreadEnviron(dict(os.environ))
    base = world.gh.env(GRADER_THROTTLE="0")
    course = str(world.course)

    def publish(job: tuple[Path, dict[str, Any]]) -> int:
        artifact, event = job
        environ.update(base, GITHUB_EVENT_PATH=str(world.write_event(event)))
        return main(["publish", "--artifact", str(artifact), "--course", course], environ)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(publish, jobs))


# --- events ------------------------------------------------------------------------------


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def workflow_run_event(
    gh: FakeGitHub,
    *,
    head_sha: str,
    head_repo: str | None,
    created_at: datetime,
    head_branch: str = "main",
    path: str = GRADE,
    event: str = "pull_request",
    run_id: int = 1,
    with_pull_requests: bool = False,
) -> dict[str, Any]:
    """A `workflow_run.completed` event for a grade run, from the corpus payload.

    Without `with_pull_requests`, `pull_requests` is empty, as GitHub sends it for forks.
    """
    name = (
        "workflow_run.completed.with-pull-requests.payload.json"
        if with_pull_requests
        else "workflow_run.completed.payload.json"
    )
    data = copy.deepcopy(corpus_payload(name))
    run = data["workflow_run"]
    run.update(
        id=run_id,
        name="grade",
        path=path,
        event=event,
        head_sha=head_sha,
        head_branch=head_branch,
        created_at=iso(created_at),
        updated_at=iso(created_at),
        status="completed",
        conclusion="success",
    )
    run["head_repository"]["full_name"] = head_repo
    data["repository"]["full_name"] = gh.repository
    data["repository"]["default_branch"] = gh.state.default_branch
    return data


def comment_event(
    gh: FakeGitHub,
    *,
    number: int,
    author: str,
    body: str,
    on_pull: bool = True,
    user_type: str = "User",
) -> dict[str, Any]:
    """An `issue_comment.created` event from the corpus (a PR's, or a plain issue's)."""
    name = (
        "issue_comment.created.on-pull-request.all-contributors.json"
        if on_pull
        else "issue_comment.created.payload.json"
    )
    data = copy.deepcopy(corpus_payload(name))
    data["action"] = "created"
    data["issue"]["number"] = number
    data["comment"]["body"] = body
    data["comment"]["user"]["login"] = author
    data["comment"]["user"]["type"] = user_type
    data["sender"]["login"] = author
    data["repository"]["full_name"] = gh.repository
    return data


# --- the world: a fake repository, a course, commands -------------------------------------


@dataclass
class World:
    gh: FakeGitHub
    course: Path
    tmp: Path
    monkeypatch: pytest.MonkeyPatch

    def __post_init__(self) -> None:
        self._events = 0
        self._lock = threading.Lock()

    # commands, with the environment in os.environ

    def write_event(self, event: Mapping[str, Any]) -> Path:
        with self._lock:
            self._events += 1
            path = self.tmp / "events" / f"event-{self._events}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(event), encoding="utf-8")
        return path

    def setenv(self, event: Mapping[str, Any] | None = None, **extra: str) -> None:
        for key, value in self.gh.env(GRADER_THROTTLE="0", **extra).items():
            self.monkeypatch.setenv(key, value)
        if event is not None:
            self.monkeypatch.setenv("GITHUB_EVENT_PATH", str(self.write_event(event)))

    def main(self, *argv: str, event: Mapping[str, Any] | None = None, **extra: str) -> int:
        self.setenv(event, **extra)
        return main([*argv, "--course", str(self.course)])

    def publish(self, artifact: Path, event: Mapping[str, Any], **extra: str) -> int:
        return self.main("publish", "--artifact", str(artifact), event=event, **extra)

    def command(self, number: int, author: str, body: str, **kw: Any) -> int:
        event = comment_event(self.gh, number=number, author=author, body=body, **kw)
        return self.main("ta-command", event=event)

    # repository setup

    def submit(
        self,
        login: str,
        sha: str,
        *,
        assignment: str = "a1",
        content: bytes = COMPLETE,
        at: datetime = ON_TIME,
        number: int | None = None,
        folder: str | None = None,
        extra: Sequence[PullFile] = (),
        head_ref: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Open a PR (or push to `number`), record GitHub's grade run; (PR, its event)."""
        path = f"submissions/{folder or login}/{assignment}.ipynb"
        files = [PullFile(path, content=content), *extra]
        branch = head_ref or f"{assignment}-work"
        if number is None:
            number = self.gh.open_pull(login, sha, files, created_at=at, head_ref=branch)
        else:
            self.gh.push(number, sha, files)
        fork = f"{login}/{self.gh.state.repo}"
        run_id = self.gh.add_workflow_run(sha, at, head_repo=fork, head_branch=branch)
        event = workflow_run_event(
            self.gh, head_sha=sha, head_repo=fork, created_at=at, head_branch=branch, run_id=run_id
        )
        return number, event

    # inspection

    def bot_comments(self, number: int) -> list[str]:
        return [body for author, body in self.gh.comments_on(number) if author == BOT]

    def sticky(self, number: int) -> str:
        (body,) = [b for b in self.bot_comments(number) if b.startswith(notices.PR_MARKER)]
        return body

    def facts(self, number: int) -> dict[str, object]:
        found = render.pr_facts(self.sticky(number))
        assert found is not None
        return found

    def records(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Every record of the ledger on the state branch: (login, assignment) -> events."""
        found: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for path, data in self.gh.branch_files().items():
            if not path.startswith("records/"):
                continue
            for login, entry in json.loads(data)["students"].items():
                for assignment, events in entry["assignments"].items():
                    found[(login, assignment)] = events
        return found

    def state_files(self) -> dict[str, bytes]:
        return self.gh.branch_files()

    def writes(self) -> list[str]:
        return [
            f"{r.method} {r.path} {r.status}"
            for r in self.gh.requests
            if r.method in ("POST", "PATCH", "PUT", "DELETE")
        ]


def copy_artifact(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def retarget(source: Path, target: Path, login: str, assignment: str | None = None) -> Path:
    """The artifact of `source` as if run-submission had graded `login`'s folder."""
    data = json.loads((source / "result.json").read_text(encoding="utf-8"))
    for item in data["notebooks"]:
        name = item["path"].rsplit("/", 1)[-1]
        if assignment is not None:
            name = f"{assignment}.ipynb"
            item["evaluation"]["assignment"] = assignment
        item["path"] = f"submissions/{login}/{name}"
    target.mkdir(parents=True, exist_ok=True)
    (target / "result.json").write_text(json.dumps(data), encoding="utf-8")
    shutil.copy(source / "summary.md", target / "summary.md")
    return target


def artifact_files(artifact: Path) -> dict[str, bytes]:
    """An artifact folder's files, as `FakeGitHub.add_artifact` takes them."""
    return {p.name: p.read_bytes() for p in artifact.iterdir()}


def empty_artifact(where: Path) -> Path:
    """What `grader run-submission` writes for a folder with no notebook: the grade run
    of a PR whose author has no folder in the head (it grades submissions/<author>/)."""
    where.mkdir(parents=True)
    (where / "result.json").write_text(json.dumps({"schema": 1, "notebooks": []}))
    (where / "summary.md").write_text("graded 0 notebook(s)\n")
    return where


def forged_complete(real: dict[str, Path], where: Path) -> Path:
    """What a hostile workflow uploads: the wrong notebook's true cell hashes, with a
    'complete' verdict written in. Only the graded commit's own changes expose it."""
    artifact = copy_artifact(real["wrong"], where)
    data = json.loads((artifact / "result.json").read_text())
    evaluation = data["notebooks"][0]["evaluation"]
    evaluation.update(status="complete", problems=[])
    for exercise in evaluation["exercises"]:
        exercise.update(status="ok", detail="")
    (artifact / "result.json").write_text(json.dumps(data))
    return artifact


def run_submission(course: Path, folder: Path, out: Path) -> int:
    return main(["run-submission", str(folder), "--out", str(out), "--course", str(course)])


def make_artifacts(root: Path) -> dict[str, Path]:
    """`grader run-submission` on alice's complete and wrong a1 notebooks (real kernels)."""
    course = write_course(root / "course")
    found = {}
    for kind, content in (("complete", COMPLETE), ("wrong", WRONG)):
        folder = root / kind / "submissions" / "alice"
        folder.mkdir(parents=True)
        (folder / "a1.ipynb").write_bytes(content)
        out = root / f"artifact-{kind}"
        if run_submission(course, folder, out) != OK:
            raise RuntimeError(f"run-submission failed for the {kind} notebook")
        found[kind] = out
    return found


@pytest.fixture(scope="session")
def real_artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    found = make_artifacts(tmp_path_factory.mktemp("real"))
    for kind, out in found.items():
        result = json.loads((out / "result.json").read_text(encoding="utf-8"))
        status = result["notebooks"][0]["evaluation"]["status"]
        assert status == ("complete" if kind == "complete" else "incomplete"), result
    return found


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with FakeGitHub(owner="d2l", repo="study-group") as gh:
        yield World(gh, write_course(tmp_path / "course"), tmp_path, monkeypatch)


class _MemoryState:
    """Just the state calls of the forge port, in memory: to build a big ledger fast."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    def read_state(self, path: str) -> tuple[str, str] | None:
        text = self.files.get(path)
        return None if text is None else (text, str(hash(text)))

    def write_state(self, path: str, text: str, version: str | None, message: str) -> str:
        self.files[path] = text
        return str(hash(text))

    def list_state(self, prefix: str) -> list[str]:
        return sorted(p for p in self.files if p.startswith(prefix))


def seed_ledger(gh: FakeGitHub, students: int, prefix: str = "seed") -> None:
    """`students` complete a1 records on the fake's state branch, as one commit."""
    from grader.adapters.ledger import Ledger
    from grader.core.model import Evaluation, Submission

    memory = _MemoryState()
    ledger = Ledger(memory)  # type: ignore[arg-type]
    evaluation = Evaluation(assignment="a1", status="complete")
    for i in range(students):
        submission = Submission(at=ON_TIME, sha=f"{i:040x}", pr=10_000 + i, evaluation=evaluation)
        ledger.update(
            f"{prefix}{i}", lambda h, s=submission: h.assignments.setdefault("a1", []).append(s)
        )
    with gh.state.lock:
        git = gh.state.git
        tree = {p: ("100644", git.put_blob(text.encode())) for p, text in memory.files.items()}
        git.branches["grader-state"] = git.commit(tree, [], "seed")
