"""Simulation scenarios (CONTRACT section 4): loaded YAML -> Scenario values.

Errors name the file and the key path, like course config errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from grader.core.errors import UserError

LOGIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-[]")


class ScenarioError(UserError):
    """A scenario file that cannot be replayed; the message names the key path."""


@dataclass(frozen=True)
class SubmitEvent:
    at: datetime
    order: int
    student: str
    assignment: str
    notebook: str
    new_pr: bool = False


@dataclass(frozen=True)
class CommentEvent:
    at: datetime
    order: int
    author: str
    body: str
    student: str | None = None
    assignment: str | None = None
    issue: str | None = None  # "tracker": a comment on the tracking issue


@dataclass(frozen=True)
class DeadlineEvent:
    """The course moves an assignment's deadline (a push to exercises/ on GitHub),
    and reconcile re-derives every record with it."""

    at: datetime
    order: int
    assignment: str
    deadline: datetime


ScenarioEvent = SubmitEvent | CommentEvent | DeadlineEvent


@dataclass(frozen=True)
class Scenario:
    events: tuple[ScenarioEvent, ...]
    now: datetime | None = None
    roster: tuple[str, ...] = ()
    tas: tuple[str, ...] = ()

    @property
    def clock_end(self) -> datetime | None:
        if self.now is not None:
            return self.now
        return max((e.at for e in self.events), default=None)


def _fail(where: str, message: str) -> ScenarioError:
    return ScenarioError(f"{where}: {message}")


def _mapping(value: object, where: str, allowed: set[str]) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _fail(where, "expected a mapping")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise _fail(
            where, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return value


def _time(value: object, where: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _fail(where, f"not an ISO 8601 time: {value!r}") from None
    if not isinstance(value, datetime):
        raise _fail(where, "expected a time like 2020-08-07T10:00:00+02:00")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _fail(
            where, "time has no UTC offset; write it like 2020-08-07T10:00:00+02:00 or ...Z"
        )
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, "expected a non-empty string")
    return value


def _login(value: object, where: str) -> str:
    login = _text(value, where).strip().lower()
    if not set(login) <= LOGIN_CHARS:
        raise _fail(where, f"not a GitHub login: {value!r}")
    return login


def _logins(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(where, "expected a list of logins")
    return tuple(_login(v, f"{where}[{i}]") for i, v in enumerate(value))


def _submit(at: datetime, order: int, value: object, where: str) -> SubmitEvent:
    data = _mapping(value, where, {"student", "assignment", "notebook", "new_pr"})
    new_pr = data.get("new_pr", False)
    if not isinstance(new_pr, bool):
        raise _fail(f"{where}.new_pr", "expected true or false")
    return SubmitEvent(
        at=at,
        order=order,
        student=_login(data.get("student"), f"{where}.student"),
        assignment=_text(data.get("assignment"), f"{where}.assignment"),
        notebook=_text(data.get("notebook"), f"{where}.notebook"),
        new_pr=new_pr,
    )


def _comment(at: datetime, order: int, value: object, where: str) -> CommentEvent:
    data = _mapping(value, where, {"author", "student", "assignment", "body", "issue"})
    student = data.get("student")
    assignment = data.get("assignment")
    issue = data.get("issue")
    if issue is not None and issue != "tracker":
        raise _fail(f"{where}.issue", f"expected tracker (the tracking issue), got {issue!r}")
    if issue is not None and (student is not None or assignment is not None):
        raise _fail(
            f"{where}.issue",
            "a comment on the tracking issue names no student or assignment; "
            "drop issue: to comment on the student's pull request",
        )
    return CommentEvent(
        at=at,
        order=order,
        author=_login(data.get("author"), f"{where}.author"),
        body=_text(data.get("body"), f"{where}.body"),
        student=None if student is None else _login(student, f"{where}.student"),
        assignment=None if assignment is None else _text(assignment, f"{where}.assignment"),
        issue=issue,
    )


KINDS = ("submit", "comment", "deadline")


def _event(value: object, order: int, where: str) -> ScenarioEvent:
    data = _mapping(value, where, {"at", *KINDS})
    at = _time(data.get("at"), f"{where}.at")
    kinds = [k for k in KINDS if k in data]
    if len(kinds) != 1:
        raise _fail(where, "each event needs exactly one of submit, comment or deadline")
    if "submit" in data:
        return _submit(at, order, data["submit"], f"{where}.submit")
    if "deadline" in data:
        return _deadline(at, order, data["deadline"], f"{where}.deadline")
    return _comment(at, order, data["comment"], f"{where}.comment")


def _deadline(at: datetime, order: int, value: object, where: str) -> DeadlineEvent:
    data = _mapping(value, where, {"assignment", "to"})
    return DeadlineEvent(
        at=at,
        order=order,
        assignment=_text(data.get("assignment"), f"{where}.assignment"),
        deadline=_time(data.get("to"), f"{where}.to"),
    )


def parse_scenario(data: object, *, file: str = "scenario.yml") -> Scenario:
    top = _mapping(data, file, {"now", "roster", "tas", "events"})
    raw_events = top.get("events", [])
    if not isinstance(raw_events, list):
        raise _fail(f"{file}: events", "expected a list of events")
    events = [_event(e, i, f"{file}: events[{i}]") for i, e in enumerate(raw_events)]
    now = top.get("now")
    return Scenario(
        # Replayed by time; events at the same instant keep their file order.
        events=tuple(sorted(events, key=lambda e: (e.at, e.order))),
        now=None if now is None else _time(now, f"{file}: now"),
        roster=_logins(top.get("roster"), f"{file}: roster"),
        tas=_logins(top.get("tas"), f"{file}: tas"),
    )
