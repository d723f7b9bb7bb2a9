"""Hold recorded exchanges with the fake against GitHub's own OpenAPI description.

For every exchange the recorder kept (recorder.py) the check asks: is the
route documented (path template and method), are its path parameters valid,
is every query parameter declared and valid, is the request body valid, is
the status documented, is the response body valid (GitHub's description:
openapi.py). An answer a test injected (a fault, a rate limit) is not
GitHub's documented answer: only its request is checked.

Where GitHub's description is stricter than GitHub itself, an entry in
`openapi_exceptions.yml` (beside this file) says so, with evidence; a problem
no entry covers fails the test session (see tests/conftest.py).

    python -m tests.fakegithub.conformance RECORDING.jsonl

runs the same check on a recording (`FAKEGITHUB_RECORDING=... pytest` keeps one).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .openapi import (
    DESCRIPTION,
    Description,
    Operation,
    coerce,
    ensure_description,
    installed_version,
    pinned_version,
    resolved_schema,
    schema_problems,
)
from .recorder import read

EXCEPTIONS = Path(__file__).resolve().parent / "openapi_exceptions.yml"

__all__ = [
    "DESCRIPTION",
    "Description",
    "Operation",
    "ensure_description",
    "installed_version",
    "pinned_version",
]


# --- problems ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    kind: str  # route | query | request | status | response
    route: str  # "GET /repos/{owner}/{repo}/..." or the raw path when undocumented
    status: int | None
    where: str  # JSON path inside the body ("$.head.repo"), or the query parameter
    message: str
    test: str = ""

    @property
    def key(self) -> tuple[str, str, int | None, str, str]:
        return (self.kind, self.route, self.status, _generic(self.where), self.message)

    def __str__(self) -> str:
        status = "" if self.status is None else f" -> {self.status}"
        return f"[{self.kind}] {self.route}{status} at {self.where}: {self.message}"


def _generic(where: str) -> str:
    return re.sub(r"\[\d+\]", "[*]", where)


def check(description: Description, exchange: dict[str, Any]) -> list[Problem]:
    """Every way one recorded exchange departs from GitHub's description."""
    method, path, test = exchange["method"], exchange["path"], exchange.get("test", "")
    found = description.match(method, path)
    if found is None:
        return [
            Problem(
                "route", f"{method} {path}", exchange["status"], "path", "no such operation", test
            )
        ]
    op, params = found
    problems = [*_param_problems(description, op, params, exchange, test)]
    problems += _body_problems(description, op, exchange, test)
    return problems + _response_problems(description, op, exchange, test)


def _param_problems(
    description: Description,
    op: Operation,
    params: dict[str, str],
    exchange: dict[str, Any],
    test: str,
) -> Iterator[Problem]:
    def invalid(kind: str, name: str, pointer: str, raw: str) -> Iterator[Problem]:
        value = coerce(raw, resolved_schema(description, pointer))
        for _, message in schema_problems(description, pointer, value, write=True):
            yield Problem(kind, op.route, None, name, message, test)

    for name, raw in params.items():
        yield from invalid("path", name, op.path_params[name], raw)
    for name, raw in exchange["query"]:
        if name not in op.query:
            yield Problem("query", op.route, None, name, "undeclared query parameter", test)
        else:
            yield from invalid("query", name, op.query[name], raw)


def _body_problems(
    description: Description, op: Operation, exchange: dict[str, Any], test: str
) -> list[Problem]:
    body = exchange["request"]
    if op.body is None:
        if body is None:
            return []
        return [Problem("request", op.route, None, "$", "a body where none is documented", test)]
    if body is None:
        missing = "no body, but the body is required"
        return [Problem("request", op.route, None, "$", missing, test)] if op.body_required else []
    return [
        Problem("request", op.route, None, where, message, test)
        for where, message in schema_problems(description, op.body, body, write=True)
    ]


def _response_problems(
    description: Description, op: Operation, exchange: dict[str, Any], test: str
) -> list[Problem]:
    status = exchange["status"]
    if status is None:  # a fault a test injected: the answer is the test's, not GitHub's
        return []
    key = str(status) if str(status) in op.responses else "default"
    if key not in op.responses:
        documented = ", ".join(op.responses)
        return [
            Problem("status", op.route, status, "status", f"undocumented (has {documented})", test)
        ]
    pointer, body = op.responses[key], exchange["response"]
    if pointer is None or body is None:
        return []
    return [
        Problem("response", op.route, status, where, message, test)
        for where, message in schema_problems(description, pointer, body, write=False)
    ]


# --- the reviewed allow-list -----------------------------------------------------------------


@dataclass(frozen=True)
class Exception_:
    kind: str
    route: str
    where: str  # regex on the generic JSON path ($[*].head.repo)
    message: str  # regex on the message
    status: int | None
    reason: str
    evidence: str
    grader_bug: bool

    def covers(self, problem: Problem) -> bool:
        return (
            self.kind == problem.kind
            and self.route == problem.route
            and (self.status is None or self.status == problem.status)
            and re.fullmatch(self.where, _generic(problem.where)) is not None
            and re.search(self.message, problem.message) is not None
        )


def load_exceptions(path: Path = EXCEPTIONS) -> list[Exception_]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    found = []
    for index, entry in enumerate(entries):
        missing = [k for k in ("kind", "route", "reason", "evidence") if not entry.get(k)]
        if missing:
            raise ValueError(f"{path.name} entry {index + 1} lacks {', '.join(missing)}")
        found.append(
            Exception_(
                kind=entry["kind"],
                route=entry["route"],
                where=entry.get("where", ".*"),
                message=entry.get("message", ""),
                status=entry.get("status"),
                reason=entry["reason"],
                evidence=entry["evidence"],
                grader_bug=entry.get("grader-bug") is not None,
            )
        )
    return found


# --- the whole check ---------------------------------------------------------------------------


@dataclass
class Report:
    exchanges: int
    problems: Counter[tuple[str, str, int | None, str, str]]
    examples: dict[tuple[str, str, int | None, str, str], Problem]
    allowed: Counter[int]  # exception index -> problems it covered

    @cached_property
    def failed(self) -> bool:
        return bool(self.problems)

    def lines(self, exceptions: list[Exception_]) -> list[str]:
        out = [f"OpenAPI conformance: {self.exchanges} exchanges, {sum(self.problems.values())} "
               f"problems outside {EXCEPTIONS.name} ({len(self.problems)} kinds)"]  # fmt: skip
        for key, count in self.problems.most_common():
            example = self.examples[key]
            out.append(f"  {count:5d} x {example}   (first in {example.test or '?'})")
        bugs = [e for i, e in enumerate(exceptions) if e.grader_bug and self.allowed[i]]
        for entry in bugs:
            out.append(
                f"  grader-bug (allowed for now): [{entry.kind}] {entry.route} {entry.where}"
            )
        return out


def run(
    exchanges: Iterable[dict[str, Any]], description: Description, exceptions: list[Exception_]
) -> Report:
    problems: Counter[tuple[str, str, int | None, str, str]] = Counter()
    examples: dict[tuple[str, str, int | None, str, str], Problem] = {}
    allowed: Counter[int] = Counter()
    count = 0
    for exchange in exchanges:
        count += 1
        for problem in check(description, exchange):
            index = next((i for i, e in enumerate(exceptions) if e.covers(problem)), None)
            if index is not None:
                allowed[index] += 1
                continue
            problems[problem.key] += 1
            examples.setdefault(problem.key, problem)
    return Report(count, problems, examples, allowed)


def check_recording(path: Path) -> tuple[Report, list[Exception_]]:
    exceptions = load_exceptions()
    exchanges = read(path) if path.exists() else []
    if not exchanges:
        return Report(0, Counter(), {}, Counter()), exceptions
    return run(exchanges, Description.load(), exceptions), exceptions


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.fakegithub.conformance RECORDING.jsonl", file=sys.stderr)
        return 2
    report, exceptions = check_recording(Path(argv[0]))
    for line in report.lines(exceptions):
        print(line)
    unused = [e for i, e in enumerate(exceptions) if not report.allowed[i]]
    for entry in unused:
        print(
            f"  unused exception (no such problem in this recording): [{entry.kind}] {entry.route}"
        )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
