"""Starter notebooks: grader.core.template and grader.adapters.notebooks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.adapters.course import load_course
from grader.adapters.notebooks import write_notebook
from grader.core.cells import cells_of
from grader.core.configcheck import ConfigError
from grader.core.model import Assignment, Cell, CellRun, CourseConfig, Exercise, NotebookRun
from grader.core.template import (
    CODE_PLACEHOLDER,
    MARKDOWN_PLACEHOLDER,
    answer_tag,
    template_notebook,
)
from grader.core.verdict import evaluate

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = datetime(2020, 8, 8, 23, 59, tzinfo=timezone(timedelta(hours=-12)))
EXERCISES = (
    Exercise("1", "Exercises of chapter 1", "any"),
    Exercise("summary", "One-page\nsummary", "markdown", min_words=150),
    Exercise("backward", "", "code", test="assert backward(2.0) == 4.0\n"),
)
SMALL = CourseConfig(
    name="C",
    assignments={
        "section-01": Assignment("section-01", "Intro", DEADLINE, exercises=EXERCISES),
        "section-02": Assignment("section-02", "Prelims", DEADLINE, False, ()),
    },
)


@pytest.fixture(scope="module")
def real_course() -> CourseConfig:
    return load_course(ROOT)


def cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return list(nb["cells"])


def tagged(nb: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    return [c for c in cells(nb) if tag in c["metadata"].get("tags", [])]


def as_model_cells(nb: dict[str, Any]) -> tuple[Cell, ...]:
    return tuple(
        Cell(i, c["cell_type"], c["source"], tuple(c["metadata"].get("tags", ())))
        for i, c in enumerate(cells(nb))
    )


def test_every_real_template_is_a_valid_notebook(real_course: CourseConfig) -> None:
    for aid in real_course.assignments:
        nbformat.validate(nbformat.from_dict(template_notebook(real_course, aid)))


def test_every_real_exercise_has_exactly_one_tagged_answer_cell(real_course: CourseConfig) -> None:
    for aid, assignment in real_course.assignments.items():
        nb = template_notebook(real_course, aid)
        for exercise in assignment.exercises:
            assert len(tagged(nb, f"exercise-{exercise.id}")) == 1, (aid, exercise.id)


def test_notebook_shape() -> None:
    nb = template_notebook(SMALL, "section-01")
    assert (nb["nbformat"], nb["nbformat_minor"]) == (4, 5)
    metadata: dict[str, Any] = nb["metadata"]  # type: ignore[assignment]
    assert metadata["kernelspec"]["name"] == "python3"
    ids = [c["id"] for c in cells(nb)]
    assert len(set(ids)) == len(ids) == 1 + 2 * len(EXERCISES)


def test_heading_then_answer_cell_per_exercise() -> None:
    nb = template_notebook(SMALL, "section-01")
    shape = [
        (c["cell_type"], c["source"].splitlines()[0], c["metadata"].get("tags")) for c in cells(nb)
    ]
    assert shape == [
        ("markdown", "# Intro", None),
        ("markdown", "## Exercise 1: Exercises of chapter 1", None),
        ("code", "# YOUR CODE HERE", ["exercise-1"]),
        ("markdown", "## Exercise summary: One-page summary", None),
        ("markdown", "YOUR ANSWER HERE", ["exercise-summary"]),
        ("markdown", "## Exercise backward", None),
        ("code", "# YOUR CODE HERE", ["exercise-backward"]),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("exercise_id", "cell_type", "source"),
    [
        ("1", "code", CODE_PLACEHOLDER),
        ("summary", "markdown", MARKDOWN_PLACEHOLDER),
        ("backward", "code", CODE_PLACEHOLDER),
    ],
)
def test_answer_cells_hold_the_contract_placeholders(
    exercise_id: str, cell_type: str, source: str
) -> None:
    [cell] = tagged(template_notebook(SMALL, "section-01"), answer_tag(exercise_id))
    assert (cell["cell_type"], cell["source"]) == (cell_type, source)


def test_placeholders_are_the_contract_words() -> None:
    assert CODE_PLACEHOLDER == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert MARKDOWN_PLACEHOLDER == "YOUR ANSWER HERE"


def test_prompt_tells_the_word_count_and_the_test() -> None:
    nb = template_notebook(SMALL, "section-01")
    prompts = {c["id"]: c["source"] for c in cells(nb)}
    assert "at least 150 words" in prompts["prompt-2"]
    assert "assert backward(2.0) == 4.0" in prompts["prompt-3"]


def test_intro_gives_the_deadline_with_its_offset_and_in_utc() -> None:
    intro = cells(template_notebook(SMALL, "section-01"))[0]["source"]
    assert "due 2020-08-08 23:59 (UTC-12:00), that is 2020-08-09 11:59 UTC" in intro


def test_assignment_without_exercises() -> None:
    nb = template_notebook(SMALL, "section-02")
    [intro] = cells(nb)
    assert "nothing to hand in" in intro["source"]


def test_unknown_assignment_names_the_choices() -> None:
    with pytest.raises(ConfigError) as caught:
        template_notebook(SMALL, "section-99")
    assert caught.value.problems == [
        'exercises/section-99.yml: no assignment "section-99" in this course; '
        "choose one of: section-01, section-02"
    ]


def test_each_answer_cell_belongs_to_its_exercise() -> None:
    nb = template_notebook(SMALL, "section-01")
    belonging = cells_of([e.id for e in EXERCISES], as_model_cells(nb))
    assert {key: [c.index for c in found] for key, found in belonging.items()} == {
        "1": [2],
        "summary": [4],
        "backward": [6],
    }


def test_untouched_template_is_incomplete_with_every_exercise_empty() -> None:
    nb = template_notebook(SMALL, "section-01")
    model_cells = as_model_cells(nb)
    runs = {
        c.index: CellRun("error", "NotImplementedError: ")
        for c in model_cells
        if c.cell_type == "code"
    }
    tests = {"backward": CellRun("error", "NameError: name 'backward' is not defined")}
    evaluation = evaluate(SMALL.assignments["section-01"], NotebookRun(model_cells, runs, tests))
    assert evaluation.status == "incomplete"
    assert [(r.id, r.status) for r in evaluation.exercises] == [
        ("1", "empty"),
        ("summary", "empty"),
        ("backward", "empty"),
    ]  # fmt: skip


def test_write_notebook_round_trips(tmp_path: Path) -> None:
    nb = template_notebook(SMALL, "section-01")
    path = tmp_path / "submissions" / "octocat" / "section-01.ipynb"
    write_notebook(nb, path)
    read = nbformat.read(path, as_version=4)
    assert [c.source for c in read.cells] == [c["source"] for c in cells(nb)]
    assert read.cells[2].metadata.tags == ["exercise-1"]
    assert path.read_text(encoding="utf-8").endswith("}\n")


def test_write_notebook_refuses_an_invalid_notebook(tmp_path: Path) -> None:
    nb = template_notebook(SMALL, "section-01")
    broken = {**nb, "cells": [{"cell_type": "code", "id": "a", "source": "x"}]}  # no outputs
    path = tmp_path / "bad.ipynb"
    with pytest.raises(nbformat.ValidationError):
        write_notebook(broken, path)
    assert not path.exists()
