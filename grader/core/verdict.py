"""An executed notebook -> one status per exercise -> the notebook's Evaluation.

Per exercise the first row that applies wins (CONTRACT section 2): missing,
empty, not-run, timeout, error, ok.

Decisions the contract leaves open, chosen here:

- Runs that count are those of the exercise's code answer cells that are not
  placeholders, then its test. A cell with no recorded run, and a test with
  no result, count as not-run: execution stopped before them.
- `min_words` counts the words of the markdown answer cells that are not
  placeholders (a leftover `YOUR ANSWER HERE` earns nothing). It is ignored
  for `answer: code`, which has no markdown answers to count.
- The notebook is complete when every exercise is ok, except that it is
  always incomplete when it could not be read, or when the run reported a
  problem and nothing executed at all (the kernel never started). Other
  problems (a notebook timeout, a dead kernel) already show as error or
  not-run on the exercises they hit; on their own they do not fail a notebook
  whose every exercise ran fine.
- Details name cells by their position in the notebook counted from 1, as a
  student counts them.
- Code that changes how the grader runs code (THREATS 43, `grader.core.tamper`)
  makes an exercise an `error` that only a TA can accept, where it would
  otherwise be ok: when it is in one of the exercise's code cells, or when it
  can reach the exercise's check (the check runs after every cell) or a later
  cell of the exercise. It never hides a missing, empty, not-run or timeout
  status, which come first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from grader.core import tamper
from grader.core.cells import answer_cells, cells_of, is_placeholder, word_count
from grader.core.model import (
    Assignment,
    Cell,
    CellRun,
    Evaluation,
    Exercise,
    ExerciseResult,
    NotebookRun,
    RunStatus,
)

__all__ = ["UNREADABLE", "evaluate", "judge"]

UNREADABLE = "the notebook could not be read"
_MAX_ERROR_LINES = 3
_MAX_DETAIL = 300


def evaluate(assignment: Assignment, run: NotebookRun) -> Evaluation:
    """Judge every exercise of `assignment` against what `run` found."""
    ids = [exercise.id for exercise in assignment.exercises]
    belonging = cells_of(ids, run.cells) if run.readable else {i: () for i in ids}
    changes = tamper.scan(run.cells) if run.readable and ids else ()
    results = tuple(
        judge(exercise, belonging[exercise.id], run, changes) for exercise in assignment.exercises
    )
    complete = _notebook_ok(run) and all(result.status == "ok" for result in results)
    return Evaluation(
        assignment=assignment.id,
        status="complete" if complete else "incomplete",
        exercises=results,
        problems=_problems(run),
    )


def _notebook_ok(run: NotebookRun) -> bool:
    if not run.readable:
        return False
    ran = any(r.status != "not-run" for r in (*run.runs.values(), *run.tests.values()))
    return ran or not run.problems


def _problems(run: NotebookRun) -> tuple[str, ...]:
    if not run.readable and not run.problems:
        return (UNREADABLE,)
    return tuple(run.problems)


def judge(
    exercise: Exercise,
    belonging: Sequence[Cell],
    run: NotebookRun,
    changes: Sequence[tamper.Change] = (),
) -> ExerciseResult:
    """The status of one exercise, given the cells that belong to it.

    `changes` are what the notebook's code does to the grader's machinery
    (`tamper.scan` of every cell); without them nothing counts as tampering.
    """
    if not run.readable:
        return ExerciseResult(exercise.id, "missing", UNREADABLE)
    if not belonging:
        return ExerciseResult(exercise.id, "missing", _missing_detail(exercise.id))
    answers = answer_cells(exercise, belonging)
    filled = tuple(cell for cell in answers if not is_placeholder(cell))
    empty = _empty_detail(exercise, belonging, answers, filled)
    if empty is not None:
        return ExerciseResult(exercise.id, "empty", empty)
    result = _run_result(exercise, _runs(exercise, filled, run))
    if result.status not in ("ok", "error"):
        return result
    found = _tampering(exercise, belonging, changes)
    if found is None:
        return result
    detail = _tamper_detail(found, belonging)
    if result.status == "error":
        detail += f" Also, {result.detail}"
    return ExerciseResult(exercise.id, "error", detail)


def _tampering(
    exercise: Exercise, belonging: Sequence[Cell], changes: Sequence[tamper.Change]
) -> tamper.Finding | None:
    """The first change that can alter how this exercise's cells or check run."""
    if not changes:
        return None
    own = {cell.index for cell in belonging if cell.cell_type == "code"}
    last = max(own, default=-1)
    for finding in tamper.findings(changes, tamper.check_use(exercise.test)):
        if finding.cell in own or exercise.test is not None or finding.cell < last:
            return finding
    return None


def _tamper_detail(found: tamper.Finding, belonging: Sequence[Cell]) -> str:
    where = f"cell {found.cell + 1}, line {found.line}"
    if found.cell not in {cell.index for cell in belonging}:
        where += " (outside this exercise)"
    text = f"{where} {found.what}."
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 1] + "…"
    return (
        f"{text} Code that changes how the grader runs code is never graded automatically; "
        "if it is harmless, a TA can accept it with /grader complete."
    )


def _missing_detail(exercise_id: str) -> str:
    return f"no cell is tagged exercise-{exercise_id} or under an 'Exercise {exercise_id}' heading"


def _empty_detail(
    exercise: Exercise,
    belonging: Sequence[Cell],
    answers: Sequence[Cell],
    filled: Sequence[Cell],
) -> str | None:
    if not answers:
        return _wrong_kind_detail(exercise, belonging)
    if not filled:
        return f"no answer yet: {_cells_phrase(answers)}"
    if exercise.min_words is None or exercise.answer == "code":
        return None
    words = word_count([cell for cell in filled if cell.cell_type == "markdown"])
    if words >= exercise.min_words:
        return None
    return f"{_plural(words, 'word')}; at least {exercise.min_words} needed"


def _wrong_kind_detail(exercise: Exercise, belonging: Sequence[Cell]) -> str:
    kind = {"code": "a code", "markdown": "a markdown"}.get(exercise.answer, "a code or markdown")
    if len(belonging) == 1:
        return f"its only cell is not {kind} cell"
    return f"none of its {len(belonging)} cells is {kind} cell"


def _cells_phrase(cells: Sequence[Cell]) -> str:
    numbers = ", ".join(str(cell.index + 1) for cell in cells)
    if len(cells) == 1:
        return f"cell {numbers} is blank or a placeholder"
    return f"cells {numbers} are blank or placeholders"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _runs(
    exercise: Exercise, filled: Sequence[Cell], run: NotebookRun
) -> list[tuple[str, CellRun]]:
    """(who ran, its result) for every execution this exercise depends on."""
    not_run = CellRun("not-run")
    runs = [
        (f"cell {cell.index + 1}", run.runs.get(cell.index, not_run))
        for cell in filled
        if cell.cell_type == "code"
    ]
    if exercise.test is not None:
        runs.append(("its test", _test_run(exercise.id, run.tests) or not_run))
    return runs


def _test_run(exercise_id: str, tests: Mapping[str, CellRun]) -> CellRun | None:
    if exercise_id in tests:
        return tests[exercise_id]
    key = exercise_id.casefold()
    return next((r for i, r in tests.items() if i.casefold() == key), None)


_PRECEDENCE: tuple[RunStatus, ...] = ("not-run", "timeout", "error")


def _run_result(exercise: Exercise, runs: Sequence[tuple[str, CellRun]]) -> ExerciseResult:
    for status in _PRECEDENCE:
        for who, result in runs:
            if result.status == status:
                return ExerciseResult(exercise.id, status, _run_detail(who, result))
    return ExerciseResult(exercise.id, "ok")


def _run_detail(who: str, result: CellRun) -> str:
    summary = _summary(result.error)
    if result.status == "not-run":
        return f"{who} did not run: {summary or 'execution stopped before it'}"
    if result.status == "timeout":
        return f"{who} ran past the time limit" + (f": {summary}" if summary else "")
    return f"{who} failed: {summary}" if summary else f"{who} failed"


def _summary(error: str) -> str:
    """The first lines of an error, short enough for a table cell."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    text = "\n".join(lines[:_MAX_ERROR_LINES])
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
