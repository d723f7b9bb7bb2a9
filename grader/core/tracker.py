"""The tracking issue: a pure view of every record, split into pages.

Page 1 is the issue body; pages 2+ are bot-owned comments on the issue. Every
page starts with its own marker `<!-- grader:tracker page=N -->` and stays
below `BODY_LIMIT` characters (GitHub rejects 65,536). Students are split
alphabetically ("a to f"), page 1 lists the pages; the per-student table repeats
its header on every page. Same input, same bytes.

Width: GitHub shows an issue body about 1012 px wide in a 1280 px window and
gives a wider table a scroll bar, hiding columns. With GitHub's CSS a cell costs
26 px of padding, so up to `_ONE_PER_COLUMN` assignments get a column each;
beyond that, marks go five to a column (joined so they never wrap). Logins get a
break opportunity every `_LOGIN_CHUNK` characters. `scripts/view-check` measures
it in Chromium.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from grader.core.markdown import (
    BODY_LIMIT,
    WORD_JOINER,
    escape_inline,
    fit,
    format_duration,
    format_time,
    table,
    table_row,
)
from grader.core.model import Assignment, Certificate, CourseConfig, RecordState, RecordStatus

__all__ = ["GLYPHS", "NOTHING", "TRACKER_MARKER", "tracker_clock", "tracker_pages"]

TRACKER_MARKER = "<!-- grader:tracker"
GLYPHS: Mapping[RecordStatus, str] = {
    "complete": "✅",
    "incomplete": "❌",
    "late": "⏰",
    "missing": "⛔",
    "open": "⏳",
}
NOTHING = "—"  # an assignment with no exercises: nothing to hand in
_COUNTED: tuple[RecordStatus, ...] = ("complete", "incomplete", "late", "missing", "open")
_RESERVE = 600  # a page's heading, legend, footer and the joins
_ONE_PER_COLUMN = 10
_GROUP = 5
_LOGIN_SHOWN = 39  # GitHub logins are at most 39 characters
_LOGIN_CHUNK = 10
_WRAP = 30
_ATTENTION_BUDGET = 12_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DASH = "\u2013"  # an en dash, as in "a" DASH "f"


@dataclass(frozen=True)
class _Student:
    login: str  # as displayed
    cells: tuple[RecordState | None, ...]  # one per assignment, in config order
    certificate: Certificate | None


@dataclass(frozen=True)
class _Page:
    rows: tuple[str, ...]
    label: str  # "a" + EN DASH + "f", or the first and last login when a letter is split


def tracker_clock(
    facts: Iterable[datetime], states: Iterable[RecordState], grace: timedelta, now: datetime
) -> datetime:
    """The time the tracker is rendered at: its newest fact, never the clock itself.

    Facts are the ledger's events (hand-ins, TA commands) and the deadlines and
    resubmission windows that have passed by `now` (they turn `open` into
    `missing` and end "needs attention"). Between two facts the tracker is the
    same bytes, so a re-render writes nothing (THREATS 55).
    """
    passed = [
        moment
        for state in states
        if state.deadline is not None
        for moment in (state.deadline, state.deadline + grace)
        if moment <= now
    ]
    return max([_EPOCH, *facts, *passed])


def tracker_pages(
    *,
    course: CourseConfig,
    states: Mapping[tuple[str, str], RecordState],
    certificates: Sequence[Certificate],
    now: datetime,
) -> list[str]:
    """The tracking issue's body (first) and its overflow comments, in order.

    `now` is the time shown as "As of": pass `tracker_clock(...)`, so the pages are
    a function of the ledger and the course alone.
    """
    assignments = list(course.assignments.values())
    students = _students(course, assignments, states, certificates)
    statuses = [
        [_status(course, s.login, a, c, now) for a, c in zip(assignments, s.cells, strict=True)]
        for s in students
    ]
    overview = _overview(course, assignments, students, statuses, now)
    head = _student_table_head(assignments)
    groups = _letter_groups(
        students,
        [
            _student_row(course, assignments, s, st)
            for s, st in zip(students, statuses, strict=True)
        ],
    )
    toc_room = 200
    while True:
        first_room = BODY_LIMIT - len(overview) - toc_room - len(head) - _RESERVE
        pages = _split(groups, first_room, BODY_LIMIT - len(head) - _RESERVE)
        toc = _contents(pages)
        if len(toc) <= toc_room:
            break
        toc_room = len(toc) + 200
    return [
        _page(course, overview + "\n\n" + toc, head, page, i + 1, len(pages))
        for i, page in enumerate(pages)
    ]


# --- who and what ---------------------------------------------------------------


def _students(
    course: CourseConfig,
    assignments: Sequence[Assignment],
    states: Mapping[tuple[str, str], RecordState],
    certificates: Sequence[Certificate],
) -> list[_Student]:
    """Everyone on the roster, with a record, or with a certificate; logins compare
    case-insensitively, shown as the roster spells them (else the smallest spelling)."""
    spelling: dict[str, str] = {}
    for login in sorted({s for s, _ in states} | {c.student for c in certificates}):
        spelling.setdefault(login.lower(), login)
    for login in course.roster:
        spelling[login.lower()] = login
    by_key = {(s.lower(), a): state for (s, a), state in states.items()}
    certs = {c.student.lower(): c for c in sorted(certificates, key=lambda c: c.student)}
    ordered = sorted(spelling.items(), key=lambda kv: (kv[1].casefold(), kv[1]))
    return [
        _Student(shown, tuple(by_key.get((key, a.id)) for a in assignments), certs.get(key))
        for key, shown in ordered
    ]


def _status(
    course: CourseConfig,
    login: str,
    assignment: Assignment,
    state: RecordState | None,
    now: datetime,
) -> RecordStatus:
    if state is not None:
        return state.status
    extension = course.extensions.get(login.lower(), {}).get(assignment.id, timedelta(0))
    return "open" if now <= assignment.deadline + extension else "missing"


def _nothing_to_hand_in(assignment: Assignment, state: RecordState | None) -> bool:
    """No exercises and nothing handed in: neither missing nor open, just nothing."""
    if assignment.exercises:
        return False
    return state is None or (state.status in ("open", "missing") and not state.override)


def _mark(assignment: Assignment, state: RecordState | None, status: RecordStatus) -> str:
    if _nothing_to_hand_in(assignment, state):
        return NOTHING
    text = GLYPHS[status] + ("\\*" if state is not None and state.override else "")
    if state is not None and state.pr is not None:
        # Relative to the issue's own address (/owner/repo/issues/N), as a browser resolves it.
        return f"[{text}](../pull/{state.pr})"
    return text


# --- page 1: overview -------------------------------------------------------------


def _overview(
    course: CourseConfig,
    assignments: Sequence[Assignment],
    students: Sequence[_Student],
    statuses: Sequence[Sequence[RecordStatus]],
    now: datetime,
) -> str:
    eligible = sum(1 for s in students if s.certificate is not None and s.certificate.eligible)
    counted = sum(1 for a in assignments if a.counts_for_certificate)
    parts = [
        f"## {escape_inline(course.name, 200)}: progress",
        f"As of {format_time(now, course.timezone)}, the newest hand-in, TA command or "
        f"deadline. {len(students)} students, {len(assignments)} assignments "
        f"({counted} count for the certificate), {eligible} students eligible for the "
        "certificate.",
        "### Needs attention",
        _attention(course, assignments, students, now),
        "### Assignments",
        _assignment_table(course, assignments, students, statuses),
        _chart(assignments, students, statuses),
        "### Students",
        _legend(assignments),
    ]
    return "\n\n".join(p for p in parts if p)


def _attention(
    course: CourseConfig,
    assignments: Sequence[Assignment],
    students: Sequence[_Student],
    now: datetime,
) -> str:
    """On-time incompletes that may still be fixed: one line per assignment and window,
    soonest first, each student linked to the PR to look at."""
    windows: dict[tuple[datetime, str], list[tuple[str, RecordState]]] = {}
    for student in students:
        for assignment, state in zip(assignments, student.cells, strict=True):
            if state is None or state.status != "incomplete" or state.override:
                continue
            closes = (state.deadline or assignment.deadline) + course.grace
            if now <= closes:
                windows.setdefault((closes, assignment.id), []).append((student.login, state))
    if not windows:
        return "Nobody: no on-time incomplete hand-in is inside its resubmission window."
    total = sum(len(w) for w in windows.values())
    lines = [
        _attention_line(course, assignment_id, closes, now, found)
        for (closes, assignment_id), found in sorted(windows.items())
    ]
    intro = (
        f"{total} on-time incomplete hand-in{'s' if total != 1 else ''} may still be fixed "
        "and pushed again "
        "(time left counted from the time above):"
    )
    return intro + "\n\n" + "\n".join(fit(lines, _ATTENTION_BUDGET, "- … {n} more windows"))


def _attention_line(
    course: CourseConfig,
    assignment_id: str,
    closes: datetime,
    now: datetime,
    found: Sequence[tuple[str, RecordState]],
) -> str:
    people = [
        f"[{_login_cell(login)}](../pull/{state.pr})" if state.pr else _login_cell(login)
        for login, state in found
    ]
    shown = fit(people, _ATTENTION_BUDGET // 4, "{n} more")
    who = ", ".join(shown)
    head = (
        f"- **{escape_inline(assignment_id, 60)}**, window closes "
        f"{format_time(closes, course.timezone)} ({format_duration(closes - now)} left), "
        f"{len(found)} student{'s' if len(found) != 1 else ''}"
    )
    return f"{head}: {who}"


def _counts(statuses: Sequence[Sequence[RecordStatus]], column: int) -> dict[RecordStatus, int]:
    counts = dict.fromkeys(_COUNTED, 0)
    for row in statuses:
        counts[row[column]] += 1
    return counts


def _assignment_table(
    course: CourseConfig,
    assignments: Sequence[Assignment],
    students: Sequence[_Student],
    statuses: Sequence[Sequence[RecordStatus]],
) -> str:
    if not assignments:
        return "No assignments are configured yet."
    rows = []
    for i, a in enumerate(assignments):
        title = escape_inline(a.title or a.id, 80, wrap=_WRAP)
        name = f"{title} ({escape_inline(a.id, 60, wrap=_WRAP)})"
        if not a.counts_for_certificate:
            name += ", practice"
        when = format_time(a.deadline, course.timezone)
        handed = [(s, st[i]) for s, st in zip(students, statuses, strict=True)]
        if all(_nothing_to_hand_in(a, s.cells[i]) for s, _ in handed):
            cells = ["nothing to hand in", *([NOTHING] * (len(_COUNTED) - 1))]
        else:
            counts = _counts(statuses, i)
            cells = [str(counts[k]) for k in _COUNTED]
        rows.append(table_row([str(i + 1), name, when, *cells]))
    rows = fit(rows, 20_000, "| … | {n} more assignments | | | | | | |")
    words = [f"{GLYPHS[k]} {k}" for k in _COUNTED]
    return table(["#", "Assignment", "Deadline", *words], rows, align="rllrrrrr")


def _chart(
    assignments: Sequence[Assignment],
    students: Sequence[_Student],
    statuses: Sequence[Sequence[RecordStatus]],
) -> str:
    if not assignments:
        return ""
    labels = ", ".join(f'"{i + 1}"' for i in range(len(assignments)))
    bars = ", ".join(str(_counts(statuses, i)["complete"]) for i in range(len(assignments)))
    return (
        "```mermaid\nxychart-beta\n"
        '    title "Students complete, per assignment"\n'
        f"    x-axis [{labels}]\n"
        f'    y-axis "Students" 0 --> {max(len(students), 1)}\n'
        f"    bar [{bars}]\n```"
    )


def _legend(assignments: Sequence[Assignment]) -> str:
    numbers = f"1 to {len(assignments)}" if len(assignments) > 1 else "1"
    grouped = len(assignments) > _ONE_PER_COLUMN
    columns = (
        f"Assignments {numbers} are numbered as above, five to a column"
        if grouped
        else f"Columns {numbers} are the assignments numbered above"
    )
    return (
        "Legend: ✅ complete, ❌ incomplete, ⏰ late (counts as incomplete), "
        "⛔ missing (deadline passed, nothing handed in), ⏳ open (deadline not passed yet), "
        f"{NOTHING} nothing to hand in, \\* set by a TA; a mark links to its pull request. "
        f"{columns}; Complete counts only assignments that count for the certificate."
    )


def _contents(pages: Sequence[_Page]) -> str:
    if len(pages) < 2:
        return ""
    entries = [
        f"page {i + 1} ({'this issue' if i == 0 else f'comment {i}'}): {p.label}"
        for i, p in enumerate(pages)
    ]
    return "**Pages:** " + " · ".join(entries) + "."


# --- the per-student table, split into pages -----------------------------------


def _columns(count: int) -> list[range]:
    """Assignment indexes per column: one each, or five each for long courses."""
    size = 1 if count <= _ONE_PER_COLUMN else _GROUP
    return [range(i, min(i + size, count)) for i in range(0, count, size)]


def _student_table_head(assignments: Sequence[Assignment]) -> str:
    names = [
        str(c.start + 1) if len(c) == 1 else f"{c.start + 1}{_DASH}{c.stop}"
        for c in _columns(len(assignments))
    ]
    headers = ["Student", *names, "Complete", "Project", "Certificate"]
    return table(headers, [], align="l" + "c" * len(names) + "rcc")


def _login_cell(login: str) -> str:
    """The login, escaped, with a break opportunity every few characters: a long
    login must not widen the table past GitHub's body."""
    cell = escape_inline(login[:_LOGIN_SHOWN], 8 * _LOGIN_SHOWN, wrap=_LOGIN_CHUNK)
    return cell + ("…" if len(login) > _LOGIN_SHOWN else "")


def _student_row(
    course: CourseConfig,
    assignments: Sequence[Assignment],
    student: _Student,
    statuses: Sequence[RecordStatus],
) -> str:
    marks = [_mark(a, c, s) for a, c, s in zip(assignments, student.cells, statuses, strict=True)]
    groups = [WORD_JOINER.join(marks[i] for i in column) for column in _columns(len(marks))]
    done, counted = _tally(assignments, statuses, student.certificate)
    percent = f",\u00a0{done * 100 // counted}%" if counted else ""  # no break inside
    cert = student.certificate
    project = "yes" if cert is not None and cert.project else "no"
    return table_row(
        [
            _login_cell(student.login),
            *groups,
            f"{done}/{counted}{percent}",
            project,
            _verdict(course, cert),
        ]
    )


def _verdict(course: CourseConfig, certificate: Certificate | None) -> str:
    if certificate is None:
        return "no"
    if certificate.eligible:
        return "🎓 yes"
    if certificate.disqualified:
        return "🚫 disqualified"
    if course.certificate.require_enrollment and not certificate.enrolled:
        return "no: not enrolled"
    return "no"


def _tally(
    assignments: Sequence[Assignment],
    statuses: Sequence[RecordStatus],
    certificate: Certificate | None,
) -> tuple[int, int]:
    if certificate is not None:
        return certificate.complete, certificate.counted
    counted = [s for a, s in zip(assignments, statuses, strict=True) if a.counts_for_certificate]
    return sum(1 for s in counted if s == "complete"), len(counted)


def _letter(login: str) -> str:
    first = login[:1].casefold()
    return first if first.isascii() and first.isalnum() else "…"


def _letter_groups(
    students: Sequence[_Student], rows: Sequence[str]
) -> list[list[tuple[str, str, str]]]:
    """Rows grouped by the login's first letter, in order: (letter, login, row)."""
    groups: list[list[tuple[str, str, str]]] = []
    for student, row in zip(students, rows, strict=True):
        letter = _letter(student.login)
        if not groups or groups[-1][0][0] != letter:
            groups.append([])
        groups[-1].append((letter, student.login, row))
    return groups


def _split(
    groups: Sequence[Sequence[tuple[str, str, str]]], first_room: int, room: int
) -> list[_Page]:
    """Letters in page-sized runs: a letter moves whole to the next page when it fits
    there, and is split only when it is bigger than a page. Always at least one page."""
    pages: list[list[tuple[str, str, str]]] = [[]]
    used, limit = 0, first_room
    for group in groups:
        size = sum(len(r) + 1 for _, _, r in group)
        if pages[-1] and used + size > limit and size <= room:
            pages.append([])
            used, limit = 0, room
        for item in group:
            if used + len(item[2]) + 1 > limit and pages[-1]:
                pages.append([])
                used, limit = 0, room
            pages[-1].append(item)
            used += len(item[2]) + 1
    return [_Page(tuple(r for _, _, r in page), _label(page, pages)) for page in pages]


def _label(
    page: Sequence[tuple[str, str, str]], pages: Sequence[Sequence[tuple[str, str, str]]]
) -> str:
    if not page:
        return "nobody yet"
    first, last = page[0][0], page[-1][0]
    split = any(
        other is not page
        and other
        and (other[0][0] in (first, last) or other[-1][0] in (first, last))
        for other in pages
    )
    if split:
        return f"{escape_inline(page[0][1], 20)} to {escape_inline(page[-1][1], 20)}"
    return first if first == last else f"{first}{_DASH}{last}"


def _page(
    course: CourseConfig, overview: str, head: str, page: _Page, number: int, total: int
) -> str:
    marker = f"{TRACKER_MARKER} page={number} -->"
    if number == 1:
        top = overview.rstrip()
    else:
        name = escape_inline(course.name, 100)
        top = f"## {name}: students {page.label} (page {number} of {total})"
    body = head + "".join("\n" + r for r in page.rows) if page.rows else "No students yet."
    tail = f"\n\n_Continued in the next comment (page {number + 1} of {total})._"
    return f"{marker}\n{top}\n\n{body}{tail if number < total else ''}\n"
