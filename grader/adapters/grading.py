"""Execute notebooks and turn what happened into Evaluations.

The glue between the sandboxed runner (imperative) and the verdict (pure),
shared by `check`, `run-submission`, `simulate` and `regrade`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from grader.adapters.runner import run_many
from grader.core.model import Assignment, Cell, CourseConfig, Evaluation, NotebookRun
from grader.core.verdict import evaluate

Progress = Callable[[int, Evaluation], None]


def tests_of(assignment: Assignment) -> dict[str, str]:
    return {e.id: e.test for e in assignment.exercises if e.test}


def grade_runs(
    course: CourseConfig,
    items: Sequence[tuple[Path, Assignment]],
    *,
    base_env: Mapping[str, str],
    jobs: int = 1,
    on_done: Progress | None = None,
) -> list[tuple[NotebookRun, Evaluation]]:
    """Run each notebook in its own fresh kernel; pair each run with its evaluation."""

    def done(index: int, run: NotebookRun) -> None:
        if on_done is not None:
            on_done(index, evaluate(items[index][1], run))

    runs = run_many(
        [(path, tests_of(assignment)) for path, assignment in items],
        course.execution,
        base_env=base_env,
        jobs=jobs,
        on_done=done,
    )
    return [(run, evaluate(a, run)) for (_, a), run in zip(items, runs, strict=True)]


def grade_many(
    course: CourseConfig,
    items: Sequence[tuple[Path, Assignment]],
    *,
    base_env: Mapping[str, str],
    jobs: int = 1,
    on_done: Progress | None = None,
) -> list[Evaluation]:
    """Run each notebook in its own fresh kernel and evaluate it against its assignment."""
    runs = grade_runs(course, items, base_env=base_env, jobs=jobs, on_done=on_done)
    return [evaluation for _, evaluation in runs]


class NotebookGrader:
    """`grader.ports.Grader`: notebooks given as bytes, each run from a folder of its own.

    Each notebook is written as `<assignment>.ipynb` into a fresh scratch folder,
    so what a notebook writes beside itself never meets another's.
    """

    def __init__(self, course: CourseConfig, base_env: Mapping[str, str], jobs: int = 1) -> None:
        self.course = course
        self.base_env = base_env
        self.jobs = jobs

    def __call__(
        self,
        notebooks: Sequence[tuple[bytes, Assignment]],
        on_done: Callable[[], None] = lambda: None,
    ) -> list[tuple[tuple[Cell, ...], Evaluation]]:
        with tempfile.TemporaryDirectory(prefix="grader-notebooks-") as tmp:
            items = []
            for i, (content, assignment) in enumerate(notebooks):
                folder = Path(tmp) / f"{i:05d}"
                folder.mkdir()
                path = folder / f"{assignment.id}.ipynb"
                path.write_bytes(content)
                items.append((path, assignment))
            runs = grade_runs(
                self.course,
                items,
                base_env=self.base_env,
                jobs=self.jobs,
                on_done=lambda _i, _e: on_done(),
            )
        return [(run.cells, evaluation) for run, evaluation in runs]
