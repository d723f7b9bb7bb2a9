"""Use case: `grader export`, every record and the certificate list, for spreadsheets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from grader.app.context import Context
from grader.app.tracker import all_certificates, all_states
from grader.core.model import RecordState

Rows = list[dict[str, Any]]


def record_row(state: RecordState) -> dict[str, Any]:
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
    }


def export_rows(ctx: Context, now: datetime) -> tuple[Rows, Rows]:
    histories = dict(ctx.ledger.all())
    states = all_states(ctx, histories, now)
    certificates = all_certificates(ctx, histories, states)
    rows = [record_row(s) for s in sorted(states.values(), key=lambda s: (s.student, s.assignment))]
    certs = [
        {
            "student": c.student,
            "complete": c.complete,
            "counted": c.counted,
            "project": c.project,
            "eligible": c.eligible,
        }
        for c in certificates
    ]
    return rows, certs
