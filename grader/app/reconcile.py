"""Use case: reconcile, the repair run after lost or cancelled events (THREATS 53).

Hourly, after a push that changes the course (a moved deadline), and on demand.
It reads the ledger once and lists the open PRs (one request per 100), then:

- re-renders only the views that may be stale: every PR after the course
  changed (records are re-derived from their events with today's deadlines),
  else the PRs whose records gained a fact since the last reconcile, or whose
  labels do not match their records;
- repairs the PRs whose head commit was graded but never recorded (a publish
  that never ran or died): it publishes them from the grade run's artifact
  while GitHub keeps it, with the same checks as `publish`, and says which it
  could not repair and why.

Its own bookkeeping (the time of the newest fact it has seen, the course it
saw, heads it could not repair) is a file on the state branch: a run over
unchanged PRs writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from grader.app.context import Context
from grader.app.submission import GRADE_WORKFLOW, CellReader, GradeRun, publish_to
from grader.app.views import refresh_pr_view
from grader.core.errors import GraderError
from grader.core.evidence import Evidence, graded_for
from grader.core.history import EPOCH, StudentHistory, state_of
from grader.core.markdown import format_time
from grader.core.model import CourseConfig, PullRequest, Submission
from grader.core.runs import WorkflowRun, workflow_file
from grader.core.view import combined_labels

STATE_FILE = "reconcile.json"


@dataclass
class ReconcileReport:
    """What a reconcile looked at, wrote and could not do, for the job summary."""

    looked_at: int = 0
    refreshed: list[int] = field(default_factory=list)
    repaired: list[int] = field(default_factory=list)
    unrepaired: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Watermark:
    """What the previous reconcile saw (the state branch's reconcile.json)."""

    seen: datetime = EPOCH
    course: str = ""  # the course without its assignments
    assignments: dict[str, str] = field(default_factory=dict)  # id -> digest
    unrepairable: dict[str, str] = field(default_factory=dict)  # PR number -> head sha

    def changed(self, now: Watermark, shown: Sequence[str]) -> bool:
        """The course, or one of these assignments, changed since this reconcile."""
        return self.course != now.course or any(
            self.assignments.get(a) != now.assignments.get(a) for a in shown
        )

    def encode(self) -> str:
        data = {
            "seen": self.seen.isoformat(),
            "course": self.course,
            "assignments": self.assignments,
            "unrepairable": self.unrepairable,
        }
        return json.dumps(data, indent=1, sort_keys=True) + "\n"


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode("utf-8")).hexdigest()


def course_digests(course: CourseConfig) -> tuple[str, dict[str, str]]:
    """The course's rules apart from its assignments, and each assignment (its deadline,
    exercises, checks): a change re-derives exactly the records it can change."""
    rules = _digest(replace(course, assignments={}))
    return rules, {a.id: _digest(a) for a in course.assignments.values()}


def reconcile(
    ctx: Context, repository: str, read_cells: CellReader, now: datetime | None = None
) -> ReconcileReport:
    """Repair and refresh every open PR that needs it; see the module docstring."""
    found = ctx.forge.read_state(STATE_FILE)
    before = _decode(found[0]) if found else Watermark()
    histories = dict(ctx.ledger.all())
    rules, assignments = course_digests(ctx.course)
    report = ReconcileReport()
    after = Watermark(seen=_newest(histories), course=rules, assignments=assignments)
    job = _Job(ctx, before, after, report, repository, read_cells)
    for pr in ctx.forge.list_open_pulls():
        report.looked_at += 1
        history = histories.get(pr.author.lower(), StudentHistory())
        try:
            _reconcile_pull(job, pr, history)
        except Exception as exc:
            # The repair job goes on: one PR that GitHub cannot answer for (a persistent
            # error, a damaged artifact) must not leave every other PR unrepaired. The
            # job summary lists it with the error, for a maintainer.
            report.unrepaired.append((pr.number, f"{type(exc).__name__}: {exc}"[:500]))
    if found is None or found[0] != after.encode():
        ctx.forge.write_state(
            STATE_FILE, after.encode(), found[1] if found else None, "grader: reconcile"
        )
    return report


@dataclass
class _Job:
    """One reconcile: what it works with, what it saw before, and what it finds."""

    ctx: Context
    before: Watermark
    after: Watermark
    report: ReconcileReport
    repository: str
    read_cells: CellReader


def _reconcile_pull(job: _Job, pr: PullRequest, history: StudentHistory) -> None:
    ctx, before, after, report = job.ctx, job.before, job.after, job.report
    shown = _shown(history, pr.number)
    if not _recorded(history, pr):
        _repair(job, pr)
        return
    course_changed = before.changed(after, shown)
    if course_changed or _stale(ctx, pr, history, shown, before):
        note = _dates_note(ctx, pr, history, shown) if course_changed else ""
        refresh_pr_view(ctx, pr, shown, history, EPOCH, note=note)
        report.refreshed.append(pr.number)


def _dates_note(
    ctx: Context, pr: PullRequest, history: StudentHistory, shown: Sequence[str]
) -> str:
    """Why a student's status changed without a push: the course's dates (or rules) did.

    The PR's labels still show the status before the change; empty when it is the same.
    """
    wanted = _wanted_labels(ctx, pr, history, shown)
    if _own_labels(ctx, pr) == wanted:
        return ""
    deadlines = ", ".join(
        f"{a}: {format_time(ctx.course.assignments[a].deadline, ctx.course.timezone)}"
        for a in shown
        if a in ctx.course.assignments
    )
    return (
        "The course's dates or rules changed, so your record was worked out again from "
        f"your hand-ins with the new deadline ({deadlines}); its status changed. Nothing "
        "else is needed from you unless the feedback below says so."
    )


def _wanted_labels(
    ctx: Context, pr: PullRequest, history: StudentHistory, shown: Sequence[str]
) -> set[str]:
    course = ctx.course
    states = [
        state_of(course, pr.author, course.assignments[a], history, EPOCH)
        for a in shown
        if a in course.assignments
    ]
    return set(combined_labels(course.labels, states))


def _own_labels(ctx: Context, pr: PullRequest) -> set[str]:
    owned = {n.lower() for n in ctx.course.labels.all()}
    return {n for n in pr.labels if n.lower() in owned}


def _shown(history: StudentHistory, number: int) -> list[str]:
    """The assignments whose records this PR has submitted to."""
    return [
        a
        for a, events in history.assignments.items()
        if any(isinstance(e, Submission) and e.pr == number for e in events)
    ]


def _recorded(history: StudentHistory, pr: PullRequest) -> bool:
    """The PR's head commit is in the ledger (or nothing of it was ever graded)."""
    return any(
        isinstance(e, Submission) and e.sha == pr.head_sha and e.pr == pr.number
        for events in history.assignments.values()
        for e in events
    )


def _stale(
    ctx: Context,
    pr: PullRequest,
    history: StudentHistory,
    shown: Sequence[str],
    before: Watermark,
) -> bool:
    """Whether the view may be stale though the course did not change."""
    events = [e for a in shown for e in history.assignments.get(a, [])]
    if any(e.at > before.seen for e in events):
        return True  # a fact since the last reconcile: its publish may have died midway
    return _own_labels(ctx, pr) != _wanted_labels(ctx, pr, history, shown)


def _repair(job: _Job, pr: PullRequest) -> None:
    """Publish the PR's head from its grade run's artifact, as publish would have."""
    ctx, before, after, report = job.ctx, job.before, job.after, job.report
    repository, read_cells = job.repository, job.read_cells
    if before.unrepairable.get(str(pr.number)) == pr.head_sha:
        after.unrepairable[str(pr.number)] = pr.head_sha  # tried before: not again
        return
    runs = _grade_runs(ctx.forge.runs_for(pr.head_sha), repository)
    if not runs:
        return  # not graded yet (or awaiting approval): its publish will come
    try:
        run, evidence = _authors_run(ctx, pr, runs)
    except GraderError as exc:  # GitHub failed us, not the submission: try next time
        report.unrepaired.append((pr.number, str(exc)))
        return
    outcome = publish_to(ctx, pr, _grade_run_of(run, repository), pr.head_sha, evidence, read_cells)
    if outcome.message.startswith("graded"):
        report.repaired.append(pr.number)
    else:
        report.unrepaired.append((pr.number, outcome.message))
        after.unrepairable[str(pr.number)] = pr.head_sha


MAX_RUNS_TRIED = 3  # runs of one head read for a repair (each costs 2 requests)


def _authors_run(
    ctx: Context, pr: PullRequest, runs: Sequence[WorkflowRun]
) -> tuple[WorkflowRun, Evidence]:
    """The newest run whose artifact graded this PR's author's folder (THREATS 37: a PR
    opened from the same branch has runs of its own), else the newest run."""
    tried: list[tuple[WorkflowRun, Evidence]] = []
    for run in runs[:MAX_RUNS_TRIED]:
        evidence = ctx.forge.run_evidence(run)  # each artifact is downloaded once
        if evidence.kind != "graded" or graded_for(evidence, pr.author):
            return run, evidence
        tried.append((run, evidence))
    return tried[0]


def _grade_runs(runs: Sequence[WorkflowRun], repository: str) -> list[WorkflowRun]:
    """The finished pull_request runs of the real grade workflow, newest first."""
    graded = [
        r
        for r in runs
        if workflow_file(r.path, repository) == GRADE_WORKFLOW
        and r.event == "pull_request"
        and r.status == "completed"
        and r.conclusion != "action_required"  # awaiting approval: it will run, then publish
    ]
    return sorted(graded, key=lambda r: (r.created_at, r.attempt), reverse=True)


def _grade_run_of(run: WorkflowRun, repository: str) -> GradeRun:
    return GradeRun(
        workflow_path=run.path,
        event=run.event,
        head_sha=run.head_sha,
        head_repo=run.head_repo,
        created_at=run.created_at,
        head_ref=run.head_ref,
        repository=repository,
        conclusion=run.conclusion,
    )


def _newest(histories: Mapping[str, StudentHistory]) -> datetime:
    times = [e.at for h in histories.values() for events in h.assignments.values() for e in events]
    return max(times, default=EPOCH)


def _decode(text: str) -> Watermark:
    """The previous run's file; anything unreadable counts as no previous run."""
    try:
        data = json.loads(text)
        return Watermark(
            seen=datetime.fromisoformat(data["seen"]),
            course=str(data["course"]),
            assignments={str(k): str(v) for k, v in dict(data.get("assignments", {})).items()},
            unrepairable={str(k): str(v) for k, v in dict(data["unrepairable"]).items()},
        )
    except (ValueError, KeyError, TypeError):
        return Watermark()
