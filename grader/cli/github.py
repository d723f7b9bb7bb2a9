"""GitHub-mode commands, called by the workflows in .github/workflows/.

- run-submission: unprivileged, no network; executes a PR's notebooks.
- publish: privileged (workflow_run); validates the run and writes results.
- render-tracker: the single debounced writer of the tracking issue.
- ta-command: issue_comment; applies /grader commands.
- reconcile: repairs labels and re-renders everything.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader.adapters import actions
from grader.adapters.artifact import load_evidence, read_committed_cells, write_result
from grader.adapters.course import load_course
from grader.adapters.grading import grade_runs
from grader.app.command import handle_command
from grader.app.context import Outcome
from grader.app.reconcile import ReconcileReport, reconcile
from grader.app.submission import GradeRun, publish
from grader.app.tracker import render_tracker
from grader.cli.common import OK, add_course
from grader.cli.wiring import github_context
from grader.core import notices
from grader.core.evidence import GradedNotebook, cell_hashes


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run-submission", help="(grade workflow) execute a PR's notebooks; no network"
    )
    p.add_argument(
        "directory", type=Path, metavar="DIR", help="the PR's submissions/<login>/ folder"
    )
    p.add_argument("--out", type=Path, required=True, help="folder for the result artifact")
    p.add_argument("--jobs", type=int, default=1)
    add_course(p)
    p.set_defaults(handler=cmd_run_submission)

    p = sub.add_parser("publish", help="(publish workflow) validate a grade run and record it")
    p.add_argument("--artifact", type=Path, required=True, help="the downloaded artifact folder")
    add_course(p)
    p.set_defaults(handler=cmd_publish)

    p = sub.add_parser("render-tracker", help="(publish workflow) re-render the tracking issue")
    add_course(p)
    p.set_defaults(handler=cmd_render_tracker)

    p = sub.add_parser("ta-command", help="(ta-command workflow) apply /grader commands")
    add_course(p)
    p.set_defaults(handler=cmd_ta_command)

    p = sub.add_parser(
        "reconcile", help="(reconcile workflow) repair labels and comments, re-render"
    )
    add_course(p)
    p.set_defaults(handler=cmd_reconcile)


def now_utc() -> datetime:
    return datetime.now(UTC)


def report(env: Mapping[str, str], outcome: Outcome) -> int:
    print(f"grader: {outcome.message}")  # noqa: T201
    actions.write_summary(env, f"**grader:** {outcome.message}")
    return OK


def cmd_run_submission(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    course = load_course(args.course)
    folder: Path = args.directory
    login = folder.resolve().name
    notebooks = sorted(
        p for p in folder.glob("*.ipynb") if p.stem in course.assignments and not p.is_symlink()
    )
    items = [(p, course.assignments[p.stem]) for p in notebooks]
    graded = grade_runs(course, items, base_env=env, jobs=max(1, args.jobs))
    results = [
        GradedNotebook(
            path=f"submissions/{login}/{p.name}", evaluation=ev, cell_hashes=cell_hashes(run.cells)
        )
        for (p, _), (run, ev) in zip(items, graded, strict=True)
    ]
    summary = notices.step_summary([ev for _, ev in graded])
    # The workflow adds OUT/summary.md to the job summary (also when a later step fails).
    write_result(args.out, results, summary)
    print(f"grader: graded {len(results)} notebook(s) in {folder}; result in {args.out}")  # noqa: T201
    return OK


def grade_run_of(event: Mapping[str, Any]) -> GradeRun:
    run = event.get("workflow_run")
    return GradeRun(
        workflow_path=actions.text(run, "path"),
        event=actions.text(run, "event"),
        head_sha=actions.text(run, "head_sha"),
        head_repo=actions.text(run, "head_repository", "full_name"),
        # When GitHub first created the run: a re-run keeps it (run_started_at moves).
        created_at=actions.timestamp(run, "created_at"),
        head_ref=actions.text(run, "head_branch"),
        repository=actions.text(event, "repository", "full_name") or "",
        conclusion=actions.text(run, "conclusion"),
        default_branch=actions.text(event, "repository", "default_branch") or "",
    )


def cmd_publish(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    course = load_course(args.course)
    event = actions.load_event(env)
    run = grade_run_of(event)
    if actions.text(event, "repository", "full_name") != env.get("GITHUB_REPOSITORY"):
        return report(env, Outcome("ignored: the run belongs to another repository"))
    ctx = github_context(course, env)
    outcome = publish(ctx, run, load_evidence(args.artifact), read_committed_cells)
    return report(env, outcome)


def cmd_render_tracker(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    ctx = github_context(load_course(args.course), env)
    ctx.forge.ensure_labels(ctx.course.labels.all())
    pages = render_tracker(ctx, now_utc())
    return report(env, Outcome(f"tracking issue rendered ({len(pages)} page(s))"))


def cmd_ta_command(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    course = load_course(args.course)
    event = actions.load_event(env)
    body = actions.text(event, "comment", "body")
    author = actions.text(event, "comment", "user", "login")
    number = actions.integer(event, "issue", "number")
    if (
        actions.text(event, "action") != "created"
        or body is None
        or author is None
        or number is None
    ):
        return report(env, Outcome("ignored: not a new comment"))
    if actions.text(event, "comment", "user", "type") == "Bot":
        return report(env, Outcome("ignored: comment by a bot"))
    if actions.text(event, "repository", "full_name") != env.get("GITHUB_REPOSITORY"):
        return report(env, Outcome("ignored: the comment belongs to another repository"))
    ctx = github_context(course, env)
    # A comment on a PR carries issue.pull_request; on a plain issue it is absent.
    on_pull = actions.dig(event, "issue", "pull_request") is not None
    comment_id = actions.integer(event, "comment", "id")
    outcome = handle_command(
        ctx, number, author, body, now_utc(), on_pull=on_pull, comment_id=comment_id
    )
    # The workflow re-renders the tracker only when `steps.<id>.outputs.changed == 'true'`.
    output = env.get("GITHUB_OUTPUT")
    if output:
        with Path(output).open("a", encoding="utf-8") as sink:
            sink.write(f"changed={'true' if outcome.changed else 'false'}\n")
    return report(env, outcome)


def cmd_reconcile(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    ctx = github_context(load_course(args.course), env)
    ctx.forge.ensure_labels(ctx.course.labels.all())
    done = reconcile(ctx, env.get("GITHUB_REPOSITORY", ""), read_committed_cells)
    pages = render_tracker(ctx, now_utc())
    actions.write_summary(env, reconcile_summary(done))
    message = (
        f"reconciled {done.looked_at} open PR(s): {len(done.refreshed)} view(s) refreshed, "
        f"{len(done.repaired)} repaired, {len(done.unrepaired)} not repaired; "
        f"tracker has {len(pages)} page(s)"
    )
    print(f"grader: {message}")  # noqa: T201
    return OK


def reconcile_summary(done: ReconcileReport) -> str:
    """The job summary: what reconcile could not repair, and why, for a maintainer."""
    lines = [f"**grader reconcile:** {done.looked_at} open pull request(s) looked at."]
    if done.repaired:
        lines.append("Repaired (published from their grade run): " + _numbers(done.repaired))
    if done.refreshed:
        lines.append("Views refreshed: " + _numbers(done.refreshed))
    if done.unrepaired:
        lines.append("\nNot repaired (not tried again until the PR gets a new commit):\n")
        lines += [f"- #{number}: {reason}" for number, reason in done.unrepaired]
    return "\n".join(lines)


def _numbers(numbers: list[int]) -> str:
    return ", ".join(f"#{n}" for n in numbers)
