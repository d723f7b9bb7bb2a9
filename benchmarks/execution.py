"""`grader check` against `jupyter nbconvert --execute`, as subprocesses, wall time."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from benchmarks.figures import Figure, median, timed

BIN = Path(sys.executable).parent
COURSE = "name: Bench\nexecution: {network: false}\n"
ASSIGNMENT = """\
title: Bench
deadline: 2030-01-01T00:00:00Z
exercises:
  - {id: "1", answer: code}
  - {id: "2", answer: code}
"""


def small_notebook() -> nbformat.NotebookNode:
    """Five cells: two exercises answered in code, a markdown heading each, one import."""
    v4 = nbformat.v4
    return v4.new_notebook(
        cells=[
            v4.new_markdown_cell("## Exercise 1"),
            v4.new_code_cell("x = sum(range(1000))\nprint(x)"),
            v4.new_markdown_cell("## Exercise 2"),
            v4.new_code_cell("def f(a):\n    return a * 2\n\nf(21)"),
            v4.new_code_cell("import math\nmath.sqrt(16)"),
        ]
    )


def course_with(root: Path, count: int) -> list[Path]:
    (root / "exercises").mkdir(parents=True)
    (root / "course.yml").write_text(COURSE)
    (root / "exercises" / "hw.yml").write_text(ASSIGNMENT)
    paths = []
    for i in range(count):
        path = root / f"nb{i:02d}.ipynb"
        nbformat.write(small_notebook(), str(path))
        paths.append(path)
    return paths


def grader_check(root: Path, notebooks: list[Path], jobs: int) -> None:
    argv = [str(BIN / "grader"), "check", "--assignment", "hw", "--json", "--jobs", str(jobs)]
    done = subprocess.run([*argv, *map(str, notebooks)], cwd=root, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"grader check failed ({done.returncode}): {done.stderr[-2000:]!r}")


def nbconvert(root: Path, notebook: Path) -> None:
    argv = [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", str(notebook)]
    argv += ["--output-dir", str(root / "out")]
    subprocess.run(argv, cwd=root, capture_output=True, check=True)


def compare(name: str, count: int, jobs: int, reps: int, target: float) -> Figure:
    """Median of `grader check --jobs` over median of `count` sequential nbconvert runs."""
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        root = Path(tmp)
        notebooks = course_with(root, count)
        ours: list[float] = []
        theirs: list[float] = []
        for rep in range(reps):  # interleaved, alternating who goes first
            runs = [
                (ours, lambda: grader_check(root, notebooks, jobs)),
                (theirs, lambda: [nbconvert(root, nb) for nb in notebooks]),
            ]
            for into, run in runs if rep % 2 == 0 else reversed(runs):
                into.append(timed(run))
    ratio = median(ours) / median(theirs)
    detail: dict[str, float | int | str] = {
        "grader_s": median(ours),
        "nbconvert_s": median(theirs),
        "notebooks": count,
        "reps": reps,
    }
    return Figure(name, ratio, "ratio", f"<= {target}", ratio <= target, detail)


def single(reps: int = 7) -> Figure:
    return compare("single notebook, grader check / nbconvert", 1, 1, reps, 0.6)


def batch(count: int = 16, reps: int = 3) -> Figure:
    name = f"batch of {count}, grader check --jobs 2 / {count} sequential nbconvert"
    return compare(name, count, 2, reps, 0.12)
