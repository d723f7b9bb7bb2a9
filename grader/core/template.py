"""Starter notebooks: one heading and one tagged answer cell per exercise.

Pure: builds the notebook as a plain dict in nbformat v4.5 JSON shape; the
adapter `grader.adapters.notebooks.write_notebook` validates and writes it.
The answer cells hold exactly the placeholders the verdict treats as
unanswered (CONTRACT section 2), so an untouched template is never complete.

The last cell lets a student who works in Google Colab check the notebook
before handing it in, without a clone of the course: in Colab it clones the
course repository, installs the grader into its own venv, saves the open
notebook and runs `grader check` on it. Anywhere else (a laptop, CI) it only
prints a sentence, so it never changes a grade; it sits under its own
level-2 heading, which ends the last exercise (CONTRACT section 2, rule 3).
It needs the course's `owner/name` on GitHub; until the maintainer replaces
`REPOSITORY_PLACEHOLDER` in the committed starters, it says so.
"""

from __future__ import annotations

from datetime import UTC, datetime

from grader.core.configcheck import ConfigError, ConfigProblem
from grader.core.model import Assignment, CourseConfig, Exercise

__all__ = [
    "CODE_PLACEHOLDER",
    "MARKDOWN_PLACEHOLDER",
    "REPOSITORY_PLACEHOLDER",
    "answer_tag",
    "colab_check_source",
    "template_notebook",
]

CODE_PLACEHOLDER = "# YOUR CODE HERE\nraise NotImplementedError()"
MARKDOWN_PLACEHOLDER = "YOUR ANSWER HERE"
# Written into starters until the maintainer names the course repository (README).
REPOSITORY_PLACEHOLDER = "{{repository}}"
CHECK_HEADING = "## Check before you hand in"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
_HOW = {
    "code": "Answer in code, in the cell below.",
    "markdown": "Answer in prose, in the markdown cell below.",
    "any": "Answer in the cell below, with code, prose or both.",
}


def answer_tag(exercise_id: str) -> str:
    """The cell tag that marks an answer to `exercise_id`."""
    return f"exercise-{exercise_id}"


def template_notebook(
    course: CourseConfig, assignment_id: str, repository: str = REPOSITORY_PLACEHOLDER
) -> dict[str, object]:
    """The starter notebook of `assignment_id`, as nbformat v4.5 JSON data.

    `repository` is the course's `owner/name` on GitHub, which the Colab check
    cell clones. Raises `ConfigError` when the course has no such assignment.
    """
    assignment = course.assignments.get(assignment_id)
    if assignment is None:
        raise ConfigError([_unknown(course, assignment_id)])
    cells = [_markdown("intro", _intro(assignment))]
    for number, exercise in enumerate(assignment.exercises, start=1):
        cells.append(_markdown(f"prompt-{number}", _prompt(exercise)))
        cells.append(_answer(f"answer-{number}", exercise))
    if assignment.exercises:
        cells.append(_markdown("check-heading", _check_heading(assignment.id)))
        cells.append(_code("check", colab_check_source(repository, assignment.id)))
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
            f"`grader check` on this notebook (saved as `{assignment.id}.ipynb`), "
            "or, in Google Colab, the last cell."
        )
    return "\n".join(lines)


def _check_heading(assignment_id: str) -> str:
    return "\n".join(
        [
            CHECK_HEADING,
            "",
            "In Google Colab, run the cell below: it checks this notebook the way the "
            "course's pull request check will (the first run installs the grader, about "
            "a minute). On your own computer, run "
            f"`grader check {assignment_id}.ipynb` in a terminal instead. "
            "This cell is not an answer; it does nothing when the course grades your notebook.",
        ]
    )


def colab_check_source(repository: str, assignment_id: str) -> str:
    """The code of the check cell: works in Colab, prints one sentence anywhere else.

    "In Colab" means the Colab shell is loaded (`google.colab` in `sys.modules`),
    not merely installed: the kernel `grader check` starts for this notebook is a
    plain ipykernel, so there the cell does nothing and the check cannot recurse.
    The grader goes into its own venv (with Colab's packages visible) so its
    pinned Jupyter packages never replace those of the running Colab session.
    """
    notebook = f"/content/{assignment_id}.ipynb"
    return "\n".join(
        [
            "# Checks this notebook in Google Colab; does nothing anywhere else.",
            "import sys",
            "",
            f'COURSE = "{repository}"  # the course repository on GitHub, owner/name',
            "",
            'if "google.colab" not in sys.modules:',
            f'    print("Not in Colab: run `grader check {assignment_id}.ipynb` in a terminal.")',
            'elif "{" in COURSE:',
            '    print("This starter does not name its course repository yet; tell a TA.")',
            "else:",
            "    import json, os, subprocess",
            "    from google.colab import _message",
            "",
            '    if not os.path.isdir("/content/course"):',
            "        for step in (",
            '            ["git", "clone", "-q", "--depth=1", f"https://github.com/{COURSE}",'
            ' "/content/course"],',
            '            [sys.executable, "-m", "venv", "--system-site-packages",'
            ' "/content/grader"],',
            '            ["/content/grader/bin/pip", "install", "-q", "/content/course"],',
            "        ):",
            "            subprocess.run(step, check=True)",
            '    nb = _message.blocking_request("get_ipynb", timeout_sec=60)["ipynb"]',
            f'    with open("{notebook}", "w", encoding="utf-8") as f:',
            "        json.dump(nb, f)",
            "    done = subprocess.run(",
            f'        ["/content/grader/bin/grader", "check", "{notebook}",'
            ' "--course", "/content/course"],',
            "        capture_output=True, text=True,",
            "    )",
            "    print(done.stdout + done.stderr)",
        ]
    )


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
    return _code(cell_id, CODE_PLACEHOLDER, tags)


def _code(cell_id: str, source: str, tags: tuple[str, ...] = ()) -> dict[str, object]:
    metadata: dict[str, object] = {"tags": list(tags)} if tags else {}
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": metadata,
        "outputs": [],
        "source": source,
    }
