"""Rendering the tracking issue for a large cohort (pure core, in process)."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta, timezone

from benchmarks.figures import Figure, median
from grader.core.markdown import BODY_LIMIT
from grader.core.model import Assignment, Certificate, CourseConfig, RecordState, RecordStatus
from grader.core.tracker import tracker_pages

AOE = timezone(timedelta(hours=-12))
START = datetime(2020, 8, 8, 23, 59, tzinfo=AOE)
NOW = datetime(2020, 11, 1, tzinfo=UTC)
STATUSES: tuple[RecordStatus, ...] = ("complete", "incomplete", "late", "missing", "open")


def cohort(
    students: int, assignments: int
) -> tuple[CourseConfig, dict[tuple[str, str], RecordState], list[Certificate]]:
    config = CourseConfig(
        name="D2L study group",
        timezone="Etc/GMT+12",
        assignments={
            f"section-{i:02d}": Assignment(
                id=f"section-{i:02d}", title=f"Session {i}", deadline=START + timedelta(weeks=i)
            )
            for i in range(1, assignments + 1)
        },
    )
    rng = random.Random(1)
    states: dict[tuple[str, str], RecordState] = {}
    certificates = []
    for s in range(students):
        login = f"student-{s:04d}"
        for aid in config.assignments:
            states[(login, aid)] = RecordState(login, aid, rng.choice(STATUSES))
        done = sum(1 for a in config.assignments if states[(login, a)].status == "complete")
        certificates.append(
            Certificate(login, done, assignments, True, done * 5 >= assignments * 4)
        )
    return config, states, certificates


def tracker_render(students: int = 2000, assignments: int = 20, reps: int = 5) -> Figure:
    config, states, certificates = cohort(students, assignments)
    times = []
    pages: list[str] = []
    for _ in range(reps):
        started = time.perf_counter()
        pages = tracker_pages(course=config, states=states, certificates=certificates, now=NOW)
        times.append((time.perf_counter() - started) * 1000)
    largest = max(len(p) for p in pages)
    detail: dict[str, float | int | str] = {
        "pages": len(pages),
        "largest_page_chars": largest,
        "body_limit": BODY_LIMIT,
    }
    name = f"tracker render {students} students x {assignments} assignments"
    return Figure(
        name,
        round(median(times), 1),
        "ms",
        f"pages < {BODY_LIMIT} chars",
        largest < BODY_LIMIT,
        detail,
    )
