"""The deadline policy (CONTRACT section 5): a record is a pure fold over its events.

`derive` replays one student's events for one assignment and returns the
record's state; nothing is stored but the events, so an extension, an override
or a regrade simply re-derives the record from its whole history.

All time arithmetic is done in UTC. Aware datetimes compare in absolute time,
but adding hours to a `ZoneInfo` datetime is wall-clock arithmetic (a deadline
in Europe/Berlin plus 48 h across the October DST change would be 49 real
hours), so the deadline is converted to UTC before the extension and grace are
added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import TypeVar

from grader.core.model import (
    Assignment,
    Certificate,
    CourseConfig,
    Disqualified,
    Evaluation,
    Event,
    Extension,
    Feedback,
    Override,
    ProjectPresented,
    RecordState,
    RecordStatus,
    Regrade,
    Submission,
    Undo,
)

__all__ = ["certificate", "derive", "effective_deadline", "in_force", "replay_order"]

_E = TypeVar("_E", Override, Extension)
_T = TypeVar("_T")
# What `/grader undo` can take back: the TA commands that leave an event.
_UNDOABLE = (Override, Extension, ProjectPresented, Disqualified)


@dataclass(frozen=True)
class _Grading:
    """One submission as the policy sees it: `effective` is the commit's first time."""

    event: Submission
    effective: datetime
    evaluation: Evaluation


@dataclass(frozen=True)
class _Fold:
    """The automatic (non-override) state while replaying gradings."""

    status: RecordStatus | None = None
    decided: _Grading | None = None
    on_time_first: bool = False
    feedback: Feedback = "none"


def replay_order(events: Sequence[Event]) -> list[Event]:
    """Events sorted by absolute time; equal times keep their stored order."""
    indexed = sorted(enumerate(events), key=lambda pair: (_utc(pair[1].at), pair[0]))
    return [event for _, event in indexed]


def derive(
    student: str,
    assignment: Assignment,
    events: Sequence[Event],
    *,
    grace: timedelta,
    base_extension: timedelta,
    now: datetime,
) -> RecordState:
    """The record of `student` for `assignment` at time `now`.

    `now` only decides between `open` and `missing`; every event given counts,
    whatever its time (trusted times come from the forge, whose clock may run a
    little ahead of ours).
    """
    ordered = in_force(replay_order(events))
    deadline = effective_deadline(assignment.deadline, ordered, base_extension)
    fold = _fold(_gradings(ordered), deadline, deadline + grace)
    state = _automatic_state(student, assignment.id, fold, deadline, _utc(now))
    override = _latest(ordered, Override)
    if override is None:
        return state
    return replace(state, status=override.status, override=True, note=override.note)


def in_force(ordered: Sequence[_T]) -> list[_T]:
    """The events without the undone ones, nor the undos themselves.

    An `Undo` takes back the latest command by the same TA (case-insensitive
    login) that is still in force before it: an override, an extension, a
    project mark or a disqualification. Submissions and regrades are never
    undone. An undo with nothing to take back changes nothing.
    """
    kept: list[_T] = []
    for event in ordered:
        if isinstance(event, Undo):
            _take_back(kept, event.by)
        else:
            kept.append(event)
    return kept


def _take_back(kept: list[_T], by: str) -> None:
    login = by.lower()
    for i in range(len(kept) - 1, -1, -1):
        event = kept[i]
        if isinstance(event, _UNDOABLE) and event.by.lower() == login:
            del kept[i]
            return


def effective_deadline(
    deadline: datetime, ordered: Sequence[Event], base_extension: timedelta
) -> datetime:
    """D: the deadline plus the latest extension (which replaces course.yml's)."""
    extension = _latest(ordered, Extension)
    delta = base_extension if extension is None else extension.delta
    return _utc(deadline) + delta


def _latest(ordered: Sequence[Event], kind: type[_E]) -> _E | None:
    found = [event for event in ordered if isinstance(event, kind)]
    return found[-1] if found else None


def _gradings(ordered: Sequence[Event]) -> list[_Grading]:
    """Submissions with their commit's first time and the latest (re)evaluation.

    A regrade replaces the evaluation of every earlier grading of its commit; a
    later submission of the same commit (a re-run, a force-push back) brings
    its own evaluation but keeps the commit's first time (THREATS 18, 20).
    A regrade of a commit never submitted has no trusted time and is ignored.
    """
    first_seen: dict[str, datetime] = {}
    gradings: list[_Grading] = []
    for event in ordered:
        if isinstance(event, Submission):
            effective = first_seen.setdefault(event.sha, _utc(event.at))
            gradings.append(_Grading(event, effective, event.evaluation))
        elif isinstance(event, Regrade):
            gradings = [_regraded(g, event) for g in gradings]
    return gradings


def _regraded(grading: _Grading, regrade: Regrade) -> _Grading:
    if grading.event.sha != regrade.sha:
        return grading
    return replace(grading, evaluation=regrade.evaluation)


def _fold(gradings: Sequence[_Grading], deadline: datetime, window_end: datetime) -> _Fold:
    fold = _Fold()
    for grading in gradings:
        fold = _step(fold, grading, deadline, window_end)
    return fold


def _step(fold: _Fold, grading: _Grading, deadline: datetime, window_end: datetime) -> _Fold:
    """One row of the CONTRACT section 5 table."""
    t = grading.effective
    if fold.status is None:
        if t > deadline:
            return _Fold("late", grading, on_time_first=False, feedback="late-note")
        return _Fold(grading.evaluation.status, grading, on_time_first=True, feedback="full")
    if not fold.on_time_first:
        return replace(fold, feedback="late-note")
    if t > window_end:
        return replace(fold, feedback="window-closed")
    if fold.status == "complete":  # complete never goes back by itself
        return replace(fold, feedback="full")
    return _Fold(grading.evaluation.status, grading, on_time_first=True, feedback="full")


def _automatic_state(
    student: str, assignment: str, fold: _Fold, deadline: datetime, now: datetime
) -> RecordState:
    if fold.status is None or fold.decided is None:
        status: RecordStatus = "open" if now <= deadline else "missing"
        return RecordState(student, assignment, status, deadline=deadline)
    decided = fold.decided.event
    return RecordState(
        student,
        assignment,
        fold.status,
        submitted_at=decided.at,
        pr=decided.pr,
        sha=decided.sha,
        deadline=deadline,
        feedback=fold.feedback,
    )


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"naive datetime {moment.isoformat()} reached the deadline policy; "
            "every time must carry a UTC offset (fix the code or config that produced it)"
        )
    return moment.astimezone(UTC)


# --- certificate -------------------------------------------------------------


def certificate(
    student: str,
    states: Sequence[RecordState],
    course: CourseConfig,
    project_presented: bool,
    *,
    enrolled: bool = True,
    disqualified: bool = False,
) -> Certificate:
    """Whether `student` earns the certificate (CONTRACT section 5).

    Counted assignments are all those with `counts_for_certificate`, whatever
    their deadline; `late`, `missing` and `open` count as not complete. The
    fraction is compared exactly. With no counted assignment the exercise rule
    holds vacuously (0 of 0 misses nothing), so only the project rule decides.
    Enrollment matters only when the rule requires it (auditors are graded all
    the same); a disqualification always wins.
    """
    counted = {a.id for a in course.assignments.values() if a.counts_for_certificate}
    complete = _complete_ids(student, states) & counted
    rule = course.certificate
    minimum = _exact(rule.min_complete_fraction)
    enough = not counted or Fraction(len(complete), len(counted)) >= minimum
    project_ok = project_presented or not rule.require_final_project
    enrolled_ok = enrolled or not rule.require_enrollment
    return Certificate(
        student=student,
        complete=len(complete),
        counted=len(counted),
        project=project_presented,
        eligible=enough and project_ok and enrolled_ok and not disqualified,
        enrolled=enrolled,
        disqualified=disqualified,
    )


def _complete_ids(student: str, states: Sequence[RecordState]) -> set[str]:
    login = student.lower()
    return {s.assignment for s in states if s.student.lower() == login and s.status == "complete"}


def _exact(fraction: Fraction | float) -> Fraction:
    """The fraction as written: Fraction(0.8) is 0.8000000000000000444..., not 4/5."""
    if isinstance(fraction, float):
        return Fraction(repr(fraction))
    return fraction
