"""Every shell example of README.md and docs/*.md runs as written and exits as its text says.

The examples are the ```sh (or bash, shell, console) blocks. Each command line
runs, in document order, in one temporary copy of the repository per document,
with `.venv/bin/grader` pointing at the grader installed for these tests. A
line exits 0 unless its own comment says `exit N`. Lines that cannot run here
are skipped by a rule below that says why; a line no rule covers fails the
test, so a new example is either run or knowingly skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
EXIT = re.compile(r"\bexit (\d)\b")
# Placeholders a reader replaces, and what the test puts in their place.
PLACEHOLDERS = {"<your-login>": "octocat", "<your-github-login>": "octocat"}
# Not copied into the temporary repository: installs, caches and outputs.
IGNORED = shutil.ignore_patterns(
    ".git", ".venv*", "demo-output", "node_modules", ".cache", "__pycache__", "*.egg-info",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", "build",
)  # fmt: skip
INSTALLED_GRADER = Path(sys.executable).with_name("grader")
# (what a line starts with or contains, why it does not run here)
SKIPS = (
    ("make test", "runs the whole suite, this test included"),
    ("gh ", "needs GitHub"),
    ("--github", "needs GitHub"),
    ("git clone", "needs GitHub"),
    ("pip install", "installs packages; the test runs the grader installed for it"),
    ("sed -i 's#{{repository}}", "edits the course; test_the_colab_step_names_one_repository"),
)


@dataclass(frozen=True)
class Example:
    doc: str
    line: int  # 1-based, of the command's first line
    command: str
    comment: str

    @property
    def expected_exit(self) -> int:
        found = EXIT.search(self.comment)
        return int(found[1]) if found else 0

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.command}"


def split_comment(line: str) -> tuple[str, str]:
    """(command, comment): a `#` starts a comment at a word's start, outside quotes."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def examples(path: Path) -> list[Example]:
    text = path.read_text(encoding="utf-8")
    found: list[Example] = []
    for block in FENCE.finditer(text):
        first = text.count("\n", 0, block.start(1)) + 1
        pending: list[str] = []
        start = first
        for offset, raw in enumerate(block[1].splitlines()):
            command, comment = split_comment(raw)
            if not pending:
                start = first + offset
            if command.endswith("\\"):
                pending.append(command[:-1].strip())
                continue
            whole = " ".join([*pending, command.strip()]).strip()
            pending = []
            if whole:
                found.append(Example(str(path.relative_to(ROOT)), start, whole, comment))
    return found


ALL = [example for doc in DOCS for example in examples(doc)]


def skip_reason(example: Example) -> str | None:
    for marker, reason in SKIPS:
        if example.command.startswith(marker) or f" {marker}" in example.command:
            return reason
    return None


def runnable(example: Example) -> str:
    """The shell command the test runs for an example, or a failure naming it."""
    command = example.command
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    if command == "make demo":
        # The recipe without its install step (test_make_demo_runs_grader_demo checks it).
        return ".venv/bin/grader demo"
    if re.search(r"<[a-z-]+>", command):
        pytest.fail(f"{example}: a placeholder the test does not know; add it to PLACEHOLDERS")
    if command.startswith((".venv/bin/grader ", "grader ")):
        return command
    pytest.fail(
        f"{example}: no rule runs or skips this kind of line; add one to tests/test_docs.py"
    )


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One copy of the repository per document, its `.venv/bin/grader` the installed one."""
    assert INSTALLED_GRADER.is_file(), f"the grader's console script is not at {INSTALLED_GRADER}"
    made = {}
    for doc in {example.doc for example in ALL}:
        copy = tmp_path_factory.mktemp("repo") / "course"
        shutil.copytree(ROOT, copy, ignore=IGNORED, symlinks=True)
        (copy / ".venv" / "bin").mkdir(parents=True)
        (copy / ".venv" / "bin" / "grader").symlink_to(INSTALLED_GRADER)
        made[doc] = copy
    return made


def shell_env() -> dict[str, str]:
    """This environment without GitHub's variables, at 80 columns, the grader on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GRADER_"))}
    env["PATH"] = f"{INSTALLED_GRADER.parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "80"
    return env


def test_the_documents_have_examples() -> None:
    """Guards the extraction itself: a broken fence pattern would make every test vacuous."""
    readme = [e for e in ALL if e.doc == "README.md"]
    assert any(e.command == "make demo" for e in readme)
    assert any(e.command.startswith(".venv/bin/grader check --json --jobs 2") for e in readme)
    assert sum(skip_reason(e) is None for e in ALL) >= 6


def test_make_demo_runs_grader_demo() -> None:
    """`make demo` is run above as its recipe; this is that recipe."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo: \$\(RUNTIME\)\n\t\$\(BIN\)/grader demo\n", makefile, re.MULTILINE)


@pytest.mark.kernel
@pytest.mark.parametrize("example", ALL, ids=str)
def test_example_runs_as_written(example: Example, copies: dict[str, Path]) -> None:
    reason = skip_reason(example)
    if reason is not None:
        pytest.skip(reason)
    done = subprocess.run(
        ["bash", "-c", runnable(example)],
        cwd=copies[example.doc],
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == example.expected_exit, (
        f"{example} exited {done.returncode}, the text says {example.expected_exit}\n"
        f"{done.stdout}\n{done.stderr}"
    )
    tables = [line for line in done.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert all(len(line) <= 80 for line in tables), "\n".join(tables)


def test_the_colab_step_names_one_repository(tmp_path: Path) -> None:
    """The README's one-time step leaves no placeholder and the starters still match."""
    [step] = [e for e in ALL if e.command.startswith("sed -i 's#{{repository}}")]
    shutil.copytree(ROOT / "exercises", tmp_path / "exercises")
    shutil.copy(ROOT / "course.yml", tmp_path / "course.yml")
    command = step.command.replace("OWNER/NAME", "d2l-group/course-2020")
    subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True, timeout=60)
    texts = [p.read_text(encoding="utf-8") for p in (tmp_path / "exercises").iterdir()]
    assert not any("{{repository}}" in text for text in texts)
    starters = sorted((tmp_path / "exercises").glob("*.ipynb"))
    assert starters
    for starter in starters:
        out = tmp_path / "out.ipynb"
        argv = ["template", starter.stem, "--course", str(tmp_path), "-o", str(out)]
        assert main([*argv, "--repository", "d2l-group/course-2020"]) == 0
        assert out.read_bytes() == starter.read_bytes(), starter.name
        md = (tmp_path / "exercises" / f"{starter.stem}.md").read_text(encoding="utf-8")
        link = f"https://colab.research.google.com/github/d2l-group/course-2020/blob/main/exercises/{starter.name}"
        assert link in md
