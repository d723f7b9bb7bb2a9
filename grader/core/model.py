"""Frozen value types shared by the core and the shell.

Everything here is plain data: no I/O, no clock. Datetimes are always aware.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Literal

AnswerKind = Literal["code", "markdown", "any"]
ExerciseStatus = Literal["ok", "missing", "empty", "error", "timeout", "not-run"]
NotebookStatus = Literal["complete", "incomplete"]
RecordStatus = Literal["open", "missing", "complete", "incomplete", "late"]
CellType = Literal["code", "markdown", "raw"]
RunStatus = Literal["ok", "error", "timeout", "not-run"]


# --- course configuration -------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str = ""
    answer: AnswerKind = "any"
    min_words: int | None = None
    test: str | None = None


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    deadline: datetime
    counts_for_certificate: bool = True
    exercises: tuple[Exercise, ...] = ()


@dataclass(frozen=True)
class ExecutionLimits:
    cell_timeout_s: float = 120
    notebook_timeout_s: float = 1200
    memory_mb: int = 4096
    max_output_kb: int = 512
    network: bool = False
    pass_env: tuple[str, ...] = ()


@dataclass(frozen=True)
class CertificateRule:
    min_complete_fraction: Fraction = Fraction(4, 5)
    require_final_project: bool = True
    # only enrolled students (the roster, or `/grader enroll`) can be eligible
    require_enrollment: bool = False


@dataclass(frozen=True)
class LabelNames:
    complete: str = "complete"
    incomplete: str = "incomplete"
    late: str = "late"

    def all(self) -> tuple[str, str, str]:
        return (self.complete, self.incomplete, self.late)


@dataclass(frozen=True)
class CourseConfig:
    name: str
    timezone: str = "UTC"
    grace_hours: float = 48
    roster: tuple[str, ...] = ()
    tas: tuple[str, ...] = ()
    # student login (lower case) -> assignment id -> extension
    extensions: Mapping[str, Mapping[str, timedelta]] = field(default_factory=dict)
    certificate: CertificateRule = CertificateRule()
    labels: LabelNames = LabelNames()
    tracking_issue_title: str = "Progress tracker"
    execution: ExecutionLimits = ExecutionLimits()
    # assignment id -> Assignment, in deadline order
    assignments: Mapping[str, Assignment] = field(default_factory=dict)
    notebook_requirements: str | None = None
    # `/grader enroll` after this moment is refused; None: enrollment never closes
    enrollment_deadline: datetime | None = None
    # glob patterns of the files a submission folder may hold (THREATS 40)
    submission_files: tuple[str, ...] = ("*.ipynb",)

    @property
    def grace(self) -> timedelta:
        return timedelta(hours=self.grace_hours)


# --- notebooks: what was submitted and what happened when it ran -----------


@dataclass(frozen=True)
class Cell:
    """One cell as the student committed it (outputs are never trusted)."""

    index: int
    cell_type: CellType
    source: str
    tags: tuple[str, ...] = ()
    grade_id: str | None = None


@dataclass(frozen=True)
class CellRun:
    """What the grader's kernel did with one code cell (or one exercise test)."""

    status: RunStatus
    error: str = ""  # "Ename: evalue" plus the first traceback lines, ANSI stripped


@dataclass(frozen=True)
class NotebookRun:
    """Everything the runner learned about one notebook.

    `runs` maps a code cell's index to its result; `tests` maps an exercise id
    to the result of its test snippet. `problems` are notebook-level problems
    (unreadable file, kernel failed to start, notebook timeout...).
    """

    cells: tuple[Cell, ...] = ()
    runs: Mapping[int, CellRun] = field(default_factory=dict)
    tests: Mapping[str, CellRun] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    readable: bool = True


@dataclass(frozen=True)
class ExerciseResult:
    id: str
    status: ExerciseStatus
    detail: str = ""


@dataclass(frozen=True)
class Evaluation:
    assignment: str
    status: NotebookStatus
    exercises: tuple[ExerciseResult, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.status == "complete"


# --- records: the event-sourced history of one student and assignment ------


@dataclass(frozen=True)
class Submission:
    at: datetime  # trusted time: when the forge first graded this commit
    sha: str
    pr: int
    evaluation: Evaluation


@dataclass(frozen=True)
class Override:
    at: datetime
    status: Literal["complete", "incomplete"]
    by: str
    note: str = ""


@dataclass(frozen=True)
class Extension:
    at: datetime
    delta: timedelta
    by: str


@dataclass(frozen=True)
class Regrade:
    """A re-evaluation of a commit already submitted (same trusted time)."""

    at: datetime
    sha: str
    evaluation: Evaluation


@dataclass(frozen=True)
class Undo:
    """A TA took back their own latest command still in force on this record.

    Nothing is deleted (the ledger is history): the undone command stays, and
    replaying the events skips it. Which command is undone follows from the
    order of events alone: the latest one by the same TA not already undone.
    """

    at: datetime
    by: str


Event = Submission | Override | Extension | Regrade | Undo

Feedback = Literal["none", "full", "late-note", "window-closed"]


@dataclass(frozen=True)
class RecordState:
    student: str
    assignment: str
    status: RecordStatus
    override: bool = False
    submitted_at: datetime | None = None  # time of the submission that decided the status
    pr: int | None = None
    sha: str | None = None
    deadline: datetime | None = None  # effective deadline D (with extension)
    feedback: Feedback = "none"  # what the latest submission deserves
    note: str = ""


@dataclass(frozen=True)
class ProjectPresented:
    """A TA recorded that a student presented the final project."""

    at: datetime
    by: str


@dataclass(frozen=True)
class Enrolled:
    """The student enrolled themselves with `/grader enroll` (`by` is the student)."""

    at: datetime
    by: str


@dataclass(frozen=True)
class Disqualified:
    """A TA made the student ineligible for the certificate (`/grader disqualify`).

    No reason is ever stored: the ledger is public, and so is anything derived from it.
    """

    at: datetime
    by: str


# Facts about the student rather than one assignment; an Undo here takes back
# the TA's latest disqualification or project mark (`StudentHistory.project`).
StandingEvent = Enrolled | Disqualified | Undo


@dataclass(frozen=True)
class Certificate:
    student: str
    complete: int
    counted: int
    project: bool
    eligible: bool
    enrolled: bool = True  # on the roster or enrolled by command
    disqualified: bool = False  # a TA decision; never with a public reason


# --- forge values (plain data; the Forge protocol lives in grader/ports.py) ---


@dataclass(frozen=True)
class PullRequest:
    number: int
    author: str
    head_sha: str
    head_repo: str | None  # "owner/name"; None when the fork was deleted
    state: str  # "open" | "closed"
    labels: tuple[str, ...] = ()
    title: str = ""
    head_ref: str = ""  # the head branch name
    base_ref: str = "main"  # the branch the PR merges into


@dataclass(frozen=True)
class ChangedFile:
    path: str
    status: str  # added | modified | removed | renamed | copied | changed
    previous_path: str | None = None
    mode: str | None = None  # git mode at head: 100644, 100755, 120000 (link), 160000 (submodule)


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    body: str


@dataclass(frozen=True)
class Issue:
    number: int
    title: str
    body: str
