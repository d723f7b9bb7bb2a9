"""The one place that builds a use case's Context: which forge, which ledger.

Adapters are imported inside the functions: `grader check` needs none of them,
and PyGithub is a noticeable part of a command's start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from grader.adapters.course import load_course
from grader.adapters.ledger import Ledger
from grader.app.context import Context
from grader.cli.common import UsageError
from grader.core.model import CourseConfig
from grader.ports import Forge

if TYPE_CHECKING:
    from grader.app.simulate import Simulation


def context_on(forge: Forge, course: CourseConfig) -> Context:
    return Context(forge=forge, course=course, ledger=Ledger(forge))


def github_context(course: CourseConfig, env: Mapping[str, str]) -> Context:
    """GitHub through the Actions environment (GITHUB_REPOSITORY, a token, GITHUB_API_URL)."""
    from grader.adapters.github import GitHubForge

    return context_on(GitHubForge.from_env(env), course)


def local_forge(forge_dir: Path) -> Forge:
    """An existing local forge folder (written by `grader demo` or `simulate --forge`)."""
    from grader.adapters.localforge import LocalForge

    if not (forge_dir / "forge.json").exists():
        raise UsageError(
            f"{forge_dir} is not a local forge folder; run `grader demo` or pass --forge"
        )
    return LocalForge(forge_dir)


def forge_context(
    course_dir: Path, env: Mapping[str, str], *, forge_dir: Path | None, github: bool
) -> Context:
    """A use-case context on GitHub (Actions environment) or on a local forge folder."""
    course = load_course(course_dir)
    if github:
        return github_context(course, env)
    if forge_dir is not None:
        return context_on(local_forge(forge_dir), course)
    raise UsageError("pass --forge DIR for a local forge, or set GITHUB_REPOSITORY and a token")


def simulation(
    course: CourseConfig,
    forge_dir: Path,
    base_dir: Path,
    env: Mapping[str, str],
    progress: Callable[[str], None],
) -> Simulation:
    """A simulation on a new local forge in `forge_dir`, grading in the real kernel."""
    from grader.adapters.grading import NotebookGrader
    from grader.adapters.localforge import LocalForge
    from grader.app.simulate import Simulation

    forge = LocalForge(forge_dir)

    def notebook(relative: str) -> bytes | None:
        path = base_dir / relative
        return path.read_bytes() if path.is_file() else None

    return Simulation(
        course=course,
        forge=forge,
        ledger=Ledger(forge),
        grade=NotebookGrader(course, env),
        notebooks=notebook,
        progress=progress,
    )
