"""Shared test factories: the AoE clock, deadlines, assignments and courses in code.

The study group's deadlines are 23:59 Anywhere on Earth (UTC-12:00); most
tests use the first session's, 2020-08-08.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from grader.core.model import Assignment, CourseConfig, Exercise

AOE = timezone(timedelta(hours=-12))
DEADLINE = datetime(2020, 8, 8, 23, 59, tzinfo=AOE)


def aoe(year: int, month: int, day: int, hour: int = 23, minute: int = 59) -> datetime:
    """A time Anywhere on Earth; by default the last minute of that day."""
    return datetime(year, month, day, hour, minute, tzinfo=AOE)


def weekly_assignments(
    n: int,
    *,
    start: datetime = DEADLINE,
    prefix: str = "section-",
    title: str = "Session",
    practice: frozenset[int] = frozenset(),
    exercises: tuple[Exercise, ...] = (),
) -> dict[str, Assignment]:
    """`n` assignments a week apart, numbered from 1; those in `practice` do not count."""
    return {
        f"{prefix}{i:02d}": Assignment(
            id=f"{prefix}{i:02d}",
            title=f"{title} {i}",
            deadline=start + timedelta(weeks=i - 1),
            counts_for_certificate=i not in practice,
            exercises=exercises,
        )
        for i in range(1, n + 1)
    }


def course_config(assignments: dict[str, Assignment], **kw: Any) -> CourseConfig:
    """A course with these assignments; keywords set any other CourseConfig field."""
    kw.setdefault("name", "D2L study group")
    return CourseConfig(assignments=assignments, **kw)
