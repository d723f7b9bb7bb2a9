"""Use case: the tracking issue, a pure view of the ledger written by one writer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from grader.app.context import Context
from grader.core import tracker
from grader.core.history import StudentHistory, state_of
from grader.core.model import Certificate, RecordState
from grader.core.policy import certificate
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
    return [
        certificate(
            student,
            [states[(student, a)] for a in ctx.course.assignments],
            ctx.course,
            bool(histories.get(student, StudentHistory()).project),
        )
        for student in students_of(ctx, histories)
    ]


def render_tracker(ctx: Context, now: datetime) -> list[str]:
    """Re-render the tracking issue from the ledger; writes only changed pages."""
    histories = dict(ctx.ledger.all())
    states = all_states(ctx, histories, now)
    pages = tracker.tracker_pages(
        course=ctx.course,
        states=states,
        certificates=all_certificates(ctx, histories, states),
        now=now,
    )
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
