"""Which files a submission PR may change (ARCHITECTURE 2; THREATS 1, 2, 4, 5, 6).

A pull request may change only files under `submissions/<author>/`, where the
folder name equals the author's login compared case-insensitively (ASCII only,
so no Unicode lookalike passes). Notebooks sit directly in that folder and are
named `<assignment-id>.ipynb`. Other files in the folder must match one of the
course's `submission_files` patterns (default: notebooks only): a pickle or a
checkpoint beside a notebook can run code when loaded (THREATS 40). Removals
submit nothing and are allowed. Jupyter's `.ipynb_checkpoints/` notebooks are
ignored.

Anything else rejects the whole PR: no grade, and reasons in plain words.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from grader.core.model import ChangedFile, CourseConfig

__all__ = ["ScopeResult", "check_scope", "course_scope"]

SUBMISSIONS = "submissions"
NOTEBOOK_SUFFIX = ".ipynb"
CHECKPOINTS = ".ipynb_checkpoints"
MAX_REASONS = 30
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_MODES = {"120000": "a symbolic link", "160000": "a git submodule"}
_PROTECTED = (
    (".github/", "the course's workflows or repository settings"),
    ("grader/", "the grader's code"),
    ("exercises/", "the exercise definitions"),
)


@dataclass(frozen=True)
class ScopeResult:
    """Submitted notebooks as (assignment id, path), or why the PR is rejected.

    When there is any reason, `notebooks` is empty: a rejected PR is not graded.
    """

    notebooks: tuple[tuple[str, str], ...] = ()
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.reasons


def check_scope(
    author: str,
    files: Sequence[ChangedFile],
    assignment_ids: Collection[str],
    allowed: Sequence[str] = ("*.ipynb",),
) -> ScopeResult:
    """Check every changed file of a PR by `author` against the submission rules.

    `allowed`: glob patterns (relative to the student's folder) of the files the
    folder may hold.
    """
    if not _LOGIN.match(author):
        return ScopeResult(
            reasons=(f"{author!r} is not a GitHub user login; only students submit.",)
        )
    ids = frozenset(assignment_ids)
    reasons = [r for file in files for r in _file_reasons(author, file, ids, tuple(allowed))]
    notebooks = [nb for file in files if (nb := _notebook(author, file, ids)) is not None]
    reasons.extend(_duplicates(notebooks))
    if reasons:
        return ScopeResult(reasons=_capped(reasons))
    return ScopeResult(notebooks=tuple(notebooks))


def _file_reasons(
    author: str, file: ChangedFile, ids: frozenset[str], allowed: tuple[str, ...]
) -> Iterator[str]:
    path = file.path
    odd = _odd_path(path)
    if odd is not None:
        yield f"{path!r} has an unusual path ({odd}); rename it."
        return
    if file.previous_path is not None and _own_parts(author, file.previous_path) is None:
        yield (
            f"{path} was moved or copied from {file.previous_path!r}, outside your folder; "
            f"only files in {SUBMISSIONS}/{author}/ may change."
        )
    parts = _own_parts(author, path)
    if parts is None:
        yield _outside(author, path)
        return
    if file.status != "removed" and file.mode in _MODES:
        yield f"{path} is {_MODES[file.mode]}; commit the file itself instead."
    if file.status != "removed" and _is_notebook(parts):
        yield from _notebook_name_reasons(author, path, parts, ids)
    elif file.status != "removed" and not _allowed("/".join(parts), allowed):
        yield (
            f"{path}: only {_patterns(allowed)} may be in {SUBMISSIONS}/{author}/; remove this "
            "file from the pull request (a notebook must not need files beside it)."
        )


def _allowed(relative: str, allowed: tuple[str, ...]) -> bool:
    return any(fnmatchcase(relative, pattern) for pattern in allowed)


def _patterns(allowed: tuple[str, ...]) -> str:
    if allowed == ("*.ipynb",):
        return "notebooks (*.ipynb)"
    return "files matching " + ", ".join(f"`{p}`" for p in allowed)


def _odd_path(path: str) -> str | None:
    """Why a repository path is not a plain relative POSIX path, if it is not."""
    if not path:
        return "it is empty"
    if "\\" in path:
        return "it contains a backslash"
    if path.startswith("/"):
        return "it is absolute"
    if any(ord(char) < 32 or ord(char) == 127 for char in path):
        return "it contains control characters"
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        return "it has an empty, '.' or '..' part"
    return None


def _own_parts(author: str, path: str) -> list[str] | None:
    """The path's parts below `submissions/<author>/`, or None when outside it."""
    if _odd_path(path) is not None:
        return None
    segments = path.split("/")
    if len(segments) < 3 or segments[0] != SUBMISSIONS:
        return None
    folder = segments[1]
    if not folder.isascii() or folder.lower() != author.lower():
        return None
    return segments[2:]


def _outside(author: str, path: str) -> str:
    own = f"only files in {SUBMISSIONS}/{author}/ may change"
    lowered = path.lower()
    if lowered == "course.yml":
        return f"{path} changes the course configuration; {own}."
    for prefix, what in _PROTECTED:
        if lowered.startswith(prefix):
            return f"{path} changes {what}; {own}."
    segments = path.split("/")
    if len(segments) >= 3 and segments[0] == SUBMISSIONS:
        return f"{path} is in another student's folder ({SUBMISSIONS}/{segments[1]}/); {own}."
    if lowered.endswith(NOTEBOOK_SUFFIX):
        name = segments[-1]
        return (
            f"{path} is not in your folder: move it to {SUBMISSIONS}/{author}/{name} "
            f"(only files in {SUBMISSIONS}/{author}/ are graded)."
        )
    return f"{path} is outside your folder; {own}."


def _is_notebook(parts: Sequence[str]) -> bool:
    return parts[-1].lower().endswith(NOTEBOOK_SUFFIX) and CHECKPOINTS not in parts[:-1]


def _notebook_name_reasons(
    author: str, path: str, parts: Sequence[str], ids: frozenset[str]
) -> Iterator[str]:
    if len(parts) > 1:
        yield (
            f"{path}: notebooks go directly in {SUBMISSIONS}/{author}/, "
            "named <assignment-id>.ipynb; move it there."
        )
        return
    name = parts[0]
    stem = name[: -len(NOTEBOOK_SUFFIX)]
    if stem in ids and name.endswith(NOTEBOOK_SUFFIX):
        return
    if stem.lower() in ids:
        yield f"{path}: rename it to {stem.lower()}{NOTEBOOK_SUFFIX} (names are lower case)."
        return
    yield f"{path}: {stem!r} is not an assignment of this course; {_known(ids)}"


def _known(ids: frozenset[str]) -> str:
    if not ids:
        return "this course has no assignments yet."
    shown = sorted(ids)[:20]
    more = ", ..." if len(ids) > len(shown) else ""
    return "name the notebook after one of: " + ", ".join(shown) + more + "."


def _notebook(author: str, file: ChangedFile, ids: frozenset[str]) -> tuple[str, str] | None:
    """(assignment id, path) when this change submits a notebook."""
    if file.status == "removed":
        return None
    parts = _own_parts(author, file.path)
    if parts is None or len(parts) != 1 or not parts[0].endswith(NOTEBOOK_SUFFIX):
        return None
    stem = parts[0][: -len(NOTEBOOK_SUFFIX)]
    return (stem, file.path) if stem in ids else None


def _duplicates(notebooks: Sequence[tuple[str, str]]) -> Iterator[str]:
    paths: dict[str, list[str]] = {}
    for assignment, path in notebooks:
        paths.setdefault(assignment, []).append(path)
    for assignment, found in paths.items():
        if len(found) > 1:
            yield f"{len(found)} notebooks for {assignment}: {', '.join(found)}; keep one."


def _capped(reasons: Sequence[str]) -> tuple[str, ...]:
    if len(reasons) <= MAX_REASONS:
        return tuple(reasons)
    rest = len(reasons) - MAX_REASONS
    return (*reasons[:MAX_REASONS], f"... and {rest} more problems like these.")


def course_scope(course: CourseConfig, author: str, files: Sequence[ChangedFile]) -> ScopeResult:
    """`check_scope` with the course's assignments and allowed submission files."""
    return check_scope(author, files, course.assignments, course.submission_files)
