"""The ledger on the local forge: sharding, compare-and-swap, no-op writes."""

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from grader.adapters.ledger import SHARDS, Ledger, shard_of
from grader.adapters.localforge import LocalForge
from grader.core.history import StudentHistory
from grader.core.model import Evaluation, Extension, Submission
from grader.ports import StateConflict

T0 = datetime(2020, 8, 8, 12, 0, tzinfo=UTC)


def submission(name: str, minutes: int = 0) -> Submission:
    ev = Evaluation(assignment="section-01", status="complete")
    sha = hashlib.sha1(name.encode()).hexdigest()
    return Submission(at=T0 + timedelta(minutes=minutes), sha=sha, pr=1, evaluation=ev)


def test_shards_are_stable_and_case_insensitive() -> None:
    assert shard_of("Alice") == shard_of("alice")
    names = {shard_of(f"student{i}") for i in range(2000)}
    assert len(names) == SHARDS  # 2,000 students spread over every shard


def test_update_round_trips_events(tmp_path: Path) -> None:
    ledger = Ledger(LocalForge(tmp_path))
    ledger.update(
        "Alice", lambda h: h.assignments.setdefault("section-01", []).append(submission("a"))
    )
    ext = Extension(at=T0, delta=timedelta(days=2), by="tina")
    ledger.update("alice", lambda h: h.assignments["section-01"].append(ext))
    history = ledger.history("ALICE")
    assert history.assignments["section-01"] == [submission("a"), ext]
    assert dict(ledger.all()).keys() == {"alice"}


def test_unchanged_update_makes_no_write(tmp_path: Path) -> None:
    forge = LocalForge(tmp_path)
    ledger = Ledger(forge)
    ledger.update("bob", lambda h: h.assignments.setdefault("a", []).append(submission("x")))
    before = forge.writes
    ledger.update("bob", lambda h: None)
    assert forge.writes == before


class RacingForge(LocalForge):
    """Another writer sneaks in between our read and our write, `races` times."""

    def __init__(self, root: Path, races: int) -> None:
        super().__init__(root)
        self.races = races

    def write_state(self, path: str, text: str, version: str | None, message: str) -> str:
        if self.races:
            self.races -= 1
            other = Ledger(LocalForge(self.root))
            other.update(
                "carol",
                lambda h: h.assignments.setdefault("x", []).append(submission(f"c{self.races}")),
            )
        return super().write_state(path, text, version, message)


def test_conflict_is_retried_and_nothing_is_lost(tmp_path: Path) -> None:
    forge = RacingForge(tmp_path, races=3)
    ledger = Ledger(forge)
    assert shard_of("carol") == shard_of("carol")
    ledger.update("carol", lambda h: h.assignments.setdefault("y", []).append(submission("mine")))
    history = ledger.history("carol")
    assert len(history.assignments["x"]) == 3  # the other writer's three updates
    assert history.assignments["y"] == [submission("mine")]


def test_stale_version_raises_conflict(tmp_path: Path) -> None:
    forge = LocalForge(tmp_path)
    forge.write_state("records/a.json", "{}", None, "first")
    with pytest.raises(StateConflict):
        forge.write_state("records/a.json", "{}\n", None, "stale")


def test_concurrent_threads_lose_no_update(tmp_path: Path) -> None:
    forge = LocalForge(tmp_path)
    lock = threading.Lock()

    class Serialised(LocalForge):
        # The local forge's compare-and-swap is check-then-write; a lock makes it atomic
        # the way GitHub's is, so only the ledger's retry loop is under test.
        def write_state(self, path: str, text: str, version: str | None, message: str) -> str:
            with lock:
                return forge.write_state(path, text, version, message)

    shared = Serialised(tmp_path)
    students = [f"s{i % 5}" for i in range(40)]

    def work(i: int, login: str) -> None:
        Ledger(shared).update(
            login, lambda h: h.assignments.setdefault("a", []).append(submission(f"{i}"))
        )

    threads = [threading.Thread(target=work, args=(i, s)) for i, s in enumerate(students)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    histories = dict(Ledger(forge).all())
    assert sum(len(h.assignments["a"]) for h in histories.values()) == 40
    assert isinstance(histories["s0"], StudentHistory)
