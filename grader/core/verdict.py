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
  student counts them, with the nearest heading above ("the 6th cell, under
  'Exercise 2'"); a check is "the check of exercise X". IPython's `Cell In[k]`
  is the k-th execution of the grader's run (`executions`).
- An error detail is the exception, then the student's own failing frame with
  context and its callers, the values a failing check compared, and, when an
  earlier cell (not a placeholder stub) failed first, that failure
  (`grader.core.tracebacks`). That first failure is also a notebook problem
  when some later error may follow from it or when it belongs to no exercise;
  it never changes a status. Details stay under 1,500 characters (the
  ledger accepts 2,000).
- Code that changes how the grader runs code (THREATS 43, `grader.core.tamper`)
  makes an exercise an `error` that only a TA can accept, where it would
  otherwise be ok: when it is in one of the exercise's code cells, or when it
  can reach the exercise's check (the check runs after every cell) or a later
  cell of the exercise. It never hides a missing, empty, not-run or timeout
  status, which come first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from grader.core import tamper, tracebacks
from grader.core.cells import answer_cells, cells_of, headings, is_placeholder, word_count
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

__all__ = ["UNREADABLE", "cell_name", "evaluate", "executions", "judge"]

UNREADABLE = "the notebook could not be read"
_MAX_ERROR_LINES = 3
_MAX_DETAIL = 300
_MAX_ERROR_DETAIL = 1_500  # codec.MAX_DETAIL is 2,000: the ledger must accept every detail
_HEADING_CHARS = 60


def evaluate(assignment: Assignment, run: NotebookRun) -> Evaluation:
    """Judge every exercise of `assignment` against what `run` found."""
    ids = [exercise.id for exercise in assignment.exercises]
    belonging = cells_of(ids, run.cells) if run.readable else {i: () for i in ids}
    changes = tamper.scan(run.cells) if run.readable and ids else ()
    names = executions(assignment, run)
    results = tuple(
        judge(exercise, belonging[exercise.id], run, changes, names)
        for exercise in assignment.exercises
    )
    complete = _notebook_ok(run) and all(result.status == "ok" for result in results)
    first = _first_failure_problem(run, belonging, results)
    return Evaluation(
        assignment=assignment.id,
        status="complete" if complete else "incomplete",
        exercises=results,
        problems=_problems(run) + first,
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
    names: Mapping[int, str] | None = None,
) -> ExerciseResult:
    """The status of one exercise, given the cells that belong to it.

    `changes` are what the notebook's code does to the grader's machinery
    (`tamper.scan` of every cell); without them nothing counts as tampering.
    `names`: IPython's execution counts -> what the student calls that cell
    (`executions`); without it, from `run` alone.
    """
    names = executions(None, run) if names is None else names
    if not run.readable:
        return ExerciseResult(exercise.id, "missing", UNREADABLE)
    if not belonging:
        return ExerciseResult(exercise.id, "missing", _missing_detail(exercise.id))
    answers = answer_cells(exercise, belonging)
    filled = tuple(cell for cell in answers if not is_placeholder(cell))
    empty = _empty_detail(exercise, belonging, answers, filled)
    if empty is not None:
        return ExerciseResult(exercise.id, "empty", empty)
    result = _run_result(exercise, _runs(exercise, filled, run), run, names)
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


_NOT_RUN = CellRun("not-run")
_EARLIER = "This may follow from an earlier error"


def _runs(
    exercise: Exercise, filled: Sequence[Cell], run: NotebookRun
) -> list[tuple[int | None, CellRun]]:
    """(the cell's index, or None for the check; its result) for every execution it depends on."""
    runs: list[tuple[int | None, CellRun]] = [
        (cell.index, run.runs.get(cell.index, _NOT_RUN))
        for cell in filled
        if cell.cell_type == "code"
    ]
    if exercise.test is not None:
        runs.append((None, _test_run(exercise.id, run.tests) or _NOT_RUN))
    return runs


def _test_run(exercise_id: str, tests: Mapping[str, CellRun]) -> CellRun | None:
    if exercise_id in tests:
        return tests[exercise_id]
    key = exercise_id.casefold()
    return next((r for i, r in tests.items() if i.casefold() == key), None)


_PRECEDENCE: tuple[RunStatus, ...] = ("not-run", "timeout", "error")


def _run_result(
    exercise: Exercise,
    runs: Sequence[tuple[int | None, CellRun]],
    run: NotebookRun,
    names: Mapping[int, str],
) -> ExerciseResult:
    for status in _PRECEDENCE:
        for index, result in runs:
            if result.status != status:
                continue
            who = _check_name(exercise.id) if index is None else cell_name(index, run.cells)
            if status == "error":
                return ExerciseResult(
                    exercise.id, status, _error_detail(who, index, result, run, names)
                )
            return ExerciseResult(exercise.id, status, _run_detail(who, result))
    return ExerciseResult(exercise.id, "ok")


def _run_detail(who: str, result: CellRun) -> str:
    summary = _summary(result.error)
    if result.status == "not-run":
        return f"{_subject(who)} did not run: {summary or 'execution stopped before it'}"
    if result.status == "timeout":
        return f"{_subject(who)} ran past the time limit" + (f": {summary}" if summary else "")
    return f"{_subject(who)} failed: {summary}" if summary else f"{_subject(who)} failed"


def _error_detail(
    who: str, index: int | None, result: CellRun, run: NotebookRun, names: Mapping[int, str]
) -> str:
    """The exception, where in the student's code, the values a check compared, and the cause.

    An error text the runner did not produce from a traceback (no frames)
    keeps its first lines as they are.
    """
    failure = tracebacks.parse(result.error)
    if not failure.frames and failure.compared is None:
        lines = [_run_detail(who, result)]
    else:
        lines = [f"{_subject(who)} failed: {failure.head}"]
        lines += tracebacks.describe(failure, _namer(names), here=who)
    hint = tracebacks.missing_package(failure) or _check_hint(index, failure)
    if hint is not None:
        lines.append(hint)
    earlier = _earlier_failure(run, index)
    if earlier is not None:
        lines.append(f"{_EARLIER}: {earlier}")
    return _bounded(lines)


def _check_hint(index: int | None, failure: tracebacks.Failure) -> str | None:
    """A check that cannot find a name the answer should define: say so."""
    name = tracebacks.undefined_name(failure)
    own = [f for f in failure.frames if f.student]
    if index is not None or name is None or len(own) != 1:
        return None
    return f"The check uses `{name}`: define it in your answer, with exactly this name."


def _earlier_failure(run: NotebookRun, index: int | None) -> str | None:
    """The notebook's first failing cell before `index` (None: the check), told in one line."""
    first = _first_failed_cell(run)
    if first is None or (index is not None and first >= index):
        return None
    failure = tracebacks.parse(run.runs[first].error)
    name = _subject(cell_name(first, run.cells))
    return f"{name} failed first: {failure.head} (see the notebook's problems)."


def _first_failed_cell(run: NotebookRun) -> int | None:
    """The first cell that raised, leaving out placeholders: a stub raises by design."""
    cells = {cell.index: cell for cell in run.cells}
    failed = (
        i
        for i, r in run.runs.items()
        if r.status == "error" and not (i in cells and is_placeholder(cells[i]))
    )
    return min(failed, default=None)


def _first_failure_problem(
    run: NotebookRun,
    belonging: Mapping[str, Sequence[Cell]],
    results: Sequence[ExerciseResult],
) -> tuple[str, ...]:
    """The notebook's first failing cell, as a problem, when later errors may follow from it.

    Also when it belongs to no exercise: then no exercise reports it at all.
    """
    first = _first_failed_cell(run) if run.readable else None
    if first is None:
        return ()
    owned = {cell.index for cells in belonging.values() for cell in cells}
    follows = any(_EARLIER in result.detail for result in results)
    if first in owned and not follows:
        return ()
    failure = tracebacks.parse(run.runs[first].error)
    name = _subject(cell_name(first, run.cells))
    parts = [f"{name[0].upper()}{name[1:]} failed first: {failure.head[:200]}."]
    if follows:
        parts.append("Later errors may follow from it: fix it first.")
    hint = tracebacks.missing_package(failure)
    if hint:
        parts.append(hint)
    line = tracebacks.failing_line(failure)
    if line:
        parts.append(f"Its failing line: {line}")
    return (_bounded([" ".join(parts)]),)


def _bounded(lines: Sequence[str]) -> str:
    text = "\n".join(lines)
    return text if len(text) <= _MAX_ERROR_DETAIL else text[: _MAX_ERROR_DETAIL - 1] + "…"


# --- naming cells as the student sees them ------------------------------------------


def executions(assignment: Assignment | None, run: NotebookRun) -> dict[int, str]:
    """IPython's execution count k (`Cell In[k]`) -> what the student calls what ran k-th.

    The runner executes every non-blank code cell in order (nbclient skips
    blank ones; a syntax error or a timeout still counts), then each check.
    Cells after a stop did not run and took no number.
    """
    names: dict[int, str] = {}
    for cell in run.cells:
        ran = run.runs.get(cell.index, _NOT_RUN).status != "not-run"
        if cell.cell_type == "code" and cell.source.strip() and ran:
            names[len(names) + 1] = cell_name(cell.index, run.cells)
    blank = set()
    if assignment is not None:
        blank = {e.id for e in assignment.exercises if e.test is not None and not e.test.strip()}
    for exercise_id, result in run.tests.items():
        if result.status != "not-run" and exercise_id not in blank:
            names[len(names) + 1] = _check_name(exercise_id)
    return names


def cell_name(index: int, cells: Sequence[Cell]) -> str:
    """ "the 6th cell, under 'Exercise 2'": every cell counts, from 1, as in Jupyter."""
    name = f"the {_ordinal(index + 1)} cell"
    heading = _heading_above(index, cells)
    return f"{name}, under '{heading}'" if heading else name


def _heading_above(index: int, cells: Sequence[Cell]) -> str:
    for cell in reversed(cells[: index + 1]):
        if cell.cell_type == "markdown" and cell.index <= index:
            found = headings(cell.source)
            if found:
                text = " ".join(found[-1].text.replace("*", "").replace("`", "").split())
                return text[:_HEADING_CHARS] + ("…" if len(text) > _HEADING_CHARS else "")
    return ""


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _check_name(exercise_id: str) -> str:
    return f"the check of exercise {exercise_id}"


def _subject(name: str) -> str:
    """A name followed by a verb: "the 6th cell, under 'Exercise 2'," keeps its clause apart."""
    return f"{name}," if name.endswith("'") else name


def _namer(names: Mapping[int, str]) -> Callable[[int], str]:
    def name_of(execution: int) -> str:
        return names.get(execution, f"an earlier run (In[{execution}])")

    return name_of


def _summary(error: str) -> str:
    """The first lines of an error, short enough for a table cell."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    text = "\n".join(lines[:_MAX_ERROR_LINES])
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
