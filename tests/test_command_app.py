"""`/grader` commands through the use case on the local forge and the real ledger (no kernel).

Evaluations are built by hand, so these run fast; `tests/test_simulate_commands.py`
replays the same commands through `grader simulate` with real kernels.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from grader.adapters.ledger import Ledger
from grader.adapters.localforge import LocalForge
from grader.app.command import CommandOutcome, handle_command
from grader.app.context import Context
from grader.app.submission import handle_submission
from grader.app.tracker import all_states, render_tracker
from grader.core.history import append_standing, certificate_of
from grader.core.model import Enrolled, Evaluation, ExerciseResult
from tests.factories import course_config, weekly_assignments

T0 = datetime(2020, 8, 8, 12, 0, tzinfo=UTC)  # before section-01's deadline (AoE)
LATE = datetime(2020, 8, 12, 0, 0, tzinfo=UTC)  # after section-01's D + 48 h
COMPLETE = Evaluation("section-01", "complete", (ExerciseResult("1", "ok"),))
WRONG = Evaluation("section-01", "incomplete", (ExerciseResult("1", "error", "boom"),))


def nb(student: str, assignment: str = "section-01") -> str:
    return f"submissions/{student}/{assignment}.ipynb"


class World:
    def __init__(self, root: Path, **course: object) -> None:
        self.course = course_config(weekly_assignments(3), tas=("tina", "tom"), **course)
        self.forge = LocalForge(root / "forge")
        self.ctx = Context(forge=self.forge, course=self.course, ledger=Ledger(self.forge))

    def submit(self, student: str, evaluations: dict[str, Evaluation], at: datetime = T0) -> int:
        files = {
            nb(student, a): f"{student}-{a}-{e.status}".encode() for a, e in evaluations.items()
        }
        number = self.forge.open_pull(student, files)
        sha = self.forge.get_pull(number).head_sha
        self.forge.mark_graded(sha, at)
        by_path = {nb(student, a): e for a, e in evaluations.items()}
        handle_submission(self.ctx, number, by_path, at)
        return number

    def tracker(self) -> int:
        render_tracker(self.ctx, T0)
        issue = self.forge.find_issue(self.course.tracking_issue_title)
        assert issue is not None
        return issue.number

    def say(
        self, number: int, author: str, body: str, at: datetime = T0 + timedelta(hours=1)
    ) -> CommandOutcome:
        posted = self.forge.post_comment_as(author, number, body)
        self.last_comment = posted.id
        return handle_command(
            self.ctx, number, author, body, at, regrader=None, comment_id=posted.id
        )

    def replies(self, number: int) -> list[str]:
        return [
            c.body
            for c in self.forge.bot_comments(number)
            if not c.body.startswith("<!-- grader:pr")
        ]

    def status(self, student: str, assignment: str = "section-01") -> tuple[str, bool]:
        histories = dict(self.ctx.ledger.all())
        state = all_states(self.ctx, histories, LATE)[(student, assignment)]
        return state.status, state.override

    def certificate(self, student: str) -> tuple[bool, bool, bool]:
        """(eligible, enrolled, disqualified)"""
        history = self.ctx.ledger.history(student)
        histories = dict(self.ctx.ledger.all())
        states = all_states(self.ctx, histories, LATE)
        cert = certificate_of(
            self.course, student, [states[(student, a)] for a in self.course.assignments], history
        )
        return cert.eligible, cert.enrolled, cert.disqualified


def ledger_keeps_standing(tmp: Path) -> bool:
    """Whether the ledger adapter stores `StudentHistory.standing` (enrollment and such)."""
    forge = LocalForge(tmp / "probe")
    ledger = Ledger(forge)
    event = Enrolled(at=T0, by="probe")
    ledger.update("probe", lambda h: append_standing(h, event))
    return ledger.history("probe").standing == [event]


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.fixture
def standing(tmp_path: Path) -> None:
    assert ledger_keeps_standing(tmp_path)


# --- acknowledgement, refusals and the re-render contract -----------------------------------


def test_an_accepted_command_gets_a_reaction_and_changes_the_ledger(world: World) -> None:
    number = world.submit("alice", {"section-01": WRONG})
    outcome = world.say(number, "tina", "/grader complete checked by hand")
    assert outcome.changed is True
    assert world.forge.reactions_on(world.last_comment) == ["+1"]
    assert world.status("alice") == ("complete", True)


def test_a_strangers_repeated_commands_get_one_refusal_and_change_nothing(world: World) -> None:
    number = world.submit("alice", {"section-01": WRONG})
    before = world.forge.read_state_all("records/")
    outcomes = [world.say(number, "mallory", f"/grader complete {i}") for i in range(3)]
    assert [o.changed for o in outcomes] == [False, False, False]
    refusals = [r for r in world.replies(number) if "only course TAs" in r]
    assert len(refusals) == 1
    assert world.forge.read_state_all("records/") == before
    assert world.forge.reactions_on(world.last_comment) == []
    # Another stranger still gets their one reply; on another PR, mallory gets one there.
    world.say(number, "eve", "/grader extend 3d")
    assert len([r for r in world.replies(number) if "only course TAs" in r]) == 2
    other = world.submit("bob", {"section-01": WRONG})
    world.say(other, "mallory", "/grader complete")
    assert len([r for r in world.replies(other) if "only course TAs" in r]) == 1


def test_a_student_cannot_spend_a_reply_with_a_look_alike_marker(world: World) -> None:
    """Only the bot's own comments count: a student posting the marker is still refused once."""
    number = world.submit("alice", {"section-01": WRONG})
    world.forge.post_comment_as("mallory", number, "<!-- grader:refused mallory -->")
    world.say(number, "mallory", "/grader complete")
    assert len([r for r in world.replies(number) if "only course TAs" in r]) == 1


def test_a_no_op_command_says_nothing_changed(world: World) -> None:
    number = world.submit("alice", {"section-01": WRONG})
    outcome = world.say(number, "tina", "/grader history")
    assert outcome.changed is False
    assert world.forge.reactions_on(world.last_comment) == ["+1"]


def test_malformed_command_reply_shows_no_backslashed_backticks(world: World) -> None:
    number = world.submit("alice", {"section-01": WRONG})
    world.say(number, "tina", "/grader extend soon")
    (reply,) = world.replies(number)
    assert "\\`" not in reply
    assert "`/grader extend 48h`" in reply


def test_a_typed_backtick_cannot_break_out_of_the_quoted_code(world: World) -> None:
    number = world.submit("alice", {"section-01": WRONG})
    world.say(number, "tina", "/grader frobnicate` <!-- x --> **bold**")
    (reply,) = world.replies(number)
    quoted = reply.split("Unknown command ", 1)[1].split(". Valid", 1)[0]
    assert quoted.startswith("`")
    assert quoted.endswith("`")
    assert quoted.count("`") == 2  # the user's backtick was replaced


# --- several assignments on one PR -------------------------------------------------------------


def test_multi_notebook_pr_asks_which_assignment_then_applies_to_that_one(world: World) -> None:
    second = replace(WRONG, assignment="section-02")
    number = world.submit("alice", {"section-01": WRONG, "section-02": second})
    before = world.forge.read_state_all("records/")
    outcome = world.say(number, "tina", "/grader complete looks fine")
    assert outcome.changed is False
    (question,) = world.replies(number)
    assert "`section-01`" in question
    assert "`section-02`" in question
    assert "/grader complete section-01" in question
    assert world.forge.read_state_all("records/") == before
    assert world.forge.reactions_on(world.last_comment) == []
    world.say(number, "tina", "/grader complete section-02 looks fine")
    assert world.status("alice", "section-02") == ("complete", True)
    assert world.status("alice", "section-01") == ("incomplete", False)


def test_single_notebook_pr_needs_no_assignment_and_rejects_another(world: World) -> None:
    number = world.submit("alice", {"section-01": WRONG})
    world.say(number, "tina", "/grader complete section-02 wrong PR")
    (reply,) = world.replies(number)
    assert "no notebook of `section-02`" in reply
    assert world.status("alice") == ("incomplete", False)
    world.say(number, "tina", "/grader complete")
    assert world.status("alice") == ("complete", True)


# --- undo and history ---------------------------------------------------------------------------


def test_undo_takes_back_only_the_same_tas_latest_command(world: World) -> None:
    number = world.submit("alice", {"section-01": WRONG})
    world.say(number, "tina", "/grader complete first look")
    world.say(number, "tom", "/grader extend 2d", at=T0 + timedelta(hours=2))
    world.say(number, "tina", "/grader undo", at=T0 + timedelta(hours=3))
    assert world.status("alice") == ("incomplete", False)  # tina's override is gone
    events = world.ctx.ledger.history("alice").assignments["section-01"]
    assert [type(e).__name__ for e in events] == ["Submission", "Override", "Extension", "Undo"]
    undone = world.replies(number)[-1]
    assert "undone" in undone
    assert "marked **complete**" in undone
    world.say(number, "tina", "/grader undo", at=T0 + timedelta(hours=4))
    assert "no command in force" in world.replies(number)[-1]  # tom's extension stays


def test_undo_of_an_extension_rederives_the_record(world: World) -> None:
    number = world.submit("alice", {"section-01": COMPLETE}, at=LATE)
    assert world.status("alice") == ("late", False)
    world.say(number, "tina", "/grader extend 5d", at=LATE)
    assert world.status("alice") == ("complete", False)
    world.say(number, "tina", "/grader undo", at=LATE + timedelta(hours=1))
    assert world.status("alice") == ("late", False)


def test_history_lists_time_what_and_who(world: World) -> None:
    number = world.submit("alice", {"section-01": WRONG})
    world.say(number, "tina", "/grader complete reviewed")
    world.say(number, "tina", "/grader undo", at=T0 + timedelta(hours=2))
    world.say(number, "tom", "/grader history", at=T0 + timedelta(hours=3))
    reply = world.replies(number)[-1]
    assert "| time | what | who |" in reply
    assert "graded incomplete" in reply
    assert "marked **complete** by hand: reviewed *(undone)*" in reply
    assert "undo of: marked **complete**" in reply
    assert "@\u2060tina" in reply
    assert "| grader |" in reply
    assert "2020-08-08 12:00 UTC" in reply


# --- disqualification ---------------------------------------------------------------------------


@pytest.mark.usefixtures("standing")
def test_disqualification_keeps_no_reason_and_undo_reverts_it(world: World) -> None:
    number = world.submit("alice", {"section-01": COMPLETE})
    world.say(number, "tina", "/grader project presented")
    tracker = world.tracker()
    world.course = replace(
        world.course, certificate=replace(world.course.certificate, min_complete_fraction=0)
    )
    world.ctx.course = world.course
    assert world.certificate("alice") == (True, False, False)  # not enrolled: not required
    world.say(tracker, "tina", "/grader disqualify @alice copied from bob's notebook")
    assert world.certificate("alice") == (False, False, True)
    reply = world.replies(tracker)[-1]
    assert "not eligible for the certificate (TA decision)" in reply
    assert "**not** recorded" in reply
    ledger_text = "".join(world.forge.read_state_all("records/").values())
    assert "copied" not in ledger_text
    assert "disqualified" in ledger_text
    assert all("copied" not in b for b in world.replies(tracker))
    world.say(number, "tom", "/grader history")
    assert "copied" not in world.replies(number)[-1]
    world.say(tracker, "tina", "/grader undo", at=T0 + timedelta(hours=2))
    assert world.certificate("alice") == (True, False, False)
    assert "disqualified" in "".join(world.forge.read_state_all("records/").values())  # audit kept


@pytest.mark.usefixtures("standing")
def test_enroll_on_the_tracking_issue_until_the_deadline(tmp_path: Path) -> None:
    world = World(tmp_path, enrollment_deadline=T0 + timedelta(days=1))
    tracker = world.tracker()
    outcome = world.say(tracker, "carol", "/grader enroll")
    assert outcome.changed
    assert world.certificate("carol")[1] is True
    assert world.forge.reactions_on(world.last_comment) == ["+1"]
    late = T0 + timedelta(days=2)
    for _ in range(2):
        assert world.say(tracker, "erin", "/grader enroll", at=late).changed is False
    closed = [r for r in world.replies(tracker) if "enrollment closed" in r]
    assert len(closed) == 1
    assert "@\u2060erin" in closed[0]
    assert "erin" not in dict(world.ctx.ledger.all())  # nothing recorded for her


def test_an_undo_stamped_before_its_command_still_takes_it_back(world: World) -> None:
    """A runner's clock a little behind the forge's must not make the undo replay first."""
    number = world.submit("alice", {"section-01": WRONG})
    world.say(number, "tina", "/grader complete", at=T0 + timedelta(hours=2))
    world.say(number, "tina", "/grader undo", at=T0 + timedelta(hours=1))
    assert world.status("alice") == ("incomplete", False)


def test_enroll_elsewhere_points_to_the_tracker_once(world: World) -> None:
    number = world.submit("alice", {"section-01": WRONG})
    for _ in range(3):
        assert world.say(number, "alice", "/grader enroll").changed is False
    (reply,) = world.replies(number)
    assert "works on the tracking issue" in reply
