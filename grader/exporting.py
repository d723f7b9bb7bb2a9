"""`grader export`: every record and the certificate list, for spreadsheets."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from grader import app
from grader.adapters.ledger import StudentHistory
from grader.core.model import RecordState


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


def export_rows(
    ctx: app.Context, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    histories: Mapping[str, StudentHistory] = dict(ctx.ledger.all())
    states = app.all_states(ctx, dict(histories), now)
    certificates = app.all_certificates(ctx, dict(histories), states)
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
