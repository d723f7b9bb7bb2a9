"""Local commands on notebooks and the course: check, validate, template."""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.adapters.course import load_course
from grader.adapters.notebooks import write_notebook
from grader.cli import console
from grader.cli.common import INCOMPLETE, OK, UsageError, add_course, print_json
from grader.core.codec import encode_evaluation
from grader.core.model import Assignment, CourseConfig, Evaluation
from grader.core.template import REPOSITORY_PLACEHOLDER, template_notebook

# GitHub's owner and repository names: letters, digits, '-', '_', '.'.
REPOSITORY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="execute and check notebooks locally, as CI does")
    p.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    p.add_argument("--assignment", help="assignment id (default: each file's stem)")
    p.add_argument("--jobs", type=int, default=1, help="notebooks to run at once (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    add_course(p)
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("validate", help="check the course config and exercises")
    add_course(p)
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("template", help="write a starter notebook for an assignment")
    p.add_argument("assignment")
    p.add_argument("-o", "--output", type=Path, help="where to write (default: ASSIGNMENT.ipynb)")
    p.add_argument(
        "--repository",
        default=REPOSITORY_PLACEHOLDER,
        metavar="OWNER/NAME",
        help="the course repository on GitHub, for the Colab check cell (default: a placeholder)",
    )
    add_course(p)
    p.set_defaults(handler=cmd_template)


def resolve_assignment(course: CourseConfig, assignment_id: str, notebook: Path) -> Assignment:
    try:
        return course.assignments[assignment_id]
    except KeyError:
        known = ", ".join(course.assignments) or "none"
        raise UsageError(
            f"{notebook}: unknown assignment {assignment_id!r} (from "
            f"{'--assignment' if notebook.stem != assignment_id else 'the file name'}); "
            f"known assignments: {known}. Name the file <assignment>.ipynb or pass --assignment."
        ) from None


def result_json(notebook: Path, evaluation: Evaluation) -> dict[str, Any]:
    return {"notebook": str(notebook), **encode_evaluation(evaluation)}


def readable_notebook(path: Path) -> Path:
    """`path`, when it names a file this process can open; else a usage error (exit 2).

    A path that is not there is a mistake in the command, not an incomplete
    notebook: grading it would report "could not be read" and exit 1, which
    reads like a verdict on work that was never checked.
    """
    if not path.exists():
        raise UsageError(f"{path}: no such file; check the path (is the notebook saved there?)")
    if not path.is_file():
        raise UsageError(f"{path}: not a file; name the notebook itself, e.g. {path}/<id>.ipynb")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot be opened ({exc.strerror}); check its permissions"
        ) from None
    return path


def cmd_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    for notebook in args.notebooks:
        readable_notebook(notebook)
    course = load_course(args.course)
    items = [
        (nb, resolve_assignment(course, args.assignment or nb.stem, nb)) for nb in args.notebooks
    ]
    # Start the kernel zygote first: it imports ipykernel in its own process
    # while this one imports nbclient and friends (grading, imported late).
    from grader.adapters import kernelpool

    kernelpool.prewarm(env, course.execution.pass_env)
    try:
        from grader.adapters.grading import grade_many

        with console.progress(len(items), "Checking notebooks") as advance:
            evaluations = grade_many(
                course, items, base_env=env, jobs=args.jobs, on_done=lambda i, e: advance()
            )
    finally:
        kernelpool.close_all()
    if args.json:
        results = [result_json(nb, ev) for (nb, _), ev in zip(items, evaluations, strict=True)]
        print_json({"results": results})
    else:
        console.print_check_table([nb for nb, _ in items], evaluations)
    return OK if all(e.complete for e in evaluations) else INCOMPLETE


def cmd_validate(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    course = load_course(args.course)
    total = sum(len(a.exercises) for a in course.assignments.values())
    print(f"{course.name}: {len(course.assignments)} assignments, {total} exercises; config OK")  # noqa: T201
    return OK


def cmd_template(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    course = load_course(args.course)
    resolve_assignment(course, args.assignment, Path(f"{args.assignment}.ipynb"))
    repository: str = args.repository
    if repository != REPOSITORY_PLACEHOLDER and not REPOSITORY_RE.match(repository):
        raise UsageError(f"--repository {repository!r}: expected OWNER/NAME, e.g. d2l/study-group")
    out: Path = args.output or Path(f"{args.assignment}.ipynb")
    write_notebook(template_notebook(course, args.assignment, repository), out)
    print(f"wrote {out}")  # noqa: T201
    return OK
