"""JSON-safe encoding of ledger events and Evaluations.

Datetimes are ISO 8601 strings with their UTC offset; durations are seconds.
Decoding is strict: exact keys, exact types, bounded sizes, and a ValueError
naming the path of the first bad value (`events[2].evaluation.status: ...`).
`decode_evaluation` also reads the grade run's artifact, which is untrusted
(THREATS 11), so it accepts nothing the grader itself would not write.

`check_depth` and `loads_json` guard every parse of untrusted JSON (notebooks,
artifacts) against nesting so deep that `json.loads` or anything walking the
result recursively raises RecursionError (THREATS 45): the depth is counted
by a scan without recursion, before anything parses the text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any, cast, get_args

from grader.core.model import (
    Disqualified,
    Enrolled,
    Evaluation,
    Event,
    ExerciseResult,
    ExerciseStatus,
    Extension,
    NotebookStatus,
    Override,
    ProjectPresented,
    Regrade,
    StandingEvent,
    Submission,
    Undo,
)

__all__ = [
    "MAX_JSON_DEPTH",
    "LedgerEvent",
    "check_depth",
    "decode_evaluation",
    "decode_events",
    "decode_project_events",
    "decode_record_events",
    "decode_standing_events",
    "encode_evaluation",
    "encode_event",
    "encode_events",
    "json_depth",
    "loads_json",
]

LedgerEvent = Event | ProjectPresented | Enrolled | Disqualified

MAX_DETAIL = 2000  # characters of an exercise detail or a problem
MAX_EXERCISES = 200
MAX_PROBLEMS = 50
MAX_NOTE = 2000
MAX_EVENTS = 10_000
MAX_EXTENSION = timedelta(days=3650)
# Real notebooks nest about 9 levels deep (the corpus's deepest), results about 6;
# nbformat and copy.deepcopy fail somewhere past 400, json.loads near 1000.
MAX_JSON_DEPTH = 100
ASSIGNMENT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,48}")
EXERCISE_ID = re.compile(r"[A-Za-z0-9_.-]{1,100}")
SHA = re.compile(r"[0-9a-f]{4,64}")
LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}(?:\[bot\])?")  # apps act as name[bot]
_EXERCISE_STATUSES: tuple[str, ...] = get_args(ExerciseStatus)
_NOTEBOOK_STATUSES: tuple[str, ...] = get_args(NotebookStatus)
_OVERRIDE_STATUSES = ("complete", "incomplete")

_KEYS = {
    "submission": frozenset({"type", "at", "sha", "pr", "evaluation"}),
    "override": frozenset({"type", "at", "status", "by", "note"}),
    "extension": frozenset({"type", "at", "delta_seconds", "by"}),
    "regrade": frozenset({"type", "at", "sha", "evaluation"}),
    "project-presented": frozenset({"type", "at", "by"}),
    "undo": frozenset({"type", "at", "by"}),
    "enrolled": frozenset({"type", "at", "by"}),
    "disqualified": frozenset({"type", "at", "by"}),
}
# Events with nothing but a time and a login: (type, class).
_SIMPLE: dict[str, type[Undo | Enrolled | Disqualified | ProjectPresented]] = {
    "undo": Undo,
    "enrolled": Enrolled,
    "disqualified": Disqualified,
    "project-presented": ProjectPresented,
}
_SIMPLE_TYPES = {cls: kind for kind, cls in _SIMPLE.items()}
_EVALUATION_KEYS = frozenset({"assignment", "status", "exercises", "problems"})
_EXERCISE_KEYS = frozenset({"id", "status", "detail"})


# --- nesting depth of untrusted JSON -------------------------------------------------

# A JSON string (escapes included), so the brackets inside it are not counted.
# A string, or an unterminated one running to the end: always a match at each quote,
# so the scan is linear (a pattern that must find the closing quote retries from every
# quote of an unterminated run of escaped quotes: quadratic).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
# Everything ASCII but brackets goes; what is left outside strings in JSON is ASCII.
_KEEP_BRACKETS = {c: None for c in range(128) if chr(c) not in "[]{}"}
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(text: str | bytes) -> int:
    """How deep arrays and objects nest in JSON `text`.

    Counted over the brackets outside strings with C-level iteration
    (`translate`, `accumulate`), without recursion, so any depth is safe to
    measure; 64 MB of brackets take about two seconds. Text that is not JSON
    gets some number; `json.loads` rejects it afterwards.
    """
    if isinstance(text, bytes):
        # As json.loads reads bytes (UTF-8, -16 or -32), so no byte of a wide
        # character is taken for a quote; bad bytes raise UnicodeDecodeError, a ValueError.
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    outside = _JSON_STRING.sub("", text).translate(_KEEP_BRACKETS)
    brackets = outside.encode("ascii", "ignore")  # non-ASCII here is invalid JSON anyway
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_depth(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise ValueError when JSON `text` nests deeper than `limit` (call before parsing)."""
    if json_depth(text) > limit:
        raise ValueError(
            f"its JSON is nested more than {limit} levels deep, deeper than any "
            "notebook or result the grader or Jupyter writes"
        )


def loads_json(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` for untrusted text: ValueError, never RecursionError, on deep nesting."""
    check_depth(text, limit)
    try:
        return json.loads(text)
    except RecursionError:  # only if a caller passed a limit near the interpreter's
        raise ValueError(f"its JSON is nested too deeply to read (limit {limit})") from None


# --- encoding ------------------------------------------------------------------


def encode_events(events: Iterable[LedgerEvent]) -> list[dict[str, Any]]:
    return [encode_event(event) for event in events]


def encode_event(event: LedgerEvent) -> dict[str, Any]:
    at = _encode_datetime(event.at)
    if isinstance(event, Submission):
        evaluation = encode_evaluation(event.evaluation)
        return {
            "type": "submission",
            "at": at,
            "sha": event.sha,
            "pr": event.pr,
            "evaluation": evaluation,
        }
    if isinstance(event, Override):
        return {
            "type": "override",
            "at": at,
            "status": event.status,
            "by": event.by,
            "note": event.note,
        }
    if isinstance(event, Extension):
        seconds = _encode_seconds(event.delta)
        return {"type": "extension", "at": at, "delta_seconds": seconds, "by": event.by}
    if isinstance(event, Regrade):
        evaluation = encode_evaluation(event.evaluation)
        return {"type": "regrade", "at": at, "sha": event.sha, "evaluation": evaluation}
    return {"type": _SIMPLE_TYPES[type(event)], "at": at, "by": event.by}


def encode_evaluation(evaluation: Evaluation) -> dict[str, Any]:
    """The shape of `grader check --json` (CONTRACT section 3), minus `notebook`."""
    return {
        "assignment": evaluation.assignment,
        "status": evaluation.status,
        "exercises": [
            {"id": e.id, "status": e.status, "detail": e.detail} for e in evaluation.exercises
        ],
        "problems": list(evaluation.problems),
    }


def _encode_datetime(moment: datetime) -> str:
    if moment.utcoffset() is None:
        raise ValueError(
            f"cannot store the naive datetime {moment.isoformat()}; give it a UTC offset"
        )
    return moment.isoformat()


def _encode_seconds(delta: timedelta) -> int | float:
    seconds = delta.total_seconds()
    return int(seconds) if seconds.is_integer() else seconds


# --- decoding events -------------------------------------------------------------


def decode_events(data: object, path: str = "events") -> list[LedgerEvent]:
    items = _list(data, path, MAX_EVENTS)
    return [_decode_event(item, f"{path}[{i}]") for i, item in enumerate(items)]


def decode_record_events(data: object, path: str = "events") -> list[Event]:
    """Events of one record; a student-level event here is malformed data."""
    events = decode_events(data, path)
    found: list[Event] = []
    for i, event in enumerate(events):
        if isinstance(event, ProjectPresented | Enrolled | Disqualified):
            raise ValueError(
                f"{path}[{i}].type: a {_SIMPLE_TYPES[type(event)]} event does not belong "
                "to an assignment"
            )
        found.append(event)
    return found


def decode_standing_events(data: object, path: str = "standing") -> list[StandingEvent]:
    """A student's enrollment, disqualification and undo events; anything else is malformed."""
    events = decode_events(data, path)
    found: list[StandingEvent] = []
    for i, event in enumerate(events):
        if not isinstance(event, Enrolled | Disqualified | Undo):
            raise ValueError(f"{path}[{i}].type: expected enrolled, disqualified or undo")
        found.append(event)
    return found


def decode_project_events(data: object, path: str = "project") -> list[ProjectPresented]:
    """A student's project events; any other event here is malformed data."""
    events = decode_events(data, path)
    for i, event in enumerate(events):
        if not isinstance(event, ProjectPresented):
            raise ValueError(f"{path}[{i}].type: expected project-presented")
    return [e for e in events if isinstance(e, ProjectPresented)]


def _decode_event(data: object, path: str) -> LedgerEvent:
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected an object, got {_kind(data)}")
    kind = _choice(data.get("type"), f"{path}.type", tuple(_KEYS))
    fields = _object(data, path, _KEYS[kind])
    at = _datetime(fields["at"], f"{path}.at")
    if kind == "submission":
        return _submission(fields, path, at)
    if kind == "override":
        return _override(fields, path, at)
    if kind == "extension":
        delta = _seconds(fields["delta_seconds"], f"{path}.delta_seconds")
        return Extension(at=at, delta=delta, by=_login(fields["by"], f"{path}.by"))
    if kind == "regrade":
        sha = _match(fields["sha"], f"{path}.sha", SHA, "a lower-case hex commit sha")
        return Regrade(
            at=at, sha=sha, evaluation=decode_evaluation(fields["evaluation"], f"{path}.evaluation")
        )
    return _SIMPLE[kind](at=at, by=_login(fields["by"], f"{path}.by"))


def _submission(fields: Mapping[str, object], path: str, at: datetime) -> Submission:
    return Submission(
        at=at,
        sha=_match(fields["sha"], f"{path}.sha", SHA, "a lower-case hex commit sha"),
        pr=_int(fields["pr"], f"{path}.pr", 1, 10**9),
        evaluation=decode_evaluation(fields["evaluation"], f"{path}.evaluation"),
    )


def _override(fields: Mapping[str, object], path: str, at: datetime) -> Override:
    status = _choice(fields["status"], f"{path}.status", _OVERRIDE_STATUSES)
    return Override(
        at=at,
        status="complete" if status == "complete" else "incomplete",
        by=_login(fields["by"], f"{path}.by"),
        note=_text(fields["note"], f"{path}.note", MAX_NOTE),
    )


# --- decoding evaluations (untrusted) ----------------------------------------------


def decode_evaluation(data: object, path: str = "evaluation") -> Evaluation:
    """An Evaluation from untrusted JSON data; ValueError on anything unexpected."""
    fields = _object(data, path, _EVALUATION_KEYS)
    assignment = _match(
        fields["assignment"], f"{path}.assignment", ASSIGNMENT_ID, "an assignment id"
    )
    status = _choice(fields["status"], f"{path}.status", _NOTEBOOK_STATUSES)
    exercises = _exercises(fields["exercises"], f"{path}.exercises")
    problems = [
        _text(p, f"{path}.problems[{i}]", MAX_DETAIL)
        for i, p in enumerate(_list(fields["problems"], f"{path}.problems", MAX_PROBLEMS))
    ]
    if status == "complete" and any(e.status != "ok" for e in exercises):
        raise ValueError(f"{path}.status: complete, yet not every exercise is ok")
    return Evaluation(
        assignment=assignment,
        status="complete" if status == "complete" else "incomplete",
        exercises=tuple(exercises),
        problems=tuple(problems),
    )


def _exercises(data: object, path: str) -> list[ExerciseResult]:
    results = [
        _exercise(item, f"{path}[{i}]") for i, item in enumerate(_list(data, path, MAX_EXERCISES))
    ]
    seen: set[str] = set()
    for i, result in enumerate(results):
        if result.id in seen:
            raise ValueError(f"{path}[{i}].id: duplicate exercise id {result.id!r}")
        seen.add(result.id)
    return results


def _exercise(data: object, path: str) -> ExerciseResult:
    fields = _object(data, path, _EXERCISE_KEYS)
    status = _choice(fields["status"], f"{path}.status", _EXERCISE_STATUSES)
    return ExerciseResult(
        id=_match(fields["id"], f"{path}.id", EXERCISE_ID, "an exercise id"),
        status=cast(ExerciseStatus, status),  # checked by _choice
        detail=_text(fields["detail"], f"{path}.detail", MAX_DETAIL),
    )


# --- strict readers ------------------------------------------------------------------


def _object(data: object, path: str, keys: frozenset[str]) -> Mapping[str, object]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected an object, got {_kind(data)}")
    missing = sorted(keys - set(data))
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    extra = sorted(str(key)[:40] for key in data if key not in keys)
    if extra:
        raise ValueError(f"{path}: unexpected key {extra[0]!r}")
    return data


def _list(data: object, path: str, limit: int) -> list[object]:
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list, got {_kind(data)}")
    if len(data) > limit:
        raise ValueError(f"{path}: {len(data)} entries, at most {limit} allowed")
    return data


def _text(data: object, path: str, limit: int) -> str:
    if not isinstance(data, str):
        raise ValueError(f"{path}: expected a string, got {_kind(data)}")
    if len(data) > limit:
        raise ValueError(f"{path}: {len(data)} characters, at most {limit} allowed")
    return data


def _match(data: object, path: str, pattern: re.Pattern[str], what: str) -> str:
    text = _text(data, path, 200)
    if not pattern.fullmatch(text):
        raise ValueError(f"{path}: {text[:60]!r} is not {what}")
    return text


def _login(data: object, path: str) -> str:
    return _match(data, path, LOGIN, "a GitHub login")


def _choice(data: object, path: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(data, str) or data not in allowed:
        shown = repr(data)[:60] if isinstance(data, str) else _kind(data)
        raise ValueError(f"{path}: expected one of {', '.join(allowed)}, got {shown}")
    return data


def _int(data: object, path: str, low: int, high: int) -> int:
    if isinstance(data, bool) or not isinstance(data, int):
        raise ValueError(f"{path}: expected an integer, got {_kind(data)}")
    if not low <= data <= high:
        raise ValueError(f"{path}: {data} is out of range {low}..{high}")
    return data


def _datetime(data: object, path: str) -> datetime:
    text = _text(data, path, 64)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{path}: {text!r} is not an ISO 8601 date and time") from None
    if moment.utcoffset() is None:
        raise ValueError(f"{path}: {text!r} has no UTC offset")
    return moment


def _seconds(data: object, path: str) -> timedelta:
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise ValueError(f"{path}: expected a number of seconds, got {_kind(data)}")
    if not math.isfinite(data) or abs(data) > MAX_EXTENSION.total_seconds():
        raise ValueError(f"{path}: {data} seconds is out of range")
    return timedelta(seconds=data)


def _kind(data: object) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }
    return names.get(type(data), type(data).__name__)
