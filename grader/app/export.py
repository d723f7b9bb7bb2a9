"""Use case: `grader export`, every record and the certificate list, for spreadsheets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from grader.app.context import Context
from grader.app.tracker import all_certificates, all_states
from grader.core.history import StudentHistory
from grader.core.model import Override, RecordState
from grader.core.view import shown_facts

Rows = list[dict[str, Any]]


def record_row(state: RecordState, override: Override | None = None) -> dict[str, Any]:
    """One record for a spreadsheet; `override`: the TA command that set its status."""
    return {
        "student": state.student,
        "assignment": state.assignment,
        "status": state.status,
        "override": state.override,
        "submitted_at": state.submitted_at.astimezone(UTC).isoformat()
        if state.submitted_at
        else "",
        "pr": state.pr or "",
        "deadline": state.deadline.astimezone(UTC).isoformat() if state.deadline else "",
        "override_by": override.by if override else "",
        "override_note": override.note if override else "",
        "override_at": override.at.astimezone(UTC).isoformat() if override else "",
    }


def _override(histories: dict[str, StudentHistory], state: RecordState) -> Override | None:
    history = histories.get(state.student) or next(
        (h for s, h in histories.items() if s.lower() == state.student.lower()), StudentHistory()
    )
    return shown_facts(history.assignments.get(state.assignment, []), state).override


def export_rows(ctx: Context, now: datetime) -> tuple[Rows, Rows]:
    histories = dict(ctx.ledger.all())
    states = all_states(ctx, histories, now)
    certificates = all_certificates(ctx, histories, states)
    ordered = sorted(states.values(), key=lambda s: (s.student, s.assignment))
    rows = [record_row(s, _override(histories, s)) for s in ordered]
    certs = [
        {
            "student": c.student,
            "complete": c.complete,
            "counted": c.counted,
            "project": c.project,
            "eligible": c.eligible,
            "enrolled": c.enrolled,
            "disqualified": c.disqualified,
        }
        for c in certificates
    ]
    return rows, certs
