"""The GitHub Actions environment: the event payload and the job summary.

Payloads are untrusted input: every field is read defensively and a missing or
mistyped field becomes `None`, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.core.errors import UserError


class EventError(UserError):
    """The event file is missing or unreadable; a usage error for the workflow."""


def load_event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        raise EventError(
            "GITHUB_EVENT_PATH is not set; run this command from a GitHub Actions workflow"
        )
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EventError(f"cannot read the event file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise EventError(f"the event file {path} does not hold a JSON object")
    return data


def dig(data: object, *keys: str) -> Any:
    """data[k1][k2]... or None when any step is missing or not a mapping."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def text(data: object, *keys: str) -> str | None:
    value = dig(data, *keys)
    return value if isinstance(value, str) else None


def integer(data: object, *keys: str) -> int | None:
    value = dig(data, *keys)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def timestamp(data: object, *keys: str) -> datetime | None:
    value = text(data, *keys)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def write_summary(env: Mapping[str, str], markdown: str) -> None:
    """Append to the job's step summary when running in Actions."""
    path = env.get("GITHUB_STEP_SUMMARY")
    if path:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
