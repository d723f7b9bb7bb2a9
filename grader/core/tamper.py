"""Answer cells that change how the grader runs code (THREATS 43).

An exercise's check runs in the student's kernel, after the student's cells.
Code that installs IPython input or AST transformers, a custom exception
handler, a new execute handler, a module of its own in `sys.modules`, or a new
`abs` in `builtins` can make a wrong answer pass that check. Such code is
never complete without a TA: the exercise it touches becomes an `error` whose
detail names the cell and the line, and a TA who reads it and finds it
harmless accepts it with `/grader complete`.

The cells are read before anything runs, with `ast` (never regexes, which
aliases defeat). The reading is notebook-wide, in cell order, because an alias
made in one cell (`ip = get_ipython()`, `import builtins as b`) is used in a
later one. Expressions are resolved to dotted paths (`get_ipython()` is
`<shell>`, `globals()` is `<globals>`, `b.abs` after `import builtins as b` is
`builtins.abs`); every store, deletion, `setattr`, container mutation and
sensitive call on a path is a `Change`, and `reasons` says which changes
matter for a given check.

Decisions this module makes:

- Always flagged, whatever the check: changes to the shell's transformers,
  exception handling and cell-running methods (`ast_transformers`,
  `input_transformers_*`, `set_custom_exc`, `showtraceback`, `run_cell`,
  `events.register`...), anything done with `get_ipython().kernel`, patches of
  `IPython`, `ipykernel`, `jupyter_client` and `zmq`, `sys.modules`,
  `sys.meta_path`, `sys.excepthook`, trace functions (`sys.settrace` can jump
  over a check's lines) and `exec`/`eval`/`compile`/`run_cell` of a string that
  is not a constant (what it runs cannot be read). A constant string is read
  like a cell.
- Flagged only against a check that uses them: a name of `builtins` the check
  reads (plus `__import__` and `__build_class__`, which imports and classes use
  implicitly); a built-in name the check reads rebound in the notebook's
  globals, by any means (`def abs`, `abs = ...`, `globals()['abs'] = ...`):
  the check meant the built-in. Names the check calls that are not built-ins
  (`backward`) are answers, however they are defined. Attributes of a module
  the check imports itself (`math.isclose = ...`).
- Not flagged: anything else. Patching one's own classes (`d2l.add_to_class`),
  `setattr(self, ...)`, `sys.path`, display settings of the shell
  (`InteractiveShell.ast_node_interactivity`), magics (`%matplotlib inline`),
  `importlib.reload`, star imports.
- Code inside a function counts as if it ran: a function that would install a
  transformer is flagged where it is defined. Calls of the notebook's own
  functions are followed with the paths they pass (`install(get_ipython())`),
  and what they return is known (`def sh(): return get_ipython()`). On an
  object the reading cannot follow (`self.shell`, a parameter), attributes only
  the shell or the kernel has (`ast_transformers`, `set_custom_exc`,
  `shell_handlers`...) count as the shell's.
- A method named like a list method called on a module (`torch.sort(x)`) is a
  function call, not a change; `math.__dict__.update(isclose=f)` is one.
- IPython syntax: a cell that is not Python is read after turning line magics,
  shell escapes and help queries into `pass` (keeping line numbers), keeping
  the statement of `%time`/`%timeit`/`%prun`, and the bodies of the cell magics
  that run Python (`%%time`, `%%capture`...) or write a `.py` file
  (`%%writefile x.py`, which a later import can run). A cell that still cannot
  be read is flagged only when it mentions one of the sensitive names
  (`ast_transformers`, `sys.modules`...): IPython may accept what `ast` does not.

What this cannot see: code that reaches the machinery through gadgets no
path names (`().__class__.__base__.__subclasses__()`, `ctypes`), files the
notebook writes by other means and then imports or `%run`s. THREATS 43 asks for
the visible routes; the docs tell check authors how to write checks that need
no trust in the kernel's namespace.
"""

from __future__ import annotations

import ast
import builtins
import textwrap
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from grader.core.model import Cell

__all__ = ["Change", "CheckUse", "Finding", "check_use", "findings", "scan"]

Path = tuple[str, ...]
ChangeKind = Literal["store", "delete", "mutate", "call", "bind", "exec", "unreadable"]

BUILTIN_NAMES = frozenset(dir(builtins))
# Built-ins that an import or a class statement in a check uses without naming them.
IMPLICIT_BUILTINS = frozenset({"__import__", "__build_class__"})
SHELL = "<shell>"
GLOBALS = "<globals>"

_SHELL_CLASSES: tuple[Path, ...] = (
    ("IPython", "core", "interactiveshell", "InteractiveShell"),
    ("IPython", "InteractiveShell"),
    ("ipykernel", "zmqshell", "ZMQInteractiveShell"),
    ("IPython", "terminal", "interactiveshell", "TerminalInteractiveShell"),
)
_SHELL_GETTERS: frozenset[Path] = frozenset(
    {
        ("builtins", "get_ipython"),
        ("IPython", "get_ipython"),
        ("IPython", "core", "getipython", "get_ipython"),
        (SHELL, "instance"),
    }
)
_TRANSFORMERS = "an input or AST transformer, which rewrites the check before it runs"
_HANDLER = "a custom exception handler, which can hide the check's failure"
_EXECUTION = "how the shell runs cells, which decides what the check reports"
_KERNEL = "the kernel that executes cells and reports their results"
# Attributes of the shell whose change alters how later code (the check) runs.
_SHELL_ATTRS: dict[str, str] = {
    **dict.fromkeys(
        (
            "ast_transformers",
            "input_transformers_cleanup",
            "input_transformers_post",
            "input_transformer_manager",
            "input_splitter",
            "transform_cell",
            "transform_ast",
            "compile",
        ),
        _TRANSFORMERS,
    ),
    **dict.fromkeys(
        (
            "set_custom_exc",
            "custom_exceptions",
            "CustomTB",
            "InteractiveTB",
            "SyntaxTB",
            "showtraceback",
            "_showtraceback",
            "showsyntaxerror",
            "showindentationerror",
            "excepthook",
        ),
        _HANDLER,
    ),
    **dict.fromkeys(
        (
            "run_cell",
            "run_cell_async",
            "_run_cell",
            "run_ast_nodes",
            "run_code",
            "should_run_async",
            "events",
            "register_post_execute",
            "builtin_trap",
        ),
        _EXECUTION,
    ),
    "kernel": _KERNEL,
}
# Calling these (not only assigning them) changes the machinery.
_CHANGING_CALLS: dict[Path, str] = {
    (SHELL, "set_custom_exc"): _HANDLER,
    (SHELL, "register_post_execute"): _EXECUTION,
    (SHELL, "events", "register"): _EXECUTION,
    ("sys", "settrace"): "a trace function, which can skip lines of the check",
    ("sys", "setprofile"): "a profile function, which runs inside the check",
    ("threading", "settrace"): "a trace function, which can skip lines of the check",
    ("threading", "setprofile"): "a profile function, which runs inside the check",
    ("threading", "settrace_all_threads"): "a trace function, which can skip lines of the check",
}
_MODULES = "a module in sys.modules, which the check's imports would get instead"
_IMPORTS = "how modules are imported, so the check's imports can get other code"
_SYS_ATTRS: dict[str, str] = {
    "modules": _MODULES,
    "meta_path": _IMPORTS,
    "path_hooks": _IMPORTS,
    "path_importer_cache": _IMPORTS,
    "excepthook": _HANDLER,
    "__excepthook__": _HANDLER,
    "settrace": "the trace hook",
    "setprofile": "the profile hook",
    "monitoring": "the monitoring hooks",
}
_IMP_LOADERS = frozenset(
    {"load_source", "load_module", "load_compiled", "load_package", "load_dynamic"}
)
# Attribute names no ordinary object has: a store to one of them on an object the
# reading cannot follow (a parameter, `self.shell`) is taken as the shell's or kernel's.
_SHELL_ONLY = frozenset(
    {
        "ast_transformers",
        "input_transformers_cleanup",
        "input_transformers_post",
        "input_transformer_manager",
        "set_custom_exc",
        "custom_exceptions",
        "showtraceback",
        "_showtraceback",
        "showsyntaxerror",
        "showindentationerror",
        "CustomTB",
        "InteractiveTB",
        "SyntaxTB",
        "run_cell",
        "run_cell_async",
        "_run_cell",
        "run_ast_nodes",
        "should_run_async",
        "register_post_execute",
    }
)
_KERNEL_ONLY = frozenset({"shell_handlers", "control_handlers", "do_execute"})
# How deep calls of the notebook's own functions are followed with their arguments.
_MAX_FOLLOW = 3
# Splits text into words: ASCII that is neither a letter, a digit nor `_` becomes a space.
_PUNCTUATION_TO_SPACE = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")}
_OPERATOR_ITEMS = frozenset({("operator", "setitem"), ("operator", "delitem")})
_BUILTIN_TYPES = frozenset(
    {("builtins", name) for name in ("dict", "list", "set", "object", "type")}
)
_MACHINERY_ROOTS = frozenset({"IPython", "ipykernel", "jupyter_client", "zmq"})
_MUTATORS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "remove",
        "pop",
        "popitem",
        "clear",
        "update",
        "setdefault",
        "add",
        "discard",
        "sort",
        "reverse",
        "__setitem__",
        "__delitem__",
        "__iadd__",
        "__ior__",
    }
)
_EXECUTORS: dict[Path, int] = {  # the position of the code argument
    ("builtins", "exec"): 0,
    ("builtins", "eval"): 0,
    ("builtins", "compile"): 0,
    (SHELL, "run_cell"): 0,
    (SHELL, "run_cell_async"): 0,
    (SHELL, "ex"): 0,
    (SHELL, "ev"): 0,
    (SHELL, "run_code"): 0,
    (SHELL, "safe_execfile"): -1,  # runs a file: never readable
    (SHELL, "safe_run_module"): -1,
}
# Cell magics whose body is Python that runs (or is written for an import).
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "python", "python3"})
_FILE_CELL_MAGICS = frozenset({"writefile", "file"})
_PYTHON_LINE_MAGICS = frozenset({"time", "timeit", "prun", "debug"})
# In a cell that is not Python, any of these words is enough to flag it.
_SENSITIVE_WORDS = frozenset(
    {*_SHELL_ATTRS, "meta_path", "settrace", "setprofile", "do_execute", "shell_handlers"}
    | {"__builtins__", "builtins", "register_transformer", "exec", "set_custom_exc"}
) - {"compile", "events", "kernel"}


@dataclass(frozen=True)
class Change:
    """One thing a cell does to a named object, found before the cell runs."""

    cell: int  # the cell's index in the notebook
    line: int  # 1-based line in the cell's source
    kind: ChangeKind
    target: Path  # normalised dotted path of what changes; () when unknown
    shown: str  # the code as the student wrote it, shortened
    exact: bool = True  # False: the key or name could not be read (non-constant)


@dataclass(frozen=True)
class CheckUse:
    """What an exercise's check relies on: the names it reads and the modules it imports."""

    names: frozenset[str] = frozenset()
    modules: frozenset[str] = frozenset()  # top-level names of the modules it imports
    present: bool = False  # the exercise has a check at all
    # What it reads of those modules, as paths: ("math", "isclose"), ("numpy", "testing").
    module_paths: frozenset[Path] = frozenset()


@dataclass(frozen=True)
class Finding:
    cell: int
    line: int
    what: str  # "appends to get_ipython().ast_transformers: an input or AST transformer..."


# --- the check ------------------------------------------------------------------


def check_use(test: str | None) -> CheckUse:
    """The names a check reads without binding them, and the modules it imports."""
    if test is None:
        return CheckUse()
    tree = _parse(textwrap.dedent(test))
    if tree is None:
        return CheckUse(present=True)
    loaded: set[str] = set()
    bound: set[str] = set()
    imported: dict[str, Path] = {}  # name bound by an import -> the module path it names
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = tuple(alias.name.split("."))
                imported[alias.asname or parts[0]] = parts if alias.asname else parts[:1]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                imported[alias.asname or alias.name] = (*node.module.split("."), alias.name)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    bound.update(imported)
    # A name the check binds itself (`out = f(2)`) cannot be swapped under it,
    # unless it is a built-in it also reads first; keep built-ins it reads.
    names = {n for n in loaded if n not in bound or n in BUILTIN_NAMES}
    return CheckUse(
        frozenset(names),
        frozenset(path[0] for path in imported.values()),
        present=True,
        module_paths=frozenset(_module_paths(tree, imported)),
    )


def _module_paths(tree: ast.AST, imported: dict[str, Path]) -> Iterator[Path]:
    """Every `math.isclose`-like chain a check reads from the modules it imports.

    A name used alone (`isclose` after `from math import isclose`) is its own
    path; a module used only through attributes is not, so `math.tau = 6` is
    no business of a check that reads `math.isclose`.
    """
    bases: set[int] = set()
    for node in ast.walk(tree):
        attrs: list[str] = []
        base: ast.AST = node
        while isinstance(base, ast.Attribute):
            attrs.append(base.attr)
            base = base.value
        if attrs and isinstance(base, ast.Name) and base.id in imported:
            bases.add(id(base))
            yield (*imported[base.id], *reversed(attrs))
    names = (node for node in ast.walk(tree) if isinstance(node, ast.Name))
    for name in names:
        if id(name) not in bases and name.id in imported and isinstance(name.ctx, ast.Load):
            yield imported[name.id]


def _touches(target: Path, used: frozenset[Path]) -> bool:
    """Whether changing `target` changes something the check reads (or what holds it)."""
    return any(path[: len(target)] == target or target[: len(path)] == path for path in used)


# --- what the check's use makes of a change ---------------------------------------


def findings(changes: Iterable[Change], use: CheckUse) -> Iterator[Finding]:
    """The changes that can alter how a check with `use` runs, as findings."""
    for change in changes:
        reason = _reason(change, use)
        if reason is not None:
            yield Finding(change.cell, change.line, reason)


def _reason(change: Change, use: CheckUse) -> str | None:
    if change.kind == "exec":
        return f"{change.shown} runs code built while the notebook runs, which cannot be read"
    if change.kind == "unreadable":
        return f"cannot be read as Python, and it mentions {change.shown}"
    if change.kind == "mutate" and not change.exact and _is_module_call(change.target):
        return None  # `torch.sort(x)`: a module's function, not a container's method
    what = _what(change.target, change.kind, use)
    if what is None:
        return None
    return f"{_verb(change)} {change.shown}: {what}"


def _is_module_call(target: Path) -> bool:
    """A method call on a plain module or its attributes, which may be functions."""
    kept = {SHELL, GLOBALS, "builtins", "sys", *_MACHINERY_ROOTS}
    return bool(target) and target[0] not in kept


def _what(target: Path, kind: ChangeKind, use: CheckUse) -> str | None:
    if kind == "call":
        return _call_what(target)
    if not target:
        return None
    root, rest = target[0], target[1:]
    if root == SHELL:
        return _shell_what(rest)
    if root in _MACHINERY_ROOTS:
        return _KERNEL
    if root == "sys":
        return _sys_what(rest)
    if root == "builtins":
        return _builtins_what(rest, use)
    if root == GLOBALS:
        return _globals_what(rest, use)
    if root in use.modules and _touches(target, use.module_paths):
        return f"{'.'.join(target)}, which the check uses"
    return None


def _call_what(target: Path) -> str | None:
    if target in _CHANGING_CALLS:
        return _CHANGING_CALLS[target]
    if target[:2] == (SHELL, "kernel"):
        return _KERNEL
    if target[:2] == (SHELL, "input_transformer_manager"):
        return _TRANSFORMERS
    if target[:1] == ("imp",) and target[-1] in _IMP_LOADERS:
        return _MODULES
    return None


def _shell_what(rest: Path) -> str | None:
    if not rest:
        return "the IPython shell, in a way that cannot be read"
    return _SHELL_ATTRS.get(rest[0])


def _sys_what(rest: Path) -> str | None:
    if not rest:
        return "the sys module, in a way that cannot be read"
    return _SYS_ATTRS.get(rest[0])


def _builtins_what(rest: Path, use: CheckUse) -> str | None:
    if not rest:
        return "built-in names, which the check uses" if use.present else None
    if rest[0] in IMPLICIT_BUILTINS:
        return "the built-in that every import and class statement uses"
    if rest[0] in use.names:
        return f"the built-in {rest[0]}, which the check uses"
    return None


def _globals_what(rest: Path, use: CheckUse) -> str | None:
    check_builtins = use.names & BUILTIN_NAMES
    if not rest:
        return "the notebook's names, in a way that cannot be read" if check_builtins else None
    if rest[0] == "__builtins__" and use.present:
        return "the built-ins the check's code looks names up in"
    if rest[0] in check_builtins:
        return (
            f"{rest[0]} is a built-in the check uses; give your own function or variable "
            "another name"
        )
    return None


def _verb(change: Change) -> str:
    return {
        "store": "assigns",
        "delete": "deletes",
        "mutate": "changes",
        "call": "calls",
        "bind": "defines",
    }.get(change.kind, "changes")


# --- reading the cells ---------------------------------------------------------------


def scan(cells: Sequence[Cell]) -> tuple[Change, ...]:
    """Every change the notebook's code cells make, in notebook order."""
    module = _Scope(None, is_module=True)
    found: list[Change] = []
    for cell in cells:
        if cell.cell_type == "code":
            found.extend(_scan_cell(cell, module))
    return tuple(found)


def _scan_cell(cell: Cell, module: _Scope) -> list[Change]:
    pieces = _python_pieces(cell.source)
    changes: list[Change] = []
    for offset, text in pieces:
        tree = _parse(text)
        if tree is None:
            changes.extend(_unreadable(cell, text, offset))
            continue
        walker = _Walker(cell.index, offset, module)
        try:
            walker.statements(tree.body)
        except RecursionError:
            changes.extend(_unreadable(cell, text, offset))
            continue
        changes.extend(walker.changes)
    return changes


def _unreadable(cell: Cell, text: str, offset: int) -> list[Change]:
    words = _sensitive(text)
    if not words:
        return []
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if _sensitive(line) & words), 0)
    return [Change(cell.index, offset + first + 1, "unreadable", (), ", ".join(sorted(words)))]


def _sensitive(text: str) -> set[str]:
    """The sensitive names a text mentions (for code `ast` cannot read)."""
    words = set(text.translate(_PUNCTUATION_TO_SPACE).split())
    found = words & _SENSITIVE_WORDS
    if {"sys", "modules"} <= words:
        found.add("sys.modules")
    return found


def _only_data(tree: ast.Module) -> bool:
    """Literals and names only (a JSON document parses as Python too): nothing can change."""
    statements = all(isinstance(statement, ast.Expr) for statement in tree.body)
    return statements and not any(isinstance(node, ast.Call) for node in ast.walk(tree))


def _parse(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes in student strings
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


# --- IPython syntax -> Python, keeping line numbers ---------------------------------


def _python_pieces(source: str) -> list[tuple[int, str]]:
    """(line offset, Python text) for each part of a cell that runs as Python."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return []
    head = lines[first].strip()
    if head.startswith("%%"):
        return _cell_magic(head[2:], lines, first)
    dedented = textwrap.dedent(text) if lines[first][:1] in (" ", "\t") else text
    if _parse(dedented) is not None:
        return [(0, dedented)]
    return [(0, "\n".join(_python_line(line) for line in dedented.split("\n")))]


def _cell_magic(head: str, lines: list[str], first: int) -> list[tuple[int, str]]:
    name, _, args = head.partition(" ")
    body = "\n".join(lines[first + 1 :])
    if name in _PYTHON_CELL_MAGICS or (
        name in _FILE_CELL_MAGICS and args.split()[-1:] and args.split()[-1].endswith(".py")
    ):
        inner = _python_pieces(body)
        return [(first + 1 + offset, text) for offset, text in inner]
    return []


def _python_line(line: str) -> str:
    """One line of IPython input as Python (same line count; magics do nothing)."""
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith("%") and not stripped.startswith("%%"):
        name, _, rest = stripped[1:].partition(" ")
        return indent + (rest if name in _PYTHON_LINE_MAGICS and rest.strip() else "pass")
    if stripped.startswith("#"):
        return line
    if stripped.startswith(("!", "?")) or stripped.rstrip().endswith("?"):
        return indent + "pass"
    if stripped[:1] in ("/", ",", ";"):  # IPython's autocall escapes: `/f x` is `f(x)`
        func, _, rest = stripped[1:].partition(" ")
        return f"{indent}{func}({rest})"
    target, equals, value = stripped.partition("=")
    if equals and value.lstrip()[:1] in ("!", "%") and target.strip().isidentifier():
        return f"{indent}{target}= None"
    return line


# --- resolving names to paths ----------------------------------------------------------


@dataclass
class _Scope:
    parent: _Scope | None
    is_module: bool = False
    names: dict[str, Path | None] = field(default_factory=dict)
    strings: dict[str, str] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)
    # The notebook's own functions: their definitions and what they return.
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    returns: dict[str, Path] = field(default_factory=dict)
    string_returns: dict[str, str] = field(default_factory=dict)
    returned: list[Path] = field(default_factory=list)  # while walking a function body
    returned_strings: list[str | None] = field(default_factory=list)

    def lookup(self, name: str) -> Path | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        if name == "__builtins__":
            return ("builtins",)
        if name in BUILTIN_NAMES or name == "get_ipython":
            return ("builtins", name)
        return None

    def owner(self, name: str) -> _Scope | None:
        """The scope that binds `name`, if any does."""
        scope: _Scope | None = self
        while scope is not None and name not in scope.names:
            scope = scope.parent
        return scope

    def string(self, name: str) -> str | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.strings.get(name)
            scope = scope.parent
        return "__main__" if name == "__name__" else None  # the notebook's module name

    def module(self) -> _Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope


def _guess(attr: str) -> Path | None:
    """The path of an attribute only the shell or the kernel has, on an unknown object."""
    if attr in _SHELL_ONLY:
        return (SHELL, attr)
    if attr in _KERNEL_ONLY:
        return (SHELL, "kernel", attr)
    if attr in ("f_globals", "__globals__"):  # a frame's or function's globals
        return (GLOBALS,)
    if attr == "f_builtins":
        return ("builtins",)
    return None


def _normalise(path: Path) -> Path:
    """One spelling per object: `__dict__`/`__class__` dropped, shell and globals named."""
    for part, root in (
        ("__globals__", GLOBALS),
        ("f_globals", GLOBALS),
        ("f_builtins", "builtins"),
    ):
        if part in path:  # a function's or a frame's namespace: the notebook's, or builtins
            path = (root, *path[len(path) - path[::-1].index(part) :])
    path = tuple(part for part in path if part not in ("__dict__", "__class__"))
    for cls in _SHELL_CLASSES:
        if path[: len(cls)] == cls:
            path = (SHELL, *path[len(cls) :])
    if path[:2] == (SHELL, "instance"):
        path = (SHELL, *path[2:])
    if path[:2] in ((SHELL, "user_ns"), (SHELL, "user_global_ns"), (SHELL, "user_module")):
        path = (GLOBALS, *path[2:])
    if path[:1] == ("__main__",):
        path = (GLOBALS, *path[1:])
    if path[:2] == (GLOBALS, "__builtins__"):
        path = ("builtins", *path[2:])
    return path


def _show(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except (ValueError, RecursionError):  # pragma: no cover - unparse of a parsed tree
        text = type(node).__name__
    return text if len(text) <= 80 else text[:79] + "…"


class _Walker:
    """Walks one cell's statements in order, recording changes and tracking aliases."""

    def __init__(
        self, cell: int, offset: int, module: _Scope, following: tuple[str, ...] = ()
    ) -> None:
        self.cell = cell
        self.offset = offset
        self.scope = module
        self.changes: list[Change] = []
        self.following = following  # the notebook functions whose call is being followed

    # -- recording --

    def record(
        self, node: ast.AST, kind: ChangeKind, target: Path, shown: ast.AST, exact: bool = True
    ) -> None:
        line = self.offset + getattr(node, "lineno", 1)
        self.changes.append(Change(self.cell, line, kind, target, _show(shown), exact))

    # -- statements --

    def statements(self, body: Sequence[ast.stmt]) -> None:
        for statement in body:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            self.imports(node)
        elif isinstance(node, ast.Assign):
            self.expression(node.value)
            for target in node.targets:
                self.store(target, node.value, node)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            if node.value is not None:
                self.expression(node.value)
                self.store(
                    node.target, node.value if isinstance(node, ast.AnnAssign) else None, node
                )
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.delete(target, node)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self.function(node)
        elif isinstance(node, ast.ClassDef):
            self.klass(node)
        elif isinstance(node, ast.Global):
            self.scope.declared_global.update(node.names)
        elif isinstance(node, ast.Return) and node.value is not None:
            self.expression(node.value)
            path = self.resolve(node.value)
            if path is not None:
                self.scope.returned.append(path)
            self.scope.returned_strings.append(self.string(node.value))
        else:
            self.other(node)

    def other(self, node: ast.stmt) -> None:
        """Compound and simple statements: bind their targets, walk their parts in order."""
        for name, value in ast.iter_fields(node):
            if name in ("target", "optional_vars") and isinstance(value, ast.expr):
                self.store(value, None, node)
            elif isinstance(value, list):
                self.parts(value)
            elif isinstance(value, ast.AST):
                self.part(value)

    def parts(self, values: list[object]) -> None:
        for value in values:
            if isinstance(value, ast.AST):
                self.part(value)

    def part(self, value: ast.AST) -> None:
        if isinstance(value, ast.stmt):
            self.statement(value)
        elif isinstance(value, ast.expr):
            self.expression(value)
        elif isinstance(value, ast.withitem):
            self.expression(value.context_expr)
            if value.optional_vars is not None:
                self.store(value.optional_vars, value.context_expr, value.context_expr)
        elif isinstance(value, ast.ExceptHandler):
            if value.type is not None:
                self.expression(value.type)
            if value.name:
                self.bind(value.name, None, value)
            self.statements(value.body)
        elif isinstance(value, ast.match_case):
            self.pattern(value.pattern)
            if value.guard is not None:
                self.expression(value.guard)
            self.statements(value.body)
        else:
            for child in ast.iter_child_nodes(value):
                self.part(child)

    def pattern(self, pattern: ast.pattern) -> None:
        for node in ast.walk(pattern):
            name = getattr(node, "name", None) or getattr(node, "rest", None)
            if isinstance(name, str):
                self.bind(name, None, node)
            if isinstance(node, ast.MatchValue):
                self.expression(node.value)

    def imports(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                continue
            if isinstance(node, ast.Import):
                parts = tuple(alias.name.split("."))
                path = parts if alias.asname else parts[:1]
                name = alias.asname or parts[0]
            else:
                module = tuple(node.module.split(".")) if node.module and not node.level else ()
                path = (*module, alias.name) if module else ()
                name = alias.asname or alias.name
            self.bind(name, _normalise(path) if path else None, node)

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        if not isinstance(node, ast.Lambda):
            for decorator in node.decorator_list:
                self.expression(decorator)
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.expression(default)
        if not isinstance(node, ast.Lambda):
            self.bind(node.name, None, node)
        outer = self.scope
        self.scope = _Scope(outer)
        for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
            self.scope.names[arg.arg] = None
        for extra in (node.args.vararg, node.args.kwarg):
            if extra is not None:
                self.scope.names[extra.arg] = None
        try:
            if isinstance(node, ast.Lambda):
                self.expression(node.body)
            else:
                self.statements(node.body)
            returned, strings = self.scope.returned, set(self.scope.returned_strings)
        finally:
            self.scope = outer
        if not isinstance(node, ast.Lambda):
            owner = self.scope.owner(node.name) or self.scope
            owner.functions[node.name] = node
            if returned:
                owner.returns[node.name] = returned[0]
            if len(strings) == 1 and None not in strings:  # `def prog(): return '...'`
                owner.string_returns[node.name] = strings.pop() or ""

    def follow(self, node: ast.Call) -> None:
        """Walk a notebook function again with the paths its call passes (`install(ip)`)."""
        if not isinstance(node.func, ast.Name) or len(self.following) >= _MAX_FOLLOW:
            return
        name = node.func.id
        owner = self.scope.owner(name)
        definition = owner.functions.get(name) if owner is not None else None
        if definition is None or name in self.following:
            return
        params = [*definition.args.posonlyargs, *definition.args.args]
        bound = {p.arg: self.resolve(a) for p, a in zip(params, node.args, strict=False)}
        named = {p.arg for p in (*params, *definition.args.kwonlyargs)}
        bound.update({k.arg: self.resolve(k.value) for k in node.keywords if k.arg in named})
        if all(path is None for path in bound.values()):
            return
        scope = _Scope(owner)
        scope.names.update(bound)
        inner = _Walker(self.cell, 0, scope, (*self.following, name))
        inner.statements(definition.body)
        line = self.offset + node.lineno
        shown = f"{_show(node)}, through {name}()"
        self.changes.extend(
            Change(self.cell, line, c.kind, c.target, shown, c.exact)
            for c in inner.changes
            if c.kind != "bind"
        )

    def klass(self, node: ast.ClassDef) -> None:
        for expr in (*node.decorator_list, *node.bases, *(k.value for k in node.keywords)):
            self.expression(expr)
        self.bind(node.name, None, node)
        outer = self.scope
        self.scope = _Scope(outer)
        try:
            self.statements(node.body)
        finally:
            self.scope = outer

    # -- binding and storing --

    def bind(self, name: str, path: Path | None, node: ast.AST, text: str | None = None) -> None:
        scope = self.scope
        if name in scope.declared_global:
            scope = scope.module()
        scope.names[name] = path
        scope.strings.pop(name, None)
        scope.functions.pop(name, None)
        scope.returns.pop(name, None)
        scope.string_returns.pop(name, None)
        if text is not None:
            scope.strings[name] = text
        if scope.is_module:
            self.record(node, "bind", (GLOBALS, name), ast.Name(name))

    def store(self, target: ast.expr, value: ast.expr | None, node: ast.AST) -> None:
        if isinstance(target, ast.Name):
            path = self.resolve(value) if value is not None else None
            self.bind(target.id, path, node, self.string(value) if value is not None else None)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self.store(element, None, node)
        elif isinstance(target, ast.Starred):
            self.store(target.value, None, node)
        elif isinstance(target, ast.Attribute | ast.Subscript):
            self.expression(target.value)
            if isinstance(target, ast.Subscript):
                self.expression(target.slice)
            self.item_change(target, "store", node)

    def delete(self, target: ast.expr, node: ast.AST) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self.delete(element, node)
        elif isinstance(target, ast.Attribute | ast.Subscript):
            self.expression(target.value)
            self.item_change(target, "delete", node)

    def item_change(
        self, target: ast.Attribute | ast.Subscript, kind: ChangeKind, node: ast.AST
    ) -> None:
        base = self.resolve(target.value)
        if base is None:
            guess = _guess(target.attr) if isinstance(target, ast.Attribute) else None
            if guess is not None:
                self.record(node, kind, guess, target)
            return
        if isinstance(target, ast.Attribute):
            self.record(node, kind, _normalise((*base, target.attr)), target)
            return
        key = self.string(target.slice)
        path = _normalise((*base, key)) if key is not None else base
        self.record(node, kind, path, target, exact=key is not None)

    # -- expressions --

    def expression(self, node: ast.expr) -> None:
        """Walk an expression for the calls, lambdas and walrus targets inside it."""
        stack: list[ast.AST] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, ast.Lambda):
                self.function(current)
                continue
            if isinstance(current, ast.Call):
                self.call(current)
            elif isinstance(current, ast.NamedExpr):
                self.store(current.target, current.value, current)
            elif isinstance(current, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
                self.comprehension(current)
                continue
            elif isinstance(current, ast.Constant) and isinstance(current.value, str):
                self.code_in_string(current, current.value)
            stack.extend(reversed(list(ast.iter_child_nodes(current))))

    def comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        outer = self.scope
        self.scope = _Scope(outer)
        try:
            for generator in node.generators:
                self.expression(generator.iter)
                self.store(generator.target, None, generator.target)
                for condition in generator.ifs:
                    self.expression(condition)
            parts = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
            for part in parts:
                self.expression(part)
        finally:
            self.scope = outer

    def call(self, node: ast.Call) -> None:
        self.follow(node)
        func = self.resolve(node.func)
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        receiver = self.resolve(node.func.value) if isinstance(node.func, ast.Attribute) else None
        if method is not None and receiver is None and func is not None:
            func = None if func[-1] in ("run_cell", "run_cell_async") else func  # a guess
        if func in _OPERATOR_ITEMS and len(node.args) >= 2:
            self.operator_item(node, func)
            return
        if method in _MUTATORS and receiver in _BUILTIN_TYPES and node.args:
            # `dict.__setitem__(globals(), 'abs', f)`: the first argument is the receiver.
            receiver = self.resolve(node.args[0])
            node = ast.copy_location(ast.Call(node.func, node.args[1:], node.keywords), node)
            if receiver is not None:
                self.mutation(node, method, receiver)
            return
        if func in (("builtins", "setattr"), ("builtins", "delattr")) or (
            func is not None and func[-1] in ("__setattr__", "__delattr__") and len(func) > 1
        ):
            self.attribute_call(node, func, receiver)
        elif func is not None and func in _EXECUTORS:
            self.executor(node, func)
        elif method in _MUTATORS and receiver is not None:
            self.mutation(node, method, receiver)
        elif method == "load_module":  # a loader's load_module puts its module in sys.modules
            self.record(node, "mutate", ("sys", "modules"), node.func, exact=False)
        elif func is not None and _call_what(func) is not None:
            self.record(node, "call", func, node.func)

    def operator_item(self, node: ast.Call, func: Path) -> None:
        """`operator.setitem(ns, 'abs', f)` and `operator.delitem(...)`."""
        base = self.resolve(node.args[0])
        if base is None:
            return
        key = self.string(node.args[1])
        kind: ChangeKind = "delete" if func[-1] == "delitem" else "store"
        path = _normalise((*base, key)) if key is not None else base
        self.record(node, kind, path, node, exact=key is not None)

    def attribute_call(self, node: ast.Call, func: Path, receiver: Path | None) -> None:
        """`setattr(obj, 'name', v)`, `object.__setattr__(obj, ...)`, `obj.__setattr__(...)`."""
        kind: ChangeKind = "delete" if "del" in func[-1] else "store"
        args = list(node.args)
        bound_method = func[-1].startswith("__") and receiver not in (
            ("builtins", "object"),
            ("builtins", "type"),
        )
        if bound_method and receiver is not None:
            base: Path | None = receiver
        elif args:
            base = self.resolve(args.pop(0))
        else:
            return
        name = self.string(args[0]) if args else None
        if base is None:
            guess = _guess(name) if name is not None else None
            if guess is not None:
                self.record(node, kind, guess, node)
            return
        path = _normalise((*base, name)) if name is not None else base
        self.record(node, kind, path, node, exact=name is not None)

    def mutation(self, node: ast.Call, method: str, receiver: Path) -> None:
        keys = self.mutated_keys(node, method)
        assert isinstance(node.func, ast.Attribute)  # a method call: `x.append(...)`
        shown = ast.Name(f"{_show(node.func.value)} with .{method}()")
        # On `m.__dict__` or `vars(m)` it is the module's namespace that changes.
        kind: ChangeKind = "store" if self.is_namespace(node.func.value) else "mutate"
        if keys is None:
            self.record(node, kind, receiver, shown, exact=False)
        for key in keys or ():
            self.record(node, kind, _normalise((*receiver, key)), shown)

    def is_namespace(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Attribute):
            return node.attr == "__dict__"
        return isinstance(node, ast.Call) and self.resolve(node.func) == ("builtins", "vars")

    def mutated_keys(self, node: ast.Call, method: str) -> list[str] | None:
        """The keys a dict-like mutation touches, when all can be read; else None."""
        if method in ("pop", "setdefault", "__setitem__", "__delitem__") and node.args:
            key = self.string(node.args[0])
            return [key] if key is not None else None
        if method == "update":
            keys = [k.arg for k in node.keywords if k.arg is not None]
            if any(k.arg is None for k in node.keywords):
                return None
            for arg in node.args:
                if not isinstance(arg, ast.Dict):
                    return None
                for key_node in arg.keys:
                    key = self.string(key_node) if key_node is not None else None
                    if key is None:
                        return None
                    keys.append(key)
            return keys
        return None

    def executor(self, node: ast.Call, func: Path) -> None:
        position = _EXECUTORS[func]
        code = node.args[position] if 0 <= position < len(node.args) else None
        if code is None:
            code = next((k.value for k in node.keywords if k.arg in ("source", "raw_cell")), None)
        text = self.string(code) if code is not None else None
        if text is None and code is not None and isinstance(code, ast.Call):
            inner = self.resolve(code.func)
            if inner == ("builtins", "compile") and code.args:
                text = self.string(code.args[0])
        if text is None:
            self.record(node, "exec", (), ast.Name(_show(node.func) + "(...)"))
            return
        tree = _parse(textwrap.dedent(text))
        if tree is None:
            if _sensitive(text):
                self.record(node, "exec", (), ast.Name(_show(node.func) + "(...)"))
            return
        inner_walker = _Walker(self.cell, 0, self.scope)
        inner_walker.statements(tree.body)
        line = self.offset + node.lineno
        for change in inner_walker.changes:
            self.changes.append(
                Change(change.cell, line, change.kind, change.target, change.shown, change.exact)
            )

    def code_in_string(self, node: ast.Constant, text: str) -> None:
        """A string that is code touching the machinery: it may be written to a file and run."""
        if len(self.following) >= _MAX_FOLLOW or not _sensitive(text):
            return
        tree = _parse(textwrap.dedent(text))
        if tree is None or _only_data(tree):
            return
        inner = _Walker(self.cell, 0, _Scope(self.scope), (*self.following, "<string>"))
        inner.statements(tree.body)
        line = self.offset + node.lineno
        self.changes.extend(
            Change(self.cell, line, c.kind, c.target, f"code in a string ({c.shown})", c.exact)
            for c in inner.changes
            if c.kind != "bind"
        )

    def string(self, node: ast.expr | None) -> str | None:
        """The value of a string expression made only of constants, else None."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return self.scope.string(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.string(node.left), self.string(node.right)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            owner = self.scope.owner(node.func.id)
            if owner is not None and node.func.id in owner.string_returns:
                return owner.string_returns[node.func.id]
            if self.resolve(node.func) == ("builtins", "compile") and node.args:
                return self.string(node.args[0])  # the code object of a readable string
            return None
        if isinstance(node, ast.JoinedStr):
            parts = [
                self.string(v) if not isinstance(v, ast.FormattedValue) else None
                for v in node.values
            ]
            return "".join(p for p in parts if p is not None) if None not in parts else None
        return None

    def resolve(self, node: ast.expr | None) -> Path | None:
        """The dotted path an expression names, or None when it is not one we know."""
        if node is None:
            return None
        if isinstance(node, ast.Name):
            path = self.scope.lookup(node.id)
        elif isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            path = (*base, node.attr) if base is not None else _guess(node.attr)
        elif isinstance(node, ast.Subscript):
            path = self.subscript(node)
        elif isinstance(node, ast.Call):
            path = self.call_result(node)
        elif isinstance(node, ast.NamedExpr):
            path = self.resolve(node.value)
        else:
            path = None
        return _normalise(path) if path is not None else None

    def subscript(self, node: ast.Subscript) -> Path | None:
        base = self.resolve(node.value)
        if base is None:
            return None
        key = self.string(node.slice)
        if key is None:
            return None  # some item: not the container, and not one we can name
        if base == ("sys", "modules"):
            return tuple(key.split("."))
        if base == (GLOBALS,):
            known = self.scope.module().names.get(key)
            if known is not None:
                return known
        return (*base, key)

    def call_result(self, node: ast.Call) -> Path | None:
        if isinstance(node.func, ast.Name):
            owner = self.scope.owner(node.func.id)
            if owner is not None and node.func.id in owner.returns:
                return owner.returns[node.func.id]
        func = self.resolve(node.func)
        if func is None:
            return None
        if func in _SHELL_GETTERS:
            return (SHELL,)
        args = node.args
        if func in (("builtins", "globals"), ("builtins", "locals")) or (
            func == ("builtins", "vars") and not args
        ):
            return (GLOBALS,)
        if func in (("builtins", "vars"), ("builtins", "type"), ("importlib", "reload")):
            return self.resolve(args[0]) if len(args) == 1 else None
        if func == ("builtins", "getattr") and len(args) >= 2:
            base, name = self.resolve(args[0]), self.string(args[1])
            return (*base, name) if base is not None and name is not None else None
        if func in (("builtins", "__import__"), ("importlib", "import_module")) and args:
            name = self.string(args[0])
            if name is None:
                return None
            parts = tuple(name.split("."))
            top_only = func[0] == "builtins" and len(args) < 4 and not node.keywords
            return parts[:1] if top_only else parts
        return None
