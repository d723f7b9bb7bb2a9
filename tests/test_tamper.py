"""THREATS 43: answer cells that change how the grader runs code are never complete without a TA.

Unit tests per technique and alias (grader.core.tamper), the verdict's use of
them, the corpus and the course's reference answers as false-positive
measures, real forging notebooks through the real kernel, and the advice in
docs/maintainers.md on checks an always-equal object cannot fool.
"""

from __future__ import annotations

import os
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest

from grader.core import tamper, verdict
from grader.core.model import Assignment, Cell, CellRun, ExecutionLimits, Exercise, NotebookRun
from grader.core.verdict import evaluate
from tests.corpus import NOTEBOOKS, needs_corpus

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = datetime(2020, 8, 8, 23, 59, tzinfo=UTC)
CHECK = "import math\nassert abs(square(3) - 9) < 1e-9 and math.isclose(float(square(3)), 9.0)"


def cells(*sources: str) -> tuple[Cell, ...]:
    return tuple(Cell(i, "code", textwrap.dedent(s)) for i, s in enumerate(sources))


def flagged(*sources: str, check: str | None = CHECK) -> list[tamper.Finding]:
    return list(tamper.findings(tamper.scan(cells(*sources)), tamper.check_use(check)))


# --- techniques and aliases: each is flagged, at its cell and line ----------------------

FORGING: dict[str, tuple[tuple[str, ...], str, tuple[int, int]]] = {
    # name: (cell sources, words the finding must contain, (cell index, line))
    "ast transformer": (
        ("get_ipython().ast_transformers.append(Strip())",),
        "AST transformer",
        (0, 1),
    ),
    "ast transformer via alias": (
        ("ip = get_ipython()", "x = 1\nip.ast_transformers.append(Strip())"),
        "AST transformer",
        (1, 2),
    ),
    "ast transformer via alias of the list": (
        ("ts = get_ipython().ast_transformers", "ts.insert(0, Strip())"),
        "transformer",
        (1, 1),
    ),
    "ast transformers assigned": (
        ("get_ipython().ast_transformers = [Strip()]",),
        "transformer",
        (0, 1),
    ),
    "ast transformers augmented": (
        ("get_ipython().ast_transformers += [Strip()]",),
        "transformer",
        (0, 1),
    ),
    "ast transformer via getattr": (
        ("getattr(get_ipython(), 'ast_' + 'transformers').append(Strip())",),
        "transformer",
        (0, 1),
    ),
    "ast transformer via IPython.get_ipython": (
        ("from IPython import get_ipython as g\nsh = g()\nsh.ast_transformers.append(t)",),
        "transformer",
        (0, 3),
    ),
    "ast transformer via InteractiveShell.instance": (
        (
            "from IPython.core.interactiveshell import InteractiveShell\n"
            "InteractiveShell.instance().ast_transformers.append(t)",
        ),
        "transformer",
        (0, 2),
    ),
    "input transformer cleanup": (
        ("get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])",),
        "input",
        (0, 1),
    ),
    "input transformer post": (
        ("ip = get_ipython()\nip.input_transformers_post.extend([f])",),
        "input",
        (0, 2),
    ),
    "transformer manager": (
        ("get_ipython().input_transformer_manager.line_transforms.append(f)",),
        "transformer",
        (0, 1),
    ),
    "set_custom_exc": (
        ("get_ipython().set_custom_exc((AssertionError,), lambda *a, **k: None)",),
        "exception handler",
        (0, 1),
    ),
    "showtraceback on the class": (
        (
            "# YOUR CODE HERE\nimport IPython.core.interactiveshell\n"
            "IPython.core.interactiveshell.InteractiveShell.showtraceback = lambda *a, **k: None",
        ),
        "exception handler",
        (0, 3),
    ),
    "showtraceback via setattr and type()": (
        ("setattr(type(get_ipython()), 'showtraceback', lambda *a, **k: None)",),
        "exception handler",
        (0, 1),
    ),
    "sys.excepthook": (("import sys as s\ns.excepthook = h",), "exception handler", (0, 2)),
    "kernel do_execute": (("get_ipython().kernel.do_execute = fake",), "kernel", (0, 1)),
    "kernel shell_handlers": (
        ("k = get_ipython().kernel", "k.shell_handlers['execute_request'] = fake"),
        "kernel",
        (1, 1),
    ),
    "kernel shell_handlers update": (
        ("get_ipython().kernel.shell_handlers.update({'execute_request': fake})",),
        "kernel",
        (0, 1),
    ),
    "kernel send_response": (
        ("get_ipython().kernel.send_response(s, 'execute_reply', {})",),
        "kernel",
        (0, 1),
    ),
    "ipykernel class patched": (
        ("import ipykernel.ipkernel\nipykernel.ipkernel.IPythonKernel.do_execute = fake",),
        "kernel",
        (0, 2),
    ),
    "run_cell patched": (
        ("ip = get_ipython()\n_orig = ip.run_cell\nip.run_cell = lambda *a, **k: _orig(*a)",),
        "runs",
        (0, 3),
    ),
    "post_run_cell callback": (
        ("get_ipython().events.register('post_run_cell', cb)",),
        "runs cells",
        (0, 1),
    ),
    "sys.modules item": (("import sys\nsys.modules['math'] = fake",), "sys.modules", (0, 2)),
    "sys.modules via alias and update": (
        ("import sys", "mods = sys.modules\nmods.update(math=fake)"),
        "sys.modules",
        (1, 2),
    ),
    "sys.modules deleted": (("import sys\ndel sys.modules['math']",), "sys.modules", (0, 2)),
    "sys.modules with a computed key": (
        ("import sys\nsys.modules[name] = module",),
        "sys.modules",
        (0, 2),
    ),
    "sys.modules through __import__": (
        ("__import__('sys').modules.setdefault('math', fake)",),
        "sys.modules",
        (0, 1),
    ),
    "sys.modules through importlib": (
        ("import importlib\nimportlib.import_module('sys').modules['math'] = fake",),
        "sys.modules",
        (0, 2),
    ),
    "loader load_module": (
        ("import importlib.machinery\nimportlib.machinery.SourceFileLoader('m', p).load_module()",),
        "sys.modules",
        (0, 2),
    ),
    "imp.load_source": (("import imp\nimp.load_source('math', 'x.py')",), "sys.modules", (0, 2)),
    "meta_path hook": (("import sys\nsys.meta_path.insert(0, Finder())",), "imported", (0, 2)),
    "settrace": (("import sys\nsys.settrace(jump_over_asserts)",), "trace", (0, 2)),
    "builtins attribute": (("import builtins\nbuiltins.abs = lambda x: 0",), "abs", (0, 2)),
    "builtins alias": (("import builtins as b", "b.abs = lambda x: 0"), "abs", (1, 1)),
    "__builtins__ item": (("__builtins__['abs'] = lambda x: 0",), "abs", (0, 1)),
    "__builtins__ attribute": (("__builtins__.abs = lambda x: 0",), "abs", (0, 1)),
    "builtins __dict__": (("import builtins\nbuiltins.__dict__['abs'] = f",), "abs", (0, 2)),
    "builtins vars update": (("vars(__import__('builtins')).update(abs=f)",), "abs", (0, 1)),
    "setattr on builtins": (("setattr(__import__('builtins'), 'abs', f)",), "abs", (0, 1)),
    "setattr alias, folded name": (
        ("sa = setattr\nimport builtins\nname = 'a' + 'bs'\nsa(builtins, name, f)",),
        "abs",
        (0, 4),
    ),
    "object.__setattr__": (
        ("import builtins\nobject.__setattr__(builtins, 'abs', f)",),
        "abs",
        (0, 2),
    ),
    "builtins with a computed name": (
        ("import builtins\nsetattr(builtins, n, f)",),
        "built-in names",
        (0, 2),
    ),
    "__import__ replaced": (
        ("import builtins\nbuiltins.__import__ = hook",),
        "import",
        (0, 2),
    ),
    "globals item shadowing a built-in": (("globals()['abs'] = lambda x: 0",), "abs", (0, 1)),
    "def shadowing a built-in": (("def abs(x):\n    return 0",), "abs", (0, 1)),
    "assignment shadowing a built-in": (("abs = lambda x: 0",), "abs", (0, 1)),
    "import shadowing a built-in": (("from mymod import zero as abs",), "abs", (0, 1)),
    "global statement in a function": (
        ("def f():\n    global abs\n    abs = len\nf()",),
        "abs",
        (0, 3),
    ),
    "user_ns": (("get_ipython().user_ns['abs'] = f",), "abs", (0, 1)),
    "__main__ module": (("import __main__\n__main__.abs = f",), "abs", (0, 2)),
    "__builtins__ rebound": (("__builtins__ = {'abs': f}",), "built-ins", (0, 1)),
    "module the check imports": (
        ("import math as m\nm.isclose = lambda *a, **k: True",),
        "math",
        (0, 2),
    ),
    "module via sys.modules item": (
        ("import sys\nsys.modules['math'].isclose = lambda *a, **k: True",),
        "math",
        (0, 2),
    ),
    "exec of a constant": (
        ("exec('import builtins; builtins.abs = lambda x: 0')",),
        "abs",
        (0, 1),
    ),
    "exec of a name bound to a constant": (
        ("code = 'get_ipython().ast_transformers.append(t)'\nexec(code)",),
        "transformer",
        (0, 1),  # the string itself is code that touches the machinery
    ),
    "exec of compile of a constant": (
        ("exec(compile('import builtins\\nbuiltins.abs = f', 'x', 'exec'))",),
        "abs",
        (0, 1),
    ),
    "exec of a string built at run time": (("exec(''.join(parts))",), "cannot be read", (0, 1)),
    "eval of a string built at run time": (("eval(text)",), "cannot be read", (0, 1)),
    "run_cell of a string built at run time": (
        ("get_ipython().run_cell(source)",),
        "cannot be read",
        (0, 1),
    ),
    "inside a function": (
        ("def install():\n    get_ipython().ast_transformers.append(T())",),
        "transformer",
        (0, 2),
    ),
    "inside a lambda": (
        ("go = lambda: setattr(__import__('builtins'), 'abs', f)",),
        "abs",
        (0, 1),
    ),
    "inside a class body method": (
        ("class P:\n    def run(self):\n        import sys\n        sys.modules['math'] = self",),
        "sys.modules",
        (0, 4),
    ),
    "inside try and with": (
        (
            "try:\n    with ctx():\n        import builtins\n        builtins.abs = f\n"
            "except E:\n    pass",
        ),
        "abs",
        (0, 4),
    ),
    "under %%capture": (("%%capture\nimport builtins\nbuiltins.abs = f",), "abs", (0, 3)),
    "after a line magic": (
        ("%matplotlib inline\nimport builtins\nbuiltins.abs = f",),
        "abs",
        (0, 3),
    ),
    "in %time": (("%time get_ipython().ast_transformers.append(t)",), "transformer", (0, 1)),
    "in a %%writefile .py": (
        ("%%writefile helper.py\nimport builtins\nbuiltins.abs = f",),
        "abs",
        (0, 3),
    ),
    "a function returning the shell": (
        ("def sh():\n    return get_ipython()", "sh().ast_transformers.append(t)"),
        "transformer",
        (1, 1),
    ),
    "the shell passed to a function": (
        (
            "def install(s, t):\n    s.custom_exceptions = (AssertionError,)",
            "install(get_ipython(), 1)",
        ),
        "exception handler",
        (0, 2),
    ),
    "builtins passed to a function": (
        ("import builtins\ndef patch(m, f):\n    m.abs = f", "patch(builtins, lambda x: 0)"),
        "abs",
        (1, 1),
    ),
    "the shell kept on an object": (
        ("class P:\n    def go(self):\n        self.shell.showtraceback = None",),
        "exception handler",
        (0, 3),
    ),
    "the kernel kept in a parameter": (
        ("def f(k):\n    k.shell_handlers['execute_request'] = g",),
        "kernel",
        (0, 2),
    ),
    "frame globals": (("import sys\nsys._getframe().f_globals['abs'] = f",), "abs", (0, 2)),
    "frame builtins": (
        ("import inspect\ninspect.currentframe().f_builtins['abs'] = f",),
        "abs",
        (0, 2),
    ),
    "operator.setitem": (
        ("import operator, builtins\noperator.setitem(vars(builtins), 'abs', f)",),
        "abs",
        (0, 2),
    ),
    "dict.__setitem__ unbound": (("dict.__setitem__(globals(), 'abs', f)",), "abs", (0, 1)),
    "list.append unbound": (
        ("list.append(get_ipython().ast_transformers, Strip())",),
        "transformer",
        (0, 1),
    ),
    "code written to a file": (
        (
            "code = 'import builtins\\nbuiltins.abs = lambda x: 0\\n'",
            "open('helper.py', 'w').write(code)\nimport helper",
        ),
        "code in a string",
        (0, 1),
    ),
    "indented cell": (("    import builtins\n    builtins.abs = f",), "abs", (0, 2)),
    "not Python but mentions the machinery": (
        ("x = y ?? z\nget_ipython().ast_transformers.append(t)",),
        "ast_transformers",
        (0, 2),
    ),
}


@pytest.mark.parametrize("name", sorted(FORGING))
def test_each_technique_is_flagged_at_its_cell_and_line(name: str) -> None:
    sources, words, (cell, line) = FORGING[name]
    found = flagged(*sources)
    assert found, f"{name}: not flagged"
    assert (found[0].cell, found[0].line) == (cell, line)
    assert words.casefold() in found[0].what.casefold(), found[0].what


# --- ordinary code: never flagged ------------------------------------------------------------

ORDINARY: dict[str, tuple[str, ...]] = {
    "answer function": ("def square(x):\n    return x * x",),
    "answer via globals": ("globals()['square'] = lambda x: x * x",),
    "answer as a built-in name the check does not use": ("def sum_of(x):\n    return sum(x)",),
    "shadowing a built-in the check does not use": ("input = 3\nlist_ = [1]\nid = 7",),
    "builtins read": ("import builtins\nprint(builtins.abs(-1))",),
    "builtins name the check does not use": ("import builtins\nbuiltins.print = print",),
    "magics and shell": ("%matplotlib inline\n!pip install d2l==1.0.3\n%load_ext autoreload",),
    "display settings of the shell": (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.ast_node_interactivity = 'all'",
    ),
    "line magic through the shell": ("get_ipython().run_line_magic('matplotlib', 'inline')",),
    "display": ("from IPython.display import display, HTML\ndisplay(HTML('<b>x</b>'))",),
    "d2l add_to_class": (
        "from d2l import torch as d2l\n"
        "@d2l.add_to_class(d2l.Trainer)  #@save\n"
        "def fit_epoch(self):\n    self.model.eval()",
    ),
    "monkeypatching one's own class": (
        "class Model: pass\nModel.forward = lambda self, x: x\nsetattr(Model, 'loss', f)",
    ),
    "setattr on self": (
        "class H:\n    def __init__(self, **kw):\n"
        "        for k, v in kw.items():\n            setattr(self, k, v)",
    ),
    "sys.path and recursion limit": (
        "import sys\nsys.path.insert(0, '..')\nsys.path.append('.')\nsys.setrecursionlimit(5000)",
    ),
    "stdout redirect": ("import sys, io\nsys.stdout = io.StringIO()\nsys.stdout = sys.__stdout__",),
    "importlib reload": ("import importlib, mymod\nimportlib.reload(mymod)",),
    "seeds and warnings": (
        "import random, warnings\nimport numpy as np\nrandom.seed(0)\nnp.random.seed(0)\n"
        "warnings.filterwarnings('ignore')",
    ),
    "rcParams": ("import matplotlib.pyplot as plt\nplt.rcParams.update({'figure.dpi': 100})",),
    "numpy patched where the check does not import it": ("import numpy as np\nnp.foo = 1",),
    "os.environ": ("import os\nos.environ['OMP_NUM_THREADS'] = '1'",),
    "constant eval and exec": ("eval('1 + 2')\nexec('y = 3')",),
    "dict and list mutations": ("d = {}\nd.update(a=1)\nxs = []\nxs.append(1)\nd['k'] = xs",),
    "local shadowing inside a function": ("def f(abs):\n    return abs\nf(1)",),
    "comprehension variable": ("xs = [abs(x) for x in range(3)]",),
    "syntax error without sensitive names": ("def f(:\n    return 1",),
    "a cell magic that is not Python": ("%%bash\necho builtins sys.modules",),
    "star import": ("from math import *",),
    "a string that mentions builtins": ("note = 'builtins and sys.modules are not touched here'",),
    "a docstring with example code": (
        'def f():\n    """Example:\n\n    import builtins\n    builtins.print(1)\n    """',
    ),
}


@pytest.mark.parametrize("name", sorted(ORDINARY))
def test_ordinary_code_is_not_flagged(name: str) -> None:
    assert flagged(*ORDINARY[name]) == []


def test_without_a_check_only_the_machinery_counts() -> None:
    assert flagged("def abs(x):\n    return 0", check=None) == []
    assert flagged("import builtins\nbuiltins.abs = f", check=None) == []
    assert flagged("get_ipython().ast_transformers.append(t)", check=None)


@pytest.mark.parametrize(
    ("check", "source", "hit"),
    [
        (
            "from math import isclose\nassert isclose(f(2), 4)",
            "import math\nmath.isclose = g",
            True,
        ),
        (
            "import numpy as np\nassert np.linalg.norm(f(2)) == 2",
            "import numpy\nnumpy.linalg.norm = g",
            True,
        ),
        (
            "import numpy as np\nassert np.linalg.norm(f(2)) == 2",
            "import numpy\nnumpy.linalg = g",
            True,
        ),
        ("import math\nassert math.isclose(f(2), 4)", "import math\nmath.__dict__.update(d)", True),
        ("import math\nassert math.isclose(f(2), 4)", "import math\nmath.isclose.x = 1", True),
        (
            "import pandas as pd\nassert f(pd.DataFrame())",
            "import pandas as pd\npd.options.x = 1",
            False,
        ),
        ("import math\nassert math.isclose(f(2), 4)", "import math\nmath.tau = 6", False),
        ("assert f(2) == 4", "import math\nmath.isclose = g", False),
    ],
)
def test_module_attributes_count_only_where_the_check_reads_them(
    check: str, source: str, hit: bool
) -> None:
    assert bool(flagged(source, check=check)) is hit


def test_a_check_binding_a_name_itself_does_not_make_it_sensitive() -> None:
    use = tamper.check_use("out = square(3)\nassert out == 9")
    assert "out" not in use.names
    assert {"square"} <= use.names


def test_deep_cells_are_read_without_crashing() -> None:
    deep = "x = " + "(" * 150 + "1" + ")" * 150
    chain = "y = " + "+".join(["1"] * 50_000)
    assert flagged(deep, chain) == []
    assert flagged(chain + "\nimport builtins\nbuiltins.abs = f")


# --- the verdict ----------------------------------------------------------------------------


def assignment(*exercises: Exercise) -> Assignment:
    return Assignment("section-01", "Intro", DEADLINE, exercises=exercises)


def run_of(nb: Sequence[Cell], status: str = "ok") -> NotebookRun:
    runs = {c.index: CellRun("ok") for c in nb if c.cell_type == "code"}
    return NotebookRun(cells=tuple(nb), runs=runs, tests={"1": CellRun(status)})  # type: ignore[arg-type]


def numbered(*items: Cell) -> tuple[Cell, ...]:
    return tuple(replace(cell, index=i) for i, cell in enumerate(items))


def md(source: str) -> Cell:
    return Cell(-1, "markdown", source)


def code(source: str) -> Cell:
    return Cell(-1, "code", source)


SQUARE = Exercise("1", answer="code", test="assert abs(square(3) - 9) < 1e-9")


def test_a_forged_pass_is_an_error_naming_the_cell_and_line_and_the_ta_command() -> None:
    nb = numbered(
        md("### Exercise 1"),
        code("def square(x):\n    return x + 1\nimport builtins\nbuiltins.abs = lambda x: 0"),
    )
    result = evaluate(assignment(SQUARE), run_of(nb))
    assert result.status == "incomplete"
    (exercise,) = result.exercises
    assert exercise.status == "error"
    assert exercise.detail.startswith("cell 2, line 4 assigns builtins.abs")
    assert "/grader complete" in exercise.detail


def test_an_honest_notebook_stays_complete() -> None:
    nb = numbered(
        md("### Exercise 1"), code("%matplotlib inline\ndef square(x):\n    return x * x")
    )
    assert evaluate(assignment(SQUARE), run_of(nb)).status == "complete"


def test_tampering_outside_any_exercise_reaches_the_check() -> None:
    nb = numbered(
        code("get_ipython().ast_transformers.append(Strip())"),
        md("### Exercise 1"),
        code("def square(x):\n    return 0"),
    )
    (exercise,) = evaluate(assignment(SQUARE), run_of(nb)).exercises
    assert exercise.status == "error"
    assert exercise.detail.startswith("cell 1, line 1 (outside this exercise)")


def test_an_exercise_without_a_check_is_touched_only_by_code_before_its_cells() -> None:
    free = Exercise("1", answer="code")
    tamper_cell = code("get_ipython().set_custom_exc((Exception,), h)")
    before = numbered(tamper_cell, md("### Exercise 1"), code("x = 1"))
    after = numbered(md("### Exercise 1"), code("x = 1"), md("## Notes"), tamper_cell)
    run = NotebookRun(cells=before, runs={0: CellRun("ok"), 2: CellRun("ok")})
    assert evaluate(assignment(free), run).exercises[0].status == "error"
    run = NotebookRun(cells=after, runs={1: CellRun("ok"), 3: CellRun("ok")})
    assert evaluate(assignment(free), run).status == "complete"


def test_an_error_keeps_its_own_detail_after_the_tampering() -> None:
    nb = numbered(md("### Exercise 1"), code("def abs(x):\n    return 0"))
    run = replace(run_of(nb), tests={"1": CellRun("error", "NameError: square")})
    (exercise,) = evaluate(assignment(SQUARE), run).exercises
    assert exercise.status == "error"
    assert "defines abs" in exercise.detail
    assert exercise.detail.endswith("Also, the check of exercise 1 failed: NameError: square")


def test_missing_and_empty_come_before_tampering() -> None:
    other = Exercise("2", answer="code")
    nb = numbered(
        code("get_ipython().ast_transformers.append(t)"),
        md("### Exercise 2"),
        code("# YOUR CODE HERE\nraise NotImplementedError()"),
    )
    result = evaluate(assignment(SQUARE, other), run_of(nb))
    assert [e.status for e in result.exercises] == ["missing", "empty"]


# --- false positives: the corpus and the course's own answers --------------------------------


def committed_cells(path: Path) -> tuple[Cell, ...] | None:
    """The cells as the grader reads them (nbformat, upgraded to v4), or None if unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception:  # unreadable notebooks are the runner's business
        return None
    found = []
    for i, cell in enumerate(nb.cells):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        kind = cell.get("cell_type")
        kind = "markdown" if kind == "heading" else kind
        found.append(Cell(i, kind if kind in ("code", "markdown") else "raw", source))
    return tuple(found)


def every_check() -> tamper.CheckUse:
    """What every check of the course and the demo uses, plus common built-ins: the strictest."""
    from grader.adapters.course import load_course

    names: set[str] = {"abs", "float", "int", "len", "round", "type", "isinstance", "sum"}
    names |= {"max", "min", "range", "list", "str", "print", "sorted", "zip", "all", "any"}
    extra = tamper.check_use(
        "import math, numpy as np\nmath.isclose, np.isclose, np.testing.assert_allclose"
    )
    modules, paths = set(extra.modules), set(extra.module_paths)
    for root in (ROOT, ROOT / "grader" / "demo"):
        for a in load_course(root).assignments.values():
            for e in a.exercises:
                use = tamper.check_use(e.test)
                names |= use.names
                modules |= use.modules
                paths |= use.module_paths
    return tamper.CheckUse(frozenset(names), frozenset(modules), True, frozenset(paths))


# The one corpus notebook that tampers: nbgrader's own cheat attempt (showtraceback).
TRUE_POSITIVES = {"nbgrader__submitted-cheat-attempt.ipynb"}


def notebooks() -> Iterator[Path]:
    yield from sorted((ROOT / "grader" / "demo" / "nb").glob("*.ipynb"))
    yield from sorted(NOTEBOOKS.glob("*.ipynb"))


@needs_corpus
def test_corpus_and_demo_notebooks_have_no_false_positive() -> None:
    use = every_check()
    read = 0
    false_positives: list[str] = []
    caught: set[str] = set()
    for path in notebooks():
        nb = committed_cells(path)
        if nb is None:
            continue
        read += 1
        found = list(tamper.findings(tamper.scan(nb), use))
        if found and path.name in TRUE_POSITIVES:
            caught.add(path.name)
        elif found:
            false_positives.append(f"{path.name}: cell {found[0].cell + 1}: {found[0].what}")
    assert read >= 45  # 44 readable corpus notebooks and the 7 demo ones
    assert false_positives == []
    assert caught == TRUE_POSITIVES


def test_reference_answers_are_not_flagged() -> None:
    from tests.test_course_repo import REFERENCE

    use = every_check()
    for key, source in REFERENCE.items():
        found = list(tamper.findings(tamper.scan(cells(source)), use))
        assert found == [], (key, found)


# --- through the real kernel ----------------------------------------------------------------

WRONG = "def square(x):\n    return x + 1\n"
ABS_CHECK = "assert abs(square(3) - 9) < 1e-9"
MATH_CHECK = "import math\nassert math.isclose(square(3), 9)"
STRIP_ASSERTS = (
    "import ast\nclass Strip(ast.NodeTransformer):\n    def visit_Assert(self, node):\n"
    "        return ast.Pass()\n"
)
# name: (the forging code, the check it fools, whether it fools the runner on its own)
KERNEL_FORGES: dict[str, tuple[str, str, bool]] = {
    "ast transformer": (
        STRIP_ASSERTS + "get_ipython().ast_transformers.append(Strip())",
        ABS_CHECK,
        True,
    ),
    "input transformer": (
        "ip = get_ipython()\nip.input_transformers_cleanup.append(lambda lines: ['pass\\n'])",
        ABS_CHECK,
        True,
    ),
    "post_run_cell clears the error": (
        "get_ipython().events.register('post_run_cell', "
        "lambda r: setattr(r, 'error_in_exec', None))",
        ABS_CHECK,
        True,
    ),
    "run_cell patched": (
        "ip = get_ipython()\n_run = ip.run_cell\n"
        "def run_cell(*a, **k):\n    r = _run(*a, **k)\n    r.error_in_exec = None\n    return r\n"
        "ip.run_cell = run_cell",
        ABS_CHECK,
        True,
    ),
    "builtins alias": ("import builtins as b\nb.abs = lambda x: 0", ABS_CHECK, True),
    "def abs": ("def abs(x):\n    return 0", ABS_CHECK, True),
    "globals item": ("globals()['abs'] = lambda x: 0", ABS_CHECK, True),
    "exec of a constant": ("exec('import builtins; builtins.abs = lambda x: 0')", ABS_CHECK, True),
    "sys.modules": (
        "import sys, types\nfake = types.ModuleType('math')\n"
        "fake.isclose = lambda *a, **k: True\nsys.modules['math'] = fake",
        MATH_CHECK,
        True,
    ),
    "module patched": ("import math as m\nm.isclose = lambda *a, **k: True", MATH_CHECK, True),
    # The runner reads the execute reply's status, so these do not fool it even unchecked.
    "set_custom_exc": (
        "get_ipython().set_custom_exc((AssertionError,), lambda *a, **k: None)",
        ABS_CHECK,
        False,
    ),
    "showtraceback": (
        "import IPython.core.interactiveshell as s\n"
        "s.InteractiveShell.showtraceback = lambda *a, **k: None",
        ABS_CHECK,
        False,
    ),
}
LIMITS = ExecutionLimits(cell_timeout_s=20, notebook_timeout_s=120, memory_mb=1024)


@pytest.fixture(scope="module")
def kernel_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[NotebookRun, str]]:
    from grader.adapters.runner import run_many
    from tests.notebooks import code as nb_code
    from tests.notebooks import markdown, notebook, write

    tmp = tmp_path_factory.mktemp("forges")
    names = [*KERNEL_FORGES, "honest wrong answer"]
    items = []
    for i, name in enumerate(names):
        forge, check, _ = KERNEL_FORGES.get(name, ("", ABS_CHECK, False))
        nb = notebook(markdown("### Exercise 1"), nb_code(WRONG + forge))
        items.append((write(tmp / f"nb{i}" / "nb.ipynb", nb), {"1": check}))
    env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8"}
    runs = run_many(items, LIMITS, base_env=env, jobs=2)
    return {n: (run, items[i][1]["1"]) for i, (n, run) in enumerate(zip(names, runs, strict=True))}


def _judged(run: NotebookRun, check: str) -> tuple[str, str]:
    result = evaluate(assignment(Exercise("1", answer="code", test=check)), run)
    return result.status, result.exercises[0].detail


def _undetected(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the verdict said before THREATS 43: the tamper scan finds nothing."""
    monkeypatch.setattr(verdict.tamper, "scan", lambda _cells: ())


@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(KERNEL_FORGES))
def test_forging_notebooks_end_error_in_the_real_kernel(
    kernel_runs: dict[str, tuple[NotebookRun, str]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, check = kernel_runs[name]
    assert run.problems == ()
    assert [r.status for r in run.runs.values()] == ["ok"]
    status, detail = _judged(run, check)
    assert status == "incomplete"
    assert detail.startswith("cell 2, line ")
    assert "/grader complete" in detail
    # The forgery is real: without the static check the wrong answer passes.
    fools_runner = KERNEL_FORGES[name][2]
    assert (run.tests["1"].status == "ok") is fools_runner
    _undetected(monkeypatch)
    assert (_judged(run, check)[0] == "complete") is fools_runner


@pytest.mark.kernel
def test_an_honest_wrong_answer_fails_its_check(
    kernel_runs: dict[str, tuple[NotebookRun, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    run, check = kernel_runs["honest wrong answer"]
    assert run.tests["1"].status == "error"
    judged = _judged(run, check)
    assert judged[0] == "incomplete"
    assert "AssertionError" in judged[1]
    _undetected(monkeypatch)
    assert _judged(run, check) == judged


# --- docs/maintainers.md: checks an always-equal object cannot fool ---------------------------

ALWAYS_EQUAL = """
class Yes:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __gt__(self, other): return True
    def __abs__(self): return 0
    def __sub__(self, other): return self
    def __float__(self): return 4.0
    def __bool__(self): return True
def square(x):
    return Yes()
"""
FLOAT_SUBCLASS = """
class Four(float):
    def __eq__(self, other): return True
    def __sub__(self, other): return Four(0.0)
    __hash__ = float.__hash__
def square(x):
    return Four(0.0)
"""
RIGHT = "def square(x):\n    return x * x\n"
NAIVE = "assert square(2) == 4\nassert abs(square(3) - 9) < 1e-9"
ROBUST = """
import math
got = square(2)
assert type(got) in (int, float), f"expected a number, got {type(got).__name__}"
assert math.isclose(float(got), 4.0)
"""
ROBUST_ISINSTANCE = """
import math
got = square(2)
assert isinstance(got, (int, float)) and math.isclose(float(got), 4.0), got
"""


def passes(answer: str, check: str) -> bool:
    namespace: dict[str, object] = {}
    exec(answer, namespace)  # the tests' own snippets, never student code
    try:
        exec(check, namespace)
    except AssertionError:
        return False
    return True


@pytest.mark.parametrize(
    "cheat", [ALWAYS_EQUAL, FLOAT_SUBCLASS], ids=["always-equal", "float-subclass"]
)
def test_the_advised_check_rejects_an_always_equal_object(cheat: str) -> None:
    assert passes(cheat, NAIVE)  # the naive check is fooled
    assert not passes(cheat, ROBUST)
    assert passes(RIGHT, ROBUST)
    assert passes("def square(x):\n    return float(x) ** 2\n", ROBUST)


def test_float_of_the_answer_defeats_a_float_subclass_even_with_isinstance() -> None:
    assert not passes(FLOAT_SUBCLASS, ROBUST_ISINSTANCE)
    assert passes(RIGHT, ROBUST_ISINSTANCE)
    # Without float(), isinstance alone lets the subclass through.
    assert passes(FLOAT_SUBCLASS, "got = square(2)\nassert isinstance(got, float) and got == 4")


def test_the_check_in_the_maintainers_guide_is_the_robust_kind() -> None:
    import yaml

    guide = (ROOT / "docs" / "maintainers.md").read_text(encoding="utf-8")
    section = guide.split("### Writing checks that cannot be fooled", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    check = yaml.safe_load(block)[0]["test"]
    assert passes(RIGHT, check)
    assert not passes(ALWAYS_EQUAL, check)
    assert not passes(FLOAT_SUBCLASS, check)
    assert passes(ALWAYS_EQUAL, NAIVE)
