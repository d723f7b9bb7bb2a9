"""What every use case works with: the forge, the course, the ledger, and a
student's records derived from the ledger's events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from grader.adapters.ledger import Ledger, StudentHistory
from grader.core.model import (
    Assignment,
    CourseConfig,
    Evaluation,
    Event,
    RecordState,
    Regrade,
    Submission,
)
from grader.core.policy import derive
from grader.ports import Forge


@dataclass
class Context:
    forge: Forge
    course: CourseConfig
    ledger: Ledger


@dataclass(frozen=True)
class Outcome:
    """What a use case did, for logs, step summaries and tests."""

    message: str
    states: tuple[RecordState, ...] = ()


def state_of(
    ctx: Context, student: str, assignment: Assignment, history: StudentHistory, now: datetime
) -> RecordState:
    extension = ctx.course.extensions.get(student.lower(), {}).get(assignment.id, timedelta(0))
    return derive(
        student.lower(),
        assignment,
        history.assignments.get(assignment.id, []),
        grace=ctx.course.grace,
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
