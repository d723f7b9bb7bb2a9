"""Use case: reconcile, the repair run after lost or cancelled events."""

from __future__ import annotations

from datetime import datetime

from grader.app.context import Context
from grader.app.views import refresh_pr_view
from grader.core.history import EPOCH
from grader.core.model import Submission
from grader.core.scope import course_scope


def reconcile(ctx: Context, now: datetime) -> int:
    """Re-derive every open PR's records and repair its labels and comment.

    Lost or cancelled publish runs leave a PR's view stale; every write here is
    skipped when the forge already holds the wanted content. Returns the number
    of pull requests looked at.
    """
    pulls = ctx.forge.list_open_pulls()
    for pr in pulls:
        scope = course_scope(ctx.course, pr.author, ctx.forge.list_pull_files(pr.number))
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
