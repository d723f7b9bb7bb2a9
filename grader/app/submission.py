"""Use case: a graded push, from the local forge (simulate) or a GitHub grade run (publish)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from grader.app.context import Context, Outcome
from grader.app.views import refresh_pr_view, upsert_sticky
from grader.core import notices
from grader.core.evidence import Evidence, check_evidence, missing_result, static_problems
from grader.core.history import StudentHistory, record_submission
from grader.core.model import Assignment, Cell, Evaluation, PullRequest, Submission
from grader.core.scope import ScopeResult, check_scope
from grader.core.view import first_view

GRADE_WORKFLOW = ".github/workflows/grade.yml"

# Parses a committed notebook's bytes as the runner did; None when it cannot be read.
CellReader = Callable[[bytes], Sequence[Cell] | None]


@dataclass(frozen=True)
class GradeRun:
    """The facts publish takes from GitHub's workflow_run event (never from the artifact)."""

    workflow_path: str | None
    event: str | None
    head_sha: str | None
    head_repo: str | None
    created_at: datetime | None
    head_ref: str | None = None


def handle_submission(
    ctx: Context,
    number: int,
    evaluations: Mapping[str, Evaluation],
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
        upsert_sticky(ctx, pr.number, notices.scope_rejection(scope.reasons))
        return Outcome("rejected: " + "; ".join(scope.reasons))
    if ctx.course.roster and pr.author.lower() not in ctx.course.roster:
        upsert_sticky(ctx, pr.number, notices.not_on_roster(pr.author))
        return Outcome(f"rejected: {pr.author} is not on the roster")
    return None


def record_graded(
    ctx: Context,
    pr: PullRequest,
    scope: ScopeResult,
    evaluations: Mapping[str, Evaluation],
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
        change = partial(record_submission, assignment=assignment_id, submission=submission)
        update = ctx.ledger.update(pr.author, change)
        history = update.history
        events = history.assignments.get(assignment_id, [])
        # No view of this PR can exist before its first graded commit is recorded.
        fresh = fresh and update.changed and first_view(events, pr.number, sha)
    assignment_ids = [a for a, _ in scope.notebooks]
    # Runs may finish out of order: the view shows the newest submission, not this run's.
    parts = refresh_pr_view(ctx, pr, assignment_ids, history, graded_at, fresh=fresh)
    return Outcome(f"graded PR #{pr.number}", tuple(s for _, s, _ in parts))


def publish(
    ctx: Context,
    run: GradeRun,
    evidence: Evidence,
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
    if evidence.kind == "missing":
        return no_artifact(ctx, pr, run, evidence.reason)
    committed = {
        path: read_cells(ctx.forge.read_file(path, run.head_sha) or b"")
        for _, path in scope.notebooks
    }
    problem = evidence.reason or check_evidence(scope, evidence.notebooks, committed)
    if problem:
        static = [
            static_problems(ctx.course.assignments[a], committed[p]) for a, p in scope.notebooks
        ]
        upsert_sticky(
            ctx, pr.number, notices.evidence_invalid(problem, [x for xs in static for x in xs])
        )
        return Outcome(f"evidence invalid: {problem}")
    assignments = [ctx.course.assignments[a] for a, _ in scope.notebooks]
    graded_at = trusted_time(ctx, run.head_sha, run.created_at, assignments)
    if graded_at is None:
        return Outcome("ignored: GitHub gave no time for this run")
    by_path = {n.path.lower(): n.evaluation for n in evidence.notebooks}
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


def no_artifact(ctx: Context, pr: PullRequest, run: GradeRun, reason: str) -> Outcome:
    """Say that grading did not finish; the record, and so the labels, stay as they are.

    An older run of a PR that has moved on (its artifact expired, say) changes nothing:
    the PR's comment shows a newer push.
    """
    if run.head_sha != pr.head_sha:
        return Outcome(f"ignored: no artifact for {run.head_sha}, an older head of #{pr.number}")
    upsert_sticky(ctx, pr.number, notices.missing_artifact(reason))
    return Outcome(f"no artifact: {reason}")
