"""Suite-wide guard: no kernel or child process may outlive the test suite."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest


def descendants(pid: int) -> list[int]:
    """All living descendants of `pid`, read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        # fields[0] is the state: an unreaped zombie of ours counts as left over too.
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not Path("/proc/self/stat").exists():
        return
    deadline = time.monotonic() + 10  # kernels shut down asynchronously; give them a moment
    left = descendants(os.getpid())
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = descendants(os.getpid())
    if left:
        names = [
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120]
            for pid in left
            if Path(f"/proc/{pid}").exists()
        ]
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"LEFTOVER PROCESSES after the test suite: {names}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Where ../shared is absent (the project's own CI on GitHub), a test that needs the
    shared corpus is reported as skipped with that reason, not as a failure. With the
    corpus present (here and in .ci/run) nothing changes."""
    outcome = yield
    report = outcome.get_result()
    error = call.excinfo
    if (
        report.failed
        and error is not None
        and not CORPUS.is_dir()
        and isinstance(error.value, FileNotFoundError)
        and "/shared/corpus" in str(error.value)
    ):
        report.outcome = "skipped"
        report.longrepr = (
            str(item.path),
            item.location[1] or 0,
            "Skipped: ../shared/corpus is not beside the repository",
        )
