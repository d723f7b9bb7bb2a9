"""A student's standing: enrollment, disqualification, project marks and their undos; codec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from grader.core.codec import decode_record_events, decode_standing_events, encode_events
from grader.core.history import (
    StudentHistory,
    add_project,
    is_disqualified,
    is_enrolled,
    last_student_command,
    project_presented,
)
from grader.core.model import Disqualified, Enrolled, ProjectPresented, Undo
from tests.factories import course_config, weekly_assignments

T = datetime(2020, 8, 1, tzinfo=UTC)
H = timedelta(hours=1)


def test_roster_and_enroll_command_both_enroll() -> None:
    course = course_config(weekly_assignments(1), roster=("Alice",))
    assert is_enrolled(course, "alice", StudentHistory())
    assert not is_enrolled(course, "carol", StudentHistory())
    assert is_enrolled(course, "carol", StudentHistory(standing=[Enrolled(T, "carol")]))


def test_undo_reverts_a_disqualification_and_keeps_it_in_the_history() -> None:
    history = StudentHistory(standing=[Disqualified(T, "tina")])
    assert is_disqualified(history)
    history.standing.append(Undo(T + H, "tom"))  # another TA's undo takes nothing back
    assert is_disqualified(history)
    history.standing.append(Undo(T + 2 * H, "tina"))
    assert not is_disqualified(history)
    assert len(history.standing) == 3


def test_undo_of_a_project_mark_and_marking_it_again() -> None:
    history = StudentHistory()
    add_project(history, ProjectPresented(T, "tina"))
    add_project(history, ProjectPresented(T + H, "tom"))  # the first in force counts
    assert len(history.project) == 1
    assert last_student_command(history, "tina") == ProjectPresented(T, "tina")
    history.standing.append(Undo(T + 2 * H, "tina"))
    assert not project_presented(history)
    add_project(history, ProjectPresented(T + 3 * H, "tom"))
    assert project_presented(history)


def test_new_events_round_trip_through_the_codec() -> None:
    standing = [Enrolled(T, "carol"), Disqualified(T + H, "tina"), Undo(T + 2 * H, "tina")]
    assert decode_standing_events(encode_events(standing)) == standing
    assert decode_record_events(encode_events([Undo(T, "tina")])) == [Undo(T, "tina")]
    assert set(encode_events([Disqualified(T, "tina")])[0]) == {"type", "at", "by"}  # no reason


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ([{"type": "enrolled", "at": "2020-08-01T00:00:00+00:00", "by": "x"}], "events[0].type"),
        (
            [{"type": "disqualified", "at": "2020-08-01T00:00:00+00:00", "by": "x", "reason": "r"}],
            "events[0]",
        ),
    ],
)
def test_student_events_do_not_belong_in_a_record(data: object, where: str) -> None:
    with pytest.raises(ValueError, match=where.replace("[", r"\[").replace("]", r"\]")):
        decode_record_events(data)


def test_standing_rejects_record_events() -> None:
    submission_like = [{"type": "project-presented", "at": "2020-08-01T00:00:00+00:00", "by": "x"}]
    with pytest.raises(ValueError, match="expected enrolled, disqualified or undo"):
        decode_standing_events(submission_like)
