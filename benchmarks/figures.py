"""One measured figure and how it prints; the machine it was measured on."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str  # "ratio", "requests", "ms", ...
    target: str = ""  # e.g. "<= 0.6"; empty when there is none
    ok: bool | None = None  # whether the target holds; None without a target
    detail: dict[str, float | int | str] = field(default_factory=dict)

    def line(self) -> str:
        value = f"{self.value:.3f}" if self.unit == "ratio" else f"{self.value:g}"
        target = f" (target {self.target}: {'met' if self.ok else 'MISSED'})" if self.target else ""
        extra = ", ".join(f"{k}={_fmt(v)}" for k, v in self.detail.items())
        return f"{self.name}: {value} {self.unit}{target}" + (f"; {extra}" if extra else "")


def _fmt(value: float | int | str) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    """nproc, memory, CPU model and Python version, for RESULTS.md."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    return (
        f"{os.cpu_count()} CPUs ({model}), {mem_kb / 1024 / 1024:.1f} GB RAM, "
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}"
    )
