"""Use case: the tracking issue, a pure view of the ledger written by one writer."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from grader.app.context import Context
from grader.core import tracker
from grader.core.history import StudentHistory, certificate_of, state_of
from grader.core.model import Certificate, RecordState
from grader.core.tracker import TRACKER_MARKER

States = dict[tuple[str, str], RecordState]


def students_of(ctx: Context, histories: Mapping[str, StudentHistory]) -> list[str]:
    return sorted(set(ctx.course.roster) | set(histories), key=str.lower)


def all_states(ctx: Context, histories: Mapping[str, StudentHistory], now: datetime) -> States:
    empty = StudentHistory()
    return {
        (student, a.id): state_of(ctx.course, student, a, histories.get(student, empty), now)
        for student in students_of(ctx, histories)
        for a in ctx.course.assignments.values()
    }


def all_certificates(
    ctx: Context, histories: Mapping[str, StudentHistory], states: States
) -> list[Certificate]:
    """Every student's certificate, with every fact of their history (project,
    enrollment, disqualification, and the undos of those)."""
    empty = StudentHistory()
    return [
        certificate_of(
            ctx.course,
            student,
            [states[(student, a)] for a in ctx.course.assignments],
            histories.get(student, empty),
        )
        for student in students_of(ctx, histories)
    ]


def facts_of(histories: Mapping[str, StudentHistory]) -> Iterator[datetime]:
    """The time of every fact the ledger holds: hand-ins, TA commands, presentations,
    enrollments and disqualifications."""
    for history in histories.values():
        for events in history.assignments.values():
            yield from (e.at for e in events)
        yield from (p.at for p in history.project)
        yield from (e.at for e in history.standing)


def tracker_view(ctx: Context, now: datetime) -> list[str]:
    """The tracking issue's pages, a function of the ledger and the course: rendered at
    the newest fact (`core.tracker.tracker_clock`), so `now` only decides which
    deadlines have passed and a re-render with no new fact gives the same bytes."""
    histories = dict(ctx.ledger.all())
    clock = tracker.tracker_clock(
        facts_of(histories), all_states(ctx, histories, now).values(), ctx.course.grace, now
    )
    states = all_states(ctx, histories, clock)
    return tracker.tracker_pages(
        course=ctx.course,
        states=states,
        certificates=all_certificates(ctx, histories, states),
        now=clock,
    )


def render_tracker(ctx: Context, now: datetime) -> list[str]:
    """Re-render the tracking issue from the ledger; writes only changed pages."""
    pages = tracker_view(ctx, now)
    write_pages(ctx, pages)
    return pages


def write_pages(ctx: Context, pages: Sequence[str]) -> None:
    title = ctx.course.tracking_issue_title
    issue = ctx.forge.find_issue(title)
    if issue is None:
        issue = ctx.forge.create_issue(title, pages[0])
    elif issue.body != pages[0]:
        ctx.forge.edit_issue(issue.number, pages[0])
    extra = [c for c in ctx.forge.bot_comments(issue.number) if c.body.startswith(TRACKER_MARKER)]
    for i, page in enumerate(pages[1:]):
        if i < len(extra):
            if extra[i].body != page:
                ctx.forge.edit_comment(extra[i].id, page)
        else:
            ctx.forge.create_comment(issue.number, page)
    for stale in extra[len(pages) - 1 :]:
        ctx.forge.delete_comment(stale.id)
