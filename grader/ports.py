"""The ports: what the use cases need from the world, as protocols.

The forge port: the handful of calls the pipeline makes.

Two adapters implement it: `adapters.localforge.LocalForge` (files in a
folder; the embedded default for `simulate` and `demo`) and
`adapters.github.GitHubForge` (PyGithub). Both must behave the same for every
call here; the app never reaches past this protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from grader.core.errors import GraderError
from grader.core.evidence import Evidence
from grader.core.history import StudentHistory
from grader.core.model import Assignment, Cell, ChangedFile, Comment, Evaluation, Issue, PullRequest
from grader.core.runs import WorkflowRun

__all__ = [
    "Forge",
    "Grader",
    "LedgerUpdate",
    "RecordStore",
    "SimulatedForge",
    "StateConflict",
]


class StateConflict(GraderError):
    """A state write lost a compare-and-swap race (HTTP 409 on GitHub).

    The ledger retries these; one that escapes means other writers kept winning.
    """


class Forge(Protocol):
    """What the pipeline needs from a code forge."""

    @property
    def bot_login(self) -> str: ...

    def get_pull(self, number: int) -> PullRequest: ...

    def list_pull_files(self, number: int) -> list[ChangedFile]: ...

    def list_open_pulls(self) -> list[PullRequest]: ...

    def find_pulls_by_head(
        self, sha: str, head_repo: str | None, head_ref: str | None = None
    ) -> list[PullRequest]:
        """The open PRs whose head is `sha` (from `head_repo` when given): usually one,
        but anyone may open a PR from someone else's public fork branch.

        When none has that head any more (a newer push), the open PRs from the same
        head repository and branch, so an older run's facts are not lost.
        """
        ...

    def changed_files(self, base: str, head: str) -> list[ChangedFile] | None:
        """The files commit `head` changes since its merge base with branch `base`,
        with their git modes at `head`; None when the forge cannot list them all."""
        ...

    def read_file(self, path: str, ref: str) -> bytes | None: ...

    def ensure_labels(self, names: Sequence[str]) -> None: ...

    def add_labels(self, number: int, labels: Sequence[str]) -> None: ...

    def remove_label(self, number: int, label: str) -> None: ...

    def set_labels(self, number: int, labels: Sequence[str]) -> None:
        """Replace all of the PR's labels in one call."""
        ...

    def bot_comments(self, number: int) -> list[Comment]: ...

    def create_comment(self, number: int, body: str) -> Comment: ...

    def edit_comment(self, comment_id: int, body: str) -> None: ...

    def delete_comment(self, comment_id: int) -> None: ...

    def find_issue(self, title: str) -> Issue | None: ...

    def create_issue(self, title: str, body: str) -> Issue: ...

    def edit_issue(self, number: int, body: str) -> None: ...

    def permission(self, login: str) -> str: ...  # admin | maintain | write | triage | read | none

    def display_name(self, login: str) -> str | None:
        """The person's own display name (their profile's name), when they set one."""
        ...

    def read_state(self, path: str) -> tuple[str, str] | None: ...  # (text, version)

    def write_state(self, path: str, text: str, version: str | None, message: str) -> str: ...

    def list_state(self, prefix: str) -> list[str]: ...

    def read_state_all(self, prefix: str) -> dict[str, str]:
        """Every state file under `prefix` (path -> text), in as few requests as possible."""
        ...

    def first_graded_at(self, sha: str) -> datetime | None: ...

    def runs_for(self, sha: str) -> list[WorkflowRun]:
        """Every workflow run of commit `sha` (any workflow, newest first)."""
        ...

    def run_evidence(self, run: WorkflowRun) -> Evidence:
        """The grade result artifact of `run`, parsed as untrusted data; `missing`
        when GitHub no longer keeps it (artifacts expire) or the run left none."""
        ...

    def add_reaction(self, comment_id: int, content: str) -> None:
        """React to an issue or PR comment (`content`: "+1", "rocket", ...); idempotent."""
        ...

    def rerun_grade(self, sha: str) -> int | None:
        """Re-run the latest grade-workflow run of commit `sha`; its run id, None if none."""
        ...


class SimulatedForge(Forge, Protocol):
    """A forge whose students and clock a simulation drives (the local forge)."""

    def open_pull(self, author: str, files: dict[str, bytes], *, title: str = "") -> int: ...

    def push(self, number: int, files: dict[str, bytes]) -> str: ...

    def mark_graded(self, sha: str, at: datetime) -> None: ...

    def post_comment_as(self, author: str, number: int, body: str) -> Comment: ...

    def pull_numbers(self) -> list[int]: ...


@dataclass(frozen=True)
class LedgerUpdate:
    """A student's history after an update, and whether the update wrote anything."""

    history: StudentHistory
    changed: bool


class RecordStore(Protocol):
    """The ledger: every student's history, updated with compare-and-swap."""

    def history(self, student: str) -> StudentHistory: ...

    def update(self, student: str, change: Callable[[StudentHistory], None]) -> LedgerUpdate: ...

    def all(self) -> Iterator[tuple[str, StudentHistory]]: ...


class Grader(Protocol):
    """Runs notebooks (their bytes) in fresh sandboxed kernels and evaluates them."""

    def __call__(
        self,
        notebooks: Sequence[tuple[bytes, Assignment]],
        on_done: Callable[[], None] = ...,
    ) -> list[tuple[tuple[Cell, ...], Evaluation]]: ...
