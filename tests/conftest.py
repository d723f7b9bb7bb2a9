"""Suite-wide guard: no kernel or child process may outlive the test suite."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from tests.fakegithub import recorder


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


def pytest_configure(config: pytest.Config) -> None:
    """Record every exchange with the fake GitHub (tests/fakegithub/recorder.py), into
    FAKEGITHUB_RECORDING when set (kept), else into a temporary file."""
    if not os.environ.get(recorder.ENV):
        handle, path = tempfile.mkstemp(prefix="fakegithub-", suffix=".jsonl")
        os.close(handle)
        os.environ[recorder.ENV] = path
        config.stash[_TEMPORARY] = path


_TEMPORARY = pytest.StashKey[str]()


def pytest_runtest_setup(item: pytest.Item) -> None:
    recorder.RECORDER.test = item.nodeid


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    check_openapi_conformance(session)
    check_leftover_processes(session)


def check_openapi_conformance(session: pytest.Session) -> None:
    """Every exchange the fake answered, held against GitHub's OpenAPI description
    (tests/fakegithub/conformance.py); a problem outside openapi_exceptions.yml fails
    the session. At session end, so it sees every test's traffic whatever the order."""
    from tests.fakegithub import conformance

    recorder.RECORDER.close()
    path = Path(os.environ[recorder.ENV])
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    started = time.monotonic()
    try:
        report, exceptions = conformance.check_recording(path)
    except Exception as exc:  # the checker itself broke: say so, keep pytest's summary
        if reporter is not None:
            reporter.write_line(f"OpenAPI conformance check could not run: {exc!r}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    lines = report.lines(exceptions)
    lines[0] += f" ({time.monotonic() - started:.1f} s)"
    temporary = session.config.stash.get(_TEMPORARY, None)
    if report.failed:
        lines.append(f"Rerun: python -m tests.fakegithub.conformance {path}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif temporary is not None:
        path.unlink(missing_ok=True)
    if reporter is not None and report.exchanges:
        reporter.write_line("")
        reporter.write_sep("-", "OpenAPI conformance of the fake GitHub's traffic")
        for line in lines:
            reporter.write_line(line, red=report.failed)


def check_leftover_processes(session: pytest.Session) -> None:
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
