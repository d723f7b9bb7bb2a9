"""Winnowed fingerprints of notebook cells, the evidence `similarity` compares.

The method is MOSS's (Schleimer, Wilkerson, Aiken: "Winnowing: local algorithms
for document fingerprinting", SIGMOD 2003): turn a text into tokens, hash every
run of `k` consecutive tokens (a k-gram), and keep the minimum hash of every
window of `w` consecutive k-gram hashes ("robust winnowing": on a tie, keep the
hash already chosen for the previous window, else the rightmost). Any match of
at least `k + w - 1` tokens is then guaranteed to share a fingerprint; matches
shorter than `k` tokens (idioms like `for i in range(n):`) never do.

Code is normalised so that the usual disguises change nothing: comments and
blank lines are dropped, every literal becomes `N` (numbers) or `S` (strings),
every plain name becomes `V`. Attribute names stay as written (`.matmul` and
`.dot` are different library calls, which honest students choose differently),
except attributes the notebook itself defines (`self.w = ...`, a `def` or
`class` anywhere), which a copier renames like any variable. Prose is reduced
to lower-case words. k-grams never cross a cell boundary, so moving cells
around changes no fingerprint.

Hashes come from BLAKE2b, never the built-in `hash()`: that one is salted per
process, and a report must come out the same on every run.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import keyword
import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from grader.core.model import Cell

__all__ = ["Mark", "cell_marks", "code_tokens", "defined_attributes", "prose_tokens", "winnow"]

Token = tuple[str, int]  # normalised text, 1-based line within the cell

_BUILTINS = frozenset(dir(builtins))
_MAGIC = re.compile(r"^\s*[%!]")  # IPython magics and shell escapes are not Python
_FALLBACK = re.compile(
    r"""[^\W\d]\w*|\d[\w.]*|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|\*\*|//|[=!<>]=|->|\S"""
)
_WORD = re.compile(r"[^\W_]+")
_SKIP = frozenset(
    {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER, tokenize.TYPE_COMMENT}
)


@dataclass(frozen=True)
class Mark:
    """One fingerprint where it was found: its hash, cell and line span."""

    hash: int
    cell: int  # Cell.index
    first_line: int  # 1-based, within the cell's source
    last_line: int


# --- tokens ----------------------------------------------------------------


def _python_lines(source: str) -> list[str]:
    """The cell's lines, magics blanked (not removed) so line numbers stay true."""
    lines = source.splitlines(keepends=True)
    return ["\n" if _MAGIC.match(line) else line for line in lines]


def defined_attributes(sources: Iterable[str]) -> frozenset[str]:
    """Names a notebook defines that code may reach as attributes.

    `self.w = ...` defines `w`; `def forward` (a method, or a function a
    decorator attaches to a class, as d2l's `add_to_class` does) defines
    `forward`. A cell that does not parse contributes nothing.
    """
    names: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse("".join(_python_lines(source)))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
    return frozenset(names)


def _name(text: str, after_dot: bool, defined: frozenset[str]) -> str:
    if keyword.iskeyword(text):
        return text
    if after_dot:
        return "V" if text in defined else text
    return text if text in _BUILTINS else "V"


def code_tokens(source: str, defined: frozenset[str] = frozenset()) -> list[Token]:
    """Normalised tokens of one code cell (see the module docstring)."""
    lines = _python_lines(source)
    try:
        return _tokenize(lines, defined)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return _fallback_tokens(lines, defined)


def _tokenize(lines: list[str], defined: frozenset[str]) -> list[Token]:
    out: list[Token] = []
    after_dot = False
    in_fstring = 0  # Python 3.12 splits f-strings into several tokens
    for tok in tokenize.generate_tokens(iter(lines).__next__):
        kind = tokenize.tok_name.get(tok.type, "")
        if kind == "FSTRING_START":
            in_fstring += 1
            if in_fstring == 1:
                out.append(("S", tok.start[0]))
        elif kind == "FSTRING_END":
            in_fstring -= 1
        elif in_fstring or tok.type in _SKIP:
            continue
        else:
            out.append((_normal(tok, after_dot, defined), tok.start[0]))
            after_dot = tok.type == tokenize.OP and tok.string == "."
    return out


def _normal(tok: tokenize.TokenInfo, after_dot: bool, defined: frozenset[str]) -> str:
    if tok.type == tokenize.NAME:
        return _name(tok.string, after_dot, defined)
    if tok.type == tokenize.NUMBER:
        return "N"
    if tok.type == tokenize.STRING:
        return "S"
    if tok.type == tokenize.NEWLINE:
        return ";"
    if tok.type == tokenize.INDENT:
        return ">"
    if tok.type == tokenize.DEDENT:
        return "<"
    return tok.string


def _fallback_tokens(lines: list[str], defined: frozenset[str]) -> list[Token]:
    """For a cell `tokenize` rejects (unbalanced brackets, bad indentation).

    A rougher tokeniser: a broken cell is still compared, line by line.
    """
    out: list[Token] = []
    for number, line in enumerate(lines, start=1):
        after_dot = False
        for match in _FALLBACK.finditer(line.split("#", 1)[0]):
            text = match.group()
            if text[0].isdigit():
                text = "N"
            elif text[0] in "'\"":
                text = "S"
            elif text[0].isidentifier():
                text = _name(text, after_dot, defined)
            out.append((text, number))
            after_dot = text == "."
        if out and out[-1][0] != ";":
            out.append((";", number))
    return out


def prose_tokens(source: str) -> list[Token]:
    """Lower-case words of a markdown cell, markup dropped."""
    return [
        (word.lower(), number)
        for number, line in enumerate(source.splitlines(), start=1)
        for word in _WORD.findall(line)
    ]


# --- k-grams and winnowing -------------------------------------------------


def _kgram_hash(tokens: Sequence[Token], start: int, k: int, person: bytes) -> int:
    text = "\x1f".join(t for t, _ in tokens[start : start + k])
    digest = hashlib.blake2b(text.encode(), digest_size=8, person=person).digest()
    return int.from_bytes(digest, "big")


def winnow(hashes: Sequence[int], window: int) -> list[int]:
    """Positions robust winnowing selects; a sequence shorter than the window is one window."""
    selected: list[int] = []
    prev = -1
    for start in range(max(1, len(hashes) - window + 1)):
        stop = min(start + window, len(hashes))
        low = min(hashes[start:stop])
        if prev >= start and hashes[prev] == low:
            continue
        pos = max(i for i in range(start, stop) if hashes[i] == low)
        selected.append(pos)
        prev = pos
    return selected


def _kgrams(cell: Cell, defined: frozenset[str], k: int) -> list[Mark]:
    if cell.cell_type == "code":
        tokens, person = code_tokens(cell.source, defined), b"code"
    elif cell.cell_type == "markdown":
        tokens, person = prose_tokens(cell.source), b"prose"
    else:
        return []
    return [
        Mark(_kgram_hash(tokens, i, k, person), cell.index, tokens[i][1], tokens[i + k - 1][1])
        for i in range(len(tokens) - k + 1)
    ]


def cell_marks(
    cells: Sequence[Cell], *, code_k: int, prose_k: int, window: int | None
) -> list[Mark]:
    """The fingerprints of a notebook; every k-gram when `window` is None.

    Starter code is excluded by every k-gram hash it has, not just its
    winnowed ones: a student's window may select a hash the starter's did not.
    """
    defined = defined_attributes(c.source for c in cells if c.cell_type == "code")
    marks: list[Mark] = []
    for cell in cells:
        grams = _kgrams(cell, defined, code_k if cell.cell_type == "code" else prose_k)
        if window is None or not grams:
            marks.extend(grams)
        else:
            marks.extend(grams[i] for i in winnow([g.hash for g in grams], window))
    return marks
