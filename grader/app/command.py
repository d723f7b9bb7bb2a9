"""Use case: `/grader ...` commands in a comment (CONTRACT section 5).

TA commands need a TA of the course or a repository writer; `/grader enroll`
is a student's own. Whoever else sends a TA command gets one polite refusal per
thread (a hidden marker in the bot's reply remembers it) and nothing changes.

Every accepted command is acknowledged with a reaction on the comment ("+1",
"rocket" when grading was started again) and, where a confirmation or an
answer helps, one reply. The outcome says whether the ledger changed, so the
workflow can skip re-rendering the tracker after a refusal or a no-op.

Undo appends an `Undo` event, never deletes: the ledger is history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from grader.app.context import Context, Outcome
from grader.app.views import refresh_pr_view
from grader.core import commands, replies
from grader.core.history import (
    StudentHistory,
    add_project,
    append_event,
    append_standing,
    is_disqualified,
    is_enrolled,
    last_record_command,
    last_student_command,
    student_events,
)
from grader.core.markdown import escape_inline
from grader.core.model import (
    Assignment,
    Disqualified,
    Enrolled,
    Evaluation,
    Event,
    Extension,
    Override,
    ProjectPresented,
    PullRequest,
    Regrade,
    Undo,
)
from grader.core.policy import replay_order
from grader.core.scope import course_scope

# Given a PR and a notebook path at its head, re-executes it (simulate).
Regrader = Callable[[PullRequest, str, Assignment], Evaluation]

# Reactions GitHub accepts that say "done" and "started".
DONE = "+1"
STARTED = "rocket"

# Commands that act on one record of a PR and must name it when the PR has several.
_NEED_ASSIGNMENT = (
    commands.CompleteCmd,
    commands.IncompleteCmd,
    commands.ExtendCmd,
    commands.RegradeCmd,
)
_NAMES = {
    commands.CompleteCmd: "complete",
    commands.IncompleteCmd: "incomplete",
    commands.ExtendCmd: "extend",
    commands.RegradeCmd: "regrade",
    commands.UndoCmd: "undo",
    commands.HistoryCmd: "history",
}


@dataclass(frozen=True)
class CommandOutcome(Outcome):
    """`changed`: the ledger was written (the tracker needs re-rendering)."""

    changed: bool = False


@dataclass(frozen=True)
class _Step:
    """What applying one command did."""

    changed: bool = False
    accepted: bool = True  # False: the command was answered with a reply instead
    reaction: str = DONE
    note: str = ""


@dataclass
class _Thread:
    """The comment's context: where it is, who wrote it, when."""

    ctx: Context
    number: int
    author: str
    now: datetime
    on_pull: bool
    tracking: bool
    regrader: Regrader | None
    _pr: PullRequest | None = None
    _notebooks: tuple[tuple[str, str], ...] | None = None

    def reply(self, body: str) -> _Step:
        self.ctx.forge.create_comment(self.number, body)
        return _Step(accepted=False)

    @property
    def pr(self) -> PullRequest:
        if self._pr is None:
            self._pr = self.ctx.forge.get_pull(self.number)
        return self._pr

    @property
    def notebooks(self) -> tuple[tuple[str, str], ...]:
        """The PR's (assignment id, path) pairs, in the course's order."""
        if self._notebooks is None:
            files = self.ctx.forge.list_pull_files(self.number)
            scope = course_scope(self.ctx.course, self.pr.author, files)
            self._notebooks = scope.notebooks
        return self._notebooks


def handle_command(
    ctx: Context,
    number: int,
    author: str,
    body: str,
    now: datetime,
    regrader: Regrader | None = None,
    on_pull: bool = True,
    comment_id: int | None = None,
) -> CommandOutcome:
    """Apply the `/grader ...` commands of a comment on issue or PR `number`.

    `on_pull=False`: `number` is a plain issue (the event says so), never a PR.
    `comment_id`: the comment, to react to; None when the caller has none.
    """
    parsed = commands.parse(body, ctx.course.assignments)
    if not parsed:
        return CommandOutcome("no command")
    valid, errors = commands.partition(parsed)
    own = bool(valid) and all(commands.is_student_command(c) for c in valid)
    if not own and not commands.is_authorised(
        author, tas=ctx.course.tas, permission=ctx.forge.permission(author)
    ):
        return _refuse(ctx, number, author)
    if errors:
        if own and not commands.is_authorised(
            author, tas=ctx.course.tas, permission=ctx.forge.permission(author)
        ):
            # A student's own command beside lines that are not one: answered like a
            # refusal, once per person and thread, so comments cannot farm bot replies.
            return _refuse(ctx, number, author)
        ctx.forge.create_comment(number, replies.command_error([str(e) for e in errors]))
        return CommandOutcome("command error")
    tracking = _is_tracking_issue(ctx, number)
    thread = _Thread(ctx, number, author, now, on_pull and not tracking, tracking, regrader)
    question = _ambiguity(thread, valid)
    if question is not None:
        thread.reply(question)
        return CommandOutcome("command names no assignment on a multi-assignment pull request")
    steps = [_apply(thread, command) for command in valid]
    accepted = [s for s in steps if s.accepted]
    if comment_id is not None and accepted:
        started = any(s.reaction == STARTED for s in accepted)
        ctx.forge.add_reaction(comment_id, STARTED if started else DONE)
    changed = any(s.changed for s in steps)
    notes = "; ".join(s.note for s in steps if s.note) or "no change"
    return CommandOutcome(notes, changed=changed)


def _refuse(ctx: Context, number: int, author: str) -> CommandOutcome:
    """One refusal per person and thread: the marker in the bot's reply remembers it."""
    bodies = [c.body for c in ctx.forge.bot_comments(number)]
    if replies.was_refused(bodies, author):
        return CommandOutcome(f"refused again: {author} may not run grader commands (no reply)")
    ctx.forge.create_comment(number, replies.refused(author))
    return CommandOutcome(f"refused: {author} may not run grader commands")


def _is_tracking_issue(ctx: Context, number: int) -> bool:
    tracking = ctx.forge.find_issue(ctx.course.tracking_issue_title)
    return tracking is not None and tracking.number == number


def _ambiguity(thread: _Thread, valid: Sequence[commands.Command]) -> str | None:
    """The question to ask when a record command names no assignment on a PR with several."""
    if not thread.on_pull:
        return None
    for command in valid:
        if isinstance(command, _NEED_ASSIGNMENT) and command.assignment is None:
            ids = [a for a, _ in thread.notebooks]
            if len(ids) > 1:
                return replies.ask_assignment(_NAMES[type(command)], ids)
    return None


def _apply(thread: _Thread, command: commands.Command) -> _Step:
    if isinstance(command, commands.EnrollCmd):
        return _enroll(thread)
    if isinstance(command, commands.ProjectCmd):
        return _project(thread, command)
    if isinstance(command, commands.DisqualifyCmd):
        return _disqualify(thread, command)
    if isinstance(command, commands.UndoCmd):
        return _undo(thread, command) if thread.on_pull else _undo_standing(thread, command.login)
    if isinstance(command, commands.HistoryCmd):
        return _history(thread, command)
    if not thread.on_pull:
        return thread.reply(replies.pr_only(_NAMES[type(command)]))
    return _record_command(thread, command)


# --- record commands on a PR --------------------------------------------------------------


def _chosen(thread: _Thread, assignment: str | None) -> list[tuple[str, str]] | str:
    """The PR's notebooks a command acts on, or the reply saying why none."""
    notebooks = list(thread.notebooks)
    ids = [a for a, _ in notebooks]
    if assignment is not None:
        notebooks = [(a, p) for a, p in notebooks if a == assignment]
    if not notebooks:
        return replies.no_notebook(assignment, ids)
    return notebooks


def _record_command(
    thread: _Thread,
    command: commands.CompleteCmd
    | commands.IncompleteCmd
    | commands.ExtendCmd
    | commands.RegradeCmd,
) -> _Step:
    chosen = _chosen(thread, command.assignment)
    if isinstance(chosen, str):
        return thread.reply(chosen)
    if isinstance(command, commands.RegradeCmd) and thread.regrader is None:
        return _rerun_grading(thread)
    ctx, pr, history, changed = thread.ctx, thread.pr, StudentHistory(), False
    for assignment_id, path in chosen:
        assignment = ctx.course.assignments[assignment_id]
        event = _command_event(command, thread, path, assignment)
        update = ctx.ledger.update(
            pr.author, partial(append_event, assignment=assignment_id, event=event)
        )
        history, changed = update.history, changed or update.changed
    ids = [a for a, _ in chosen]
    refresh_pr_view(ctx, pr, ids, history, thread.now)
    name = _NAMES[type(command)]
    return _Step(changed=changed, note=f"{name} on PR #{thread.number} ({', '.join(ids)})")


def _command_event(
    command: commands.Command, thread: _Thread, path: str, assignment: Assignment
) -> Event | None:
    if isinstance(command, commands.RegradeCmd) and thread.regrader is not None:
        evaluation = thread.regrader(thread.pr, path, assignment)
        return Regrade(at=thread.now, sha=thread.pr.head_sha, evaluation=evaluation)
    return _record_event(command, thread.author, thread.now)


def _record_event(command: commands.Command, author: str, now: datetime) -> Event | None:
    if isinstance(command, commands.CompleteCmd):
        return Override(at=now, status="complete", by=author, note=command.note)
    if isinstance(command, commands.IncompleteCmd):
        return Override(at=now, status="incomplete", by=author, note=command.reason)
    if isinstance(command, commands.ExtendCmd):
        return Extension(at=now, delta=command.delta, by=author)
    return None  # nothing to regrade without a submission


def _rerun_grading(thread: _Thread) -> _Step:
    """GitHub mode: notebooks run only in the `grade` workflow, so re-run its latest run."""
    sha = thread.pr.head_sha
    run = thread.ctx.forge.rerun_grade(sha)
    if run is None:
        return thread.reply(replies.regrade_not_found(sha))
    thread.ctx.forge.create_comment(thread.number, replies.regrade_started(sha))
    return _Step(reaction=STARTED, note=f"regrade: grade run {run} of {sha[:12]} started again")


# --- undo -----------------------------------------------------------------------------------


def _undo(thread: _Thread, command: commands.UndoCmd) -> _Step:
    """The TA's latest command in force on the PR's records or its author's standing."""
    if command.login is not None:
        return _undo_standing(thread, command.login)
    chosen = _chosen(thread, command.assignment)
    if isinstance(chosen, str):
        return thread.reply(chosen)
    ctx, student = thread.ctx, thread.pr.author
    history = ctx.ledger.history(student)
    best: tuple[datetime, str | None] | None = None  # (time, assignment or None: standing)
    for assignment_id, _ in chosen:
        found = last_record_command(history.assignments.get(assignment_id, []), thread.author)
        if found is not None and (best is None or found.at > best[0]):
            best = (found.at, assignment_id)
    standing = last_student_command(history, thread.author)
    if standing is not None and (best is None or standing.at > best[0]):
        best = (standing.at, None)
    if best is None:
        return thread.reply(replies.nothing_to_undo(thread.author, student))
    if best[1] is None:
        return _undo_standing(thread, student)
    return _undo_record(thread, student, best[1])


def _undo_record(thread: _Thread, student: str, assignment_id: str) -> _Step:
    ctx, history = thread.ctx, thread.ctx.ledger.history(student)
    target = last_record_command(history.assignments.get(assignment_id, []), thread.author)
    if target is None:
        return thread.reply(replies.nothing_to_undo(thread.author, student))
    # Never before its target: replayed by time, an earlier undo would take back another command.
    undo = Undo(at=max(thread.now, target.at), by=thread.author)
    update = ctx.ledger.update(student, partial(append_event, assignment=assignment_id, event=undo))
    refresh_pr_view(ctx, thread.pr, [assignment_id], update.history, thread.now)
    what = f"{replies.describe(target)} on `{assignment_id}`"
    thread.ctx.forge.create_comment(thread.number, replies.undone(what, student, thread.author))
    return _Step(changed=update.changed, note=f"undo on {student}/{assignment_id}")


def _undo_standing(thread: _Thread, login: str | None) -> _Step:
    """Take back the TA's latest project mark or disqualification (of `login`, or anyone's)."""
    ctx = thread.ctx
    if login is None:
        login = _latest_standing_student(ctx, thread.author)
        if login is None:
            return thread.reply(replies.nothing_to_undo(thread.author, None))
    target = last_student_command(ctx.ledger.history(login), thread.author)
    if target is None:
        return thread.reply(replies.nothing_to_undo(thread.author, login))
    undo = Undo(at=max(thread.now, target.at), by=thread.author)
    update = ctx.ledger.update(login, partial(append_standing, event=undo))
    ctx.forge.create_comment(
        thread.number, replies.undone(replies.describe(target), login, thread.author)
    )
    return _Step(changed=update.changed, note=f"undo on {login}")


def _latest_standing_student(ctx: Context, by: str) -> str | None:
    """Whose project mark or disqualification by `by` is the latest still in force."""
    best: tuple[datetime, str] | None = None
    for login, history in ctx.ledger.all():
        found = last_student_command(history, by)
        if found is not None and (best is None or found.at > best[0]):
            best = (found.at, login)
    return best[1] if best else None


# --- history ----------------------------------------------------------------------------------


def _history(thread: _Thread, command: commands.HistoryCmd) -> _Step:
    ctx = thread.ctx
    if command.login is None and not thread.on_pull:
        return thread.reply(replies.name_the_student("history"))
    if command.login is not None:
        student, ids = command.login, list(ctx.course.assignments)
        if command.assignment is not None:
            ids = [command.assignment]
    else:
        chosen = _chosen(thread, command.assignment)
        if isinstance(chosen, str):
            return thread.reply(chosen)
        student, ids = thread.pr.author, [a for a, _ in chosen]
    history = ctx.ledger.history(student)
    rows = [
        row
        for a in ids
        for row in replies.history_rows(replay_order(history.assignments.get(a, [])), a)
    ]
    rows += replies.history_rows(student_events(history))
    scope = ", ".join(escape_inline(a, 50) for a in ids[:20]) or "no assignments"
    ctx.forge.create_comment(
        thread.number, replies.history(student, rows, ctx.course.timezone, scope)
    )
    return _Step(note=f"history of {student}")


# --- the tracking issue and the student -------------------------------------------------------


def _people(thread: _Thread, logins: Sequence[str], command: str) -> list[str] | None:
    """The logins named, or the PR's author; None (after a reply) when there is no one."""
    if logins:
        return list(logins)
    if thread.on_pull:
        return [thread.pr.author]
    who = "the group" if command.startswith("project") else "the people"
    thread.reply(replies.command_error([f"Name {who}: `/grader {command} @alice @bob`."]))
    return None


def _update_each(
    thread: _Thread, logins: Sequence[str], change: Callable[[StudentHistory], None]
) -> bool:
    """Apply `change` to each student's history; whether any of them changed."""
    changed = False
    for login in logins:
        changed |= thread.ctx.ledger.update(login, change).changed
    return changed


def _project(thread: _Thread, command: commands.ProjectCmd) -> _Step:
    logins = _people(thread, command.logins, "project presented")
    if logins is None:
        return _Step(accepted=False)
    event = ProjectPresented(at=thread.now, by=thread.author)
    changed = _update_each(thread, logins, partial(add_project, event=event))
    thread.ctx.forge.create_comment(thread.number, replies.project_recorded(logins))
    return _Step(changed=changed, note="project presented: " + ", ".join(logins))


def _disqualify(thread: _Thread, command: commands.DisqualifyCmd) -> _Step:
    logins = _people(thread, command.logins, "disqualify")
    if logins is None:
        return _Step(accepted=False)
    event = Disqualified(at=thread.now, by=thread.author)
    changed = _update_each(thread, logins, partial(_disqualify_once, event=event))
    thread.ctx.forge.create_comment(thread.number, replies.disqualified(logins, command.had_reason))
    return _Step(changed=changed, note="not eligible (TA decision): " + ", ".join(logins))


def _disqualify_once(history: StudentHistory, event: Disqualified) -> None:
    if not is_disqualified(history):
        append_standing(history, event)


def _reply_once(thread: _Thread, body: str) -> None:
    """A refusal of the comment's author, unless the bot already refused them here."""
    bodies = [c.body for c in thread.ctx.forge.bot_comments(thread.number)]
    if not replies.was_refused(bodies, thread.author):
        thread.ctx.forge.create_comment(thread.number, body)


def _enroll(thread: _Thread) -> _Step:
    """A student's own enrollment, on the tracking issue, until `enrollment_deadline`."""
    ctx, author = thread.ctx, thread.author
    if not thread.tracking:
        title = ctx.course.tracking_issue_title
        _reply_once(thread, replies.enroll_on_tracker(author, title))
        return _Step(accepted=False, note=f"enroll from {author} outside the tracking issue")
    deadline = ctx.course.enrollment_deadline
    if deadline is not None and thread.now > deadline:
        _reply_once(thread, replies.enrollment_closed(author, deadline, ctx.course.timezone))
        return _Step(accepted=False, note=f"enrollment closed: {author} not enrolled")
    if is_enrolled(ctx.course, author, ctx.ledger.history(author)):
        return _Step(note=f"{author} was already enrolled")
    event = Enrolled(at=thread.now, by=author)
    update = ctx.ledger.update(author, partial(append_standing, event=event))
    return _Step(changed=update.changed, note=f"enrolled: {author}")


# --- simulate: a record with no pull request yet ------------------------------------------------


def handle_record_command(
    ctx: Context, student: str, assignment_id: str | None, author: str, body: str, now: datetime
) -> CommandOutcome:
    """Apply TA commands to one record that has no pull request yet (simulate only).

    A scenario may grant an extension or set an override before the student's first
    submission; there is no PR to comment on, so refusals and errors are only reported.
    """
    parsed = commands.parse(body, ctx.course.assignments)
    if not parsed:
        return CommandOutcome("no command")
    permission = ctx.forge.permission(author)
    if not commands.is_authorised(author, tas=ctx.course.tas, permission=permission):
        return CommandOutcome(f"refused: {author} may not run grader commands")
    valid, errors = commands.partition(parsed)
    if errors:
        return CommandOutcome("command error: " + "; ".join(str(e) for e in errors))
    changed = False
    for command in valid:
        result = _record_only(ctx, student, assignment_id, author, command, now)
        if isinstance(result, str):
            return CommandOutcome(result, changed=changed)
        changed |= result
    return CommandOutcome(f"applied to {student} (no pull request yet)", changed=changed)


def _record_only(
    ctx: Context,
    student: str,
    assignment_id: str | None,
    author: str,
    command: commands.Command,
    now: datetime,
) -> bool | str:
    """One command on a record without a PR: whether the ledger changed, or an error."""
    ledger = ctx.ledger
    if isinstance(command, commands.ProjectCmd | commands.DisqualifyCmd):
        logins = list(command.logins) or [student]
        if isinstance(command, commands.ProjectCmd):
            change = partial(add_project, event=ProjectPresented(at=now, by=author))
        else:
            change = partial(_disqualify_once, event=Disqualified(at=now, by=author))
        return any([ledger.update(login, change).changed for login in logins])
    if isinstance(command, commands.UndoCmd | commands.HistoryCmd | commands.EnrollCmd):
        return _record_only_other(ctx, student, assignment_id, author, command, now)
    target = command.assignment or assignment_id
    event = _record_event(command, author, now)
    if event is None:
        return False  # nothing to regrade without a submission
    if target is None:
        return f"command error: name the assignment for {student}"
    return ledger.update(student, partial(append_event, assignment=target, event=event)).changed


def _record_only_other(
    ctx: Context,
    student: str,
    assignment_id: str | None,
    author: str,
    command: commands.UndoCmd | commands.HistoryCmd | commands.EnrollCmd,
    now: datetime,
) -> bool | str:
    if isinstance(command, commands.HistoryCmd):
        return False  # nowhere to reply
    if isinstance(command, commands.EnrollCmd):
        return "command error: /grader enroll works on the tracking issue"
    history = ctx.ledger.history(student)
    target_id = command.assignment or assignment_id
    events = history.assignments.get(target_id, []) if target_id else []
    record = last_record_command(events, author)
    standing = last_student_command(history, author)
    if record is not None and target_id and (standing is None or record.at >= standing.at):
        undo = Undo(at=max(now, record.at), by=author)
        change = partial(append_event, assignment=target_id, event=undo)
        return ctx.ledger.update(student, change).changed
    if standing is not None:
        undo = Undo(at=max(now, standing.at), by=author)
        return ctx.ledger.update(student, partial(append_standing, event=undo)).changed
    return f"nothing to undo: {author} has no command in force for {student}"
