"""The tracking issue: a pure view of every record, split into pages.

Page 1 is the issue body; pages 2+ are bot-owned comments on the issue. Every
page starts with its own marker `<!-- grader:tracker page=N -->` and stays
below `BODY_LIMIT` characters (GitHub rejects 65,536). The per-student table
continues from page to page with its header repeated. Same input, same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from grader.core.markdown import BODY_LIMIT, escape_inline, fit, format_time, table, table_row
from grader.core.model import Assignment, Certificate, CourseConfig, RecordState, RecordStatus

__all__ = ["GLYPHS", "TRACKER_MARKER", "tracker_pages"]

TRACKER_MARKER = "<!-- grader:tracker"
GLYPHS: Mapping[RecordStatus, str] = {
    "complete": "✅",
    "incomplete": "❌",
    "late": "⏰",
    "missing": "·",
    "open": "○",
}
_COUNTED: tuple[RecordStatus, ...] = ("complete", "incomplete", "late", "missing", "open")
_RESERVE = 400  # a continuation page's heading and footer, and the joins


@dataclass(frozen=True)
class _Student:
    login: str  # as displayed
    cells: tuple[RecordState | None, ...]  # one per assignment, in config order
    certificate: Certificate | None


def tracker_pages(
    *,
    course: CourseConfig,
    states: Mapping[tuple[str, str], RecordState],
    certificates: Sequence[Certificate],
    now: datetime,
) -> list[str]:
    """The tracking issue's body (first) and its overflow comments, in order."""
    assignments = list(course.assignments.values())
    students = _students(course, assignments, states, certificates)
    statuses = [
        [_status(course, s.login, a, c, now) for a, c in zip(assignments, s.cells, strict=True)]
        for s in students
    ]
    overview = _overview(course, assignments, students, statuses, now)
    head = _student_table_head(assignments)
    rows = [
        _student_row(course, assignments, s, st) for s, st in zip(students, statuses, strict=True)
    ]
    first_room = BODY_LIMIT - len(overview) - len(head) - _RESERVE
    chunks = _split(rows, first_room, BODY_LIMIT - len(head) - _RESERVE)
    return [
        _page(course, overview, head, chunk, i + 1, len(chunks)) for i, chunk in enumerate(chunks)
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


def _glyph(state: RecordState | None, status: RecordStatus) -> str:
    return GLYPHS[status] + ("\\*" if state is not None and state.override else "")


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
        f"Updated {format_time(now, course.timezone)}. {len(students)} students, "
        f"{len(assignments)} assignments ({counted} count for the certificate), "
        f"{eligible} students eligible for the certificate.",
        "### Assignments",
        _assignment_table(course, assignments, statuses),
        _chart(assignments, statuses, len(students)),
        "### Students",
        _legend(assignments),
    ]
    return "\n\n".join(p for p in parts if p)


def _counts(statuses: Sequence[Sequence[RecordStatus]], column: int) -> dict[RecordStatus, int]:
    counts = dict.fromkeys(_COUNTED, 0)
    for row in statuses:
        counts[row[column]] += 1
    return counts


def _assignment_table(
    course: CourseConfig,
    assignments: Sequence[Assignment],
    statuses: Sequence[Sequence[RecordStatus]],
) -> str:
    if not assignments:
        return "No assignments are configured yet."
    rows = []
    for i, a in enumerate(assignments):
        counts = _counts(statuses, i)
        name = f"{escape_inline(a.title or a.id, 80)} ({escape_inline(a.id, 60)})"
        if not a.counts_for_certificate:
            name += ", practice"
        when = format_time(a.deadline, course.timezone)
        rows.append(table_row([str(i + 1), name, when, *(str(counts[k]) for k in _COUNTED)]))
    rows = fit(rows, 20_000, "| … | {n} more assignments | | | | | | |")
    words = [f"{GLYPHS[k]} {k}" for k in _COUNTED]
    return table(["#", "Assignment", "Deadline", *words], rows, align="rllrrrrr")


def _chart(
    assignments: Sequence[Assignment], statuses: Sequence[Sequence[RecordStatus]], total: int
) -> str:
    if not assignments:
        return ""
    labels = ", ".join(f'"{i + 1}"' for i in range(len(assignments)))
    bars = ", ".join(str(_counts(statuses, i)["complete"]) for i in range(len(assignments)))
    return (
        "```mermaid\nxychart-beta\n"
        '    title "Students complete, per assignment"\n'
        f"    x-axis [{labels}]\n"
        f'    y-axis "Students" 0 --> {max(total, 1)}\n'
        f"    bar [{bars}]\n```"
    )


def _legend(assignments: Sequence[Assignment]) -> str:
    numbers = f"1 to {len(assignments)}" if len(assignments) > 1 else "1"
    return (
        "Legend: ✅ complete, ❌ incomplete, ⏰ late (counts as incomplete), · missing, "
        "○ open (deadline not passed yet), \\* set by a TA. "
        f"Columns {numbers} are the assignments numbered above; "
        "Complete and % count only assignments that count for the certificate."
    )


# --- the per-student table, split into pages -----------------------------------


def _student_table_head(assignments: Sequence[Assignment]) -> str:
    numbers = [str(i + 1) for i in range(len(assignments))]
    headers = ["Student", *numbers, "Complete", "%", "Project", "Certificate"]
    return table(headers, [], align="l" + "c" * len(numbers) + "rrcc")


def _student_row(
    course: CourseConfig,
    assignments: Sequence[Assignment],
    student: _Student,
    statuses: Sequence[RecordStatus],
) -> str:
    glyphs = [_glyph(c, s) for c, s in zip(student.cells, statuses, strict=True)]
    done, counted = _tally(assignments, statuses, student.certificate)
    percent = f"{done * 100 // counted}%" if counted else "—"
    cert = student.certificate
    project = "yes" if cert is not None and cert.project else "no"
    eligible = "🎓 yes" if cert is not None and cert.eligible else "no"
    login = escape_inline(student.login, 60)
    return table_row([login, *glyphs, f"{done}/{counted}", percent, project, eligible])


def _tally(
    assignments: Sequence[Assignment],
    statuses: Sequence[RecordStatus],
    certificate: Certificate | None,
) -> tuple[int, int]:
    if certificate is not None:
        return certificate.complete, certificate.counted
    counted = [s for a, s in zip(assignments, statuses, strict=True) if a.counts_for_certificate]
    return sum(1 for s in counted if s == "complete"), len(counted)


def _split(rows: Sequence[str], first_room: int, room: int) -> list[list[str]]:
    """Rows in page-sized chunks; always at least one (possibly empty) chunk."""
    chunks: list[list[str]] = [[]]
    used, limit = 0, first_room
    for row in rows:
        if used + len(row) + 1 > limit and chunks[-1]:
            chunks.append([])
            used, limit = 0, room
        chunks[-1].append(row)
        used += len(row) + 1
    return chunks


def _page(
    course: CourseConfig, overview: str, head: str, rows: list[str], number: int, total: int
) -> str:
    marker = f"{TRACKER_MARKER} page={number} -->"
    if number == 1:
        top = overview
    else:
        top = f"## {escape_inline(course.name, 100)}: students, page {number} of {total}"
    body = head + "".join("\n" + r for r in rows) if rows else "No students yet."
    tail = f"\n\n_Continued in the next comment (page {number + 1} of {total})._"
    return f"{marker}\n{top}\n\n{body}{tail if number < total else ''}\n"
