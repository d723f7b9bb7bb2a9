"""TA commands: parsing, fences and quotes, errors, authorisation (THREATS 13)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from grader.core.commands import (
    Command,
    CommandError,
    CompleteCmd,
    DisqualifyCmd,
    EnrollCmd,
    ExtendCmd,
    HistoryCmd,
    IncompleteCmd,
    ProjectCmd,
    RegradeCmd,
    UndoCmd,
    code,
    is_authorised,
    is_student_command,
    parse,
    parse_line,
    partition,
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/grader complete", CompleteCmd("")),
        ("/grader complete reviewed by hand", CompleteCmd("reviewed by hand")),
        ("  /grader   complete   spaced  note ", CompleteCmd("spaced  note")),
        ("/Grader Complete ok", CompleteCmd("ok")),
        ("/grader incomplete exercise 2 is missing", IncompleteCmd("exercise 2 is missing")),
        ("/grader extend 48h", ExtendCmd(timedelta(hours=48))),
        ("/grader extend 3d", ExtendCmd(timedelta(days=3))),
        ("/grader extend 12 H", ExtendCmd(timedelta(hours=12))),
        ("/grader extend 0h", ExtendCmd(timedelta(0))),
        ("/grader extend 365d", ExtendCmd(timedelta(days=365))),
        ("/grader regrade", RegradeCmd()),
        ("/grader project presented", ProjectCmd(())),
        ("/grader project presented @alice @Bob", ProjectCmd(("alice", "Bob"))),
        ("/grader project presented @alice bob @ALICE", ProjectCmd(("alice", "bob"))),
        ("/grader project Presented @a-b-c", ProjectCmd(("a-b-c",))),
    ],
)
def test_parse_line(line: str, expected: Command) -> None:
    assert parse_line(line) == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/grader", "needs a command"),
        ("/grader approve", "Unknown command `/grader approve`"),
        ("/grader incomplete", "needs a reason"),
        ("/grader incomplete    ", "needs a reason"),
        ("/grader extend", "needs a duration"),
        ("/grader extend 2 weeks", "needs a duration"),
        ("/grader extend -5h", "needs a duration"),
        ("/grader extend 1.5d", "needs a duration"),
        ("/grader extend 48", "needs a duration"),
        ("/grader extend 366d", "at most 365 days"),
        ("/grader extend 999999h", "at most 365 days"),
        ("/grader regrade now please", "takes at most an assignment"),
        ("/grader project", "Did you mean `/grader project presented`"),
        ("/grader project done", "Did you mean"),
        ("/grader project presented @al!ce", "is not a GitHub login"),
        ("/grader project presented @-alice", "is not a GitHub login"),
        ("/grader project presented @\u0430lice", "is not a GitHub login"),  # Cyrillic a
        ("/grader complete " + "x" * 1001, "keep it under 1000"),
        ("/grader incomplete " + "x" * 1001, "keep it under 1000"),
    ],
)
def test_parse_line_errors(line: str, message: str) -> None:
    result = parse_line(line)
    assert isinstance(result, CommandError)
    assert message in str(result)


def test_unknown_command_lists_the_valid_ones() -> None:
    message = str(parse_line("/grader pass"))
    for name in ("complete", "incomplete", "extend", "regrade", "project presented"):
        assert f"/grader {name}" in message


def test_too_many_logins() -> None:
    line = "/grader project presented " + " ".join(f"@u{i}" for i in range(21))
    assert "at most 20" in str(parse_line(line))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", []),
        ("Looks good!", []),
        ("/grader regrade", [RegradeCmd()]),
        ("Thanks.\n\n   /grader complete nice work\nbye", [CompleteCmd("nice work")]),
        (
            "/grader complete\r\n/grader extend 1d\r\n",
            [CompleteCmd(), ExtendCmd(timedelta(days=1))],
        ),
        # not at the start of a line
        ("please run /grader complete", []),
        ("`/grader complete`", []),
        # a longer word is not the prefix
        ("/graders complete", []),
        ("/grader-complete", []),
        # quotes
        ("> /grader complete", []),
        ("  >  /grader complete", []),
        ("> quoted\n>\n/grader incomplete real one", [IncompleteCmd("real one")]),
        ("> > /grader complete", []),
        # fences
        ("```\n/grader complete\n```", []),
        ("```text\n/grader complete\n```\n/grader regrade", [RegradeCmd()]),
        ("~~~\n/grader complete\n~~~", []),
        ("````\n```\n/grader complete\n````", []),  # a shorter fence does not close
        ("~~~\n```\n/grader complete\n", []),  # unclosed fence runs to the end
        ("```\n/grader complete\n~~~\n", []),  # another fence char does not close
        ("```/grader complete```\n/grader regrade", [RegradeCmd()]),  # inline code, no fence
    ],
)
def test_parse_comment(body: str, expected: list[Command]) -> None:
    assert parse(body) == expected


def test_several_commands_keep_their_order_and_errors() -> None:
    body = "/grader complete good\n/grader bogus\n/grader project presented @alice"
    result = parse(body)
    assert result[0] == CompleteCmd("good")
    assert isinstance(result[1], CommandError)
    assert result[2] == ProjectCmd(("alice",))


def test_partition() -> None:
    commands, errors = partition(parse("/grader regrade\n/grader nope\n/grader complete"))
    assert commands == [RegradeCmd(), CompleteCmd()]
    assert [type(e) for e in errors] == [CommandError]
    assert partition(parse("/grader regrade")) == ([RegradeCmd()], [])


def test_too_many_commands_is_one_error() -> None:
    result = parse("\n".join(["/grader regrade"] * 11))
    assert len(result) == 1
    assert isinstance(result[0], CommandError)
    assert "at most 10" in str(result[0])


@pytest.mark.parametrize(
    ("login", "tas", "permission", "allowed"),
    [
        ("tina", ["tina"], "read", True),
        ("Tina", ["tina"], None, True),
        ("tina", ["TINA"], "none", True),
        ("owner", [], "admin", True),
        ("maint", [], "maintain", True),
        ("writer", [], "write", True),
        ("writer", [], "WRITE", True),
        ("alice", ["tina"], "read", False),
        ("alice", ["tina"], "triage", False),
        ("alice", ["tina"], "none", False),
        ("alice", [], None, False),
        ("", [""], None, False),
        ("\u212aate", ["kate"], "read", False),  # Kelvin sign lower-cases to k
        ("tin", ["tina"], "read", False),
    ],
)
def test_is_authorised(login: str, tas: list[str], permission: str | None, allowed: bool) -> None:
    assert is_authorised(login, tas=tas, permission=permission) is allowed


# --- assignment first, undo, history, disqualify, enroll ------------------------------------

IDS = ("section-01", "section-03")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/grader complete section-03 note", CompleteCmd("note", "section-03")),
        ("/grader complete Section-03", CompleteCmd("", "section-03")),
        ("/grader complete great work", CompleteCmd("great work")),  # not an assignment
        ("/grader incomplete section-01 exercise 2", IncompleteCmd("exercise 2", "section-01")),
        ("/grader extend section-03 2d", ExtendCmd(timedelta(days=2), "section-03")),
        ("/grader regrade section-01", RegradeCmd("section-01")),
        ("/grader undo", UndoCmd()),
        ("/grader undo section-03", UndoCmd("section-03")),
        ("/grader undo @Alice", UndoCmd(login="Alice")),
        ("/grader history", HistoryCmd()),
        ("/grader history @bob", HistoryCmd(login="bob")),
        ("/grader enroll", EnrollCmd()),
        ("/grader disqualify @alice", DisqualifyCmd(("alice",))),
        ("/grader disqualify", DisqualifyCmd()),
        (
            "/grader disqualify @alice @bob copied from @carol",
            DisqualifyCmd(("alice", "bob"), True),
        ),
    ],
)
def test_parse_line_with_assignments(line: str, expected: Command) -> None:
    assert parse_line(line, IDS) == expected


def test_a_disqualification_reason_is_not_carried() -> None:
    command = parse_line("/grader disqualify @alice plagiarised section-03", IDS)
    assert command == DisqualifyCmd(("alice",), had_reason=True)
    assert "plagiarised" not in repr(command)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/grader extend section-09 2d", "`section-09` is not an assignment of this course"),
        ("/grader regrade section-09", "`section-09` is not an assignment"),
        ("/grader undo everything now", "takes nothing, an assignment or one `@login`"),
        ("/grader history @not_a_login", "takes nothing"),
        ("/grader enroll me", "takes no arguments"),
        ("/grader disqualify @-bad", "is not a GitHub login"),
    ],
)
def test_parse_line_errors_with_assignments(line: str, message: str) -> None:
    result = parse_line(line, IDS)
    assert isinstance(result, CommandError)
    assert message in str(result)


@pytest.mark.parametrize(
    "typed", ["/grader `oops` x", "/grader a``b", "/grader x\u0007y", "/grader " + "`" * 50]
)
def test_typed_text_in_an_error_is_one_closed_code_span(typed: str) -> None:
    message = str(parse_line(typed))
    quoted = message.removeprefix("Unknown command ").split(". Valid", 1)[0]
    assert quoted.startswith("`")
    assert quoted.endswith("`")
    assert quoted.count("`") == 2
    assert "\\`" not in message
    assert "\u0007" not in message


def test_code_span_is_bounded() -> None:
    assert len(code("x" * 1000)) <= 42
    assert code("") == "`(empty)`"


def test_only_enroll_is_a_students_own_command() -> None:
    assert is_student_command(EnrollCmd())
    assert not any(
        is_student_command(c) for c in (CompleteCmd(), UndoCmd(), HistoryCmd(), DisqualifyCmd())
    )
