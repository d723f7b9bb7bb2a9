"""TA commands in issue and PR comments (CONTRACT section 5).

A command is a line that starts with `/grader` (leading whitespace allowed,
any letter case). Lines inside fenced code blocks (``` or ~~~) and quoted
lines (`>`) are not commands, so quoting or showing a command never re-runs it.

Several commands in one comment are all returned, in order; the caller applies
them in that order and only when none of them is an error, so a typo never
half-applies a comment. Later commands win where they conflict (the latest
override or extension replaces the earlier one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

__all__ = [
    "USAGE",
    "Command",
    "CommandError",
    "CompleteCmd",
    "ExtendCmd",
    "IncompleteCmd",
    "ProjectCmd",
    "RegradeCmd",
    "command_lines",
    "is_authorised",
    "parse",
    "parse_line",
    "partition",
]

PREFIX = "/grader"
MAX_COMMANDS = 10
MAX_TEXT = 1000  # characters of a note or reason
MAX_EXTENSION = timedelta(days=365)
MAX_LOGINS = 20
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
USAGE = (
    "`/grader complete [note]`",
    "`/grader incomplete <reason>`",
    "`/grader extend <N>h` or `/grader extend <N>d`",
    "`/grader regrade`",
    "`/grader project presented [@login ...]`",
)

_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_DURATION = re.compile(r"^(\d{1,6})\s*([hd])$", re.IGNORECASE)
_FENCE = re.compile(r"^(`{3,}|~{3,})")


@dataclass(frozen=True)
class CompleteCmd:
    note: str = ""


@dataclass(frozen=True)
class IncompleteCmd:
    reason: str


@dataclass(frozen=True)
class ExtendCmd:
    delta: timedelta


@dataclass(frozen=True)
class RegradeCmd:
    pass


@dataclass(frozen=True)
class ProjectCmd:
    """Logins as written, without `@`, de-duplicated case-insensitively."""

    logins: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommandError:
    """What to tell the TA; `str()` gives the message."""

    message: str

    def __str__(self) -> str:
        return self.message


Command = CompleteCmd | IncompleteCmd | ExtendCmd | RegradeCmd | ProjectCmd


def parse(body: str) -> list[Command | CommandError]:
    """Every command of a comment, in order; empty when it has none."""
    lines = command_lines(body)
    if len(lines) > MAX_COMMANDS:
        return [
            CommandError(
                f"This comment has {len(lines)} `/grader` lines; "
                f"post at most {MAX_COMMANDS} commands per comment."
            )
        ]
    return [parse_line(line) for line in lines]


def partition(
    results: Sequence[Command | CommandError],
) -> tuple[list[Command], list[CommandError]]:
    """(commands, errors) of a parsed comment; apply the commands only if no errors."""
    errors = [r for r in results if isinstance(r, CommandError)]
    return [r for r in results if not isinstance(r, CommandError)], errors


def command_lines(body: str) -> list[str]:
    """The `/grader` lines of a comment, outside code fences and quotes."""
    found: list[str] = []
    fence: str | None = None
    for raw in body.splitlines():
        line = raw.strip()
        if fence is not None:
            fence = None if _closes(line, fence) else fence
        elif _opens(line):
            fence = line[: len(line) - len(line.lstrip(line[0]))]
        elif _is_command(line):
            found.append(line)
    return found


def _opens(line: str) -> bool:
    match = _FENCE.match(line)
    # A backtick fence's info string cannot hold a backtick: ```x``` is inline code.
    return match is not None and not (line[0] == "`" and "`" in line[match.end() :])


def _closes(line: str, fence: str) -> bool:
    marker = line.rstrip()
    return len(marker) >= len(fence) and set(marker) == {fence[0]}


def _is_command(line: str) -> bool:
    first = line.split(maxsplit=1)[0] if line else ""
    return first.lower() == PREFIX


def parse_line(line: str) -> Command | CommandError:
    """One `/grader ...` line (the prefix included) as a command or an error."""
    words = line.strip().split(maxsplit=2)
    if len(words) < 2:
        return CommandError("`/grader` needs a command. " + _valid_commands())
    name = words[1].lower()
    args = words[2].strip() if len(words) > 2 else ""
    handler = _HANDLERS.get(name)
    if handler is None:
        shown = words[1][:40]
        return CommandError(f"Unknown command `/grader {shown}`. " + _valid_commands())
    return handler(args)


def _valid_commands() -> str:
    return "Valid commands: " + ", ".join(USAGE) + "."


def _complete(args: str) -> Command | CommandError:
    if len(args) > MAX_TEXT:
        return CommandError(f"The note is {len(args)} characters; keep it under {MAX_TEXT}.")
    return CompleteCmd(note=args)


def _incomplete(args: str) -> Command | CommandError:
    if not args:
        return CommandError(
            "`/grader incomplete` needs a reason for the student, "
            "e.g. `/grader incomplete exercise 2 is not answered`."
        )
    if len(args) > MAX_TEXT:
        return CommandError(f"The reason is {len(args)} characters; keep it under {MAX_TEXT}.")
    return IncompleteCmd(reason=args)


def _extend(args: str) -> Command | CommandError:
    match = _DURATION.match(args)
    if match is None:
        return CommandError(
            "`/grader extend` needs a duration in hours or days, "
            "e.g. `/grader extend 48h` or `/grader extend 3d` (`0h` removes the extension)."
        )
    amount, unit = int(match.group(1)), match.group(2).lower()
    delta = timedelta(hours=amount) if unit == "h" else timedelta(days=amount)
    if delta > MAX_EXTENSION:
        return CommandError(f"An extension can be at most {MAX_EXTENSION.days} days.")
    return ExtendCmd(delta=delta)


def _regrade(args: str) -> Command | CommandError:
    if args:
        return CommandError("`/grader regrade` takes no arguments; post just `/grader regrade`.")
    return RegradeCmd()


def _project(args: str) -> Command | CommandError:
    words = args.split()
    if not words or words[0].lower() != "presented":
        return CommandError(
            "Did you mean `/grader project presented`? "
            "Add `@login` names for the group, or none for the pull request's author."
        )
    return _project_logins(words[1:])


def _project_logins(words: Sequence[str]) -> Command | CommandError:
    bad = [w for w in words if not _LOGIN.match(w.removeprefix("@"))]
    if bad:
        return CommandError(
            f"`{bad[0][:40]}` is not a GitHub login; name the group as `@alice @bob`."
        )
    logins: dict[str, str] = {}
    for word in words:
        login = word.removeprefix("@")
        logins.setdefault(login.lower(), login)
    if len(logins) > MAX_LOGINS:
        return CommandError(f"Name at most {MAX_LOGINS} people per command.")
    return ProjectCmd(logins=tuple(logins.values()))


_HANDLERS = {
    "complete": _complete,
    "incomplete": _incomplete,
    "extend": _extend,
    "regrade": _regrade,
    "project": _project,
}


def is_authorised(login: str, *, tas: Sequence[str], permission: str | None) -> bool:
    """A TA of the course, or a repository admin, maintainer or writer.

    Never decided by `author_association`, which says nothing about write
    access. Logins are ASCII on GitHub; anything else is refused rather than
    case-folded (the Kelvin sign lower-cases to `k`).
    """
    if permission is not None and permission.lower() in WRITE_PERMISSIONS:
        return True
    if not login or not login.isascii():
        return False
    return login.lower() in {ta.lower() for ta in tas if ta.isascii()}
