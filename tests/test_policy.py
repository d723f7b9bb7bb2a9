"""CONTRACT section 5 and THREATS 15-20, row by row."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from grader.core.model import (
    Assignment,
    CertificateRule,
    CourseConfig,
    Evaluation,
    Event,
    Extension,
    NotebookStatus,
    Override,
    RecordState,
    RecordStatus,
    Regrade,
    Submission,
    Undo,
)
from grader.core.policy import certificate, derive, in_force
from tests.factories import AOE, DEADLINE

# Session 1 of the study group: 2020-08-08 23:59 Anywhere on Earth.
D = DEADLINE.astimezone(UTC)  # 2020-08-09T11:59:00Z
G = timedelta(hours=48)
S = timedelta(seconds=1)
H = timedelta(hours=1)
SECTION = Assignment(id="section-01", title="Intro", deadline=DEADLINE)


def evaluation(status: NotebookStatus) -> Evaluation:
    return Evaluation(assignment="section-01", status=status)


def sub(at: datetime, sha: str, status: NotebookStatus, pr: int = 1) -> Submission:
    return Submission(at=at, sha=sha, pr=pr, evaluation=evaluation(status))


def run(
    events: list[Event],
    *,
    now: datetime | None = None,
    base: timedelta = timedelta(0),
    assignment: Assignment = SECTION,
) -> RecordState:
    return derive(
        "alice",
        assignment,
        events,
        grace=G,
        base_extension=base,
        now=now if now is not None else D + 10 * G,
    )


@dataclass(frozen=True)
class Row:
    name: str
    events: list[Event]
    status: RecordStatus
    feedback: str
    sha: str | None
    now: datetime | None = None


ROWS = [
    # nothing submitted
    Row("nothing, now == D: open", [], "open", "none", None, now=D),
    Row("nothing, now == D + 1s: missing", [], "missing", "none", None, now=D + S),
    Row("nothing, long before: open", [], "open", "none", None, now=D - 30 * G),
    # first submission on time
    Row("first at D, complete", [sub(D, "a", "complete")], "complete", "full", "a"),
    Row("first before D, incomplete", [sub(D - H, "a", "incomplete")], "incomplete", "full", "a"),
    # resubmission inside D + G after an on-time incomplete
    Row(
        "resubmission at D + G exactly, complete",
        [sub(D - H, "a", "incomplete"), sub(D + G, "b", "complete", pr=2)],
        "complete",
        "full",
        "b",
    ),
    Row(
        "resubmission at D + G - 1s, complete",
        [sub(D - H, "a", "incomplete"), sub(D + G - S, "b", "complete")],
        "complete",
        "full",
        "b",
    ),
    Row(
        "resubmission before D, complete",
        [sub(D - 2 * H, "a", "incomplete"), sub(D - H, "b", "complete")],
        "complete",
        "full",
        "b",
    ),
    Row(
        "resubmission in grace, still incomplete",
        [sub(D - H, "a", "incomplete"), sub(D + H, "b", "incomplete")],
        "incomplete",
        "full",
        "b",
    ),
    # after D + G: unchanged, window closed
    Row(
        "resubmission at D + G + 1s after incomplete",
        [sub(D - H, "a", "incomplete"), sub(D + G + S, "b", "complete")],
        "incomplete",
        "window-closed",
        "a",
    ),
    Row(
        "resubmission after D + G following on-time complete",
        [sub(D - H, "a", "complete"), sub(D + G + S, "b", "incomplete")],
        "complete",
        "window-closed",
        "a",
    ),
    # first submission after D: late
    Row("first at D + 1s: late", [sub(D + S, "a", "complete")], "late", "late-note", "a"),
    Row(
        "late then more late pushes: still late",
        [sub(D + S, "a", "incomplete"), sub(D + H, "b", "complete")],
        "late",
        "late-note",
        "a",
    ),
    # complete never goes back by itself
    Row(
        "worse push in grace keeps complete",
        [sub(D - H, "a", "complete"), sub(D + H, "b", "incomplete")],
        "complete",
        "full",
        "a",
    ),
    Row(
        "worse push before D keeps complete",
        [sub(D - 2 * H, "a", "complete"), sub(D - H, "b", "incomplete")],
        "complete",
        "full",
        "a",
    ),
    Row(
        "complete in grace, then worse push in grace",
        [
            sub(D - H, "a", "incomplete"),
            sub(D + H, "b", "complete"),
            sub(D + 2 * H, "c", "incomplete"),
        ],
        "complete",
        "full",
        "b",
    ),
    # THREATS 18: same commit graded twice; the earliest time counts
    Row(
        "re-run of an on-time complete commit fails later: not erased",
        [sub(D - H, "a", "complete"), sub(D + 5 * G, "a", "incomplete")],
        "complete",
        "full",
        "a",
    ),
    Row(
        "re-run of an on-time commit long after D + G is still on time",
        [
            sub(D - H, "a", "incomplete"),
            sub(D + G + H, "b", "incomplete"),
            sub(D + 3 * G, "a", "complete"),
        ],
        "complete",
        "full",
        "a",
    ),
    Row(
        "a late commit stays late when graded again",
        [sub(D + H, "a", "complete"), sub(D + 2 * H, "a", "complete")],
        "late",
        "late-note",
        "a",
    ),
    # THREATS 20: force-push back to an older commit reuses its first time
    Row(
        "force-push back to the on-time commit after D + G",
        [
            sub(D - H, "a", "complete"),
            sub(D + H, "b", "incomplete"),
            sub(D + G + H, "a", "complete"),
        ],
        "complete",
        "full",
        "a",
    ),
    # THREATS 19: a PR opened after D for commits pushed to a fork earlier
    Row(
        "first graded after D, whatever the commit dates",
        [sub(D + 3 * H, "old-fork-commit", "complete", pr=7)],
        "late",
        "late-note",
        "old-fork-commit",
    ),
    # a resubmission may be a new PR
    Row(
        "resubmission on a new PR",
        [sub(D - H, "a", "incomplete", pr=1), sub(D + H, "b", "complete", pr=2)],
        "complete",
        "full",
        "b",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_contract_table(row: Row) -> None:
    state = run(row.events, now=row.now)
    assert (state.status, state.feedback, state.sha) == (row.status, row.feedback, row.sha)
    assert state.override is False
    assert state.deadline == D


def test_publish_hours_later_is_still_on_time() -> None:
    # THREATS 15, 16: the policy sees only the trusted time (the first grade run
    # for the commit), never commit dates nor when publish happened to run.
    state = run([sub(D - H, "a", "complete")], now=D + 6 * H)
    assert (state.status, state.submitted_at) == ("complete", D - H)


def test_state_names_the_deciding_submission() -> None:
    state = run([sub(D - H, "a", "incomplete", pr=3), sub(D + H, "b", "complete", pr=4)])
    assert (state.submitted_at, state.pr, state.sha) == (D + H, 4, "b")
    assert (state.student, state.assignment) == ("alice", "section-01")


def test_replay_is_by_time_not_by_list_order() -> None:
    events: list[Event] = [
        sub(D - 3 * H, "a", "incomplete"),
        sub(D - 2 * H, "b", "complete"),
        sub(D + H, "c", "incomplete"),
        Override(at=D + 2 * H, status="incomplete", by="tina", note="first"),
        Override(at=D + 3 * H, status="complete", by="tina", note="second"),
    ]
    expected = run(events)
    shuffled = events[:]
    for seed in range(10):
        random.Random(seed).shuffle(shuffled)
        assert run(shuffled) == expected
    assert (expected.status, expected.note) == ("complete", "second")


def test_equal_times_keep_stored_order() -> None:
    first = Override(at=D, status="incomplete", by="tina", note="first")
    second = Override(at=D, status="complete", by="tom", note="second")
    assert run([first, second]).note == "second"
    assert run([second, first]).note == "first"


# --- boundaries across offsets and DST (THREATS 17) ---------------------------

IST = timezone(timedelta(hours=5, minutes=30))
ACST_NEG = timezone(timedelta(hours=-9, minutes=-30))  # Marquesas, -09:30


@pytest.mark.parametrize(
    ("at", "status"),
    [
        (datetime(2020, 8, 9, 11, 59, 0, tzinfo=UTC), "complete"),  # == D
        (datetime(2020, 8, 9, 11, 59, 1, tzinfo=UTC), "late"),  # D + 1s
        (datetime(2020, 8, 8, 23, 59, 0, tzinfo=AOE), "complete"),
        (datetime(2020, 8, 9, 17, 29, 0, tzinfo=IST), "complete"),  # == D in +05:30
        (datetime(2020, 8, 9, 17, 29, 1, tzinfo=IST), "late"),
        (datetime(2020, 8, 9, 2, 29, 0, tzinfo=ACST_NEG), "complete"),  # == D in -09:30
        (datetime(2020, 8, 9, 2, 29, 1, tzinfo=ACST_NEG), "late"),
    ],
)
def test_aoe_deadline_in_any_offset(at: datetime, status: str) -> None:
    assert run([sub(at, "a", "complete")]).status == status


@pytest.mark.parametrize(
    ("at", "status", "feedback"),
    [
        (datetime(2020, 8, 11, 11, 59, 0, tzinfo=UTC), "complete", "full"),  # D + 48h
        (datetime(2020, 8, 11, 11, 58, 59, tzinfo=UTC), "complete", "full"),  # - 1s
        (datetime(2020, 8, 11, 11, 59, 1, tzinfo=UTC), "incomplete", "window-closed"),
        (datetime(2020, 8, 11, 17, 29, 0, tzinfo=IST), "complete", "full"),
        (datetime(2020, 8, 11, 17, 29, 1, tzinfo=IST), "incomplete", "window-closed"),
        (datetime(2020, 8, 11, 2, 29, 0, tzinfo=ACST_NEG), "complete", "full"),
        (datetime(2020, 8, 11, 2, 29, 1, tzinfo=ACST_NEG), "incomplete", "window-closed"),
    ],
)
def test_grace_end_to_the_second(at: datetime, status: str, feedback: str) -> None:
    state = run([sub(D - H, "a", "incomplete"), sub(at, "b", "complete")])
    assert (state.status, state.feedback) == (status, feedback)


BERLIN = ZoneInfo("Europe/Berlin")


def test_dst_autumn_grace_is_48_real_hours() -> None:
    # 2020-10-25 03:00 CEST -> 02:00 CET: the wall clock gains an hour.
    deadline = datetime(2020, 10, 24, 12, 0, tzinfo=BERLIN)  # 10:00Z
    assignment = Assignment("section-07", "CNNs", deadline)
    true_end = datetime(2020, 10, 26, 10, 0, tzinfo=UTC)  # 11:00 CET
    wall_clock_end = deadline + G  # 2020-10-26 12:00 CET: the trap, one hour too late
    assert wall_clock_end - true_end == H

    def resubmit(at: datetime) -> RecordState:
        return run(
            [sub(deadline - H, "a", "incomplete"), sub(at, "b", "complete")], assignment=assignment
        )

    assert resubmit(datetime(2020, 10, 26, 11, 0, tzinfo=BERLIN)).status == "complete"
    late = datetime(2020, 10, 26, 11, 0, 1, tzinfo=BERLIN)
    assert late < wall_clock_end  # wall-clock arithmetic would have accepted it
    assert resubmit(late).feedback == "window-closed"
    assert run([], assignment=assignment, now=true_end).deadline == deadline


def test_dst_spring_grace_is_48_real_hours() -> None:
    # 2021-03-28 02:00 CET -> 03:00 CEST: the wall clock loses an hour.
    deadline = datetime(2021, 3, 27, 12, 0, tzinfo=BERLIN)  # 11:00Z
    assignment = Assignment("section-17", "Recsys", deadline)
    inside = datetime(2021, 3, 29, 12, 30, tzinfo=BERLIN)  # 10:30Z, before 11:00Z
    assert inside > deadline + G  # wall-clock arithmetic would have refused it
    state = run(
        [sub(deadline, "a", "incomplete"), sub(inside, "b", "complete")], assignment=assignment
    )
    assert (state.status, state.feedback) == ("complete", "full")
    outside = datetime(2021, 3, 29, 13, 0, 1, tzinfo=BERLIN)
    state = run(
        [sub(deadline, "a", "incomplete"), sub(outside, "b", "complete")], assignment=assignment
    )
    assert state.feedback == "window-closed"


def test_deadline_itself_in_berlin_is_compared_in_absolute_time() -> None:
    deadline = datetime(2020, 10, 25, 2, 30, tzinfo=BERLIN, fold=1)  # the second 02:30 (CET)
    assignment = Assignment("x", "x", deadline)
    first_0230 = datetime(2020, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)
    second_0230 = datetime(2020, 10, 25, 1, 30, tzinfo=UTC)
    assert run([sub(second_0230, "a", "complete")], assignment=assignment).status == "complete"
    assert run([sub(first_0230, "a", "complete")], assignment=assignment).status == "complete"
    after = second_0230 + S
    assert run([sub(after, "a", "complete")], assignment=assignment).status == "late"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        run([sub(datetime(2020, 8, 1), "a", "complete")])


# --- overrides ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "status", "note"),
    [
        (
            [sub(D + H, "a", "complete"), Override(D + 2 * H, "complete", "tina", "ok")],
            "complete",
            "ok",
        ),
        ([Override(D + 2 * H, "complete", "tina", "on paper")], "complete", "on paper"),
        (
            [sub(D - H, "a", "complete"), Override(D, "incomplete", "tina", "copied")],
            "incomplete",
            "copied",
        ),
        (
            # automation never undoes an override: a later complete push changes nothing
            [
                sub(D - 2 * H, "a", "incomplete"),
                Override(D - H, "incomplete", "tina", "see comments"),
                sub(D + H, "b", "complete"),
            ],
            "incomplete",
            "see comments",
        ),
        (
            [
                Override(D, "incomplete", "tina", "first"),
                Override(D + H, "complete", "tom", "latest wins"),
            ],
            "complete",
            "latest wins",
        ),
        (
            [
                Override(D + H, "complete", "tom", "latest wins"),
                Override(D, "incomplete", "tina", "first"),
            ],
            "complete",
            "latest wins",
        ),
    ],
)
def test_overrides_win(events: list[Event], status: str, note: str) -> None:
    state = run(events)
    assert (state.status, state.override, state.note) == (status, True, note)


def test_override_keeps_submission_facts_and_feedback() -> None:
    state = run([sub(D + H, "a", "complete", pr=5), Override(D + 2 * H, "complete", "tina")])
    assert (state.sha, state.pr, state.submitted_at, state.feedback) == ("a", 5, D + H, "late-note")


def test_override_survives_extension_and_regrade() -> None:
    events: list[Event] = [
        sub(D - H, "a", "complete"),
        Override(D, "incomplete", "tina", "plagiarism"),
        Extension(D + H, timedelta(days=3), "tina"),
        Regrade(D + 2 * H, "a", evaluation("complete")),
    ]
    assert (run(events).status, run(events).override) == ("incomplete", True)


# --- extensions -------------------------------------------------------------------


def test_extension_makes_a_late_submission_count() -> None:
    events: list[Event] = [sub(D + 10 * H, "a", "complete")]
    assert run(events).status == "late"
    extended = run([*events, Extension(D + 11 * H, timedelta(hours=24), "tina")])
    assert (extended.status, extended.feedback, extended.deadline) == (
        "complete",
        "full",
        D + 24 * H,
    )


def test_extension_uses_the_stored_evaluation() -> None:
    events: list[Event] = [sub(D + H, "a", "incomplete"), Extension(D + 2 * H, 2 * H, "tina")]
    assert (run(events).status, run(events).feedback) == ("incomplete", "full")


def test_course_yml_extension_applies() -> None:
    state = run([sub(D + 10 * H, "a", "complete")], base=timedelta(days=1))
    assert (state.status, state.deadline) == ("complete", D + timedelta(days=1))


def test_extension_event_replaces_course_yml_extension() -> None:
    events: list[Event] = [sub(D + 10 * H, "a", "complete"), Extension(D, timedelta(0), "tina")]
    state = run(events, base=timedelta(days=1))
    assert (state.status, state.deadline) == ("late", D)


def test_latest_extension_replaces_earlier_ones() -> None:
    events: list[Event] = [
        sub(D + 20 * H, "a", "complete"),
        Extension(D, timedelta(hours=48), "tina"),
        Extension(D + H, timedelta(hours=12), "tom"),
    ]
    assert (run(events).status, run(events).deadline) == ("late", D + 12 * H)


def test_extension_turns_missing_into_open() -> None:
    now = D + 5 * H
    assert run([], now=now).status == "missing"
    assert run([Extension(D + H, timedelta(hours=5), "tina")], now=now).status == "open"
    assert run([Extension(D + H, timedelta(hours=5), "tina")], now=now + S).status == "missing"


def test_extension_moves_the_grace_window() -> None:
    events: list[Event] = [sub(D - H, "a", "incomplete"), sub(D + G + 10 * H, "b", "complete")]
    assert run(events).feedback == "window-closed"
    extended = run([*events, Extension(D + G + 11 * H, timedelta(hours=10), "tina")])
    assert (extended.status, extended.sha) == ("complete", "b")


# --- regrade ----------------------------------------------------------------------


def test_regrade_replaces_the_evaluation_and_keeps_the_time() -> None:
    events: list[Event] = [
        sub(D - H, "a", "incomplete"),
        Regrade(D + 5 * G, "a", evaluation("complete")),
    ]
    state = run(events)
    assert (state.status, state.submitted_at, state.feedback) == ("complete", D - H, "full")


def test_regrade_can_take_complete_back_explicitly() -> None:
    events: list[Event] = [
        sub(D - H, "a", "complete"),
        Regrade(D + H, "a", evaluation("incomplete")),
    ]
    assert run(events).status == "incomplete"


def test_regrade_of_an_unknown_commit_is_ignored() -> None:
    events: list[Event] = [sub(D - H, "a", "incomplete"), Regrade(D, "zzz", evaluation("complete"))]
    assert run(events).status == "incomplete"


def test_regrade_of_a_late_commit_stays_late() -> None:
    events: list[Event] = [
        sub(D + H, "a", "incomplete"),
        Regrade(D + 2 * H, "a", evaluation("complete")),
    ]
    assert run(events).status == "late"


def test_regrade_applies_to_earlier_gradings_only() -> None:
    events: list[Event] = [
        sub(D - 2 * H, "a", "incomplete"),
        Regrade(D - H, "a", evaluation("incomplete")),
        sub(D + H, "a", "complete"),  # a later re-run brings its own evaluation
    ]
    assert run(events).status == "complete"


def test_regrade_of_the_deciding_resubmission() -> None:
    events: list[Event] = [
        sub(D - H, "a", "incomplete"),
        sub(D + H, "b", "incomplete"),
        Regrade(D + 5 * G, "b", evaluation("complete")),
    ]
    assert (run(events).status, run(events).sha) == ("complete", "b")


# --- certificate -------------------------------------------------------------------


def course(
    n_counted: int, *, practice: int = 0, rule: CertificateRule | None = None
) -> CourseConfig:
    assignments = {
        f"s{i}": Assignment(f"s{i}", f"S{i}", DEADLINE, counts_for_certificate=i < n_counted)
        for i in range(n_counted + practice)
    }
    return CourseConfig(name="c", assignments=assignments, certificate=rule or CertificateRule())


def states(n_complete: int, total: int, student: str = "alice") -> list[RecordState]:
    return [
        RecordState(student, f"s{i}", "complete" if i < n_complete else "incomplete")
        for i in range(total)
    ]


@pytest.mark.parametrize(
    ("complete", "counted", "eligible"),
    [
        (4, 5, True),  # exactly 0.8
        (3, 5, False),
        (5, 5, True),
        (13, 17, False),  # 13/17 = 0.7647...
        (14, 17, True),  # 14/17 = 0.8235...
        (0, 17, False),
    ],
)
def test_certificate_fraction_is_exact(complete: int, counted: int, eligible: bool) -> None:
    cert = certificate("alice", states(complete, counted), course(counted), project_presented=True)
    assert (cert.complete, cert.counted, cert.eligible) == (complete, counted, eligible)


def test_certificate_float_fraction_is_read_as_written() -> None:
    rule = CertificateRule(min_complete_fraction=0.8)  # type: ignore[arg-type]
    assert certificate("alice", states(4, 5), course(5, rule=rule), project_presented=True).eligible


@pytest.mark.parametrize(
    ("presented", "required", "eligible"),
    [(True, True, True), (False, True, False), (False, False, True), (True, False, True)],
)
def test_certificate_project_rule(presented: bool, required: bool, eligible: bool) -> None:
    rule = CertificateRule(Fraction(4, 5), require_final_project=required)
    cert = certificate("alice", states(5, 5), course(5, rule=rule), presented)
    assert (cert.eligible, cert.project) == (eligible, presented)


def test_certificate_counts_only_counting_assignments() -> None:
    # s0..s4 count; s5, s6 are practice sessions and complete, which does not help.
    records = [
        *states(3, 5),
        RecordState("alice", "s5", "complete"),
        RecordState("alice", "s6", "complete"),
    ]
    cert = certificate("alice", records, course(5, practice=2), project_presented=True)
    assert (cert.complete, cert.counted, cert.eligible) == (3, 5, False)


def test_certificate_counts_missing_records_and_late_as_not_complete() -> None:
    records = [RecordState("alice", f"s{i}", "complete") for i in range(3)]
    records.append(RecordState("alice", "s3", "late"))
    cert = certificate("alice", records, course(5), project_presented=True)
    assert (cert.complete, cert.counted, cert.eligible) == (3, 5, False)


def test_certificate_ignores_other_students_records() -> None:
    records = [*states(2, 5), *states(5, 5, student="bob")]
    assert certificate("Alice", records, course(5), project_presented=True).complete == 2


@pytest.mark.parametrize(("presented", "eligible"), [(True, True), (False, False)])
def test_certificate_with_nothing_counted(presented: bool, eligible: bool) -> None:
    cert = certificate("alice", [], course(0, practice=2), presented)
    assert (cert.counted, cert.eligible) == (0, eligible)


# --- undo, enrollment, disqualification --------------------------------------------------------


def test_undo_takes_back_the_same_tas_latest_override() -> None:
    events: list[Event] = [
        sub(D - H, "a", "incomplete"),
        Override(D, "complete", by="tina"),
        Override(D + H, "incomplete", by="tom", note="no"),
        Undo(D + 2 * H, by="Tina"),  # logins compare case-insensitively
    ]
    state = run(events)
    assert (state.status, state.override, state.note) == ("incomplete", True, "no")
    assert run([*events, Undo(D + 3 * H, by="tom")]).status == "incomplete"
    assert run([*events, Undo(D + 3 * H, by="tom")]).override is False


def test_undo_of_an_extension_restores_the_one_before() -> None:
    late = sub(D + 2 * H, "a", "complete")
    extended = [late, Extension(D, timedelta(days=1), by="tina")]
    assert run(extended).status == "complete"
    assert run([*extended, Undo(D + 3 * H, by="tina")]).status == "late"
    twice = [*extended, Extension(D + H, timedelta(0), by="tina"), Undo(D + 3 * H, by="tina")]
    assert run(twice).status == "complete"  # the 1d extension is back in force


def test_undo_with_nothing_to_take_back_changes_nothing() -> None:
    events: list[Event] = [sub(D - H, "a", "incomplete"), Undo(D, by="tina")]
    assert run(events) == run(events[:1])
    assert in_force([Undo(D, by="tina"), Override(D + H, "complete", by="tina")]) == [
        Override(D + H, "complete", by="tina")
    ]  # an undo never reaches forward in time


@pytest.mark.parametrize(
    ("enrolled", "required", "disqualified", "eligible"),
    [
        (True, True, False, True),
        (False, True, False, False),  # an auditor
        (False, False, False, True),
        (True, False, True, False),  # a disqualification always wins
        (True, True, True, False),
    ],
)
def test_certificate_enrollment_and_disqualification(
    enrolled: bool, required: bool, disqualified: bool, eligible: bool
) -> None:
    rule = CertificateRule(Fraction(4, 5), require_final_project=False, require_enrollment=required)
    cert = certificate(
        "alice",
        states(5, 5),
        course(5, rule=rule),
        False,
        enrolled=enrolled,
        disqualified=disqualified,
    )
    assert (cert.eligible, cert.enrolled, cert.disqualified) == (eligible, enrolled, disqualified)
