"""Load a course repository's `course.yml` and `exercises/*.yml` from disk.

The only place that reads course files; parsing and validation are pure and
live in `grader.core.config`. Every problem, from YAML syntax to a bad key, is
collected into one `ConfigError`.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from grader.core.config import parse_course
from grader.core.configcheck import ConfigError, ConfigProblem
from grader.core.model import CourseConfig

__all__ = ["COURSE_FILE", "EXERCISES_DIR", "load_course"]

COURSE_FILE = "course.yml"
EXERCISES_DIR = "exercises"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Unreadable:
    """Marks a file whose YAML could not be loaded (its problem is already recorded)."""


_UNREADABLE = _Unreadable()


class StrictLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that rejects duplicate keys instead of keeping the last one.

    PyYAML silently lets a later `deadline:` win over an earlier one; in a
    config file that hides a mistake, so it is an error here.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *anchor` merges may repeat keys on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # SafeLoader reports unhashable keys itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f'duplicate key "{key}"; keep only one', key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_course(course_dir: Path) -> CourseConfig:
    """Read and validate the course rooted at `course_dir`.

    Raises `ConfigError` naming every file and key path (or line) that is wrong.
    """
    if not (course_dir / COURSE_FILE).is_file():
        raise ConfigError([_missing_course(course_dir)])
    problems: list[ConfigProblem] = []
    data = _load(course_dir, COURSE_FILE, problems)
    assignments: dict[str, object] = {}
    unreadable: list[str] = []
    for name in _exercise_files(course_dir, problems):
        loaded = _load(course_dir, f"{EXERCISES_DIR}/{name}", problems)
        if loaded is _UNREADABLE:
            unreadable.append(Path(name).stem)
        else:
            assignments[Path(name).stem] = loaded
    course = _parse(data, assignments, unreadable, problems)
    _check_requirements(course_dir, course.notebook_requirements, problems)
    if problems:
        raise ConfigError(problems)
    return course


def _missing_course(course_dir: Path) -> ConfigProblem:
    return ConfigProblem(
        COURSE_FILE,
        "",
        f"not found in {course_dir.resolve()}; run grader from the course repository's "
        "root or pass --course DIR",
    )


def _exercise_files(course_dir: Path, problems: list[ConfigProblem]) -> list[str]:
    """Names of the assignment files; a stray `.yaml` would be silently ignored, so report it."""
    folder = course_dir / EXERCISES_DIR
    if not folder.is_dir():
        return []
    for path in sorted(folder.glob("*.yaml")):
        problems.append(
            ConfigProblem(
                f"{EXERCISES_DIR}/{path.name}", "", f"rename it to {path.stem}.yml to be read"
            )
        )
    return sorted(path.name for path in folder.glob("*.yml") if path.is_file())


def _load(course_dir: Path, relative: str, problems: list[ConfigProblem]) -> object:
    """The YAML document at `relative`, or `_UNREADABLE` after recording why."""
    try:
        text = (course_dir / relative).read_text(encoding="utf-8")
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except UnicodeDecodeError as exc:
        problems.append(ConfigProblem(relative, "", f"is not UTF-8 text ({exc.reason})"))
    except OSError as exc:
        problems.append(ConfigProblem(relative, "", f"cannot be read: {exc.strerror}"))
    except yaml.YAMLError as exc:
        problems.append(ConfigProblem(relative, *_yaml_problem(exc)))
    return _UNREADABLE


def _yaml_problem(exc: yaml.YAMLError) -> tuple[str, str]:
    """(where, message) for a YAML error, with 1-based line and column."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, yaml.constructor.ConstructorError):
        return where, str(problem)
    context = getattr(exc, "context", None)
    detail = f"{context}: {problem}" if context else str(problem)
    return where, f"YAML syntax error ({detail}); fix the file at that line"


def _parse(
    data: object,
    assignments: dict[str, object],
    unreadable: list[str],
    problems: list[ConfigProblem],
) -> CourseConfig:
    """Parse what was readable; problems of YAML and of content are reported together."""
    if data is _UNREADABLE:
        data = {"name": "(unreadable)"}  # keep validating the exercise files
    try:
        return parse_course(
            data,
            assignments,
            course_file=COURSE_FILE,
            exercises_dir=EXERCISES_DIR,
            unreadable=unreadable,
        )
    except ConfigError as exc:
        problems.extend(exc.details)
    return CourseConfig(name="(invalid)")


def _check_requirements(
    course_dir: Path, requirements: str | None, problems: list[ConfigProblem]
) -> None:
    if requirements is not None and not (course_dir / requirements).is_file():
        problems.append(
            ConfigProblem(
                COURSE_FILE,
                "requirements",
                f"{requirements} does not exist; create it or remove the key",
            )
        )
