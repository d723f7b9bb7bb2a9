"""One forge contract, two forges: the local forge and GitHubForge on the fake server.

`grader.ports.Forge` promises that both adapters behave the same for every call
the use cases make. Each case here runs against both, driven through a small
driver that plays the students' and GitHub's part (opening PRs, pushing,
commenting, grade runs). mypy checks statically that both satisfy the port
(`grader.cli.wiring` passes each where a `Forge` is expected); these cases
check what they do.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest

from grader.adapters.github import GitHubForge
from grader.adapters.localforge import LocalForge
from grader.core.model import Issue
from grader.ports import Forge, StateConflict
from tests.fakegithub import FakeGitHub, PullFile

NB = "submissions/alice/section-01.ipynb"
T0 = datetime(2020, 8, 7, 10, 0, tzinfo=UTC)


class Driver(Protocol):
    """The world around a forge: what students and GitHub do, not the grader."""

    forge: Forge

    def open_pull(self, author: str, files: dict[str, bytes]) -> int: ...

    def push(self, number: int, files: dict[str, bytes]) -> str: ...

    def close(self, number: int) -> None: ...

    def comment_as(self, author: str, number: int, body: str) -> None: ...

    def issue_by(self, author: str, title: str, body: str) -> None: ...

    def set_permission(self, login: str, role: str) -> None: ...

    def graded(self, sha: str, at: datetime) -> None: ...


class LocalDriver:
    def __init__(self, root: Path) -> None:
        self.local = LocalForge(root)
        self.forge: Forge = self.local

    def open_pull(self, author: str, files: dict[str, bytes]) -> int:
        return self.local.open_pull(author, files, title="Submission")

    def push(self, number: int, files: dict[str, bytes]) -> str:
        return self.local.push(number, files)

    def close(self, number: int) -> None:
        self.local.close_pull(number)

    def comment_as(self, author: str, number: int, body: str) -> None:
        self.local.post_comment_as(author, number, body)

    def issue_by(self, author: str, title: str, body: str) -> None:
        number = self.local.create_issue(title, body).number
        path = self.local.root / "issues" / f"{number}.json"
        path.write_text(path.read_text().replace('"grader[bot]"', f'"{author}"'))

    def set_permission(self, login: str, role: str) -> None:
        self.local.set_permission(login, role)

    def graded(self, sha: str, at: datetime) -> None:
        self.local.mark_graded(sha, at)


class GitHubDriver:
    def __init__(self, gh: FakeGitHub, forge: GitHubForge) -> None:
        self.gh = gh
        self.forge: Forge = forge
        self.trees: dict[int, dict[str, bytes]] = {}
        self._shas = (f"{n:040x}" for n in itertools.count(0xC0FFEE))

    def _files(self, tree: dict[str, bytes]) -> list[str | PullFile]:
        return [PullFile(path, content=data) for path, data in sorted(tree.items())]

    def open_pull(self, author: str, files: dict[str, bytes]) -> int:
        number = self.gh.open_pull(
            author, next(self._shas), self._files(files), head_ref=f"b{len(self.trees)}"
        )
        self.trees[number] = dict(files)
        return number

    def push(self, number: int, files: dict[str, bytes]) -> str:
        self.trees[number].update(files)
        sha = next(self._shas)
        self.gh.push(number, sha, self._files(self.trees[number]))
        return sha

    def close(self, number: int) -> None:
        self.gh.close_pull(number)

    def comment_as(self, author: str, number: int, body: str) -> None:
        self.gh.add_comment(number, author, body)

    def issue_by(self, author: str, title: str, body: str) -> None:
        self.gh.add_issue(title, body, author=author)

    def set_permission(self, login: str, role: str) -> None:
        self.gh.set_permission(login, role)

    def graded(self, sha: str, at: datetime) -> None:
        self.gh.add_workflow_run(sha, at)


@pytest.fixture(params=["local", "github"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    if request.param == "local":
        yield LocalDriver(tmp_path / "forge")
        return
    with (
        FakeGitHub(owner="d2l", repo="course") as gh,
        GitHubForge.from_env(gh.env(), sleep=lambda _s: None, throttle=False) as forge,
    ):
        yield GitHubDriver(gh, forge)


# --- pull requests ----------------------------------------------------------------------


def test_a_pull_request_reads_back(world: Driver) -> None:
    number = world.open_pull("alice", {NB: b'{"cells": []}'})
    pull = world.forge.get_pull(number)
    assert (pull.number, pull.author, pull.state, pull.labels) == (number, "alice", "open", ())
    assert len(pull.head_sha) == 40
    assert [(f.path, f.status) for f in world.forge.list_pull_files(number)] == [(NB, "added")]


def test_a_push_moves_the_head_and_old_commits_stay_readable(world: Driver) -> None:
    number = world.open_pull("alice", {NB: b"v1"})
    first = world.forge.get_pull(number).head_sha
    second = world.push(number, {NB: b"v2"})
    assert world.forge.get_pull(number).head_sha == second != first
    assert world.forge.read_file(NB, second) == b"v2"
    assert world.forge.read_file(NB, first) == b"v1"
    assert world.forge.read_file("submissions/alice/none.ipynb", second) is None
    assert world.forge.read_file(NB, "f" * 40) is None


def test_open_pulls_leave_out_closed_ones(world: Driver) -> None:
    numbers = [world.open_pull(f"s{i}", {f"submissions/s{i}/a.ipynb": b"x"}) for i in range(3)]
    world.close(numbers[1])
    assert sorted(p.number for p in world.forge.list_open_pulls()) == [numbers[0], numbers[2]]


def test_find_pulls_by_head(world: Driver) -> None:
    number = world.open_pull("alice", {NB: b"x"})
    pull = world.forge.get_pull(number)
    assert pull.head_repo is not None
    found = world.forge.find_pulls_by_head(pull.head_sha, pull.head_repo)
    assert [p.number for p in found] == [number]
    assert world.forge.find_pulls_by_head(pull.head_sha, "mallory/course") == []
    assert world.forge.find_pulls_by_head("e" * 40, None) == []


def test_changed_files_of_a_commit(world: Driver) -> None:
    number = world.open_pull("alice", {NB: b"x"})
    first = world.forge.get_pull(number).head_sha
    other = "submissions/alice/section-02.ipynb"
    second = world.push(number, {other: b"y"})
    assert [(f.path, f.status, f.mode) for f in world.forge.changed_files("main", first) or []] == [
        (NB, "added", "100644")
    ]
    assert sorted(f.path for f in world.forge.changed_files("main", second) or []) == [NB, other]


# --- labels --------------------------------------------------------------------------------


def test_labels_add_remove_and_set(world: Driver) -> None:
    number = world.open_pull("alice", {NB: b"x"})
    world.forge.ensure_labels(["complete", "incomplete", "late"])
    world.forge.add_labels(number, ["incomplete", "late"])
    world.forge.add_labels(number, ["late"])
    assert sorted(world.forge.get_pull(number).labels) == ["incomplete", "late"]
    world.forge.remove_label(number, "late")
    assert world.forge.get_pull(number).labels == ("incomplete",)
    world.forge.set_labels(number, ["complete"])
    assert world.forge.get_pull(number).labels == ("complete",)


# --- comments and issues -------------------------------------------------------------------


def test_bot_comments_are_the_bots_own(world: Driver) -> None:
    number = world.open_pull("alice", {NB: b"x"})
    world.comment_as("alice", number, "<!-- grader:pr --> forged by a student")
    posted = world.forge.create_comment(number, "<!-- grader:pr --> v1")
    assert posted.author == world.forge.bot_login
    assert [c.body for c in world.forge.bot_comments(number)] == ["<!-- grader:pr --> v1"]
    world.forge.edit_comment(posted.id, "<!-- grader:pr --> v2")
    assert [c.body for c in world.forge.bot_comments(number)] == ["<!-- grader:pr --> v2"]
    world.forge.delete_comment(posted.id)
    assert world.forge.bot_comments(number) == []


def test_the_tracking_issue_is_the_bots_own(world: Driver) -> None:
    world.issue_by("mallory", "Progress tracker", "forged")
    assert world.forge.find_issue("Progress tracker") is None
    made = world.forge.create_issue("Progress tracker", "v1")
    world.forge.edit_issue(made.number, "v2")
    assert world.forge.find_issue("Progress tracker") == Issue(
        made.number, "Progress tracker", "v2"
    )


def test_permission_of_collaborators_and_strangers(world: Driver) -> None:
    world.set_permission("tina", "write")
    assert world.forge.permission("Tina") == "write"
    assert world.forge.permission("stranger") == "none"


# --- the state branch and trusted time ------------------------------------------------------


def test_state_is_compare_and_swap(world: Driver) -> None:
    forge = world.forge
    assert forge.read_state("records/a.json") is None
    first = forge.write_state("records/a.json", "1", None, "m")
    assert forge.read_state("records/a.json") == ("1", first)
    second = forge.write_state("records/a.json", "2", first, "m")
    with pytest.raises(StateConflict):
        forge.write_state("records/a.json", "3", first, "m")
    with pytest.raises(StateConflict):
        forge.write_state("records/a.json", "3", None, "m")
    assert forge.write_state("records/a.json", "2", second, "m") == second  # unchanged
    forge.write_state("records/b.json", "b", None, "m")
    forge.write_state("other.json", "o", None, "m")
    assert forge.list_state("records/") == ["records/a.json", "records/b.json"]
    assert forge.read_state_all("records/") == {"records/a.json": "2", "records/b.json": "b"}


def test_first_graded_at_is_the_earliest_run(world: Driver) -> None:
    number = world.open_pull("alice", {NB: b"x"})
    sha = world.forge.get_pull(number).head_sha
    world.graded(sha, T0 + timedelta(hours=2))
    world.graded(sha, T0)
    assert world.forge.first_graded_at(sha) == T0
    assert world.forge.first_graded_at("d" * 40) is None
