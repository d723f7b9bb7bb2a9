"""Local commands that replay scenarios: simulate and demo."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from grader.adapters.course import load_course
from grader.cli import console, wiring
from grader.cli.common import OK, UsageError, add_course, print_json
from grader.core.scenario import Scenario, ScenarioError, parse_scenario

if TYPE_CHECKING:
    from grader.app.simulate import SimulationResult


def register(sub: Any) -> None:
    p = sub.add_parser("simulate", help="replay a scenario against the local forge")
    p.add_argument("scenario", type=Path)
    p.add_argument("--json", action="store_true", help="print records, PRs, certificates, tracker")
    p.add_argument("--forge", type=Path, help="keep the local forge's files here")
    add_course(p)
    p.set_defaults(handler=cmd_simulate)

    p = sub.add_parser("demo", help="simulate the bundled example; writes demo-output/")
    p.add_argument("--out", type=Path, default=Path("demo-output"))
    p.set_defaults(handler=cmd_demo)


def load_scenario_file(path: Path) -> Scenario:
    try:
        return parse_scenario(yaml.safe_load(path.read_text(encoding="utf-8")), file=str(path))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None


def log_progress(message: str) -> None:
    """One replayed event, on stderr so that `--json` and the records table stay clean."""
    print(message, file=sys.stderr)  # noqa: T201


def run_simulation(
    scenario_path: Path, course_dir: Path, forge_dir: Path, env: Mapping[str, str], verbose: bool
) -> SimulationResult:
    from grader.app.simulate import with_scenario_people

    scenario = load_scenario_file(scenario_path)
    course = with_scenario_people(load_course(course_dir), scenario)
    sim = wiring.simulation(
        course,
        forge_dir,
        scenario_path.parent,
        env,
        progress=log_progress if verbose else (lambda _msg: None),
    )
    return sim.run(scenario)


def cmd_simulate(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.forge is not None:
        if args.forge.exists() and any(args.forge.iterdir()):
            raise UsageError(f"--forge {args.forge} is not empty; give a new or empty folder")
        result = run_simulation(args.scenario, args.course, args.forge, env, not args.json)
    else:
        with tempfile.TemporaryDirectory(prefix="grader-forge-") as tmp:
            result = run_simulation(args.scenario, args.course, Path(tmp), env, not args.json)
    if args.json:
        print_json(result.as_json())
    else:
        console.print_records(result.records)
    return OK


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
    return OK
