"""Per-exercise statuses and the notebook verdict: CONTRACT section 2."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from grader.core import tracebacks, verdict
from grader.core.model import (
    AnswerKind,
    Assignment,
    Cell,
    CellRun,
    Evaluation,
    Exercise,
    ExerciseResult,
    ExerciseStatus,
    NotebookRun,
    RunStatus,
)
from grader.core.verdict import evaluate
from tests.corpus import corpus_file

DEADLINE = datetime(2020, 8, 8, 23, 59, tzinfo=UTC)


def nb(*cells: Cell) -> tuple[Cell, ...]:
    return tuple(replace(cell, index=i) for i, cell in enumerate(cells))


def md(source: str, **kw: Any) -> Cell:
    return Cell(-1, "markdown", source, **kw)


def code(source: str, **kw: Any) -> Cell:
    return Cell(-1, "code", source, **kw)


def assignment(*exercises: Exercise) -> Assignment:
    return Assignment("section-01", "Intro", DEADLINE, exercises=exercises)


def ran(cells: tuple[Cell, ...], status: RunStatus = "ok", error: str = "") -> dict[int, CellRun]:
    """Every code cell ran with the same result."""
    return {c.index: CellRun(status, error) for c in cells if c.cell_type == "code"}


def one(exercise: Exercise, run: NotebookRun) -> ExerciseResult:
    (result,) = evaluate(assignment(exercise), run).exercises
    return result


# --- every status through every matching rule ------------------------------------

Rule = Callable[[Cell], tuple[Cell, ...]]

RULES: dict[str, Rule] = {
    "tag": lambda answer: nb(md("intro"), replace(answer, tags=("Exercise-1",))),
    "grade_id": lambda answer: nb(md("intro"), replace(answer, grade_id="1")),
    "heading": lambda answer: nb(md("### Exercise 1: Warm-up"), answer, md("### Next")),
}

ANSWER = "x = 1 / 0"
RUNS: list[tuple[str, RunStatus | None, ExerciseStatus]] = [
    (ANSWER, "ok", "ok"),
    (ANSWER, "error", "error"),
    (ANSWER, "timeout", "timeout"),
    (ANSWER, "not-run", "not-run"),
    (ANSWER, None, "not-run"),  # no result recorded: execution never reached it
    ("# YOUR CODE HERE\nraise NotImplementedError()", "error", "empty"),
    ("", "ok", "empty"),
]


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize(("source", "run_status", "expected"), RUNS)
def test_status_through_each_rule(
    rule: str, source: str, run_status: RunStatus | None, expected: ExerciseStatus
) -> None:
    cells = RULES[rule](code(source))
    runs = ran(cells, run_status) if run_status else {}
    assert one(Exercise("1"), NotebookRun(cells, runs)).status == expected


@pytest.mark.parametrize("rule", sorted(RULES))
def test_markdown_answers_through_each_rule(rule: str) -> None:
    cells = RULES[rule](md("It computes Fibonacci numbers."))
    assert one(Exercise("1", answer="markdown"), NotebookRun(cells)).status == "ok"
    blank = RULES[rule](md("YOUR ANSWER HERE"))
    assert one(Exercise("1", answer="markdown"), NotebookRun(blank)).status == "empty"


def test_missing() -> None:
    cells = nb(md("## Exercise 2"), code("x = 1"), code("y", tags=("exercise-3",)))
    result = one(Exercise("1"), NotebookRun(cells, ran(cells)))
    assert result == ExerciseResult(
        "1", "missing", "no cell is tagged exercise-1 or under an 'Exercise 1' heading"
    )


# --- the first row that applies wins --------------------------------------------------

PRECEDENCE: list[tuple[list[RunStatus], RunStatus | None, ExerciseStatus]] = [
    (["ok", "ok"], None, "ok"),
    (["ok", "ok"], "ok", "ok"),
    (["error", "ok"], None, "error"),
    (["ok", "error"], "ok", "error"),
    (["ok", "ok"], "error", "error"),
    (["error", "timeout"], None, "timeout"),
    (["ok", "ok"], "timeout", "timeout"),
    (["error", "ok"], "timeout", "timeout"),
    (["error", "not-run"], None, "not-run"),
    (["timeout", "not-run"], "not-run", "not-run"),
    (["ok", "ok"], "not-run", "not-run"),
    (["error", "timeout"], "not-run", "not-run"),
]


@pytest.mark.parametrize(("cell_runs", "test_run", "expected"), PRECEDENCE)
def test_precedence(
    cell_runs: list[RunStatus], test_run: RunStatus | None, expected: ExerciseStatus
) -> None:
    cells = nb(md("## Exercise 1"), code("a = 1"), code("b = 2"))
    runs = {1: CellRun(cell_runs[0]), 2: CellRun(cell_runs[1])}
    test = "assert b == 2" if test_run else None
    tests = {"1": CellRun(test_run)} if test_run else {}
    result = one(Exercise("1", test=test), NotebookRun(cells, runs, tests))
    assert result.status == expected


def test_empty_wins_over_failed_runs() -> None:
    cells = nb(md("## Exercise 1"), code("pass"))
    run = NotebookRun(cells, {1: CellRun("error")}, {"1": CellRun("error")})
    assert one(Exercise("1", test="assert f()"), run).status == "empty"


def test_a_placeholder_cell_beside_a_real_answer_is_ignored() -> None:
    cells = nb(
        md("## Exercise 1"), code("def f():\n    return 1"), code("raise NotImplementedError")
    )
    runs = {1: CellRun("ok"), 2: CellRun("error", "NotImplementedError")}
    assert one(Exercise("1"), NotebookRun(cells, runs)).status == "ok"


def test_cells_of_another_kind_do_not_run_for_the_exercise() -> None:
    cells = nb(md("## Exercise 1"), md("My explanation."), code("1 / 0"))
    runs = {2: CellRun("error", "ZeroDivisionError: division by zero")}
    assert one(Exercise("1", answer="markdown"), NotebookRun(cells, runs)).status == "ok"
    assert one(Exercise("1", answer="any"), NotebookRun(cells, runs)).status == "error"


# --- answer kinds, placeholders, words --------------------------------------------

EMPTY: list[tuple[AnswerKind, tuple[Cell, ...], str]] = [
    (
        "code",
        nb(md("## Exercise 1"), md("words only")),
        "its only cell is not a code cell",
    ),
    (
        "markdown",
        nb(md("## Exercise 1"), code("x = 1"), code("y = 2")),
        "none of its 2 cells is a markdown cell",
    ),
    (
        "any",
        nb(md("## Exercise 1"), Cell(-1, "raw", "raw text")),
        "its only cell is not a code or markdown cell",
    ),
    (
        "any",
        nb(md("## Exercise 1"), code("pass")),
        "no answer yet: cell 2 is blank or a placeholder",
    ),
    (
        "any",
        nb(md("## Exercise 1"), code("..."), md("YOUR ANSWER HERE"), code('"""doc"""')),
        "no answer yet: cells 2, 3, 4 are blank or placeholders",
    ),
]


@pytest.mark.parametrize(("answer", "cells", "detail"), EMPTY)
def test_empty(answer: AnswerKind, cells: tuple[Cell, ...], detail: str) -> None:
    result = one(Exercise("1", answer=answer), NotebookRun(cells, ran(cells)))
    assert result == ExerciseResult("1", "empty", detail)


WORDS = " ".join(["word"] * 100)
MIN_WORDS: list[tuple[AnswerKind, list[str], int, ExerciseStatus, str]] = [
    ("markdown", ["one two three"], 150, "empty", "3 words; at least 150 needed"),
    ("markdown", ["single"], 2, "empty", "1 word; at least 2 needed"),
    ("markdown", [WORDS], 100, "ok", ""),
    ("markdown", [WORDS, "and\nfifty  more"], 103, "ok", ""),
    ("markdown", [WORDS, "YOUR ANSWER HERE"], 103, "empty", "100 words; at least 103 needed"),
    ("any", [WORDS], 150, "empty", "100 words; at least 150 needed"),
    ("markdown", [WORDS], 0, "ok", ""),
]


@pytest.mark.parametrize(("answer", "texts", "min_words", "status", "detail"), MIN_WORDS)
def test_min_words(
    answer: AnswerKind, texts: list[str], min_words: int, status: ExerciseStatus, detail: str
) -> None:
    cells = nb(md("## Exercise 1"), *(md(t) for t in texts))
    exercise = Exercise("1", answer=answer, min_words=min_words)
    assert one(exercise, NotebookRun(cells)) == ExerciseResult("1", status, detail)


def test_min_words_ignores_code_and_the_heading() -> None:
    heading = "## Exercise 1: " + " ".join(["prompt"] * 200)
    cells = nb(md(heading), code("# " + WORDS), md("short answer"))
    exercise = Exercise("1", answer="any", min_words=10)
    assert one(exercise, NotebookRun(cells, ran(cells))).detail == "2 words; at least 10 needed"


def test_min_words_does_not_apply_to_code_answers() -> None:
    cells = nb(md("## Exercise 1"), code("x = 1"))
    exercise = Exercise("1", answer="code", min_words=150)
    assert one(exercise, NotebookRun(cells, ran(cells))).status == "ok"


# --- test snippets ------------------------------------------------------------------

TESTS: list[tuple[str | None, Mapping[str, CellRun], ExerciseStatus, str]] = [
    ("assert f(2) == 4", {"1": CellRun("ok")}, "ok", ""),
    (
        "assert f(2) == 4",
        {"1": CellRun("error", "AssertionError: \nTraceback line 1\nline 2\nline 3")},
        "error",
        "the check of exercise 1 failed: AssertionError:\nTraceback line 1\nline 2",
    ),
    ("assert f(2) == 4", {"1": CellRun("error")}, "error", "the check of exercise 1 failed"),
    (
        "assert f(2) == 4",
        {"1": CellRun("timeout")},
        "timeout",
        "the check of exercise 1 ran past the time limit",
    ),
    (
        "assert f(2) == 4",
        {},
        "not-run",
        "the check of exercise 1 did not run: execution stopped before it",
    ),
    (
        "assert f(2) == 4",
        {"2": CellRun("ok")},
        "not-run",
        "the check of exercise 1 did not run: execution stopped before it",
    ),
    ("assert f(2) == 4", {"EX1": CellRun("ok")}, "ok", ""),
    (None, {"1": CellRun("error", "stale")}, "ok", ""),  # no test configured: results ignored
]


@pytest.mark.parametrize(("test", "tests", "status", "detail"), TESTS)
def test_test_snippets(
    test: str | None, tests: Mapping[str, CellRun], status: ExerciseStatus, detail: str
) -> None:
    exercise_id = "ex1" if "EX1" in tests else "1"
    cells = nb(code("def f(x):\n    return x * x", tags=(f"exercise-{exercise_id}",)))
    run = NotebookRun(cells, ran(cells), tests)
    result = one(Exercise(exercise_id, test=test), run)
    assert result == ExerciseResult(exercise_id, status, detail)


def test_a_markdown_exercise_still_runs_its_test() -> None:
    cells = nb(md("## Exercise 1"), md("prose"))
    run = NotebookRun(cells, tests={"1": CellRun("error", "NameError: name 'f' is not defined")})
    exercise = Exercise("1", answer="markdown", test="f()")
    assert one(exercise, run).status == "error"


# --- details ------------------------------------------------------------------------


def test_run_details_name_the_first_failing_cell_counting_from_one() -> None:
    cells = nb(md("## Exercise 1"), code("a = 1"), code("1 / 0"), code("b"))
    error = "ZeroDivisionError: division by zero\n\n  Cell In[2], line 1\n----> 1 1 / 0\nmore"
    runs = {1: CellRun("ok"), 2: CellRun("error", error), 3: CellRun("error", "NameError: b")}
    result = one(Exercise("1"), NotebookRun(cells, runs))
    assert result.detail == (
        "the 3rd cell, under 'Exercise 1', failed: ZeroDivisionError: division by zero\n"
        "at line 1:\n"
        "  --> 1 1 / 0"
    )


@pytest.mark.parametrize(
    ("run", "detail"),
    [
        (CellRun("timeout"), "the 2nd cell, under 'Exercise 1', ran past the time limit"),
        (
            CellRun("timeout", "Cell timed out after 120 s"),
            "the 2nd cell, under 'Exercise 1', ran past the time limit: Cell timed out after 120 s",
        ),
        (
            CellRun("not-run"),
            "the 2nd cell, under 'Exercise 1', did not run: execution stopped before it",
        ),
        (
            CellRun("not-run", "the kernel died in cell 1"),
            "the 2nd cell, under 'Exercise 1', did not run: the kernel died in cell 1",
        ),
        (
            CellRun("error", "x" * 1000),
            "the 2nd cell, under 'Exercise 1', failed: " + "x" * 299 + "…",
        ),
    ],
)
def test_run_details(run: CellRun, detail: str) -> None:
    cells = nb(md("## Exercise 1"), code("work()"))
    assert one(Exercise("1"), NotebookRun(cells, {1: run})).detail == detail


# --- the notebook verdict ----------------------------------------------------------

TWO = assignment(Exercise("1"), Exercise("2", answer="markdown"))
TWO_CELLS = nb(md("## Exercise 1"), code("x = 1"), md("## Exercise 2"), md("Because."))

NOTEBOOKS: list[tuple[str, Assignment, NotebookRun, str, tuple[str, ...]]] = [
    ("all ok", TWO, NotebookRun(TWO_CELLS, ran(TWO_CELLS)), "complete", ()),
    ("one error", TWO, NotebookRun(TWO_CELLS, ran(TWO_CELLS, "error")), "incomplete", ()),
    ("no exercises", assignment(), NotebookRun(), "complete", ()),
    (
        "no exercises, code ran",
        assignment(),
        NotebookRun(TWO_CELLS, ran(TWO_CELLS)),
        "complete",
        (),
    ),
    (
        "unreadable, no exercises",
        assignment(),
        NotebookRun(readable=False, problems=("not valid JSON",)),
        "incomplete",
        ("not valid JSON",),
    ),
    (
        "unreadable without a reason",
        TWO,
        NotebookRun(readable=False),
        "incomplete",
        ("the notebook could not be read",),
    ),
    (
        "kernel never started, no exercises",
        assignment(),
        NotebookRun(TWO_CELLS, problems=("the kernel could not start",)),
        "incomplete",
        ("the kernel could not start",),
    ),
    (
        "kernel never started, every cell not-run",
        assignment(),
        NotebookRun(TWO_CELLS, ran(TWO_CELLS, "not-run"), problems=("kernel failed",)),
        "incomplete",
        ("kernel failed",),
    ),
    (
        "kernel never started, markdown-only exercise",
        assignment(Exercise("2", answer="markdown")),
        NotebookRun(TWO_CELLS, problems=("the kernel could not start",)),
        "incomplete",
        ("the kernel could not start",),
    ),
    (
        "notebook timeout after every exercise ran",
        TWO,
        NotebookRun(TWO_CELLS, ran(TWO_CELLS), problems=("the notebook timed out",)),
        "complete",
        ("the notebook timed out",),
    ),
]


@pytest.mark.parametrize(
    ("exercises", "run", "status", "problems"),
    [pytest.param(a, r, s, p, id=name) for name, a, r, s, p in NOTEBOOKS],
)
def test_notebook_status(
    exercises: Assignment, run: NotebookRun, status: str, problems: tuple[str, ...]
) -> None:
    evaluation = evaluate(exercises, run)
    assert (evaluation.status, evaluation.problems) == (status, problems)
    assert evaluation.complete is (status == "complete")
    assert evaluation.assignment == "section-01"


def test_unreadable_notebook_marks_every_exercise_missing() -> None:
    evaluation = evaluate(TWO, NotebookRun(TWO_CELLS, readable=False, problems=("bad",)))
    assert evaluation.exercises == (
        ExerciseResult("1", "missing", "the notebook could not be read"),
        ExerciseResult("2", "missing", "the notebook could not be read"),
    )


def test_results_follow_the_assignment_order_and_ids() -> None:
    exercises = assignment(Exercise("B"), Exercise("a"), Exercise("c"))
    cells = nb(md("## Exercise b"), code("x"), code("y", tags=("EXERCISE-A",)))
    evaluation = evaluate(exercises, NotebookRun(cells, ran(cells)))
    assert [(r.id, r.status) for r in evaluation.exercises] == [
        ("B", "ok"),
        ("a", "ok"),
        ("c", "missing"),
    ]


def test_multiple_cells_per_exercise_all_count() -> None:
    cells = nb(
        md("## Exercise 1"),
        code("import math"),
        md("#### Hint"),
        code("def f(x):\n    return math.sqrt(x)"),
        code("print(f(4))"),
        md("## Exercise 2"),
    )
    runs = {1: CellRun("ok"), 3: CellRun("ok"), 4: CellRun("error", "NameError: f")}
    result = one(Exercise("1", answer="code"), NotebookRun(cells, runs))
    assert result == ExerciseResult(
        "1", "error", "the 5th cell, under 'Hint', failed: NameError: f"
    )


# --- the nbgrader ps1 notebooks, with the runs their checks recorded ------------------


def load_cells(name: str) -> tuple[Cell, ...]:
    data: dict[str, Any] = json.loads(corpus_file("notebooks", name).read_text(encoding="utf-8"))
    cells = []
    for i, c in enumerate(data["cells"]):
        meta = c.get("metadata", {})
        source = c["source"] if isinstance(c["source"], str) else "".join(c["source"])
        grade_id = meta.get("nbgrader", {}).get("grade_id")
        cells.append(Cell(i, c["cell_type"], source, tuple(meta.get("tags", ())), grade_id))
    return tuple(cells)


PS1 = assignment(
    Exercise("squares", answer="code"),
    Exercise("sum_of_squares", answer="code"),
    Exercise("sum_of_squares_equation", answer="markdown"),
    Exercise("sum_of_squares_application", answer="code"),
)


def test_hacker_submission_is_complete() -> None:
    cells = load_cells("nbgrader__submitted_hacker_ps1_problem1.ipynb")
    evaluation = evaluate(PS1, NotebookRun(cells, ran(cells)))
    assert evaluation == Evaluation(
        "section-01", "complete", tuple(ExerciseResult(e.id, "ok") for e in PS1.exercises)
    )


def test_bitdiddle_left_part_d_unanswered() -> None:
    cells = load_cells("nbgrader__submitted_bitdiddle_ps1_problem1.ipynb")
    runs = ran(cells)
    runs[19] = CellRun("error", "NotImplementedError: ")  # what the corpus run recorded
    evaluation = evaluate(PS1, NotebookRun(cells, runs))
    assert evaluation.status == "incomplete"
    assert [(r.id, r.status) for r in evaluation.exercises] == [
        ("squares", "ok"),
        ("sum_of_squares", "ok"),
        ("sum_of_squares_equation", "ok"),
        ("sum_of_squares_application", "empty"),
    ]
    assert evaluation.exercises[3].detail == "no answer yet: cell 20 is blank or a placeholder"


def test_released_template_answers_nothing() -> None:
    cells = load_cells("nbgrader__release_ps1_problem1.ipynb")
    evaluation = evaluate(PS1, NotebookRun(cells, ran(cells, "error", "NotImplementedError: ")))
    assert {r.status for r in evaluation.exercises} == {"empty"}
    assert evaluation.status == "incomplete"


# --- errors a student can fix (issue 11): cells as Jupyter numbers them, the cause first --

MISSING_TORCH = (
    "ModuleNotFoundError: No module named 'torch'\n"
    "ModuleNotFoundError                       Traceback (most recent call last)\n"
    "Cell In[1], line 1\n"
    "----> 1 import torch\n"
    "ModuleNotFoundError: No module named 'torch'"
)


def name_error(execution: int, line: str) -> str:
    """What the runner's `error_text` makes of a NameError at the top of a cell."""
    return (
        "NameError: name 'torch' is not defined\n"
        "NameError                                 Traceback (most recent call last)\n"
        f"Cell In[{execution}], line 1\n"
        f"----> 1 {line}\n"
        "NameError: name 'torch' is not defined"
    )


@pytest.mark.parametrize(
    ("index", "name"),
    [
        (0, "the 1st cell"),
        (1, "the 2nd cell, under 'Setup'"),
        (2, "the 3rd cell, under 'Exercise 2'"),
        (10, "the 11th cell, under 'Exercise 2'"),
        (11, "the 12th cell, under 'Exercise 2'"),
        (20, "the 21st cell, under 'Exercise 2'"),
        (22, "the 23rd cell, under 'Exercise 2'"),
        (112, "the 113th cell, under 'Exercise 2'"),
    ],
)
def test_cells_are_named_as_jupyter_counts_them_with_the_heading_above(
    index: int, name: str
) -> None:
    cells = nb(code("x = 1"), md("# Setup\n\nsome text"), md("## **Exercise 2**"))
    cells += nb(*[code("y = 2")] * 200)[3:]
    assert verdict.cell_name(index, cells) == name


def test_execution_counts_skip_blank_cells_and_markdown_and_end_with_the_checks() -> None:
    cells = nb(md("# A"), code("a = 1"), code("  \n"), md("text"), code("b = 2"), code("c"))
    runs = {1: CellRun("ok"), 2: CellRun("ok"), 4: CellRun("error"), 5: CellRun("not-run")}
    tests = {"1": CellRun("error"), "2": CellRun("not-run")}
    ex = assignment(Exercise("1", test="f()"), Exercise("2", test="g()"))
    assert verdict.executions(ex, NotebookRun(cells, runs, tests)) == {
        1: "the 2nd cell, under 'A'",
        2: "the 5th cell, under 'A'",
        3: "the check of exercise 1",
    }


def test_a_blank_check_takes_no_execution_count() -> None:
    cells = nb(code("a = 1"))
    tests = {"1": CellRun("ok"), "2": CellRun("error")}
    ex = assignment(Exercise("1", test="\n"), Exercise("2", test="g()"))
    names = verdict.executions(ex, NotebookRun(cells, {0: CellRun("ok")}, tests))
    assert names == {1: "the 1st cell", 2: "the check of exercise 2"}


def torch_notebook() -> tuple[Assignment, NotebookRun]:
    cells = nb(
        md("# Setup"),
        code("import torch"),
        md("## Exercise 1"),
        code("x = torch.zeros(3)"),
        md("## Exercise 2"),
        code("def f():\n    return 1"),
    )
    runs = {
        1: CellRun("error", MISSING_TORCH),
        3: CellRun("error", name_error(2, "x = torch.zeros(3)")),
        5: CellRun("ok"),
    }
    tests = {"2": CellRun("error", name_error(4, "assert torch.ones(1) == f()"))}
    ex = assignment(Exercise("1"), Exercise("2", test="assert torch.ones(1) == f()"))
    return ex, NotebookRun(cells, runs, tests)


def test_a_missing_package_is_a_notebook_problem_saying_which_and_what_to_do() -> None:
    ex, run = torch_notebook()
    evaluation = evaluate(ex, run)
    (problem,) = evaluation.problems
    assert problem.startswith(
        "The 2nd cell, under 'Setup', failed first: ModuleNotFoundError: No module named 'torch'."
    )
    assert problem.endswith("Its failing line: import torch")
    assert "Later errors may follow from it" in problem
    assert "no package `torch`: a notebook cannot install packages while it is graded" in problem


def test_later_errors_point_at_the_first_failure() -> None:
    ex, run = torch_notebook()
    first, second = evaluate(ex, run).exercises
    assert first.detail.splitlines() == [
        "the 4th cell, under 'Exercise 1', failed: NameError: name 'torch' is not defined",
        "at line 1:",
        "  --> 1 x = torch.zeros(3)",
        "This may follow from an earlier error: the 2nd cell, under 'Setup', failed first: "
        "ModuleNotFoundError: No module named 'torch' (see the notebook's problems).",
    ]
    assert second.detail.startswith("the check of exercise 2 failed: NameError")
    assert "This may follow from an earlier error: the 2nd cell" in second.detail
    assert "In[" not in first.detail + second.detail


def test_the_first_failure_of_an_exercise_itself_is_no_extra_problem() -> None:
    cells = nb(md("## Exercise 1"), code("1 / 0"), md("## Exercise 2"), code("y = 2"))
    error = "ZeroDivisionError: division by zero\nCell In[1], line 1\n----> 1 1 / 0"
    run = NotebookRun(cells, {1: CellRun("error", error), 3: CellRun("ok")})
    evaluation = evaluate(assignment(Exercise("1"), Exercise("2")), run)
    assert evaluation.problems == ()
    assert "earlier error" not in evaluation.exercises[0].detail


def test_a_failing_cell_outside_every_exercise_is_a_problem() -> None:
    cells = nb(code("import torch"), md("## Exercise 1"), code("y = 2"))
    run = NotebookRun(cells, {0: CellRun("error", MISSING_TORCH), 2: CellRun("ok")})
    evaluation = evaluate(assignment(Exercise("1")), run)
    assert evaluation.status == "complete"  # the problem informs; it decides nothing
    (problem,) = evaluation.problems
    assert problem.startswith("The 1st cell failed first: ModuleNotFoundError")
    assert "Later errors" not in problem


def test_a_failing_check_shows_its_line_and_the_values_not_a_hidden_cell() -> None:
    cells = nb(md("## Exercise 1"), code("def f(x):\n    return x + 1"))
    error = (
        "AssertionError: \n"
        "AssertionError                            Traceback (most recent call last)\n"
        "Cell In[2], line 2\n"
        "      1 y = f(2)\n"
        "----> 2 assert y == 4\n"
        "AssertionError: \n" + tracebacks.compared_line("==", "3", "4")
    )
    run = NotebookRun(cells, {1: CellRun("ok")}, {"1": CellRun("error", error)})
    result = one(Exercise("1", test="y = f(2)\nassert y == 4"), run)
    assert result.detail.splitlines() == [
        "the check of exercise 1 failed: AssertionError:",
        "at line 2:",
        "      1 y = f(2)",
        "  --> 2 assert y == 4",
        "got 3, expected 4",
    ]


def test_an_error_detail_stays_within_what_the_ledger_accepts() -> None:
    context = "".join(f"      {n} {'c' * 150}\n" for n in range(3))
    frames = "".join(
        f"Cell In[1], line {i}, in f{i}\n{context}----> {i} {'x' * 150}\n" for i in range(300)
    )
    error = f"ValueError: {'v' * 3000}\nValueError  Traceback (most recent call last)\n{frames}"
    cells = nb(md("## Exercise 1"), code("f()"))
    result = one(Exercise("1"), NotebookRun(cells, {1: CellRun("error", error)}))
    assert len(result.detail) <= 1_500
    assert result.detail.startswith("the 2nd cell, under 'Exercise 1', failed: ValueError: vvv")


def test_a_placeholder_that_raises_is_not_the_first_failure() -> None:
    stub = "# YOUR CODE HERE\nraise NotImplementedError()"
    cells = nb(md("## Exercise 1"), code(stub), md("## Exercise 2"), code("1 / 0"))
    raised = "NotImplementedError\nCell In[1], line 2\n----> 2 raise NotImplementedError()"
    error = "ZeroDivisionError: division by zero\nCell In[2], line 1\n----> 1 1 / 0"
    run = NotebookRun(cells, {1: CellRun("error", raised), 3: CellRun("error", error)})
    evaluation = evaluate(assignment(Exercise("1"), Exercise("2")), run)
    assert [r.status for r in evaluation.exercises] == ["empty", "error"]
    assert "earlier error" not in evaluation.exercises[1].detail
    assert evaluation.problems == ()


def test_a_check_missing_a_name_says_what_to_define() -> None:
    cells = nb(md("## Exercise 1"), code("def square(x):\n    return x * x"))
    error = (
        "NameError: name 'sqaure' is not defined\n"
        "NameError                                 Traceback (most recent call last)\n"
        "Cell In[2], line 1\n"
        "----> 1 assert sqaure(3) == 9\n"
        "NameError: name 'sqaure' is not defined"
    )
    run = NotebookRun(cells, {1: CellRun("ok")}, {"1": CellRun("error", error)})
    result = one(Exercise("1", test="assert sqaure(3) == 9"), run)
    assert result.detail.splitlines()[-1] == (
        "The check uses `sqaure`: define it in your answer, with exactly this name."
    )
    in_a_cell = NotebookRun(cells, {1: CellRun("error", error)})
    assert "The check uses" not in one(Exercise("1"), in_a_cell).detail
