"""Make untrusted text safe to put in GitHub markdown, and format times.

Everything the bot writes passes student-controlled text (notebook names,
outputs, tracebacks, logins) through `escape_inline` or `code_block`. After
escaping, such text cannot open HTML (no raw `<`), forge a hidden marker
(`<!--`), split a table cell (`|`), ping anyone (`@login`, `#123`), or grow a
body past GitHub's size limit.

Sizes are counted in code points (`len`). GitHub has been measured to refuse
comment bodies over 65,536 code points on some surfaces and over 262,144 UTF-8
bytes on others; 60,000 code points is at most 240,000 bytes, so a body that
fits our budget fits both.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "BODY_LIMIT",
    "code_block",
    "escape_inline",
    "fit",
    "format_duration",
    "format_time",
    "sanitize",
    "strip_ansi",
    "table",
    "table_row",
]

# Every body the bot writes stays strictly below this many characters.
BODY_LIMIT = 60_000

ELLIPSIS = "…"
# Invisible, and breaks GitHub's autolinking of @mentions and #123 references.
WORD_JOINER = "\u2060"
# Invisible, and lets a browser break a long word there.
ZERO_WIDTH_SPACE = "\u200b"

_ANSI = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]            # CSI: colours, cursor moves
    | \x9b[0-?]*[ -/]*[@-~]            # 8-bit CSI
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?  # OSC: titles, hyperlinks
    | \x1b[ -/]*[0-~]                  # any other escape sequence
    | \x1b                             # a stray ESC
    """,
    re.VERBOSE,
)
# C0/C1 controls except tab and newline, plus bidirectional overrides
# ("trojan source"), which could make text display differently than it reads.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_WHITESPACE = re.compile(r"\s+")
_BACKTICKS = re.compile("`+")
_MAX_TICK_RUN = 15  # longer backtick runs in a code block are shortened

# Markdown punctuation that could start emphasis, code, links, math, tables.
_BACKSLASHED = frozenset("\\|`*_[]~$#!")
_LINE_START = frozenset("-+=")  # would start a list item or an underline
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences (colours, cursor moves, titles)."""
    return _ANSI.sub("", text)


def sanitize(text: str) -> str:
    """Printable text: lone surrogates replaced, ANSI and control codes gone.

    Keeps tabs and newlines; `\\r\\n` and lone `\\r` become `\\n`.
    """
    if _SURROGATE.search(text):
        # Pairs written as two code points are joined; lone halves become U+FFFD.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = strip_ansi(text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)


def _escape_char(text: str, i: int) -> str:
    char = text[i]
    if char in _ENTITIES:
        return _ENTITIES[char]
    if char == "@":
        return "@" + WORD_JOINER
    if char == "#" and i + 1 < len(text) and text[i + 1].isalnum():
        return "\\#" + WORD_JOINER
    if _starts_autolink(text, i):
        return WORD_JOINER + char
    if char in _BACKSLASHED or (i == 0 and char in _LINE_START):
        return "\\" + char
    return char


def _starts_autolink(text: str, i: int) -> bool:
    """GFM links bare `http://...` and `www....`; a joiner before `:`/`.` stops it."""
    if text[i] == ":":
        return text.startswith("//", i + 1)
    return text[i] == "." and text[max(0, i - 3) : i].lower() == "www"


def escape_inline(text: str, limit: int, *, wrap: int = 0) -> str:
    """One line of inert markdown showing `text`, at most `limit` characters.

    Safe in a paragraph and in a table cell. Whitespace (newlines included)
    collapses to single spaces; a cut is marked with an ellipsis. `wrap`: after
    that many characters without a space, an invisible break opportunity
    (U+200B), so a long word (a path, a hash) cannot widen a table past
    GitHub's body and hide its columns.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    # Only the start can be shown; slicing first keeps huge inputs cheap.
    flat = _WHITESPACE.sub(" ", sanitize(text[: 4 * limit + 1024])).strip()
    flat = flat[: limit + 1]  # every kept character yields at least one out
    out: list[str] = []
    used = run = 0
    for i in range(len(flat)):
        piece = _escape_char(flat, i)
        run = 0 if flat[i] == " " else run + 1
        if wrap and run > wrap:
            piece, run = ZERO_WIDTH_SPACE + piece, 1
        if used + len(piece) > limit:
            return _cut(out, used, limit)
        out.append(piece)
        used += len(piece)
    return "".join(out)


def _cut(out: list[str], used: int, limit: int) -> str:
    """Drop whole escaped pieces until an ellipsis fits within `limit`."""
    while out and used + len(ELLIPSIS) > limit:
        used -= len(out.pop())
    return "".join(out) + ELLIPSIS


def _block_text(text: str) -> str:
    text = sanitize(text).expandtabs(4)
    # A fenced block shows this literally; the break only defeats naive scanners
    # looking for the bot's hidden marker anywhere in a body.
    text = text.replace("<!--", "<!" + WORD_JOINER + "--")
    return _BACKTICKS.sub(lambda m: m.group(0)[:_MAX_TICK_RUN], text)


def _fence(body: str) -> str:
    longest = max((len(m.group(0)) for m in _BACKTICKS.finditer(body)), default=0)
    return "`" * max(3, longest + 1)


def _more_note(hidden: int) -> str:
    return f"{ELLIPSIS} {hidden} more line{'s' if hidden != 1 else ''}"


def _take_lines(lines: list[str], budget: int, max_lines: int) -> tuple[list[str], int]:
    """The lines that fit in `budget` characters, and how many were left out."""
    kept: list[str] = []
    used = 0
    for line in lines[:max_lines]:
        room = budget - used
        if len(line) + 1 > room:
            if room > 8:
                kept.append(line[: room - 2] + ELLIPSIS)
            break
        kept.append(line)
        used += len(line) + 1
    return kept, len(lines) - len(kept)


def code_block(text: str, limit: int, *, max_lines: int = 30, info: str = "") -> str:
    """A fenced code block showing `text` literally, at most `limit` characters.

    ANSI codes are stripped; the text is cut to `max_lines` lines and to the
    character budget, with a last line saying how many lines were left out.
    The fence is longer than any backtick run inside, so nothing can close it.
    """
    info = re.sub(r"[^a-z0-9-]", "", info.lower())[:20]
    overhead = 2 * (_MAX_TICK_RUN + 1) + len(info) + 2 + len(_more_note(10**9)) + 1
    if limit < overhead + 16:
        raise ValueError(f"limit must be at least {overhead + 16}")
    head = text[: 4 * limit + 4096]  # only the start can be shown
    lines = _block_text(head).rstrip("\n").split("\n")
    kept, hidden = _take_lines(lines, limit - overhead, max_lines)
    if len(head) < len(text):
        hidden += text.count("\n", len(head), len(text.rstrip("\r\n")))
    if hidden:
        kept.append(_more_note(hidden))
    body = "\n".join(kept)
    fence = _fence(body)
    return f"{fence}{info}\n{body}\n{fence}"


def _zone(name: str) -> ZoneInfo | timezone:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _zone_label(local: datetime) -> str:
    name = local.tzname() or ""
    if name.isalpha():  # CEST, PDT, UTC
        return name
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _clock(moment: datetime) -> str:
    pattern = "%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M"
    return moment.strftime(pattern)


def format_time(moment: datetime, zone: str) -> str:
    """`moment` in the course's time zone and in UTC, e.g.

    "2020-08-08 23:59 UTC-12:00 (2020-08-09 11:59 UTC)"; only once when the
    course's zone is UTC. An unknown zone name falls back to UTC.
    """
    utc = moment.astimezone(UTC)
    local = moment.astimezone(_zone(zone))
    shown_utc = f"{_clock(utc)} UTC"
    if local.utcoffset() == timedelta(0) and _zone_label(local) == "UTC":
        return shown_utc
    return f"{_clock(local)} {_zone_label(local)} ({shown_utc})"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def format_duration(span: timedelta) -> str:
    """A rough, readable length of time: "2 days 3 hours", "5 minutes"."""
    minutes = int(span.total_seconds()) // 60
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    units = [(days, "day"), (hours, "hour"), (mins, "minute")]
    first = next(i for i, (n, _) in enumerate(units) if n)
    shown = [_plural(n, unit) for n, unit in units[first : first + 2] if n]
    return " ".join(shown)


def table(headers: list[str], rows: list[str], *, align: str = "") -> str:
    """A GFM table from escaped `headers` and rows already built by `table_row`.

    `align` holds one letter per column: l, c or r (default l).
    """
    marks = {"l": "---", "c": ":-:", "r": "--:"}
    rule = [marks.get(a, "---") for a in align.ljust(len(headers), "l")[: len(headers)]]
    return "\n".join([table_row(headers), table_row(rule), *rows])


def table_row(cells: list[str]) -> str:
    """One table line from escaped cells."""
    return "| " + " | ".join(cells) + " |"


def fit(items: list[str], budget: int, more: str) -> list[str]:
    """As many of `items` as fit in `budget` characters (each plus a newline).

    When some are left out, the last item is `more` with `{n}` replaced by
    their number; room for it is kept.
    """
    reserve = len(more) + 12
    kept: list[str] = []
    used = 0
    for item in items:
        if used + len(item) + 1 > budget - reserve:
            return [*kept, more.replace("{n}", str(len(items) - len(kept)))]
        kept.append(item)
        used += len(item) + 1
    return kept
