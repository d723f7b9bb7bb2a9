"""Concurrent runs of one PR leave the labels of the newest view (THREATS 21, 22).

An older run's label write may land after a newer run has set the labels: the
older run then re-reads the ledger, finds the newer push and renders its view
again. That round must set the labels whole, not diff them against the labels
it read at its start (they predate both writes), or the PR keeps `incomplete`
next to `complete`. Reproduced here deterministically on the local forge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from grader.adapters.ledger import Ledger
from grader.adapters.localforge import LocalForge
from grader.app.context import Context
from grader.app.submission import handle_submission
from grader.core.model import (
    Assignment,
    CourseConfig,
    Evaluation,
    Exercise,
    ExerciseResult,
)

DEADLINE = datetime(2020, 8, 9, 11, 59, tzinfo=UTC)
COURSE = CourseConfig(
    name="Race",
    assignments={"a1": Assignment("a1", "One", DEADLINE, exercises=(Exercise("1"),))},
)
PATH = "submissions/alice/a1.ipynb"
WRONG = Evaluation("a1", "incomplete", (ExerciseResult("1", "error", "AssertionError"),))
RIGHT = Evaluation("a1", "complete", (ExerciseResult("1", "ok"),))


class LateLabels:
    """The forge, except that the first label write runs `meanwhile` before it lands."""

    def __init__(self, forge: LocalForge, meanwhile: Callable[[], None]) -> None:
        self._forge = forge
        self._meanwhile: Callable[[], None] | None = meanwhile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._forge, name)

    def _first(self) -> None:
        if self._meanwhile is not None:
            run, self._meanwhile = self._meanwhile, None
            run()

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        self._first()
        self._forge.add_labels(number, labels)

    def set_labels(self, number: int, labels: Sequence[str]) -> None:
        self._first()
        self._forge.set_labels(number, labels)


def test_an_older_runs_late_label_write_is_repaired(tmp_path: Path) -> None:
    forge = LocalForge(tmp_path / "forge")
    ledger = Ledger(forge)
    number = forge.open_pull("alice", {PATH: b"wrong"})
    first_at = DEADLINE - timedelta(hours=5)

    def newer_run() -> None:  # the fix is pushed and graded while the first run writes
        forge.push(number, {PATH: b"right"})
        ctx = Context(forge=forge, course=COURSE, ledger=ledger)
        handle_submission(ctx, number, {PATH: RIGHT}, first_at + timedelta(hours=1))
        assert forge.get_pull(number).labels == ("complete",)

    slow = Context(forge=LateLabels(forge, newer_run), course=COURSE, ledger=ledger)  # type: ignore[arg-type]
    handle_submission(slow, number, {PATH: WRONG}, first_at)
    assert sorted(forge.get_pull(number).labels) == ["complete"]
    sticky = [c for c in forge.bot_comments(number) if c.body.startswith("<!-- grader:pr")]
    assert len(sticky) == 1
    assert '"status":"complete"' in sticky[0].body
