"""`grader regrade`: re-evaluate a whole assignment, locally or on GitHub."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.adapters.artifact import EvidenceInvalid, read_committed_cells
from grader.adapters.course import load_course
from grader.adapters.grading import NotebookGrader
from grader.adapters.shards import read_inputs, read_shards, write_inputs, write_shard
from grader.app import regrade
from grader.app.context import Context
from grader.cli import console, wiring
from grader.cli.common import OK, UsageError, add_course, assignment_named, parse_now
from grader.core.model import Assignment
from grader.core.regrade import Change, Graded, Results, Target, plan, shard, targets

SHARD_RE = re.compile(r"^(\d{1,3})/(\d{1,3})$")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "regrade",
        help="re-evaluate every submission of an assignment; dry run unless --apply",
        description=(
            "Re-executes every commit submitted for ASSIGNMENT with today's course config and "
            "prints the records whose status would change. Nothing is written without --apply. "
            "Reads a local forge with --forge DIR, else GitHub (GITHUB_REPOSITORY and a token)."
        ),
    )
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--apply", action="store_true", help="record the new evaluations")
    p.add_argument(
        "--allow-downgrade",
        action="store_true",
        help="also record evaluations that make a record worse (complete -> incomplete); "
        "the students are told",
    )
    p.add_argument("--forge", type=Path, help="a local forge folder (e.g. demo-output/forge)")
    p.add_argument("--jobs", type=int, default=2, help="notebooks to run at once (default 2)")
    p.add_argument("--shard", help="I/N: run only shard I of N and write results to --out")
    p.add_argument("--out", type=Path, help="folder for this shard's results")
    p.add_argument("--merge", type=Path, help="apply the shard results found under this folder")
    p.add_argument(
        "--fetch",
        type=Path,
        metavar="DIR",
        help="only read the targets and their committed notebooks into DIR (for shards)",
    )
    p.add_argument(
        "--inputs",
        type=Path,
        metavar="DIR",
        help="with --shard: take the targets and notebooks from a --fetch folder, no network",
    )
    p.add_argument("--now", help="clock for open/missing, ISO 8601 with offset (default: now)")
    add_course(p)
    p.set_defaults(handler=cmd_regrade)


def context(args: argparse.Namespace, env: Mapping[str, str]) -> Context:
    """A local forge with --forge, else GitHub when the Actions environment names a repo."""
    github = args.forge is None and bool(env.get("GITHUB_REPOSITORY"))
    return wiring.forge_context(args.course, env, forge_dir=args.forge, github=github)


def parse_shard(value: str) -> tuple[int, int]:
    match = SHARD_RE.match(value)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise UsageError(f"--shard {value!r}: expected I/N with 1 <= I <= N, e.g. 2/8")
    return int(match[1]), int(match[2])


def cmd_regrade(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    if args.shard and not args.out:
        raise UsageError("--shard needs --out DIR for the shard's results")
    if args.shard and (args.merge or args.apply):
        raise UsageError("a shard only computes results; merge and apply them in a separate run")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.inputs and not args.shard:
        raise UsageError("--inputs is for a shard: pass --shard I/N and --out DIR too")
    if args.inputs:
        return _shard_from_inputs(args, env)
    ctx = context(args, env)
    assignment = assignment_named(ctx.course, args.assignment)
    histories = dict(ctx.ledger.all())
    known = targets(histories, assignment.id)
    if args.fetch:
        write_inputs(
            args.fetch,
            assignment.id,
            list(zip(known, regrade.fetch(ctx, assignment, known), strict=True)),
        )
        print(f"grader: {len(known)} submission(s) of {assignment.id} fetched into {args.fetch}")  # noqa: T201
        return OK
    if args.shard:
        index, total = parse_shard(args.shard)
        mine = shard(known, index, total)
        write_shard(args.out, assignment.id, _execute(ctx, assignment, mine, env, args.jobs))
        print(f"grader: shard {index}/{total}: {len(mine)} submission(s) regraded into {args.out}")  # noqa: T201
        return OK
    if args.merge:
        results = _merged(ctx, assignment, known, args.merge)
    else:
        graded = _execute(ctx, assignment, known, env, args.jobs)
        results = {(g.target.student, g.target.sha): g.evaluation for g in graded}
    now = parse_now(args.now)
    found = plan(ctx.course, assignment, histories, results, now)
    allow = args.allow_downgrade
    changes = found.applied(allow)
    console.print_changes(assignment.id, len(known), changes)
    _warn(found.kept(allow), [c for c in changes if c.downgrade])
    if args.apply:
        worse = [c.student for c in changes if c.downgrade]
        count = regrade.apply(ctx, assignment, found.events_to_record(allow), now, worse)
        print(f"grader: applied new evaluations for {count} student(s)")  # noqa: T201
    elif changes:
        print("Dry run: nothing was written. Run again with --apply to record these.")  # noqa: T201
    return OK


def _warn(kept: Sequence[Change], downgraded: Sequence[Change]) -> None:
    """Downgrades: left alone unless asked for, and said out loud either way."""
    if kept:
        names = ", ".join(c.student for c in kept)
        print(  # noqa: T201
            f"grader: {len(kept)} record(s) would get worse and keep their status: {names}. "
            "A regrade never takes a mark away by itself; pass --allow-downgrade to apply "
            "those too (each student is told on their pull request).",
            file=sys.stderr,
        )
    if downgraded:
        print(  # noqa: T201
            f"grader: warning: --allow-downgrade: {len(downgraded)} record(s) get worse; "
            "with --apply each affected student is told on their pull request.",
            file=sys.stderr,
        )


def _shard_from_inputs(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """A shard job holds no token: its notebooks come from the fetch job's folder."""
    course = load_course(args.course)
    assignment = assignment_named(course, args.assignment)
    try:
        items = read_inputs(args.inputs, assignment.id)
    except EvidenceInvalid as exc:
        raise UsageError(f"regrade inputs rejected: {exc}") from None
    index, total = parse_shard(args.shard)
    mine = shard(items, index, total)
    grade = NotebookGrader(course, env, jobs=args.jobs)
    with console.progress(len(mine), f"Regrading {assignment.id}") as advance:
        graded = regrade.grade_contents(assignment, mine, grade, on_done=advance)
    write_shard(args.out, assignment.id, graded)
    print(f"grader: shard {index}/{total}: {len(mine)} submission(s) regraded into {args.out}")  # noqa: T201
    return OK


def _execute(
    ctx: Context, assignment: Assignment, items: list[Target], env: Mapping[str, str], jobs: int
) -> list[Graded]:
    grade = NotebookGrader(ctx.course, env, jobs=jobs)
    with console.progress(len(items), f"Regrading {assignment.id}") as advance:
        return regrade.execute(ctx, assignment, items, grade, on_done=advance)


def _merged(ctx: Context, assignment: Assignment, known: list[Target], folder: Path) -> Results:
    try:
        found = read_shards(folder, assignment.id)
    except EvidenceInvalid as exc:
        raise UsageError(f"shard results rejected: {exc}") from None
    results, rejected = regrade.verified_results(
        ctx, assignment, known, found, read_committed_cells
    )
    for reason in rejected:
        print(f"grader: ignored a shard result: {reason}", file=sys.stderr)  # noqa: T201
    return results
