"""The grader's own exceptions: each kind carries the exit code it ends in.

Failures in what is graded are data (an incomplete Evaluation), never these.
These are for the people who run the grader: a mistake they can fix (exit 2,
with a message that says what to fix) or a state the grader cannot go on from.
`grader.cli.main` is the only place that turns them into exit codes; anything
else that escapes is a bug in the grader (exit 3).
"""

from __future__ import annotations

__all__ = ["GraderError", "UserError"]


class GraderError(Exception):
    """A failure the grader understands; `exit_code` says how the command ends."""

    exit_code = 3


class UserError(GraderError):
    """A usage or configuration mistake: the message says what to fix (exit 2)."""

    exit_code = 2
