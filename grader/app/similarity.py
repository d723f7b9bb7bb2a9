"""Use case: `grader similarity ASSIGNMENT`, leads for a TA about copied work.

Reads each student's latest submitted notebook of the assignment from the
forge (at the commit the ledger recorded) and compares every pair. Writes
nothing anywhere: a similarity score is a lead for a human, never a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from grader.app.context import Context
from grader.core.model import Cell, Submission
from grader.core.similarity import SimilarityReport, compare
from grader.core.similarity import Submission as Handed

CellReader = Callable[[bytes], Sequence[Cell] | None]


def latest_commits(ctx: Context, assignment: str) -> dict[str, str]:
    """Each student's latest submitted commit of `assignment` (login -> sha)."""
    found: dict[str, str] = {}
    for login, history in ctx.ledger.all():
        submissions = [
            e for e in history.assignments.get(assignment, []) if isinstance(e, Submission)
        ]
        if submissions:
            found[login] = max(submissions, key=lambda e: e.at).sha
    return found


def similarity_report(
    ctx: Context,
    assignment: str,
    read_cells: CellReader,
    starter: Sequence[Cell],
    handouts: Sequence[str] = (),
) -> tuple[SimilarityReport, list[str]]:
    """The report, and the students whose notebook could not be read (left out)."""
    handed: list[Handed] = []
    unreadable: list[str] = []
    for login, sha in sorted(latest_commits(ctx, assignment).items()):
        data = ctx.forge.read_file(f"submissions/{login}/{assignment}.ipynb", sha)
        cells = read_cells(data) if data is not None else None
        if cells is None:
            unreadable.append(login)
        else:
            handed.append(Handed(login, tuple(cells)))
    return compare(assignment, handed, starter=starter, handouts=handouts), unreadable
