"""Smoke test of `make bench`: each benchmark runs on a tiny size and returns a
well-formed figure. Nothing here is timed; the figures live in benchmarks/RESULTS.md."""

from __future__ import annotations

import math

import pytest

from benchmarks import execution, github, tracker
from benchmarks.figures import Figure, machine


def well_formed(figure: Figure) -> Figure:
    assert figure.name
    assert math.isfinite(figure.value)
    assert figure.value >= 0
    assert figure.unit
    assert (figure.ok is None) == (figure.target == "")
    line = figure.line()
    assert line.startswith(figure.name + ": ")
    assert "\n" not in line
    return figure


def test_machine_names_cpus_memory_and_python() -> None:
    text = machine()
    assert "CPUs" in text
    assert "GB RAM" in text
    assert "Python 3." in text


def test_tracker_render() -> None:
    figure = well_formed(tracker.tracker_render(students=30, assignments=4, reps=1))
    assert figure.unit == "ms"
    assert figure.ok
    assert 0 < int(figure.detail["largest_page_chars"]) < int(figure.detail["body_limit"])


@pytest.mark.kernel
def test_execution_ratios() -> None:
    for figure in (execution.single(reps=1), execution.batch(count=2, reps=1)):
        well_formed(figure)
        assert figure.unit == "ratio"
        assert 0 < figure.value < 10
        assert float(figure.detail["grader_s"]) > 0
        assert float(figure.detail["nbconvert_s"]) > 0


@pytest.mark.kernel
def test_requests_per_push() -> None:
    figure = well_formed(github.requests_per_push(sizes=(1, 3)))
    assert figure.unit == "requests"
    detail = figure.detail
    assert detail["first_push_with_1_records"] == detail["first_push_with_3_records"]
    assert detail["next_push_with_1_records"] == detail["next_push_with_3_records"]
    assert figure.value == max(
        detail["first_push_with_1_records"], detail["next_push_with_1_records"]
    )
    assert figure.ok


@pytest.mark.kernel
def test_concurrent_publishes() -> None:
    figure = well_formed(github.concurrent_publishes(students=2, workers=4))
    assert figure.detail["publishes"] == 8
    assert figure.detail["lost_updates"] == 0
    assert figure.detail["duplicate_comments"] == 0
    assert figure.ok
