"""The layout shows the architecture: grader/core stays pure."""

import ast
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "grader" / "core"
# The core may use the standard library only, and none of its I/O modules.
FORBIDDEN_STDLIB = {
    "os",
    "sys",
    "subprocess",
    "socket",
    "shutil",
    "tempfile",
    "pathlib",
    "io",
    "asyncio",
    "threading",
    "multiprocessing",
    "urllib",
    "http",
    "random",
    "time",
    "signal",
    "glob",
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_imports_only_pure_stdlib(path: Path) -> None:
    for name in imports_of(path):
        if name in {"grader", "__future__"}:
            continue
        assert name in sys.stdlib_module_names, f"{path.name} imports third-party {name}"
        assert name not in FORBIDDEN_STDLIB, f"{path.name} imports I/O module {name}"


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_does_not_import_the_shell(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("grader"):
            assert node.module.startswith("grader.core"), f"{path.name} imports {node.module}"


def test_core_never_reads_the_clock() -> None:
    for path in CORE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert ".now(" not in text, path.name
        assert "utcnow" not in text, path.name


# --- the layers around the core ----------------------------------------------------

PACKAGE = CORE.parent
APP = PACKAGE / "app"
CLI = PACKAGE / "cli"


def grader_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, with its full dotted name (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module_name(path).split(".")
                anchor = anchor[: len(anchor) - node.level + (path.name == "__init__.py")]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            found.add("importlib")
    return found


def layer_violations(path: Path, allowed: tuple[str, ...]) -> list[str]:
    """The grader modules `path` imports outside `allowed` prefixes (stdlib checked apart)."""
    return sorted(
        name
        for name in imported_modules(path)
        if name.split(".")[0] == "grader"
        and name != "grader"
        and not any(name == a or name.startswith(a + ".") for a in allowed)
    )


def is_existing_module(name: str) -> bool:
    relative = Path(*name.split("."))
    root = PACKAGE.parent
    return (root / relative).with_suffix(".py").exists() or (root / relative).is_dir()


@pytest.mark.parametrize("path", sorted(APP.glob("*.py")), ids=lambda p: p.name)
def test_app_imports_only_core_ports_and_stdlib(path: Path) -> None:
    """Use cases reach the world only through the ports: no adapter, no CLI, no I/O module."""
    bad = [n for n in layer_violations(path, ("grader.core", "grader.ports", "grader.app"))]
    bad = [n for n in bad if not is_existing_module(n) or not n.startswith("grader.app")]
    assert not bad, f"{path.name} imports {bad}"
    for name in imports_of(path):
        if name in {"grader", "__future__"}:
            continue
        assert name in sys.stdlib_module_names, f"{path.name} imports third-party {name}"
        assert name not in FORBIDDEN_STDLIB | {"importlib"}, f"{path.name} imports I/O {name}"


def test_ports_import_only_the_core() -> None:
    path = PACKAGE / "ports.py"
    assert not layer_violations(path, ("grader.core",))


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_layer_above_it(path: Path) -> None:
    """`import grader.adapters.x` is caught as well as `from grader.adapters import x`."""
    assert not layer_violations(path, ("grader.core",)), path.name


def test_only_the_cli_imports_the_cli_and_no_command_imports_main() -> None:
    for path in grader_modules():
        names = [n for n in imported_modules(path) if n.startswith("grader.cli")]
        if CLI not in path.parents:
            assert not names, f"{module_name(path)} imports {names}"
        elif path.name != "main.py":
            assert not [n for n in names if n.startswith("grader.cli.main")], path.name


def defined_names(path: Path) -> set[str]:
    """Names a module defines itself at its top level (not those it imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            targets = [
                e for t in node.targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])
            ]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks define nothing at run time
            continue
    return names


def test_every_name_is_imported_from_where_it_is_defined() -> None:
    """No re-exports: `from grader.x import N` finds N defined in grader/x (or N a module)."""
    problems = []
    for path in grader_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("grader")):
                continue
            module = PACKAGE.parent / Path(*node.module.split("."))  # type: ignore[union-attr]
            source = module.with_suffix(".py") if module.with_suffix(".py").exists() else None
            for alias in node.names:
                if (module / f"{alias.name}.py").exists() or (module / alias.name).is_dir():
                    continue  # a submodule
                if source is None:
                    source = module / "__init__.py"
                if alias.name not in defined_names(source):
                    problems.append(f"{module_name(path)}: {alias.name} from {node.module}")
    assert not problems, problems


def test_architecture_check_catches_an_adapter_import_in_app(tmp_path: Path) -> None:
    """The check itself can fail: an app module importing an adapter is reported."""
    bad = tmp_path / "grader" / "app" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("import grader.adapters.ledger\nfrom grader.cli import main\n")
    found = [
        n
        for n in imported_modules(bad)
        if n.startswith("grader") and not n.startswith(("grader.core", "grader.ports"))
    ]
    assert "grader.adapters.ledger" in found
    assert "grader.cli.main" in found


@pytest.mark.parametrize("path", sorted((PACKAGE / "adapters").rglob("*.py")), ids=lambda p: p.stem)
def test_adapters_never_import_use_cases_or_commands(path: Path) -> None:
    """The shell's arrows point one way: cli -> app -> core/ports <- adapters."""
    allowed = ("grader.core", "grader.ports", "grader.adapters")
    assert not layer_violations(path, allowed), path.name
