"""The sandboxed runner against THREATS rows 29-35, with real kernels.

Kernel tests share a few batches run concurrently through `run_many` (module
fixtures), so each behaviour has its own honest assertion while the whole
file costs a handful of kernel starts' worth of wall time.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.adapters.runner import error_text, kernel_env, read_cells, run_many, run_notebook
from grader.core.model import ExecutionLimits, NotebookRun
from tests.corpus import NOTEBOOKS, corpus_file, needs_corpus
from tests.notebooks import code, markdown, notebook, write, write_cells

CORPUS = NOTEBOOKS
# read_cells turns a missing file into a problem, not an exception, so these tests say so
# themselves (tests that copy corpus files are skipped by conftest when it is absent).
LIMITS = ExecutionLimits(
    cell_timeout_s=3,
    notebook_timeout_s=60,
    memory_mb=1024,
    max_output_kb=64,
    pass_env=("COURSE_VAR",),
)
BASE_ENV = {
    "PATH": os.environ.get("PATH", os.defpath),
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "GITHUB_TOKEN": "ghs_secret",
    "ACTIONS_RUNTIME_TOKEN": "secret",
    "GRADER_TOKEN": "secret",
    "COURSE_VAR": "visible",
}


def corpus_copy(tmp: Path, name: str) -> Path:
    """A corpus notebook alone in its own folder (the runner copies the whole folder)."""
    folder = tmp / name.removesuffix(".ipynb")
    folder.mkdir()
    return Path(shutil.copy(corpus_file("notebooks", name), folder / name))


def statuses(run: NotebookRun) -> list[str]:
    return [run.runs[i].status for i in sorted(run.runs)]


def processes() -> list[tuple[int, int, str]]:
    """(pid, ppid, cmdline) of every process, from /proc (psutil is not installed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        found.append((int(entry.name), ppid, cmd))
    return found


@pytest.fixture(autouse=True, scope="module")
def _own_scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Scratch folders of this module's runs live under one folder we can recognise."""
    saved = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("scratch"))
    yield
    tempfile.tempdir = saved


# --- reading: no kernel -----------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not a Jupyter notebook"),
        (b'{"hello": "world"}', "not a Jupyter notebook"),
        (b"\xff\xfe\x00garbage", "could not be read"),
    ],
)
def test_unreadable_files_are_data_not_exceptions(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_bytes(content)
    run = run_notebook(path, {"1": "pass"}, LIMITS, base_env=BASE_ENV)
    assert not run.readable
    assert words in run.problems[0]
    assert "nb.ipynb" in run.problems[0]
    assert run.runs == {}


@needs_corpus
@pytest.mark.parametrize("name", ["d2l__mf.ipynb", "nbformat__test3_no_worksheets.ipynb"])
def test_corpus_unreadable(name: str) -> None:
    cells, problems = read_cells(CORPUS / name)
    assert cells == ()
    assert problems
    assert "commit it again" in problems[0]


def test_missing_file_is_a_problem(tmp_path: Path) -> None:
    cells, problems = read_cells(tmp_path / "absent.ipynb")
    assert cells == ()
    assert "could not be read" in problems[0]


@needs_corpus
def test_v3_is_upgraded_and_headings_become_markdown() -> None:
    cells, problems = read_cells(CORPUS / "nbformat__test3.ipynb")
    assert problems == []
    assert {c.cell_type for c in cells} <= {"code", "markdown", "raw"}
    assert any(c.cell_type == "markdown" and c.source.startswith("#") for c in cells)
    assert any(c.cell_type == "code" for c in cells)


@needs_corpus
@pytest.mark.parametrize(
    "name",
    [
        "nbformat__invalid_unique_cell_id.ipynb",
        "nbformat__v4_5_no_cell_id.ipynb",
        "nbformat__v4_5_invalid_metadata.ipynb",
        "nbformat__invalid.ipynb",
        "nbformat__test2.ipynb",
    ],
)
def test_repairable_notebooks_read_without_warnings(name: str) -> None:
    # pytest runs with warnings as errors: nbformat's repair warnings must not escape.
    cells, problems = read_cells(CORPUS / name)
    assert problems == []
    assert cells


def test_cells_keep_committed_tags_and_grade_ids(tmp_path: Path) -> None:
    nb = notebook(
        markdown("## Exercise 1"),
        code("x = 1", tags=["exercise-1", "raises-exception"], grade_id="ex1"),
    )
    nb.cells[0].metadata["tags"] = "not-a-list"
    cells, _ = read_cells(write(tmp_path / "nb.ipynb", nb))
    assert cells[0].tags == ()
    assert cells[1].tags == ("exercise-1", "raises-exception")
    assert cells[1].grade_id == "ex1"
    assert [c.index for c in cells] == [0, 1]


def test_error_text_strips_ansi_and_is_bounded() -> None:
    content = {
        "status": "error",
        "ename": "ValueError",
        "evalue": "\x1b[31mbad\x1b[0m",
        "traceback": ["\x1b[0;31m-----\x1b[0m", "\x1b[1mline\x1b[0m " + "y" * 5000],
    }
    text = error_text(content)
    assert text.startswith("ValueError: bad\nline ")
    assert "\x1b" not in text
    assert len(text) <= 2000


def test_kernel_env_is_an_allow_list(tmp_path: Path) -> None:
    env = kernel_env(
        BASE_ENV | {"LC_TIME": "C", "HOME": "/root"},
        ("COURSE_VAR",),
        tmp_path / "h",
        tmp_path / "t",
    )
    assert set(env) == {
        "PATH",
        "LANG",
        "LC_ALL",
        "LC_TIME",
        "COURSE_VAR",
        "HOME",
        "TMPDIR",
        "MALLOC_ARENA_MAX",
    }
    assert env["HOME"] == str(tmp_path / "h")


# --- kernel batches ----------------------------------------------------------

FORK_BOMB = """\
import os, time
children = 0
try:
    for _ in range(3000):  # bounded: even with no limit this stays far below pid_max
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
finally:
    print("forked", children)
"""

ENV_CHECK = """\
import os
assert "GITHUB_TOKEN" not in os.environ and "ACTIONS_RUNTIME_TOKEN" not in os.environ
assert "GRADER_TOKEN" not in os.environ
assert os.environ["COURSE_VAR"] == "visible"
assert os.environ["HOME"] != os.path.expanduser("~root") and os.path.isdir(os.environ["HOME"])
assert os.environ["TMPDIR"] != "/tmp"
"""


def _batch_a(tmp: Path) -> dict[str, Path]:
    nbs = {
        "loops": write_cells(
            tmp / "loops" / "nb.ipynb",
            "while True: pass",
            "import time\ntime.sleep(10**6)",
            "after = 1",
        ),
        "memory": write_cells(
            tmp / "memory" / "nb.ipynb",
            "x = bytearray(4 * 1024**3)",
            "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))",
            "chunks = None\nafter = 1",
        ),
        "exit": write_cells(
            tmp / "exit" / "nb.ipynb", "a = 1", "import os\nos._exit(3)", "b = 2", "c = 3"
        ),
        "kill": write_cells(
            tmp / "kill" / "nb.ipynb",
            "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
            "b = 2",
        ),
        "sysexit": write_cells(
            tmp / "sysexit" / "nb.ipynb", "import sys\nsys.exit(1)", "raise SystemExit", "ok = 1"
        ),
        "tags": write(
            tmp / "tags" / "nb.ipynb",
            notebook(
                code("raise ValueError('tagged raises')", tags=["raises-exception"]),
                code("raise ValueError('tagged skip')", tags=["skip-execution"]),
                code("ok = 1"),
            ),
        ),
        "fake": write(
            tmp / "fake" / "nb.ipynb",
            notebook(
                code(
                    "1/0",
                    outputs=[{"output_type": "stream", "name": "stdout", "text": "all good\n"}],
                ),
                code(
                    "x = 1",
                    outputs=[
                        {"output_type": "error", "ename": "E", "evalue": "v", "traceback": []}
                    ],
                ),
                kernelspec={"name": "julia-1.0", "display_name": "Julia", "language": "julia"},
            ),
        ),
        "env": write_cells(tmp / "env" / "nb.ipynb", ENV_CHECK),
        "tests": write_cells(tmp / "tests" / "nb.ipynb", "def double(x):\n    return 2 * x"),
    }
    for name in [
        "nbclient__Autokill.ipynb",
        "nbgrader__submitted-cheat-attempt.ipynb",
        "nbclient__Disable_Stdin.ipynb",
        "nbformat__test3.ipynb",
        "nbformat__invalid_unique_cell_id.ipynb",
        "nbconvert__notebook_jl.ipynb",
        "nbformat__v4_5_invalid_metadata.ipynb",
        "nbformat__test4jupyter_metadata_timings.ipynb",
        "nbgrader__side-effects.ipynb",
        "nbgrader__open_relative_file.ipynb",
    ]:
        nbs[name] = corpus_copy(tmp, name)
    (nbs["nbgrader__open_relative_file.ipynb"].parent / "data.txt").write_text("a\nb\nc\n")
    return nbs


TESTS = {
    "tests": {
        "pass": "assert double(2) == 4",
        "fail": "assert double(2) == 5",
        "slow": "while True: pass",
    },
}


@pytest.fixture(scope="module")
def batch_a(tmp_path_factory: pytest.TempPathFactory) -> dict[str, NotebookRun]:
    tmp = tmp_path_factory.mktemp("batch_a")
    nbs = _batch_a(tmp)
    names = list(nbs)
    done: list[int] = []
    runs = run_many(
        [(nbs[n], TESTS.get(n, {})) for n in names],
        LIMITS,
        base_env=BASE_ENV,
        jobs=4,
        on_done=lambda i, _run: done.append(i),
    )
    assert sorted(done) == list(range(len(names)))
    result = dict(zip(names, runs, strict=True))
    result["_folders"] = NotebookRun(problems=tuple(str(p.parent) for p in nbs.values()))
    return result


@pytest.mark.kernel
def test_infinite_loop_and_sleep_time_out_and_execution_goes_on(
    batch_a: dict[str, NotebookRun],
) -> None:
    run = batch_a["loops"]
    assert statuses(run) == ["timeout", "timeout", "ok"]
    assert "3 s" in run.runs[0].error
    assert run.problems == ()


@pytest.mark.kernel
def test_memory_bomb_is_an_error_not_a_crash(batch_a: dict[str, NotebookRun]) -> None:
    run = batch_a["memory"]
    assert run.runs[0].status == "error"
    assert "MemoryError" in run.runs[0].error
    # The growing list ends in MemoryError, or (on a loaded machine) in the
    # cell timeout, or the kernel dies; it is never ok, and a death is reported.
    assert run.runs[1].status in {"error", "timeout"}
    if run.runs[2].status == "not-run":
        assert any("kernel died" in p or "did not stop" in p for p in run.problems)
    else:
        assert run.runs[2].status == "ok"


@pytest.mark.kernel
def test_os_exit_kills_kernel_later_cells_not_run(batch_a: dict[str, NotebookRun]) -> None:
    run = batch_a["exit"]
    assert statuses(run) == ["ok", "error", "not-run", "not-run"]
    assert "kernel died" in run.runs[1].error
    assert len(run.problems) == 1
    assert "cell 1" in run.problems[0]
    assert "os._exit" in run.problems[0]


@pytest.mark.kernel
@pytest.mark.parametrize("name", ["kill", "nbclient__Autokill.ipynb"])
def test_kernel_killing_itself(batch_a: dict[str, NotebookRun], name: str) -> None:
    run = batch_a[name]
    died = [i for i, r in run.runs.items() if r.status == "error"]
    assert len(died) == 1
    assert all(r.status == "not-run" for i, r in run.runs.items() if i > died[0])
    assert any("kernel died" in p for p in run.problems)


@pytest.mark.kernel
def test_sys_exit_is_an_error(batch_a: dict[str, NotebookRun]) -> None:
    run = batch_a["sysexit"]
    assert statuses(run) == ["error", "error", "ok"]
    assert run.runs[0].error.startswith("SystemExit")


@pytest.mark.kernel
def test_skip_and_raises_tags_give_no_way_around_a_failing_cell(
    batch_a: dict[str, NotebookRun],
) -> None:
    run = batch_a["tags"]
    assert statuses(run) == ["error", "error", "ok"]
    assert "tagged raises" in run.runs[0].error
    assert "tagged skip" in run.runs[1].error
    assert run.cells[0].tags == ("raises-exception",)  # reported as committed


@pytest.mark.kernel
def test_stored_outputs_and_kernelspec_are_ignored(batch_a: dict[str, NotebookRun]) -> None:
    run = batch_a["fake"]
    assert statuses(run) == ["error", "ok"]
    assert run.runs[0].error.startswith("ZeroDivisionError")


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nbformat__v4_5_invalid_metadata.ipynb", None),  # kernelspec is a string
        ("nbformat__test4jupyter_metadata_timings.ipynb", None),  # python2
        ("nbformat__invalid_unique_cell_id.ipynb", None),
        ("nbconvert__notebook_jl.ipynb", "SyntaxError"),  # julia-0.4, forced to Python
        ("nbformat__test3.ipynb", "URLError"),  # v3, upgraded; no network
    ],
)
def test_metadata_tricks_run_in_our_kernel(
    batch_a: dict[str, NotebookRun], name: str, expected: str | None
) -> None:
    run = batch_a[name]
    assert run.readable
    assert run.problems == ()
    errors = [r.error for r in run.runs.values() if r.status == "error"]
    assert run.runs
    assert all(r.status in {"ok", "error"} for r in run.runs.values())
    if expected is None:
        assert errors == []
    else:
        assert errors
        assert expected in errors[0]


@pytest.mark.kernel
def test_showtraceback_monkeypatch_does_not_hide_errors(batch_a: dict[str, NotebookRun]) -> None:
    run = batch_a["nbgrader__submitted-cheat-attempt.ipynb"]
    errors = [r.error for r in run.runs.values() if r.status == "error"]
    assert any(e.startswith("NameError") for e in errors)


@pytest.mark.kernel
def test_input_is_an_error_without_hanging(batch_a: dict[str, NotebookRun]) -> None:
    run = batch_a["nbclient__Disable_Stdin.ipynb"]
    assert [r.status for r in run.runs.values()] == ["error"]
    assert run.runs[0].error.startswith("StdinNotImplementedError")


@pytest.mark.kernel
def test_side_effects_never_reach_the_source_folder(batch_a: dict[str, NotebookRun]) -> None:
    run = batch_a["nbgrader__side-effects.ipynb"]
    assert set(statuses(run)) == {"ok"}
    folders = [Path(p) for p in batch_a["_folders"].problems]
    side = next(f for f in folders if f.name == "nbgrader__side-effects")
    assert sorted(p.name for p in side.iterdir()) == ["nbgrader__side-effects.ipynb"]


@pytest.mark.kernel
def test_files_beside_the_notebook_are_available(batch_a: dict[str, NotebookRun]) -> None:
    run = batch_a["nbgrader__open_relative_file.ipynb"]
    assert set(statuses(run)) == {"ok"}


@pytest.mark.kernel
def test_environment_is_scrubbed(batch_a: dict[str, NotebookRun]) -> None:
    run = batch_a["env"]
    assert statuses(run) == ["ok"], run.runs[0].error


@pytest.mark.kernel
def test_exercise_tests_run_after_the_notebook_in_the_same_kernel(
    batch_a: dict[str, NotebookRun],
) -> None:
    run = batch_a["tests"]
    assert {k: v.status for k, v in run.tests.items()} == {
        "pass": "ok",
        "fail": "error",
        "slow": "timeout",
    }
    assert run.tests["fail"].error.startswith("AssertionError")


@pytest.mark.kernel
def test_no_process_outlives_its_notebook(batch_a: dict[str, NotebookRun]) -> None:
    assert_no_leftovers()


def assert_no_leftovers() -> None:
    """No child of ours, and no process anywhere still using one of our scratch folders."""
    me = os.getpid()
    ours = tempfile.gettempdir()
    deadline = time.monotonic() + 5
    while True:
        leftovers = [p for p in processes() if p[1] == me or ours in p[2]]
        if not leftovers or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert leftovers == []


# --- separate runs: limits that differ from the batch -----------------------


@pytest.mark.kernel
def test_notebook_timeout_stops_the_rest(tmp_path: Path) -> None:
    path = write_cells(tmp_path / "nb.ipynb", *["import time\ntime.sleep(1.5)"] * 3, "x = 1")
    limits = ExecutionLimits(cell_timeout_s=2, notebook_timeout_s=2.5, memory_mb=1024)
    run = run_notebook(path, {"t": "pass"}, limits, base_env=BASE_ENV)
    assert statuses(run) == ["ok", "timeout", "not-run", "not-run"]
    assert run.tests == {"t": run.tests["t"]}
    assert run.tests["t"].status == "not-run"
    assert len(run.problems) == 1
    assert "2.5 s in total" in run.problems[0]


@pytest.mark.kernel
def test_cell_ignoring_interrupt_stops_the_kernel(tmp_path: Path) -> None:
    source = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass"
    path = write_cells(tmp_path / "nb.ipynb", source, "x = 1")
    run = run_notebook(path, {}, LIMITS, base_env=BASE_ENV)
    assert statuses(run) == ["timeout", "not-run"]
    assert "did not stop when interrupted" in run.problems[0]


@pytest.mark.kernel
def test_huge_output_is_capped_and_grader_memory_stays_bounded(tmp_path: Path) -> None:
    path = write_cells(
        tmp_path / "nb.ipynb",
        "print('x' * 300_000_000)",
        "after = 1",
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    run = run_notebook(
        path,
        {},
        ExecutionLimits(cell_timeout_s=20, memory_mb=2048, max_output_kb=64),
        base_env=BASE_ENV,
    )
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert statuses(run) == ["ok", "ok"]
    assert grown_mb < 100, f"the grader grew by {grown_mb:.0f} MB"


@pytest.mark.kernel
def test_many_prints_are_truncated_with_a_problem(tmp_path: Path) -> None:
    path = write_cells(tmp_path / "nb.ipynb", "for i in range(50_000):\n    print(i)", "after = 1")
    run = run_notebook(
        path, {}, ExecutionLimits(cell_timeout_s=10, max_output_kb=64), base_env=BASE_ENV
    )
    assert statuses(run) == ["ok", "ok"]
    assert any("64 KB" in p for p in run.problems)


@pytest.mark.kernel
def test_run_many_keeps_order_and_limits_concurrency(tmp_path: Path) -> None:
    # A kernel cannot write outside its box, so each reports its span in its error.
    def source(i: int) -> str:
        return (
            "import time\n"
            "start = time.time()\n"
            "time.sleep(1.0)\n"
            f"raise ValueError(f'{i} {{start}} {{time.time()}}')"
        )

    items = [(write_cells(tmp_path / f"nb{i}" / "nb.ipynb", source(i)), {}) for i in range(4)]
    runs = run_many(items, LIMITS, base_env=BASE_ENV, jobs=2)
    firsts = [r.runs[0].error.splitlines()[0].split() for r in runs]
    assert [f[:2] for f in firsts] == [["ValueError:", str(i)] for i in range(4)]
    spans = [(float(f[2]), float(f[3])) for f in firsts]
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running, peak = 0, 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak == 2  # concurrent, but never more than `jobs`


@pytest.mark.kernel
def test_fork_bomb_is_contained_and_cleaned_up(tmp_path: Path) -> None:
    path = write_cells(tmp_path / "nb.ipynb", FORK_BOMB, "after = 1")
    limits = ExecutionLimits(cell_timeout_s=20, memory_mb=1024)
    run = run_notebook(path, {}, limits, base_env=BASE_ENV)
    assert run.runs[0].status == "error"
    assert "BlockingIOError" in run.runs[0].error or "temporarily unavailable" in run.runs[0].error
    # Its children sleep 60 s; every one of them must already be gone.
    assert_no_leftovers()


@pytest.mark.kernel
def test_filling_the_disk_stops_at_the_file_size_limit(tmp_path: Path) -> None:
    """THREATS 31: the largest file a kernel may write is capped (at the memory limit)."""
    fill = (
        "chunk = b'x' * 2**20\n"
        "with open('big.bin', 'wb') as f:\n"
        "    for _ in range(450):\n"
        "        f.write(chunk)"
    )
    path = write_cells(tmp_path / "nb.ipynb", fill, "after = 1")
    run = run_notebook(
        path, {}, ExecutionLimits(cell_timeout_s=30, memory_mb=400), base_env=BASE_ENV
    )
    assert statuses(run) == ["error", "ok"]
    assert "File too large" in run.runs[0].error
    assert not (tmp_path / "big.bin").exists()  # and it was written in the scratch copy


@pytest.mark.kernel
def test_a_very_large_notebook_is_graded(tmp_path: Path) -> None:
    """THREATS 32: 3,000 cells and 9 MB of text are read, run and reported like any other."""
    cells = [markdown("lorem ipsum " * 250) for _ in range(3000)]
    cells += [code(f"y{i} = {i}") for i in range(50)]
    path = write(tmp_path / "nb.ipynb", notebook(*cells))
    assert path.stat().st_size > 8_000_000
    started = time.monotonic()
    run = run_notebook(path, {}, LIMITS, base_env=BASE_ENV)
    assert len(run.cells) == 3050
    assert set(statuses(run)) == {"ok"}
    assert len(run.runs) == 50
    assert time.monotonic() - started < 60
