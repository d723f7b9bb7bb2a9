"""Regrade planning: which commits to run again, how to shard them, what would change.

For a maintainer who fixed an exercise or its test: every commit ever submitted
for the assignment is executed again with today's course config. What running
them costs is the shell's; which records the new evaluations change is here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from grader.core.history import StudentHistory, latest_evaluation, state_of
from grader.core.model import (
    Assignment,
    CourseConfig,
    Evaluation,
    Event,
    RecordState,
    Regrade,
    Submission,
)

__all__ = [
    "Change",
    "Graded",
    "Plan",
    "Results",
    "ShardResult",
    "Target",
    "plan",
    "regrade_events",
    "shard",
    "targets",
]


@dataclass(frozen=True)
class Target:
    """One submitted commit of one student's notebook for the assignment."""

    student: str
    sha: str
    pr: int

    def path(self, assignment: str) -> str:
        return f"submissions/{self.student}/{assignment}.ipynb"


Results = dict[tuple[str, str], Evaluation]  # (student, sha) -> new evaluation


@dataclass(frozen=True)
class Graded:
    """A target run again: its new evaluation and the hashes of the cells that ran."""

    target: Target
    evaluation: Evaluation
    cells: tuple[str, ...]


@dataclass(frozen=True)
class ShardResult:
    """One result read back from a shard's file: untrusted until checked."""

    student: str
    sha: str
    evaluation: Evaluation
    cells: tuple[str, ...]


# How good a record is, for telling an improvement from a downgrade.
_RANK = {"complete": 2, "incomplete": 1, "late": 1, "open": 0, "missing": 0}


@dataclass(frozen=True)
class Change:
    student: str
    assignment: str
    before: RecordState
    after: RecordState

    @property
    def downgrade(self) -> bool:
        """Worse than before: a regrade never does this by itself (CONTRACT section 5)."""
        return _RANK[self.after.status] < _RANK[self.before.status]


@dataclass(frozen=True)
class Plan:
    """The status changes the results would cause, and the events that record them.

    The dry run prints `applied(...)` and `--apply` records exactly it: one
    computation, so both report the same set.
    """

    changes: tuple[Change, ...]
    events: Mapping[str, Sequence[Regrade]]

    def applied(self, allow_downgrade: bool = False) -> tuple[Change, ...]:
        """The changes a run records: improvements, and downgrades only when allowed."""
        return tuple(c for c in self.changes if allow_downgrade or not c.downgrade)

    def kept(self, allow_downgrade: bool = False) -> tuple[Change, ...]:
        """Downgrades left alone (the records keep their status)."""
        return () if allow_downgrade else tuple(c for c in self.changes if c.downgrade)

    def events_to_record(self, allow_downgrade: bool = False) -> dict[str, Sequence[Regrade]]:
        return {c.student: self.events[c.student] for c in self.applied(allow_downgrade)}


def targets(histories: Mapping[str, StudentHistory], assignment: str) -> list[Target]:
    """Every distinct commit submitted for `assignment`, in a stable order."""
    found: dict[tuple[str, str], Target] = {}
    for student in sorted(histories):
        for event in histories[student].assignments.get(assignment, []):
            if isinstance(event, Submission):
                found.setdefault((student, event.sha), Target(student, event.sha, event.pr))
    return list(found.values())


T = TypeVar("T")


def shard(items: Sequence[T], index: int, total: int) -> list[T]:
    """Shard `index` (1-based) of `total`: every total-th target."""
    return [t for i, t in enumerate(items) if i % total == index - 1]


def regrade_events(
    events: Sequence[Event], student: str, results: Results, now: datetime
) -> list[Regrade]:
    """A Regrade for each commit whose new evaluation differs from its current one."""
    new: list[Regrade] = []
    for sha in dict.fromkeys(e.sha for e in events if isinstance(e, Submission)):
        evaluation = results.get((student, sha))
        same_commit = [e for e in events if isinstance(e, Submission | Regrade) and e.sha == sha]
        if evaluation is not None and latest_evaluation(same_commit) != evaluation:
            new.append(Regrade(at=now, sha=sha, evaluation=evaluation))
    return new


def plan(
    course: CourseConfig,
    assignment: Assignment,
    histories: Mapping[str, StudentHistory],
    results: Results,
    now: datetime,
) -> Plan:
    """Status changes the results would cause, and the events that would record them."""
    changes: list[Change] = []
    events_by_student: dict[str, list[Regrade]] = {}
    for student in sorted(histories):
        history = histories[student]
        events = history.assignments.get(assignment.id, [])
        new = regrade_events(events, student, results, now)
        if not new:
            continue
        events_by_student[student] = new
        before = state_of(course, student, assignment, history, now)
        after_history = StudentHistory(
            {**history.assignments, assignment.id: [*events, *new]}, history.project
        )
        after = state_of(course, student, assignment, after_history, now)
        if (before.status, before.override) != (after.status, after.override):
            changes.append(Change(student, assignment.id, before, after))
    return Plan(tuple(changes), events_by_student)
