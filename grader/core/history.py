"""A student's history: the ledger's events for one student, and what follows from them.

The ledger adapter stores and loads these; every decision made from them
(the record's state, the latest evaluation, how a graded push or a TA command
is appended) is here, pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from grader.core.model import (
    Assignment,
    CourseConfig,
    Evaluation,
    Event,
    ProjectPresented,
    RecordState,
    Regrade,
    Submission,
)
from grader.core.policy import derive

__all__ = [
    "EPOCH",
    "StudentHistory",
    "add_project",
    "append_event",
    "append_regrades",
    "latest_evaluation",
    "newest_submission_time",
    "record_submission",
    "state_of",
]

# The clock of a view with no facts yet: views are rendered at their newest fact's time.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class StudentHistory:
    """Everything the ledger knows about one student."""

    assignments: dict[str, list[Event]] = field(default_factory=dict)
    project: list[ProjectPresented] = field(default_factory=list)


def state_of(
    course: CourseConfig,
    student: str,
    assignment: Assignment,
    history: StudentHistory,
    now: datetime,
) -> RecordState:
    """The record of `student` for `assignment` at `now`, derived from its events."""
    extension = course.extensions.get(student.lower(), {}).get(assignment.id, timedelta(0))
    return derive(
        student.lower(),
        assignment,
        history.assignments.get(assignment.id, []),
        grace=course.grace,
        base_extension=extension,
        now=now,
    )


def latest_evaluation(events: Sequence[Event]) -> Evaluation | None:
    """The evaluation of the most recent submission, after any regrade of it."""
    by_sha: dict[str, Evaluation] = {}
    last_sha: str | None = None
    for event in sorted(
        (e for e in events if isinstance(e, Submission | Regrade)), key=lambda e: e.at
    ):
        by_sha[event.sha] = event.evaluation
        if isinstance(event, Submission):
            last_sha = event.sha
    return by_sha.get(last_sha) if last_sha else None


def newest_submission_time(events: Sequence[Event], default: datetime) -> datetime:
    """The clock a PR's comment is rendered at: the newest trusted submission time.

    A time taken from the records, never "now", keeps the comment identical
    across re-runs, so a re-run writes nothing; and an older run finishing late
    does not turn the clock back.
    """
    return max((e.at for e in events if isinstance(e, Submission)), default=default)


def record_submission(history: StudentHistory, assignment: str, submission: Submission) -> None:
    """Append the submission, or a regrade when the same commit now grades differently."""
    events = history.assignments.setdefault(assignment, [])
    earlier = [e for e in events if isinstance(e, Submission | Regrade) and e.sha == submission.sha]
    if not earlier:
        events.append(submission)
    elif latest_evaluation(earlier) != submission.evaluation:
        events.append(
            Regrade(at=submission.at, sha=submission.sha, evaluation=submission.evaluation)
        )


def append_event(history: StudentHistory, assignment: str, event: Event | None) -> None:
    if event is not None:
        history.assignments.setdefault(assignment, []).append(event)


def append_regrades(history: StudentHistory, assignment: str, events: Sequence[Regrade]) -> None:
    have = history.assignments.setdefault(assignment, [])
    have.extend(e for e in events if e not in have)  # a retried CAS must not double them


def add_project(history: StudentHistory, event: ProjectPresented) -> None:
    """The first presentation counts; later ones change nothing."""
    if not history.project:
        history.project.append(event)
