"""Parse loaded course YAML into a `CourseConfig` (CONTRACT section 1).

Pure: the adapter (`grader.adapters.course`) reads the files and hands us what
`yaml.safe_load` returned. Every problem names its file and key path, and all
of them are collected before `ConfigError` is raised, so a maintainer fixes a
broken course in one round trip.

Beyond CONTRACT section 1, `course.yml` may name `requirements:`, a pip
requirements file (relative to the course root) with the packages the
notebooks need; it becomes `CourseConfig.notebook_requirements`.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from fractions import Fraction

from grader.core import configcheck as check
from grader.core.assignment_config import parse_assignment
from grader.core.configcheck import ConfigError, ConfigProblem, Report
from grader.core.model import CertificateRule, CourseConfig, ExecutionLimits, LabelNames

__all__ = ["parse_course"]

# GitHub logins: letters, digits and hyphens, at most 39 characters.
LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DURATION = re.compile(r"(\d+)\s*([hd])")
MAX_LABEL_CHARS = 50  # GitHub rejects longer label names
MAX_ISSUE_TITLE_CHARS = 256  # GitHub rejects longer issue titles
# The kernel must never see the grader's credentials, whatever the course says.
FORBIDDEN_ENV = ("GITHUB_TOKEN", "GRADER_TOKEN", "ACTIONS_")

COURSE_KEYS = (
    "name",
    "timezone",
    "grace_hours",
    "roster",
    "tas",
    "extensions",
    "certificate",
    "labels",
    "tracking_issue",
    "execution",
    "requirements",
    "submission_files",
    "enrollment_deadline",
)
CERTIFICATE_KEYS = ("min_complete_fraction", "require_final_project", "require_enrollment")
LABEL_KEYS = ("complete", "incomplete", "late")
TRACKING_KEYS = ("title",)
EXECUTION_KEYS = (
    "cell_timeout_s",
    "notebook_timeout_s",
    "memory_mb",
    "max_output_kb",
    "network",
    "pass_env",
)


def parse_course(
    data: object,
    assignments: Mapping[str, object],
    *,
    course_file: str = "course.yml",
    exercises_dir: str = "exercises",
    unreadable: Collection[str] = (),
) -> CourseConfig:
    """Validate loaded YAML and build the course.

    `assignments` maps an assignment id (the file stem) to the loaded YAML of
    `exercises/<id>.yml`. `unreadable` names assignments whose file could not
    be loaded (already reported by the caller): they still count as known ids.
    """
    sink: list[ConfigProblem] = []
    known = set(assignments) | set(unreadable)
    course = _course(Report(course_file, sink), data, known)
    parsed = [
        parse_assignment(Report(f"{exercises_dir}/{aid}.yml", sink), aid, assignments[aid])
        for aid in sorted(assignments)
    ]
    if sink:
        raise ConfigError(sink)
    ordered = sorted((a for a in parsed if a is not None), key=lambda a: (a.deadline, a.id))
    return replace(course, assignments={a.id: a for a in ordered})


def _course(r: Report, data: object, known: Collection[str]) -> CourseConfig:
    """The course without its assignments (defaults where a value is invalid)."""
    if data is None:
        r.error("", "the file is empty; it needs at least `name: <course name>`")
        data = {}
    table = check.table(r, "", data, COURSE_KEYS, required=("name",))

    def get(key: str, checker: check.Checker[check.T], default: check.T) -> check.T:
        return check.get(r, table, "", key, checker, default)

    return CourseConfig(
        name=get("name", check.text, ""),
        timezone=get("timezone", _timezone, "UTC"),
        grace_hours=get("grace_hours", check.non_negative, 48.0),
        roster=get("roster", _logins, ()),
        tas=get("tas", _logins, ()),
        extensions=get("extensions", _extensions_checker(known), {}),
        certificate=get("certificate", _certificate, CertificateRule()),
        labels=get("labels", _labels, LabelNames()),
        tracking_issue_title=get("tracking_issue", _tracking, "Progress tracker"),
        execution=get("execution", _execution, ExecutionLimits()),
        notebook_requirements=get("requirements", _requirements, None),
        submission_files=get("submission_files", _file_patterns, ("*.ipynb",)),
        enrollment_deadline=get("enrollment_deadline", _optional_moment, None),
    )


def _optional_moment(r: Report, path: str, value: object) -> datetime | None:
    """An aware date-time (YAML's or ISO 8601 text), or null for "never"."""
    if value is None:
        return None
    moment: object = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if isinstance(moment, datetime) and moment.utcoffset() is not None:
        return moment
    if isinstance(moment, datetime):
        r.error(path, f"{moment.isoformat()} has no UTC offset; write e.g. {moment.isoformat()}Z")
    else:
        r.error(
            path,
            f"expected a date-time with a UTC offset, e.g. 2020-08-08T23:59:00-12:00, or null; "
            f"got {check.describe(value)}",
        )
    return None


def _file_patterns(r: Report, path: str, value: object) -> tuple[str, ...] | None:
    """Glob patterns (`*.ipynb`, `data/*.csv`) of files a submission folder may hold."""
    found = check.items(r, path, value)
    if found is None:
        return None
    patterns = []
    for i, item in enumerate(found):
        pattern = check.text(r, f"{path}[{i}]", item)
        if pattern is not None and (pattern.startswith("/") or ".." in pattern.split("/")):
            where = f"{path}[{i}]"
            r.error(where, "a pattern is relative to submissions/<login>/; drop '/' and '..'")
        elif pattern is not None:
            patterns.append(pattern)
    if not patterns and not found:
        r.error(path, 'list at least one pattern, e.g. ["*.ipynb"]')
    return tuple(patterns)


def _timezone(r: Report, path: str, value: object) -> str | None:
    name = check.text(r, path, value)
    if name is None:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        r.error(path, f'unknown time zone "{name}"; use an IANA name such as UTC or Europe/Berlin')
        return None
    return name


def _login(r: Report, path: str, value: object) -> str | None:
    """A GitHub login, lower-cased: GitHub compares logins case-insensitively."""
    if isinstance(value, str) and LOGIN.fullmatch(value):
        return value.lower()
    if isinstance(value, str) and value.startswith("@"):
        r.error(path, f'write the login without "@": {value[1:]}')
    elif isinstance(value, str):
        r.error(path, f'"{value}" is not a GitHub login (letters, digits and "-", at most 39)')
    else:
        r.error(path, f'expected a GitHub login; got {check.describe(value)}; quote it: "{value}"')
    return None


def _logins(r: Report, path: str, value: object) -> tuple[str, ...] | None:
    items = check.items(r, path, value)
    if items is None:
        return None
    logins = (_login(r, f"{path}[{i}]", item) for i, item in enumerate(items))
    return tuple(dict.fromkeys(login for login in logins if login is not None))


def _duration(r: Report, path: str, value: object) -> timedelta | None:
    match = DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        r.error(
            path, f"expected a duration like 48h or 2d (units h or d); got {check.describe(value)}"
        )
        return None
    amount, unit = int(match[1]), match[2]
    return timedelta(hours=amount) if unit == "h" else timedelta(days=amount)


def _extensions_checker(
    known: Collection[str],
) -> Callable[[Report, str, object], dict[str, dict[str, timedelta]] | None]:
    def extensions(r: Report, path: str, value: object) -> dict[str, dict[str, timedelta]] | None:
        if not isinstance(value, dict):
            r.error(
                path,
                f"expected a mapping login -> {{assignment: 48h}}; got {check.describe(value)}",
            )
            return None
        result: dict[str, dict[str, timedelta]] = {}
        for login, per_assignment in value.items():
            where = check.join(path, str(login))
            student = _login(r, where, login)
            deltas = _student_extensions(r, where, per_assignment, known)
            if student is not None and deltas is not None:
                result.setdefault(student, {}).update(deltas)
        return result

    return extensions


def _student_extensions(
    r: Report, path: str, value: object, known: Collection[str]
) -> dict[str, timedelta] | None:
    if not isinstance(value, dict):
        r.error(path, f"expected a mapping assignment -> 48h; got {check.describe(value)}")
        return None
    result: dict[str, timedelta] = {}
    for aid, raw in value.items():
        where = check.join(path, str(aid))
        if aid not in known:
            r.error(where, f'unknown assignment "{aid}"; there is no exercises/{aid}.yml')
        delta = _duration(r, where, raw)
        if aid in known and delta is not None:
            result[str(aid)] = delta
    return result


def _fraction(r: Report, path: str, value: object) -> Fraction | None:
    """Exact: 0.8 is parsed from its decimal text, never through binary floating point."""
    fraction = None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            fraction = Fraction(str(value).strip())
        except (ValueError, ZeroDivisionError):
            fraction = None
    if fraction is None or not 0 <= fraction <= 1:
        r.error(
            path, f"expected a number from 0 to 1, e.g. 0.8 or 2/3; got {check.describe(value)}"
        )
        return None
    return fraction


def _certificate(r: Report, path: str, value: object) -> CertificateRule | None:
    table = check.table(r, path, value, CERTIFICATE_KEYS)
    default = CertificateRule()
    fraction = check.get(r, table, path, "min_complete_fraction", _fraction, None)
    project = check.get(r, table, path, "require_final_project", check.flag, None)
    enrollment = check.get(r, table, path, "require_enrollment", check.flag, None)
    return CertificateRule(
        min_complete_fraction=default.min_complete_fraction if fraction is None else fraction,
        require_final_project=default.require_final_project if project is None else project,
        require_enrollment=default.require_enrollment if enrollment is None else enrollment,
    )


def _label(r: Report, path: str, value: object) -> str | None:
    text = check.text(r, path, value)
    if text is not None and len(text) > MAX_LABEL_CHARS:
        r.error(
            path,
            f'"{text[:20]}..." is {len(text)} characters long; GitHub allows at most '
            f"{MAX_LABEL_CHARS}: shorten it",
        )
        return None
    return text


def _labels(r: Report, path: str, value: object) -> LabelNames | None:
    table = check.table(r, path, value, LABEL_KEYS)
    default = LabelNames()
    names = {
        key: check.get(r, table, path, key, _label, getattr(default, key)) for key in LABEL_KEYS
    }
    seen: dict[str, str] = {}
    for key, name in names.items():
        other = seen.setdefault(name.casefold(), key)
        if other != key:
            r.error(
                check.join(path, key),
                f'"{name}" is also the {other} label; the three labels must differ '
                "(GitHub compares label names case-insensitively)",
            )
    return LabelNames(**names)


def _tracking(r: Report, path: str, value: object) -> str | None:
    table = check.table(r, path, value, TRACKING_KEYS)
    title = check.get(r, table, path, "title", check.text, None)
    if title is not None and len(title) > MAX_ISSUE_TITLE_CHARS:
        r.error(
            check.join(path, "title"), f"GitHub allows at most {MAX_ISSUE_TITLE_CHARS} characters"
        )
        return None
    return title


def _env_name(r: Report, path: str, value: object) -> str | None:
    if not isinstance(value, str) or not ENV_NAME.fullmatch(value):
        r.error(path, f"expected an environment variable name; got {check.describe(value)}")
        return None
    if value.upper().startswith(FORBIDDEN_ENV):
        r.error(path, f"{value} must never reach student code; remove it from pass_env")
        return None
    return value


def _names(r: Report, path: str, value: object) -> tuple[str, ...] | None:
    items = check.items(r, path, value)
    if items is None:
        return None
    names = (_env_name(r, f"{path}[{i}]", item) for i, item in enumerate(items))
    return tuple(dict.fromkeys(name for name in names if name is not None))


def _execution(r: Report, path: str, value: object) -> ExecutionLimits | None:
    table = check.table(r, path, value, EXECUTION_KEYS)
    d = ExecutionLimits()
    return ExecutionLimits(
        cell_timeout_s=check.get(
            r, table, path, "cell_timeout_s", check.positive, d.cell_timeout_s
        ),
        notebook_timeout_s=check.get(
            r, table, path, "notebook_timeout_s", check.positive, d.notebook_timeout_s
        ),
        memory_mb=check.get(r, table, path, "memory_mb", check.count, d.memory_mb),
        max_output_kb=check.get(r, table, path, "max_output_kb", check.count, d.max_output_kb),
        network=check.get(r, table, path, "network", check.flag, d.network),
        pass_env=check.get(r, table, path, "pass_env", _names, d.pass_env),
    )


def _requirements(r: Report, path: str, value: object) -> str | None:
    """A pip requirements file inside the course repository (a relative POSIX path)."""
    text = check.text(r, path, value)
    if text is None:
        return None
    parts = [part for part in text.strip().split("/") if part not in ("", ".")]
    if text.startswith("/") or "\\" in text or ".." in parts or not parts:
        r.error(path, f'"{text}" must be a path inside the course, relative to its root')
        return None
    return "/".join(parts)
