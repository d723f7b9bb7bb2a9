"""`grader simulate` and `grader demo` end to end: real kernels, local forge, virtual clock."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from grader.adapters.grading import NotebookGrader
from grader.adapters.ledger import Ledger
from grader.adapters.localforge import LocalForge
from grader.app.context import Context
from grader.app.simulate import Simulation
from grader.app.submission import handle_submission
from grader.app.tracker import render_tracker
from grader.cli.main import main
from grader.core.model import CourseConfig
from tests import notebooks as nbf

pytestmark = pytest.mark.kernel

COURSE = """\
name: Sim course
timezone: Asia/Kolkata
tas: [tina]
execution: {cell_timeout_s: 5, notebook_timeout_s: 60, memory_mb: 1024}
certificate: {min_complete_fraction: 0.5, require_final_project: false}
"""
A1 = (
    "title: One\ndeadline: 2020-08-08T23:59:00-12:00\n"
    'exercises:\n  - {id: "1", answer: code, test: "assert f() == 1"}\n'
)
A2 = (
    "title: Two\ndeadline: 2020-08-15T23:59:00+05:30\n"
    'exercises:\n  - {id: "1", answer: code, test: "assert f() == 2"}\n'
)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "exercises").mkdir()
    (tmp_path / "course.yml").write_text(COURSE)
    (tmp_path / "exercises" / "a1.yml").write_text(A1)
    (tmp_path / "exercises" / "a2.yml").write_text(A2)
    nb = tmp_path / "nb"
    for value in (1, 2, 3):
        nbf.write(
            nb / f"f{value}.ipynb",
            nbf.notebook(nbf.code(f"def f():\n    return {value}", tags=["exercise-1"])),
        )
    return tmp_path


def simulate(course: Path, scenario: str, capsys: pytest.CaptureFixture[str]) -> dict:
    path = course / "scenario.yml"
    path.write_text(scenario)
    assert main(["simulate", str(path), "--course", str(course), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


SCENARIO = """\
now: 2020-08-20T00:00:00Z
roster: [alice, bob, carol, dave]
events:
  # a1: D = 2020-08-09T11:59Z, D+G = 2020-08-11T11:59Z
  - at: 2020-08-09T11:59:00Z                     # exactly at the deadline: on time
    submit: {student: alice, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-09T11:00:00Z
    submit: {student: bob, assignment: a1, notebook: nb/f2.ipynb}
  - at: 2020-08-11T11:59:00Z                     # D+G exactly: fix still counts
    submit: {student: bob, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-09T11:59:01Z                     # one second late
    submit: {student: carol, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-10T00:00:00Z
    comment: {author: bob, student: bob, assignment: a1, body: "/grader complete"}
  - at: 2020-08-10T00:00:00Z
    comment: {author: tina, student: carol, assignment: a1, body: "/grader incomplete copied"}
  # a2: D = 2020-08-15T18:29Z (+05:30)
  - at: 2020-08-15T23:00:00+05:30
    submit: {student: alice, assignment: a2, notebook: nb/f3.ipynb}
  - at: 2020-08-16T00:00:00Z                     # after D, inside the window, new PR
    submit: {student: alice, assignment: a2, notebook: nb/f2.ipynb, new_pr: true}
  - at: 2020-08-16T00:00:00Z                     # late first submission...
    submit: {student: dave, assignment: a2, notebook: nb/f2.ipynb}
  - at: 2020-08-16T01:00:00Z                     # ...rescued by an extension
    comment: {author: tina, student: dave, assignment: a2, body: "/grader extend 1d"}
"""


def records(out: dict) -> dict[tuple[str, str], tuple[str, bool]]:
    return {(r["student"], r["assignment"]): (r["status"], r["override"]) for r in out["records"]}


def test_contract_rows_through_the_whole_pipeline(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = simulate(course, SCENARIO, capsys)
    assert set(out) == {"records", "pull_requests", "certificates", "tracker"}
    assert records(out) == {
        ("alice", "a1"): ("complete", False),
        ("alice", "a2"): ("complete", False),  # incomplete on time, fixed in the window on a new PR
        ("bob", "a1"): ("complete", False),  # his own /grader complete was refused
        ("bob", "a2"): ("missing", False),
        ("carol", "a1"): ("incomplete", True),  # late, then a TA override
        ("carol", "a2"): ("missing", False),
        ("dave", "a1"): ("missing", False),
        ("dave", "a2"): ("complete", False),  # extension made it on time
    }
    labels = {
        (p["student"], p["assignment"], p["number"]): p["labels"] for p in out["pull_requests"]
    }
    assert labels[("carol", "a1", 3)] == ["incomplete"]
    # alice's first a2 PR (incomplete on time) follows the record her newer PR completed
    assert sorted(labels.values()) == sorted(
        [["complete"], ["complete"], ["complete"], ["incomplete"], ["complete"], ["complete"]]
    )
    certs = {
        c["student"]: (c["complete"], c["counted"], c["eligible"]) for c in out["certificates"]
    }
    assert certs == {
        "alice": (2, 2, True),
        "bob": (1, 2, True),
        "carol": (0, 2, False),
        "dave": (1, 2, True),
    }
    for pr in out["pull_requests"]:
        assert pr["comment"].startswith("<!-- grader:pr")
    assert out["tracker"].startswith("<!-- grader:tracker")


def test_late_submission_gets_only_the_note(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = (
        "events:\n  - at: 2020-08-12T00:00:00Z\n"
        "    submit: {student: erin, assignment: a1, notebook: nb/f2.ipynb}\n"
    )
    out = simulate(course, scenario, capsys)
    (pr,) = out["pull_requests"]
    assert pr["labels"] == ["incomplete", "late"]
    assert "after the deadline" in pr["comment"]
    assert "| Exercise" not in pr["comment"]  # no per-exercise feedback for late work


def test_same_scenario_twice_gives_identical_output(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert simulate(course, SCENARIO, capsys) == simulate(course, SCENARIO, capsys)


def test_rerun_of_a_submission_makes_no_writes(course: Path, tmp_path: Path) -> None:
    from grader.adapters.course import load_course

    config: CourseConfig = load_course(course)
    forge = LocalForge(tmp_path / "forge")
    sim = Simulation(
        course=config,
        forge=forge,
        ledger=Ledger(forge),
        grade=NotebookGrader(config, {"PATH": "/usr/bin:/bin"}),
        notebooks=lambda _path: None,
    )
    at = datetime(2020, 8, 8, tzinfo=UTC)
    content = (course / "nb" / "f1.ipynb").read_bytes()
    path = "submissions/alice/a1.ipynb"
    number = forge.open_pull("alice", {path: content})
    evaluation = sim.evaluate(content, config.assignments["a1"])
    ctx = Context(forge=forge, course=config, ledger=Ledger(forge))
    handle_submission(ctx, number, {path: evaluation}, at)
    before = forge.writes
    handle_submission(ctx, number, {path: evaluation}, at)  # a re-run: same commit, same result
    render_tracker(ctx, at)
    after_first_render = forge.writes
    render_tracker(ctx, at)
    assert before > 0
    assert forge.writes == after_first_render  # re-rendering the same tracker writes nothing
    assert after_first_render - before == 1  # only the tracker's creation


def test_scenario_errors_exit_2(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = course / "bad.yml"
    path.write_text(
        "events:\n  - at: 2020-08-08T10:00:00\n"
        "    submit: {student: a, assignment: a1, notebook: x}\n"
    )
    assert main(["simulate", str(path), "--course", str(course)]) == 2
    assert "events[0].at" in capsys.readouterr().err


def test_demo_writes_tracker_and_comments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo-output"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tracker.md" in printed
    tracker = (out / "tracker.md").read_text()
    alice = "| alice | [✅](../pull/1) | [✅](../pull/6) | [✅](../pull/12) | 3/3,\xa0100% |"
    assert alice + " yes | 🎓 yes |" in tracker
    assert "| carol | [⏰](../pull/5) | [✅](../pull/8) | [✅](../pull/16) |" in tracker
    assert "| dave | ⛔ | [❌](../pull/11) | ⛔ |" in tracker
    assert "| erin | [✅\\*](../pull/2) |" in tracker
    comments = sorted((out / "comments").glob("*.md"))
    assert len(comments) == 16
    refusal = [
        c
        for c in (out / "forge" / "comments").glob("*.json")
        if "only course TAs and repository maintainers" in c.read_text()
    ]
    assert len(refusal) == 1


def test_extension_and_override_before_any_pull_request(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = """\
now: 2020-08-20T00:00:00Z
events:
  - at: 2020-08-01T00:00:00Z                     # granted ahead of time
    comment: {author: tina, student: erin, assignment: a1, body: "/grader extend 3d"}
  - at: 2020-08-01T00:00:00Z                     # not a TA: nothing happens
    comment: {author: erin, student: erin, assignment: a2, body: "/grader complete"}
  - at: 2020-08-01T00:00:00Z
    comment: {author: tina, student: fred, assignment: a2, body: "/grader complete excused"}
  - at: 2020-08-11T00:00:00Z                     # after D, before D + 3 days
    submit: {student: erin, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-19T00:00:00Z
    comment: {author: tina, student: fred, body: "/grader project presented"}
"""
    out = simulate(course, scenario, capsys)
    assert records(out)[("erin", "a1")] == ("complete", False)
    assert records(out)[("erin", "a2")] == ("missing", False)
    assert records(out)[("fred", "a2")] == ("complete", True)
    certs = {c["student"]: c for c in out["certificates"]}
    assert certs["fred"]["complete"] == 1
    assert "| fred |" in out["tracker"]
    fred = next(line for line in out["tracker"].splitlines() if line.startswith("| fred |"))
    assert "| yes |" in fred  # the project, recorded for the named student
