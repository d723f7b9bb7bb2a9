"""Use case: replay a scenario through the full pipeline against a simulated forge.

Students open pull requests and push notebooks, grading runs through the
Grader port (the real sandboxed kernel), TAs comment, and the clock is
virtual: every event happens at its scenario time, and that time is the
trusted submission time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from grader.app.command import handle_command, handle_record_command
from grader.app.context import Context
from grader.app.reconcile import reconcile
from grader.app.submission import handle_submission
from grader.app.tracker import all_certificates, all_states, render_tracker
from grader.core.evidence import missing_result
from grader.core.history import EPOCH, StudentHistory, certificate_of
from grader.core.model import Assignment, CourseConfig, Evaluation, PullRequest
from grader.core.notices import PR_MARKER
from grader.core.scenario import (
    CommentEvent,
    DeadlineEvent,
    Scenario,
    ScenarioError,
    SubmitEvent,
)
from grader.ports import Grader, RecordStore, SimulatedForge

# Reads a scenario's notebook (a path relative to the scenario file); None when absent.
NotebookSource = Callable[[str], bytes | None]


@dataclass
class SimulationResult:
    records: list[dict[str, Any]]
    pull_requests: list[dict[str, Any]]
    certificates: list[dict[str, Any]]
    tracker: str
    tracker_pages: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "pull_requests": self.pull_requests,
            "certificates": self.certificates,
            "tracker": self.tracker,
        }


@dataclass
class Simulation:
    course: CourseConfig
    forge: SimulatedForge
    ledger: RecordStore
    grade: Grader
    notebooks: NotebookSource
    progress: Callable[[str], None] = lambda _msg: None
    prs: dict[tuple[str, str], int] = field(default_factory=dict)
    pr_owner: dict[int, tuple[str, str]] = field(default_factory=dict)
    _cache: dict[tuple[str, str], Evaluation] = field(default_factory=dict)

    @property
    def ctx(self) -> Context:
        return Context(forge=self.forge, course=self.course, ledger=self.ledger)

    def evaluate(self, content: bytes, assignment: Assignment) -> Evaluation:
        """Grade notebook bytes; identical bytes for one assignment are graded once."""
        key = (hashlib.sha256(content).hexdigest(), assignment.id)
        if key not in self._cache:
            self._cache[key] = self.grade([(content, assignment)])[0][1]
        return self._cache[key]

    def submit(self, event: SubmitEvent) -> None:
        assignment = self.assignment(event.assignment, f"submit at {event.at.isoformat()}")
        content = self.notebooks(event.notebook)
        if content is None:
            raise ScenarioError(
                f"submit at {event.at.isoformat()}: notebook not found: {event.notebook}"
            )
        path = f"submissions/{event.student}/{assignment.id}.ipynb"
        key = (event.student, assignment.id)
        number = self.prs.get(key)
        if number is None or event.new_pr:
            number = self.forge.open_pull(
                event.student, {path: content}, title=f"{assignment.id} by {event.student}"
            )
            self.prs[key] = number
            self.pr_owner[number] = key
            sha = self.forge.get_pull(number).head_sha
        else:
            sha = self.forge.push(number, {path: content})
        self.forge.mark_graded(sha, event.at)
        graded_at = self.forge.first_graded_at(sha) or event.at
        evaluation = self.evaluate(content, assignment)
        outcome = handle_submission(self.ctx, number, {path: evaluation}, graded_at)
        self.progress(f"{event.at.isoformat()} {event.student} {assignment.id}: {outcome.message}")

    def comment(self, event: CommentEvent) -> None:
        number = self.target_of(event)
        if number is None:
            # A command for a record with no pull request yet (an extension granted
            # ahead of time, say): applied to the record; there is nowhere to reply.
            assert event.student is not None
            if event.assignment is not None:
                self.assignment(event.assignment, f"comment at {event.at.isoformat()}")
            outcome = handle_record_command(
                self.ctx, event.student, event.assignment, event.author, event.body, event.at
            )
        else:
            posted = self.forge.post_comment_as(event.author, number, event.body)
            outcome = handle_command(
                self.ctx,
                number,
                event.author,
                event.body,
                event.at,
                self.regrade,
                comment_id=posted.id,
            )
        self.progress(f"{event.at.isoformat()} {event.author}: {outcome.message}")

    def move_deadline(self, event: DeadlineEvent) -> None:
        """The course's dates change (a push to exercises/ on GitHub), and reconcile
        re-derives every record with them, telling each student whose status changed."""
        assignment = self.assignment(event.assignment, f"deadline at {event.at.isoformat()}")
        moved = replace(assignment, deadline=event.deadline)
        assignments = {**self.course.assignments, moved.id: moved}
        ordered = sorted(assignments.values(), key=lambda a: (a.deadline, a.id))
        self.course = replace(self.course, assignments={a.id: a for a in ordered})
        report = reconcile(self.ctx, "local/course", lambda _data: None)
        self.progress(
            f"{event.at.isoformat()} {moved.id}: deadline moved to {event.deadline.isoformat()}; "
            f"{len(report.refreshed)} pull request view(s) rewritten"
        )

    def target_of(self, event: CommentEvent) -> int | None:
        """The PR the comment is on; the tracking issue when it names no assignment."""
        if event.student is not None and event.assignment is not None:
            return self.prs.get((event.student, event.assignment))
        if event.student is not None:  # a student but no assignment: their latest PR
            theirs = [n for (s, _), n in self.prs.items() if s == event.student]
            return max(theirs) if theirs else None
        return self.tracking_issue(event.at)

    def regrade(self, pr: PullRequest, path: str, assignment: Assignment) -> Evaluation:
        content = self.forge.read_file(path, pr.head_sha)
        if content is None:
            return missing_result(assignment.id, path)
        return self.evaluate(content, assignment)

    def tracking_issue(self, at: datetime) -> int:
        found = self.forge.find_issue(self.course.tracking_issue_title)
        if found is None:
            render_tracker(self.ctx, at)
            found = self.forge.find_issue(self.course.tracking_issue_title)
        assert found is not None
        return found.number

    def assignment(self, assignment_id: str, where: str) -> Assignment:
        try:
            return self.course.assignments[assignment_id]
        except KeyError:
            known = ", ".join(self.course.assignments) or "none"
            raise ScenarioError(
                f"{where}: unknown assignment {assignment_id!r}; the course has: {known}"
            ) from None

    def run(self, scenario: Scenario) -> SimulationResult:
        for event in scenario.events:
            if isinstance(event, SubmitEvent):
                self.submit(event)
            elif isinstance(event, DeadlineEvent):
                self.move_deadline(event)
            else:
                self.comment(event)
        now = scenario.clock_end or EPOCH
        pages = render_tracker(self.ctx, now)
        return self.result(now, pages)

    def result(self, now: datetime, pages: list[str]) -> SimulationResult:
        ctx = self.ctx
        histories = dict(ctx.ledger.all())
        states = all_states(ctx, histories, now)
        empty = StudentHistory()
        certificates = [
            certificate_of(
                ctx.course,
                c.student,
                [states[(c.student, a)] for a in ctx.course.assignments],
                histories.get(c.student, empty),
            )
            for c in all_certificates(ctx, histories, states)
        ]
        return SimulationResult(
            records=[
                {
                    "student": s.student,
                    "assignment": s.assignment,
                    "status": s.status,
                    "override": s.override,
                }
                for s in states.values()
            ],
            pull_requests=[self.pr_json(n) for n in self.forge.pull_numbers()],
            certificates=[
                {
                    "student": c.student,
                    "complete": c.complete,
                    "counted": c.counted,
                    "eligible": c.eligible,
                    "enrolled": c.enrolled,
                    "disqualified": c.disqualified,
                }
                for c in certificates
            ],
            tracker="\n\n".join(pages),
            tracker_pages=pages,
        )

    def pr_json(self, number: int) -> dict[str, Any]:
        pr = self.forge.get_pull(number)
        student, assignment = self.pr_owner[number]
        sticky = [c for c in self.forge.bot_comments(number) if c.body.startswith(PR_MARKER)]
        return {
            "number": number,
            "student": student,
            "assignment": assignment,
            "labels": sorted(pr.labels),
            "comment": sticky[0].body if sticky else "",
        }


def with_scenario_people(course: CourseConfig, scenario: Scenario) -> CourseConfig:
    """The scenario's roster and TAs add to the course's."""
    roster = tuple(dict.fromkeys([*course.roster, *scenario.roster]))
    tas = tuple(dict.fromkeys([*course.tas, *scenario.tas]))
    return replace(course, roster=roster, tas=tas)
