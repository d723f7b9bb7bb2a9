"""Certificates as documents: who gets one, and whether a code still holds.

No I/O: the caller reads the course and the ledger and passes them in as
values; the PDFs are written by `grader.adapters.pdf`.

A certificate states the student's facts as of its **award moment**: the time
of the student's ledger event after which those facts no longer changed. That
moment comes from the ledger, not the clock, so issuing twice gives the same
codes, and progress after the award (one more assignment complete) does not
unmake a certificate: `verify_code` replays the ledger up to the award day to
recompute the stated facts, then checks that the student is still eligible
today (an override that drops them below the threshold, a disqualification).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from grader.core import certcode
from grader.core.certcode import (
    CertificateFacts,
    IssuedCertificate,
    MalformedCodeError,
    NotEligibleError,
)
from grader.core.history import StudentHistory
from grader.core.model import Certificate, CourseConfig
from grader.core.policy import certificate, derive

__all__ = [
    "CertificateBatch",
    "Refusal",
    "Standing",
    "Verification",
    "issue_certificates",
    "issue_for",
    "verify_code",
]

VerifyStatus = Literal["holds", "does-not-hold", "malformed"]
_EXIT = {"holds": 0, "does-not-hold": 1, "malformed": 2}
_NO_TIME = datetime(2020, 1, 1, tzinfo=UTC)  # any aware time: `now` only decides open/missing


@dataclass(frozen=True)
class Standing:
    """Ledger facts beyond the records: enrollment (roster or /grader enroll) and
    disqualification (/grader disqualify). Decided by the caller."""

    enrolled: bool = True
    disqualified: bool = False


@dataclass(frozen=True)
class Refusal:
    login: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CertificateBatch:
    issued: tuple[IssuedCertificate, ...]
    refused: tuple[Refusal, ...]  # every other student, with why


@dataclass(frozen=True)
class Verification:
    status: VerifyStatus
    message: str
    facts: CertificateFacts | None = None  # what the certificate states, when a student matched
    today: Certificate | None = None  # that student's standing today

    @property
    def exit_code(self) -> int:
        """0 holds, 1 does not hold, 2 malformed (CONTRACT section 3)."""
        return _EXIT[self.status]


# --- issuing ----------------------------------------------------------------------


def issue_certificates(
    course: CourseConfig,
    histories: Mapping[str, StudentHistory],
    *,
    standings: Mapping[str, Standing] | None = None,
    require_enrollment: bool = False,
) -> CertificateBatch:
    """A certificate for every eligible student, and the reasons for everyone else.

    Students are the roster and everyone in the ledger, by lower-case login.
    """
    issued: list[IssuedCertificate] = []
    refused: list[Refusal] = []
    for login in _students(course, histories):
        standing = (standings or {}).get(login, Standing())
        history = histories.get(login, StudentHistory())
        try:
            issued.append(issue_for(login, course, history, standing, require_enrollment))
        except NotEligibleError as refusal:
            refused.append(Refusal(login, refusal.reasons))
    return CertificateBatch(tuple(issued), tuple(refused))


def issue_for(
    login: str,
    course: CourseConfig,
    history: StudentHistory,
    standing: Standing = Standing(),
    require_enrollment: bool = False,
) -> IssuedCertificate:
    """One student's certificate; `NotEligibleError` when they have not earned it."""
    login = login.lower()
    times = _event_times(history)
    today = _certificate_at(login, course, history, times[-1] if times else _NO_TIME)
    reasons = _reasons(today, course, standing, require_enrollment)
    if not times and not reasons:
        reasons = ("nothing in the ledger dates a certificate for this student",)
    if reasons:
        raise NotEligibleError(login, reasons)
    moment = _award_moment(login, course, history, times)
    return certcode.issue(_facts(course, today, moment), reasons)


def _award_moment(
    login: str, course: CourseConfig, history: StudentHistory, times: Sequence[datetime]
) -> datetime:
    """The earliest event time from which the student's facts stayed as they are now."""
    final = _certificate_at(login, course, history, times[-1])
    moment = times[-1]
    for earlier in reversed(times[:-1]):
        if _certificate_at(login, course, history, earlier) != final:
            break
        moment = earlier
    return moment


# --- verifying --------------------------------------------------------------------


def verify_code(
    code: str,
    course: CourseConfig,
    histories: Mapping[str, StudentHistory],
    *,
    standings: Mapping[str, Standing] | None = None,
    require_enrollment: bool = False,
) -> Verification:
    """Whether the certificate with this code holds, recomputed from the ledger."""
    try:
        parsed = certcode.parse_code(code)
    except MalformedCodeError as problem:
        return Verification("malformed", f"{code.strip()!r} is not a valid code: {problem}")
    if parsed.tag != certcode.course_tag(course.name):
        return Verification(
            "does-not-hold",
            f"{parsed.text} was not issued by the course {course.name!r}: run grader verify "
            "in the repository of the course named on the certificate",
        )
    found = _find(parsed, course, histories)
    if found is None:
        return Verification(
            "does-not-hold",
            f"no student's records on {parsed.awarded.isoformat()} give {parsed.text}: "
            "the records it certified have changed since, or this course never issued it",
        )
    stated, then = found
    never = certcode.ineligibility(then, course.certificate)
    if never:
        return Verification(
            "does-not-hold",
            f"{parsed.text} states facts of @{stated.login} that never earned the certificate: "
            + "; ".join(never),
            stated,
        )
    return _judge(parsed, stated, course, histories, standings or {}, require_enrollment)


def _find(
    parsed: certcode.ParsedCode, course: CourseConfig, histories: Mapping[str, StudentHistory]
) -> tuple[CertificateFacts, Certificate] | None:
    """The facts the code states: replay each student up to each of their events on its day."""
    for login in sorted(histories):
        history = histories[login]
        for moment in _event_times(history):
            if moment.date() != parsed.awarded:
                continue
            then = _certificate_at(login, course, history, moment)
            facts = _facts(course, then, moment)
            if certcode.matches(parsed, facts):
                return facts, then
    return None


def _judge(
    parsed: certcode.ParsedCode,
    facts: CertificateFacts,
    course: CourseConfig,
    histories: Mapping[str, StudentHistory],
    standings: Mapping[str, Standing],
    require_enrollment: bool,
) -> Verification:
    history = histories[facts.login]
    times = _event_times(history)
    today = _certificate_at(facts.login, course, history, times[-1])
    standing = standings.get(facts.login, Standing())
    reasons = _reasons(today, course, standing, require_enrollment)
    if reasons:
        return Verification(
            "does-not-hold",
            f"{parsed.text} was issued to @{facts.login}, who is no longer eligible: "
            + "; ".join(reasons),
            facts,
            today,
        )
    return Verification("holds", _holds_message(parsed, facts, today), facts, today)


def _holds_message(parsed: certcode.ParsedCode, facts: CertificateFacts, today: Certificate) -> str:
    stated = f"{facts.complete} of {facts.counted} assignments complete"
    project = ", final project presented" if facts.project else ""
    text = (
        f"{parsed.text} holds: @{facts.login}, {stated}{project}, awarded "
        f"{facts.awarded.isoformat()} in {facts.course!r}. Check that the certificate "
        f"names @{facts.login}: a code proves nothing about a certificate with another name."
    )
    if (today.complete, today.counted) != (facts.complete, facts.counted):
        text += f" Today the ledger counts {today.complete} of {today.counted}."
    return text


# --- shared -----------------------------------------------------------------------


def _students(course: CourseConfig, histories: Mapping[str, StudentHistory]) -> list[str]:
    return sorted({login.lower() for login in (*course.roster, *histories)})


def _event_times(history: StudentHistory) -> list[datetime]:
    """Every distinct time in the student's ledger, in UTC, oldest first."""
    events = [e.at for events in history.assignments.values() for e in events]
    events += [p.at for p in history.project]
    return sorted({at.astimezone(UTC) for at in events})


def _certificate_at(
    login: str, course: CourseConfig, history: StudentHistory, moment: datetime
) -> Certificate:
    """The exercise and project rules with only the events up to `moment`."""
    states = [
        derive(
            login,
            assignment,
            [e for e in history.assignments.get(assignment.id, []) if e.at <= moment],
            grace=course.grace,
            base_extension=course.extensions.get(login, {}).get(assignment.id, timedelta(0)),
            now=moment,
        )
        for assignment in course.assignments.values()
    ]
    presented = any(p.at <= moment for p in history.project)
    return certificate(login, states, course, presented)


def _facts(course: CourseConfig, cert: Certificate, moment: datetime) -> CertificateFacts:
    return CertificateFacts(
        course=course.name,
        login=cert.student,
        complete=cert.complete,
        counted=cert.counted,
        project=cert.project,
        awarded=moment.astimezone(UTC).date(),
    )


def _reasons(
    cert: Certificate, course: CourseConfig, standing: Standing, require_enrollment: bool
) -> tuple[str, ...]:
    return certcode.ineligibility(
        cert,
        course.certificate,
        enrolled=standing.enrolled,
        disqualified=standing.disqualified,
        require_enrollment=require_enrollment,
    )
