"""Ledger and artifact encoding: round trips, and a strict decoder for untrusted data."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from grader.core.codec import (
    LedgerEvent,
    decode_evaluation,
    decode_events,
    decode_project_events,
    decode_record_events,
    encode_evaluation,
    encode_events,
)
from grader.core.model import (
    Evaluation,
    ExerciseResult,
    Extension,
    Override,
    ProjectPresented,
    Regrade,
    Submission,
)
from tests.factories import AOE

SHA = "0123456789abcdef0123456789abcdef01234567"
IST = timezone(timedelta(hours=5, minutes=30))
EVALUATION = Evaluation(
    assignment="section-01",
    status="incomplete",
    exercises=(
        ExerciseResult("1", "ok"),
        ExerciseResult("summary", "empty", "the answer has 12 words; at least 150 are needed"),
        ExerciseResult("ex_2.b-c", "error", "ZeroDivisionError: division by zero\n  cell 4"),
    ),
    problems=("the notebook timed out after 1200 s",),
)
EVENTS: list[LedgerEvent] = [
    Submission(datetime(2020, 8, 8, 23, 59, tzinfo=AOE), SHA, 12, EVALUATION),
    Submission(
        datetime(2020, 8, 9, 3, 0, 0, 123456, tzinfo=IST),
        "abcd",
        13,
        Evaluation("section-01", "complete"),
    ),
    Override(datetime(2020, 8, 10, tzinfo=UTC), "complete", "tina", "reviewed by hand | <b>ok</b>"),
    Override(datetime(2020, 8, 10, tzinfo=UTC), "incomplete", "Tom-TA"),
    Override(datetime(2020, 8, 10, tzinfo=UTC), "complete", "course-bot[bot]", "via app"),
    Extension(
        datetime(2020, 10, 24, 12, tzinfo=ZoneInfo("Europe/Berlin")), timedelta(hours=48), "tina"
    ),
    Extension(datetime(2020, 8, 11, tzinfo=UTC), timedelta(seconds=1.5), "tina"),
    Extension(datetime(2020, 8, 11, tzinfo=UTC), timedelta(0), "tina"),
    Regrade(
        datetime(2020, 8, 12, tzinfo=timezone(timedelta(hours=-9, minutes=-30))), SHA, EVALUATION
    ),
    ProjectPresented(datetime(2021, 2, 20, 15, tzinfo=UTC), "tina"),
]


def through_json(data: object) -> object:
    return json.loads(json.dumps(data))


def test_events_round_trip_through_json() -> None:
    assert decode_events(through_json(encode_events(EVENTS))) == EVENTS


def test_round_trip_keeps_the_offset_and_the_instant() -> None:
    decoded = decode_events(through_json(encode_events(EVENTS)))
    for before, after in zip(EVENTS, decoded, strict=True):
        assert after.at.utcoffset() == before.at.utcoffset()
        assert after.at.astimezone(UTC) == before.at.astimezone(UTC)


def test_encoding_is_plain_json() -> None:
    data = encode_events(EVENTS)
    assert data[0]["at"] == "2020-08-08T23:59:00-12:00"
    assert data[5]["at"] == "2020-10-24T12:00:00+02:00"
    assert data[5]["delta_seconds"] == 172800
    assert data[6]["delta_seconds"] == 1.5
    assert data[-1] == {
        "type": "project-presented",
        "at": "2021-02-20T15:00:00+00:00",
        "by": "tina",
    }
    assert json.loads(json.dumps(data)) == data


def test_z_suffix_is_accepted() -> None:
    data: list[Any] = encode_events([ProjectPresented(datetime(2021, 2, 20, tzinfo=UTC), "tina")])
    data[0]["at"] = "2021-02-20T00:00:00Z"
    assert decode_events(data)[0].at == datetime(2021, 2, 20, tzinfo=UTC)


def test_evaluation_round_trip_and_check_json_shape() -> None:
    data = encode_evaluation(EVALUATION)
    assert data["exercises"][0] == {"id": "1", "status": "ok", "detail": ""}
    assert set(data) == {"assignment", "status", "exercises", "problems"}
    assert decode_evaluation(through_json(data)) == EVALUATION


def test_split_decoders() -> None:
    record = [e for e in EVENTS if not isinstance(e, ProjectPresented)]
    projects = [e for e in EVENTS if isinstance(e, ProjectPresented)]
    assert decode_record_events(encode_events(record)) == record
    assert decode_project_events(encode_events(projects)) == projects
    with pytest.raises(ValueError, match=r"events\[9\]\.type: a project-presented event"):
        decode_record_events(encode_events(EVENTS))
    with pytest.raises(ValueError, match=r"project\[0\]\.type: expected project-presented"):
        decode_project_events(encode_events(record))


def test_naive_datetime_cannot_be_stored() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        encode_events([ProjectPresented(datetime(2021, 2, 20), "tina")])


# --- malformed ledger data -------------------------------------------------------


def broken(path: list[str | int], value: object) -> list[Any]:
    """The encoded EVENTS with one value replaced (or deleted, for `...`)."""
    data: Any = copy.deepcopy(encode_events(EVENTS))
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return list(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, r"^events: expected a list, got an object"),
        ([1], r"^events\[0\]: expected an object, got int"),
        (broken([0, "type"], "push"), r"events\[0\]\.type: expected one of submission, override"),
        (broken([0, "type"], ...), r"events\[0\]\.type: expected one of"),
        (broken([0, "at"], ...), r"events\[0\]: missing at"),
        (broken([0, "extra"], 1), r"events\[0\]: unexpected key 'extra'"),
        (broken([0, "at"], "2020-08-08T23:59:00"), r"events\[0\]\.at: .* has no UTC offset"),
        (broken([0, "at"], "2020-08-08"), r"events\[0\]\.at: .* has no UTC offset"),
        (broken([0, "at"], "yesterday"), r"events\[0\]\.at: 'yesterday' is not an ISO 8601"),
        (broken([0, "at"], 1596931140), r"events\[0\]\.at: expected a string, got int"),
        (broken([0, "sha"], "HEAD"), r"events\[0\]\.sha: 'HEAD' is not a lower-case hex"),
        (broken([0, "sha"], SHA.upper()), r"events\[0\]\.sha: .* is not a lower-case hex"),
        (broken([0, "pr"], "12"), r"events\[0\]\.pr: expected an integer, got a string"),
        (broken([0, "pr"], True), r"events\[0\]\.pr: expected an integer, got a boolean"),
        (broken([0, "pr"], 0), r"events\[0\]\.pr: 0 is out of range"),
        (broken([0, "pr"], 12.0), r"events\[0\]\.pr: expected an integer, got float"),
        (
            broken([2, "status"], "passed"),
            r"events\[2\]\.status: expected one of complete, incomplete",
        ),
        (broken([2, "by"], "tina; rm -rf"), r"events\[2\]\.by: .* is not a GitHub login"),
        (broken([2, "note"], None), r"events\[2\]\.note: expected a string, got null"),
        (broken([2, "note"], "x" * 2001), r"events\[2\]\.note: 2001 characters, at most 2000"),
        (broken([5, "delta_seconds"], "48h"), r"events\[5\]\.delta_seconds: expected a number"),
        (
            broken([5, "delta_seconds"], float("nan")),
            r"events\[5\]\.delta_seconds: nan seconds is out",
        ),
        (broken([5, "delta_seconds"], 10**12), r"events\[5\]\.delta_seconds: .* out of range"),
        (
            broken([8, "evaluation", "status"], "pass"),
            r"events\[8\]\.evaluation\.status: expected one of",
        ),
        (broken([9, "by"], ""), r"events\[9\]\.by: '' is not a GitHub login"),
    ],
)
def test_malformed_events_name_the_path(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_events(data)


# --- untrusted evaluations -----------------------------------------------------------


def evaluation_with(**changes: object) -> dict[str, Any]:
    data = encode_evaluation(EVALUATION)
    data.update(changes)
    return data


def exercises(n: int, status: str = "ok", detail: str = "") -> list[dict[str, str]]:
    return [{"id": f"e{i}", "status": status, "detail": detail} for i in range(n)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, r"^evaluation: expected an object, got null"),
        ([], r"^evaluation: expected an object, got a list"),
        ({"assignment": "section-01", "status": "complete", "exercises": []}, r"missing problems"),
        (evaluation_with(score=100), r"unexpected key 'score'"),
        (
            evaluation_with(assignment="../etc"),
            r"evaluation\.assignment: '\.\./etc' is not an assignment id",
        ),
        (evaluation_with(assignment="Section-01"), r"is not an assignment id"),
        (evaluation_with(assignment="a" * 50), r"is not an assignment id"),
        (evaluation_with(assignment=1), r"evaluation\.assignment: expected a string, got int"),
        (
            evaluation_with(status="passed"),
            r"evaluation\.status: expected one of complete, incomplete, got 'passed'",
        ),
        (evaluation_with(status=True), r"evaluation\.status: expected one of .* got a boolean"),
        (evaluation_with(exercises={}), r"evaluation\.exercises: expected a list, got an object"),
        (
            evaluation_with(exercises=exercises(201)),
            r"evaluation\.exercises: 201 entries, at most 200",
        ),
        (
            evaluation_with(exercises=["ok"]),
            r"evaluation\.exercises\[0\]: expected an object, got a string",
        ),
        (
            evaluation_with(exercises=[{"id": "1", "status": "ok"}]),
            r"evaluation\.exercises\[0\]: missing detail",
        ),
        (
            evaluation_with(exercises=[{"id": "1", "status": "ok", "detail": "", "points": 3}]),
            r"unexpected key 'points'",
        ),
        (
            evaluation_with(exercises=[{"id": "1", "status": "passed", "detail": ""}]),
            r"evaluation\.exercises\[0\]\.status: expected one of "
            r"ok, missing, empty, error, timeout, not-run",
        ),
        (
            evaluation_with(exercises=[{"id": "a b", "status": "ok", "detail": ""}]),
            r"evaluation\.exercises\[0\]\.id: 'a b' is not an exercise id",
        ),
        (
            evaluation_with(exercises=[{"id": "<img src=x>", "status": "ok", "detail": ""}]),
            r"is not an exercise id",
        ),
        (
            evaluation_with(exercises=[{"id": "", "status": "ok", "detail": ""}]),
            r"is not an exercise id",
        ),
        (
            evaluation_with(exercises=[{"id": "x" * 101, "status": "ok", "detail": ""}]),
            r"not an exercise id",
        ),
        (
            evaluation_with(exercises=exercises(1) + exercises(1)),
            r"exercises\[1\]\.id: duplicate exercise id 'e0'",
        ),
        (
            evaluation_with(exercises=exercises(1, "error", "x" * 2001)),
            r"detail: 2001 characters, at most 2000",
        ),
        (
            evaluation_with(exercises=exercises(1, "ok", None)),
            r"detail: expected a string, got null",
        ),
        (evaluation_with(problems="none"), r"evaluation\.problems: expected a list, got a string"),
        (evaluation_with(problems=[1]), r"evaluation\.problems\[0\]: expected a string, got int"),
        (evaluation_with(problems=["x" * 2001]), r"evaluation\.problems\[0\]: 2001 characters"),
        (evaluation_with(problems=["p"] * 51), r"evaluation\.problems: 51 entries, at most 50"),
        (
            evaluation_with(
                status="complete",
                exercises=[*exercises(2), {"id": "x", "status": "timeout", "detail": ""}],
            ),
            r"evaluation\.status: complete, yet not every exercise is ok",
        ),
    ],
)
def test_untrusted_evaluation_is_checked_strictly(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_evaluation(data)


@pytest.mark.parametrize(
    "data",
    [
        evaluation_with(exercises=exercises(200, "error", "x" * 2000), status="incomplete"),
        evaluation_with(exercises=[], problems=[], status="complete"),
        evaluation_with(
            exercises=exercises(3),
            problems=["a dead kernel after the last cell"],
            status="complete",
        ),
        evaluation_with(problems=["x" * 2000] * 50),
        evaluation_with(exercises=[{"id": "1.2_b-C", "status": "not-run", "detail": ""}]),
    ],
)
def test_evaluations_at_the_limits_are_accepted(data: dict[str, Any]) -> None:
    assert encode_evaluation(decode_evaluation(data)) == data


def test_evaluation_error_path_can_be_prefixed() -> None:
    with pytest.raises(ValueError, match=r"^notebooks\[0\]\.evaluation\.status: "):
        decode_evaluation(evaluation_with(status="x"), "notebooks[0].evaluation")
