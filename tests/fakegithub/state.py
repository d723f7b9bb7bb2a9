"""In-memory state of one fake repository: users, issues and pulls, labels, git."""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .artifacts import Artifact

EPOCH = datetime(2020, 8, 1, tzinfo=UTC)
Entries = dict[str, tuple[str, str]]  # path -> (mode, blob sha)


def blob_sha(data: bytes) -> str:
    """Git's blob id, as GitHub reports it in `sha` fields."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _digest(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()


class Clock:
    """A deterministic clock: every reading is one second after the previous one."""

    def __init__(self, start: datetime = EPOCH) -> None:
        self._next = start

    def now(self) -> datetime:
        now, self._next = self._next, self._next + timedelta(seconds=1)
        return now

    def set(self, when: datetime) -> None:
        self._next = when


@dataclass
class User:
    login: str
    id: int
    type: str = "User"


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Comment:
    id: int
    issue: int
    author: str
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PullFile:
    """One changed file of a pull request, as the files API reports it."""

    filename: str
    status: str = "added"
    content: bytes = b'{"cells": []}'
    mode: str = "100644"
    previous_filename: str | None = None


@dataclass
class Pull:
    head_sha: str
    head_repo: str | None
    head_ref: str
    base_ref: str
    files: list[PullFile]


@dataclass
class Issue:
    number: int
    title: str
    body: str | None
    author: str
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    labels: list[str] = field(default_factory=list)
    pull: Pull | None = None


@dataclass
class Run:
    id: int
    name: str
    path: str
    head_sha: str
    head_branch: str
    head_repo: str | None
    event: str
    status: str
    conclusion: str | None
    created_at: datetime  # when GitHub created the run: kept by re-runs
    run_started_at: datetime | None = None  # when this attempt started (None: created_at)
    run_attempt: int = 1
    workflow: bytes | None = None  # the workflow file this run executed (see add_workflow_run)
    attempts: list[Run] = field(default_factory=list)  # earlier attempts, oldest first
    head_repo_deleted: bool = False  # the fork is gone: GitHub lists head_repository null


@dataclass
class Commit:
    sha: str
    tree: Entries
    parents: list[str]
    message: str


class Git:
    """Blobs, trees, commits and branches: just enough git for the contents API."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, Entries] = {}
        self.commits: dict[str, Commit] = {}
        self.branches: dict[str, str] = {}
        self._serial = itertools.count(1)

    def put_blob(self, data: bytes) -> str:
        sha = blob_sha(data)
        self.blobs[sha] = data
        return sha

    def put_tree(self, entries: Entries) -> str:
        sha = _digest("tree", sorted(entries.items()))
        self.trees[sha] = dict(entries)
        return sha

    def commit(
        self, tree: Entries, parents: list[str], message: str, sha: str | None = None
    ) -> str:
        sha = sha or _digest("commit", sorted(tree.items()), parents, message, next(self._serial))
        self.put_tree(tree)
        self.commits[sha] = Commit(sha, dict(tree), parents, message)
        return sha

    def resolve(self, ref: str) -> Commit | None:
        """A branch name (optionally `heads/` or `refs/heads/`) or a commit sha."""
        name = ref.removeprefix("refs/").removeprefix("heads/")
        sha = self.branches.get(name, ref)
        return self.commits.get(sha)

    def tree_of(self, sha: str) -> Entries | None:
        commit = self.resolve(sha)
        return commit.tree if commit else self.trees.get(sha)

    def commit_on_branch(self, branch: str, changes: Entries, message: str) -> str:
        parent = self.branches[branch]
        tree = {**self.commits[parent].tree, **changes}
        tree = {path: entry for path, entry in tree.items() if entry[1]}
        self.branches[branch] = self.commit(tree, [parent], message)
        return self.branches[branch]

    def set_file(self, ref: str, path: str, data: bytes, mode: str = "100644") -> str:
        """Test setup: a new commit on a branch, or an edit in place of a commit's tree."""
        entry = (mode, self.put_blob(data))
        if ref in self.branches:
            return self.commit_on_branch(ref, {path: entry}, f"add {path}")
        commit = self.commits.get(ref)
        if commit is None:
            return self.commit({path: entry}, [], f"add {path}", sha=ref)
        commit.tree[path] = entry
        self.put_tree(commit.tree)
        return ref


class RepoState:
    """Everything the fake server knows; every access holds `lock`."""

    def __init__(self, owner: str, repo: str, bot: str, default_branch: str = "main") -> None:
        self.lock = threading.RLock()
        self.owner, self.repo, self.bot = owner, repo, bot
        self.default_branch = default_branch
        self.clock = Clock()
        self.git = Git()
        self.git.branches[default_branch] = self.git.commit(
            {"README.md": ("100644", self.git.put_blob(b"# course\n"))}, [], "initial commit"
        )
        self.users: dict[str, User] = {}
        self.permissions: dict[str, str] = {}
        self.labels: dict[str, Label] = {}
        self.issues: dict[int, Issue] = {}
        self.comments: dict[int, Comment] = {}
        self.runs: dict[int, Run] = {}
        self.artifacts: dict[int, Artifact] = {}  # see artifacts.py
        # comment id -> (login, content) of each reaction, in order
        self.reactions: dict[int, list[tuple[str, str]]] = {}
        self._ids = itertools.count(1001)
        self.user(owner)
        self.user(bot, "Bot" if bot.endswith("[bot]") else "User")

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    def next_id(self) -> int:
        return next(self._ids)

    def user(self, login: str, kind: str | None = None) -> User:
        found = self.users.get(login.lower())
        if found is None:
            kind = kind or ("Bot" if login.endswith("[bot]") else "User")
            found = self.users[login.lower()] = User(login, self.next_id(), kind)
        return found

    def label(self, name: str, color: str = "ededed", description: str | None = None) -> Label:
        found = self.labels.get(name.lower())
        if found is None:
            found = self.labels[name.lower()] = Label(self.next_id(), name, color, description)
        return found

    def new_issue(
        self, title: str, body: str | None, author: str, pull: Pull | None = None
    ) -> Issue:
        number = len(self.issues) + 1
        now = self.clock.now()
        self.user(author)
        self.issues[number] = Issue(number, title, body, author, now, now, pull=pull)
        return self.issues[number]

    def new_comment(self, number: int, author: str, body: str) -> Comment:
        now = self.clock.now()
        self.user(author)
        comment = Comment(self.next_id(), number, author, body, now, now)
        self.comments[comment.id] = comment
        return comment

    def pull_commit(
        self, sha: str, files: Iterable[PullFile], base: str, parent: str | None = None
    ) -> str:
        """The head commit of a PR: the base branch's tree with the PR's changes, on top
        of `parent` (the PR's previous head; its first commit sits on the base)."""
        tree = dict(self.git.commits[self.git.branches[base]].tree)
        for f in files:
            if f.previous_filename:
                tree.pop(f.previous_filename, None)
            if f.status == "removed":
                tree.pop(f.filename, None)
            else:
                tree[f.filename] = (f.mode, self.git.put_blob(f.content))
        parents = [parent if parent in self.git.commits else self.git.branches[base]]
        return self.git.commit(tree, parents, "student work", sha=sha)
