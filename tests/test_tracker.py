"""The tracking issue: pages, tables, escaping, determinism (THREATS rows 9 and 25)."""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from grader.core.markdown import BODY_LIMIT
from grader.core.model import (
    Certificate,
    CourseConfig,
    RecordState,
    RecordStatus,
)
from grader.core.tracker import tracker_pages
from tests.factories import DEADLINE, course_config, weekly_assignments
from tests.gfm import parse

START = DEADLINE
NOW = datetime(2020, 11, 1, tzinfo=UTC)
STATUSES: tuple[RecordStatus, ...] = ("complete", "incomplete", "late", "missing", "open")


def student_rows(pages: list[str]) -> list[list[str]]:
    rows: list[list[str]] = []
    for page in pages:
        for found in parse(page).tables:
            if found[0][0] == "Student":
                rows += found[1:]
    return rows


def course(n_assignments: int, *, title: str = "Session", **kw: Any) -> CourseConfig:
    first = START + timedelta(weeks=1)
    assignments = weekly_assignments(
        n_assignments, start=first, title=title, practice=frozenset({2})
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
    assert all(len(row) == 1 + 20 + 4 for row in rows)
    assert sorted(row[0] for row in rows) == logins  # each student exactly once
    summary = parse(pages[0]).tables[0]
    assert summary[0][0] == "#"
    assert len(summary) == 21
    assert all(len(row) == 8 for row in summary)
    assert all(sum(int(c) for c in row[3:]) == 2_000 for row in summary[1:])
    assert "Continued in the next comment (page 2 of" in pages[0]
    assert "Continued" not in pages[-1]


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
    assert "Updated 2020-10-31 12:00 UTC-12:00 (2020-11-01 00:00 UTC)" in page
    assert "```mermaid\nxychart-beta\n" in page
    assert '    x-axis ["1", "2", "3"]\n' in page
    assert "    bar [2, 0, 0]\n" in page
    assert "Legend: ✅ complete" in page
    rows = {row[0]: row for row in student_rows([page])}
    assert rows["bob"][1:4] == ["✅*", "⏰", "·"]
    assert rows["alice"][4:] == ["1/2", "50%", "yes", "no"]
    assert rows["bob"][4:] == ["1/2", "50%", "no", "no"]  # section-02 is practice


def test_students_sorted_case_insensitively_with_roster_spelling() -> None:
    config = course(1, roster=("Dave", "bob"))
    states = {
        ("carol", "section-01"): RecordState("carol", "section-01", "complete"),
        ("Alice", "section-01"): RecordState("Alice", "section-01", "incomplete"),
        ("dave", "section-01"): RecordState("dave", "section-01", "complete"),
    }
    (page,) = tracker_pages(course=config, states=states, certificates=[], now=NOW)
    rows = student_rows([page])
    assert [r[0] for r in rows] == ["Alice", "bob", "carol", "Dave"]
    assert rows[3][1] == "✅"  # dave's record shown under the roster's spelling
    assert rows[1][1] == "·"  # bob: nothing submitted, deadline passed


def test_open_and_extension_without_a_record() -> None:
    ext = {"bob": {"section-01": timedelta(days=365)}}
    config = course(1, roster=("alice", "bob"), extensions=ext)
    (page,) = tracker_pages(course=config, states={}, certificates=[], now=NOW)
    rows = {row[0]: row for row in student_rows([page])}
    assert rows["alice"][1] == "·"
    assert rows["bob"][1] == "○"


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
    assert all(len(row) == 1 + 17 + 4 for row in rows)
    summary = parse(pages[0]).tables[0]
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
