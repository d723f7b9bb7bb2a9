"""What every command module shares: exit codes, the usage error, common arguments."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from grader.core.errors import UserError
from grader.core.model import Assignment, CourseConfig

# Exit codes everywhere (CONTRACT section 3).
OK, INCOMPLETE, USAGE, INTERNAL = 0, 1, 2, 3


class UsageError(UserError):
    """A mistake in how the command was called; exit 2."""


def assignment_named(course: CourseConfig, assignment_id: str) -> Assignment:
    """The course's assignment `assignment_id`, or a usage error listing the known ones."""
    found = course.assignments.get(assignment_id)
    if found is None:
        known = ", ".join(course.assignments) or "none"
        raise UsageError(f"unknown assignment {assignment_id!r}; known: {known}")
    return found


def add_course(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--course", type=Path, default=Path("."), help="course root (default: .)")


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def parse_now(value: str | None) -> datetime:
    """`--now`: an ISO 8601 time with an offset; the wall clock when absent."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--now {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise UsageError("--now needs a UTC offset, e.g. 2020-08-12T00:00:00Z")
    return moment
