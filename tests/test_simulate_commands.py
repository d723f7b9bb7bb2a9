"""`/grader` commands through `grader simulate` (CONTRACT section 4): real kernels, local forge.

Undo, history, disqualification, enrollment and its deadline, auditors, and a
stranger's repeated commands. The tests that need enrollment or a
disqualification to be stored skip until the ledger adapter keeps a
student's `standing` (see `tests/test_command_app.py`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grader.adapters.localforge import LocalForge
from grader.cli.main import main
from tests import notebooks as nbf
from tests.test_command_app import ledger_keeps_standing

pytestmark = pytest.mark.kernel

COURSE = """\
name: Commands course
tas: [tina, tom]
execution: {cell_timeout_s: 5, notebook_timeout_s: 60, memory_mb: 1024}
certificate: {min_complete_fraction: 0.5, require_final_project: false}
"""
# a1: D = 2020-08-09T11:59Z, D + G = 2020-08-11T11:59Z; a2 a week later.
A1 = (
    "title: One\ndeadline: 2020-08-08T23:59:00-12:00\n"
    'exercises:\n  - {id: "1", answer: code, test: "assert f() == 1"}\n'
)
A2 = (
    "title: Two\ndeadline: 2020-08-15T23:59:00-12:00\n"
    'exercises:\n  - {id: "1", answer: code, test: "assert f() == 2"}\n'
)


def make_course(root: Path, course: str = COURSE) -> Path:
    (root / "exercises").mkdir(parents=True)
    (root / "course.yml").write_text(course)
    (root / "exercises" / "a1.yml").write_text(A1)
    (root / "exercises" / "a2.yml").write_text(A2)
    for value in (1, 2):
        nbf.write(
            root / "nb" / f"f{value}.ipynb",
            nbf.notebook(nbf.code(f"def f():\n    return {value}", tags=["exercise-1"])),
        )
    return root


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return make_course(tmp_path / "course")


@pytest.fixture
def standing(tmp_path: Path) -> None:
    assert ledger_keeps_standing(tmp_path)


class Run:
    """One `grader simulate --json --forge DIR` run and what it left on the forge."""

    def __init__(self, course: Path, scenario: str, capsys: pytest.CaptureFixture[str]) -> None:
        path = course / "scenario.yml"
        path.write_text(scenario)
        self.forge_dir = course.parent / f"forge-{len(list(course.parent.glob('forge-*')))}"
        argv = ["simulate", str(path), "--course", str(course), "--json"]
        assert main([*argv, "--forge", str(self.forge_dir)]) == 0
        self.out: dict[str, Any] = json.loads(capsys.readouterr().out)
        self.forge = LocalForge(self.forge_dir)

    def status(self, student: str, assignment: str = "a1") -> tuple[str, bool]:
        (found,) = [
            (r["status"], r["override"])
            for r in self.out["records"]
            if (r["student"], r["assignment"]) == (student, assignment)
        ]
        return found

    def certificate(self, student: str) -> tuple[bool, bool, bool]:
        """(eligible, enrolled, disqualified)"""
        (c,) = [c for c in self.out["certificates"] if c["student"] == student]
        return c["eligible"], c["enrolled"], c["disqualified"]

    def replies(self, number: int) -> list[str]:
        return [
            c.body
            for c in self.forge.bot_comments(number)
            if not c.body.startswith(("<!-- grader:pr", "<!-- grader:tracker"))
        ]

    def pr(self, student: str, assignment: str = "a1") -> int:
        (number,) = [
            p["number"]
            for p in self.out["pull_requests"]
            if (p["student"], p["assignment"]) == (student, assignment)
        ]
        return int(number)

    def tracker_number(self) -> int:
        issue = self.forge.find_issue("Progress tracker")
        assert issue is not None
        return issue.number

    def ledger_text(self) -> str:
        return "".join(self.forge.read_state_all("records/").values())

    def student(self, login: str) -> dict[str, Any]:
        """One student's entry in the ledger's shards."""
        for text in self.forge.read_state_all("records/").values():
            found = json.loads(text)["students"].get(login)
            if found is not None:
                return dict(found)
        raise KeyError(login)


# --- undo of an override, an extension, a project mark; history --------------------------------

UNDO = """\
now: 2020-08-20T00:00:00Z
events:
  - at: 2020-08-09T10:00:00Z
    submit: {student: alice, assignment: a1, notebook: nb/f2.ipynb}   # wrong: incomplete
  - at: 2020-08-10T00:00:00Z
    comment: {author: tina, student: alice, assignment: a1, body: "/grader complete by hand"}
  - at: 2020-08-10T01:00:00Z
    comment: {author: tom, student: alice, assignment: a1, body: "/grader undo"}   # not his
  - at: 2020-08-10T02:00:00Z
    comment: {author: tina, student: alice, assignment: a1, body: "/grader undo"}
  - at: 2020-08-12T00:00:00Z                                          # after D + G: late
    submit: {student: bob, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-12T01:00:00Z
    comment: {author: tina, student: bob, assignment: a1, body: "/grader extend 3d"}
  - at: 2020-08-12T02:00:00Z
    comment: {author: tina, student: bob, assignment: a1, body: "/grader undo"}
  - at: 2020-08-13T00:00:00Z
    comment: {author: tom, student: alice, assignment: a1, body: "/grader history"}
"""


def test_undo_of_an_override_and_an_extension_and_the_history(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = Run(course, UNDO, capsys)
    assert run.status("alice") == ("incomplete", False)  # tina's override undone
    assert run.status("bob") == ("late", False)  # the extension undone
    alice = run.replies(run.pr("alice"))
    assert "no command in force" in alice[0]  # tom cannot undo tina's command
    assert "undone" in alice[1]
    history = alice[-1]
    assert "graded incomplete" in history
    assert "marked **complete** by hand: by hand *(undone)*" in history
    assert "undo of: marked **complete**" in history
    events = [e["type"] for e in run.student("alice")["assignments"]["a1"]]
    assert events == ["submission", "override", "undo"]  # appended, never deleted


PROJECT_UNDO = """\
now: 2020-08-20T00:00:00Z
events:
  - at: 2020-08-09T10:00:00Z
    submit: {student: alice, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-19T00:00:00Z
    comment: {author: tina, issue: tracker, body: "/grader project presented @alice @bob"}
  - at: 2020-08-19T01:00:00Z
    comment: {author: tina, issue: tracker, body: "/grader undo @bob"}
"""


@pytest.mark.usefixtures("standing")
def test_undo_of_a_project_mark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = make_course(
        tmp_path / "project",
        COURSE.replace("require_final_project: false", "require_final_project: true").replace(
            "min_complete_fraction: 0.5", "min_complete_fraction: 0"
        ),
    )
    run = Run(course, PROJECT_UNDO, capsys)
    assert run.certificate("alice")[0] is True
    assert run.certificate("bob")[0] is False  # his mark was taken back
    assert any("undone" in r for r in run.replies(run.tracker_number()))


# --- disqualification --------------------------------------------------------------------------

DISQUALIFY = """\
now: 2020-08-20T00:00:00Z
events:
  - at: 2020-08-09T10:00:00Z
    submit: {student: alice, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-09T10:00:00Z
    submit: {student: bob, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-12T00:00:00Z
    comment: {author: tina, issue: tracker, body: "/grader disqualify @alice @bob copied it"}
  - at: 2020-08-13T00:00:00Z
    comment: {author: tina, issue: tracker, body: "/grader undo @bob"}
"""


@pytest.mark.usefixtures("standing")
def test_disqualification_and_its_undo_keep_no_reason(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = Run(course, DISQUALIFY, capsys)
    assert run.status("alice") == ("complete", False)  # her record is unchanged
    assert run.certificate("alice") == (False, False, True)
    assert run.certificate("bob") == (True, False, False)
    assert "copied it" not in run.out["tracker"]
    assert "copied it" not in run.ledger_text()
    replies = run.replies(run.tracker_number())
    assert all("copied it" not in r for r in replies)
    assert "**not** recorded" in replies[0]
    assert [e["type"] for e in run.student("bob")["standing"]] == ["disqualified", "undo"]


# --- enrollment --------------------------------------------------------------------------------

ENROLL = """\
now: 2020-08-20T00:00:00Z
events:
  - at: 2020-08-01T00:00:00Z
    comment: {author: carol, issue: tracker, body: "/grader enroll"}
  - at: 2020-08-09T10:00:00Z
    submit: {student: carol, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-09T10:00:00Z                 # an auditor: graded, never eligible
    submit: {student: dave, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-09T10:00:00Z
    submit: {student: alice, assignment: a1, notebook: nb/f1.ipynb}
  - at: 2020-08-06T00:00:00Z                 # after the enrollment deadline
    comment: {author: erin, issue: tracker, body: "/grader enroll"}
  - at: 2020-08-06T01:00:00Z
    comment: {author: erin, issue: tracker, body: "/grader enroll"}
"""
ENROLL_COURSE = (
    COURSE.replace(
        "require_final_project: false}", "require_final_project: false, require_enrollment: true}"
    )
    + "roster: [alice]\nenrollment_deadline: 2020-08-05T00:00:00Z\n"
)


@pytest.mark.usefixtures("standing")
def test_enrollment_before_and_after_the_deadline_and_auditors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course = make_course(tmp_path / "enroll", ENROLL_COURSE.replace("roster: [alice]\n", ""))
    run = Run(course, ENROLL, capsys)
    assert run.certificate("carol") == (True, True, False)
    assert run.status("dave") == ("complete", False)  # auditors are graded all the same
    assert "| Exercise" in next(
        p["comment"] for p in run.out["pull_requests"] if p["student"] == "dave"
    )
    assert run.certificate("dave") == (False, False, False)
    closed = [r for r in run.replies(run.tracker_number()) if "enrollment closed" in r]
    assert len(closed) == 1  # erin asked twice, heard once
    assert "erin" not in {c["student"] for c in run.out["certificates"]}


@pytest.mark.usefixtures("standing")
def test_the_roster_keeps_working_and_adds_to_enrollment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course = make_course(tmp_path / "roster", ENROLL_COURSE)
    run = Run(course, ENROLL.replace("student: dave", "student: alice"), capsys)
    assert run.certificate("alice") == (True, True, False)  # on the roster
    assert run.certificate("carol")[1] is True  # enrolled by command


# --- a stranger ---------------------------------------------------------------------------------

STRANGER = """\
now: 2020-08-20T00:00:00Z
events:
  - at: 2020-08-09T10:00:00Z
    submit: {student: alice, assignment: a1, notebook: nb/f2.ipynb}
""" + "".join(
    f"""  - at: 2020-08-10T0{i}:00:00Z
    comment: {{author: mallory, student: alice, assignment: a1, body: "/grader complete {i}"}}
"""
    for i in range(4)
)


def test_a_strangers_repeated_commands_get_one_refusal(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = Run(course, STRANGER, capsys)
    assert run.status("alice") == ("incomplete", False)
    refusals = [r for r in run.replies(run.pr("alice")) if "only course TAs" in r]
    assert len(refusals) == 1


@pytest.mark.usefixtures("standing")
def test_a_student_enrolled_by_command_is_graded_on_a_course_with_a_roster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course = make_course(tmp_path / "roster", ENROLL_COURSE)
    run = Run(course, ENROLL, capsys)
    assert run.status("carol") == ("complete", False)
