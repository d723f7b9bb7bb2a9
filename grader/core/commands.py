"""`/grader` commands in issue and PR comments (CONTRACT section 5).

A command is a line that starts with `/grader` (leading whitespace allowed,
any letter case). Lines inside fenced code blocks (``` or ~~~) and quoted
lines (`>`) are not commands, so quoting or showing a command never re-runs it.

Several commands in one comment are all returned, in order; the caller applies
them in that order and only when none of them is an error, so a typo never
half-applies a comment. Later commands win where they conflict (the latest
override or extension replaces the earlier one).

On a PR with notebooks of several assignments, `complete`, `incomplete`,
`extend`, `regrade`, `undo` and `history` take the assignment first
(`/grader complete section-03 note`). The parser is told the course's
assignment ids so that a first word is an assignment only when the course has
one by that name; a note that happens to start with another word stays a note.

Error messages are markdown written here, ready to post: anything the
commenter typed is shown through `code`, a code span that nothing they type
can close, so replies need no further escaping (escaping them again is what
used to show literal backslashed backticks).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

from grader.core.markdown import sanitize

__all__ = [
    "STUDENT_USAGE",
    "USAGE",
    "Command",
    "CommandError",
    "CompleteCmd",
    "DisqualifyCmd",
    "EnrollCmd",
    "ExtendCmd",
    "HistoryCmd",
    "IncompleteCmd",
    "ProjectCmd",
    "RegradeCmd",
    "UndoCmd",
    "code",
    "command_lines",
    "is_authorised",
    "is_student_command",
    "parse",
    "parse_line",
    "partition",
]

PREFIX = "/grader"
MAX_COMMANDS = 10
MAX_TEXT = 1000  # characters of a note or reason
MAX_EXTENSION = timedelta(days=365)
MAX_LOGINS = 20
MAX_SHOWN = 40  # characters of the commenter's text quoted back in an error
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
USAGE = (
    "`/grader complete [assignment] [note]`",
    "`/grader incomplete [assignment] <reason>`",
    "`/grader extend [assignment] <N>h` or `<N>d`",
    "`/grader regrade [assignment]`",
    "`/grader project presented [@login ...]`",
    "`/grader disqualify [@login ...]`",
    "`/grader undo [assignment | @login]`",
    "`/grader history [assignment | @login]`",
)
STUDENT_USAGE = ("`/grader enroll` (on the tracking issue)",)

_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_DURATION = re.compile(r"^(\d{1,6})\s*([hd])$", re.IGNORECASE)
_FENCE = re.compile(r"^(`{3,}|~{3,})")
_ASSIGNMENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,48}$")


@dataclass(frozen=True)
class CompleteCmd:
    note: str = ""
    assignment: str | None = None


@dataclass(frozen=True)
class IncompleteCmd:
    reason: str
    assignment: str | None = None


@dataclass(frozen=True)
class ExtendCmd:
    delta: timedelta
    assignment: str | None = None


@dataclass(frozen=True)
class RegradeCmd:
    assignment: str | None = None


@dataclass(frozen=True)
class ProjectCmd:
    """Logins as written, without `@`, de-duplicated case-insensitively."""

    logins: tuple[str, ...] = ()


@dataclass(frozen=True)
class DisqualifyCmd:
    """Who is made ineligible; none on a PR means its author.

    A reason written after the logins is dropped here, never carried further:
    the ledger and every reply are public. `had_reason` lets the reply say so.
    """

    logins: tuple[str, ...] = ()
    had_reason: bool = False


@dataclass(frozen=True)
class UndoCmd:
    """Take back the same TA's latest command on a record (or a student's standing)."""

    assignment: str | None = None
    login: str | None = None


@dataclass(frozen=True)
class HistoryCmd:
    """Reply with a record's events (on the tracking issue: a student's, by `@login`)."""

    assignment: str | None = None
    login: str | None = None


@dataclass(frozen=True)
class EnrollCmd:
    """A student's own command: enroll the comment's author."""


@dataclass(frozen=True)
class CommandError:
    """What to tell the commenter, as markdown ready to post; `str()` gives it."""

    message: str

    def __str__(self) -> str:
        return self.message


Command = (
    CompleteCmd
    | IncompleteCmd
    | ExtendCmd
    | RegradeCmd
    | ProjectCmd
    | DisqualifyCmd
    | UndoCmd
    | HistoryCmd
    | EnrollCmd
)


def code(text: str, limit: int = MAX_SHOWN) -> str:
    """`text` as an inline code span that renders literally and cannot be closed early.

    Backticks are replaced by a look-alike (U+02CB), whitespace collapses, and
    control characters go, so a commenter's text can neither end the span nor
    start a new line (a heading, a hidden HTML comment) in the bot's reply.
    """
    flat = " ".join(sanitize(text[: 4 * limit]).split()).replace("`", "\u02cb")
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return f"`{flat}`" if flat else "`(empty)`"


def parse(body: str, assignments: Collection[str] = ()) -> list[Command | CommandError]:
    """Every command of a comment, in order; empty when it has none.

    `assignments`: the course's assignment ids, which a command may name first.
    """
    lines = command_lines(body)
    if len(lines) > MAX_COMMANDS:
        return [
            CommandError(
                f"This comment has {len(lines)} `/grader` lines; "
                f"post at most {MAX_COMMANDS} commands per comment."
            )
        ]
    return [parse_line(line, assignments) for line in lines]


def partition(
    results: Sequence[Command | CommandError],
) -> tuple[list[Command], list[CommandError]]:
    """(commands, errors) of a parsed comment; apply the commands only if no errors."""
    errors = [r for r in results if isinstance(r, CommandError)]
    return [r for r in results if not isinstance(r, CommandError)], errors


def is_student_command(command: Command) -> bool:
    """Commands anyone may run for themselves (no TA rights needed)."""
    return isinstance(command, EnrollCmd)


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


def parse_line(line: str, assignments: Collection[str] = ()) -> Command | CommandError:
    """One `/grader ...` line (the prefix included) as a command or an error."""
    words = line.strip().split(maxsplit=2)
    if len(words) < 2:
        return CommandError("`/grader` needs a command. " + _valid_commands())
    name = words[1].lower()
    args = words[2].strip() if len(words) > 2 else ""
    handler = _HANDLERS.get(name)
    if handler is None:
        shown = code(f"/grader {words[1]}")
        return CommandError(f"Unknown command {shown}. " + _valid_commands())
    return handler(args, frozenset(a.lower() for a in assignments))


def _valid_commands() -> str:
    return "Valid commands: " + ", ".join([*USAGE, *STUDENT_USAGE]) + "."


def _split_assignment(args: str, known: frozenset[str]) -> tuple[str | None, str]:
    """(assignment, rest) when the first word is one of the course's assignment ids."""
    first, _, rest = args.partition(" ")
    if first.lower() in known:
        return first.lower(), rest.strip()
    return None, args


def _unknown_assignment(word: str, known: frozenset[str]) -> CommandError:
    listed = ", ".join(f"`{a}`" for a in sorted(known)[:30]) or "none"
    return CommandError(f"{code(word)} is not an assignment of this course; name one of: {listed}.")


def _text_limit(text: str, what: str) -> CommandError | None:
    if len(text) > MAX_TEXT:
        return CommandError(f"The {what} is {len(text)} characters; keep it under {MAX_TEXT}.")
    return None


def _complete(args: str, known: frozenset[str]) -> Command | CommandError:
    assignment, note = _split_assignment(args, known)
    return _text_limit(note, "note") or CompleteCmd(note=note, assignment=assignment)


def _incomplete(args: str, known: frozenset[str]) -> Command | CommandError:
    assignment, reason = _split_assignment(args, known)
    if not reason:
        return CommandError(
            "`/grader incomplete` needs a reason for the student, "
            "e.g. `/grader incomplete exercise 2 is not answered`."
        )
    return _text_limit(reason, "reason") or IncompleteCmd(reason=reason, assignment=assignment)


def _extend(args: str, known: frozenset[str]) -> Command | CommandError:
    assignment, rest = _split_assignment(args, known)
    match = _DURATION.match(rest)
    if match is None:
        first = rest.split(maxsplit=1)[0] if rest.split() else ""
        if assignment is None and known and _ASSIGNMENT_ID.match(first) and " " in rest:
            return _unknown_assignment(first, known)
        return CommandError(
            "`/grader extend` needs a duration in hours or days, "
            "e.g. `/grader extend 48h` or `/grader extend 3d` (`0h` removes the extension)."
        )
    amount, unit = int(match.group(1)), match.group(2).lower()
    delta = timedelta(hours=amount) if unit == "h" else timedelta(days=amount)
    if delta > MAX_EXTENSION:
        return CommandError(f"An extension can be at most {MAX_EXTENSION.days} days.")
    return ExtendCmd(delta=delta, assignment=assignment)


def _regrade(args: str, known: frozenset[str]) -> Command | CommandError:
    assignment, rest = _split_assignment(args, known)
    if not rest:
        return RegradeCmd(assignment=assignment)
    if assignment is None and known and len(rest.split()) == 1:
        return _unknown_assignment(rest, known)
    return CommandError(
        "`/grader regrade` takes at most an assignment; post `/grader regrade` "
        "or `/grader regrade <assignment>`."
    )


def _target(
    args: str, known: frozenset[str], name: str
) -> tuple[str | None, str | None] | CommandError:
    """The optional `assignment` or `@login` of `undo` and `history`."""
    words = args.split()
    if not words:
        return None, None
    if len(words) == 1 and words[0].lower() in known:
        return words[0].lower(), None
    if len(words) == 1 and words[0].startswith("@") and _LOGIN.match(words[0][1:]):
        return None, words[0][1:]
    return CommandError(
        f"`/grader {name}` takes nothing, an assignment or one `@login`; "
        f"{code(args)} is neither. E.g. `/grader {name}` on the pull request, "
        f"or `/grader {name} @alice` on the tracking issue."
    )


def _undo(args: str, known: frozenset[str]) -> Command | CommandError:
    target = _target(args, known, "undo")
    return target if isinstance(target, CommandError) else UndoCmd(*target)


def _history(args: str, known: frozenset[str]) -> Command | CommandError:
    target = _target(args, known, "history")
    return target if isinstance(target, CommandError) else HistoryCmd(*target)


def _enroll(args: str, known: frozenset[str]) -> Command | CommandError:
    if args:
        return CommandError(
            "`/grader enroll` enrolls the person who posts it and takes no arguments; "
            "post just `/grader enroll` on the tracking issue."
        )
    return EnrollCmd()


def _project(args: str, known: frozenset[str]) -> Command | CommandError:
    words = args.split()
    if not words or words[0].lower() != "presented":
        return CommandError(
            "Did you mean `/grader project presented`? "
            "Add `@login` names for the group, or none for the pull request's author."
        )
    logins = _logins(words[1:], "`/grader project presented @alice @bob`")
    return logins if isinstance(logins, CommandError) else ProjectCmd(logins=logins)


def _disqualify(args: str, known: frozenset[str]) -> Command | CommandError:
    """The leading `@login` words name people; the rest is a reason, dropped on purpose
    (an `@name` inside the reason names nobody)."""
    words = args.split()
    named: list[str] = []
    for word in words:
        if not word.startswith("@"):
            break
        named.append(word)
    logins = _logins(named, "`/grader disqualify @alice`")
    if isinstance(logins, CommandError):
        return logins
    return DisqualifyCmd(logins=logins, had_reason=len(named) < len(words))


def _logins(words: Sequence[str], example: str) -> tuple[str, ...] | CommandError:
    bad = [w for w in words if not _LOGIN.match(w.removeprefix("@"))]
    if bad:
        return CommandError(f"{code(bad[0])} is not a GitHub login; write them as {example}.")
    logins: dict[str, str] = {}
    for word in words:
        login = word.removeprefix("@")
        logins.setdefault(login.lower(), login)
    if len(logins) > MAX_LOGINS:
        return CommandError(f"Name at most {MAX_LOGINS} people per command.")
    return tuple(logins.values())


_HANDLERS = {
    "complete": _complete,
    "incomplete": _incomplete,
    "extend": _extend,
    "regrade": _regrade,
    "project": _project,
    "disqualify": _disqualify,
    "undo": _undo,
    "history": _history,
    "enroll": _enroll,
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
