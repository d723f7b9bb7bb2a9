"""IPython tracebacks -> what a student can act on (issue 11: errors a student can fix).

The runner keeps a bounded, ANSI-free copy of each traceback (`clip`); this
module reads it back (`parse`) and tells the student what failed where
(`describe`): the exception, the student's own failing line with a few lines
of context and IPython's caret, the other student frames on the way there,
and only a one-line mention of library code. Pure: stdlib only, no I/O.

IPython names a cell `Cell In[k]` after its execution count, which is not
the cell's place in the notebook: the caller passes `name_of(k)`, which
knows the order the runner executed cells in.

Decisions:

- A frame is the student's when it is a cell (`Cell In[k]`) or a file outside
  the Python installation and its site-packages (a helper module the student
  committed beside the notebook). Library frames are never shown, only named.
- The deepest student frame is shown with its context; the others, outermost
  first, as one "called from" line each (at most three).
- A failing check's values come from the runner as one last line
  `COMPARED_PREFIX + json [op, left, right]` (see `compared_line`); only the
  last line of an error is read that way.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "COMPARED_PREFIX",
    "Comparison",
    "Failure",
    "Frame",
    "clip",
    "compared_line",
    "comparison",
    "describe",
    "failing_line",
    "missing_package",
    "parse",
    "undefined_name",
]

COMPARED_PREFIX = "[grader compared] "
MAX_RAW_LINES = 60
MAX_RAW_CHARS = 4000
_FIRST_FRAME_LINES = 8
_CONTEXT_LINES = 4  # numbered lines of a frame shown, the failing one included
_CALLERS = 3
_VALUE_CHARS = 200
_LINE_CHARS = 160

_CELL = re.compile(r"^\s*Cell In\[(\d+)\], line (\d+)(?:, in (.+))?\s*$")
_FILE = re.compile(r"^\s*File (.+?):(\d+)(?:, in (.+))?\s*$")
_HEADER = re.compile(r"^\S+\s+Traceback \(most recent call last\)\s*$")
_NUMBERED = re.compile(r"^\s*(?:-*>\s*)?(\d+)\b")
_ARROW = re.compile(r"^\s*-*>")
_CARETS = re.compile(r"^\s*[\^~]+\s*$")
_CODE_LINE = re.compile(r"^\s*(?:-*>\s*)?(\d+) ?")
_TEMP_FILE = re.compile(r" \(\d+\.py, line \d+\)$")
_LIBRARY = ("site-packages", "dist-packages", "/lib/python", "<frozen", "/usr/lib/")


@dataclass(frozen=True)
class Frame:
    """One frame of a traceback as IPython printed it."""

    execution: int | None  # k of `Cell In[k]`; None for a file
    path: str  # the file, for a file frame
    line: int
    function: str  # "" at a cell's top level
    code: tuple[str, ...]  # the lines IPython showed: context, `---->` arrow, carets

    @property
    def student(self) -> bool:
        return self.execution is not None or not any(m in self.path for m in _LIBRARY)


@dataclass(frozen=True)
class Comparison:
    op: str
    left: str
    right: str


@dataclass(frozen=True)
class Failure:
    head: str  # "Ename: evalue" (first line only)
    ename: str
    frames: tuple[Frame, ...]
    compared: Comparison | None = None


# --- the runner's side: bounding the raw text ----------------------------------


def clip(
    lines: Sequence[str], max_lines: int = MAX_RAW_LINES, max_chars: int = MAX_RAW_CHARS
) -> str:
    """The traceback lines worth keeping: the end (where the error is) plus the first frame.

    The first student frame is the cell that was run; the end holds the
    failing line and the exception. What lies between (deep recursion,
    library internals) is dropped with a note.
    """
    lines = [line[: _LINE_CHARS * 2] for line in lines]
    if len(lines) <= max_lines and sum(len(ln) + 1 for ln in lines) <= max_chars:
        return "\n".join(lines)
    start = _first_frame(lines)
    tail: list[str] = []
    room = max_chars - sum(len(ln) + 1 for ln in start) - 40
    for line in reversed(lines[len(start) :]):
        if len(tail) >= max_lines - len(start) - 1 or room - len(line) - 1 < 0:
            break
        tail.append(line)
        room -= len(line) + 1
    tail.reverse()
    # Start the end at a frame: code lines without their frame would join the first one.
    header = next((i for i, line in enumerate(tail) if _frame_start(line) is not None), 0)
    tail = tail[header:]
    dropped = len(lines) - len(start) - len(tail)
    middle = [f"[... {dropped} lines not kept ...]"] if dropped else []
    return "\n".join([*start, *middle, *tail])


def _first_frame(lines: Sequence[str]) -> list[str]:
    """The header and the first frame (bounded), which the end may not repeat."""
    kept: list[str] = []
    seen_frame = False
    for line in lines:
        is_frame = bool(_CELL.match(line) or _FILE.match(line))
        if is_frame and seen_frame:
            break
        seen_frame = seen_frame or is_frame
        kept.append(line)
        if len(kept) >= _FIRST_FRAME_LINES:
            break
    return kept if seen_frame else kept[:1]


# --- reading it back ----------------------------------------------------------


def parse(error: str) -> Failure:
    """The exception and frames of a runner error text ("Ename: evalue" then the traceback)."""
    lines = error.splitlines()
    compared = _compared(lines[-1]) if lines else None
    if compared is not None:
        lines = lines[:-1]
    head = _TEMP_FILE.sub("", lines[0].strip()) if lines else ""
    ename = head.split(":", 1)[0].strip() if ":" in head else head
    frames: list[Frame] = []
    current: dict[str, object] | None = None
    code: list[str] = []
    for line in lines[1:]:
        frame = _frame_start(line)
        if frame is not None:
            if current is not None:
                frames.append(_frame(current, code))
            current, code = frame, []
        elif current is not None and not _is_exception_line(line, ename) and line.strip():
            code.append(line.rstrip())
    if current is not None:
        frames.append(_frame(current, code))
    return Failure(head=head[:300], ename=ename, frames=tuple(frames), compared=compared)


def _frame_start(line: str) -> dict[str, object] | None:
    cell = _CELL.match(line)
    if cell:
        return {"execution": int(cell[1]), "path": "", "line": int(cell[2]), "func": cell[3]}
    file = _FILE.match(line)
    if file:
        return {"execution": None, "path": file[1], "line": int(file[2]), "func": file[3]}
    return None


def _frame(found: dict[str, object], code: list[str]) -> Frame:
    func = str(found["func"] or "").split("(", 1)[0].strip()
    execution = found["execution"]
    line = found["line"]
    return Frame(
        execution=execution if isinstance(execution, int) else None,
        path=str(found["path"]),
        line=line if isinstance(line, int) else 0,
        function="" if func == "<module>" else func,
        code=tuple(code),
    )


def _is_exception_line(line: str, ename: str) -> bool:
    stripped = line.strip()
    return bool(
        _HEADER.match(stripped)
        or (ename and (stripped == ename or stripped.startswith(f"{ename}:")))
        or stripped.startswith("[... ")
    )


def _compared(line: str) -> Comparison | None:
    if not line.startswith(COMPARED_PREFIX):
        return None
    try:
        data = json.loads(line[len(COMPARED_PREFIX) :])
    except ValueError:
        return None
    if not (isinstance(data, list) and len(data) == 3 and all(isinstance(x, str) for x in data)):
        return None
    return Comparison(*(x[:_VALUE_CHARS] for x in data))


# --- a failing check: what it compared ------------------------------------------

_OPS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}


def comparison(source: str, line: int) -> tuple[str, str, str] | None:
    """(left source, op, right source) when line `line` of `source` is `assert A <op> B`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.lineno <= line <= (node.end_lineno or 0):
            test = node.test
            if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
                return None
            op = _OPS.get(type(test.ops[0]))
            left = ast.get_source_segment(source, test.left)
            right = ast.get_source_segment(source, test.comparators[0])
            if op is None or left is None or right is None:
                return None
            return left, op, right
    return None


def compared_line(op: str, left: str, right: str) -> str:
    """The line the runner appends to a failing check's error: the values it compared."""
    values = [op, left[:_VALUE_CHARS], right[:_VALUE_CHARS]]
    return COMPARED_PREFIX + json.dumps(values, ensure_ascii=True)


# --- telling the student -----------------------------------------------------------


def missing_package(failure: Failure) -> str | None:
    """What to do when the error is a package the grader's environment lacks, else None."""
    if failure.ename == "ModuleNotFoundError":
        match = re.search(r"No module named '([^']+)'", failure.head)
        if match:
            package = match[1].split(".", 1)[0][:60]
            return (
                f"The grader's environment has no package `{package}`: a notebook cannot "
                "install packages while it is graded; use what the course lists in its "
                "requirements, or ask a TA."
            )
    if failure.ename == "ImportError":
        return (
            "An import failed in the grader's environment: a notebook cannot install or "
            "upgrade packages while it is graded; use what the course lists in its "
            "requirements, or ask a TA."
        )
    return None


def undefined_name(failure: Failure) -> str | None:
    """The name of a NameError ("name 'f' is not defined"), else None."""
    if failure.ename != "NameError":
        return None
    match = re.search(r"name '([A-Za-z_][A-Za-z0-9_]{0,59})' is not defined", failure.head)
    return match[1] if match else None


def describe(failure: Failure, name_of: Callable[[int], str], here: str = "") -> list[str]:
    """The lines after the exception: where it failed in the student's code, and the values.

    `name_of(k)` names what ran k-th; `here` is the name of what was run, so
    its own frames say only "line N".
    """
    frames = [f for f in failure.frames if f.student]
    lines: list[str] = []
    if frames:
        last = frames[-1]
        lines.append(f"{_where(last, name_of, here)}:")
        lines += [f"  {code[:_LINE_CHARS]}" for code in _numbered(_context(last.code))]
        calls = [
            f"{_where(c, name_of)}" + (f": {_arrow_code(c)}" if _arrow_code(c) else "")
            for c in frames[:-1]
        ]
        calls = [c for i, c in enumerate(calls) if i == 0 or c != calls[i - 1]]  # recursion
        lines += [f"called from {call}" for call in reversed(calls[-_CALLERS:])]
    inside = [f for f in failure.frames if not f.student]
    if inside and (not frames or _position(failure, frames[-1]) < _position(failure, inside[-1])):
        lines.append(f"raised inside library code ({_library(inside[-1])})")
    if failure.compared is not None:
        lines.append(_values(failure.compared))
    return lines


def _position(failure: Failure, frame: Frame) -> int:
    return failure.frames.index(frame)


def failing_line(failure: Failure) -> str:
    """The student's failing line of code (the `---->` line of the deepest student frame), or ""."""
    frames = [f for f in failure.frames if f.student]
    return _arrow_code(frames[-1]) if frames else ""


def _arrow_code(frame: Frame) -> str:
    for line in frame.code:
        if _ARROW.match(line):
            return _CODE_LINE.sub("", line).strip()[:_LINE_CHARS]
    return ""


def _numbered(code: Sequence[str]) -> list[str]:
    """IPython's `---->  12 x` / `      11 y` as `--> 12 x` / `    11 y`: narrower, same reading."""
    numbers = [m for m in (_CODE_LINE.match(line) for line in code) if m]
    width = max((len(m[1]) for m in numbers), default=0)
    shown = []
    for line in code:
        match = _CODE_LINE.match(line)
        if match is None:
            shown.append(line)
            continue
        mark = "-->" if _ARROW.match(line) else "   "
        shown.append(f"{mark} {match[1]:>{width}} {line[match.end() :]}".rstrip())
    return shown


def _where(frame: Frame, name_of: Callable[[int], str], here: str = "") -> str:
    where = name_of(frame.execution) if frame.execution is not None else _short_path(frame.path)
    text = "at line" if where == here else f"{where}, line"
    text = f"{text} {frame.line}"
    return f"{text}, in {frame.function[:60]}" if frame.function else text


def _context(code: Sequence[str]) -> list[str]:
    """The failing line, a few numbered lines before it, and any caret lines after it."""
    arrow = next((i for i, line in enumerate(code) if _ARROW.match(line)), None)
    if arrow is None:
        return list(code[: _CONTEXT_LINES + 2])  # a SyntaxError: the line and its caret
    start = arrow
    while start > 0 and arrow - start < _CONTEXT_LINES - 1 and _NUMBERED.match(code[start - 1]):
        start -= 1
    end = arrow + 1
    while end < len(code) and _CARETS.match(code[end]) and end - arrow <= 2:
        end += 1  # carets under the failing line
    return list(code[start:end])


def _short_path(path: str) -> str:
    return path.rsplit("/", 1)[-1][:60] or "a file"


def _library(frame: Frame) -> str:
    for marker in ("site-packages/", "dist-packages/"):
        if marker in frame.path:
            package = frame.path.split(marker, 1)[1].split("/", 1)[0]
            return f"`{package[:60]}`"
    match = re.search(r"/lib/python[\d.]*/(.+)$", frame.path)
    name = match[1] if match else _short_path(frame.path)
    return f"Python's `{name[:60]}`"


def _values(compared: Comparison) -> str:
    left, right = compared.left, compared.right
    if compared.op == "==":
        return f"got {left}, expected {right}"
    return f"the check compared {left} {compared.op} {right}, which is false"
