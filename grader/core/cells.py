"""Which cells answer which exercise (CONTRACT section 2).

A cell belongs to exercise X when it is tagged `exercise-X`, carries the
nbgrader `grade_id` X, or sits in the region after a markdown cell whose first
heading reads `Exercise X`. The region ends at the next `Exercise` heading (any
level) or the next heading of the same or a higher level.

Decisions the contract leaves open, chosen here:

- A heading that ends a region may sit in a markdown cell after some text
  ("My answer.\\n\\n## Exercise 2"). The text before that heading is still part
  of the region, so the cell belongs to it with its source cut at the heading
  (a copy of the cell; its index is unchanged). When that text is blank, the
  cell does not belong. A cell that also matches by tag or grade_id is kept
  whole.
- Headings after the first one in the heading cell itself can end the region
  it opens (`### Exercise 1` then `## Notes` in one cell: nothing follows).
- Headings are ATX (`#` to `######`) and setext (`===`, `---` under a
  paragraph line); lines inside fenced code blocks or indented code are not
  headings. Emphasis around the heading text (`## **Exercise 1**`) is allowed.
- A markdown cell is blank when it has no letter or digit outside HTML
  comments: `---` or `<!-- answer here -->` alone show the reader nothing.
- A code cell is also a placeholder when it only defines stubs: functions or
  classes whose bodies are themselves placeholders (`def f(x): pass`).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from grader.core.model import Cell, Exercise

__all__ = [
    "Heading",
    "answer_cells",
    "cells_of",
    "exercise_heading_id",
    "headings",
    "is_blank_markdown",
    "is_placeholder",
    "word_count",
]


@dataclass(frozen=True)
class Heading:
    level: int  # 1..6
    text: str  # inline content, stripped
    offset: int  # where the heading's first line starts in the cell source


# --- markdown headings -------------------------------------------------------

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?=[ \t]|$)(.*)$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_THEMATIC = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
# Lines that start some other block: they never start a paragraph, so a `---`
# under them is a thematic break, not a setext underline.
_OTHER_BLOCK = re.compile(r"^ {0,3}(?:[-+*][ \t]|[-+*]$|\d{1,9}[.)](?:[ \t]|$)|>|<)")


@dataclass
class _Scan:
    fence: str | None = None  # the opening fence while inside a fenced block
    para_start: int | None = None  # offset of the open paragraph's first line
    para_lines: list[str] | None = None


def headings(source: str) -> tuple[Heading, ...]:
    """The markdown headings of one cell, in order."""
    found: list[Heading] = []
    scan = _Scan()
    offset = 0
    for raw in source.splitlines(keepends=True):
        heading = _scan_line(scan, raw.rstrip("\r\n").expandtabs(4), offset)
        if heading is not None:
            found.append(heading)
        offset += len(raw)
    return tuple(found)


def _scan_line(scan: _Scan, line: str, offset: int) -> Heading | None:
    if scan.fence is not None:
        if _closes_fence(scan.fence, line):
            scan.fence = None
        return None
    fence = _FENCE_OPEN.match(line)
    if fence and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):
        scan.fence, scan.para_start = fence.group(1), None
        return None
    return _scan_block_line(scan, line, offset)


def _scan_block_line(scan: _Scan, line: str, offset: int) -> Heading | None:
    atx = _ATX.match(line)
    if atx:
        scan.para_start = None
        return Heading(len(atx.group(1)), _without_closing_hashes(atx.group(2).strip()), offset)
    setext = _SETEXT.match(line)
    if setext and scan.para_start is not None and scan.para_lines is not None:
        level = 1 if setext.group(1)[0] == "=" else 2
        heading = Heading(level, " ".join(scan.para_lines), scan.para_start)
        scan.para_start = None
        return heading
    _track_paragraph(scan, line, offset)
    return None


def _track_paragraph(scan: _Scan, line: str, offset: int) -> None:
    if not line.strip() or _THEMATIC.match(line) or _OTHER_BLOCK.match(line):
        scan.para_start = None
    elif scan.para_start is not None and scan.para_lines is not None:
        scan.para_lines.append(line.strip())  # a continuation line
    elif not line.startswith("    "):  # four spaces open indented code
        scan.para_start, scan.para_lines = offset, [line.strip()]


def _without_closing_hashes(text: str) -> str:
    # By hand, not by regex: `[ \t]+#+$` backtracks quadratically on long
    # runs of spaces, and notebook text is written by students.
    body = text.rstrip("#")
    if body != text and (not body or body[-1] in " \t"):
        return body.rstrip()
    return text


def _closes_fence(fence: str, line: str) -> bool:
    stripped = line.strip()
    return (
        not line.startswith("    ")
        and len(stripped) >= len(fence)
        and stripped == fence[0] * len(stripped)
    )


_EXERCISE = re.compile(r"([*_]*)exercise[ \t]+(.*)", re.IGNORECASE | re.DOTALL)


def exercise_heading_id(text: str) -> str | None:
    """The X of a heading reading `Exercise X`, else None."""
    match = _EXERCISE.fullmatch(text.strip())
    if match is None:
        return None
    emphasis, rest = match.groups()
    token = re.split(r"[\s:]", rest, maxsplit=1)[0]
    if emphasis and token.endswith(emphasis):
        token = token[: -len(emphasis)]  # `**Exercise 1**`
    token = token.rstrip(".")
    return token or None


# --- which cells belong to which exercise --------------------------------------


@dataclass(frozen=True)
class _Region:
    key: str  # casefolded exercise id
    level: int


def cells_of(exercise_ids: Sequence[str], cells: Sequence[Cell]) -> dict[str, tuple[Cell, ...]]:
    """Every cell belonging to each exercise, in notebook order, by the three rules."""
    found: dict[str, dict[int, Cell]] = {key: {} for key in map(str.casefold, exercise_ids)}
    for key, cell in _by_headings(cells):
        if key in found:
            found[key][cell.index] = cell
    for cell in cells:  # whole cells win over a cut copy from the heading rule
        for key in _direct_keys(cell):
            if key in found:
                found[key][cell.index] = cell
    return {
        exercise_id: tuple(v for _, v in sorted(found[exercise_id.casefold()].items()))
        for exercise_id in exercise_ids
    }


def _direct_keys(cell: Cell) -> set[str]:
    """Rules 1 and 2: the `exercise-X` tags and the nbgrader grade_id."""
    prefix = "exercise-"
    keys = {tag.casefold()[len(prefix) :] for tag in cell.tags if tag.casefold().startswith(prefix)}
    if cell.grade_id is not None:
        keys.add(cell.grade_id.casefold())
    return keys


def _by_headings(cells: Sequence[Cell]) -> Iterator[tuple[str, Cell]]:
    region: _Region | None = None
    for cell in cells:
        if cell.cell_type != "markdown":
            if region is not None:
                yield region.key, cell
            continue
        before = region
        region, cut = _walk_headings(cell, region)
        if before is not None and cut is None:
            yield before.key, cell
        elif before is not None and cut is not None and not is_blank_markdown(cell.source[:cut]):
            yield before.key, replace(cell, source=cell.source[:cut])


def _walk_headings(cell: Cell, region: _Region | None) -> tuple[_Region | None, int | None]:
    """The region open after `cell`, and where the region open before it ended."""
    cut: int | None = None
    for position, heading in enumerate(headings(cell.source)):
        exercise_id = exercise_heading_id(heading.text)
        if region is not None and (exercise_id is not None or heading.level <= region.level):
            if cut is None:
                cut = heading.offset
            region = None
        if position == 0 and exercise_id is not None:
            region = _Region(exercise_id.casefold(), heading.level)
    return region, cut


def answer_cells(exercise: Exercise, belonging: Sequence[Cell]) -> tuple[Cell, ...]:
    """The cells of the exercise's answer kind (raw cells never answer)."""
    kinds = {"code": ("code",), "markdown": ("markdown",)}.get(
        exercise.answer, ("code", "markdown")
    )
    return tuple(cell for cell in belonging if cell.cell_type in kinds)


# --- placeholders and words ------------------------------------------------------

_STUB = re.compile(
    r"#[ \t]*YOUR CODE HERE[ \t]*\n\s*raise[ \t]+NotImplementedError\b", re.IGNORECASE
)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)


def is_placeholder(cell: Cell) -> bool:
    """True when the cell holds no answer yet: blank, or the template's stub."""
    if cell.cell_type == "markdown":
        return is_blank_markdown(cell.source) or _is_answer_stub(cell.source)
    if cell.cell_type == "code":
        return _is_code_placeholder(cell.source)
    return True  # raw cells never answer


def is_blank_markdown(source: str) -> bool:
    """No letter or digit outside HTML comments: nothing for a reader to read."""
    return re.search(r"\w", _HTML_COMMENT.sub("", source)) is None


def _is_answer_stub(source: str) -> bool:
    return source.strip().casefold() == "your answer here"


def _is_code_placeholder(source: str) -> bool:
    if _STUB.search(source.replace("\r\n", "\n")):
        return True
    tree = _parse(source)
    if tree is None:
        # Not Python (IPython magics, shell escapes, typos): only comments count.
        return all(
            not line.strip() or line.lstrip().startswith("#") for line in source.splitlines()
        )
    return _trivial_body(tree.body)


def _parse(source: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            # Invalid escapes in student strings warn; that is not our business.
            warnings.simplefilter("ignore")
            return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def _trivial_body(body: Sequence[ast.stmt]) -> bool:
    return all(_trivial(statement) for statement in body)


def _trivial(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr):  # docstrings and `...`
        value = statement.value
        return isinstance(value, ast.Constant) and (
            isinstance(value.value, str) or value.value is Ellipsis
        )
    if isinstance(statement, ast.Raise):
        return _is_not_implemented(statement.exc)
    # A stub function (`def f(x): pass`) is an answer by the contract's words: it defines
    # a name. Only the statements themselves count as placeholders.
    return False


def _is_not_implemented(exc: ast.expr | None) -> bool:
    if isinstance(exc, ast.Call):
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def word_count(cells: Sequence[Cell]) -> int:
    """Whitespace-separated words over the cells' sources."""
    return sum(len(cell.source.split()) for cell in cells)
