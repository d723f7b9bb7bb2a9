"""Which cells answer which exercise: CONTRACT section 2, the three rules."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from typing import Any

import pytest

from grader.core.cells import (
    answer_cells,
    cells_of,
    exercise_heading_id,
    headings,
    is_placeholder,
    word_count,
)
from grader.core.model import AnswerKind, Cell, CellType, Exercise
from tests.corpus import corpus_file


def md(source: str, *, tags: tuple[str, ...] = (), grade_id: str | None = None) -> Cell:
    return Cell(-1, "markdown", source, tags, grade_id)


def code(source: str, *, tags: tuple[str, ...] = (), grade_id: str | None = None) -> Cell:
    return Cell(-1, "code", source, tags, grade_id)


def raw(source: str) -> Cell:
    return Cell(-1, "raw", source)


def nb(*cells: Cell) -> tuple[Cell, ...]:
    """Number the cells in order, as a notebook does."""
    return tuple(replace(cell, index=i) for i, cell in enumerate(cells))


def selected(ids: list[str], cells: tuple[Cell, ...]) -> dict[str, list[int]]:
    return {key: [cell.index for cell in found] for key, found in cells_of(ids, cells).items()}


# --- headings -----------------------------------------------------------------

HEADINGS = [
    ("# Title", [(1, "Title")]),
    ("###### Six", [(6, "Six")]),
    ("####### seven is a paragraph", []),
    ("#hashtag is a paragraph", []),
    ("   ## three spaces of indent", [(2, "three spaces of indent")]),
    ("    ## four spaces is code", []),
    ("## Closed ##", [(2, "Closed")]),
    ("## C# stays", [(2, "C# stays")]),
    ("## trailing# stays", [(2, "trailing# stays")]),
    ("## ends with#", [(2, "ends with#")]),
    ("### ###", [(3, "")]),
    ("## Exercise 3 ####   ", [(2, "Exercise 3")]),
    ("#", [(1, "")]),
    ("Setext one\n==========", [(1, "Setext one")]),
    ("Setext two\n---", [(2, "Setext two")]),
    ("two line\nparagraph\n---", [(2, "two line paragraph")]),
    ("---\n## After a rule", [(2, "After a rule")]),
    ("text\n\n---", []),
    ("- item\n---", []),
    ("1. item\n---", []),
    ("> quote\n---", []),
    ("| a | b |\n|---|---|", []),
    ("```\n# not a heading\n```\n# heading", [(1, "heading")]),
    ("```python\n# not\n", []),
    ("~~~\n```\n# inside\n~~~\n## out", [(2, "out")]),
    ("````\n```\n# inside\n````\n## out", [(2, "out")]),
    ("    # indented code\n# real", [(1, "real")]),
    ("# One\ntext\n## Two\r\n### Three", [(1, "One"), (2, "Two"), (3, "Three")]),
    ("\t# tab is indented code", []),
]


@pytest.mark.parametrize(("source", "expected"), HEADINGS)
def test_headings(source: str, expected: list[tuple[int, str]]) -> None:
    assert [(h.level, h.text) for h in headings(source)] == expected


def test_heading_offsets_point_at_the_heading_line() -> None:
    source = "answer text\n\n## Exercise 2\n"
    (heading,) = headings(source)
    assert source[heading.offset :].startswith("## Exercise 2")
    (setext,) = headings("intro\n\nExercise 3\n---\n")
    assert setext.offset == len("intro\n\n")


@pytest.mark.parametrize(
    "source",
    ["## a" + " " * 200_000 + "x", "## Exercise" + "\t " * 100_000 + "x", "a\n" * 50_000 + "---"],
)
def test_headings_take_linear_time_on_hostile_text(source: str) -> None:
    started = time.perf_counter()
    assert len(headings(source)) == 1
    assert time.perf_counter() - started < 1


def _cmark_headings(source: str) -> list[tuple[int, str]]:
    cmarkgfm = pytest.importorskip("cmarkgfm")
    html = cmarkgfm.github_flavored_markdown_to_html(source)
    found = re.findall(r"<h(\d)>(.*?)</h\1>", html, re.DOTALL)
    return [(int(level), " ".join(text.split())) for level, text in found]


# Only sources without inline markup: cmark renders `**x**` as <strong>.
@pytest.mark.parametrize(
    "source",
    [s for s, _ in HEADINGS if "*" not in s],
)
def test_headings_agree_with_commonmark(source: str) -> None:
    assert [(h.level, h.text) for h in headings(source)] == _cmark_headings(source)


EXERCISE_HEADINGS = [
    ("Exercise 1", "1"),
    ("exercise 1", "1"),
    ("EXERCISE A", "A"),
    ("Exercise 2: Softmax", "2"),
    ("Exercise 2:Softmax", "2"),
    ("Exercise 1.", "1"),
    ("Exercise 2.1 Foo", "2.1"),
    ("Exercise 2.1. Foo", "2.1"),
    ("Exercise sum_of_squares", "sum_of_squares"),
    ("Exercise   3   (2 points)", "3"),
    ("**Exercise 4**", "4"),
    ("**Exercise 4:** Backward", "4"),
    ("*Exercise 5*: Backward", "5"),
    ("Exercises", None),
    ("Exercise", None),
    ("Exercise:", None),
    ("Exercise .", None),
    ("Part A (2 points)", None),
    ("The Exercise 1", None),
]


@pytest.mark.parametrize(("text", "expected"), EXERCISE_HEADINGS)
def test_exercise_heading_id(text: str, expected: str | None) -> None:
    assert exercise_heading_id(text) == expected


# --- the three rules ------------------------------------------------------------

RULE_CASES: list[tuple[str, tuple[Cell, ...], dict[str, list[int]]]] = [
    (
        "rule 1: tags, case-insensitive both ways",
        nb(code("a", tags=("exercise-1",)), code("b", tags=("Exercise-A",)), code("c")),
        {"1": [0], "a": [1]},
    ),
    (
        "rule 1: other tags do not count",
        nb(code("a", tags=("exercise1", "ex-1", "exercise-10", "1"))),
        {"1": [], "a": []},
    ),
    (
        "rule 2: nbgrader grade_id, case-insensitive",
        nb(code("a", grade_id="1"), md("b", grade_id="A"), code("c", grade_id="b")),
        {"1": [0], "a": [1]},
    ),
    (
        "rule 3: cells after the heading, not the heading cell itself",
        nb(md("## Exercise 1\nDo it."), code("x = 1"), md("words")),
        {"1": [1, 2], "a": []},
    ),
    (
        "rule 3: ends at the next Exercise heading, whatever its level",
        nb(md("## Exercise 1"), code("x"), md("#### Exercise A"), code("y")),
        {"1": [1], "a": [3]},
    ),
    (
        "rule 3: ends at a heading of the same level",
        nb(md("## Exercise 1"), code("x"), md("## Summary"), code("y")),
        {"1": [1], "a": []},
    ),
    (
        "rule 3: ends at a higher-level heading",
        nb(md("### Exercise 1"), code("x"), md("# Chapter 2"), code("y")),
        {"1": [1], "a": []},
    ),
    (
        "rule 3: lower-level headings inside do not end it",
        nb(md("## Exercise 1"), code("x"), md("#### Hint\nuse numpy"), code("y")),
        {"1": [1, 2, 3], "a": []},
    ),
    (
        "rule 3: runs to the end of the notebook",
        nb(md("# Exercise 1"), code("x"), raw("r"), md("## Part two"), code("y")),
        {"1": [1, 2, 3, 4], "a": []},
    ),
    (
        "rule 3: setext headings",
        nb(md("Exercise 1\n=========="), code("x"), md("Exercise A\n---"), code("y")),
        {"1": [1], "a": [3]},
    ),
    (
        "rule 3: '## Exercises' starts nothing but ends by its level",
        nb(md("## Exercise 1"), code("x"), md("## Exercises"), code("y")),
        {"1": [1], "a": []},
    ),
    (
        "rule 3: '#### Exercises' inside does not end it",
        nb(md("## Exercise 1"), code("x"), md("#### Exercises"), code("y")),
        {"1": [1, 2, 3], "a": []},
    ),
    (
        "rule 3: only the cell's first heading can start a region",
        nb(md("## Part A\n### Exercise 1"), code("x")),
        {"1": [], "a": []},
    ),
    (
        "rule 3: a later heading in the heading cell can end its region",
        nb(md("### Exercise 1\ntext\n## Notes"), code("x")),
        {"1": [], "a": []},
    ),
    (
        "rule 3: a lower heading in the heading cell leaves it open",
        nb(md("## Exercise 1\n### Hint"), code("x")),
        {"1": [1], "a": []},
    ),
    (
        "rule 3: '# Exercise' in a fenced block or a code cell is no heading",
        nb(md("## Exercise 1"), md("```\n# Exercise A\n```"), code("# Exercise A\nx = 1")),
        {"1": [1, 2], "a": []},
    ),
    (
        "rule 3: ids compare case-insensitively",
        nb(md("### exercise a"), code("x")),
        {"1": [], "a": [1]},
    ),
    (
        "rule 3: unknown exercise headings still end a region",
        nb(md("## Exercise 1"), code("x"), md("## Exercise 1b (optional)"), code("y")),
        {"1": [1], "a": []},
    ),
    (
        "rule 3: the same heading twice gives two regions",
        nb(md("## Exercise 1"), code("x"), md("## Other"), md("## Exercise 1"), code("y")),
        {"1": [1, 4], "a": []},
    ),
    (
        "a cell may belong to several exercises",
        nb(md("## Exercise 1"), code("x", tags=("exercise-a",)), code("y", grade_id="a")),
        {"1": [1, 2], "a": [1, 2]},
    ),
    (
        "a cell matched by several rules appears once",
        nb(md("## Exercise 1"), code("x", tags=("exercise-1", "EXERCISE-1"), grade_id="1")),
        {"1": [1], "a": []},
    ),
    (
        "no cells",
        (),
        {"1": [], "a": []},
    ),
]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [pytest.param(cells, expected, id=name) for name, cells, expected in RULE_CASES],
)
def test_cells_of(cells: tuple[Cell, ...], expected: dict[str, list[int]]) -> None:
    assert selected(["1", "a"], cells) == expected


def test_keys_are_the_ids_as_given() -> None:
    found = cells_of(["Ex-A", "2"], nb(code("x", tags=("exercise-ex-a",))))
    assert list(found) == ["Ex-A", "2"]
    assert [c.source for c in found["Ex-A"]] == ["x"]


def test_text_before_a_closing_heading_is_cut_into_the_region() -> None:
    cells = nb(md("## Exercise 1"), md("My answer.\n\n## Exercise 2\nDo this."), code("y"))
    found = cells_of(["1", "2"], cells)
    assert [(c.index, c.source) for c in found["1"]] == [(1, "My answer.\n\n")]
    assert [c.index for c in found["2"]] == [2]


@pytest.mark.parametrize("prefix", ["", "\n\n", "---\n", "<!-- answer -->\n", "***\n\n"])
def test_a_blank_prefix_before_a_closing_heading_does_not_belong(prefix: str) -> None:
    cells = nb(md("## Exercise 1"), md(prefix + "## Exercise 2"))
    assert selected(["1"], cells) == {"1": []}


def test_a_tagged_cell_is_kept_whole_even_when_a_heading_cuts_it() -> None:
    source = "My answer.\n## Exercise 2"
    cells = nb(md("## Exercise 1"), md(source, tags=("exercise-1",)))
    assert [c.source for c in cells_of(["1"], cells)["1"]] == [source]


# --- answer kinds ------------------------------------------------------------------

KIND_CELLS = nb(code("x"), md("words"), raw("raw"), code("y"))
KINDS: list[tuple[AnswerKind, list[int]]] = [
    ("code", [0, 3]),
    ("markdown", [1]),
    ("any", [0, 1, 3]),
]


@pytest.mark.parametrize(("answer", "expected"), KINDS)
def test_answer_cells_by_kind(answer: AnswerKind, expected: list[int]) -> None:
    exercise = Exercise("1", answer=answer)
    assert [c.index for c in answer_cells(exercise, KIND_CELLS)] == expected


# --- placeholders ---------------------------------------------------------------------

NBGRADER_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
PLACEHOLDERS: list[tuple[CellType, str, bool]] = [
    ("code", "", True),
    ("code", "   \n\n\t", True),
    ("code", NBGRADER_STUB, True),
    ("code", "# YOUR CODE HERE\r\nraise NotImplementedError()\r\n", True),
    ("code", "def squares(n):\n    '''Doc.'''\n    " + NBGRADER_STUB.replace("\n", "\n    "), True),
    ("code", "import math\n# YOUR CODE HERE\n\nraise NotImplementedError", True),
    ("code", "pass", True),
    ("code", "...", True),
    ("code", "raise NotImplementedError()", True),
    ("code", "raise NotImplementedError", True),
    ("code", "raise NotImplementedError('write backward()')", True),
    ("code", '"""Only a docstring."""', True),
    ("code", '"""Doc."""\n\n# TODO\npass\n...\n', True),
    ("code", "# only\n   # comments", True),
    (
        "code",
        "def backward(x):\n    # TODO\n    pass",
        False,
    ),  # defines a name: an answer by the contract
    ("code", "class Net:\n    def forward(self):\n        ...", False),
    ("code", "x = 1", False),
    ("code", "# YOUR CODE HERE\nx = 1", False),
    ("code", "import torch\ndef backward(x):\n    pass", False),
    ("code", "def backward(x):\n    return 2 * x", False),
    ("code", "raise ValueError()", False),
    ("code", "return", False),  # a SyntaxError outside a function: not blank
    ("code", "%time x = 1", False),
    ("code", "!pip install d2l==1.0.3", False),
    ("code", "# a comment\n%%time", False),
    ("code", "def broken(:\n    pass", False),
    ("code", "# just a comment, then\n\n", True),
    ("code", "s = '\\d'", False),  # invalid escape warns; never raises
    ("code", '"""Doc with an invalid escape: \\d."""', True),  # the warning is not an error
    ("code", "x = 1\0", False),  # null byte: ast refuses it
    ("code", "(" * 500 + ")" * 500, False),  # too deeply nested to parse
    ("markdown", "", True),
    ("markdown", "  \n ", True),
    ("markdown", "YOUR ANSWER HERE", True),
    ("markdown", "  your answer here \n", True),
    ("markdown", "---", True),
    ("markdown", "<!-- write here -->", True),
    ("markdown", "YOUR ANSWER HERE, and then some", False),
    ("markdown", "$\\sum_{i=1}^n i^2$", False),
    ("markdown", "42", False),
    ("raw", "anything", True),
]


@pytest.mark.parametrize(("cell_type", "source", "expected"), PLACEHOLDERS)
def test_is_placeholder(cell_type: CellType, source: str, expected: bool) -> None:
    assert is_placeholder(Cell(0, cell_type, source)) is expected


@pytest.mark.parametrize(
    ("sources", "expected"),
    [([], 0), ([""], 0), (["one"], 1), (["one two\nthree\tfour  "], 4), (["a b", "c"], 3)],
)
def test_word_count(sources: list[str], expected: int) -> None:
    assert word_count([md(s) for s in sources]) == expected


# --- real nbgrader notebooks (read with json, not nbformat) -------------------


def load_cells(name: str) -> tuple[Cell, ...]:
    data: dict[str, Any] = json.loads(corpus_file("notebooks", name).read_text(encoding="utf-8"))
    return tuple(_cell(i, c) for i, c in enumerate(data["cells"]))


def _cell(index: int, cell: dict[str, Any]) -> Cell:
    source = cell["source"]
    metadata = cell.get("metadata", {})
    return Cell(
        index=index,
        cell_type=cell["cell_type"],
        source=source if isinstance(source, str) else "".join(source),
        tags=tuple(metadata.get("tags", ())),
        grade_id=metadata.get("nbgrader", {}).get("grade_id"),
    )


PS1_IDS = [
    "squares",
    "correct_squares",
    "squares_invalid_input",
    "sum_of_squares",
    "correct_sum_of_squares",
    "sum_of_squares_uses_squares",
    "sum_of_squares_equation",
    "sum_of_squares_application",
]

# notebook -> (index of each PS1_IDS cell, the ids whose answer is still a placeholder)
PS1: dict[str, tuple[list[int], set[str]]] = {
    "nbgrader__source_ps1_problem1.ipynb": ([2, 5, 6, 8, 11, 12, 14, 16], set()),
    "nbgrader__release_ps1_problem1.ipynb": (
        [5, 8, 9, 11, 14, 15, 17, 19],
        {"squares", "sum_of_squares", "sum_of_squares_equation", "sum_of_squares_application"},
    ),
    "nbgrader__submitted_hacker_ps1_problem1.ipynb": ([5, 8, 9, 11, 14, 15, 17, 19], set()),
    "nbgrader__submitted_bitdiddle_ps1_problem1.ipynb": (
        [5, 8, 9, 11, 14, 15, 17, 19],
        # Ben commented out one test cell, emptied another, never answered part D.
        {"correct_squares", "squares_invalid_input", "sum_of_squares_application"},
    ),
    # nbgrader's autograder put the locked test cells back.
    "nbgrader__autograded_bitdiddle_ps1_problem1.ipynb": (
        [5, 8, 9, 11, 14, 15, 17, 19],
        {"sum_of_squares_application"},
    ),
}


@pytest.mark.parametrize("name", sorted(PS1))
def test_nbgrader_grade_ids_select_one_cell_each(name: str) -> None:
    cells = load_cells(name)
    indices, _ = PS1[name]
    found = cells_of(PS1_IDS, cells)
    assert {key: [c.index for c in found[key]] for key in PS1_IDS} == {
        key: [index] for key, index in zip(PS1_IDS, indices, strict=True)
    }
    assert all(found[key][0] is cells[found[key][0].index] for key in PS1_IDS)


@pytest.mark.parametrize("name", sorted(PS1))
def test_nbgrader_placeholders(name: str) -> None:
    found = cells_of(PS1_IDS, load_cells(name))
    _, placeholders = PS1[name]
    assert {key for key in PS1_IDS if is_placeholder(found[key][0])} == placeholders


def test_nbgrader_free_text_answers() -> None:
    cells = load_cells("nbgrader__submitted_bitdiddle_ps1_problem2.ipynb")
    found = cells_of(["part-a", "Part-B"], cells)
    assert [c.source for c in found["part-a"]] == ["It computes the fibonnaci sequence."]
    assert [c.source for c in found["Part-B"]] == ["Not sure."]
    assert word_count(found["part-a"]) == 5


def test_d2l_exercises_section_is_no_exercise_heading() -> None:
    cells = load_cells("d2l__backprop.ipynb")
    assert any("## Exercises" in c.source for c in cells)
    assert cells_of(["1", "2"], cells) == {"1": (), "2": ()}
