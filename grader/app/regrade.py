"""Use case: `grader regrade ASSIGNMENT`, re-evaluating every submission of an assignment.

Planning (which commits, which records change) is `grader.core.regrade`. Here:
fetching the committed notebooks, running them through the Grader port,
checking shard results against the committed notebooks, and recording the
regrades. On GitHub the work is sharded over an Actions matrix: each
unprivileged shard job runs `--shard I/N --out DIR`; one trusted job merges.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from functools import partial

from grader.app.context import Context
from grader.app.views import refresh_pr_view
from grader.core import notices
from grader.core.evidence import cell_hashes
from grader.core.history import StudentHistory, append_regrades
from grader.core.model import Assignment, Cell, PullRequest, Regrade, Submission
from grader.core.regrade import Graded, Results, ShardResult, Target
from grader.ports import Grader


def apply(
    ctx: Context,
    assignment: Assignment,
    new_events: Mapping[str, Sequence[Regrade]],
    now: datetime,
    downgraded: Collection[str] = (),
) -> int:
    """Record the regrades and refresh each affected PR's labels and comment.

    Students in `downgraded` (allowed explicitly by the maintainer) are also told
    on their open PRs what happened and what they can do.
    """
    for student, events in new_events.items():
        change = partial(append_regrades, assignment=assignment.id, events=events)
        history = ctx.ledger.update(student, change).history
        for pr in refresh_prs(ctx, assignment, student, history, now):
            if student in downgraded:
                notice = notices.regrade_downgrade(assignment.id, assignment.title)
                ctx.forge.create_comment(pr.number, notice)
    return len(new_events)


def refresh_prs(
    ctx: Context, assignment: Assignment, student: str, history: StudentHistory, now: datetime
) -> list[PullRequest]:
    """Refresh the student's open PRs of the assignment; returns them."""
    events = history.assignments.get(assignment.id, [])
    refreshed = []
    for number in sorted({e.pr for e in events if isinstance(e, Submission)}):
        pr = ctx.forge.get_pull(number)
        if pr.state == "open":
            refresh_pr_view(ctx, pr, [assignment.id], history, now)
            refreshed.append(pr)
    return refreshed


def execute(
    ctx: Context,
    assignment: Assignment,
    items: Sequence[Target],
    grade: Grader,
    on_done: Callable[[], None] = lambda: None,
) -> list[Graded]:
    """Fetch each target's committed notebook and run it in a fresh sandboxed kernel."""
    contents = fetch(ctx, assignment, items)
    return grade_contents(assignment, list(zip(items, contents, strict=True)), grade, on_done)


def fetch(ctx: Context, assignment: Assignment, items: Sequence[Target]) -> list[bytes]:
    """Each target's committed notebook (empty when the forge has it no more)."""
    return [ctx.forge.read_file(t.path(assignment.id), t.sha) or b"" for t in items]


def grade_contents(
    assignment: Assignment,
    items: Sequence[tuple[Target, bytes]],
    grade: Grader,
    on_done: Callable[[], None] = lambda: None,
) -> list[Graded]:
    """Run each target's notebook bytes in a fresh sandboxed kernel (no forge needed:
    a regrade shard holds no token)."""
    runs = grade([(content, assignment) for _, content in items], on_done)
    return [
        Graded(t, evaluation, cell_hashes(cells))
        for (t, _), (cells, evaluation) in zip(items, runs, strict=True)
    ]


def verified_results(
    ctx: Context,
    assignment: Assignment,
    known: Sequence[Target],
    shard_results: Sequence[ShardResult],
    read_cells: Callable[[bytes], Sequence[Cell] | None],
) -> tuple[Results, list[str]]:
    """Keep results for real targets whose cells match the committed notebook."""
    wanted = {(t.student, t.sha): t for t in known}
    results: Results = {}
    rejected: list[str] = []
    for found in shard_results:
        student, sha = found.student, found.sha
        target = wanted.get((student, sha))
        if target is None or found.evaluation.assignment != assignment.id:
            rejected.append(f"{student} {sha[:12]}: not a submission of {assignment.id}")
            continue
        committed = read_cells(ctx.forge.read_file(target.path(assignment.id), sha) or b"")
        if cell_hashes(committed or ()) != found.cells:
            rejected.append(
                f"{student} {sha[:12]}: executed cells differ from the committed notebook"
            )
            continue
        results[(student, sha)] = found.evaluation
    return results, rejected
