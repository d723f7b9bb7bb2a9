"""GitHub mode end to end under load and faults (THREATS 21-24, 26-28).

Many `grader publish` runs at once, each in its own thread with its own event
file and environment, against the fake GitHub injecting 5xx answers, rate
limits and lost responses.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from grader.adapters.ledger import shard_of
from grader.cli import common as cli
from grader.cli.common import OK, USAGE
from grader.cli.main import main
from tests import e2e_support
from tests.e2e_support import (
    COMPLETE,
    ON_TIME,
    WRONG,
    World,
    publish_concurrently,
    retarget,
)
from tests.fakegithub import PullFile

pytestmark = pytest.mark.kernel
world = e2e_support.world  # fixtures
real_artifacts = e2e_support.real_artifacts

COMMENTS = r"/issues/\d+/comments$"


# --- THREATS 21, 22: 200 events at once, out of order, with faults ---------------------------


def test_rows_21_22_two_hundred_publish_events_at_once(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    rng = random.Random(21)
    plans = [(WRONG, COMPLETE), (COMPLETE, WRONG), (WRONG, WRONG), (COMPLETE, COMPLETE)]
    artifacts: dict[tuple[str, str, bytes], Path] = {}
    jobs: list[tuple[Path, dict[str, Any]]] = []
    expected: dict[int, tuple[str, str, str, list[str]]] = {}
    for i in range(50):
        login = f"student{i:02d}"
        for assignment in ("a1", "a2"):
            first, second = plans[(i + (assignment == "a2")) % len(plans)]
            shas = [f"{i:02d}{assignment}{n}".ljust(40, "0") for n in (1, 2)]
            t1 = ON_TIME + timedelta(minutes=i)
            number, e1 = world.submit(login, shas[0], assignment=assignment, content=first, at=t1)
            _, e2 = world.submit(
                login, shas[1], assignment=assignment, content=second, number=number,
                at=t1 + timedelta(minutes=5),
            )  # fmt: skip
            for event, content in ((e1, first), (e2, second)):
                key = (login, assignment, content)
                if key not in artifacts:
                    kind = "complete" if content == COMPLETE else "wrong"
                    target = world.tmp / "artifacts" / f"{login}-{assignment}-{kind}"
                    artifacts[key] = retarget(real_artifacts[kind], target, login, assignment)
                jobs.append((artifacts[key], event))
            label = "complete" if COMPLETE in (first, second) else "incomplete"
            expected[number] = (login, assignment, label, shas)
    assert len(jobs) == 200
    assert len({shard_of(f"student{i:02d}") for i in range(50)}) < 50  # shards are shared
    rng.shuffle(jobs)  # runs finish out of order: often the newer push first

    # About 10% of the events meet a fault.
    world.gh.fail_next("POST", COMMENTS, 502, times=6, after_apply=True)  # lost answer
    world.gh.fail_next("PATCH", r"/issues/comments/\d+$", 502, times=4)
    world.gh.fail_next("PUT", r"/contents/records/", 503, times=3)
    for _ in range(4):
        world.gh.rate_limit_next("GET", r"/pulls$", "secondary", retry_after=rng.choice([0, 1]))
    world.gh.rate_limit_next("POST", r"/labels$", "429", retry_after=0)
    world.gh.rate_limit_next("GET", r"/actions/runs$", "primary", retry_after=1)

    started = time.monotonic()
    codes = publish_concurrently(world, jobs, workers=16)
    elapsed = time.monotonic() - started
    assert codes == [OK] * 200
    assert elapsed < 90  # about 40 s on two CPUs

    records = world.records()
    for number, (login, assignment, label, pushed) in expected.items():
        bodies = world.bot_comments(number)
        assert len(bodies) == 1, (number, bodies)
        assert world.gh.labels_on(number) == [label], number
        assert world.facts(number)["status"] == label, number
        shas = sorted(e["sha"] for e in records[(login, assignment)] if e["type"] == "submission")
        assert shas == pushed, (login, assignment)  # nothing lost, nothing doubled
    assert len(records) == 100


# --- THREATS 23, 24: rate limits and 5xx -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", r"/pulls$", "secondary"),
        ("POST", COMMENTS, "429"),
        ("PUT", r"/contents/records/", "secondary"),
        ("GET", r"/contents/submissions/", "primary"),
    ],
)
def test_row_23_rate_limits_are_waited_out(
    world: World, real_artifacts: dict[str, Path], method: str, path: str, kind: str
) -> None:
    number, event = world.submit("alice", "a" * 40)
    world.gh.rate_limit_next(method, path, kind, retry_after=1)
    started = time.monotonic()
    assert world.publish(real_artifacts["complete"], event) == OK
    assert time.monotonic() - started >= 0.9  # retry-after (or the reset time) honoured
    assert world.gh.labels_on(number) == ["complete"]
    assert len(world.bot_comments(number)) == 1
    statuses = [r.status for r in world.gh.requests if r.method == method]
    assert statuses.count(403) + statuses.count(429) == 1


def test_row_24_lost_comment_post_makes_no_duplicate(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number, event = world.submit("alice", "a" * 40)
    world.gh.fail_next("POST", COMMENTS, 502, after_apply=True)
    assert world.publish(real_artifacts["complete"], event) == OK
    assert len(world.bot_comments(number)) == 1
    assert world.gh.labels_on(number) == ["complete"]


def test_row_24_5xx_on_patch_is_retried(world: World, real_artifacts: dict[str, Path]) -> None:
    number, first = world.submit("alice", "1" * 40, content=WRONG)
    assert world.publish(real_artifacts["wrong"], first) == OK
    _, second = world.submit("alice", "2" * 40, number=number)
    world.gh.fail_next("PATCH", r"/issues/comments/\d+$", 502, times=2)
    assert world.publish(real_artifacts["complete"], second) == OK
    assert world.facts(number)["status"] == "complete"
    assert world.gh.count("PATCH") == 3


def test_row_24_5xx_that_outlasts_retries_fails_loudly(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    number, event = world.submit("alice", "a" * 40)
    world.gh.fail_next("POST", COMMENTS, 500, times=4)  # the first try and all 3 re-posts
    assert world.publish(real_artifacts["complete"], event) == cli.INTERNAL
    assert world.bot_comments(number) == []
    # The ledger write went through; a re-run of publish finishes the job, writing once.
    assert world.publish(real_artifacts["complete"], event) == OK
    assert len(world.bot_comments(number)) == 1


# --- THREATS 26: labels --------------------------------------------------------------------------


def test_row_26_label_over_50_characters_is_a_config_error(world: World) -> None:
    course = world.course / "course.yml"
    course.write_text(course.read_text() + f"labels: {{complete: {'x' * 51}}}\n")
    assert world.main("render-tracker") == USAGE
    assert world.gh.requests == []


@pytest.mark.parametrize("command", ["render-tracker", "reconcile"])
def test_row_26_missing_labels_are_created(world: World, command: str) -> None:
    course = world.course / "course.yml"
    course.write_text(course.read_text() + "labels: {complete: 'grader: done'}\n")
    world.gh.add_label("incomplete")
    assert world.main(command) == OK
    assert sorted(world.gh.repo_labels()) == ["grader: done", "incomplete", "late"]
    world.gh.clear_log()
    assert world.main(command) == OK
    assert world.gh.count("POST", r"/labels$") == 0


# --- THREATS 27: pagination ----------------------------------------------------------------------


def test_row_27_more_than_100_prs_comments_and_files(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    data = [
        PullFile(f"submissions/alice/.ipynb_checkpoints/{n:03d}-checkpoint.ipynb")
        for n in range(150)
    ]
    number, event = world.submit("alice", "a" * 40, extra=data)
    for n in range(120):  # alice's PR is now the least recently updated, on page 2
        world.gh.open_pull(f"other{n}", f"{n + 1:040x}", head_ref=f"b{n}")
    for n in range(130):
        world.gh.add_comment(number, "alice", f"comment {n}")
    assert world.publish(real_artifacts["complete"], event) == OK
    assert world.gh.labels_on(number) == ["complete"]
    assert world.gh.count("GET", r"/pulls$") == 2
    # The run is judged by its own commit: one compare lists all 151 files at once.
    assert world.gh.count("GET", r"/compare/") == 1
    assert world.gh.count("GET", rf"/pulls/{number}/files$") == 0
    # The bot's comment is the 131st: a later publish must find it, not add another.
    _, second = world.submit("alice", "b" * 40, number=number, extra=data)
    assert world.publish(real_artifacts["complete"], second) == OK
    assert len(world.bot_comments(number)) == 1


# --- THREATS 28: ledger write conflicts -----------------------------------------------------------


def test_row_28_conflicting_ledger_write_is_retried_without_loss(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    # bob shares alice's shard; his record lands between alice's read and her write.
    bob = next(f"bob{n}" for n in range(1000) if shard_of(f"bob{n}") == shard_of("alice"))
    _, bob_event = world.submit(bob, "b" * 40)
    bob_artifact = retarget(real_artifacts["complete"], world.tmp / "bob", bob)
    number, event = world.submit("alice", "a" * 40)
    assert world.publish(real_artifacts["complete"], event) == OK  # creates the shard

    _, second = world.submit("alice", "c" * 40, number=number, content=WRONG)

    def bob_publishes() -> None:
        # Runs in the server thread that holds the state lock while answering alice's PUT:
        # let go of it so that bob's whole publish runs in between.
        world.gh.state.lock.release()
        try:
            with pytest.MonkeyPatch.context() as mp:
                env = world.gh.env(GRADER_THROTTLE="0")
                env["GITHUB_EVENT_PATH"] = str(world.write_event(bob_event))
                for key, value in env.items():
                    mp.setenv(key, value)
                argv = ["publish", "--artifact", str(bob_artifact), "--course", str(world.course)]
                assert main(argv) == OK
        finally:
            world.gh.state.lock.acquire()

    world.gh.before_next("PUT", r"/contents/records/", bob_publishes)
    assert world.publish(real_artifacts["wrong"], second) == OK
    puts = [r.status for r in world.gh.requests if r.method == "PUT"]
    assert 409 in puts
    records = world.records()
    assert [e["sha"] for e in records[(bob.lower(), "a1")]] == ["b" * 40]
    assert [e["sha"] for e in records[("alice", "a1")]] == ["a" * 40, "c" * 40]
