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
