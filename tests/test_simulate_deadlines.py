"""Dates are subject to change (PROGRAM.md): a moved deadline re-derives every record
by CONTRACT section 5 and rewrites every view that changed, through `grader simulate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_simulate import course, records, simulate  # noqa: F401 (the fixture)

pytestmark = pytest.mark.kernel

MOVED = """\
now: 2020-08-30T00:00:00Z
events:
  # a1: D = 2020-08-09T11:59Z, D+G = 2020-08-11T11:59Z
  - at: 2020-08-09T10:00:00Z                     # on time, complete
    submit: {student: bob, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-12T10:00:00Z                     # after D+G: late
    submit: {student: alice, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-13T00:00:00Z                     # the course moves a1 later
    deadline: {assignment: a1, to: 2020-08-12T23:59:00Z}
  # a2: D = 2020-08-15T18:29Z
  - at: 2020-08-15T10:00:00Z                     # on time, complete
    submit: {student: carol, assignment: a2, notebook: nb/f2.ipynb}
  - at: 2020-08-16T00:00:00Z                     # ...and a2 earlier, before carol's push
    deadline: {assignment: a2, to: 2020-08-14T23:59:00Z}
"""


def test_a_deadline_moved_later_makes_a_late_submission_on_time(
    course: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = simulate(course, MOVED, capsys)
    found = records(out)
    assert found[("alice", "a1")] == ("complete", False)  # was late before the move
    assert found[("bob", "a1")] == ("complete", False)  # unaffected
    comments = {(p["student"], p["assignment"]): p["comment"] for p in out["pull_requests"]}
    assert "The course's dates or rules changed" in comments[("alice", "a1")]
    assert "2020-08-12" in comments[("alice", "a1")]
    assert "dates or rules changed" not in comments[("bob", "a1")]  # its status is the same


def test_a_deadline_moved_earlier_rederives_by_the_table_and_tells_the_student(
    course: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = simulate(course, MOVED, capsys)
    # carol's first submission is now after the deadline: late (CONTRACT section 5)
    assert records(out)[("carol", "a2")] == ("late", False)
    (pr,) = [p for p in out["pull_requests"] if p["student"] == "carol"]
    assert pr["labels"] == ["incomplete", "late"]
    assert "The course's dates or rules changed" in pr["comment"]


def test_an_unknown_assignment_in_a_deadline_event_is_a_scenario_error(
    course: Path,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    from grader.cli.main import main

    path = course / "bad.yml"
    event = "deadline: {assignment: nope, to: 2020-08-20T00:00:00Z}"
    path.write_text(f"events:\n  - at: 2020-08-13T00:00:00Z\n    {event}\n")
    assert main(["simulate", str(path), "--course", str(course)]) == 2
    assert "unknown assignment 'nope'" in capsys.readouterr().err
