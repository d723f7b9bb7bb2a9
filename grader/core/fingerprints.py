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

Each token's value comes from BLAKE2b and a k-gram's hash is the Karp-Rabin
polynomial of its tokens' values (rolled along, as in the paper), never the
built-in `hash()`: that one is salted per process, and a report must come out
the same on every run.
"""

from __future__ import annotations

import builtins
import hashlib
import keyword
import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from grader.core.model import Cell

__all__ = [
    "Mark",
    "cell_marks",
    "code_tokens",
    "defined_attributes",
    "kgram_hashes",
    "normalise",
    "prose_tokens",
    "raw_tokens",
    "winnow",
]

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

Raw = tuple[int, str, int]  # tokenize type, text, line


def _python_lines(source: str) -> list[str]:
    """The cell's lines, magics blanked (not removed) so line numbers stay true."""
    lines = source.splitlines(keepends=True)
    return ["\n" if _MAGIC.match(line) else line for line in lines]


def raw_tokens(source: str) -> list[Raw]:
    """The tokens of a code cell that matter, comments and blank lines dropped."""
    lines = _python_lines(source)
    try:
        return _tokenize(lines)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return _fallback_tokens(lines)


def _tokenize(lines: list[str]) -> list[Raw]:
    out: list[Raw] = []
    in_fstring = 0  # Python 3.12 splits an f-string into several tokens: keep one
    for tok in tokenize.generate_tokens(iter(lines).__next__):
        kind = tokenize.tok_name.get(tok.type, "")
        if kind == "FSTRING_START":
            in_fstring += 1
            if in_fstring == 1:
                out.append((tokenize.STRING, "f''", tok.start[0]))
        elif kind == "FSTRING_END":
            in_fstring -= 1
        elif not in_fstring and tok.type not in _SKIP:
            out.append((tok.type, tok.string, tok.start[0]))
    return out


def _fallback_tokens(lines: list[str]) -> list[Raw]:
    """For a cell `tokenize` rejects (unbalanced brackets, bad indentation).

    A rougher tokeniser: a broken cell is still compared, line by line.
    """
    out: list[Raw] = []
    for number, line in enumerate(lines, start=1):
        for match in _FALLBACK.finditer(line.split("#", 1)[0]):
            text = match.group()
            if text[0].isdigit():
                kind = tokenize.NUMBER
            elif text[0] in "'\"":
                kind = tokenize.STRING
            else:
                kind = tokenize.NAME if text[0].isidentifier() else tokenize.OP
            out.append((kind, text, number))
        if out and out[-1][0] != tokenize.NEWLINE:
            out.append((tokenize.NEWLINE, "\n", number))
    return out


_ASSIGN = frozenset(
    {"=", "+=", "-=", "*=", "/=", "//=", "%=", "@=", "**=", "&=", "|=", "^=", ">>=", "<<="}
)


def defined_attributes(cells: Iterable[list[Raw]]) -> frozenset[str]:
    """Names a notebook defines that code may reach as attributes.

    `self.w = ...` defines `w` (any `.name` left of a statement's own `=`);
    `def forward` (a method, or a function a decorator attaches to a class,
    as d2l's `add_to_class` does) and `class` define their names.
    """
    names: set[str] = set()
    for raw in cells:
        depth, prev = 0, ""
        pending: list[str] = []
        for kind, text, _ in raw:
            if kind == tokenize.NAME and prev in ("def", "class"):
                names.add(text)
            elif kind == tokenize.NAME and prev == ".":
                pending.append(text)
            elif kind == tokenize.OP and text in "([{":
                depth += 1
            elif kind == tokenize.OP and text in ")]}":
                depth = max(0, depth - 1)
            elif kind == tokenize.OP and depth == 0 and text in _ASSIGN:
                names.update(pending)
                pending.clear()
            elif kind == tokenize.NEWLINE:
                depth = 0
                pending.clear()
            prev = text
    return frozenset(names)


def _name(text: str, after_dot: bool, defined: frozenset[str]) -> str:
    if keyword.iskeyword(text):
        return text
    if after_dot:
        return "V" if text in defined else text
    return text if text in _BUILTINS else "V"


_SHAPE = {
    tokenize.NUMBER: "N",
    tokenize.STRING: "S",
    tokenize.NEWLINE: ";",
    tokenize.INDENT: ">",
    tokenize.DEDENT: "<",
}


def normalise(raw: list[Raw], defined: frozenset[str]) -> list[Token]:
    """The tokens with names and literals replaced (see the module docstring)."""
    out: list[Token] = []
    after_dot = False
    for kind, text, line in raw:
        if kind == tokenize.NAME:
            out.append((_name(text, after_dot, defined), line))
        else:
            out.append((_SHAPE.get(kind, text), line))
        after_dot = text == "." and kind == tokenize.OP
    return out


def code_tokens(source: str, defined: frozenset[str] | None = None) -> list[Token]:
    """Normalised tokens of one code cell; `defined` defaults to the cell's own."""
    raw = raw_tokens(source)
    return normalise(raw, defined_attributes([raw]) if defined is None else defined)


def prose_tokens(source: str) -> list[Token]:
    """Lower-case words of a markdown cell, markup dropped."""
    return [
        (word.lower(), number)
        for number, line in enumerate(source.splitlines(), start=1)
        for word in _WORD.findall(line)
    ]


# --- k-grams and winnowing -------------------------------------------------


_PRIME = (1 << 61) - 1  # k-grams hash as Karp-Rabin polynomials modulo a Mersenne prime
_BASE = 1_000_003


@lru_cache(maxsize=1 << 16)
def _token_value(text: str, person: bytes) -> int:
    digest = hashlib.blake2b(text.encode(), digest_size=8, person=person).digest()
    return int.from_bytes(digest, "big") % _PRIME


def kgram_hashes(tokens: Sequence[Token], k: int, person: bytes) -> list[int]:
    """The hash of every run of `k` tokens, rolled along in one pass."""
    values = [_token_value(t, person) for t, _ in tokens]
    if len(values) < k:
        return []
    top = pow(_BASE, k - 1, _PRIME)
    h = 0
    for v in values[:k]:
        h = (h * _BASE + v) % _PRIME
    hashes = [h]
    for old, new in zip(values, values[k:], strict=False):
        h = ((h - old * top) * _BASE + new) % _PRIME
        hashes.append(h)
    return hashes


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


def _kgrams(cell: Cell, raw: list[Raw], defined: frozenset[str], k: int) -> list[Mark]:
    if cell.cell_type == "code":
        tokens, person = normalise(raw, defined), b"code"
    elif cell.cell_type == "markdown":
        tokens, person = prose_tokens(cell.source), b"prose"
    else:
        return []
    return [
        Mark(h, cell.index, tokens[i][1], tokens[i + k - 1][1])
        for i, h in enumerate(kgram_hashes(tokens, k, person))
    ]


def cell_marks(
    cells: Sequence[Cell], *, code_k: int, prose_k: int, window: int | None
) -> list[Mark]:
    """The fingerprints of a notebook; every k-gram when `window` is None.

    Starter code is excluded by every k-gram hash it has, not just its
    winnowed ones: a student's window may select a hash the starter's did not.
    """
    raw = [raw_tokens(c.source) if c.cell_type == "code" else [] for c in cells]
    defined = defined_attributes(raw)
    marks: list[Mark] = []
    for cell, tokens in zip(cells, raw, strict=True):
        grams = _kgrams(cell, tokens, defined, code_k if cell.cell_type == "code" else prose_k)
        if window is None or not grams:
            marks.extend(grams)
        else:
            marks.extend(grams[i] for i in winnow([g.hash for g in grams], window))
    return marks
