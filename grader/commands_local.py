"""Local subcommands: check, validate, template, simulate, demo, export."""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from grader import cli, console
from grader.adapters.course import load_course
from grader.adapters.notebooks import write_notebook
from grader.core.codec import encode_evaluation
from grader.core.model import Assignment, CourseConfig, Evaluation
from grader.core.scenario import ScenarioError, parse_scenario
from grader.core.template import template_notebook

AddCourse = Callable[[argparse.ArgumentParser], None]


def register(sub: Any, add_course: AddCourse) -> None:
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
    add_course(p)
    p.set_defaults(handler=cmd_template)

    p = sub.add_parser("simulate", help="replay a scenario against the local forge")
    p.add_argument("scenario", type=Path)
    p.add_argument("--json", action="store_true", help="print records, PRs, certificates, tracker")
    p.add_argument("--forge", type=Path, help="keep the local forge's files here")
    add_course(p)
    p.set_defaults(handler=cmd_simulate)

    p = sub.add_parser("demo", help="simulate the bundled example; writes demo-output/")
    p.add_argument("--out", type=Path, default=Path("demo-output"))
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("export", help="export records and certificates (from a local forge)")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--forge", type=Path, default=Path("demo-output/forge"))
    p.add_argument("--now", help="clock for open/missing, ISO 8601 with offset (default: now)")
    p.add_argument(
        "--certificates", action="store_true", help="CSV of certificates instead of records"
    )
    p.add_argument(
        "--github", action="store_true", help="read the ledger on GitHub (Actions environment)"
    )
    add_course(p)
    p.set_defaults(handler=cmd_export)


# --- check ------------------------------------------------------------------


def resolve_assignment(course: CourseConfig, assignment_id: str, notebook: Path) -> Assignment:
    try:
        return course.assignments[assignment_id]
    except KeyError:
        known = ", ".join(course.assignments) or "none"
        raise cli.UsageError(
            f"{notebook}: unknown assignment {assignment_id!r} (from "
            f"{'--assignment' if notebook.stem != assignment_id else 'the file name'}); "
            f"known assignments: {known}. Name the file <assignment>.ipynb or pass --assignment."
        ) from None


def result_json(notebook: Path, evaluation: Evaluation) -> dict[str, Any]:
    return {"notebook": str(notebook), **encode_evaluation(evaluation)}


def cmd_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.jobs < 1:
        raise cli.UsageError("--jobs must be at least 1")
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
        cli.print_json(
            {
                "results": [
                    result_json(nb, ev) for (nb, _), ev in zip(items, evaluations, strict=True)
                ]
            }
        )
    else:
        console.print_check_table([nb for nb, _ in items], evaluations)
    return cli.OK if all(e.complete for e in evaluations) else cli.INCOMPLETE


# --- validate and template ----------------------------------------------------


def cmd_validate(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    course = load_course(args.course)
    total = sum(len(a.exercises) for a in course.assignments.values())
    print(f"{course.name}: {len(course.assignments)} assignments, {total} exercises; config OK")  # noqa: T201
    return cli.OK


def cmd_template(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    course = load_course(args.course)
    resolve_assignment(course, args.assignment, Path(f"{args.assignment}.ipynb"))
    out: Path = args.output or Path(f"{args.assignment}.ipynb")
    write_notebook(template_notebook(course, args.assignment), out)
    print(f"wrote {out}")  # noqa: T201
    return cli.OK


# --- simulate, demo, export -----------------------------------------------------


def load_scenario_file(path: Path) -> Any:
    try:
        return parse_scenario(yaml.safe_load(path.read_text(encoding="utf-8")), file=str(path))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None


def run_simulation(
    scenario_path: Path, course_dir: Path, forge_dir: Path, env: Mapping[str, str], verbose: bool
) -> Any:
    from grader.adapters.localforge import LocalForge
    from grader.simulate import Simulation, with_scenario_people

    scenario = load_scenario_file(scenario_path)
    course = with_scenario_people(load_course(course_dir), scenario)
    sim = Simulation(
        course=course,
        forge=LocalForge(forge_dir),
        base_dir=scenario_path.parent,
        base_env=env,
        progress=(lambda msg: print(msg, file=sys.stderr)) if verbose else (lambda _msg: None),  # noqa: T201
    )
    return sim.run(scenario)


def cmd_simulate(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.forge is not None:
        if args.forge.exists() and any(args.forge.iterdir()):
            raise cli.UsageError(f"--forge {args.forge} is not empty; give a new or empty folder")
        result = run_simulation(args.scenario, args.course, args.forge, env, not args.json)
    else:
        with tempfile.TemporaryDirectory(prefix="grader-forge-") as tmp:
            result = run_simulation(args.scenario, args.course, Path(tmp), env, not args.json)
    if args.json:
        cli.print_json(result.as_json())
    else:
        console.print_records(result.records)
    return cli.OK


def cmd_demo(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    out: Path = args.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    demo = resources.files("grader") / "demo"
    with resources.as_file(demo) as demo_dir:
        result = run_simulation(demo_dir / "scenario.yml", demo_dir, out / "forge", env, True)
    (out / "tracker.md").write_text(result.tracker + "\n", encoding="utf-8")
    comments = out / "comments"
    comments.mkdir()
    for pr in result.pull_requests:
        name = f"pr-{pr['number']:03d}-{pr['student']}-{pr['assignment']}.md"
        (comments / name).write_text(pr["comment"] + "\n", encoding="utf-8")
    console.print_records(result.records)
    print(f"\nTracking issue: {out / 'tracker.md'}")  # noqa: T201
    print(f"PR comments:    {comments}/ ({len(result.pull_requests)} files)")  # noqa: T201
    print(f"Local forge:    {out / 'forge'}/ (PRs, labels, comments, issues, ledger)")  # noqa: T201
    return cli.OK


def forge_context(
    course_dir: Path, env: Mapping[str, str], *, forge_dir: Path | None, github: bool
) -> Any:
    """A use-case context on GitHub (Actions environment) or on a local forge folder."""
    from grader import app
    from grader.adapters.ledger import Ledger

    course = load_course(course_dir)
    if github:
        from grader.adapters.github import GitHubForge

        forge: Any = GitHubForge.from_env(env)
    elif forge_dir is not None:
        from grader.adapters.localforge import LocalForge

        if not (forge_dir / "forge.json").exists():
            raise cli.UsageError(
                f"{forge_dir} is not a local forge folder; run `grader demo` or pass --forge"
            )
        forge = LocalForge(forge_dir)
    else:
        raise cli.UsageError(
            "pass --forge DIR for a local forge, or set GITHUB_REPOSITORY and a token"
        )
    return app.Context(forge=forge, course=course, ledger=Ledger(forge))


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise cli.UsageError(f"--now {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise cli.UsageError("--now needs a UTC offset, e.g. 2020-08-12T00:00:00Z")
    return moment


def cmd_export(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from grader.exporting import export_rows

    ctx = forge_context(args.course, env, forge_dir=args.forge, github=args.github)
    rows, certificates = export_rows(ctx, parse_now(args.now))
    if args.format == "json":
        cli.print_json({"records": rows, "certificates": certificates})
        return cli.OK
    table = certificates if args.certificates else rows
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(table[0]) if table else ["student"])
    writer.writeheader()
    writer.writerows(table)
    sys.stdout.write(buffer.getvalue())
    return cli.OK
