# ruff: noqa: E501  (the frozen tracebacks below are kept exactly as the kernel sent them)
"""Tracebacks a student can act on, from real IPython tracebacks frozen below.

Each case runs the whole path: the runner's `error_text` (ANSI stripped,
bounded) then `tracebacks.parse` and `describe`, as the verdict uses them.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from grader.adapters.runner import TRACEBACK_LINES, _trimmed_reply, error_text, run_notebook
from grader.core import tracebacks
from grader.core.model import Assignment, ExecutionLimits, Exercise
from grader.core.tracebacks import clip, compared_line, comparison, describe, parse
from grader.core.verdict import evaluate
from tests.notebooks import code, markdown, notebook, write

# Frozen from the real kernel: IPython 9.18 on Python 3.11, through `runner.run_notebook`
# (execute_reply content as `error_text` receives it). The notebook's cells, in order:
# 1 `import torch`; 2 def g/f; 3 `y = 1; f(3)`; 4 json.loads('{bad'); 5 `def f(:`;
# 6 endless recursion; 7 `sys.path.insert(0, '.')`, `from helpers import half`, `half(2)`
# (helpers.py beside the notebook); then the check `z = 5; assert z + 1 == 7, z`.
# Execution counts In[1]..In[8].
FROZEN: dict[str, dict[str, Any]] = {
    "missing_module": {
        "status": "error",
        "ename": "ModuleNotFoundError",
        "evalue": "No module named 'torch'",
        "traceback": [
            "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
            "\x1b[31mModuleNotFoundError\x1b[39m                       Traceback (most recent call last)",
            "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[1]\x1b[39m\x1b[32m, line 1\x1b[39m\n\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m \x1b[38;5;28;01mimport\x1b[39;00m torch\n",
            "\x1b[31mModuleNotFoundError\x1b[39m: No module named 'torch'",
        ],
    },
    "deep_type_error": {
        "status": "error",
        "ename": "TypeError",
        "evalue": "unsupported operand type(s) for +: 'int' and 'str'",
        "traceback": [
            "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
            "\x1b[31mTypeError\x1b[39m                                 Traceback (most recent call last)",
            "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[3]\x1b[39m\x1b[32m, line 2\x1b[39m\n\x1b[32m      1\x1b[39m y = \x1b[32m1\x1b[39m\n\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m f(\x1b[32m3\x1b[39m)\n",
            "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 7\x1b[39m, in \x1b[36mf\x1b[39m\x1b[34m(a)\x1b[39m\n\x1b[32m      5\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m f(a):\n\x1b[32m      6\x1b[39m     c = \x1b[32m2\x1b[39m\n\x1b[32m----> \x1b[39m\x1b[32m7\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m g(a)\n",
            "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 3\x1b[39m, in \x1b[36mg\x1b[39m\x1b[34m(a)\x1b[39m\n\x1b[32m      1\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m g(a):\n\x1b[32m      2\x1b[39m     b = \x1b[32m1\x1b[39m\n\x1b[32m----> \x1b[39m\x1b[32m3\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m a + \x1b[33m'x'\x1b[39m\n",
            "\x1b[31mTypeError\x1b[39m: unsupported operand type(s) for +: 'int' and 'str'",
        ],
    },
    "library": {
        "status": "error",
        "ename": "JSONDecodeError",
        "evalue": "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "traceback": [
            "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
            "\x1b[31mJSONDecodeError\x1b[39m                           Traceback (most recent call last)",
            "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[4]\x1b[39m\x1b[32m, line 2\x1b[39m\n\x1b[32m      1\x1b[39m \x1b[38;5;28;01mimport\x1b[39;00m json\n\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m json.loads(\x1b[33m'{bad'\x1b[39m)\n",
            "\x1b[36mFile \x1b[39m\x1b[32m/root/.pyenv/versions/3.11.7/lib/python3.11/json/__init__.py:346\x1b[39m, in \x1b[36mloads\x1b[39m\x1b[34m(s, cls, object_hook, parse_float, parse_int, parse_constant, object_pairs_hook, **kw)\x1b[39m\n\x1b[32m    341\x1b[39m     s = s.decode(detect_encoding(s), \x1b[33m'\x1b[39m\x1b[33msurrogatepass\x1b[39m\x1b[33m'\x1b[39m)\n\x1b[32m    343\x1b[39m \x1b[38;5;28;01mif\x1b[39;00m (\x1b[38;5;28mcls\x1b[39m \x1b[38;5;129;01mis\x1b[39;00m \x1b[38;5;28;01mNone\x1b[39;00m \x1b[38;5;129;01mand\x1b[39;00m object_hook \x1b[38;5;129;01mis\x1b[39;00m \x1b[38;5;28;01mNone\x1b[39;00m \x1b[38;5;129;01mand\x1b[39;00m\n\x1b[32m    344\x1b[39m         parse_int \x1b[38;5;129;01mis\x1b[39;00m \x1b[38;5;28;01mNone\x1b[39;00m \x1b[38;5;129;01mand\x1b[39;00m parse_float \x1b[38;5;129;01mis\x1b[39;00m \x1b[38;5;28;01mNone\x1b[39;00m \x1b[38;5;129;01mand\x1b[39;00m\n\x1b[32m    345\x1b[39m         parse_constant \x1b[38;5;129;01mis\x1b[39;00m \x1b[38;5;28;01mNone\x1b[39;00m \x1b[38;5;129;01mand\x1b[39;00m object_pairs_hook \x1b[38;5;129;01mis\x1b[39;00m \x1b[38;5;28;01mNone\x1b[39;00m \x1b[38;5;129;01mand\x1b[39;00m \x1b[38;5;129;01mnot\x1b[39;00m kw):\n\x1b[32m--> \x1b[39m\x1b[32m346\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m \x1b[30;43m_default_decoder\x1b[39;49m\x1b[30;43m.\x1b[39;49m\x1b[30;43mdecode\x1b[39;49m\x1b[30;43m(\x1b[39;49m\x1b[30;43ms\x1b[39;49m\x1b[30;43m)\x1b[39;49m\n\x1b[32m    347\x1b[39m \x1b[38;5;28;01mif\x1b[39;00m \x1b[38;5;28mcls\x1b[39m \x1b[38;5;129;01mis\x1b[39;00m \x1b[38;5;28;01mNone\x1b[39;00m:\n\x1b[32m    348\x1b[39m     \x1b[38;5;28mcls\x1b[39m = JSONDecoder\n",
            '\x1b[36mFile \x1b[39m\x1b[32m/root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py:337\x1b[39m, in \x1b[36mJSONDecoder.decode\x1b[39m\x1b[34m(self, s, _w)\x1b[39m\n\x1b[32m    332\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m\x1b[38;5;250m \x1b[39m\x1b[34mdecode\x1b[39m(\x1b[38;5;28mself\x1b[39m, s, _w=WHITESPACE.match):\n\x1b[32m    333\x1b[39m \x1b[38;5;250m    \x1b[39m\x1b[33;03m"""Return the Python representation of ``s`` (a ``str`` instance\x1b[39;00m\n\x1b[32m    334\x1b[39m \x1b[33;03m    containing a JSON document).\x1b[39;00m\n\x1b[32m    335\x1b[39m \n\x1b[32m    336\x1b[39m \x1b[33;03m    """\x1b[39;00m\n\x1b[32m--> \x1b[39m\x1b[32m337\x1b[39m     obj, end = \x1b[30;43mself\x1b[39;49m\x1b[30;43m.\x1b[39;49m\x1b[30;43mraw_decode\x1b[39;49m\x1b[30;43m(\x1b[39;49m\x1b[30;43ms\x1b[39;49m\x1b[30;43m,\x1b[39;49m\x1b[30;43m \x1b[39;49m\x1b[30;43midx\x1b[39;49m\x1b[30;43m=\x1b[39;49m\x1b[30;43m_w\x1b[39;49m\x1b[30;43m(\x1b[39;49m\x1b[30;43ms\x1b[39;49m\x1b[30;43m,\x1b[39;49m\x1b[30;43m \x1b[39;49m\x1b[30;43m0\x1b[39;49m\x1b[30;43m)\x1b[39;49m\x1b[30;43m.\x1b[39;49m\x1b[30;43mend\x1b[39;49m\x1b[30;43m(\x1b[39;49m\x1b[30;43m)\x1b[39;49m\x1b[30;43m)\x1b[39;49m\n\x1b[32m    338\x1b[39m     end = _w(s, end).end()\n\x1b[32m    339\x1b[39m     \x1b[38;5;28;01mif\x1b[39;00m end != \x1b[38;5;28mlen\x1b[39m(s):\n',
            '\x1b[36mFile \x1b[39m\x1b[32m/root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py:353\x1b[39m, in \x1b[36mJSONDecoder.raw_decode\x1b[39m\x1b[34m(self, s, idx)\x1b[39m\n\x1b[32m    344\x1b[39m \x1b[38;5;250m\x1b[39m\x1b[33;03m"""Decode a JSON document from ``s`` (a ``str`` beginning with\x1b[39;00m\n\x1b[32m    345\x1b[39m \x1b[33;03ma JSON document) and return a 2-tuple of the Python\x1b[39;00m\n\x1b[32m    346\x1b[39m \x1b[33;03mrepresentation and the index in ``s`` where the document ended.\x1b[39;00m\n\x1b[32m   (...)\x1b[39m\x1b[32m    350\x1b[39m \n\x1b[32m    351\x1b[39m \x1b[33;03m"""\x1b[39;00m\n\x1b[32m    352\x1b[39m \x1b[38;5;28;01mtry\x1b[39;00m:\n\x1b[32m--> \x1b[39m\x1b[32m353\x1b[39m     obj, end = \x1b[30;43mself\x1b[39;49m\x1b[30;43m.\x1b[39;49m\x1b[30;43mscan_once\x1b[39;49m\x1b[30;43m(\x1b[39;49m\x1b[30;43ms\x1b[39;49m\x1b[30;43m,\x1b[39;49m\x1b[30;43m \x1b[39;49m\x1b[30;43midx\x1b[39;49m\x1b[30;43m)\x1b[39;49m\n\x1b[32m    354\x1b[39m \x1b[38;5;28;01mexcept\x1b[39;00m \x1b[38;5;167;01mStopIteration\x1b[39;00m \x1b[38;5;28;01mas\x1b[39;00m err:\n\x1b[32m    355\x1b[39m     \x1b[38;5;28;01mraise\x1b[39;00m JSONDecodeError(\x1b[33m"\x1b[39m\x1b[33mExpecting value\x1b[39m\x1b[33m"\x1b[39m, s, err.value) \x1b[38;5;28;01mfrom\x1b[39;00m\x1b[38;5;250m \x1b[39m\x1b[38;5;28;01mNone\x1b[39;00m\n',
            "\x1b[31mJSONDecodeError\x1b[39m: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ],
    },
    "syntax": {
        "status": "error",
        "ename": "SyntaxError",
        "evalue": "invalid syntax (1063758517.py, line 1)",
        "traceback": [
            "  \x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[5]\x1b[39m\x1b[32m, line 1\x1b[39m\n\x1b[31m    \x1b[39m\x1b[31mdef f(:\x1b[39m\n          ^\n\x1b[31mSyntaxError\x1b[39m\x1b[31m:\x1b[39m invalid syntax\n",
        ],
    },
    "student_file": {
        "status": "error",
        "ename": "ZeroDivisionError",
        "evalue": "division by zero",
        "traceback": [
            "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
            "\x1b[31mZeroDivisionError\x1b[39m                         Traceback (most recent call last)",
            "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[7]\x1b[39m\x1b[32m, line 4\x1b[39m\n\x1b[32m      1\x1b[39m \x1b[38;5;28;01mimport\x1b[39;00m sys\n\x1b[32m      2\x1b[39m sys.path.insert(\x1b[32m0\x1b[39m, \x1b[33m'.'\x1b[39m)\n\x1b[32m      3\x1b[39m \x1b[38;5;28;01mfrom\x1b[39;00m helpers \x1b[38;5;28;01mimport\x1b[39;00m half\n\x1b[32m----> \x1b[39m\x1b[32m4\x1b[39m half(\x1b[32m2\x1b[39m)\n",
            "\x1b[36mFile \x1b[39m\x1b[32m/tmp/grader-run-c1rbb3xf/work/helpers.py:2\x1b[39m, in \x1b[36mhalf\x1b[39m\x1b[34m(x)\x1b[39m\n\x1b[32m      1\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m\x1b[38;5;250m \x1b[39m\x1b[34mhalf\x1b[39m(x):\n\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m \x1b[30;43mx\x1b[39;49m\x1b[30;43m \x1b[39;49m\x1b[30;43m/\x1b[39;49m\x1b[30;43m \x1b[39;49m\x1b[30;43m0\x1b[39;49m\n",
            "\x1b[31mZeroDivisionError\x1b[39m: division by zero",
        ],
    },
    "check": {
        "status": "error",
        "ename": "AssertionError",
        "evalue": "5",
        "traceback": [
            "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
            "\x1b[31mAssertionError\x1b[39m                            Traceback (most recent call last)",
            "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[8]\x1b[39m\x1b[32m, line 2\x1b[39m\n\x1b[32m      1\x1b[39m z = \x1b[32m5\x1b[39m\n\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m \x1b[38;5;28;01massert\x1b[39;00m z + \x1b[32m1\x1b[39m == \x1b[32m7\x1b[39m, z\n",
            "\x1b[31mAssertionError\x1b[39m: 5",
        ],
    },
}
# The recursion's 60 entries (as the runner keeps them) repeat one frame: stored once.
_RECURSION_HEAD = [
    "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
    "\x1b[31mRecursionError\x1b[39m                            Traceback (most recent call last)",
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[6]\x1b[39m\x1b[32m, line 3\x1b[39m\n\x1b[32m      1\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m r(n):\n\x1b[32m      2\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m r(n+\x1b[32m1\x1b[39m)\n\x1b[32m----> \x1b[39m\x1b[32m3\x1b[39m r(\x1b[32m0\x1b[39m)\n",
]
_RECURSION_FRAME = "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[6]\x1b[39m\x1b[32m, line 2\x1b[39m, in \x1b[36mr\x1b[39m\x1b[34m(n)\x1b[39m\n\x1b[32m      1\x1b[39m \x1b[38;5;28;01mdef\x1b[39;00m r(n):\n\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m     \x1b[38;5;28;01mreturn\x1b[39;00m r(n+\x1b[32m1\x1b[39m)\n"
_RECURSION_END = "\x1b[31mRecursionError\x1b[39m: maximum recursion depth exceeded"
FROZEN["recursion"] = {
    "status": "error",
    "ename": "RecursionError",
    "evalue": "maximum recursion depth exceeded",
    "traceback": [*_RECURSION_HEAD, *[_RECURSION_FRAME] * 56, _RECURSION_END],
}


ENV = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}

NAMES = {
    1: "the 1st cell",
    2: "the 2nd cell",
    3: "the 3rd cell",
    4: "the 4th cell",
    5: "the 5th cell",
    6: "the 6th cell",
    7: "the 7th cell",
    8: "the check of exercise 1",
}


def name_of(execution: int) -> str:
    return NAMES[execution]


def told(case: str, here: str = "") -> tuple[tracebacks.Failure, list[str]]:
    failure = parse(error_text(FROZEN[case]))
    return failure, describe(failure, name_of, here)


def test_error_text_is_ansi_free_and_keeps_the_failing_line() -> None:
    text = error_text(FROZEN["deep_type_error"])
    assert "\x1b" not in text
    assert text.splitlines()[0] == "TypeError: unsupported operand type(s) for +: 'int' and 'str'"
    assert "----> 3     return a + 'x'" in text


def test_a_missing_module_says_which_package_and_what_to_do() -> None:
    failure, lines = told("missing_module", here="the 1st cell")
    assert failure.head == "ModuleNotFoundError: No module named 'torch'"
    assert lines == ["at line 1:", "  --> 1 import torch"]
    hint = tracebacks.missing_package(failure)
    assert hint is not None
    assert "no package `torch`" in hint
    assert "cannot install packages while it is graded" in hint
    assert tracebacks.failing_line(failure) == "import torch"


def test_only_import_errors_get_the_package_hint() -> None:
    failure, _ = told("deep_type_error")
    assert tracebacks.missing_package(failure) is None


def test_the_deepest_student_frame_is_shown_with_context_and_its_callers() -> None:
    _, lines = told("deep_type_error", here="the 3rd cell")
    assert lines == [
        "the 2nd cell, line 3, in g:",
        "      1 def g(a):",
        "      2     b = 1",
        "  --> 3     return a + 'x'",
        "called from the 2nd cell, line 7, in f: return g(a)",
        "called from the 3rd cell, line 2: f(3)",
    ]


def test_library_frames_are_named_not_shown() -> None:
    failure, lines = told("library", here="the 4th cell")
    assert failure.head.startswith("JSONDecodeError: Expecting property name")
    assert [f.student for f in failure.frames] == [True, False, False, False]
    assert lines[:2] == ["at line 2:", "      1 import json"]
    assert lines[2] == "  --> 2 json.loads('{bad')"
    assert lines[-1] == "raised inside library code (Python's `json/decoder.py`)"
    assert not any("File " in line or "_default_decoder" in line for line in lines)


def test_a_syntax_error_keeps_its_caret_and_drops_the_temp_file_name() -> None:
    failure, lines = told("syntax", here="the 5th cell")
    assert failure.head == "SyntaxError: invalid syntax"
    assert lines[0] == "at line 1:"
    assert "def f(:" in lines[1]
    assert lines[2].strip() == "^"
    # the caret stays under the parenthesis
    assert lines[2].index("^") == lines[1].index("(") + 1


def test_a_student_file_beside_the_notebook_is_the_students_frame() -> None:
    failure, lines = told("student_file", here="the 7th cell")
    assert [f.student for f in failure.frames] == [True, True]
    assert lines[0] == "helpers.py, line 2, in half:"
    assert lines[2] == "  --> 2     return x / 0"
    assert lines[-1] == "called from the 7th cell, line 4: half(2)"


def test_deep_recursion_is_bounded_and_keeps_both_ends() -> None:
    text = error_text(FROZEN["recursion"])
    lines = text.splitlines()
    assert len(lines) <= tracebacks.MAX_RAW_LINES + 1
    assert len(text) <= tracebacks.MAX_RAW_CHARS + 300
    assert lines[0] == "RecursionError: maximum recursion depth exceeded"
    assert "Cell In[6], line 3" in text  # the first frame: the cell that was run
    assert "lines not kept" in text
    told_lines = describe(parse(text), name_of, "the 6th cell")
    assert told_lines[0] == "at line 2, in r:"
    # the repeated frames are told once, then the cell that started it
    assert told_lines[-2:] == [
        "called from the 6th cell, line 2, in r: return r(n+1)",
        "called from the 6th cell, line 3: r(0)",
    ]


def test_a_failing_check_shows_its_line_and_the_values_it_compared() -> None:
    source = "z = 5\nassert z + 1 == 7, z\n"
    found = comparison(source, 2)
    assert found == ("z + 1", "==", "7")
    text = error_text(FROZEN["check"]) + "\n" + compared_line("==", "6", "7")
    failure = parse(text)
    assert failure.head == "AssertionError: 5"
    lines = describe(failure, name_of, "the check of exercise 1")
    assert lines == [
        "at line 2:",
        "      1 z = 5",
        "  --> 2 assert z + 1 == 7, z",
        "got 6, expected 7",
    ]


def test_other_comparisons_say_what_was_compared() -> None:
    failure = parse("AssertionError\n" + compared_line("<", "3", "2"))
    assert describe(failure, name_of) == ["the check compared 3 < 2, which is false"]


@pytest.mark.parametrize(
    ("source", "line", "found"),
    [
        ("assert f(2) == 4", 1, ("f(2)", "==", "4")),
        ("x = 1\nassert len(xs) >= 3, xs", 2, ("len(xs)", ">=", "3")),
        ("assert (\n    f(2)\n    == 4\n)", 3, ("f(2)", "==", "4")),
        ("assert x in {1, 2}", 1, ("x", "in", "{1, 2}")),
        ("assert f(2)", 1, None),  # no comparison
        ("assert 1 < x < 3", 1, None),  # chained: no single left and right
        ("x = 1\nassert x == 2", 1, None),  # line 1 is not the assert
        ("assert x ==", 1, None),  # not Python
    ],
)
def test_comparison(source: str, line: int, found: tuple[str, str, str] | None) -> None:
    assert comparison(source, line) == found


def test_compared_values_are_read_only_from_the_last_line_and_bounded() -> None:
    marker = compared_line("==", "x" * 1000, "1")
    assert parse(f"AssertionError\n{marker}").compared == tracebacks.Comparison(
        "==", "x" * 200, "1"
    )
    assert parse(f"AssertionError\n{marker}\nmore").compared is None
    assert parse(f"AssertionError\n{tracebacks.COMPARED_PREFIX}[1, 2]").compared is None
    assert parse(f"AssertionError\n{tracebacks.COMPARED_PREFIX}not json").compared is None


def test_clip_keeps_short_tracebacks_whole() -> None:
    lines = ["A  Traceback (most recent call last)", "Cell In[1], line 1", "----> 1 x", "A: b"]
    assert clip(lines) == "\n".join(lines)


def test_clip_keeps_the_first_frame_and_the_end() -> None:
    lines = ["E  Traceback (most recent call last)", "Cell In[1], line 9", "----> 9 run()"]
    lines += [f"File /lib/python3.11/x.py:{i}, in f\n----> {i} g()" for i in range(500)]
    lines = [*"\n".join(lines).splitlines(), "E: the end"]
    text = clip(lines, max_lines=20, max_chars=1000)
    kept = text.splitlines()
    assert len(kept) <= 20
    assert len(text) <= 1000
    assert kept[:3] == lines[:3]
    assert kept[-1] == "E: the end"
    assert kept[3].startswith("[... ")
    assert "lines not kept" in kept[3]


def test_clip_starts_the_end_at_a_frame() -> None:
    lines = ["E  Traceback (most recent call last)", "Cell In[1], line 9", "----> 9 run()"]
    for i in range(100):
        lines += [f"Cell In[1], line 2, in r{i}", "      1 def r(n):", "----> 2     r(n)"]
    text = clip([*lines, "E: end"], max_lines=21)  # the end would start mid-frame
    kept = text.splitlines()
    assert kept[3].startswith("[... ")
    assert kept[4].startswith("Cell In[1], line 2, in r")
    first = parse(f"E: end\n{text}").frames[0]
    assert first.code == ("----> 9 run()",)


def test_clip_bounds_each_line() -> None:
    assert len(clip(["x" * 10_000])) <= 400


# --- through the real kernel: the runner's numbering and a check's values ---------------


@pytest.mark.kernel
def test_the_real_kernel_path_names_cells_and_shows_compared_values(tmp_path: Path) -> None:
    cells = [
        markdown("# Setup"),
        code("import surely_not_installed_pkg"),
        code("   \n"),  # blank: nbclient skips it, so it takes no execution count
        code("def broken(:\n    pass"),  # a syntax error still takes one
        markdown("## Exercise 1"),
        code("def inner(a):\n    return a + 'x'\n\ndef outer(a):\n    return inner(a)"),
        code("outer(1)"),
        markdown("## Exercise 2"),
        code("def add_one(x):\n    return x + 2"),
        markdown("## Exercise 3"),
        code("def checked(x):\n    assert x > 10, 'too small'\n    return x"),
    ]
    path = write(tmp_path / "nb" / "a.ipynb", notebook(*cells))
    checks = {
        "2": "y = add_one(2)\nassert y == 3, y",
        "3": "assert checked(1) == 1",
    }
    ex = Assignment(
        "a",
        "A",
        datetime(2020, 1, 1, tzinfo=UTC),
        exercises=(Exercise("1"), Exercise("2", test=checks["2"]), Exercise("3", test=checks["3"])),
    )
    run = run_notebook(path, checks, ExecutionLimits(cell_timeout_s=10), base_env=ENV)
    evaluation = evaluate(ex, run)
    one, two, three = (r.detail.splitlines() for r in evaluation.exercises)
    assert one[:2] == [
        "the 7th cell, under 'Exercise 1', failed: TypeError: "
        "unsupported operand type(s) for +: 'int' and 'str'",
        "the 6th cell, under 'Exercise 1', line 2, in inner:",
    ]
    assert "  --> 2     return a + 'x'" in one
    assert "called from the 6th cell, under 'Exercise 1', line 5, in outer: return inner(a)" in one
    assert "called from the 7th cell, under 'Exercise 1', line 1: outer(1)" in one
    assert two[:4] == [
        "the check of exercise 2 failed: AssertionError: 4",
        "at line 2:",
        "      1 y = add_one(2)",
        "  --> 2 assert y == 3, y",
    ]
    assert "got 4, expected 3" in two
    # an assert in the student's own function: its line, not the check's values
    assert three[0] == "the check of exercise 3 failed: AssertionError: too small"
    assert not any(line.startswith(("got ", "the check compared")) for line in three)
    assert "the 11th cell, under 'Exercise 3', line 2, in checked:" in three
    (problem,) = evaluation.problems
    assert problem.startswith("The 2nd cell, under 'Setup', failed first: ModuleNotFoundError")
    assert "no package `surely_not_installed_pkg`" in problem


def test_an_over_budget_reply_keeps_the_first_frame_and_the_end() -> None:
    frames = [f"Cell In[1], line {i}" for i in range(5_000)]
    reply = {"content": {"status": "error", "ename": "E", "evalue": "v", "traceback": frames}}
    kept = _trimmed_reply(reply)["content"]["traceback"]
    assert len(kept) == TRACEBACK_LINES
    assert kept[:3] == frames[:3]
    assert kept[-1] == frames[-1]
