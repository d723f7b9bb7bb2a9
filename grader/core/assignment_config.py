"""Parse one loaded `exercises/<id>.yml` into an `Assignment` (CONTRACT section 1)."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from datetime import date, datetime

from grader.core import configcheck as check
from grader.core.configcheck import Report
from grader.core.model import AnswerKind, Assignment, Exercise

__all__ = ["ASSIGNMENT_ID", "parse_assignment"]

ASSIGNMENT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,48}")
EXERCISE_ID = re.compile(r"[A-Za-z0-9_.-]+")
ANSWER_KINDS: tuple[AnswerKind, ...] = ("code", "markdown", "any")
ASSIGNMENT_KEYS = ("title", "deadline", "counts_for_certificate", "exercises")
EXERCISE_KEYS = ("id", "title", "answer", "min_words", "test")
DEADLINE_HINT = (
    "write a date, a time and a UTC offset, e.g. 2020-08-08T23:59:00-12:00 "
    "(Anywhere on Earth) or 2020-08-08T23:59:00Z (UTC)"
)


def parse_assignment(r: Report, aid: str, data: object) -> Assignment | None:
    """The assignment `aid` (its file stem), or None after reporting what is wrong."""
    if not ASSIGNMENT_ID.fullmatch(aid):
        r.error(
            "",
            f'"{aid}" is not a valid assignment id: rename the file to lower-case letters, '
            "digits and '-', starting with a letter or digit, at most 49 characters",
        )
    if data is None:
        r.error("", "the file is empty; it needs at least `deadline:` and `exercises:`")
        return None
    table = check.table(r, "", data, ASSIGNMENT_KEYS, required=("deadline", "exercises"))
    deadline = check.get(r, table, "", "deadline", _deadline, None)
    exercises = check.get(r, table, "", "exercises", _exercises, None)
    counts = check.get(r, table, "", "counts_for_certificate", check.flag, True)
    title = check.get(r, table, "", "title", check.text, aid)
    if deadline is None or exercises is None:
        return None
    return Assignment(aid, title, deadline, counts, exercises)


def _deadline(r: Report, path: str, value: object) -> datetime | None:
    """PyYAML yields an aware or naive datetime, a date, or (quoted) a string."""
    if isinstance(value, str):
        value = _parse_iso(value.strip())
        if isinstance(value, str):
            r.error(path, f'"{value}" is not an ISO 8601 date-time; {DEADLINE_HINT}')
            return None
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value
    if isinstance(value, datetime):
        example = value.isoformat(timespec="seconds")
        r.error(
            path,
            f"{example} has no UTC offset; add one, e.g. {example}-12:00 "
            f"(Anywhere on Earth) or {example}Z (UTC)",
        )
    elif isinstance(value, date):
        r.error(path, f"{value.isoformat()} is a date without a time; {DEADLINE_HINT}")
    else:
        r.error(path, f"expected a date-time; got {check.describe(value)}; {DEADLINE_HINT}")
    return None


def _parse_iso(text: str) -> date | datetime | str:
    """A quoted deadline as PyYAML would have read it unquoted; `text` when unparsable."""
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            return parse(text)
        except ValueError:
            continue
    return text


def _exercises(r: Report, path: str, value: object) -> tuple[Exercise, ...] | None:
    items = check.items(r, path, value)
    if items is None:
        return None
    parsed = [_exercise(r, f"{path}[{i}]", item) for i, item in enumerate(items)]
    _check_unique_ids(r, path, parsed)
    if any(exercise is None for exercise in parsed):
        return None
    return tuple(exercise for exercise in parsed if exercise is not None)


def _check_unique_ids(r: Report, path: str, parsed: Sequence[Exercise | None]) -> None:
    """Tags compare case-insensitively, so ids must differ case-insensitively too."""
    first: dict[str, int] = {}
    for i, exercise in enumerate(parsed):
        if exercise is None:
            continue
        j = first.setdefault(exercise.id.casefold(), i)
        if j != i:
            r.error(
                f"{path}[{i}].id",
                f'duplicate exercise id "{exercise.id}" (already used by {path}[{j}]); '
                "ids must be unique, compared case-insensitively",
            )


def _exercise_id(r: Report, path: str, value: object) -> str | None:
    if isinstance(value, str) and EXERCISE_ID.fullmatch(value):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        r.error(path, f'expected a string; quote the number: id: "{value}"')
    else:
        r.error(path, f"expected letters, digits, '_', '.' or '-'; got {check.describe(value)}")
    return None


def _answer(r: Report, path: str, value: object) -> AnswerKind | None:
    for kind in ANSWER_KINDS:
        if value == kind:
            return kind
    r.error(path, f"expected one of code, markdown, any; got {check.describe(value)}")
    return None


def _test(r: Report, path: str, value: object) -> str | None:
    text = check.text(r, path, value)
    if text is None:
        return None
    try:
        ast.parse(text)
    except SyntaxError as exc:
        r.error(path, f"the test is not valid Python (line {exc.lineno}: {exc.msg}); fix it")
        return None
    return text


def _exercise(r: Report, path: str, value: object) -> Exercise | None:
    table = check.table(r, path, value, EXERCISE_KEYS, required=("id",))
    if table is None:
        return None
    ex_id = check.get(r, table, path, "id", _exercise_id, None)
    default: AnswerKind = "any"
    answer = check.get(r, table, path, "answer", _answer, default)
    min_words = check.get(r, table, path, "min_words", check.count, None)
    if min_words is not None and answer != "markdown":
        r.error(
            check.join(path, "min_words"),
            "min_words applies only to markdown answers; set `answer: markdown` or remove it",
        )
    title = check.get(r, table, path, "title", check.text, "")
    test = check.get(r, table, path, "test", _test, None)
    return None if ex_id is None else Exercise(ex_id, title, answer, min_words, test)
