"""A generated cohort on the real course (course.yml, exercises/): the tracker's worst cases.

Students hand in on time, late, incomplete then fixed, in a second PR, or not at
all; TAs override a few; logins run from 3 to 39 characters (GitHub's longest).
Records are derived from these events by the real policy, so the tracker shows
what the grader would. No kernel runs: evaluations are made up.
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

from grader.adapters.course import load_course
from grader.core.history import StudentHistory, certificate_of, state_of
from grader.core.model import (
    Certificate,
    CourseConfig,
    Evaluation,
    ExerciseResult,
    Override,
    ProjectPresented,
    RecordState,
    Submission,
)

ROOT = Path(__file__).resolve().parents[1]
PRESENTATIONS = datetime(2021, 2, 20, 15, tzinfo=UTC)


def real_course() -> CourseConfig:
    return load_course(ROOT)


def _login(rng: random.Random, i: int) -> str:
    size = rng.choice([3, 5, 7, 8, 10, 12, 15, 20, 39]) if i % 50 else 39
    alphabet = string.ascii_lowercase + string.digits
    body = "".join(rng.choice(alphabet) for _ in range(size - 1))
    if size > 8 and rng.random() < 0.4:  # GitHub logins may hold hyphens
        cut = rng.randrange(2, size - 3)
        body = body[:cut] + "-" + body[cut + 1 :]
    return rng.choice(string.ascii_lowercase) + body


def _evaluation(assignment: str, complete: bool, exercises: int) -> Evaluation:
    results = tuple(
        ExerciseResult(str(k + 1), "ok" if complete or k else "error", "" if complete else "x")
        for k in range(exercises)
    )
    return Evaluation(assignment, "complete" if complete else "incomplete", results)


def histories(
    course: CourseConfig, students: int, now: datetime, seed: int = 11
) -> dict[str, StudentHistory]:
    """Each student's events up to `now` (what the ledger would hold then)."""
    rng = random.Random(seed)
    found: dict[str, StudentHistory] = {}
    number = 0
    for i in range(students):
        login = _login(rng, i)
        while login in found:
            login += rng.choice(string.ascii_lowercase)
        history = StudentHistory()
        for assignment in course.assignments.values():
            if not assignment.exercises:
                continue
            kind = rng.random()
            deadline = assignment.deadline
            events = history.assignments.setdefault(assignment.id, [])
            n = len(assignment.exercises)
            if kind < 0.12:
                continue  # nothing handed in
            number += 1
            if kind < 0.62:
                at = deadline - timedelta(hours=rng.randrange(1, 120))
                events.append(
                    Submission(at, f"{number:040x}", number, _evaluation(assignment.id, True, n))
                )
            elif kind < 0.8:
                at = deadline - timedelta(hours=rng.randrange(1, 48))
                events.append(
                    Submission(at, f"{number:040x}", number, _evaluation(assignment.id, False, n))
                )
                if rng.random() < 0.6:  # fixed in the window, in a new PR now and then
                    fix = number + 1 if rng.random() < 0.3 else number
                    number += 1
                    later = deadline + timedelta(hours=rng.randrange(1, 47))
                    ok = _evaluation(assignment.id, True, n)
                    events.append(Submission(later, f"{number:040x}", fix, ok))
            elif kind < 0.9:
                at = deadline + timedelta(hours=rng.randrange(1, 100))
                events.append(
                    Submission(at, f"{number:040x}", number, _evaluation(assignment.id, True, n))
                )
            else:
                at = deadline - timedelta(hours=2)
                events.append(
                    Submission(at, f"{number:040x}", number, _evaluation(assignment.id, False, n))
                )
                if rng.random() < 0.5:
                    note = "reviewed by hand"
                    events.append(Override(at + timedelta(days=3), "complete", "tina", note))
        for aid, events in history.assignments.items():
            history.assignments[aid] = [e for e in events if e.at <= now]
        if rng.random() < 0.4 and now >= PRESENTATIONS:
            history.project.append(ProjectPresented(PRESENTATIONS, "tina"))
        found[login] = history
    return found


def cohort(
    course: CourseConfig, students: int, now: datetime, seed: int = 11
) -> tuple[dict[tuple[str, str], RecordState], list[Certificate]]:
    """Records at `now` and certificates of a generated cohort of `students`."""
    found = histories(course, students, now, seed)
    states = {
        (login, a.id): state_of(course, login, a, history, now)
        for login, history in found.items()
        for a in course.assignments.values()
    }
    certificates = [
        certificate_of(course, login, [states[(login, a)] for a in course.assignments], history)
        for login, history in found.items()
    ]
    return states, certificates
