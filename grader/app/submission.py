"""Use case: a graded push, from the local forge (simulate) or a GitHub grade run (publish)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from grader.app.context import Context, Outcome
from grader.app.views import refresh_pr_view, upsert_sticky
from grader.core import notices
from grader.core.evidence import (
    Evidence,
    check_evidence,
    graded_for,
    missing_result,
    static_problems,
    unreadable_result,
)
from grader.core.history import StudentHistory, record_submission
from grader.core.model import (
    Assignment,
    Cell,
    ChangedFile,
    CourseConfig,
    Evaluation,
    PullRequest,
    Submission,
)
from grader.core.runs import workflow_file
from grader.core.scope import SUBMISSIONS, ScopeResult, course_scope
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
    repository: str = ""  # owner/name of the repository the run belongs to
    conclusion: str | None = "success"
    default_branch: str = ""  # the repository's; "" when the event did not say


# Why a grade run that did not succeed cannot be recorded, by its conclusion.
UNFINISHED = {
    "action_required": (
        "The grade run is waiting for approval: GitHub asks a maintainer to approve "
        "workflow runs of pull requests from people who have not contributed before."
    ),
    "cancelled": "The grade run was cancelled before it finished.",
    "timed_out": "The grade run ran out of time before it finished.",
    "failure": "The grade run failed before it finished.",
    "startup_failure": "The grade run could not start.",
}


def unfinished(conclusion: str | None) -> str | None:
    """Why a run with this conclusion is no grade; None for a successful run."""
    if conclusion == "success":
        return None
    return UNFINISHED.get(conclusion or "", f"The grade run ended as {conclusion!r}.")


def handle_submission(
    ctx: Context,
    number: int,
    evaluations: Mapping[str, Evaluation],
    graded_at: datetime,
) -> Outcome:
    """Record what grading found for the PR's head commit and update the PR's view."""
    pr = ctx.forge.get_pull(number)
    files = ctx.forge.list_pull_files(number)
    scope = course_scope(ctx.course, pr.author, files)
    refusal = refuse(ctx, pr, scope)
    if refusal is not None:
        return refusal
    return record_graded(ctx, pr, scope, evaluations, graded_at)


def refuse(
    ctx: Context, pr: PullRequest, scope: ScopeResult, *, notify: bool = True
) -> Outcome | None:
    """Reject PRs that change files a submission may not change.

    Students who are not enrolled (not on the roster, no `/grader enroll`) are
    graded like everyone else: they audit the course, get feedback, and are never
    eligible for the certificate when it requires enrollment (PROGRAM.md).
    `notify`: say so in the PR's comment (not for a commit the PR has moved on from:
    the comment shows its newer head).
    """
    if scope.reasons:
        if notify:
            upsert_sticky(ctx, pr.number, notices.scope_rejection(scope.reasons))
        return Outcome("rejected: " + "; ".join(scope.reasons))
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
    """Validate a finished grade run against GitHub's own records, then record it.

    The run is judged by its own commit: the files that commit changes since the
    PR's base, and the notebooks at that commit, never by the PR's current files
    (a `pull_request` run executes the PR's own workflow file, so a commit that
    edited it must be rejected even after a later commit reverted the edit).
    Each open PR with that head is judged on its own.
    """
    if workflow_file(run.workflow_path, run.repository) != grade_workflow:
        return Outcome(f"ignored: run of {run.workflow_path!r}, not {grade_workflow}")
    if run.event != "pull_request" or not run.head_sha:
        return Outcome("ignored: not a pull request run")
    pulls = ctx.forge.find_pulls_by_head(run.head_sha, run.head_repo, run.head_ref)
    if not pulls:
        return Outcome(f"ignored: no open pull request has head {run.head_sha}")
    if run.default_branch:  # a PR into another branch is no submission (its own rules)
        pulls = [pr for pr in pulls if pr.base_ref == run.default_branch]
    pulls = runs_pulls(pulls, run, evidence)
    outcomes = [publish_to(ctx, pr, run, run.head_sha, evidence, read_cells) for pr in pulls]
    if not outcomes:
        return Outcome(f"ignored: this run graded another pull request with head {run.head_sha}")
    if len(outcomes) == 1:
        return outcomes[0]
    return Outcome(
        "; ".join(f"#{pr.number}: {o.message}" for pr, o in zip(pulls, outcomes, strict=True)),
        tuple(s for o in outcomes for s in o.states),
    )


def runs_pulls(
    pulls: Sequence[PullRequest], run: GradeRun, evidence: Evidence
) -> list[PullRequest]:
    """Of the open PRs with the run's head, those the run is about (THREATS 37).

    With one PR, that one. With several (a PR opened from another student's fork
    branch), the PRs whose author's folder the run graded; when the run left nothing
    to tell by, the PR of the head repository's owner, whose branch it is.
    """
    if len(pulls) <= 1:
        return list(pulls)
    owner = (run.head_repo or "").split("/")[0].lower()
    if evidence.kind == "graded" and evidence.notebooks:
        return [pr for pr in pulls if graded_for(evidence, pr.author)]
    if evidence.kind == "graded":  # graded no folder: a PR whose author has none there
        return [pr for pr in pulls if pr.author.lower() != owner] or list(pulls)
    return [pr for pr in pulls if pr.author.lower() == owner] or list(pulls)


def publish_to(
    ctx: Context,
    pr: PullRequest,
    run: GradeRun,
    sha: str,
    evidence: Evidence,
    read_cells: CellReader,
) -> Outcome:
    """Judge the run of commit `sha` for one PR, and record it when it holds."""
    current = sha == pr.head_sha  # only then may a notice replace the PR's comment
    files = ctx.forge.changed_files(pr.base_ref, sha)
    if files is not None and maintainers_own(ctx, pr, files):
        return Outcome(f"ignored: #{pr.number} is a maintainer's change, not a submission")
    scope = commit_scope(pr, ctx.course, files, sha)
    refusal = refuse(ctx, pr, scope, notify=current)
    if refusal is not None:
        return refusal
    if not scope.notebooks:  # only checkpoints, or removals: nothing to record
        if current:
            upsert_sticky(ctx, pr.number, notices.no_notebook(pr.author))
        return Outcome(f"rejected: #{pr.number} submits no notebook")
    missing = evidence.reason if evidence.kind == "missing" else None
    reason = unfinished(run.conclusion) or missing
    if reason is not None:
        return no_result(ctx, pr, sha, reason)
    committed = {p: read_cells(ctx.forge.read_file(p, sha) or b"") for _, p in scope.notebooks}
    problem = evidence.reason or check_evidence(scope, evidence.notebooks, committed)
    if problem:
        return invalid(ctx, pr, scope, committed, problem, notify=current)
    assignments = [ctx.course.assignments[a] for a, _ in scope.notebooks]
    graded_at = trusted_time(ctx, sha, run.created_at, assignments)
    if graded_at is None:
        return Outcome("ignored: GitHub gave no time for this run")
    evaluations = graded_evaluations(scope, evidence, committed)
    return record_graded(ctx, pr, scope, evaluations, graded_at, sha=sha)


def graded_evaluations(
    scope: ScopeResult, evidence: Evidence, committed: Mapping[str, Sequence[Cell] | None]
) -> dict[str, Evaluation]:
    """The artifact's evaluations, except for notebooks that cannot be read as committed:
    those are incomplete with their own problem, whatever the artifact says (THREATS 38)."""
    by_path = {n.path.lower(): n.evaluation for n in evidence.notebooks}
    return {
        path: unreadable_result(a, path) if committed[path] is None else by_path[path.lower()]
        for a, path in scope.notebooks
    }


def invalid(
    ctx: Context,
    pr: PullRequest,
    scope: ScopeResult,
    committed: Mapping[str, Sequence[Cell] | None],
    problem: str,
    *,
    notify: bool,
) -> Outcome:
    """The artifact cannot be trusted: say so with what can be seen without running."""
    if notify:
        assignments = ctx.course.assignments
        static = [static_problems(assignments[a], committed[p]) for a, p in scope.notebooks]
        body = notices.evidence_invalid(problem, [x for xs in static for x in xs])
        upsert_sticky(ctx, pr.number, body)
    return Outcome(f"evidence invalid: {problem}")


def maintainers_own(ctx: Context, pr: PullRequest, files: Sequence[ChangedFile]) -> bool:
    """A PR of the course's own people that submits nothing: the bot stays quiet on it.

    A student's notebook in the wrong folder is answered (it says where to move it);
    a change by someone with write access that touches no submission is not a hand-in.
    """
    if any(f.path.startswith(SUBMISSIONS + "/") for f in files):
        return False
    return ctx.forge.permission(pr.author) in ("admin", "maintain", "write")


def commit_scope(
    pr: PullRequest, course: CourseConfig, files: Sequence[ChangedFile] | None, sha: str
) -> ScopeResult:
    """The submission rules applied to what commit `sha` changes since the PR's base."""
    if files is None:
        return ScopeResult(
            reasons=(
                f"GitHub cannot list every file that commit {sha[:12]} changes (it changes "
                "hundreds of files, or it is gone); a submission changes only your notebooks.",
            )
        )
    return course_scope(course, pr.author, files)


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


def no_result(ctx: Context, pr: PullRequest, sha: str, reason: str) -> Outcome:
    """Say that grading did not finish; the record, and so the labels, stay as they are.

    An older run of a PR that has moved on (its artifact expired, say) changes nothing:
    the PR's comment shows a newer push.
    """
    if sha != pr.head_sha:
        return Outcome(f"ignored: no result for {sha}, an older head of #{pr.number}")
    upsert_sticky(ctx, pr.number, notices.missing_artifact(reason))
    return Outcome(f"no result: {reason}")
