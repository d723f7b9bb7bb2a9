"""The bot's one-line replies to `/grader` commands, and the record history it shows.

Every reply says what happened and what to do next. Command errors arrive as
markdown already made safe by `grader.core.commands` (whatever the commenter
typed sits in a code span), so they are posted as they are; logins, notes and
titles that come from elsewhere go through `escape_inline`.

A refusal ends with a hidden marker naming the refused login, so the next
comment from the same person on the same thread finds it among the bot's
comments and gets no second reply (a stranger cannot make the bot post once
per comment).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from grader.core.commands import STUDENT_USAGE, USAGE, code
from grader.core.markdown import escape_inline, fit, format_duration, format_time, table, table_row
from grader.core.model import (
    Disqualified,
    Enrolled,
    Event,
    Extension,
    Override,
    ProjectPresented,
    Regrade,
    Submission,
    Undo,
)
from grader.core.policy import in_force

__all__ = [
    "REFUSAL_MARKER",
    "HistoryRow",
    "ask_assignment",
    "command_error",
    "disqualified",
    "enroll_on_tracker",
    "enrollment_closed",
    "history",
    "history_rows",
    "name_the_student",
    "no_notebook",
    "nothing_to_undo",
    "pr_only",
    "project_recorded",
    "refusal_marker",
    "refused",
    "regrade_not_found",
    "regrade_started",
    "undone",
    "was_refused",
]

REFUSAL_MARKER = "<!-- grader:refused "
MAX_HISTORY_ROWS = 200
_BUDGET = 60_000  # characters of a reply, well under GitHub's 65 536


def _who(login: str) -> str:
    return escape_inline("@" + login, 60)


def _people(logins: Sequence[str]) -> str:
    return ", ".join(_who(login) for login in logins[:20]) + (
        f" and {len(logins) - 20} more" if len(logins) > 20 else ""
    )


# --- refusals ---------------------------------------------------------------------------------


def refusal_marker(login: str) -> str:
    """The hidden line that records a refusal of `login` on a thread."""
    safe = "".join(c for c in login.lower() if c.isascii() and (c.isalnum() or c in "-[]"))
    return f"{REFUSAL_MARKER}{safe[:60]} -->"


def was_refused(bot_bodies: Iterable[str], login: str) -> bool:
    """Whether the bot already refused `login` on this thread."""
    marker = refusal_marker(login)
    return any(body.rstrip().endswith(marker) for body in bot_bodies)


def refused(login: str) -> str:
    """Reply to someone who may not run TA commands (once per person and thread)."""
    return (
        f"Sorry {_who(login)}: only course TAs and repository maintainers can run "
        "/grader commands. Nothing was changed. If you think a result is wrong, ask a TA "
        "to look at it; students can enroll with `/grader enroll` on the tracking issue. "
        "(Further commands from you here get no reply.)\n"
        f"{refusal_marker(login)}\n"
    )


def enrollment_closed(login: str, deadline: datetime, zone: str) -> str:
    """Polite refusal of a late `/grader enroll` (counts as the person's one refusal)."""
    return (
        f"Sorry {_who(login)}: enrollment closed on {format_time(deadline, zone)}, so you "
        "were not enrolled. You can still submit notebooks and get feedback as an auditor; "
        "if you should have been enrolled, ask a TA to add you to the course roster.\n"
        f"{refusal_marker(login)}\n"
    )


# --- errors and questions ---------------------------------------------------------------------


def command_error(errors: Sequence[str]) -> str:
    """Reply to a comment with a command that could not be applied (errors are markdown)."""
    bullets = fit([f"- {e}" for e in errors], 10_000, "- … {n} more")
    return (
        "Nothing was changed, because of this:\n\n"
        + "\n".join(bullets)
        + "\n\nCommands: "
        + ", ".join([*USAGE, *STUDENT_USAGE])
        + ".\n"
    )


def ask_assignment(command: str, assignments: Sequence[str]) -> str:
    """A PR with notebooks of several assignments: which one did the TA mean?"""
    ids = ", ".join(f"`{a}`" for a in assignments)
    first = assignments[0] if assignments else "section-01"
    return (
        f"Nothing was changed: this pull request has notebooks of several assignments "
        f"({ids}), so `/grader {command}` must name one first, "
        f"e.g. `/grader {command} {first} ...`.\n"
    )


def no_notebook(assignment: str | None, assignments: Sequence[str]) -> str:
    ids = ", ".join(f"`{a}`" for a in assignments) or "none"
    what = f"no notebook of {code(assignment)}" if assignment else "no notebook of an assignment"
    return (
        f"Nothing was changed: this pull request has {what} (its assignments: {ids}). "
        "Run the command on the pull request of that assignment, or name one of these.\n"
    )


def pr_only(command: str) -> str:
    return (
        f"Nothing was changed: `/grader {command}` works on a student's pull request; post "
        "it there. What works on the tracking issue: `/grader project presented @login`, "
        "`/grader disqualify @login`, `/grader undo [@login]`, `/grader history @login` "
        "and `/grader enroll`.\n"
    )


def name_the_student(command: str) -> str:
    return (
        f"Nothing was changed: on the tracking issue `/grader {command}` needs the student, "
        f"e.g. `/grader {command} @alice`.\n"
    )


def enroll_on_tracker(login: str, title: str) -> str:
    """`/grader enroll` elsewhere (counts as the person's one refusal on this thread)."""
    return (
        f"Nothing was changed: `/grader enroll` works on the tracking issue "
        f"({escape_inline(title, 100)}); {_who(login)}, post it there as a comment.\n"
        f"{refusal_marker(login)}\n"
    )


# --- confirmations ----------------------------------------------------------------------------


def disqualified(logins: Sequence[str], had_reason: bool) -> str:
    text = (
        f"Done: {_people(logins)} not eligible for the certificate (TA decision). "
        "`/grader undo` from the same TA reverts it (on the tracking issue, "
        "`/grader undo @login`)."
    )
    if had_reason:
        text += (
            " The reason you wrote was **not** recorded: the ledger and the tracker are "
            "public. Keep it in the course's private notes, and consider deleting your "
            "comment."
        )
    return text + "\n"


def project_recorded(logins: Sequence[str]) -> str:
    return (
        f"Done: the final project is recorded as presented for {_people(logins)}. "
        "`/grader undo` from the same TA takes it back.\n"
    )


def undone(what: str, student: str, by: str) -> str:
    return (
        f"Done: {what} for {_who(student)} by {_who(by)} is undone; the record is "
        "re-derived without it and the ledger keeps both entries. "
        "`/grader history` shows them.\n"
    )


def nothing_to_undo(by: str, student: str | None) -> str:
    whose = f" for {_who(student)}" if student else ""
    return (
        f"Nothing was changed: {_who(by)} has no command in force here{whose} to undo "
        "(`/grader undo` takes back only your own latest command). `/grader history` "
        "lists what was recorded.\n"
    )


def regrade_started(sha: str) -> str:
    return (
        f"Regrading started: the `grade` workflow is running again on `{sha[:12]}`. The "
        "result is published when it finishes; the time of the first run of this commit "
        "still counts as the submission time.\n"
    )


def regrade_not_found(sha: str) -> str:
    return (
        f"Nothing was changed: no `grade` run of `{sha[:12]}` was found to re-run (it may "
        "still be waiting for approval, or never have started). Push a new commit, or "
        "approve and run the workflow from the pull request's **Checks** tab.\n"
    )


# --- history ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    what: str  # markdown, escaped
    who: str  # a login, or "" for the grader itself


def describe(event: Event | ProjectPresented | Enrolled | Disqualified) -> str:
    """What an event did, in a few words of safe markdown (never a disqualification's reason:
    none is stored)."""
    if isinstance(event, Submission):
        return f"submission `{event.sha[:7]}` (PR #{event.pr}) graded {event.evaluation.status}"
    if isinstance(event, Regrade):
        return f"regrade of `{event.sha[:7]}`: {event.evaluation.status}"
    if isinstance(event, Override):
        note = f": {escape_inline(event.note, 200)}" if event.note else ""
        return f"marked **{event.status}** by hand{note}"
    if isinstance(event, Extension):
        return f"extension set to {format_duration(event.delta) if event.delta else 'none'}"
    if isinstance(event, ProjectPresented):
        return "final project marked presented"
    if isinstance(event, Enrolled):
        return "enrolled"
    if isinstance(event, Disqualified):
        return "made not eligible for the certificate (TA decision)"
    return "undo"


def _author(event: Event | ProjectPresented | Enrolled | Disqualified) -> str:
    return "" if isinstance(event, Submission | Regrade) else event.by


def history_rows(
    ordered: Sequence[Event | ProjectPresented | Enrolled | Disqualified],
    label: str = "",
) -> list[HistoryRow]:
    """One row per event, in replay order; undone commands and what each undo took back
    are marked. `label` (an assignment id) prefixes each row."""
    kept = {id(e) for e in in_force(ordered)}
    rows: list[HistoryRow] = []
    seen: list[Event | ProjectPresented | Enrolled | Disqualified] = []
    prefix = f"`{label}`: " if label else ""
    for event in ordered:
        if isinstance(event, Undo):
            before = {id(e) for e in in_force(seen)}
            after = {id(e) for e in in_force([*seen, event])}
            taken = [e for e in seen if id(e) in before - after]
            what = "undo of: " + describe(taken[0]) if taken else "undo (nothing to take back)"
            rows.append(HistoryRow(event.at, prefix + what, event.by))
        else:
            struck = "" if id(event) in kept else " *(undone)*"
            rows.append(HistoryRow(event.at, prefix + describe(event) + struck, _author(event)))
        seen.append(event)
    return rows


def history(student: str, rows: Sequence[HistoryRow], zone: str, scope: str) -> str:
    """The reply to `/grader history`: time, what, who, oldest first."""
    if not rows:
        return (
            f"Nothing is recorded yet for {_who(student)} ({scope}). Events appear here once "
            "a notebook is graded or a TA runs a command.\n"
        )
    ordered = sorted(rows, key=lambda r: r.at)[-MAX_HISTORY_ROWS:]
    lines = [
        table_row([format_time(r.at, zone), r.what, _who(r.who) if r.who else "grader"])
        for r in ordered
    ]
    shown = fit(lines, _BUDGET - 1000, "| … | {n} more events | |")
    head = f"History of {_who(student)} ({scope}), oldest first:\n\n"
    return head + table(["time", "what", "who"], shown) + "\n"
