"""Decisions about a pull request's view: which records it shows, its labels, its seq.

A PR's view is its one bot comment and the grader's labels, rendered from the
PR's records. Concurrent runs race when they write it (THREATS 21, 22), so each
comment carries `seq`, the number of events its records held when it was
rendered: records only grow, so a view older than the one shown is never
written. Writing the view is the app's (`grader.app.views`); deciding it is here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from grader.core.history import StudentHistory, latest_evaluation, state_of
from grader.core.labels import wanted_labels
from grader.core.model import (
    Assignment,
    CourseConfig,
    Evaluation,
    Event,
    LabelNames,
    Override,
    RecordState,
    Regrade,
    Submission,
)
from grader.core.policy import in_force, replay_order

__all__ = [
    "SEQ_MARKER",
    "Part",
    "Shown",
    "combined_labels",
    "decision_changed",
    "first_view",
    "other_pulls",
    "seq_of",
    "shown_facts",
    "view_parts",
    "view_seq",
    "with_seq",
]

SEQ_MARKER = "<!-- grader:seq "
_SEQ = re.compile(r"<!-- grader:seq (\d+) -->")

Part = tuple[Assignment, RecordState, Evaluation | None]


def view_seq(events: Iterable[Sequence[Event]]) -> int:
    """How many events the PR's records hold: records only grow, so a bigger number
    means a view rendered from a newer ledger."""
    return sum(len(e) for e in events)


def seq_of(body: str) -> int:
    found = _SEQ.search(body)
    return int(found.group(1)) if found else -1


def with_seq(body: str, seq: int) -> str:
    return f"{body.rstrip()}\n{SEQ_MARKER}{seq} -->\n"


def combined_labels(names: LabelNames, states: Sequence[RecordState]) -> frozenset[str]:
    """One PR may carry several notebooks: complete only when every record is."""
    wanted = [wanted_labels(s, names) for s in states]
    if not wanted:
        return frozenset()
    if all(w == {names.complete} for w in wanted):
        return frozenset({names.complete})
    merged = frozenset().union(*wanted) - {names.complete}
    return merged | {names.incomplete} if merged else merged


def view_parts(
    course: CourseConfig,
    student: str,
    assignment_ids: Sequence[str],
    history: StudentHistory,
    at: datetime,
) -> tuple[list[Part], int, datetime]:
    """The parts of the PR's view, its seq, and the clock it is rendered at.

    The clock is the time of the records' newest event (a submission, a TA
    command), or `at` when that is later: a view is a function of its records, so
    a re-run, a retry or `reconcile` renders the same bytes and writes nothing.
    """
    records = [history.assignments.get(a, []) for a in assignment_ids]
    shown_at = max([at, *(e.at for events in records for e in events)])
    parts = [
        (
            course.assignments[a],
            state_of(course, student, course.assignments[a], history, shown_at),
            latest_evaluation(events),
        )
        for a, events in zip(assignment_ids, records, strict=True)
    ]
    return parts, view_seq(records), shown_at


def first_view(events: Sequence[Event], pr: int, sha: str) -> bool:
    """True when `sha` is the PR's only graded commit: no view of it can exist yet."""
    return all(e.sha == sha for e in events if isinstance(e, Submission) and e.pr == pr)


@dataclass(frozen=True)
class Shown:
    """What a part of the PR's comment shows besides the record's state.

    `latest`: the record's newest graded commit (its hand-in time and sha are shown,
    and its checks unless it came after the window closed); `override`: the TA
    command that set the status, for who, when and why; `evaluation`: the checks
    shown, those of the last reviewed push.
    """

    latest: Submission | None
    override: Override | None
    evaluation: Evaluation | None


def shown_facts(events: Sequence[Event], state: RecordState) -> Shown:
    """The facts behind a record's feedback, from its events."""
    ordered = in_force(replay_order(events))  # an undone override is not the one shown
    submissions = [e for e in ordered if isinstance(e, Submission)]
    overrides = [e for e in ordered if isinstance(e, Override)]
    latest = submissions[-1] if submissions else None
    evaluation = latest_evaluation(events)
    if state.feedback == "window-closed" and state.sha is not None:
        # The push after the window was not reviewed: keep the last reviewed feedback.
        evaluation = latest_evaluation(
            [e for e in events if isinstance(e, Submission | Regrade) and e.sha == state.sha]
        )
    override = overrides[-1] if overrides and state.override else None
    return Shown(latest, override, evaluation)


def _decision(state: RecordState) -> tuple[str, bool, int | None]:
    return (state.status, state.override, state.pr)


def decision_changed(
    course: CourseConfig,
    student: str,
    assignment: Assignment,
    events: Sequence[Event],
    at: datetime,
) -> bool:
    """Whether the newest event (the last appended) changed the record's status, its
    override or the PR that decided it: only then can another PR's view be stale."""
    if not events:
        return False
    before = StudentHistory({assignment.id: list(events[:-1])})
    after = StudentHistory({assignment.id: list(events)})
    return _decision(state_of(course, student, assignment, before, at)) != _decision(
        state_of(course, student, assignment, after, at)
    )


def other_pulls(
    records: Mapping[str, Sequence[Event]], pr: int, changed: Iterable[str]
) -> dict[int, list[str]]:
    """The other PRs that handed in one of the `changed` records, each with every
    record it handed in (its whole view), in PR order."""

    def pulls(events: Sequence[Event]) -> set[int]:
        return {e.pr for e in events if isinstance(e, Submission)}

    numbers = set().union(*(pulls(records.get(a, [])) for a in changed)) - {pr}
    return {n: [a for a, events in records.items() if n in pulls(events)] for n in sorted(numbers)}
