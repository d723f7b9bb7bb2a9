"""GitHub mode on the fake server: requests per graded push, and publishes under faults.

Reuses the end-to-end helpers of tests/e2e_support.py (the same World the
tests drive): `grader.cli.main.main(["publish", ...])` with an event file and an
environment pointing at tests/fakegithub.
"""

from __future__ import annotations

import contextlib
import io
import random
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from benchmarks.figures import Figure

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grader.cli.common import OK  # noqa: E402
from tests.e2e_support import (  # noqa: E402
    COMPLETE,
    ON_TIME,
    WRONG,
    World,
    make_artifacts,
    publish_concurrently,
    retarget,
    seed_ledger,
    write_course,
)
from tests.fakegithub import FakeGitHub  # noqa: E402

COMMENTS = r"/issues/\d+/comments$"


@contextlib.contextmanager
def world() -> Iterator[World]:
    with (
        contextlib.redirect_stderr(io.StringIO()),  # "grader: graded PR #1" per publish
        contextlib.redirect_stdout(io.StringIO()),  # the figures are the only output
        tempfile.TemporaryDirectory(prefix="grader-bench-gh-") as tmp,
        pytest.MonkeyPatch.context() as monkeypatch,
        FakeGitHub(owner="d2l", repo="study-group") as gh,
    ):
        yield World(gh, write_course(Path(tmp) / "course"), Path(tmp), monkeypatch)


def push_cost(real: dict[str, Path], existing: int) -> tuple[int, int]:
    """Requests of the first and of the second graded push to a PR (on time),
    with `existing` records in the ledger."""
    with world() as w:
        seed_ledger(w.gh, existing)
        w.gh.clear_log()
        number, first = w.submit("alice", "1" * 40, content=WRONG)
        if w.publish(real["wrong"], first) != OK:
            raise RuntimeError("the first publish failed")
        first_cost = len(w.gh.requests)
        w.gh.clear_log()
        _, second = w.submit("alice", "2" * 40, number=number)
        if w.publish(real["complete"], second) != OK:
            raise RuntimeError("the second publish failed")
        return first_cost, len(w.gh.requests)


def requests_per_push(
    sizes: tuple[int, int] = (10, 1000), real: dict[str, Path] | None = None
) -> Figure:
    with (
        contextlib.redirect_stderr(io.StringIO()),
        contextlib.redirect_stdout(io.StringIO()),
        tempfile.TemporaryDirectory(prefix="grader-bench-art-") as tmp,
    ):
        real = real or make_artifacts(Path(tmp))
        costs = [push_cost(real, n) for n in sizes]
    flat = [c for pair in costs for c in pair]
    ok = max(flat) <= 10 and len(set(costs)) == 1
    detail: dict[str, float | int | str] = {}
    for n, (first, second) in zip(sizes, costs, strict=True):
        detail[f"first_push_with_{n}_records"] = first
        detail[f"next_push_with_{n}_records"] = second
    return Figure(
        "REST requests per graded push", max(flat), "requests", "<= 10 and equal", ok, detail
    )


def concurrent_publishes(students: int = 50, fault_rate: float = 0.1, workers: int = 16) -> Figure:
    """students x 2 assignments x 2 pushes publishes at once, shuffled, with injected faults."""
    with tempfile.TemporaryDirectory(prefix="grader-bench-art-") as tmp, world() as w:
        real = make_artifacts(Path(tmp))
        jobs, expected = _plan(w, real, students)
        faults = _inject(w, round(len(jobs) * fault_rate))
        w.gh.clear_log()
        codes = publish_concurrently(w, jobs, workers)
        return _verdict(w, jobs, expected, codes, faults)


def _plan(
    w: World, real: dict[str, Path], students: int
) -> tuple[list[tuple[Path, dict[str, Any]]], dict[int, tuple[str, str, int]]]:
    rng = random.Random(21)
    jobs: list[tuple[Path, dict[str, Any]]] = []
    expected: dict[int, tuple[str, str, int]] = {}
    made: dict[tuple[str, str, bytes], Path] = {}
    for i in range(students):
        login = f"student{i:03d}"
        for assignment in ("a1", "a2"):
            number = None
            for push, content in enumerate((WRONG, COMPLETE) if i % 2 else (COMPLETE, WRONG)):
                sha = f"{i:03d}{assignment}{push}".ljust(40, "0")
                at = ON_TIME + timedelta(minutes=i, seconds=push * 300)
                number, event = w.submit(
                    login, sha, assignment=assignment, content=content, number=number, at=at
                )
                key = (login, assignment, content)
                if key not in made:
                    kind = "complete" if content == COMPLETE else "wrong"
                    made[key] = retarget(
                        real[kind],
                        w.tmp / "artifacts" / f"{login}-{assignment}-{kind}",
                        login,
                        assignment,
                    )
                jobs.append((made[key], event))
            assert number is not None
            expected[number] = (login, assignment, 2)
    rng.shuffle(jobs)
    return jobs, expected


def _inject(w: World, total: int) -> int:
    """About `total` faults: lost comment POSTs, 5xx on PATCH and ledger PUTs, rate limits."""
    kinds = [
        lambda: w.gh.fail_next("POST", COMMENTS, 502, after_apply=True),
        lambda: w.gh.fail_next("PATCH", r"/issues/comments/\d+$", 502),
        lambda: w.gh.fail_next("PUT", r"/contents/records/", 503),
        lambda: w.gh.rate_limit_next("GET", r"/pulls$", "secondary", retry_after=0),
    ]
    for i in range(total):
        kinds[i % len(kinds)]()
    return total


def _verdict(
    w: World,
    jobs: list[tuple[Path, dict[str, Any]]],
    expected: dict[int, tuple[str, str, int]],
    codes: list[int],
    faults: int,
) -> Figure:
    records = w.records()
    lost = 0
    duplicates = 0
    for number, (login, assignment, pushes) in expected.items():
        events = records.get((login, assignment), [])
        lost += pushes - sum(1 for e in events if e["type"] == "submission")
        duplicates += max(0, len(w.bot_comments(number)) - 1)
    failed = sum(1 for c in codes if c != OK)
    detail: dict[str, float | int | str] = {
        "publishes": len(jobs),
        "faults": faults,
        "lost_updates": lost,
        "duplicate_comments": duplicates,
        "failed_runs": failed,
        "requests_per_publish": round(len(w.gh.requests) / len(jobs), 1),
    }
    ok = lost == 0 and duplicates == 0 and failed == 0
    name = f"{len(jobs)} concurrent publishes with {faults} faults: total requests"
    return Figure(name, len(w.gh.requests), "requests", "0 lost, 0 duplicates", ok, detail)
