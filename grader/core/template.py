"""Starter notebooks: one heading and one tagged answer cell per exercise.

Pure: builds the notebook as a plain dict in nbformat v4.5 JSON shape; the
adapter `grader.adapters.notebooks.write_notebook` validates and writes it.
The answer cells hold exactly the placeholders the verdict treats as
unanswered (CONTRACT section 2), so an untouched template is never complete.
"""

from __future__ import annotations

from datetime import UTC, datetime

from grader.core.configcheck import ConfigError, ConfigProblem
from grader.core.model import Assignment, CourseConfig, Exercise

__all__ = [
    "CODE_PLACEHOLDER",
    "MARKDOWN_PLACEHOLDER",
    "answer_tag",
    "template_notebook",
]

CODE_PLACEHOLDER = "# YOUR CODE HERE\nraise NotImplementedError()"
MARKDOWN_PLACEHOLDER = "YOUR ANSWER HERE"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
_HOW = {
    "code": "Answer in code, in the cell below.",
    "markdown": "Answer in prose, in the markdown cell below.",
    "any": "Answer in the cell below, with code, prose or both.",
}


def answer_tag(exercise_id: str) -> str:
    """The cell tag that marks an answer to `exercise_id`."""
    return f"exercise-{exercise_id}"


def template_notebook(course: CourseConfig, assignment_id: str) -> dict[str, object]:
    """The starter notebook of `assignment_id`, as nbformat v4.5 JSON data.

    Raises `ConfigError` when the course has no such assignment.
    """
    assignment = course.assignments.get(assignment_id)
    if assignment is None:
        raise ConfigError([_unknown(course, assignment_id)])
    cells = [_markdown("intro", _intro(assignment))]
    for number, exercise in enumerate(assignment.exercises, start=1):
        cells.append(_markdown(f"prompt-{number}", _prompt(exercise)))
        cells.append(_answer(f"answer-{number}", exercise))
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}},
        "cells": cells,
    }


def _unknown(course: CourseConfig, assignment_id: str) -> ConfigProblem:
    known = ", ".join(course.assignments) or "none"
    return ConfigProblem(
        f"exercises/{assignment_id}.yml",
        "",
        f'no assignment "{assignment_id}" in this course; choose one of: {known}',
    )


def _one_line(text: str) -> str:
    """Titles go into headings, which must stay on one line."""
    return " ".join(text.split())


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _intro(assignment: Assignment) -> str:
    deadline = assignment.deadline
    offset = deadline.strftime("%z")
    lines = [
        f"# {_one_line(assignment.title)}",
        "",
        f"Assignment `{assignment.id}`, due {_when(deadline)} (UTC{offset[:3]}:{offset[3:]}), "
        f"that is {_when(deadline.astimezone(UTC))} UTC.",
        "",
    ]
    if not assignment.exercises:
        lines.append("There is nothing to hand in for this assignment.")
    else:
        lines.append(
            "Answer each exercise under its heading and keep the answer cell's "
            "`exercise-...` tag; you may add cells below it. Before you submit, run "
            f"`grader check` on this notebook (saved as `{assignment.id}.ipynb`)."
        )
    return "\n".join(lines)


def _prompt(exercise: Exercise) -> str:
    title = _one_line(exercise.title)
    heading = f"## Exercise {exercise.id}: {title}" if title else f"## Exercise {exercise.id}"
    lines = [heading, "", _HOW[exercise.answer]]
    if exercise.min_words is not None:
        lines.append(f"Write at least {exercise.min_words} words.")
    if exercise.test is not None:
        lines += ["", "After your notebook has run, this check must pass:", ""]
        lines += ["```python", exercise.test.rstrip("\n"), "```"]
    return "\n".join(lines)


def _markdown(cell_id: str, source: str, tags: tuple[str, ...] = ()) -> dict[str, object]:
    metadata: dict[str, object] = {"tags": list(tags)} if tags else {}
    return {"cell_type": "markdown", "id": cell_id, "metadata": metadata, "source": source}


def _answer(cell_id: str, exercise: Exercise) -> dict[str, object]:
    tags = (answer_tag(exercise.id),)
    if exercise.answer == "markdown":
        return _markdown(cell_id, MARKDOWN_PLACEHOLDER, tags)
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": {"tags": list(tags)},
        "outputs": [],
        "source": CODE_PLACEHOLDER,
    }
