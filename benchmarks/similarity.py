"""The similarity report on a 300-student cohort (pure core, in process).

The baseline, measured in the same run, is the least any such report must do:
tokenise every submission once. The figure is the full report (fingerprints,
exclusions, every pair scored, regions of the listed pairs) over that.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from benchmarks.figures import Figure, median
from grader.core.fingerprints import code_tokens, prose_tokens
from grader.core.similarity import SimilarityReport, Submission, compare
from tests.similarity_cohort import Cohort, cohort

TARGET = 3.0  # the full report costs at most this many tokenisations


def tokenise_all(submissions: tuple[Submission, ...]) -> int:
    count = 0
    for sub in submissions:
        for cell in sub.cells:
            if cell.cell_type == "code":
                count += len(code_tokens(cell.source))
            elif cell.cell_type == "markdown":
                count += len(prose_tokens(cell.source))
    return count


def _report(group: Cohort) -> SimilarityReport:
    return compare("section-03", group.submissions, group.starter, group.handouts)


def _seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def similarity_report(students: int = 300, reps: int = 3) -> Figure:
    group = cohort(size=students)
    report_s: list[float] = []
    tokenise_s: list[float] = []
    for rep in range(reps):  # interleaved, alternating which side goes first
        sides = [
            (report_s, lambda: _report(group)),
            (tokenise_s, lambda: tokenise_all(group.submissions)),
        ]
        for times, run in sides if rep % 2 == 0 else reversed(sides):
            times.append(_seconds(run))
    report = _report(group)
    top = {(p.a, p.b) for p in report.pairs[:10]}
    ratio = median(report_s) / median(tokenise_s)
    detail: dict[str, float | int | str] = {
        "report_s": median(report_s),
        "tokenise_s": median(tokenise_s),
        "submissions": students,
        "tokens": tokenise_all(group.submissions),
        "pairs_listed": len(report.pairs),
        "planted_in_top_10": sum(1 for p in group.planted if p in top),
        "reps": reps,
    }
    name = f"similarity report, {students} submissions / tokenising them once"
    return Figure(name, ratio, "ratio", f"<= {TARGET:g}", ratio <= TARGET, detail)
