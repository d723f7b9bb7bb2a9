"""Building blocks for validating loaded YAML: problems with a file and key path.

Pure. A `Report` collects every problem of one file; each checker takes the
report, the key path and the raw value, and returns the checked value or
`None` after reporting why it is wrong.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from grader.core.errors import UserError

__all__ = [
    "Checker",
    "ConfigError",
    "ConfigProblem",
    "Report",
    "count",
    "describe",
    "flag",
    "get",
    "items",
    "join",
    "non_negative",
    "positive",
    "table",
    "text",
]

T = TypeVar("T")
# A checker reports what is wrong and returns None, or returns the checked value.
Checker = Callable[["Report", str, object], T | None]


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the course configuration."""

    file: str
    path: str  # key path inside the file, e.g. "exercises[2].id"; "" for the whole file
    message: str

    def __str__(self) -> str:
        return ": ".join(part for part in (self.file, self.path, self.message) if part)


class ConfigError(UserError):
    """The course configuration is invalid; `problems` lists every reason."""

    def __init__(self, details: Sequence[ConfigProblem]) -> None:
        self.details = tuple(details)
        super().__init__("\n".join(self.problems))

    @property
    def problems(self) -> list[str]:
        return [str(problem) for problem in self.details]

    @property
    def file(self) -> str:
        return self.details[0].file if self.details else ""

    @property
    def key_path(self) -> str:
        return self.details[0].path if self.details else ""


class Report:
    """Collects the problems of one file."""

    def __init__(self, file: str, sink: list[ConfigProblem]) -> None:
        self.file = file
        self.sink = sink

    def error(self, path: str, message: str) -> None:
        self.sink.append(ConfigProblem(self.file, path, message))


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f'a string ("{value[:40]}")'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} ({value})"


def table(
    r: Report, path: str, value: object, allowed: Sequence[str], required: Sequence[str] = ()
) -> Mapping[str, object] | None:
    """A mapping with only `allowed` keys and every `required` one."""
    if not isinstance(value, dict):
        where = "the file" if not path else "this key"
        r.error(path, f"{where} must be a mapping of {', '.join(allowed)}; got {describe(value)}")
        return None
    for key in value:
        if key not in allowed:
            r.error(join(path, str(key)), unknown_key(str(key), allowed))
    for key in required:
        if key not in value:
            r.error(join(path, key), "required key is missing")
    return cast(Mapping[str, object], value)


def unknown_key(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f'did you mean "{close[0]}"? ' if close else ""
    return f"unknown key; {hint}allowed keys here: {', '.join(allowed)}"


def text(r: Report, path: str, value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    r.error(path, f"expected a non-empty string; got {describe(value)}")
    return None


def flag(r: Report, path: str, value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    r.error(path, f"expected true or false; got {describe(value)}")
    return None


def number(r: Report, path: str, value: object, *, allow_zero: bool) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (value > 0 or (allow_zero and value == 0)):  # type: ignore[operator]
        return float(value)  # type: ignore[arg-type]
    wanted = "a number >= 0" if allow_zero else "a number > 0"
    r.error(path, f"expected {wanted}; got {describe(value)}")
    return None


def count(r: Report, path: str, value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    r.error(path, f"expected a whole number > 0; got {describe(value)}")
    return None


def items(r: Report, path: str, value: object) -> list[object] | None:
    if isinstance(value, list):
        return value
    r.error(path, f"expected a list; got {describe(value)}")
    return None


def get(
    r: Report,
    table: Mapping[str, object] | None,
    path: str,
    key: str,
    check: Checker[T],
    default: T,
) -> T:
    """The checked value of `table[key]`, or `default` when absent or invalid."""
    if table is None or key not in table:
        return default
    got = check(r, join(path, key), table[key])
    return default if got is None else got


def positive(r: Report, path: str, value: object) -> float | None:
    return number(r, path, value, allow_zero=False)


def non_negative(r: Report, path: str, value: object) -> float | None:
    return number(r, path, value, allow_zero=True)
