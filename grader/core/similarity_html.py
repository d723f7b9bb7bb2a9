"""The similarity report as one self-contained HTML page, for a TA's browser.

Pure: returns a string; the shell writes it. Every text that came from a
student (code, prose, and logins too) goes through `html.escape`: student
code is hostile, and this page is opened by a TA. The page also carries a
Content-Security-Policy that allows no script and no outside request at all,
so even a slip in escaping could not run code or phone home. No external
assets: the CSS is inline, so the file works offline and leaks nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from html import escape

from grader.core.model import Cell
from grader.core.similarity import Lines, Pair, Region, SimilarityReport

__all__ = ["render_html"]

MAX_CELL_PAIRS = 30  # matched cell pairs shown per pair of students
MAX_LINES = 400  # lines shown per cell; the rest is summarised

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1f2328}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-top:1px solid #d0d7de;padding-top:1em}
.note{background:#fff8c5;border:1px solid #d4a72c;padding:.6em 1em;border-radius:6px}
table.pairs{border-collapse:collapse}table.pairs td,table.pairs th{padding:.2em .8em;
border-bottom:1px solid #d0d7de;text-align:left}
table.side{width:100%;table-layout:fixed;border-collapse:collapse;margin:.5em 0 1.5em}
table.side td{vertical-align:top;width:50%;padding:0 .4em}
pre{margin:0;font:12px/1.45 ui-monospace,monospace;white-space:pre-wrap;word-break:break-all;
background:#f6f8fa;padding:.4em;border-radius:4px}
.ln{color:#8c959f;user-select:none}.hit{background:#ffd8b5;display:inline-block;width:100%}
.cell{color:#57606a;font-size:12px;margin:.2em 0}
"""


def render_html(report: SimilarityReport) -> str:
    """The whole page: a summary table, then each listed pair side by side."""
    cells = {s.login: {c.index: c for c in s.cells} for s in report.submissions}
    title = f"Similarity report: {escape(report.assignment)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{title}</title><style>{_CSS}</style></head><body>",
        f"<h1>{title}</h1>",
        _summary(report),
        _pairs_table(report.pairs),
    ]
    parts.extend(_pair_section(n, pair, cells) for n, pair in enumerate(report.pairs, start=1))
    parts.append("</body></html>")
    return "\n".join(parts)


def _summary(report: SimilarityReport) -> str:
    s = report.settings
    return (
        '<p class="note"><strong>A lead for a human, never a verdict.</strong> A high score '
        "says two submissions share unusual passages; read them side by side, and ask the "
        "students, before deciding anything. A disqualification is a TA's decision, made "
        "with <code>/grader disqualify @login</code>.</p>"
        f"<p>{len(report.submissions)} submissions compared; {len(report.pairs)} pairs with a "
        f"score of at least {s.threshold:g}. Not counted as evidence: "
        f"{report.excluded_starter} passages of the starter notebook and hand-outs, and "
        f"{report.ignored_common} passages found in more than "
        f"{s.common_limit(len(report.submissions))} submissions (common idioms). "
        "The score is the share of the smaller submission's remaining fingerprints "
        "that the other submission also has.</p>"
    )


def _pairs_table(pairs: tuple[Pair, ...]) -> str:
    if not pairs:
        return "<p>No pair reaches the threshold.</p>"
    rows = "".join(
        f'<tr><td><a href="#pair-{n}">{n}</a></td><td>{escape(p.a)}</td><td>{escape(p.b)}</td>'
        f"<td>{p.score:.2f}</td><td>{p.shared} (of {p.size_a} and {p.size_b})</td></tr>"
        for n, p in enumerate(pairs, start=1)
    )
    head = "<tr><th>#</th><th>a</th><th>b</th><th>score</th><th>shared fingerprints</th></tr>"
    return f'<table class="pairs">{head}{rows}</table>'


def _pair_section(n: int, pair: Pair, cells: Mapping[str, Mapping[int, Cell]]) -> str:
    groups: dict[tuple[int, int], list[Region]] = defaultdict(list)
    for region in pair.regions:
        groups[(region.a.cell, region.b.cell)].append(region)
    out = [
        f'<h2 id="pair-{n}">{n}. {escape(pair.a)} and {escape(pair.b)}: {pair.score:.2f}</h2>',
        f"<p>{pair.shared} shared fingerprints in {len(groups)} pairs of cells.</p>",
    ]
    shown = sorted(groups.items(), key=lambda g: -sum(r.fingerprints for r in g[1]))
    for (cell_a, cell_b), regions in shown[:MAX_CELL_PAIRS]:
        left = _cell(pair.a, cells[pair.a].get(cell_a), [r.a for r in regions])
        right = _cell(pair.b, cells[pair.b].get(cell_b), [r.b for r in regions])
        out.append(f'<table class="side"><tr><td>{left}</td><td>{right}</td></tr></table>')
    if len(shown) > MAX_CELL_PAIRS:
        out.append(f"<p>{len(shown) - MAX_CELL_PAIRS} more pairs of cells not shown.</p>")
    return "\n".join(out)


def _cell(login: str, cell: Cell | None, spans: list[Lines]) -> str:
    if cell is None:  # regions always point into the report's own cells
        return "<p>(cell not found)</p>"
    hit = {line for s in spans for line in range(s.first, s.last + 1)}
    source = cell.source.splitlines()
    rows = [
        _line(number, text, number in hit)
        for number, text in enumerate(source[:MAX_LINES], start=1)
    ]
    if len(source) > MAX_LINES:
        rows.append(f"… {len(source) - MAX_LINES} more lines")
    label = f"{escape(login)}, cell {cell.index + 1} ({cell.cell_type})"
    return f'<div class="cell">{label}</div><pre>{"".join(rows)}</pre>'


def _line(number: int, text: str, hit: bool) -> str:
    body = f'<span class="ln">{number:>4} </span>{escape(text)}'
    return f'<span class="hit">{body}</span>\n' if hit else body + "\n"
