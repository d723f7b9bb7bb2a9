"""The ledger: the durable, event-sourced record store on the forge's state branch.

Layout: `records/shard-XX.json`, one file per shard of students (a stable hash
of the lower-cased login picks the shard). One graded push reads and writes a
single shard whatever the class size. Writes are compare-and-swap on the file's
version (the blob sha on GitHub): a conflict means re-read, re-apply, retry.

On GitHub, writes conflict per branch, not per file: the Contents API builds
each commit on the branch head it saw, and a write that raced another one to
the same branch gets 409 even when the files differ. So sharding keeps reads
and merges small, but does not keep writers apart: conflicts are retried after
a jittered exponential backoff ("full jitter"), which spreads a burst of
writers out, up to a bound; a rule that refuses the write is not a conflict
and is never retried (`StateRejected`).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from grader.core.codec import (
    decode_project_events,
    decode_record_events,
    decode_standing_events,
    encode_events,
)
from grader.core.history import StudentHistory
from grader.ports import Forge, LedgerUpdate, StateConflict

SHARDS = 64
PREFIX = "records/"
MAX_ATTEMPTS = 12
BACKOFF_BASE_S = 0.25  # the first retry waits up to this; each further one up to twice as long
BACKOFF_CAP_S = 8.0  # no single wait is longer (all of them: under a minute)


def backoff(attempt: int, draw: Callable[[], float] = random.random) -> float:
    """Seconds before retry `attempt` (1-based): uniform in [0, min(cap, base * 2^(n-1)))."""
    ceiling: float = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** (attempt - 1))
    return draw() * ceiling


def shard_of(student: str) -> str:
    digest = hashlib.sha256(student.lower().encode("utf-8")).digest()
    return f"{PREFIX}shard-{digest[0] % SHARDS:02d}.json"


Shard = dict[str, StudentHistory]


def _decode_shard(text: str) -> Shard:
    data = json.loads(text)
    shard: Shard = {}
    for login, entry in data.get("students", {}).items():
        history = StudentHistory()
        for assignment, events in entry.get("assignments", {}).items():
            history.assignments[assignment] = decode_record_events(events, f"{login}.{assignment}")
        history.project = decode_project_events(entry.get("project", []), f"{login}.project")
        standing = entry.get("standing", [])
        history.standing = decode_standing_events(standing, f"{login}.standing")
        shard[login] = history
    return shard


def _encode_shard(shard: Shard) -> str:
    students: dict[str, Any] = {}
    for login in sorted(shard):
        history = shard[login]
        entry: dict[str, Any] = {
            "assignments": {
                a: encode_events(history.assignments[a]) for a in sorted(history.assignments)
            },
            "project": encode_events(history.project),
        }
        if history.standing:  # absent when empty: older shards stay byte-identical
            entry["standing"] = encode_events(history.standing)
        students[login] = entry
    return json.dumps({"version": 1, "students": students}, indent=1, sort_keys=True) + "\n"


class Ledger:
    """Reads and updates student histories through a forge's state calls."""

    def __init__(
        self,
        forge: Forge,
        *,
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.forge = forge
        self._sleep = sleep
        self._draw = draw

    def history(self, student: str) -> StudentHistory:
        found = self.forge.read_state(shard_of(student))
        if found is None:
            return StudentHistory()
        return _decode_shard(found[0]).get(student.lower(), StudentHistory())

    def update(self, student: str, change: Callable[[StudentHistory], None]) -> LedgerUpdate:
        """Apply `change` to the student's history with compare-and-swap retries."""
        path = shard_of(student)
        login = student.lower()
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                self._sleep(backoff(attempt, self._draw))
            found = self.forge.read_state(path)
            shard = _decode_shard(found[0]) if found else {}
            history = shard.setdefault(login, StudentHistory())
            change(history)
            text = _encode_shard(shard)
            if found is not None and found[0] == text:
                return LedgerUpdate(history, changed=False)  # nothing changed: no write
            try:
                self.forge.write_state(path, text, found[1] if found else None, f"grader: {login}")
            except StateConflict:
                continue
            return LedgerUpdate(history, changed=True)
        raise StateConflict(
            f"could not update {path} after {MAX_ATTEMPTS} attempts: other writers kept "
            "winning. Nothing was lost: re-run this job, or let the hourly reconcile repair it."
        )

    def all(self) -> Iterator[tuple[str, StudentHistory]]:
        """Every student's history, read in one go (one request on GitHub)."""
        for _path, text in sorted(self.forge.read_state_all(PREFIX).items()):
            yield from _decode_shard(text).items()
