"""The last hour before a deadline: 300 students push 3 times each within 60 minutes.

Against the fake GitHub with GitHub's secondary limits enforced (80 content
writes a minute, 500 an hour, at most 100 requests at once) on a virtual clock.
Each push's grade run leaves its artifact; each publish is one job with its own
waiting budget, and a job's waits advance the virtual clock (jobs run one after
another, so the clock stays coherent). A publish that the limits stop fails
visibly, as on GitHub, and leaves its push to `reconcile`, which runs hourly
afterwards (THREATS 52, 53). The figure: nothing lost, no duplicate comment, no
job waiting past its budget; and what it cost.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from datetime import timedelta
from pathlib import Path

from benchmarks.figures import Figure
from grader.adapters.artifact import load_evidence, read_committed_cells
from grader.adapters.course import load_course
from grader.adapters.github import MAX_WAIT_S, GitHubForge, RateLimited, Settings
from grader.adapters.ledger import Ledger
from grader.app.context import Context
from grader.app.reconcile import reconcile
from grader.app.submission import GradeRun, publish
from grader.app.tracker import render_tracker
from grader.core.errors import GraderError
from tests.e2e_support import (
    COMPLETE,
    ON_TIME,
    WRONG,
    artifact_files,
    make_artifacts,
    retarget,
    write_course,
)
from tests.fakegithub import FakeGitHub

WRITES = ("POST", "PATCH", "PUT", "DELETE")
PLAN = (WRONG, WRONG, COMPLETE)  # each student's three pushes: two wrong, then right


class Clock:
    """Waits of one job: they move the fake's virtual clock, and are summed."""

    def __init__(self, gh: FakeGitHub) -> None:
        self.gh = gh
        self.waited = 0.0

    def sleep(self, seconds: float) -> None:
        self.waited += seconds
        self.gh.advance(seconds)


def context(gh: FakeGitHub, course: Path, clock: Clock) -> Context:
    settings = Settings.from_env(gh.env())
    forge = GitHubForge(settings, sleep=clock.sleep, throttle=False)
    return Context(forge=forge, course=load_course(course), ledger=Ledger(forge, sleep=clock.sleep))


def last_hour(students: int = 300, pushes: int = 3) -> Figure:
    with (
        contextlib.redirect_stderr(io.StringIO()),
        contextlib.redirect_stdout(io.StringIO()),
        tempfile.TemporaryDirectory(prefix="grader-bench-lasthour-") as tmp,
        FakeGitHub(owner="d2l", repo="study-group") as gh,
    ):
        root = Path(tmp)
        real = make_artifacts(root / "real")
        course = write_course(root / "course")
        gh.enforce_secondary_limits()
        return _run(gh, course, root, real, students, pushes)


def _run(
    gh: FakeGitHub, course: Path, root: Path, real: dict[str, Path], students: int, pushes: int
) -> Figure:
    schedule = sorted(
        (timedelta(seconds=(3600 * (i * pushes + n)) // (students * pushes)), i, n)
        for i in range(students)
        for n in range(pushes)
    )
    numbers: dict[int, int] = {}
    failed, longest, minute = 0, 0.0, -1
    start = gh.clock.now()
    for offset, i, n in schedule:
        while gh.clock.now() < start + offset.total_seconds():
            gh.advance(1)
        if int(offset.total_seconds() // 60) != minute:  # the debounced tracker job
            minute = int(offset.total_seconds() // 60)
            _quietly(lambda: render_tracker(context(gh, course, Clock(gh)), ON_TIME))
        ok, waited = _push(gh, course, root, real, numbers, i, n)
        failed += not ok
        longest = max(longest, waited)
    during = _counts(gh)
    hours = _reconcile_until_done(gh, course, numbers)
    quiet = _quiet_reconcile(gh, course)
    return _verdict(gh, numbers, students, pushes, failed, longest, during, hours, quiet)


def _push(
    gh: FakeGitHub,
    course: Path,
    root: Path,
    real: dict[str, Path],
    numbers: dict[int, int],
    i: int,
    n: int,
) -> tuple[bool, float]:
    login, content = f"s{i:03d}", PLAN[n % len(PLAN)]
    sha = f"{i:03x}{n:02x}".ljust(40, "a")
    files = [_pull_file(login, content)]
    if i in numbers:
        gh.push(numbers[i], sha, files)
    else:
        numbers[i] = gh.open_pull(login, sha, files, head_ref=f"w{i}")
    at = ON_TIME + timedelta(minutes=i % 60)
    run_id = gh.add_workflow_run(sha, at, head_repo=f"{login}/study-group", head_branch=f"w{i}")
    kind = "complete" if content == COMPLETE else "wrong"
    artifact = retarget(real[kind], root / "artifacts" / f"{login}-{kind}", login)
    gh.add_artifact(run_id, files=artifact_files(artifact))
    clock = Clock(gh)
    run = GradeRun(
        ".github/workflows/grade.yml", "pull_request", sha, f"{login}/study-group", at, f"w{i}",
        repository=gh.repository,
    )  # fmt: skip
    try:
        publish(context(gh, course, clock), run, load_evidence(artifact), read_committed_cells)
    except (RateLimited, GraderError):
        return False, clock.waited
    return True, clock.waited


def _pull_file(login: str, content: bytes) -> object:
    from tests.fakegithub import PullFile

    return PullFile(f"submissions/{login}/a1.ipynb", content=content)


def _quietly(work: object) -> None:
    with contextlib.suppress(GraderError):
        work()  # type: ignore[operator]


def _reconcile_until_done(gh: FakeGitHub, course: Path, numbers: dict[int, int]) -> int:
    """Hourly reconciles after the deadline until every head is recorded (at most 12)."""
    for hour in range(1, 13):
        gh.advance(3600)
        clock = Clock(gh)
        ctx = context(gh, course, clock)
        _quietly(lambda ctx=ctx: reconcile(ctx, gh.repository, read_committed_cells))
        if not _unrecorded(gh, numbers):
            return hour
    return -1


def _quiet_reconcile(gh: FakeGitHub, course: Path) -> tuple[int, int]:
    """One more hourly reconcile once everything is in place: (requests, writes)."""
    gh.advance(3600)
    _quietly(lambda: reconcile(context(gh, course, Clock(gh)), gh.repository, read_committed_cells))
    gh.advance(3600)
    before = len(gh.requests)
    _quietly(lambda: reconcile(context(gh, course, Clock(gh)), gh.repository, read_committed_cells))
    made = gh.requests[before:]
    return len(made), sum(1 for r in made if r.method in WRITES)


def _records(gh: FakeGitHub) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for path, data in gh.branch_files().items():
        if path.startswith("records/"):
            for login, entry in json.loads(data)["students"].items():
                found[login] = entry["assignments"].get("a1", [])
    return found


def _unrecorded(gh: FakeGitHub, numbers: dict[int, int]) -> int:
    records = _records(gh)
    heads = {i: gh.state.issues[n].pull.head_sha for i, n in numbers.items()}  # type: ignore[union-attr]
    return sum(
        1
        for i, sha in heads.items()
        if not any(e.get("sha") == sha for e in records.get(f"s{i:03d}", []))
    )


def _counts(gh: FakeGitHub) -> tuple[int, int, int]:
    """Requests, content writes GitHub accepted, and answers refused by a rate limit."""
    logged = gh.requests
    writes = sum(1 for r in logged if r.method in WRITES and r.status < 400)
    limited = sum(1 for r in logged if r.status in (403, 429))
    return len(logged), writes, limited


def _verdict(
    gh: FakeGitHub,
    numbers: dict[int, int],
    students: int,
    pushes: int,
    failed: int,
    longest: float,
    during: tuple[int, int, int],
    hours: int,
    quiet: tuple[int, int],
) -> Figure:
    records = _records(gh)
    complete = sum(1 for i in numbers if any(
        e.get("evaluation", {}).get("status") == "complete"  # type: ignore[union-attr]
        for e in records.get(f"s{i:03d}", [])
    ))  # fmt: skip
    duplicates = sum(
        max(0, sum(1 for a, b in gh.comments_on(n) if b.startswith("<!-- grader:pr")) - 1)
        for n in numbers.values()
    )
    lost = _unrecorded(gh, numbers)
    total, writes, _ = _counts(gh)
    detail: dict[str, float | int | str] = {
        "pushes": students * pushes,
        "requests_last_hour": during[0],
        "content_writes_accepted_last_hour": during[1],
        "rate_limited_answers_last_hour": during[2],
        "publishes_stopped_by_limits": failed,
        "longest_wait_s": round(longest, 1),
        "reconcile_hours_to_repair": hours,
        "reconcile_over_unchanged_prs_requests": quiet[0],
        "reconcile_over_unchanged_prs_writes": quiet[1],
        "requests_in_all": total,
        "content_writes_accepted_in_all": writes,
        "records_complete": complete,
        "duplicate_comments": duplicates,
        "unrecorded_heads": lost,
    }
    ok = lost == 0 and duplicates == 0 and longest <= MAX_WAIT_S and complete == len(numbers)
    ok = ok and quiet[1] == 0 and quiet[0] <= 6 + len(numbers) // 100
    name = f"last hour: {students} students x {pushes} pushes in 60 minutes, secondary limits on"
    return Figure(
        name, lost, "unrecorded heads", "0 lost, 0 duplicates, waits in budget", ok, detail
    )
