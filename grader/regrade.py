"""`grader regrade ASSIGNMENT`: re-evaluate every submission of an assignment.

For a maintainer who fixed an exercise or its test. Every commit ever
submitted for the assignment is executed again with today's course config; a
dry run prints only the records whose status would change, and `--apply`
records the new evaluations as Regrade events (the record is re-derived from
its history, keeping each commit's trusted time) and refreshes the PRs.

On GitHub the work is sharded over an Actions matrix: each unprivileged shard
job runs `--shard I/N --out DIR`; one trusted job runs `--merge DIR --apply`,
which treats the shards' files as untrusted data and checks every result
against the committed notebook before it counts.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from grader import app
from grader.adapters.artifact import EvidenceInvalid, cell_hashes
from grader.adapters.grading import grade_runs
from grader.adapters.ledger import StudentHistory
from grader.core.codec import decode_evaluation, encode_evaluation
from grader.core.model import Assignment, Cell, Evaluation, Event, RecordState, Regrade, Submission
from grader.prview import refresh_pr_view

RESULT = "regrade.json"
SCHEMA = 1
MAX_BYTES = 20_000_000
SHA_RE = re.compile(r"^[0-9a-f]{4,64}$")
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,38}$")


@dataclass(frozen=True)
class Target:
    """One submitted commit of one student's notebook for the assignment."""

    student: str
    sha: str
    pr: int

    def path(self, assignment: str) -> str:
        return f"submissions/{self.student}/{assignment}.ipynb"


@dataclass(frozen=True)
class Change:
    student: str
    assignment: str
    before: RecordState
    after: RecordState


Results = dict[tuple[str, str], Evaluation]  # (student, sha) -> new evaluation


def targets(histories: Mapping[str, StudentHistory], assignment: str) -> list[Target]:
    """Every distinct commit submitted for `assignment`, in a stable order."""
    found: dict[tuple[str, str], Target] = {}
    for student in sorted(histories):
        for event in histories[student].assignments.get(assignment, []):
            if isinstance(event, Submission):
                found.setdefault((student, event.sha), Target(student, event.sha, event.pr))
    return list(found.values())


def shard(items: Sequence[Target], index: int, total: int) -> list[Target]:
    """Shard `index` (1-based) of `total`: every total-th target."""
    return [t for i, t in enumerate(items) if i % total == index - 1]


def regrade_events(
    events: Sequence[Event], student: str, results: Results, now: datetime
) -> list[Regrade]:
    """A Regrade for each commit whose new evaluation differs from its current one."""
    new: list[Regrade] = []
    for sha in dict.fromkeys(e.sha for e in events if isinstance(e, Submission)):
        evaluation = results.get((student, sha))
        same_commit = [e for e in events if isinstance(e, Submission | Regrade) and e.sha == sha]
        if evaluation is not None and app.latest_evaluation(same_commit) != evaluation:
            new.append(Regrade(at=now, sha=sha, evaluation=evaluation))
    return new


def plan(
    ctx: app.Context,
    assignment: Assignment,
    histories: Mapping[str, StudentHistory],
    results: Results,
    now: datetime,
) -> tuple[list[Change], dict[str, list[Regrade]]]:
    """Status changes the results would cause, and the events that would record them."""
    changes: list[Change] = []
    events_by_student: dict[str, list[Regrade]] = {}
    for student in sorted(histories):
        history = histories[student]
        events = history.assignments.get(assignment.id, [])
        new = regrade_events(events, student, results, now)
        if not new:
            continue
        events_by_student[student] = new
        before = app.state_of(ctx, student, assignment, history, now)
        after_history = StudentHistory(
            {**history.assignments, assignment.id: [*events, *new]}, history.project
        )
        after = app.state_of(ctx, student, assignment, after_history, now)
        if (before.status, before.override) != (after.status, after.override):
            changes.append(Change(student, assignment.id, before, after))
    return changes, events_by_student


def apply(
    ctx: app.Context, assignment: Assignment, new_events: Mapping[str, list[Regrade]], now: datetime
) -> int:
    """Record the regrades and refresh each affected PR's labels and comment."""
    for student, events in new_events.items():
        history = ctx.ledger.update(
            student, partial(_append_new, assignment=assignment.id, events=events)
        )
        refresh_prs(ctx, assignment, student, history, now)
    return len(new_events)


def _append_new(history: StudentHistory, assignment: str, events: list[Regrade]) -> None:
    have = history.assignments.setdefault(assignment, [])
    have.extend(e for e in events if e not in have)  # a retried CAS must not double them


def refresh_prs(
    ctx: app.Context, assignment: Assignment, student: str, history: StudentHistory, now: datetime
) -> None:
    events = history.assignments.get(assignment.id, [])
    for number in sorted({e.pr for e in events if isinstance(e, Submission)}):
        pr = ctx.forge.get_pull(number)
        if pr.state == "open":
            refresh_pr_view(ctx, pr, [assignment.id], history, now)


# --- executing targets --------------------------------------------------------------


@dataclass(frozen=True)
class Graded:
    target: Target
    evaluation: Evaluation
    cells: tuple[str, ...]


def execute(
    ctx: app.Context,
    assignment: Assignment,
    items: Sequence[Target],
    *,
    base_env: Mapping[str, str],
    jobs: int,
    on_done: Callable[[], None] = lambda: None,
) -> list[Graded]:
    """Fetch each target's committed notebook and run it in a fresh sandboxed kernel."""
    with tempfile.TemporaryDirectory(prefix="grader-regrade-") as tmp:
        paths = []
        for i, target in enumerate(items):
            folder = Path(tmp) / f"{i:05d}"
            folder.mkdir()
            content = ctx.forge.read_file(target.path(assignment.id), target.sha)
            (folder / f"{assignment.id}.ipynb").write_bytes(content or b"")
            paths.append((folder / f"{assignment.id}.ipynb", assignment))
        runs = grade_runs(
            ctx.course, paths, base_env=base_env, jobs=jobs, on_done=lambda i, e: on_done()
        )
    return [Graded(t, ev, cell_hashes(run.cells)) for t, (run, ev) in zip(items, runs, strict=True)]


def write_shard(out: Path, assignment: str, graded: Sequence[Graded]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "schema": SCHEMA,
        "assignment": assignment,
        "results": [
            {
                "student": g.target.student,
                "sha": g.target.sha,
                "evaluation": encode_evaluation(g.evaluation),
                "cells": list(g.cells),
            }
            for g in graded
        ],
    }
    (out / RESULT).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# --- merging shard results (untrusted data) ------------------------------------------


def _result(item: Any, where: str) -> tuple[str, str, Evaluation, tuple[str, ...]]:
    if not isinstance(item, dict) or set(item) != {"student", "sha", "evaluation", "cells"}:
        raise EvidenceInvalid(f"{where}: expected exactly student, sha, evaluation, cells")
    student, sha, cells = item["student"], item["sha"], item["cells"]
    if not isinstance(student, str) or not LOGIN_RE.match(student):
        raise EvidenceInvalid(f"{where}.student: not a login")
    if not isinstance(sha, str) or not SHA_RE.match(sha):
        raise EvidenceInvalid(f"{where}.sha: not a commit sha")
    if not isinstance(cells, list) or not all(isinstance(c, str) and len(c) == 64 for c in cells):
        raise EvidenceInvalid(f"{where}.cells: expected sha256 digests")
    try:
        evaluation = decode_evaluation(item["evaluation"], f"{where}.evaluation")
    except ValueError as exc:
        raise EvidenceInvalid(str(exc)) from None
    return student, sha, evaluation, tuple(cells)


def read_shards(
    folder: Path, assignment: str
) -> list[tuple[str, str, Evaluation, tuple[str, ...]]]:
    """Every result in every shard file under `folder`, strictly validated."""
    found = []
    for path in sorted(folder.rglob(RESULT)):
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
            raise EvidenceInvalid(f"{path}: not a plain shard result file of sane size")
        try:
            data = json.loads(path.read_bytes())
        except (ValueError, UnicodeDecodeError):
            raise EvidenceInvalid(f"{path}: not valid JSON") from None
        if (
            not isinstance(data, dict)
            or data.get("schema") != SCHEMA
            or data.get("assignment") != assignment
        ):
            raise EvidenceInvalid(f"{path}: not a schema {SCHEMA} result for {assignment}")
        items = data.get("results")
        if not isinstance(items, list):
            raise EvidenceInvalid(f"{path}: results must be a list")
        found += [_result(item, f"{path.name}: results[{i}]") for i, item in enumerate(items)]
    return found


def verified_results(
    ctx: app.Context,
    assignment: Assignment,
    known: Sequence[Target],
    shard_results: Sequence[tuple[str, str, Evaluation, tuple[str, ...]]],
    read_cells: Callable[[bytes], Sequence[Cell] | None],
) -> tuple[Results, list[str]]:
    """Keep results for real targets whose cells match the committed notebook."""
    wanted = {(t.student, t.sha): t for t in known}
    results: Results = {}
    rejected: list[str] = []
    for student, sha, evaluation, cells in shard_results:
        target = wanted.get((student, sha))
        if target is None or evaluation.assignment != assignment.id:
            rejected.append(f"{student} {sha[:12]}: not a submission of {assignment.id}")
            continue
        committed = read_cells(ctx.forge.read_file(target.path(assignment.id), sha) or b"")
        if cell_hashes(committed or ()) != cells:
            rejected.append(
                f"{student} {sha[:12]}: executed cells differ from the committed notebook"
            )
            continue
        results[(student, sha)] = evaluation
    return results, rejected
