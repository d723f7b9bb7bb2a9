"""Which submissions of one assignment look copied from each other: leads for a TA.

Pure: the shell reads the notebooks and passes their cells in. Every pair of
submissions is compared by the fingerprints of `grader.core.fingerprints`
(winnowing, as MOSS does), after removing fingerprints that carry no evidence:

- every k-gram of the starter notebook and of code the course hands out
  (what everyone was given is not copied from anyone);
- fingerprints present in more than `Settings.common_limit(n)` submissions: a
  passage that many students wrote is an idiom or a textbook line, not a copy
  (MOSS's `-m`).

A pair's score is the share of the smaller submission's remaining
fingerprints that the other one also has (containment, so copying one
exercise out of five still shows), where a submission with fewer than
`Settings.min_fingerprints` counts as having that many: a student who wrote
almost nothing of their own cannot reach a high score on a handful of
matches. Scores are evidence for a human to look at, never a verdict.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from grader.core.fingerprints import Mark, cell_marks
from grader.core.model import Cell

__all__ = [
    "Lines",
    "Pair",
    "Region",
    "Settings",
    "SimilarityReport",
    "Submission",
    "compare",
    "report_json",
]


@dataclass(frozen=True)
class Submission:
    login: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Settings:
    """Defaults measured on a 300-student cohort (benchmarks/RESULTS.md, "Similarity")."""

    code_k: int = 12  # tokens per k-gram: about one and a half lines of Python
    prose_k: int = 6  # words per prose shingle
    window: int = 6  # so any shared run of k + window - 1 tokens is found
    common_fraction: float = 0.02  # a fingerprint in more submissions than this is an idiom ...
    common_floor: int = 3  # ... but with few submissions, up to this many may share one
    min_fingerprints: int = 15  # the smallest denominator of a score
    threshold: float = 0.4  # pairs listed from this score up

    def common_limit(self, submissions: int) -> int:
        """The most submissions a fingerprint may appear in and still count."""
        return max(self.common_floor, math.floor(self.common_fraction * submissions))


@dataclass(frozen=True)
class Lines:
    cell: int  # Cell.index
    first: int  # 1-based lines within the cell's source
    last: int


@dataclass(frozen=True)
class Region:
    """A run of matching lines: these lines of a look like those of b."""

    a: Lines
    b: Lines
    fingerprints: int


@dataclass(frozen=True)
class Pair:
    a: str  # logins, a < b
    b: str
    score: float  # 0..1
    shared: int  # fingerprints both have, after exclusions
    size_a: int  # each side's fingerprints after exclusions
    size_b: int
    regions: tuple[Region, ...] = ()


@dataclass(frozen=True)
class SimilarityReport:
    assignment: str
    settings: Settings
    submissions: tuple[Submission, ...]  # sorted by login: the texts the regions point into
    pairs: tuple[Pair, ...]  # score >= threshold, most similar first
    excluded_starter: int  # distinct k-gram hashes of the starter and handouts
    ignored_common: int  # distinct fingerprints dropped as too common
    sizes: Mapping[str, int] = field(default_factory=dict)  # login -> fingerprints kept


@dataclass(frozen=True)
class _Prints:
    login: str
    marks: Mapping[int, tuple[Mark, ...]]  # hash -> where it occurs


def _prints(sub: Submission, settings: Settings, excluded: frozenset[int]) -> _Prints:
    found: dict[int, list[Mark]] = defaultdict(list)
    for mark in cell_marks(
        sub.cells, code_k=settings.code_k, prose_k=settings.prose_k, window=settings.window
    ):
        if mark.hash not in excluded:
            found[mark.hash].append(mark)
    return _Prints(sub.login, {h: tuple(m) for h, m in found.items()})


def _excluded(
    starter: Sequence[Cell], handouts: Sequence[str], settings: Settings
) -> frozenset[int]:
    given = list(starter) + [
        Cell(index=-1 - i, cell_type="code", source=text) for i, text in enumerate(handouts)
    ]
    marks = cell_marks(given, code_k=settings.code_k, prose_k=settings.prose_k, window=None)
    return frozenset(m.hash for m in marks)


def _drop_common(prints: list[_Prints], limit: int) -> tuple[list[_Prints], int]:
    frequency: dict[int, int] = defaultdict(int)
    for p in prints:
        for h in p.marks:
            frequency[h] += 1
    common = {h for h, n in frequency.items() if n > limit}
    kept = [_Prints(p.login, {h: m for h, m in p.marks.items() if h not in common}) for p in prints]
    return kept, len(common)


def _shared_counts(prints: Sequence[_Prints]) -> dict[tuple[int, int], int]:
    """Shared fingerprints per pair of positions in `prints`, via an inverted index.

    Every surviving fingerprint sits in at most `common_limit` submissions, so
    this costs far less than comparing all n*(n-1)/2 pairs.
    """
    holders: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(prints):
        for h in p.marks:
            holders[h].append(i)
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for group in holders.values():
        for pair in combinations(group, 2):
            counts[pair] += 1
    return counts


def compare(
    assignment: str,
    submissions: Iterable[Submission],
    starter: Sequence[Cell] = (),
    handouts: Sequence[str] = (),
    settings: Settings = Settings(),
) -> SimilarityReport:
    """Every pair of `submissions` scored; pairs at or above the threshold listed.

    `starter` is the assignment's starter notebook, `handouts` the source text
    of any other code the course gave out; neither counts as evidence.
    """
    subs = tuple(sorted(submissions, key=lambda s: s.login))
    excluded = _excluded(starter, handouts, settings)
    prints, common = _drop_common(
        [_prints(s, settings, excluded) for s in subs], settings.common_limit(len(subs))
    )
    pairs = []
    for (i, j), shared in _shared_counts(prints).items():
        pair = _pair(prints[i], prints[j], shared, settings)
        if pair.score >= settings.threshold:
            pairs.append(_with_regions(pair, prints[i], prints[j]))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return SimilarityReport(
        assignment=assignment,
        settings=settings,
        submissions=subs,
        pairs=tuple(pairs),
        excluded_starter=len(excluded),
        ignored_common=common,
        sizes={p.login: len(p.marks) for p in prints},
    )


def _pair(a: _Prints, b: _Prints, shared: int, settings: Settings) -> Pair:
    smaller = max(min(len(a.marks), len(b.marks)), settings.min_fingerprints, 1)
    score = round(min(1.0, shared / smaller), 4)
    return Pair(a.login, b.login, score, shared, len(a.marks), len(b.marks))


# --- matching regions, for the side-by-side view ---------------------------


def _with_regions(pair: Pair, a: _Prints, b: _Prints) -> Pair:
    matches = [
        (ma, mb)
        for h in a.marks.keys() & b.marks.keys()
        for ma in a.marks[h][:2]  # a line repeated many times would only add noise
        for mb in b.marks[h][:2]
    ]
    regions: list[Region] = []
    for ma, mb in sorted(
        matches, key=lambda m: (m[0].cell, m[1].cell, m[0].first_line, m[1].first_line)
    ):
        here = Region(
            Lines(ma.cell, ma.first_line, ma.last_line),
            Lines(mb.cell, mb.first_line, mb.last_line),
            1,
        )
        if regions and _touches(regions[-1], here):
            regions[-1] = _merge(regions[-1], here)
        else:
            regions.append(here)
    return Pair(pair.a, pair.b, pair.score, pair.shared, pair.size_a, pair.size_b, tuple(regions))


def _near(x: Lines, y: Lines) -> bool:
    return x.cell == y.cell and y.first <= x.last + 1 and x.first <= y.last + 1


def _touches(r: Region, s: Region) -> bool:
    return _near(r.a, s.a) and _near(r.b, s.b)


def _span(x: Lines, y: Lines) -> Lines:
    return Lines(x.cell, min(x.first, y.first), max(x.last, y.last))


def _merge(r: Region, s: Region) -> Region:
    return Region(_span(r.a, s.a), _span(r.b, s.b), r.fingerprints + s.fingerprints)


# --- the JSON for scripts (CONTRACT section 3) -----------------------------


def report_json(report: SimilarityReport) -> dict[str, list[dict[str, str | float]]]:
    """`{"pairs": [{"a": login, "b": login, "score": 0..1}, ...]}`, most similar first."""
    return {"pairs": [{"a": p.a, "b": p.b, "score": round(p.score, 3)} for p in report.pairs]}
