"""grader.core.config: CONTRACT section 1, one table row per kind of config error."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
import yaml

from grader.core.config import parse_course
from grader.core.configcheck import ConfigError
from grader.core.model import (
    Assignment,
    CertificateRule,
    CourseConfig,
    ExecutionLimits,
    Exercise,
    LabelNames,
)
from tests.factories import DEADLINE

COURSE = "course.yml"
S01 = "exercises/section-01.yml"


def assignment(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Introduction",
        "deadline": DEADLINE,
        "exercises": [{"id": "1"}],
    }
    data.update(changes)
    return data


VALID = object()


def parse(course: object = VALID, **files: object) -> CourseConfig:
    """Parse `course` (default a minimal valid one) with `files` as exercises/<id>.yml."""
    data = {"name": "Course"} if course is VALID else course
    assignments = {key.replace("_", "-"): value for key, value in files.items()}
    return parse_course(data, assignments or {"section-01": assignment()})


def problems(course: object = VALID, **files: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(course, **files)
    return caught.value.problems


def course(**changes: object) -> dict[str, object]:
    return {"name": "Course", **changes}


def exercises(*items: object) -> dict[str, object]:
    return assignment(exercises=list(items))


# Each row: what is wrong, and the start of the message: "file: key path: ...".
COURSE_ERRORS: list[tuple[str, object, str]] = [
    ("empty file", None, "course.yml: the file is empty; it needs at least `name:"),
    ("not a mapping", ["name"], "course.yml: the file must be a mapping of name, timezone"),
    ("name missing", {"timezone": "UTC"}, "course.yml: name: required key is missing"),
    ("name not a string", course(name=7), "course.yml: name: expected a non-empty string"),
    ("name blank", course(name="  "), "course.yml: name: expected a non-empty string"),
    ("unknown key", course(grace=2), 'course.yml: grace: unknown key; did you mean "grace_hours"?'),
    ("unknown time zone", course(timezone="Mars/Olympus"), "course.yml: timezone: unknown time"),
    ("time zone not text", course(timezone=2), "course.yml: timezone: expected a non-empty"),
    ("negative grace", course(grace_hours=-1), "course.yml: grace_hours: expected a number >= 0"),
    ("grace as text", course(grace_hours="48"), "course.yml: grace_hours: expected a number"),
    ("grace as bool", course(grace_hours=True), "course.yml: grace_hours: expected a number"),
    ("grace infinite", course(grace_hours=float("inf")), "course.yml: grace_hours: expected"),
    ("roster not a list", course(roster="alice"), "course.yml: roster: expected a list"),
    (
        "login with @",
        course(roster=["@alice"]),
        'course.yml: roster[0]: write the login without "@"',
    ),
    ("bad login", course(roster=["a b"]), 'course.yml: roster[0]: "a b" is not a GitHub login'),
    ("login too long", course(tas=["a" * 40]), "course.yml: tas[0]: "),
    (
        "numeric login",
        course(tas=[1234]),
        "course.yml: tas[0]: expected a GitHub login; got a number",
    ),
    (
        "extensions not a mapping",
        course(extensions=["alice"]),
        "course.yml: extensions: expected a mapping login -> {assignment: 48h}",
    ),
    (
        "extension per student not a mapping",
        course(extensions={"alice": "48h"}),
        "course.yml: extensions.alice: expected a mapping assignment -> 48h",
    ),
    (
        "extension of an unknown assignment",
        course(extensions={"alice": {"section-99": "48h"}}),
        'course.yml: extensions.alice.section-99: unknown assignment "section-99"',
    ),
    (
        "extension with an unknown unit",
        course(extensions={"alice": {"section-01": "2w"}}),
        "course.yml: extensions.alice.section-01: expected a duration like 48h or 2d",
    ),
    (
        "extension without a unit",
        course(extensions={"alice": {"section-01": 48}}),
        "course.yml: extensions.alice.section-01: expected a duration like 48h or 2d",
    ),
    (
        "extension for a bad login",
        course(extensions={"@bob": {"section-01": "1d"}}),
        'course.yml: extensions.@bob: write the login without "@"',
    ),
    (
        "certificate not a mapping",
        course(certificate=0.8),
        "course.yml: certificate: this key must be a mapping of min_complete_fraction",
    ),
    (
        "fraction above 1",
        course(certificate={"min_complete_fraction": 1.5}),
        "course.yml: certificate.min_complete_fraction: expected a number from 0 to 1",
    ),
    (
        "negative fraction",
        course(certificate={"min_complete_fraction": -0.1}),
        "course.yml: certificate.min_complete_fraction: expected a number from 0 to 1",
    ),
    (
        "fraction as bool",
        course(certificate={"min_complete_fraction": True}),
        "course.yml: certificate.min_complete_fraction: expected a number from 0 to 1",
    ),
    (
        "fraction as words",
        course(certificate={"min_complete_fraction": "most"}),
        "course.yml: certificate.min_complete_fraction: expected a number from 0 to 1",
    ),
    (
        "fraction dividing by zero",
        course(certificate={"min_complete_fraction": "1/0"}),
        "course.yml: certificate.min_complete_fraction: expected a number from 0 to 1",
    ),
    (
        "project flag as 1",
        course(certificate={"require_final_project": 1}),
        "course.yml: certificate.require_final_project: expected true or false",
    ),
    (
        "unknown certificate key",
        course(certificate={"fraction": 0.8}),
        "course.yml: certificate.fraction: unknown key",
    ),
    (
        "label of 51 characters (THREATS 26)",
        course(labels={"complete": "x" * 51}),
        "course.yml: labels.complete: ",
    ),
    ("empty label", course(labels={"late": ""}), "course.yml: labels.late: expected a non-empty"),
    (
        "labels not distinct",
        course(labels={"complete": "Done", "late": "done"}),
        'course.yml: labels.late: "done" is also the complete label',
    ),
    ("unknown label key", course(labels={"passed": "x"}), "course.yml: labels.passed: unknown key"),
    (
        "tracking issue as text",
        course(tracking_issue="Progress"),
        "course.yml: tracking_issue: this key must be a mapping of title",
    ),
    (
        "tracking issue title empty",
        course(tracking_issue={"title": ""}),
        "course.yml: tracking_issue.title: expected a non-empty string",
    ),
    (
        "tracking issue title too long",
        course(tracking_issue={"title": "t" * 257}),
        "course.yml: tracking_issue.title: GitHub allows at most 256 characters",
    ),
    (
        "zero cell timeout",
        course(execution={"cell_timeout_s": 0}),
        "course.yml: execution.cell_timeout_s: expected a number > 0",
    ),
    (
        "negative notebook timeout",
        course(execution={"notebook_timeout_s": -5}),
        "course.yml: execution.notebook_timeout_s: expected a number > 0",
    ),
    (
        "fractional memory",
        course(execution={"memory_mb": 1.5}),
        "course.yml: execution.memory_mb: expected a whole number > 0",
    ),
    (
        "zero output cap",
        course(execution={"max_output_kb": 0}),
        "course.yml: execution.max_output_kb: expected a whole number > 0",
    ),
    (
        "network as 0",
        course(execution={"network": 0}),
        "course.yml: execution.network: expected true or false",
    ),
    (
        "pass_env not a list",
        course(execution={"pass_env": "HOME"}),
        "course.yml: execution.pass_env: expected a list",
    ),
    (
        "pass_env bad name",
        course(execution={"pass_env": ["1BAD"]}),
        "course.yml: execution.pass_env[0]: expected an environment variable name",
    ),
    (
        "pass_env leaks the token",
        course(execution={"pass_env": ["GITHUB_TOKEN"]}),
        "course.yml: execution.pass_env[0]: GITHUB_TOKEN must never reach student code",
    ),
    (
        "unknown execution key",
        course(execution={"gpu": True}),
        "course.yml: execution.gpu: unknown key",
    ),
    (
        "absolute requirements path",
        course(requirements="/etc/requirements.txt"),
        "course.yml: requirements: ",
    ),
    (
        "requirements outside the course",
        course(requirements="../requirements.txt"),
        "course.yml: requirements: ",
    ),
    (
        "requirements with backslashes",
        course(requirements="exercises\\requirements.txt"),
        "course.yml: requirements: ",
    ),
    ("requirements is the root", course(requirements="./"), "course.yml: requirements: "),
    (
        "requirements not text",
        course(requirements=["torch"]),
        "course.yml: requirements: expected a non-empty string",
    ),
]


@pytest.mark.parametrize(
    ("data", "expected"), [row[1:] for row in COURSE_ERRORS], ids=[row[0] for row in COURSE_ERRORS]
)
def test_course_errors_name_file_and_key_path(data: object, expected: str) -> None:
    found = problems(data, section_01=assignment())
    assert any(p.startswith(expected) for p in found), found


NAIVE = datetime(2020, 8, 8, 23, 59)

ASSIGNMENT_ERRORS: list[tuple[str, object, str]] = [
    ("empty file", None, f"{S01}: the file is empty; it needs at least `deadline:`"),
    ("not a mapping", ["deadline"], f"{S01}: the file must be a mapping of title, deadline"),
    ("no deadline", {"exercises": []}, f"{S01}: deadline: required key is missing"),
    ("no exercises", {"deadline": DEADLINE}, f"{S01}: exercises: required key is missing"),
    (
        "unknown key",
        assignment(due=DEADLINE),
        f"{S01}: due: unknown key; allowed keys here: title, deadline",
    ),
    (
        "naive datetime",
        assignment(deadline=NAIVE),
        f"{S01}: deadline: 2020-08-08T23:59:00 has no UTC offset; "
        "add one, e.g. 2020-08-08T23:59:00-12:00",
    ),
    (
        "naive string",
        assignment(deadline="2020-08-08T23:59:00"),
        f"{S01}: deadline: 2020-08-08T23:59:00 has no UTC offset",
    ),
    (
        "date only",
        assignment(deadline=date(2020, 8, 8)),
        f"{S01}: deadline: 2020-08-08 is a date without a time; write a date, a time and a UTC "
        "offset, e.g. 2020-08-08T23:59:00-12:00",
    ),
    (
        "date-only string",
        assignment(deadline="2020-08-08"),
        f"{S01}: deadline: 2020-08-08 is a date without a time",
    ),
    (
        "unparsable string",
        assignment(deadline="next friday"),
        f'{S01}: deadline: "next friday" is not an ISO 8601 date-time',
    ),
    ("number", assignment(deadline=20200808), f"{S01}: deadline: expected a date-time"),
    (
        "counts as 0",
        assignment(counts_for_certificate=0),
        f"{S01}: counts_for_certificate: expected true or false",
    ),
    (
        "counts as text",
        assignment(counts_for_certificate="no"),
        f"{S01}: counts_for_certificate: expected true or false",
    ),
    ("empty title", assignment(title=""), f"{S01}: title: expected a non-empty string"),
    (
        "exercises not a list",
        assignment(exercises={"id": "1"}),
        f"{S01}: exercises: expected a list",
    ),
    ("exercise not a mapping", exercises("1"), f"{S01}: exercises[0]: this key must be a mapping"),
    ("exercise without id", exercises({"title": "t"}), f"{S01}: exercises[0].id: required key"),
    (
        "numeric id",
        exercises({"id": 1}),
        f'{S01}: exercises[0].id: expected a string; quote the number: id: "1"',
    ),
    (
        "id with a space",
        exercises({"id": "a b"}),
        f"{S01}: exercises[0].id: expected letters, digits",
    ),
    (
        "id with a slash",
        exercises({"id": "a/b"}),
        f"{S01}: exercises[0].id: expected letters, digits",
    ),
    (
        "duplicate id",
        exercises({"id": "1"}, {"id": "summary"}, {"id": "summary"}),
        f'{S01}: exercises[2].id: duplicate exercise id "summary" (already used by exercises[1])',
    ),
    (
        "ids differing only in case",
        exercises({"id": "Sum"}, {"id": "sum"}),
        f'{S01}: exercises[1].id: duplicate exercise id "sum"',
    ),
    (
        "unknown answer kind",
        exercises({"id": "1", "answer": "text"}),
        f"{S01}: exercises[0].answer: expected one of code, markdown, any",
    ),
    (
        "min_words on an any answer",
        exercises({"id": "1", "min_words": 100}),
        f"{S01}: exercises[0].min_words: min_words applies only to markdown answers",
    ),
    (
        "min_words on a code answer",
        exercises({"id": "1", "answer": "code", "min_words": 100}),
        f"{S01}: exercises[0].min_words: min_words applies only to markdown answers",
    ),
    (
        "min_words zero",
        exercises({"id": "1", "answer": "markdown", "min_words": 0}),
        f"{S01}: exercises[0].min_words: expected a whole number > 0",
    ),
    (
        "min_words as bool",
        exercises({"id": "1", "answer": "markdown", "min_words": True}),
        f"{S01}: exercises[0].min_words: expected a whole number > 0",
    ),
    (
        "test not text",
        exercises({"id": "1", "test": 5}),
        f"{S01}: exercises[0].test: expected a non-empty string",
    ),
    (
        "test not Python",
        exercises({"id": "1", "test": "assert f(1) == (2"}),
        f"{S01}: exercises[0].test: the test is not valid Python (line 1",
    ),
    (
        "unknown exercise key",
        exercises({"id": "1", "points": 2}),
        f"{S01}: exercises[0].points: unknown key",
    ),
]


@pytest.mark.parametrize(
    ("data", "expected"),
    [row[1:] for row in ASSIGNMENT_ERRORS],
    ids=[row[0] for row in ASSIGNMENT_ERRORS],
)
def test_assignment_errors_name_file_and_key_path(data: object, expected: str) -> None:
    found = problems(section_01=data)
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize("stem", ["Section-01", "section_01", "-x", "a" * 50, ""])
def test_assignment_id_comes_from_a_valid_file_stem(stem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_course({"name": "C"}, {stem: assignment()})
    assert caught.value.problems == [
        f'exercises/{stem}.yml: "{stem}" is not a valid assignment id: rename the file to '
        "lower-case letters, digits and '-', starting with a letter or digit, at most 49 characters"
    ]


@pytest.mark.parametrize("stem", ["section-01", "a", "0", "a" * 49, "final-project-2"])
def test_valid_assignment_ids(stem: str) -> None:
    assert list(parse_course({"name": "C"}, {stem: assignment()}).assignments) == [stem]


def test_every_problem_is_collected_at_once() -> None:
    error = None
    try:
        parse_course(
            {"name": "C", "grace_hours": -1, "labels": {"late": "x" * 51}},
            {"section-01": assignment(deadline=NAIVE), "section-02": None},
        )
    except ConfigError as exc:
        error = exc
    assert error is not None
    assert [(d.file, d.path) for d in error.details] == [
        ("course.yml", "grace_hours"),
        ("course.yml", "labels.late"),
        ("exercises/section-01.yml", "deadline"),
        ("exercises/section-02.yml", ""),
    ]
    assert (error.file, error.key_path) == ("course.yml", "grace_hours")
    assert str(error) == "\n".join(error.problems)


def test_file_and_folder_names_in_messages_are_configurable() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_course(
            {"name": "C"}, {"s1": None}, course_file="c/course.yml", exercises_dir="c/exercises"
        )
    assert caught.value.file == "c/exercises/s1.yml"


def test_defaults() -> None:
    parsed = parse_course(
        {"name": "Course"}, {"section-01": {"deadline": DEADLINE, "exercises": [{"id": "1"}]}}
    )
    assert parsed == CourseConfig(
        name="Course",
        timezone="UTC",
        grace_hours=48,
        roster=(),
        tas=(),
        extensions={},
        certificate=CertificateRule(Fraction(4, 5), require_final_project=True),
        labels=LabelNames("complete", "incomplete", "late"),
        tracking_issue_title="Progress tracker",
        execution=ExecutionLimits(120, 1200, 4096, 512, network=False, pass_env=()),
        assignments={
            "section-01": Assignment(
                "section-01",
                title="section-01",
                deadline=DEADLINE,
                counts_for_certificate=True,
                exercises=(Exercise("1", title="", answer="any", min_words=None, test=None),),
            )
        },
        notebook_requirements=None,
    )


def test_every_key_given() -> None:
    data = yaml.safe_load(
        """
        name: D2L
        timezone: Europe/Berlin
        grace_hours: 36.5
        roster: [Alice, bob, ALICE]
        tas: [Tina]
        extensions: {Alice: {section-01: 48h}, bob: {section-01: 2d}, alice: {section-02: 12h}}
        certificate: {min_complete_fraction: 0.75, require_final_project: false}
        labels: {complete: done, incomplete: todo, late: too-late}
        tracking_issue: {title: Who did what}
        execution:
          cell_timeout_s: 30
          notebook_timeout_s: 600.5
          memory_mb: 2048
          max_output_kb: 64
          network: true
          pass_env: [HF_HOME, LANGUAGE]
        requirements: ./exercises/requirements.txt
        """
    )
    parsed = parse_course(data, {"section-01": assignment(), "section-02": assignment()})
    assert parsed.name == "D2L"
    assert parsed.timezone == "Europe/Berlin"
    assert parsed.grace_hours == 36.5
    assert parsed.roster == ("alice", "bob")
    assert parsed.tas == ("tina",)
    assert parsed.extensions == {
        "alice": {"section-01": timedelta(hours=48), "section-02": timedelta(hours=12)},
        "bob": {"section-01": timedelta(days=2)},
    }
    assert parsed.certificate == CertificateRule(Fraction(3, 4), require_final_project=False)
    assert parsed.labels == LabelNames("done", "todo", "too-late")
    assert parsed.tracking_issue_title == "Who did what"
    assert parsed.execution == ExecutionLimits(30, 600.5, 2048, 64, True, ("HF_HOME", "LANGUAGE"))
    assert parsed.notebook_requirements == "exercises/requirements.txt"


def test_exercise_with_every_key() -> None:
    spec = {
        "id": "sum.1_b-2",
        "title": "Summary",
        "answer": "markdown",
        "min_words": 150,
        "test": "assert True\n",
    }
    parsed = parse(section_01=exercises(spec))
    assert parsed.assignments["section-01"].exercises == (
        Exercise("sum.1_b-2", "Summary", "markdown", 150, "assert True\n"),
    )


def test_no_exercises_means_nothing_to_hand_in() -> None:
    parsed = parse(section_02=assignment(exercises=[], counts_for_certificate=False))
    only = parsed.assignments["section-02"]
    assert (only.exercises, only.counts_for_certificate) == ((), False)


@pytest.mark.parametrize(
    ("written", "offset"),
    [
        ("deadline: 2020-08-08T23:59:00-12:00", timedelta(hours=-12)),
        ("deadline: 2020-08-08T23:59:00Z", timedelta(0)),
        ("deadline: 2020-08-08 23:59:00 +05:30", timedelta(hours=5, minutes=30)),
        ('deadline: "2020-08-08T23:59:00Z"', timedelta(0)),
        ('deadline: "2020-08-08T23:59:00+02:00"', timedelta(hours=2)),
        ('deadline: "2020-08-08T23:59:00-12:00"', timedelta(hours=-12)),
    ],
)
def test_deadline_offsets(written: str, offset: timedelta) -> None:
    loaded = yaml.safe_load(written + "\nexercises: []\n")
    deadline = parse(section_01=loaded).assignments["section-01"].deadline
    assert deadline.utcoffset() == offset
    assert deadline.replace(tzinfo=None) == datetime(2020, 8, 8, 23, 59)


def test_aoe_deadline_is_the_next_day_in_utc() -> None:
    deadline = parse().assignments["section-01"].deadline
    assert deadline.astimezone(UTC) == datetime(2020, 8, 9, 11, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "fraction"),
    [
        ("0.8", Fraction(4, 5)),
        ("0.1", Fraction(1, 10)),
        ("0.35", Fraction(7, 20)),
        ("0.7", Fraction(7, 10)),
        ("1", Fraction(1)),
        ("0", Fraction(0)),
        ("1.0", Fraction(1)),
        ('"2/3"', Fraction(2, 3)),
        ('"0.8"', Fraction(4, 5)),
    ],
)
def test_certificate_fraction_is_exact(written: str, fraction: Fraction) -> None:
    data = yaml.safe_load(f"name: C\ncertificate: {{min_complete_fraction: {written}}}")
    parsed = parse(data).certificate.min_complete_fraction
    assert isinstance(parsed, Fraction)
    assert parsed == fraction


def test_exactly_eighty_percent_qualifies() -> None:
    rule = parse(course(certificate={"min_complete_fraction": 0.8})).certificate
    assert Fraction(4, 5) < Fraction(0.8)  # through a float, 4 of 5 would fall short
    assert Fraction(4, 5) >= rule.min_complete_fraction


@pytest.mark.parametrize(("length", "ok"), [(1, True), (50, True), (51, False)])
def test_label_length_limit(length: int, ok: bool) -> None:
    data = course(labels={"incomplete": "i" * length})
    if ok:
        assert parse(data).labels.incomplete == "i" * length
    else:
        assert problems(data) == [
            f'course.yml: labels.incomplete: "{"i" * 20}..." is 51 characters long; '
            "GitHub allows at most 50: shorten it"
        ]


def test_extensions_may_name_an_assignment_whose_file_could_not_be_read() -> None:
    data = course(extensions={"alice": {"section-02": "1d"}})
    parsed = parse_course(data, {"section-01": assignment()}, unreadable=["section-02"])
    assert parsed.extensions == {"alice": {"section-02": timedelta(days=1)}}


def test_assignments_are_ordered_by_deadline_then_id() -> None:
    later = DEADLINE + timedelta(days=7)
    files: dict[str, Any] = {
        "section-05": assignment(deadline=later),
        "section-04": assignment(deadline=later),
        "section-10": assignment(deadline=DEADLINE),
        "intro": assignment(deadline=DEADLINE - timedelta(days=1)),
    }
    assert list(parse_course({"name": "C"}, files).assignments) == [
        "intro",
        "section-10",
        "section-04",
        "section-05",
    ]


def test_deadlines_compare_across_offsets() -> None:
    utc_noon = datetime(2020, 8, 9, 11, 0, tzinfo=UTC)  # before 2020-08-08T23:59-12:00
    files: dict[str, Any] = {"a": assignment(), "b": assignment(deadline=utc_noon)}
    assert list(parse_course({"name": "C"}, files).assignments) == ["b", "a"]
