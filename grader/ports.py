"""The forge port: the handful of calls the pipeline makes.

Two adapters implement it: `adapters.localforge.LocalForge` (files in a
folder; the embedded default for `simulate` and `demo`) and
`adapters.github.GitHubForge` (PyGithub). Both must behave the same for every
call here; the app never reaches past this protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class StateConflict(Exception):
    """A state write lost a compare-and-swap race (HTTP 409 on GitHub)."""


@dataclass(frozen=True)
class PullRequest:
    number: int
    author: str
    head_sha: str
    head_repo: str | None  # "owner/name"; None when the fork was deleted
    state: str  # "open" | "closed"
    labels: tuple[str, ...] = ()
    title: str = ""


@dataclass(frozen=True)
class ChangedFile:
    path: str
    status: str  # added | modified | removed | renamed | copied | changed
    previous_path: str | None = None
    mode: str | None = None  # git mode at head: 100644, 100755, 120000 (link), 160000 (submodule)


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    body: str


@dataclass(frozen=True)
class Issue:
    number: int
    title: str
    body: str


class Forge(Protocol):
    """What the pipeline needs from a code forge."""

    @property
    def bot_login(self) -> str: ...

    def get_pull(self, number: int) -> PullRequest: ...

    def list_pull_files(self, number: int) -> list[ChangedFile]: ...

    def list_open_pulls(self) -> list[PullRequest]: ...

    def read_file(self, path: str, ref: str) -> bytes | None: ...

    def ensure_labels(self, names: Sequence[str]) -> None: ...

    def add_labels(self, number: int, labels: Sequence[str]) -> None: ...

    def remove_label(self, number: int, label: str) -> None: ...

    def bot_comments(self, number: int) -> list[Comment]: ...

    def create_comment(self, number: int, body: str) -> Comment: ...

    def edit_comment(self, comment_id: int, body: str) -> None: ...

    def delete_comment(self, comment_id: int) -> None: ...

    def find_issue(self, title: str) -> Issue | None: ...

    def create_issue(self, title: str, body: str) -> Issue: ...

    def edit_issue(self, number: int, body: str) -> None: ...

    def permission(self, login: str) -> str: ...  # admin | maintain | write | triage | read | none

    def read_state(self, path: str) -> tuple[str, str] | None: ...  # (text, version)

    def write_state(self, path: str, text: str, version: str | None, message: str) -> str: ...

    def list_state(self, prefix: str) -> list[str]: ...

    def first_graded_at(self, sha: str) -> datetime | None: ...
