"""Use case: `/grader ...` commands in a comment, from a TA (or a record with no PR yet)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from grader.app.context import Context, Outcome
from grader.app.views import refresh_pr_view
from grader.core import commands, notices
from grader.core.history import StudentHistory, add_project, append_event
from grader.core.model import (
    Assignment,
    Evaluation,
    Event,
    Extension,
    Override,
    ProjectPresented,
    PullRequest,
    Regrade,
)
from grader.core.scope import check_scope

# Given a PR and a notebook path at its head, re-executes it (simulate, regrade).
Regrader = Callable[[PullRequest, str, Assignment], Evaluation]

# GitHub mode has no regrader: notebooks run only in the unprivileged grade workflow.
REGRADE_IN_ACTIONS = (
    "Nothing was changed yet: in GitHub mode grading runs only in the `grade` workflow. "
    "To grade this pull request's current commit again, open its **Checks** tab and use "
    "**Re-run all jobs** on the latest `grade` run (or push a new commit). The result is "
    "published when that run finishes, and the time of the first run of that commit still "
    "counts as the submission time.\n"
)


def handle_command(
    ctx: Context,
    number: int,
    author: str,
    body: str,
    now: datetime,
    regrader: Regrader | None = None,
    on_pull: bool = True,
) -> Outcome:
    """Apply `/grader ...` commands from a comment on issue or PR `number`.

    `on_pull=False`: `number` is a plain issue (the event says so), never a PR.
    """
    parsed = commands.parse(body)
    if not parsed:
        return Outcome("no command")
    if not commands.is_authorised(
        author, tas=ctx.course.tas, permission=ctx.forge.permission(author)
    ):
        ctx.forge.create_comment(number, notices.command_refused(author))
        return Outcome(f"refused: {author} may not run grader commands")
    valid, errors = commands.partition(parsed)
    if errors:
        ctx.forge.create_comment(number, notices.command_error([str(e) for e in errors]))
        return Outcome("command error")
    outcome = Outcome("no change")
    for command in valid:
        outcome = _apply_command(ctx, number, author, command, now, regrader, on_pull)
    return outcome


def handle_record_command(
    ctx: Context, student: str, assignment_id: str | None, author: str, body: str, now: datetime
) -> Outcome:
    """Apply TA commands to one record that has no pull request yet (simulate only).

    A scenario may grant an extension or set an override before the student's first
    submission; there is no PR to comment on, so refusals and errors are only reported.
    """
    parsed = commands.parse(body)
    permission = ctx.forge.permission(author)
    if not parsed:
        return Outcome("no command")
    if not commands.is_authorised(author, tas=ctx.course.tas, permission=permission):
        return Outcome(f"refused: {author} may not run grader commands")
    valid, errors = commands.partition(parsed)
    if errors:
        return Outcome("command error: " + "; ".join(str(e) for e in errors))
    for command in valid:
        if isinstance(command, commands.ProjectCmd):
            logins = list(command.logins) or [student]
            _record_project(ctx, logins, ProjectPresented(at=now, by=author))
            continue
        event = _record_event(command, author, now)
        if event is not None and assignment_id is None:
            return Outcome(f"command error: name the assignment for {student}")
        if event is not None and assignment_id is not None:
            ctx.ledger.update(student, partial(append_event, assignment=assignment_id, event=event))
    return Outcome(f"applied to {student} (no pull request yet)")


def _record_event(command: commands.Command, author: str, now: datetime) -> Event | None:
    if isinstance(command, commands.CompleteCmd):
        return Override(at=now, status="complete", by=author, note=command.note)
    if isinstance(command, commands.IncompleteCmd):
        return Override(at=now, status="incomplete", by=author, note=command.reason)
    if isinstance(command, commands.ExtendCmd):
        return Extension(at=now, delta=command.delta, by=author)
    return None  # nothing to regrade without a submission


def _record_project(ctx: Context, logins: Sequence[str], event: ProjectPresented) -> None:
    for login in logins:
        ctx.ledger.update(login, partial(add_project, event=event))


def _apply_command(
    ctx: Context,
    number: int,
    author: str,
    command: commands.Command,
    now: datetime,
    regrader: Regrader | None,
    on_pull: bool = True,
) -> Outcome:
    if isinstance(command, commands.ProjectCmd):
        return _project(ctx, number, author, command, now, on_pull)
    if not on_pull or _is_tracking_issue(ctx, number):
        ctx.forge.create_comment(
            number,
            notices.command_error(
                [
                    "Only `/grader project presented` works on the tracking issue; "
                    "run the other commands on the student's pull request."
                ]
            ),
        )
        return Outcome("command on an issue, not a pull request")
    if isinstance(command, commands.RegradeCmd) and regrader is None:
        ctx.forge.create_comment(number, REGRADE_IN_ACTIONS)
        return Outcome("regrade: asked for a re-run of the grade workflow")
    pr = ctx.forge.get_pull(number)
    scope = check_scope(pr.author, ctx.forge.list_pull_files(number), ctx.course.assignments)
    history = StudentHistory()
    for assignment_id, path in scope.notebooks:
        assignment = ctx.course.assignments[assignment_id]
        event = _command_event(command, author, now, pr, path, assignment, regrader)
        change = partial(append_event, assignment=assignment_id, event=event)
        history = ctx.ledger.update(pr.author, change).history
    ids = [a for a, _ in scope.notebooks]
    parts = refresh_pr_view(ctx, pr, ids, history, now) if ids else []
    return Outcome(f"{type(command).__name__} on PR #{number}", tuple(s for _, s, _ in parts))


def _command_event(
    command: commands.Command,
    author: str,
    now: datetime,
    pr: PullRequest,
    path: str,
    assignment: Assignment,
    regrader: Regrader | None,
) -> Event | None:
    if isinstance(command, commands.RegradeCmd) and regrader is not None:
        return Regrade(at=now, sha=pr.head_sha, evaluation=regrader(pr, path, assignment))
    return _record_event(command, author, now)


def _is_tracking_issue(ctx: Context, number: int) -> bool:
    tracking = ctx.forge.find_issue(ctx.course.tracking_issue_title)
    return tracking is not None and tracking.number == number


def _project(
    ctx: Context,
    number: int,
    author: str,
    command: commands.ProjectCmd,
    now: datetime,
    on_pull: bool = True,
) -> Outcome:
    logins = list(command.logins)
    if not logins:
        if not on_pull or _is_tracking_issue(ctx, number):
            ctx.forge.create_comment(
                number,
                notices.command_error(["Name the group: `/grader project presented @alice @bob`."]),
            )
            return Outcome("project command without names")
        logins = [ctx.forge.get_pull(number).author]
    _record_project(ctx, logins, ProjectPresented(at=now, by=author))
    return Outcome("project presented: " + ", ".join(logins))
