"""What a grade run's artifact proves, judged against the committed notebooks.

The artifact is untrusted data (ARCHITECTURE section 2): the adapter parses it
into an `Evidence` value; the checks that decide whether it may be recorded are
here, pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from grader.core.model import Assignment, Cell, Evaluation, NotebookRun
from grader.core.scope import ScopeResult
from grader.core.verdict import evaluate

__all__ = [
    "Evidence",
    "GradedNotebook",
    "cell_hashes",
    "check_evidence",
    "graded_for",
    "missing_result",
    "static_problems",
    "unreadable_result",
]

EvidenceKind = Literal["graded", "invalid", "missing"]


@dataclass(frozen=True)
class GradedNotebook:
    path: str  # repository path, e.g. submissions/alice/section-01.ipynb
    evaluation: Evaluation
    cell_hashes: tuple[str, ...]  # sha256 of each cell's source, in order


@dataclass(frozen=True)
class Evidence:
    """What the artifact holds: graded notebooks, or why there is nothing to trust.

    `invalid`: the artifact exists but cannot be trusted (`reason` says why);
    `missing`: the grade run left no artifact at all (cancelled, timed out,
    awaiting approval).
    """

    kind: EvidenceKind
    notebooks: tuple[GradedNotebook, ...] = ()
    reason: str = ""

    @classmethod
    def graded(cls, notebooks: Sequence[GradedNotebook]) -> Evidence:
        return cls("graded", tuple(notebooks))

    @classmethod
    def invalid(cls, reason: str) -> Evidence:
        return cls("invalid", reason=reason)

    @classmethod
    def missing(cls, reason: str) -> Evidence:
        return cls("missing", reason=reason)


def graded_for(evidence: Evidence, author: str) -> bool:
    """Whether the run graded `author`'s folder: its notebooks' paths say whose folder.

    Anyone may open a PR from someone else's public fork branch; GitHub gives that PR
    a grade run of its own on the same head commit, which grades its own author's
    folder (so usually nothing). Such a run is not evidence about the other PR. The
    paths are untrusted, but only route the run: what it claims is checked against
    the committed notebooks as always.
    """
    prefix = f"submissions/{author.lower()}/"
    notebooks = evidence.notebooks
    return bool(notebooks) and all(n.path.lower().startswith(prefix) for n in notebooks)


def cell_hashes(cells: Sequence[Cell]) -> tuple[str, ...]:
    # surrogatepass: a lone surrogate in a cell ("\ud800" in the JSON) is hashed, not a crash.
    return tuple(
        hashlib.sha256(c.source.encode("utf-8", "surrogatepass")).hexdigest() for c in cells
    )


def check_evidence(
    scope: ScopeResult,
    notebooks: Sequence[GradedNotebook],
    committed: Mapping[str, Sequence[Cell] | None],
) -> str | None:
    """Why the graded notebooks do not match the committed ones, or None.

    A committed notebook that cannot be read (`None`) needs no evidence: it is
    incomplete whatever the artifact says (`unreadable_result`).
    """
    by_path = {n.path.lower(): n for n in notebooks}
    for assignment_id, path in scope.notebooks:
        cells = committed.get(path)
        if cells is None:
            continue
        graded = by_path.get(path.lower())
        if graded is None:
            return f"the grading result has no entry for {path}"
        if graded.evaluation.assignment != assignment_id:
            return f"the grading result for {path} is for another assignment"
        if cell_hashes(cells) != graded.cell_hashes:
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


def unreadable_result(assignment: str, path: str) -> Evaluation:
    """The committed notebook cannot be read: incomplete, whatever an artifact says."""
    return Evaluation(
        assignment=assignment,
        status="incomplete",
        problems=(
            f"The committed {path} cannot be read as a notebook (not JSON, not a notebook, "
            "or nested too deeply). Open it in Jupyter or Colab, save it again and push.",
        ),
    )


def missing_result(assignment: str, path: str) -> Evaluation:
    return Evaluation(
        assignment=assignment,
        status="incomplete",
        problems=(f"No grading result was found for {path}. Push again to re-run grading.",),
    )
