"""Use cases, straight-line: a submission, a TA command, a full re-render.

Shared by the local forge (simulate, demo) and the GitHub forge (publish,
ta-command, reconcile). Everything decided here comes from `grader.core`;
everything touched goes through the `Forge` port.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from grader.adapters.artifact import GradedNotebook, cell_hashes
from grader.adapters.ledger import StudentHistory
from grader.context import (
    Context,
    Outcome,
    latest_evaluation,
    newest_submission_time,
    state_of,
)
from grader.core import commands, render, tracker
from grader.core.model import (
    Assignment,
    Cell,
    Certificate,
    Evaluation,
    Event,
    Extension,
    NotebookRun,
    Override,
    ProjectPresented,
    PullRequest,
    RecordState,
    Regrade,
    Submission,
)
from grader.core.policy import certificate
from grader.core.scope import ScopeResult, check_scope
from grader.core.verdict import evaluate
from grader.prview import (
    PR_MARKER,
    first_view,
    publish_pr_view,
    refresh_pr_view,
    upsert_sticky,
)

__all__ = [
    "PR_MARKER",
    "Context",
    "Outcome",
    "latest_evaluation",
    "newest_submission_time",
    "publish_pr_view",
    "state_of",
]

GRADE_WORKFLOW = ".github/workflows/grade.yml"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Given a PR and a notebook path at its head, re-executes it (simulate, regrade).
Regrader = Callable[[PullRequest, str, Assignment], Evaluation]


# --- use case: a graded push ------------------------------------------------


def _record(history: StudentHistory, assignment: str, submission: Submission) -> None:
    """Append the submission, or a regrade when the same commit now grades differently."""
    events = history.assignments.setdefault(assignment, [])
    earlier = [e for e in events if isinstance(e, Submission | Regrade) and e.sha == submission.sha]
    if not earlier:
        events.append(submission)
    elif latest_evaluation(earlier) != submission.evaluation:
        events.append(
            Regrade(at=submission.at, sha=submission.sha, evaluation=submission.evaluation)
        )


def handle_submission(
    ctx: Context,
    number: int,
    evaluations: dict[str, Evaluation],
    graded_at: datetime,
) -> Outcome:
    """Record what grading found for the PR's head commit and update the PR's view."""
    pr = ctx.forge.get_pull(number)
    scope = check_scope(pr.author, ctx.forge.list_pull_files(number), ctx.course.assignments)
    refusal = refuse(ctx, pr, scope)
    if refusal is not None:
        return refusal
    return record_graded(ctx, pr, scope, evaluations, graded_at)


def refuse(ctx: Context, pr: PullRequest, scope: ScopeResult) -> Outcome | None:
    """Reject out-of-scope PRs and students not on a non-empty roster, with a comment."""
    if scope.reasons:
        upsert_sticky(ctx, pr.number, render.scope_rejection(scope.reasons))
        return Outcome("rejected: " + "; ".join(scope.reasons))
    if ctx.course.roster and pr.author.lower() not in ctx.course.roster:
        upsert_sticky(ctx, pr.number, render.not_on_roster(pr.author))
        return Outcome(f"rejected: {pr.author} is not on the roster")
    return None


def record_graded(
    ctx: Context,
    pr: PullRequest,
    scope: ScopeResult,
    evaluations: dict[str, Evaluation],
    graded_at: datetime,
    sha: str | None = None,
) -> Outcome:
    """Append the graded commit (`sha`, default the PR's head) to each record; refresh the PR."""
    sha = sha or pr.head_sha
    history = StudentHistory()
    fresh = True
    for assignment_id, path in scope.notebooks:
        evaluation = evaluations.get(path) or missing_result(assignment_id, path)
        submission = Submission(at=graded_at, sha=sha, pr=pr.number, evaluation=evaluation)
        change = partial(_record, assignment=assignment_id, submission=submission)
        history = ctx.ledger.update(pr.author, change)
        events = history.assignments.get(assignment_id, [])
        # No view of this PR can exist before its first graded commit is recorded.
        fresh = fresh and ctx.ledger.last_changed and first_view(events, pr.number, sha)
    assignment_ids = [a for a, _ in scope.notebooks]
    # Runs may finish out of order: the view shows the newest submission, not this run's.
    parts = refresh_pr_view(ctx, pr, assignment_ids, history, graded_at, fresh=fresh)
    return Outcome(f"graded PR #{pr.number}", tuple(s for _, s, _ in parts))


# --- use case: publish a grade run from GitHub (workflow_run) ------------------


@dataclass(frozen=True)
class GradeRun:
    """The facts publish takes from GitHub's workflow_run event (never from the artifact)."""

    workflow_path: str | None
    event: str | None
    head_sha: str | None
    head_repo: str | None
    created_at: datetime | None
    head_ref: str | None = None


CellReader = Callable[[bytes], Sequence[Cell] | None]


@dataclass(frozen=True)
class NoArtifact:
    """The grade run left no artifact (cancelled, timed out, awaiting approval)."""

    reason: str


def publish(
    ctx: Context,
    run: GradeRun,
    evidence: Sequence[GradedNotebook] | str | NoArtifact,
    read_cells: CellReader,
    grade_workflow: str = GRADE_WORKFLOW,
) -> Outcome:
    """Validate a finished grade run against GitHub's own records, then record it."""
    if run.workflow_path != grade_workflow:
        return Outcome(f"ignored: run of {run.workflow_path!r}, not {grade_workflow}")
    if run.event != "pull_request" or not run.head_sha:
        return Outcome("ignored: not a pull request run")
    pr = ctx.forge.find_pull_by_head(run.head_sha, run.head_repo, run.head_ref)
    if pr is None:
        return Outcome(f"ignored: no open pull request has head {run.head_sha}")
    scope = check_scope(pr.author, ctx.forge.list_pull_files(pr.number), ctx.course.assignments)
    refusal = refuse(ctx, pr, scope)
    if refusal is not None:
        return refusal
    if isinstance(evidence, NoArtifact):
        return no_artifact(ctx, pr, run, evidence)
    committed = {
        path: read_cells(ctx.forge.read_file(path, run.head_sha) or b"")
        for _, path in scope.notebooks
    }
    problem = evidence if isinstance(evidence, str) else check_evidence(scope, evidence, committed)
    if problem is not None:
        static = [
            static_problems(ctx.course.assignments[a], committed[p]) for a, p in scope.notebooks
        ]
        upsert_sticky(
            ctx, pr.number, render.evidence_invalid(problem, [x for xs in static for x in xs])
        )
        return Outcome(f"evidence invalid: {problem}")
    assignments = [ctx.course.assignments[a] for a, _ in scope.notebooks]
    graded_at = trusted_time(ctx, run.head_sha, run.created_at, assignments)
    if graded_at is None:
        return Outcome("ignored: GitHub gave no time for this run")
    assert not isinstance(evidence, str)  # check_evidence returned None
    by_path = {n.path.lower(): n.evaluation for n in evidence}
    evaluations = {path: by_path[path.lower()] for _, path in scope.notebooks}
    return record_graded(ctx, pr, scope, evaluations, graded_at, sha=run.head_sha)


def trusted_time(
    ctx: Context, sha: str, created_at: datetime | None, assignments: Sequence[Assignment]
) -> datetime | None:
    """When GitHub first graded the run's commit: the creation time of its first grade run.

    This run's own creation time comes from GitHub's event. An earlier run of the
    same commit (a close/reopen after a run that never published) can only make the
    time earlier, and that matters only when this run came after a deadline: a
    submission on time stays on time, and `complete` never goes back, so the order
    of on-time submissions does not change a record. So the runs are asked only
    then, which keeps an on-time push within its request budget.
    """
    deadlines = [a.deadline for a in assignments]
    if created_at is not None and deadlines and created_at <= min(deadlines):
        return created_at
    return ctx.forge.first_graded_at(sha) or created_at


def no_artifact(ctx: Context, pr: PullRequest, run: GradeRun, missing: NoArtifact) -> Outcome:
    """Say that grading did not finish; the record, and so the labels, stay as they are.

    An older run of a PR that has moved on (its artifact expired, say) changes nothing:
    the PR's comment shows a newer push.
    """
    if run.head_sha != pr.head_sha:
        return Outcome(f"ignored: no artifact for {run.head_sha}, an older head of #{pr.number}")
    upsert_sticky(ctx, pr.number, render.missing_artifact(missing.reason))
    return Outcome(f"no artifact: {missing.reason}")


def check_evidence(
    scope: ScopeResult,
    evidence: Sequence[GradedNotebook],
    committed: dict[str, Sequence[Cell] | None],
) -> str | None:
    """Why the artifact does not match the committed notebooks, or None."""
    by_path = {n.path.lower(): n for n in evidence}
    for assignment_id, path in scope.notebooks:
        graded = by_path.get(path.lower())
        if graded is None:
            return f"the grading result has no entry for {path}"
        if graded.evaluation.assignment != assignment_id:
            return f"the grading result for {path} is for another assignment"
        cells = committed.get(path)
        if cells is not None and cell_hashes(cells) != graded.cell_hashes:
            return f"the executed cells of {path} differ from the committed notebook"
    return None


def static_problems(assignment: Assignment, cells: Sequence[Cell] | None) -> list[str]:
    """What can be said without trusted execution: missing and empty exercises."""
    run = NotebookRun(cells=tuple(cells or ()), readable=cells is not None)
    found = evaluate(assignment, run)
    return [
        f"{assignment.id}, exercise {x.id}: {x.status}" + (f" ({x.detail})" if x.detail else "")
        for x in found.exercises
        if x.status in ("missing", "empty")
    ]


def missing_result(assignment: str, path: str) -> Evaluation:
    return Evaluation(
        assignment=assignment,
        status="incomplete",
        problems=(f"No grading result was found for {path}. Push again to re-run grading.",),
    )


# --- use case: a TA command ---------------------------------------------------


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
        ctx.forge.create_comment(number, render.command_refused(author))
        return Outcome(f"refused: {author} may not run grader commands")
    valid, errors = commands.partition(parsed)
    if errors:
        ctx.forge.create_comment(number, render.command_error([str(e) for e in errors]))
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
            ctx.ledger.update(student, partial(_append, assignment=assignment_id, event=event))
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
        ctx.ledger.update(login, lambda h: h.project.append(event) if not h.project else None)


# GitHub mode has no regrader: notebooks run only in the unprivileged grade workflow.
REGRADE_IN_ACTIONS = (
    "Nothing was changed yet: in GitHub mode grading runs only in the `grade` workflow. "
    "To grade this pull request's current commit again, open its **Checks** tab and use "
    "**Re-run all jobs** on the latest `grade` run (or push a new commit). The result is "
    "published when that run finishes, and the time of the first run of that commit still "
    "counts as the submission time.\n"
)


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
            render.command_error(
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
        history = ctx.ledger.update(
            pr.author, partial(_append, assignment=assignment_id, event=event)
        )
    ids = [a for a, _ in scope.notebooks]
    parts = refresh_pr_view(ctx, pr, ids, history, now) if ids else []
    return Outcome(f"{type(command).__name__} on PR #{number}", tuple(s for _, s, _ in parts))


def _append(history: StudentHistory, assignment: str, event: Event | None) -> None:
    if event is not None:
        history.assignments.setdefault(assignment, []).append(event)


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
                render.command_error(["Name the group: `/grader project presented @alice @bob`."]),
            )
            return Outcome("project command without names")
        logins = [ctx.forge.get_pull(number).author]
    _record_project(ctx, logins, ProjectPresented(at=now, by=author))
    return Outcome("project presented: " + ", ".join(logins))


# --- use case: the tracking issue --------------------------------------------


def students_of(ctx: Context, histories: dict[str, StudentHistory]) -> list[str]:
    return sorted(set(ctx.course.roster) | set(histories), key=str.lower)


def all_states(
    ctx: Context, histories: dict[str, StudentHistory], now: datetime
) -> dict[tuple[str, str], RecordState]:
    return {
        (student, a.id): state_of(ctx, student, a, histories.get(student, StudentHistory()), now)
        for student in students_of(ctx, histories)
        for a in ctx.course.assignments.values()
    }


def all_certificates(
    ctx: Context, histories: dict[str, StudentHistory], states: dict[tuple[str, str], RecordState]
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
    extra = [
        c for c in ctx.forge.bot_comments(issue.number) if c.body.startswith("<!-- grader:tracker")
    ]
    for i, page in enumerate(pages[1:]):
        if i < len(extra):
            if extra[i].body != page:
                ctx.forge.edit_comment(extra[i].id, page)
        else:
            ctx.forge.create_comment(issue.number, page)
    for stale in extra[len(pages) - 1 :]:
        ctx.forge.delete_comment(stale.id)


# --- use case: reconcile --------------------------------------------------------


def reconcile(ctx: Context, now: datetime) -> int:
    """Re-derive every open PR's records and repair its labels and comment.

    Lost or cancelled publish runs leave a PR's view stale; every write here is
    skipped when the forge already holds the wanted content. Returns the number
    of pull requests looked at.
    """
    pulls = ctx.forge.list_open_pulls()
    for pr in pulls:
        scope = check_scope(pr.author, ctx.forge.list_pull_files(pr.number), ctx.course.assignments)
        if scope.reasons or not scope.notebooks:
            continue
        history = ctx.ledger.history(pr.author)
        graded = [
            a
            for a, _path in scope.notebooks
            if any(  # never graded: the next push or a re-run of grade records it
                isinstance(e, Submission) and e.pr == pr.number
                for e in history.assignments.get(a, [])
            )
        ]
        if graded:
            refresh_pr_view(ctx, pr, graded, history, EPOCH)
    return len(pulls)
