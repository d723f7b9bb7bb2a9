"""The views through the local forge and the CLI: `grader simulate`, `grader export`.

Every view true (issue 11): an older PR follows the record a newer PR decided,
the window-closed note keeps the last feedback, an override says who, when and
why, an assignment with nothing to hand in is a dash, and the tracker is a
function of the ledger (a re-render with no new fact writes nothing).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from grader.adapters.course import load_course
from grader.adapters.ledger import Ledger
from grader.adapters.localforge import LocalForge
from grader.app.context import Context
from grader.app.tracker import render_tracker
from grader.cli.main import main
from tests import notebooks as nbf
from tests.gfm import parse

pytestmark = pytest.mark.kernel

COURSE = """\
name: Views course
tas: [tina]
roster: [alice, bob, carol, dave]
execution: {cell_timeout_s: 5, notebook_timeout_s: 60, memory_mb: 1024}
certificate: {min_complete_fraction: 0.5, require_final_project: false}
"""
A0 = (
    "title: Preliminaries\ndeadline: 2020-08-01T23:59:00-12:00\n"
    "counts_for_certificate: false\nexercises: []\n"
)
A1 = (
    "title: One\ndeadline: 2020-08-08T23:59:00-12:00\n"
    'exercises:\n  - {id: "1", answer: code, test: "assert f() == 1"}\n'
)
SCENARIO = """\
now: 2020-08-20T00:00:00Z
events:
  - at: 2020-08-08T10:00:00Z      # on time, wrong
    submit: {student: alice, assignment: a1, notebook: nb/wrong.ipynb}
  - at: 2020-08-10T10:00:00Z      # fixed in a new PR inside the window
    submit: {student: alice, assignment: a1, notebook: nb/right.ipynb, new_pr: true}
  - at: 2020-08-08T11:00:00Z      # on time, wrong
    submit: {student: bob, assignment: a1, notebook: nb/wrong.ipynb}
  - at: 2020-08-15T10:00:00Z      # fixed after the window closed
    submit: {student: bob, assignment: a1, notebook: nb/right.ipynb}
  - at: 2020-08-08T12:00:00Z      # on time, wrong...
    submit: {student: carol, assignment: a1, notebook: nb/wrong.ipynb}
  - at: 2020-08-12T09:00:00Z      # ...and a TA accepts it
    comment:
      {author: tina, student: carol, assignment: a1, body: "/grader complete reviewed by hand"}
"""


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    (root / "exercises").mkdir(parents=True)
    (root / "course.yml").write_text(COURSE)
    (root / "exercises" / "a0.yml").write_text(A0)
    (root / "exercises" / "a1.yml").write_text(A1)
    for name, value in (("right", 1), ("wrong", 2)):
        nbf.write(
            root / "nb" / f"{name}.ipynb",
            nbf.notebook(nbf.code(f"def f():\n    return {value}", tags=["exercise-1"])),
        )
    (root / "scenario.yml").write_text(SCENARIO)
    return root


@pytest.fixture
def result(course: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    forge = course.parent / "forge"
    scenario = str(course / "scenario.yml")
    argv = ["simulate", scenario, "--course", str(course), "--forge", str(forge), "--json"]
    assert main(argv) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def pull(result: dict[str, Any], student: str, number: int | None = None) -> dict[str, Any]:
    found = [p for p in result["pull_requests"] if p["student"] == student]
    return found[0] if number is None else next(p for p in found if p["number"] == number)


def test_an_older_pr_shows_the_record_its_newer_pr_completed(result: dict[str, Any]) -> None:
    older, newer = sorted(
        (p for p in result["pull_requests"] if p["student"] == "alice"), key=lambda p: p["number"]
    )
    assert newer["labels"] == ["complete"]
    assert older["labels"] == ["complete"]  # no stale "incomplete"
    assert f"This assignment was completed in #{newer['number']}." in older["comment"]
    assert "push again" not in older["comment"]
    assert "Well done!" in older["comment"]


def test_window_closed_note_keeps_the_last_feedback(result: dict[str, Any]) -> None:
    body = pull(result, "bob")["comment"]
    assert "resubmission window closed" in body
    assert "It was not reviewed, and this assignment stays **incomplete**." in body
    exercises = next(t for t in parse(body).tables if t[0][0] == "Exercise")
    assert exercises[1][1] == "❌ error"  # the reviewed push's checks, not the late fix's
    assert body.index("not reviewed") < body.index("| Exercise |")
    assert "- **Handed in:** 2020-08-15 10:00 UTC, as GitHub recorded it; commit `" in body
    assert "**Decided by:** the hand-in in #" in body
    assert pull(result, "bob")["labels"] == ["incomplete"]


def test_override_says_who_when_why_without_well_done(result: dict[str, Any]) -> None:
    body = pull(result, "carol")["comment"]
    assert "✅ complete, set by tina on 2020-08-12 09:00 UTC" in body
    assert "**TA note:** reviewed by hand" in body
    assert "Well done!" not in body  # the checks still fail
    assert "a TA marked it complete" in body


def test_tracker_marks_dash_and_counts_nothing_to_hand_in(result: dict[str, Any]) -> None:
    tracker = result["tracker"]
    summary = next(t for t in parse(tracker).tables if t[0][0] == "#")
    assert summary[1][1].startswith("Preliminaries (a0)")
    assert summary[1][3] == "nothing to hand in"
    students = next(t for t in parse(tracker).tables if t[0][0] == "Student" and "Complete" in t[0])
    rows = {r[0]: r for r in students[1:]}
    assert [rows[s][1] for s in ("alice", "bob", "carol", "dave")] == ["—"] * 4
    assert rows["dave"][2] == "⛔"
    assert rows["carol"][2] == "✅*"
    # The newest fact is bob's push on the 15th (every deadline and window passed before):
    # the tracker's time is that, not the scenario's clock (the 20th).
    assert "As of 2020-08-15 10:00 UTC, the newest" in tracker
    assert "Nobody: no on-time incomplete" in tracker


def test_export_says_who_overrode_and_why(
    result: dict[str, Any], course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forge = str(course.parent / "forge")
    base = ["export", "--forge", forge, "--course", str(course), "--now", "2020-08-20T00:00:00Z"]
    assert main([*base, "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)["records"]
    carol = next(r for r in records if r["student"] == "carol" and r["assignment"] == "a1")
    assert carol["override_by"] == "tina"
    assert carol["override_note"] == "reviewed by hand"
    assert carol["override_at"] == "2020-08-12T09:00:00+00:00"
    alice = next(r for r in records if r["student"] == "alice" and r["assignment"] == "a1")
    assert (alice["override_by"], alice["override_note"], alice["override_at"]) == ("", "", "")
    assert main(base) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {"override_by", "override_note", "override_at"} <= set(rows[0])
    assert [
        r["override_by"] for r in rows if r["student"] == "carol" and r["assignment"] == "a1"
    ] == ["tina"]


def test_a_re_render_with_no_new_fact_writes_nothing(result: dict[str, Any], course: Path) -> None:
    forge = LocalForge(course.parent / "forge")
    ctx = Context(forge=forge, course=load_course(course), ledger=Ledger(forge))
    now = datetime(2020, 8, 20, tzinfo=UTC)
    first = render_tracker(ctx, now)
    before = forge.writes
    later = render_tracker(ctx, now + timedelta(days=30))  # a month on: no new fact
    assert later == first
    assert forge.writes == before
    assert "\n\n".join(first) == result["tracker"]  # what simulate wrote at its own end
