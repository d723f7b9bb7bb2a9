"""The tracking issue: pages, tables, escaping, determinism (THREATS rows 9 and 25)."""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from grader.core.markdown import BODY_LIMIT
from grader.core.model import (
    Assignment,
    Certificate,
    CertificateRule,
    CourseConfig,
    Exercise,
    RecordState,
    RecordStatus,
)
from grader.core.tracker import GLYPHS, tracker_clock, tracker_pages
from tests.factories import DEADLINE, course_config, weekly_assignments
from tests.gfm import parse, to_html

START = DEADLINE
NOW = datetime(2020, 11, 1, tzinfo=UTC)
EXERCISES = (Exercise("1"),)
ZWSP = "\u200b"
DASH = "\u2013"  # an en dash
WJ = "\u2060"  # word joiner
STATUSES: tuple[RecordStatus, ...] = ("complete", "incomplete", "late", "missing", "open")


def student_rows(pages: list[str]) -> list[list[str]]:
    """The per-student table's rows, logins without their break opportunities."""
    rows: list[list[str]] = []
    for page in pages:
        for found in parse(page).tables:
            if found[0][0] == "Student" and "Complete" in found[0]:
                rows += [[row[0].replace(ZWSP, ""), *row[1:]] for row in found[1:]]
    return rows


def table_headed(page: str, first: str, *also: str) -> list[list[str]]:
    return next(t for t in parse(page).tables if t[0][0] == first and all(a in t[0] for a in also))


def course(n_assignments: int, *, title: str = "Session", **kw: Any) -> CourseConfig:
    first = START + timedelta(weeks=1)
    assignments = weekly_assignments(
        n_assignments, start=first, title=title, practice=frozenset({2}), exercises=EXERCISES
    )
    return course_config(assignments, timezone="Etc/GMT+12", **kw)


def cohort(
    config: CourseConfig, logins: list[str], seed: int = 1
) -> tuple[dict[tuple[str, str], RecordState], list[Certificate]]:
    rng = random.Random(seed)
    states: dict[tuple[str, str], RecordState] = {}
    certificates = []
    for login in logins:
        for aid in config.assignments:
            status = rng.choice(STATUSES)
            override = status in ("complete", "incomplete") and rng.random() < 0.05
            states[(login, aid)] = RecordState(login, aid, status, override=override)
        done = sum(1 for a in config.assignments if states[(login, a)].status == "complete")
        counted = len(config.assignments) - 1
        project = rng.random() < 0.5
        eligible = project and done * 5 >= counted * 4
        certificates.append(Certificate(login, done, counted, project, eligible))
    return states, certificates


def test_2000_students_by_20_assignments() -> None:
    config = course(20)
    logins = [f"student-{i:04d}" for i in range(2_000)]
    states, certificates = cohort(config, logins)
    started = time.perf_counter()
    pages = tracker_pages(course=config, states=states, certificates=certificates, now=NOW)
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"\ntracker 2000x20: {elapsed_ms:.0f} ms, {len(pages)} pages")
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        assert len(page) < BODY_LIMIT
        assert page.startswith(f"<!-- grader:tracker page={number} -->\n")
        assert page.count("<!--") == 1
    rows = student_rows(pages)
    # Twenty assignments, five to a column: Student, 4 groups, Complete, Project, Certificate.
    assert all(len(row) == 1 + 4 + 3 for row in rows)
    assert all(len(row[1].replace("*", "").replace(WJ, "")) == 5 for row in rows)
    assert all(row[1].count(WJ) == 4 for row in rows)  # joined: the five never wrap
    assert sorted(row[0] for row in rows) == logins  # each student exactly once
    assert table_headed(pages[0], "Student", "Complete")[0][1:5] == [
        f"1{DASH}5",
        f"6{DASH}10",
        f"11{DASH}15",
        f"16{DASH}20",
    ]
    summary = table_headed(pages[0], "#")
    assert len(summary) == 21
    assert all(len(row) == 8 for row in summary)
    assert all(sum(int(c) for c in row[3:]) == 2_000 for row in summary[1:])
    assert "Continued in the next comment (page 2 of" in pages[0]
    assert "Continued" not in pages[-1]
    # Everyone's login starts with "s": the pages name their first and last student.
    assert f"page 2 (comment 1): {logins[len(student_rows(pages[:1]))]} to " in pages[0]


def test_page_one_has_summary_chart_and_legend() -> None:
    config = course(3)
    states = {
        ("alice", "section-01"): RecordState("alice", "section-01", "complete"),
        ("bob", "section-01"): RecordState("bob", "section-01", "complete", override=True),
        ("bob", "section-02"): RecordState("bob", "section-02", "late"),
    }
    certs = [Certificate("alice", 1, 2, True, False)]
    (page,) = tracker_pages(course=config, states=states, certificates=certs, now=NOW)
    assert "## D2L study group: progress" in page
    assert "As of 2020-10-31 12:00 UTC-12:00 (2020-11-01 00:00 UTC), the newest" in page
    assert "```mermaid\nxychart-beta\n" in page
    assert '    x-axis ["1", "2", "3"]\n' in page
    assert "    bar [2, 0, 0]\n" in page
    assert "Legend: ✅ complete" in page
    assert "Pages:" not in page  # one page: no table of contents
    rows = {row[0]: row for row in student_rows([page])}
    assert rows["bob"][1:4] == ["✅*", "⏰", "⛔"]
    assert rows["alice"][4:] == ["1/2,\u00a050%", "yes", "no"]
    assert rows["bob"][4:] == ["1/2,\u00a050%", "no", "no"]  # section-02 is practice


def test_missing_and_open_marks_differ_and_link_to_the_pr() -> None:
    config = course(2, roster=("alice",))
    late = datetime(2020, 8, 17, tzinfo=UTC)  # after section-01's deadline, before 02's
    done = RecordState("alice", "section-01", "complete", pr=12, submitted_at=late)
    (page,) = tracker_pages(
        course=config, states={("alice", "section-01"): done}, certificates=[], now=late
    )
    assert student_rows([page])[0][1:3] == ["✅", "⏳"]
    assert '<a href="../pull/12">✅</a>' in to_html(page)
    (later,) = tracker_pages(course=config, states={}, certificates=[], now=NOW)
    assert student_rows([later])[0][1:3] == ["⛔", "⛔"]
    assert GLYPHS["missing"] != GLYPHS["open"]
    assert "·" not in GLYPHS.values()
    assert "○" not in GLYPHS.values()


def test_nothing_to_hand_in_is_a_dash_and_never_missing() -> None:
    assignments = weekly_assignments(2, start=START, exercises=EXERCISES)
    empty = Assignment("section-03", "Preliminaries", START + timedelta(weeks=2), False, ())
    config = course_config({**assignments, "section-03": empty}, roster=("alice", "bob"))
    states = {("alice", "section-01"): RecordState("alice", "section-01", "complete")}
    (page,) = tracker_pages(course=config, states=states, certificates=[], now=NOW)
    rows = {row[0]: row for row in student_rows([page])}
    assert rows["alice"][1:4] == ["✅", "⛔", "—"]
    assert rows["bob"][3] == "—"
    summary = table_headed(page, "#")
    assert summary[3][3:] == ["nothing to hand in", "—", "—", "—", "—"]
    assert summary[2][6] == "2"  # section-02: both missing; section-03 counts nobody
    assert "— nothing to hand in" in page


def test_needs_attention_lists_open_resubmission_windows_with_time_left() -> None:
    config = course(2, roster=("alice", "bob", "carol", "dave"))
    deadline = config.assignments["section-01"].deadline
    now = deadline + timedelta(hours=12)
    states = {
        ("alice", "section-01"): RecordState(
            "alice", "section-01", "incomplete", pr=3, deadline=deadline
        ),
        ("bob", "section-01"): RecordState(
            "bob", "section-01", "incomplete", pr=4, deadline=deadline, override=True
        ),
        ("carol", "section-01"): RecordState(
            "carol", "section-01", "incomplete", pr=5, deadline=deadline - timedelta(days=3)
        ),
        ("dave", "section-01"): RecordState("dave", "section-01", "complete", pr=6),
    }
    (page,) = tracker_pages(course=config, states=states, certificates=[], now=now)
    # alice only: bob's is a TA's decision, carol's window closed, dave is complete.
    assert "1 on-time incomplete hand-in may still be fixed and pushed again" in page
    assert (
        "- **section-01**, window closes 2020-08-17 23:59 UTC-12:00 (2020-08-18 11:59 UTC) "
        "(1 day 12 hours left), 1 student: [alice](../pull/3)\n" in page
    )
    assert '<a href="../pull/3">alice</a>' in to_html(page)
    assert page.index("### Needs attention") < page.index("### Assignments")
    (after,) = tracker_pages(
        course=config, states=states, certificates=[], now=now + timedelta(days=2)
    )
    assert "Nobody: no on-time incomplete" in after


def test_pages_split_alphabetically_with_contents_on_page_one() -> None:
    config = course(17)
    rng = random.Random(5)
    letters = "abcdefghijklmnopqrstuvwxyz"
    logins = sorted({rng.choice(letters) + f"user{rng.randrange(10**6):06d}" for _ in range(3_000)})
    states, certificates = cohort(config, logins, seed=2)
    pages = tracker_pages(course=config, states=states, certificates=certificates, now=NOW)
    assert len(pages) > 3
    assert all(len(p) < BODY_LIMIT for p in pages)
    contents = re.search(r"\*\*Pages:\*\* (.*)\.\n", pages[0])
    assert contents is not None
    labels = re.findall(
        r"page \d+ \((?:this issue|comment \d+)\): ([a-z](?:" + DASH + r"[a-z])?)",
        contents.group(1),
    )
    assert len(labels) == len(pages)
    per_page = [{row[0][0] for row in student_rows([p])} for p in pages]
    for label, seen in zip(labels, per_page, strict=True):
        first, last = label[0], label[-1]
        assert seen == {c for c in letters if first <= c <= last}  # a letter stays whole
    for number, label in enumerate(labels[1:], start=2):
        assert f"students {label} (page {number} of {len(pages)})" in pages[number - 1]
    assert sorted(row[0] for row in student_rows(pages)) == logins


def test_long_logins_can_wrap_and_are_cut_at_github_length() -> None:
    config = course(1)
    long = "w" * 60
    (page,) = tracker_pages(
        course=config,
        states={(long, "section-01"): RecordState(long, "section-01", "complete")},
        certificates=[],
        now=NOW,
    )
    (cell,) = [r[0] for r in parse(page).tables[-1][1:]]
    assert cell == ZWSP.join(["w" * 10] * 3 + ["w" * 9]) + "…"


def test_clock_is_the_newest_fact_not_the_time_of_rendering() -> None:
    deadline = datetime(2020, 8, 9, 11, 59, tzinfo=UTC)
    state = RecordState("alice", "a", "incomplete", deadline=deadline)
    fact = datetime(2020, 8, 9, 10, tzinfo=UTC)
    grace = timedelta(hours=48)
    assert tracker_clock([fact], [state], grace, fact + timedelta(minutes=5)) == fact
    # A deadline that has passed is a fact: it turns "open" into "missing".
    assert tracker_clock([fact], [state], grace, deadline + timedelta(hours=1)) == deadline
    assert tracker_clock([fact], [state], grace, deadline + grace + timedelta(days=9)) == (
        deadline + grace
    )
    assert tracker_clock([], [], grace, fact).year == 1970


def test_hostile_and_multibyte_names_stay_in_their_cells() -> None:
    config = course(17, title="深層学習 🎉 | <img src=x onerror=alert(1)> @org/team")
    hostile = ["a|b", "<!--", "@everyone", "<script>x", "x" * 300, "名前🎉" * 40, "\ud800", "`x`"]
    logins = hostile + [f"学生{i:04d}🎓" for i in range(3_000)]
    states, certificates = cohort(config, logins, seed=3)
    pages = tracker_pages(course=config, states=states, certificates=certificates, now=NOW)
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        assert len(page) < BODY_LIMIT
        assert page.count("<!--") == 1
        found = parse(page)
        assert not {"img", "script", "a"} & set(found.tags)
        assert found.tags.count("code") == (1 if number == 1 else 0)  # only the chart
        assert not re.search(r"(?<!\w)@[A-Za-z0-9]", page)
    rows = student_rows(pages)
    assert len(rows) == len(logins)
    assert all(len(row) == 1 + 4 + 3 for row in rows)
    summary = table_headed(pages[0], "#")
    assert all(len(row) == 8 for row in summary)


def test_deterministic_whatever_the_input_order() -> None:
    config = course(5)
    logins = [f"user{i}" for i in range(300)]
    states, certificates = cohort(config, logins)
    shuffled = list(states.items())
    random.Random(9).shuffle(shuffled)
    first = tracker_pages(course=config, states=states, certificates=certificates, now=NOW)
    second = tracker_pages(
        course=config, states=dict(shuffled), certificates=certificates[::-1], now=NOW
    )
    assert first == second


def test_no_students_and_no_assignments() -> None:
    (page,) = tracker_pages(course=course(0), states={}, certificates=[], now=NOW)
    assert page.startswith("<!-- grader:tracker page=1 -->\n")
    assert "No assignments are configured yet." in page
    assert "No students yet." in page
    assert "mermaid" not in page


def test_certificate_column_says_disqualified_and_not_enrolled() -> None:
    rule = CertificateRule(require_enrollment=True)
    config = course(1, certificate=rule)
    certs = [
        Certificate("alice", 1, 1, True, True),
        Certificate("bob", 1, 1, True, False, enrolled=False),
        Certificate("carol", 1, 1, True, False, disqualified=True),
        Certificate("dave", 0, 1, False, False),
    ]
    (page,) = tracker_pages(course=config, states={}, certificates=certs, now=NOW)
    verdicts = {row[0]: row[-1] for row in student_rows([page])}
    assert verdicts == {
        "alice": "🎓 yes",
        "bob": "no: not enrolled",
        "carol": "🚫 disqualified",
        "dave": "no",
    }
