"""course.yml: `enrollment_deadline` and `certificate.require_enrollment` (CONTRACT section 1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from grader.core.config import parse_course
from grader.core.configcheck import ConfigError

EXERCISES = {
    "section-01": {"title": "One", "deadline": "2020-08-08T23:59:00-12:00", "exercises": []}
}


def test_defaults() -> None:
    course = parse_course({"name": "c"}, EXERCISES)
    assert course.enrollment_deadline is None
    assert course.certificate.require_enrollment is False


@pytest.mark.parametrize(
    "value", [datetime(2020, 8, 1, tzinfo=UTC), "2020-08-01T00:00:00Z", "2020-08-01T02:00:00+02:00"]
)
def test_enrollment_deadline_is_an_aware_time(value: object) -> None:
    course = parse_course({"name": "c", "enrollment_deadline": value}, EXERCISES)
    assert course.enrollment_deadline == datetime(2020, 8, 1, tzinfo=UTC)


def test_require_enrollment() -> None:
    data = {"name": "c", "certificate": {"require_enrollment": True}}
    assert parse_course(data, EXERCISES).certificate.require_enrollment is True


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ({"enrollment_deadline": "2020-08-01T00:00:00"}, "enrollment_deadline", "no UTC offset"),
        ({"enrollment_deadline": datetime(2020, 8, 1)}, "enrollment_deadline", "no UTC offset"),
        ({"enrollment_deadline": "soon"}, "enrollment_deadline", "expected a date-time"),
        ({"enrollment_deadline": 3}, "enrollment_deadline", "expected a date-time"),
        (
            {"certificate": {"require_enrollment": "yes"}},
            "certificate.require_enrollment",
            "",
        ),
    ],
)
def test_errors_name_the_key_path(data: dict[str, object], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_course({"name": "c", **data}, EXERCISES)
    text = str(caught.value)
    assert "course.yml" in text
    assert key in text
    assert words in text
