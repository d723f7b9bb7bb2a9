"""The bot's markdown as GitHub shows it, measured in headless Chromium at 1012 px.

Every table and code block of the tracker (300 and 3,000 generated students on
the real 17-assignment course, and the demo's) and of the PR comments must fit
GitHub's comment body: a wider table gets a scroll bar and hides columns. Each
body stays under 60,000 characters. Skipped, with the reason, where Chromium or
the pinned github-markdown-css is not installed (see tests/browser.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from grader.core import render
from grader.core.markdown import BODY_LIMIT
from grader.core.model import Evaluation, ExerciseResult, RecordState, Submission
from grader.core.tracker import tracker_pages
from grader.core.view import Shown
from tests.browser import Measured, available, measure
from tests.view_cohort import cohort, real_course

pytestmark = pytest.mark.skipif(bool(available()), reason=available() or "available")

MID_COURSE = datetime(2020, 12, 21, tzinfo=UTC)


def overflowing(found: list[Measured]) -> list[str]:
    """Tables that need a scroll bar. Code blocks may scroll, as code does on GitHub:
    wrapping a traceback would change what it says."""
    return [
        f"{m.name}: {b.kind} needs {b.scroll} px, shows {b.client} px"
        for m in found
        for b in m.boxes
        if b.kind == "table" and not b.fits
    ]


@pytest.mark.parametrize("students", [300, 3_000])
def test_tracker_fits_githubs_width(students: int) -> None:
    course = real_course()
    states, certificates = cohort(course, students, MID_COURSE)
    pages = tracker_pages(course=course, states=states, certificates=certificates, now=MID_COURSE)
    found = measure({f"page-{i + 1}": p for i, p in enumerate(pages)})
    print(
        f"\n{students} students: {len(pages)} pages, characters "
        + ", ".join(str(m.chars) for m in found)
        + "; widest table "
        + str(max(b.scroll for m in found for b in m.boxes))
        + " px"
    )
    assert len(found) == len(pages)
    assert all(m.boxes for m in found)  # every page has its student table
    assert overflowing(found) == []
    assert all(len(p) < BODY_LIMIT for p in pages)


def test_a_table_wider_than_github_is_caught() -> None:
    """The check can fail: seventeen assignment columns and a long login do not fit."""
    head = "| Student | " + " | ".join(str(i) for i in range(1, 18)) + " | Certificate |"
    rule = "|---" * 19 + "|"
    row = "| " + "w" * 39 + " | " + " | ".join(["✅"] * 17) + " | 🎓 yes |"
    found = measure({"wide": "\n".join([head, rule, row])})
    assert len(overflowing(found)) == 1


def test_pr_comments_fit_githubs_width() -> None:
    course = real_course()
    assignment = course.assignments["section-03"]
    traceback = "ValueError: " + "x" * 300 + "\n" + "  File 'cell', line 1\n" * 40
    results = tuple(
        ExerciseResult(e.id, "error" if i % 2 else "ok", traceback if i % 2 else "")
        for i, e in enumerate(assignment.exercises)
    )
    evaluation = Evaluation(assignment.id, "incomplete", results, problems=("Kernel died",))
    at = assignment.deadline - timedelta(hours=3)
    state = RecordState(
        "a" * 39,
        assignment.id,
        "incomplete",
        submitted_at=at,
        pr=41,
        sha="f" * 40,
        deadline=assignment.deadline,
        feedback="full",
    )
    latest = Submission(at, "f" * 40, 41, evaluation)
    bodies = {
        "incomplete": render.pr_comment(
            course=course,
            assignment=assignment,
            state=state,
            evaluation=evaluation,
            now=at,
            student=state.student,
            pr=41,
            shown=Shown(latest, None, evaluation),
        ),
        "completed elsewhere": render.pr_comment(
            course=course,
            assignment=assignment,
            state=replace(state, status="complete", pr=57),
            evaluation=evaluation,
            now=at,
            student=state.student,
            pr=41,
            shown=Shown(latest, None, evaluation),
        ),
    }
    found = measure(bodies)
    assert overflowing(found) == []
    assert all(len(b) < BODY_LIMIT for b in bodies.values())
