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
    Certificate,
    CourseConfig,
    Disqualified,
    Enrolled,
    Evaluation,
    Event,
    Extension,
    Override,
    ProjectPresented,
    RecordState,
    Regrade,
    StandingEvent,
    Submission,
)
from grader.core.policy import certificate, derive, in_force, replay_order

__all__ = [
    "EPOCH",
    "StudentEvent",
    "StudentHistory",
    "TaCommandEvent",
    "add_project",
    "append_event",
    "append_regrades",
    "append_standing",
    "certificate_of",
    "is_disqualified",
    "is_enrolled",
    "last_record_command",
    "last_student_command",
    "latest_evaluation",
    "newest_submission_time",
    "project_presented",
    "record_submission",
    "state_of",
    "student_events",
]

# The clock of a view with no facts yet: views are rendered at their newest fact's time.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class StudentHistory:
    """Everything the ledger knows about one student."""

    assignments: dict[str, list[Event]] = field(default_factory=dict)
    project: list[ProjectPresented] = field(default_factory=list)
    # enrollment, disqualification, and the undos of those and of project marks
    standing: list[StandingEvent] = field(default_factory=list)


StudentEvent = ProjectPresented | StandingEvent
# The events a TA's command leaves, which `/grader undo` can take back.
TaCommandEvent = Override | Extension | ProjectPresented | Disqualified


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
    """The first presentation in force counts; later ones change nothing."""
    if not project_presented(history):
        history.project.append(event)


def append_standing(history: StudentHistory, event: StandingEvent) -> None:
    history.standing.append(event)


def student_events(history: StudentHistory) -> list[StudentEvent]:
    """Project marks and standing events by time (project marks first at equal times)."""
    merged: list[StudentEvent] = [*history.project, *history.standing]
    indexed = sorted(enumerate(merged), key=lambda pair: (pair[1].at.astimezone(UTC), pair[0]))
    return [event for _, event in indexed]


def project_presented(history: StudentHistory) -> bool:
    """A project mark is in force (not taken back by `/grader undo`)."""
    return any(isinstance(e, ProjectPresented) for e in in_force(student_events(history)))


def is_disqualified(history: StudentHistory) -> bool:
    """A disqualification is in force (not taken back by `/grader undo`)."""
    return any(isinstance(e, Disqualified) for e in in_force(student_events(history)))


def is_enrolled(course: CourseConfig, student: str, history: StudentHistory) -> bool:
    """On course.yml's roster, or enrolled with `/grader enroll`."""
    login = student.lower()
    on_roster = login in {r.lower() for r in course.roster}
    return on_roster or any(isinstance(e, Enrolled) for e in history.standing)


def certificate_of(
    course: CourseConfig, student: str, states: Sequence[RecordState], history: StudentHistory
) -> Certificate:
    """The certificate with every fact of the student's history: project, enrollment, standing."""
    return certificate(
        student,
        states,
        course,
        project_presented(history),
        enrolled=is_enrolled(course, student, history),
        disqualified=is_disqualified(history),
    )


def last_record_command(events: Sequence[Event], by: str) -> TaCommandEvent | None:
    """The latest command of TA `by` still in force on a record (what an undo takes back)."""
    return _last_by(replay_order(events), by)


def last_student_command(history: StudentHistory, by: str) -> TaCommandEvent | None:
    """The latest project mark or disqualification by TA `by` still in force."""
    return _last_by(student_events(history), by)


def _last_by(ordered: Sequence[Event | StudentEvent], by: str) -> TaCommandEvent | None:
    login = by.lower()
    found = [
        e
        for e in in_force(ordered)
        if isinstance(e, Override | Extension | ProjectPresented | Disqualified)
        and e.by.lower() == login
    ]
    return found[-1] if found else None
