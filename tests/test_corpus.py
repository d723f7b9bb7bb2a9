"""Conformance over real notebooks written by others (../shared/corpus/notebooks).

Every notebook gets a verdict inside the limits and never exit 2 or 3; the
nbgrader ps1/problem1 notebooks get the verdicts their MANIFEST rows imply.
"""

import json
import shutil
import time
from pathlib import Path

import pytest

from grader.cli.main import main
from tests.corpus import NOTEBOOKS, needs_corpus

CORPUS = NOTEBOOKS

pytestmark = [
    pytest.mark.kernel,
    needs_corpus,
]

COURSE = """\
name: Corpus conformance
execution: {cell_timeout_s: 3, notebook_timeout_s: 20, memory_mb: 1024, max_output_kb: 256}
"""
# An assignment every notebook can be checked against: one exercise answered by any cell
# tagged exercise-1 or under an "Exercise 1" heading (the corpus has none, so: missing).
ANY = "title: Any\ndeadline: 2030-01-01T00:00:00Z\nexercises: []\n"
# nbgrader's ps1 problem 1, by the grade_ids of its answer (solution) cells.
PROBLEM1 = """\
title: nbgrader ps1 problem 1
deadline: 2030-01-01T00:00:00Z
exercises:
  - {id: squares, answer: code}
  - {id: sum_of_squares, answer: code}
  - {id: sum_of_squares_equation, answer: markdown}
  - {id: sum_of_squares_application, answer: code}
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("course")
    (root / "exercises").mkdir()
    (root / "course.yml").write_text(COURSE)
    (root / "exercises" / "any.yml").write_text(ANY)
    (root / "exercises" / "problem1.yml").write_text(PROBLEM1)
    return root


def check(
    course: Path, notebooks: list[Path], assignment: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict]]:
    code = main(
        [
            "check",
            *map(str, notebooks),
            "--course",
            str(course),
            "--assignment",
            assignment,
            "--json",
            "--jobs",
            "2",
        ]
    )
    return code, json.loads(capsys.readouterr().out)["results"]


def test_every_corpus_notebook_gets_a_verdict(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Copies, so nothing the notebooks write can land in ../shared (it is read-only in CI).
    notebooks = []
    for source in sorted(CORPUS.glob("*.ipynb")):
        folder = tmp_path / source.stem
        folder.mkdir()
        notebooks.append(Path(shutil.copy(source, folder / source.name)))
    started = time.monotonic()
    code, results = check(course, notebooks, "any", capsys)
    elapsed = time.monotonic() - started
    assert code in (0, 1)
    assert len(results) == len(notebooks) >= 46
    by_name = {Path(r["notebook"]).name: r for r in results}
    for result in results:
        assert result["status"] in ("complete", "incomplete")
    # Each notebook is bounded by its 20 s budget; two run at once.
    assert elapsed < 20 * len(notebooks) / 2 + 60
    for unreadable in ("d2l__mf.ipynb", "nbformat__test3_no_worksheets.ipynb"):
        assert by_name[unreadable]["status"] == "incomplete"
        assert by_name[unreadable]["problems"]
    # What nbformat can upgrade or repair is graded normally (vacuously complete here).
    for repairable in (
        "nbformat__test2.ipynb",
        "nbformat__test3.ipynb",
        "nbformat__invalid_unique_cell_id.ipynb",
        "nbformat__v4_5_no_cell_id.ipynb",
        "nbformat__v4_5_invalid_metadata.ipynb",
        "nbconvert__notebook_jl.ipynb",
        "nbformat__test4jupyter_metadata_timings.ipynb",
    ):
        assert by_name[repairable]["status"] == "complete", by_name[repairable]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # the instructor's source: every answer present and running
        (
            "nbgrader__source_ps1_problem1.ipynb",
            {
                "squares": "ok",
                "sum_of_squares": "ok",
                "sum_of_squares_equation": "ok",
                "sum_of_squares_application": "ok",
            },
        ),
        # the released template: nothing answered yet
        (
            "nbgrader__release_ps1_problem1.ipynb",
            {
                "squares": "empty",
                "sum_of_squares": "empty",
                "sum_of_squares_equation": "empty",
                "sum_of_squares_application": "empty",
            },
        ),
        # Alyssa P. Hacker's good submission
        (
            "nbgrader__submitted_hacker_ps1_problem1.ipynb",
            {
                "squares": "ok",
                "sum_of_squares": "ok",
                "sum_of_squares_equation": "ok",
                "sum_of_squares_application": "ok",
            },
        ),
        # Ben Bitdiddle: part D still the stub, despite its raises-exception tag
        (
            "nbgrader__submitted_bitdiddle_ps1_problem1.ipynb",
            {
                "squares": "ok",
                "sum_of_squares": "ok",
                "sum_of_squares_equation": "ok",
                "sum_of_squares_application": "empty",
            },
        ),
    ],
)
def test_nbgrader_problem1_verdicts(
    course: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    expected: dict[str, str],
) -> None:
    notebook = Path(shutil.copy(CORPUS / name, tmp_path / "problem1.ipynb"))
    code, (result,) = check(course, [notebook], "problem1", capsys)
    statuses = {e["id"]: e["status"] for e in result["exercises"]}
    assert statuses == expected
    complete = all(s == "ok" for s in expected.values())
    assert result["status"] == ("complete" if complete else "incomplete")
    assert code == (0 if complete else 1)


def test_cheat_attempt_error_is_still_detected(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The notebook hides tracebacks (monkeypatched showtraceback); the execute reply says error.
    source = (CORPUS / "nbgrader__submitted-cheat-attempt.ipynb").read_text()
    nb = json.loads(source)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell.setdefault("metadata", {})["tags"] = ["exercise-1"]
    path = tmp_path / "any.ipynb"
    path.write_text(json.dumps(nb))
    (course / "exercises" / "cheat.yml").write_text(
        "title: c\ndeadline: 2030-01-01T00:00:00Z\nexercises:\n  - {id: '1', answer: code}\n"
    )
    code, (result,) = check(course, [path], "cheat", capsys)
    assert code == 1
    assert result["exercises"][0]["status"] == "error"
    assert "NameError" in result["exercises"][0]["detail"]
