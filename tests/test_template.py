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
    REPOSITORY_PLACEHOLDER,
    answer_tag,
    colab_check_source,
    template_notebook,
)
from grader.core.verdict import evaluate
from tests.corpus import corpus_file

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
    assert len(set(ids)) == len(ids) == 1 + 2 * len(EXERCISES) + 2  # + the Colab check


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
        ("markdown", "## Check before you hand in", None),
        ("code", "# Checks this notebook in Google Colab; does nothing anywhere else.", None),
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


# --- the Colab check cell -------------------------------------------------------------

CHECK = colab_check_source("d2l/study-group", "section-01")


def run_check_cell(
    source: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, in_colab: bool
) -> list[list[str]]:
    """Run the cell's code here with Colab faked; the commands it would run, in order."""
    import builtins
    import json
    import os
    import subprocess
    import sys
    import types

    commands: list[list[str]] = []
    if in_colab:
        message = types.ModuleType("google.colab._message")
        notebook = {"cells": [], "metadata": {"colab": {}}, "nbformat": 4, "nbformat_minor": 0}
        message.blocking_request = lambda kind, timeout_sec: {"ipynb": notebook}  # type: ignore[attr-defined]
        colab = types.ModuleType("google.colab")
        colab._message = message  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "google.colab", colab)
        monkeypatch.setitem(sys.modules, "google.colab._message", message)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)

    def fake_run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        commands.append(list(argv))
        return subprocess.CompletedProcess(argv, 0, stdout="table\n", stderr="")

    def content_open(path: str, *args: Any, **kwargs: Any) -> Any:
        assert path.startswith("/content/"), path
        return open(tmp_path / path.removeprefix("/content/"), *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(os.path, "isdir", lambda path: False)
    exec(source, {"__builtins__": {**vars(builtins), "open": content_open}})
    if in_colab and commands:
        saved = json.loads((tmp_path / "section-01.ipynb").read_text(encoding="utf-8"))
        assert saved == notebook
    return commands


def test_check_cell_outside_colab_only_prints(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_check_cell(CHECK, monkeypatch, tmp_path, in_colab=False) == []
    assert capsys.readouterr().out == (
        "Not in Colab: run `grader check section-01.ipynb` in a terminal.\n"
    )


def test_check_cell_in_colab_installs_the_course_grader_and_checks_this_notebook(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    commands = run_check_cell(CHECK, monkeypatch, tmp_path, in_colab=True)
    assert commands == [
        ["git", "clone", "-q", "--depth=1", "https://github.com/d2l/study-group",
         "/content/course"],
        [sys.executable, "-m", "venv", "--system-site-packages", "/content/grader"],
        ["/content/grader/bin/pip", "install", "-q", "/content/course"],
        [
            "/content/grader/bin/grader", "check", "/content/section-01.ipynb",
            "--course", "/content/course",
        ],
    ]  # fmt: skip
    assert capsys.readouterr().out == "table\n\n"


def test_check_cell_with_the_placeholder_says_so_in_colab(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = colab_check_source(REPOSITORY_PLACEHOLDER, "section-01")
    assert run_check_cell(source, monkeypatch, tmp_path, in_colab=True) == []
    assert "does not name its course repository yet" in capsys.readouterr().out


def test_check_cell_sits_under_its_own_heading_after_the_last_exercise() -> None:
    nb = template_notebook(SMALL, "section-01")
    *_, heading, check = cells(nb)
    assert heading["source"].startswith("## Check before you hand in\n")
    assert (check["cell_type"], check["metadata"]) == ("code", {})
    assert check["source"] == colab_check_source(REPOSITORY_PLACEHOLDER, "section-01")


def test_an_assignment_without_exercises_has_no_check_cell() -> None:
    assert len(cells(template_notebook(SMALL, "section-02"))) == 1


# --- a starter, answered, saved the way Colab saves it, graded normally -----------------


def answered_starter(aid: str, answers: dict[str, str]) -> dict[str, Any]:
    """The committed starter with each `exercise-<id>` cell replaced by an answer."""
    import json

    nb: dict[str, Any] = json.loads((ROOT / "exercises" / f"{aid}.ipynb").read_text("utf-8"))
    for cell in nb["cells"]:
        for exercise_id, source in answers.items():
            if answer_tag(exercise_id) in cell["metadata"].get("tags", []):
                cell["source"] = source
    return nb


def colab_saved(nb: dict[str, Any], *, keep_tags: bool) -> dict[str, Any]:
    """What Colab's File > Download .ipynb gives for `nb` after Runtime > Run all.

    Colab writes nbformat 4.0 (no cell ids; its own `metadata.id`), `colab`
    and `accelerator` notebook metadata, per-cell `colab`/`outputId` metadata,
    execution counts and the outputs, and widget state without the `state`
    wrapper the schema asks for. The widget models are real ones, from the
    corpus's nbclient JupyterWidgets notebook. `keep_tags=False` models a
    Colab that drops cell tags: the headings alone must still place answers.
    """
    import json

    widgets = json.loads(
        corpus_file("notebooks", "nbclient__JupyterWidgets.ipynb").read_text("utf-8")
    )["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    saved_cells = []
    for count, cell in enumerate(nb["cells"], start=1):
        metadata: dict[str, Any] = {"id": f"c{count:04x}ColabId"}
        if keep_tags and cell["metadata"].get("tags"):
            metadata["tags"] = cell["metadata"]["tags"]
        out: dict[str, Any] = {"cell_type": cell["cell_type"], "metadata": metadata}
        source = "".join(cell["source"])  # a committed notebook stores a list of lines
        out["source"] = source.splitlines(keepends=True)
        if cell["cell_type"] == "code":
            metadata["colab"] = {"base_uri": "https://localhost:8080/"}
            metadata["outputId"] = f"{count:08x}-0000-4000-8000-colab0000000"
            out["execution_count"] = count
            out["outputs"] = [{"name": "stdout", "output_type": "stream", "text": ["stale\n"]}]
        saved_cells.append(out)
    return {
        "nbformat": 4,
        "nbformat_minor": 0,
        "metadata": {
            "colab": {"name": "Copy of the starter", "provenance": []},
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
            "accelerator": "GPU",
            "widgets": {"application/vnd.jupyter.widget-state+json": widgets},
        },
        "cells": saved_cells,
    }


SECTION_03_ANSWERS = {
    "backward": """\
def backward(X, y, w, b):
    residuals = [sum(x * wj for x, wj in zip(xs, w)) + b - t for xs, t in zip(X, y)]
    n = len(X)
    grad_w = [sum(r * xs[j] for r, xs in zip(residuals, X)) / n for j in range(len(w))]
    return grad_w, sum(residuals) / n
""",
    "check": "print(backward([[1.0]], [2.0], [1.0], 0.0))  # (-1.0,), -1.0",
}


def check_json(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    import json

    from grader.cli.main import main

    code = main(["check", str(path), "--course", str(ROOT), "--json"])
    return code, json.loads(capsys.readouterr().out)["results"][0]


@pytest.mark.kernel
@pytest.mark.parametrize("keep_tags", [True, False], ids=["tags-kept", "tags-dropped"])
def test_a_colab_saved_starter_is_graded_normally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_tags: bool
) -> None:
    import json

    saved = colab_saved(answered_starter("section-03", SECTION_03_ANSWERS), keep_tags=keep_tags)
    path = tmp_path / "section-03.ipynb"  # renamed after download, as the guide says
    path.write_text(json.dumps(saved), encoding="utf-8")
    code, result = check_json(path, capsys)
    assert (code, result["status"], result["problems"]) == (0, "complete", [])
    assert [(e["id"], e["status"]) for e in result["exercises"]] == [
        ("backward", "ok"),
        ("check", "ok"),
    ]


@pytest.mark.kernel
def test_a_colab_saved_starter_with_a_wrong_answer_is_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    wrong = {**SECTION_03_ANSWERS, "backward": "def backward(X, y, w, b):\n    return w, b\n"}
    path = tmp_path / "section-03.ipynb"
    path.write_text(json.dumps(colab_saved(answered_starter("section-03", wrong), keep_tags=True)))
    code, result = check_json(path, capsys)
    assert (code, result["status"]) == (1, "incomplete")
    assert [(e["id"], e["status"]) for e in result["exercises"]] == [
        ("backward", "error"),
        ("check", "ok"),
    ]


@pytest.mark.kernel
def test_every_untouched_starter_is_incomplete_with_every_exercise_empty(
    real_course: CourseConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check cell runs in CI like any cell and answers nothing."""
    import json

    from grader.cli.main import main

    ids = [a for a, assignment in real_course.assignments.items() if assignment.exercises]
    paths = [str(ROOT / "exercises" / f"{aid}.ipynb") for aid in ids]
    assert main(["check", *paths, "--course", str(ROOT), "--json", "--jobs", "2"]) == 1
    results = json.loads(capsys.readouterr().out)["results"]
    for aid, result in zip(ids, results, strict=True):
        assert result["problems"] == [], aid
        assert {e["status"] for e in result["exercises"]} == {"empty"}, aid
