"""What every use case works with, and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass

from grader.core.model import CourseConfig, RecordState
from grader.ports import Forge, RecordStore


@dataclass
class Context:
    forge: Forge
    course: CourseConfig
    ledger: RecordStore


@dataclass(frozen=True)
class Outcome:
    """What a use case did, for logs, step summaries and tests."""

    message: str
    states: tuple[RecordState, ...] = ()
