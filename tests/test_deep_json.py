"""THREATS 45: deeply nested JSON in a notebook or an artifact is a clear problem, never exit 3.

`json.loads` (and nbformat, and `copy.deepcopy`) recurse once per nesting level,
so a 100,000-deep list raises RecursionError, which no `except ValueError`
catches. `grader.core.codec.check_depth` counts the depth first, without
recursion. The tests below show the guard's verdict on such text, that the
unguarded parse does raise RecursionError on the very same text (so the guard
is what makes the difference), and, through the real readers, that a notebook
becomes a notebook-level problem and an artifact "evidence invalid".
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from grader.core.codec import MAX_JSON_DEPTH, check_depth, json_depth, loads_json
from tests.corpus import CORPUS, needs_corpus

DEPTH = 100_000


def deep(n: int = DEPTH) -> str:
    return "[" * n + "]" * n


def notebook_text(where: str, n: int = DEPTH) -> str:
    """A valid v4 notebook but for a list nested `n` deep in one cell's `where`."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    data = json.loads(nbformat.writes(nb))
    cell = data["cells"][0]
    if where == "metadata":
        cell["metadata"]["deep"] = "@DEEP@"
    elif where == "outputs":
        cell["outputs"] = [
            {"output_type": "display_data", "metadata": {}, "data": {"application/json": "@DEEP@"}}
        ]
    else:
        cell["source"] = "@DEEP@"
    return json.dumps(data).replace('"@DEEP@"', deep(n))


def result_text(n: int = DEPTH) -> str:
    """An artifact result.json whose notebooks list is nested `n` deep."""
    return json.dumps({"schema": 1, "notebooks": "@DEEP@"}).replace('"@DEEP@"', deep(n))


PLACES = ["metadata", "outputs", "source"]


# --- the guard itself -------------------------------------------------------------------


@pytest.mark.parametrize("where", PLACES)
def test_a_deep_notebook_is_refused_before_parsing(where: str) -> None:
    text = notebook_text(where)
    with pytest.raises(ValueError, match="nested more than 100 levels"):
        check_depth(text)
    with pytest.raises(ValueError, match="nested more than 100 levels"):
        loads_json(text.encode("utf-8"))
    # Without the guard the same text is a RecursionError: the guard is what helps.
    with pytest.raises(RecursionError):
        json.loads(text)


def test_a_deep_result_is_refused_before_parsing() -> None:
    text = result_text()
    with pytest.raises(ValueError, match="nested more than"):
        loads_json(text.encode("utf-8"))
    with pytest.raises(RecursionError):
        json.loads(text.encode("utf-8"))


def test_depth_is_counted_outside_strings_only() -> None:
    assert json_depth('{"a": "[[[[{{{{", "b": ["\\"[[[", 1]}') == 2
    assert json_depth(json.dumps({"source": "[" * 10_000})) == 1
    assert json_depth("") == 0
    assert json_depth(json.dumps([[[1]]]).encode("utf-16")) == 3
    assert json_depth(json.dumps([[["\u2200[["]]]).encode("utf-16-le")) == 3


def test_the_limit_is_inclusive_and_far_above_real_notebooks() -> None:
    check_depth(deep(MAX_JSON_DEPTH))
    with pytest.raises(ValueError, match="nested more than"):
        check_depth(deep(MAX_JSON_DEPTH + 1))
    # What the guard lets through is safe for everything downstream.
    text = notebook_text("metadata", MAX_JSON_DEPTH - 4)
    check_depth(text)
    nb = nbformat.from_dict(nbformat.reads(text, as_version=4))
    assert nbformat.writes(nb)


def test_loads_json_reads_what_json_loads_reads() -> None:
    text = notebook_text("metadata", 5)
    assert loads_json(text) == json.loads(text)
    with pytest.raises(ValueError, match="Expecting property name"):
        loads_json("{not json")


@needs_corpus
def test_every_corpus_file_passes_the_guard() -> None:
    checked = 0
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix not in (".ipynb", ".json"):
            continue
        text = path.read_bytes()
        try:
            expected = json.loads(text)
        except ValueError:
            continue  # the corpus's deliberately broken files
        assert loads_json(text) == expected, path.name
        checked += 1
    assert checked >= 50


# --- through the real readers (runner for notebooks, artifact for results) --------------

# The runner test waits for runner._parse to call check_depth (runner.py is
# another engineer's). strict=True: once the change lands it passes, and the
# marker must go.


@pytest.mark.parametrize("where", PLACES)
def test_the_runner_reports_a_deep_notebook_as_unreadable(tmp_path: Path, where: str) -> None:
    from grader.adapters.runner import load_notebook

    path = tmp_path / "deep.ipynb"
    path.write_text(notebook_text(where), encoding="utf-8")
    nb, problems = load_notebook(path)
    assert nb is None
    assert len(problems) == 1
    assert "nested more than" in problems[0]


def test_a_deep_artifact_is_evidence_invalid(tmp_path: Path) -> None:
    from grader.adapters.artifact import EvidenceInvalid, read_result

    (tmp_path / "result.json").write_text(result_text(), encoding="utf-8")
    with pytest.raises(EvidenceInvalid):
        read_result(tmp_path)


def test_a_deep_regrade_shard_is_evidence_invalid(tmp_path: Path) -> None:
    from grader.adapters.artifact import EvidenceInvalid
    from grader.adapters.shards import read_shards

    deep = "[" * 100_000 + "]" * 100_000
    text = '{"schema": 1, "assignment": "a1", "results": ' + deep + "}"
    (tmp_path / "regrade.json").write_text(text, encoding="utf-8")
    with pytest.raises(EvidenceInvalid, match="nested"):
        read_shards(tmp_path, "a1")
