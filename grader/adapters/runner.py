"""Execute notebooks in a sandboxed kernel and report faithfully what happened.

nbclient's defaults are unsafe for grading (ARCHITECTURE section 3). This
module forces the grader's own Python kernel, clears stored outputs, strips
`skip-execution`/`raises-exception`, times out cells and whole notebooks, caps
every message from the kernel against the notebook's budget while it arrives
(outputs, comm/widget messages, execute replies), scrubs the environment, runs
in a scratch copy of the notebook's folder, and starts the kernel inside its
`sandbox.Box` (its own uid and namespaces when the grader is root). Every
failure of the notebook becomes data in a `NotebookRun`; deciding which cell
answers which exercise is the core's job, not ours.

In CI a host that cannot isolate kernels makes `run_many` raise
`IsolationUnavailable` before any notebook runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

import nbformat as _nbformat
import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from grader.adapters import kernelpool, sandbox
from grader.adapters.kernelpool import KernelProcess, Zygote, ZygoteUnavailable, kernel_env
from grader.adapters.sandbox import Box, IsolationUnavailable
from grader.core import tracebacks
from grader.core.codec import check_depth
from grader.core.model import Cell, CellRun, CellType, ExecutionLimits, NotebookRun

# nbformat has no type hints; one Any-typed handle keeps mypy strict elsewhere.
nbformat: Any = _nbformat

__all__ = [
    "IsolationUnavailable",
    "cells_of",
    "kernel_env",
    "load_notebook",
    "read_cells",
    "run_many",
    "run_notebook",
]

# Beyond this a notebook is almost surely stored output or data, not an answer.
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024
STRIPPED_TAGS = frozenset({"skip-execution", "raises-exception"})
# How long an interrupted cell gets to stop before the kernel is declared stuck.
INTERRUPT_GRACE_S = 5.0
STARTUP_TIMEOUT_S = 60
# How long to listen on IOPub for a kernel_info's status before asking again.
IOPUB_PROBE_S = 0.02
MAX_ERROR_CHARS = 2000
# Traceback lines kept per error: the end, where the error is, plus the first frame.
TRACEBACK_LINES = tracebacks.MAX_RAW_LINES
# How long the values a failing check compared may take to compute.
COMPARE_TIMEOUT_S = 10.0
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_CELL_TYPES: dict[str, CellType] = {"code": "code", "markdown": "markdown", "raw": "raw"}
NOT_RUN = CellRun("not-run")


# --- reading: the notebook as committed, never raising ----------------------


def load_notebook(path: Path) -> tuple[Any | None, list[str]]:
    """The notebook as a normalised v4 NotebookNode, or None and why not."""
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            mb = MAX_NOTEBOOK_BYTES // (1024 * 1024)
            return None, [f"{name} is larger than {mb} MB. Clear its outputs and commit it again."]
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return None, [f"{name} could not be read ({_first_line(err)}). Commit it again."]
    if not text.strip():
        return None, [f"{name} is empty. Save the notebook in Jupyter and commit it again."]
    return _parse(name, text)


def _parse(name: str, text: str) -> tuple[Any | None, list[str]]:
    try:
        check_depth(text)  # before any parser recurses into it (THREATS 45)
    except ValueError as err:
        return None, [
            f"{name} cannot be graded: {err}. "
            "Open the original in Jupyter, clear its outputs, save it, and commit it again."
        ]
    try:
        json.loads(text)
    except ValueError:
        return None, [
            f"{name} is not valid JSON, so Jupyter cannot open it. "
            "Open the original in Jupyter, save it, and commit it again."
        ]
    try:
        with warnings.catch_warnings():
            # nbformat warns (MissingIDFieldWarning, DuplicateCellId) while it
            # repairs; the repairs are what we want and the warnings are noise.
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
    except Exception as err:  # nbformat raises many types for non-notebooks
        return None, [
            f"{name} is not a Jupyter notebook nbformat can read ({_first_line(err)}). "
            "Save it from Jupyter and commit it again."
        ]
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, [f"{name} has no list of cells. Save it from Jupyter and commit it again."]
    # Upgrades from v2/v3 can leave plain dicts inside; nbclient needs attribute access.
    nb = nbformat.from_dict(nb)
    _normalize(nb)
    return nb, []


def _normalize(nb: Any) -> None:
    """Make every cell safe for nbclient: dict metadata, list tags, str source."""
    nb.cells = [c for c in nb.cells if isinstance(c, dict)]
    for cell in nb.cells:
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = nbformat.NotebookNode()
        tags = cell.metadata.get("tags")
        # A string here would make nbclient's `"raises-exception" in tags` a substring test.
        good = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
        cell.metadata["tags"] = good
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        cell["source"] = source if isinstance(source, str) else ""
        if not isinstance(cell.get("cell_type"), str):
            cell["cell_type"] = "raw"


def cells_of(nb: Any) -> tuple[Cell, ...]:
    """The committed cells as core values (before any execution)."""
    return tuple(_cell(i, c) for i, c in enumerate(nb.cells))


def _cell(index: int, cell: Any) -> Cell:
    # v3 "heading" cells survive in some invalid v4 files; they are markdown text.
    kind = "markdown" if cell.cell_type == "heading" else cell.cell_type
    nbgrader = cell.metadata.get("nbgrader")
    grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return Cell(
        index=index,
        cell_type=_CELL_TYPES.get(kind, "raw"),
        source=cell.source,
        tags=tuple(cell.metadata.tags),
        grade_id=grade_id if isinstance(grade_id, str) else None,
    )


def read_cells(path: Path) -> tuple[tuple[Cell, ...], list[str]]:
    """The cells as committed, plus problems (non-empty exactly when unreadable)."""
    nb, problems = load_notebook(path)
    return (cells_of(nb), problems) if nb is not None else ((), problems)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return (lines[0] if lines else type(err).__name__)[:200]


def _prepare(nb: Any) -> None:
    """Nothing the student stored decides how the notebook runs."""
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for cell in nb.cells:
        cell.metadata["tags"] = [t for t in cell.metadata.tags if t not in STRIPPED_TAGS]
        if cell.cell_type == "code":
            cell["outputs"] = []
            cell["execution_count"] = None


# --- environment and scratch folder ----------------------------------------


@dataclass(frozen=True)
class _Scratch:
    """The kernel's folders as the kernel sees them, and the grader's side of them.

    In a box (root) only `host_kernel` (the connection file) exists on the
    host: work, home and tmp are built by the guard inside the box's own
    tmpfs, at the same paths. On a laptop they are ordinary host folders.
    """

    root: Path  # host folder; the kernel's launch cwd in a box
    work: Path  # the kernel's cwd: a copy of the notebook's folder
    home: Path
    tmp: Path
    kernel: Path  # connection file and ipc sockets, as the kernel sees it
    host_kernel: Path  # where the grader writes the connection file
    boxed: bool

    @classmethod
    def create(cls, root: Path, source: Path, box: Box) -> _Scratch:
        inner = box.inner(root)
        folders = (inner / "work", inner / "home", inner / "tmp", inner / "kernel")
        scratch = cls(root, *folders, host_kernel=root / "kernel", boxed=box.isolated)
        scratch.host_kernel.mkdir(mode=0o700)
        if not box.isolated:
            for folder in (scratch.home, scratch.tmp):
                folder.mkdir(mode=0o700)
            sandbox.copy_folder(str(source), scratch.work)
        return scratch

    @property
    def launch_cwd(self) -> Path:
        """Where the launcher starts: a box's folders exist only once the guard built them."""
        return self.root if self.boxed else self.work


# --- the kernel and the client ---------------------------------------------


class _KernelStuck(Exception):
    """The kernel did not stop after an interrupt."""


class _KernelClient(AsyncKernelClient):
    """jupyter_client's client, with a quicker readiness check.

    Upstream waits 0.2 s for an IOPub message after each kernel_info reply
    and, when the subscription was not yet connected (it usually is not, for
    a kernel that starts in 50 ms), sends kernel_info again only after that
    wait. We ask again every IOPUB_PROBE_S instead: same check, less idling.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = monotonic() + (timeout if timeout is not None else STARTUP_TIMEOUT_S)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=IOPUB_PROBE_S * 10)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply" and await self._iopub_connected():
                    self._handle_kernel_info_reply(msg)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    async def _iopub_connected(self) -> bool:
        try:
            await self.iopub_channel.get_msg(timeout=IOPUB_PROBE_S)
        except Empty:
            return False
        return True


class _SandboxKernelManager(AsyncKernelManager):
    """Always the grader's own ipykernel, launched into its box.

    With a zygote, the kernel is forked from it (see `kernelpool`) into the
    same box; without one, or when it is gone, by exec of the sandbox wrapper.
    In a box the kernel binds its ipc:// sockets in its private /tmp, which the
    grader reaches as /proc/<guard>/root/...: `ip` is switched to that path
    once the guard exists (the connection file keeps the kernel's own path).
    """

    def __init__(
        self,
        *,
        box: Box,
        scratch: _Scratch,
        source: Path,
        zygote: Zygote | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.client_factory = _KernelClient
        self._box = box
        self._scratch = scratch
        self._source = source
        self.forked: KernelProcess | None = None
        self._zygote = zygote
        self.transport = "ipc" if box.isolated else "tcp"
        if box.isolated:
            self.ip = str(scratch.kernel / "ipc")
        self.connection_file = str(scratch.host_kernel / "connection.json")

    def _spec(self) -> dict[str, Any]:
        return self._box.spec(
            source=self._source,
            scratch=self._scratch.root,
            connection_file=Path(self.connection_file),
        )

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        # -P: a student's ipykernel_launcher.py beside the notebook is not imported.
        argv = [sys.executable, "-P", "-m", "ipykernel_launcher", *self._kernel_args()]
        return self._box.command(self._spec(), argv)

    def _kernel_args(self) -> list[str]:
        connection = self._scratch.kernel / Path(self.connection_file).name
        if not self._box.isolated:
            connection = Path(self.connection_file)
        return ["-f", str(connection), "--HistoryManager.hist_file=:memory:"]

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        process = await self._fork(kw) if self._zygote is not None else None
        if process is None:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        else:
            provisioner: Any = self.provisioner
            provisioner.process = process
            self.forked = process  # released by _shutdown even if nbclient drops the handle
            provisioner.pid = provisioner.pgid = process.pid  # the guard leads its own group
            provisioner.cwd = kw.get("cwd")
            self._reconcile_connection_info(provisioner.connection_info)
        guard: Any = self.provisioner
        self.ip = self._box.host_path(guard.process.pid, self.ip)

    async def _fork(self, kw: dict[str, Any]) -> KernelProcess | None:
        assert self._zygote is not None
        request = {
            "argv": self._kernel_args(),
            "env": kw["env"],
            "cwd": str(self._scratch.work),
            "box": self._spec(),
        }
        try:
            return self._zygote.spawn(request)
        except ZygoteUnavailable:
            return None  # exec instead: slower, equally contained

    def client(self, **kwargs: Any) -> Any:
        kwargs.setdefault("context", self.context)  # the context with capped sockets
        return super().client(**kwargs)


class _GraderClient(NotebookClient):
    """nbclient with a message budget, reply capture and a bounded interrupt.

    Every message the kernel sends counts against `max_output_kb`, not only
    outputs: comm/widget messages (which nbclient would otherwise keep as
    widget state), display updates, clear_output, execute_input and the size
    of execute replies. Past the budget nothing more is kept; only the idle
    status that ends a cell is still read, and replies are cut to what the
    verdict needs.
    """

    def __init__(self, nb: Any, km: Any, limits: ExecutionLimits, **kwargs: Any) -> None:
        super().__init__(nb, km=km, **kwargs)
        self.max_output_bytes = limits.max_output_kb * 1024
        self.memory_mb = limits.memory_mb
        self.received_bytes = 0
        self.truncated = False
        self.timed_out = False
        self.last_reply: dict[str, Any] | None = None

    def _spend(self, size: int) -> bool:
        """Count `size` bytes; False once the notebook's budget is used up."""
        if self.received_bytes + size > self.max_output_bytes:
            self.truncated = True
            return False
        self.received_bytes += size
        return True

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        if msg.get("msg_type") == "status":  # tiny, and the end of every cell
            return super().process_message(msg, cell, cell_index)
        if not self._spend(message_size(msg)):
            self._note_truncation(cell.outputs)
            return None
        return super().process_message(msg, cell, cell_index)

    def _note_truncation(self, outs: list[Any]) -> None:
        if not getattr(self, "_noted", False):
            self._noted = True
            note = "[output truncated: the notebook printed more than the grader keeps]\n"
            outs.append(nbformat.v4.new_output("stream", name="stderr", text=note))

    async def _check_raise_for_error(self, cell: Any, cell_index: int, exec_reply: Any) -> None:
        # Errors are data: record the reply (its status, not displayed outputs,
        # so a patched showtraceback hides nothing) and never raise.
        if exec_reply is not None and not self._spend(message_size(exec_reply)):
            exec_reply = _trimmed_reply(exec_reply)
        self.last_reply = exec_reply

    async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> dict[str, Any]:
        self.timed_out = True
        km: Any = self.km
        await km.interrupt_kernel()
        return await self._reply_after_interrupt()

    async def _reply_after_interrupt(self) -> dict[str, Any]:
        kc: Any = self.kc
        deadline = monotonic() + INTERRUPT_GRACE_S
        while (left := deadline - monotonic()) > 0:
            try:
                msg: dict[str, Any] = await kc.shell_channel.get_msg(timeout=left)
            except Empty:
                break
            if msg.get("msg_type") == "execute_reply":
                return msg
        raise _KernelStuck


def message_size(msg: Mapping[str, Any]) -> int:
    """Bytes a kernel message costs the grader: content, metadata and binary buffers."""
    size = len(json.dumps(msg.get("content", {}), default=str))
    size += len(json.dumps(msg.get("metadata", {}), default=str))
    for buffer in msg.get("buffers") or ():
        size += memoryview(buffer).nbytes
    return size


def _trimmed_reply(reply: Mapping[str, Any]) -> dict[str, Any]:
    """What the verdict reads of an execute reply, bounded (the rest is dropped)."""
    content = reply.get("content") or {}
    keep = {k: content.get(k) for k in ("status", "ename", "evalue") if k in content}
    keep = {k: str(v)[:MAX_ERROR_CHARS] if k != "status" else v for k, v in keep.items()}
    traceback = content.get("traceback")
    if isinstance(traceback, list):
        # The first frame (the cell run) and the end (where the error is), as `error_text` keeps.
        kept = (
            traceback
            if len(traceback) <= TRACEBACK_LINES
            else [*traceback[:3], *traceback[-(TRACEBACK_LINES - 3) :]]
        )
        keep["traceback"] = [str(t)[:MAX_ERROR_CHARS] for t in kept]
    return {"msg_type": reply.get("msg_type"), "content": keep}


def _capped_context(max_output_kb: int) -> zmq.asyncio.Context:
    """A zmq context whose sockets refuse oversized messages and queue few.

    The cap applies while bytes arrive: a peer sending a bigger frame is
    disconnected before it is buffered (it reconnects for later messages), so
    `print('x' * 10**9)` never reaches the grader's memory.
    """
    ctx = zmq.asyncio.Context()
    ctx.setsockopt(zmq.MAXMSGSIZE, max(4 * max_output_kb * 1024, 4 * 1024 * 1024))
    ctx.setsockopt(zmq.RCVHWM, 16)
    ctx.setsockopt(zmq.RECONNECT_IVL, 10)
    return ctx


# --- running cells -----------------------------------------------------------


@dataclass
class _Progress:
    runs: dict[int, CellRun] = field(default_factory=dict)
    tests: dict[str, CellRun] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    stopped: bool = False

    def stop(self, problem: str) -> None:
        self.problems.append(problem)
        self.stopped = True


async def _run_cell(
    client: _GraderClient, cell: Any, index: int, budget: float
) -> tuple[CellRun, str | None]:
    """One cell's result, plus a notebook-level problem when the kernel is gone."""
    # nbclient declares int timeouts but only does arithmetic with them.
    client.timeout_func = lambda _cell: budget  # type: ignore[assignment]
    client.timed_out, client.last_reply = False, None
    try:
        await client.async_execute_cell(cell, index)
    except DeadKernelError:
        return CellRun("error", "The kernel died while this cell ran."), _kernel_died(client, index)
    except _KernelStuck:
        return _timeout_run(budget), (
            f"Cell {index} did not stop when interrupted after {budget:g} s, so the kernel was "
            "stopped and later cells were not run. Make the cell finish within the time limit."
        )
    except Exception as err:  # the connection to the kernel broke in some other way
        return CellRun("error", f"The grader lost the kernel: {_first_line(err)}"), (
            f"The grader lost contact with the kernel during cell {index}; "
            "later cells were not run."
        )
    if client.timed_out:
        return _timeout_run(budget), None
    return _from_reply(client.last_reply), None


def _kernel_died(client: _GraderClient, index: int) -> str:
    hint = f" (memory limit {client.memory_mb} MB)"
    return (
        f"The kernel died while running cell {index}, so later cells were not run. "
        f"Usual causes: the notebook ran out of memory{hint}, started too many processes, "
        "or called os._exit() or killed its own process."
    )


def _timeout_run(budget: float) -> CellRun:
    return CellRun("timeout", f"The cell was still running after {budget:g} s and was interrupted.")


def _from_reply(reply: dict[str, Any] | None) -> CellRun:
    content = (reply or {}).get("content", {})
    if reply is None or content.get("status") == "ok":
        return CellRun("ok")
    return CellRun("error", error_text(content))


def error_text(content: Mapping[str, Any]) -> str:
    """ "Ename: evalue" on one line, then the traceback's useful lines, ANSI stripped, bounded.

    `tracebacks.clip` keeps the end (the failing line and the exception) and the
    first frame; `tracebacks.parse` reads the result back in the core.
    """
    ename = str(content.get("ename") or "Error")
    evalue = str(content.get("evalue") or "")
    head = f"{ename}: {evalue}" if evalue else ename
    if content.get("status") == "aborted":
        head = "The kernel aborted this cell."
    raw = content.get("traceback") or []
    joined = "\n".join(str(t) for t in raw) if isinstance(raw, list) else ""
    lines = [ln.rstrip() for ln in strip_ansi(joined).splitlines()]
    lines = [ln for ln in lines if ln.strip() and set(ln.strip()) != {"-"}]
    head = strip_ansi(head).replace("\n", " ")[:MAX_ERROR_CHARS]
    return f"{head}\n{tracebacks.clip(lines, TRACEBACK_LINES)}".rstrip("\n")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


async def _run_cells(client: _GraderClient, limits: ExecutionLimits, progress: _Progress) -> None:
    deadline = monotonic() + limits.notebook_timeout_s
    for index, cell in enumerate(client.nb.cells):
        if cell.cell_type != "code":
            continue
        remaining = deadline - monotonic()
        if progress.stopped or remaining <= 0:
            if not progress.stopped:
                progress.stop(_notebook_timeout(limits, index))
            progress.runs[index] = NOT_RUN
            continue
        budget = min(limits.cell_timeout_s, remaining)
        run, problem = await _run_cell(client, cell, index, budget)
        progress.runs[index] = run
        if problem is not None:
            progress.stop(problem)
        elif run.status == "timeout" and budget < limits.cell_timeout_s:
            progress.stop(_notebook_timeout(limits, index + 1))


def _notebook_timeout(limits: ExecutionLimits, index: int) -> str:
    return (
        f"The notebook ran longer than {limits.notebook_timeout_s:g} s in total; cells from "
        f"{index} on were not run. Make the notebook faster."
    )


async def _run_tests(
    client: _GraderClient, tests: Mapping[str, str], limits: ExecutionLimits, progress: _Progress
) -> None:
    """Each exercise's test snippet, after the notebook, in the same kernel."""
    for exercise_id, source in tests.items():
        if progress.stopped:
            progress.tests[exercise_id] = NOT_RUN
            continue
        cell = nbformat.v4.new_code_cell(source)
        client.nb.cells.append(cell)
        run, problem = await _run_cell(
            client, cell, len(client.nb.cells) - 1, limits.cell_timeout_s
        )
        progress.tests[exercise_id] = run
        if problem is not None:
            progress.stop(problem.replace("later cells", "later tests"))
    await _explain_checks(client, tests, limits, progress)


async def _explain_checks(
    client: _GraderClient, tests: Mapping[str, str], limits: ExecutionLimits, progress: _Progress
) -> None:
    """The values each failing `assert A <op> B` of a check compared, appended to its error.

    Only after every check ran, so no check sees the extra executions (nor do
    their execution counts, which the core maps back to cells). Each is an
    ordinary cell: timed out, budgeted, never raising. Only an assert in the
    check itself counts (one frame): an AssertionError raised deeper is the
    student's own, with line numbers of another cell.
    """
    for exercise_id, source in tests.items():
        run = progress.tests.get(exercise_id)
        if progress.stopped or run is None or not run.error.startswith("AssertionError"):
            continue
        frames = tracebacks.parse(run.error).frames
        found = tracebacks.comparison(source, frames[0].line) if len(frames) == 1 else None
        if found is None:
            continue
        values = await _compared_values(client, found[0], found[2], limits)
        if values is not None:
            line = tracebacks.compared_line(found[1], *values)
            progress.tests[exercise_id] = CellRun(run.status, f"{run.error}\n{line}")


_SHOWN_MARK = "[grader shown] "  # (not a control character: splitlines splits at some)
_SHOW = """def __grader_shown(thunk):
    try:
        text = repr(thunk())
    except BaseException as err:
        text = "<could not be computed again: " + type(err).__name__ + ">"
    return text[:200]
"""


async def _compared_values(
    client: _GraderClient, left: str, right: str, limits: ExecutionLimits
) -> tuple[str, str] | None:
    """repr(left) and repr(right), computed again in the kernel; None when that fails."""
    shown = ", ".join(f"__grader_shown(lambda: (\n{side}\n))" for side in (left, right))
    source = f"{_SHOW}print({_SHOWN_MARK!r} + __import__('json').dumps([{shown}]))\n"
    cell = nbformat.v4.new_code_cell(source)
    client.nb.cells.append(cell)
    budget = min(limits.cell_timeout_s, COMPARE_TIMEOUT_S)
    run, problem = await _run_cell(client, cell, len(client.nb.cells) - 1, budget)
    if problem is not None or run.status != "ok":
        return None
    text = "".join(str(o.get("text", "")) for o in cell.outputs if o.get("name") == "stdout")
    line = next((ln for ln in text.split("\n") if ln.startswith(_SHOWN_MARK)), None)
    try:
        values = json.loads(line[len(_SHOWN_MARK) :]) if line is not None else None
    except ValueError:
        return None
    if isinstance(values, list) and len(values) == 2 and all(isinstance(v, str) for v in values):
        return values[0], values[1]
    return None


# --- one notebook ------------------------------------------------------------


@dataclass(frozen=True)
class _Launch:
    """How kernels start in one batch: the zygote (or None: exec) and the pipeline gates.

    `ahead` bounds the kernels alive at once (running plus started early);
    `running` bounds the notebooks executing cells. The next notebook's kernel
    starts while the current one runs, so its start-up is off the critical path.
    """

    zygote: Zygote | None
    ahead: asyncio.Semaphore
    running: asyncio.Semaphore
    host: sandbox.Host

    @classmethod
    def create(cls, jobs: int, zygote: Zygote | None, host: sandbox.Host) -> _Launch:
        return cls(zygote, asyncio.Semaphore(jobs + 1), asyncio.Semaphore(jobs), host)


async def _run_async(
    path: Path,
    tests: Mapping[str, str],
    limits: ExecutionLimits,
    base_env: Mapping[str, str],
    launch: _Launch,
) -> NotebookRun:
    nb, problems = load_notebook(path)
    if nb is None:
        return NotebookRun(problems=tuple(problems), readable=False)
    cells = cells_of(nb)
    _prepare(nb)
    box = Box(limits.memory_mb, limits.network, launch.host)
    try:
        box.prepare()
    except OSError as err:
        box.kill_all()
        return _not_started(nb, tests, cells, f"its sandbox could not be set up: {err}")
    try:
        with tempfile.TemporaryDirectory(prefix="grader-run-", ignore_cleanup_errors=True) as root:
            scratch = _Scratch.create(Path(root), path.resolve().parent, box)
            env = kernel_env(base_env, limits.pass_env, scratch.home, scratch.tmp)
            env |= box.user_env()
            progress = await _execute(nb, tests, limits, env, scratch, box, path, launch)
    finally:
        # Nothing of the notebook survives it, whatever happened. On the loop,
        # not in a worker thread: run concurrently with the next box's set-up,
        # teardown made kernels die at start under load (not understood yet).
        box.kill_all()
    return NotebookRun(
        cells=cells, runs=progress.runs, tests=progress.tests, problems=tuple(progress.problems)
    )


def _not_started(
    nb: Any, tests: Mapping[str, str], cells: tuple[Cell, ...], why: str
) -> NotebookRun:
    runs = {i: NOT_RUN for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    problem = (
        f"The grader could not start a Python kernel for this notebook ({why}). "
        "Nothing was run; try again, and tell the course staff if it persists."
    )
    return NotebookRun(
        cells=cells, runs=runs, tests=dict.fromkeys(tests, NOT_RUN), problems=(problem,)
    )


async def _execute(
    nb: Any,
    tests: Mapping[str, str],
    limits: ExecutionLimits,
    env: dict[str, str],
    scratch: _Scratch,
    box: Box,
    path: Path,
    launch: _Launch,
) -> _Progress:
    zygote = await _ready(launch.zygote)
    km = _SandboxKernelManager(
        box=box,
        scratch=scratch,
        source=path.resolve().parent,
        zygote=zygote,
        kernel_name="python3",
        context=_capped_context(limits.max_output_kb),
    )
    client = _client(nb, km, limits)
    progress = _Progress()
    try:
        started = await _start(client, env, scratch, progress)
        async with launch.running:
            if started:
                await _run_cells(client, limits, progress)
                await _run_tests(client, tests, limits, progress)
            else:
                progress.runs = {
                    i: NOT_RUN for i, c in enumerate(nb.cells) if c.cell_type == "code"
                }
                progress.tests = dict.fromkeys(tests, NOT_RUN)
    finally:
        # Also on errors, cancellation and KeyboardInterrupt: no kernel outlives its notebook.
        await _shutdown(client, km)
        km.context.destroy(linger=0)
    if client.truncated:
        progress.problems.append(
            f"The notebook printed more than {limits.max_output_kb} KB; "
            "the rest of its output was dropped. Print less."
        )
    return progress


async def _ready(zygote: Zygote | None) -> Zygote | None:
    """The zygote once it has finished importing (waited for off the event loop), or None."""
    if zygote is None:
        return None
    try:
        await asyncio.to_thread(zygote.wait_ready)
    except ZygoteUnavailable:
        return None
    return zygote


def _client(nb: Any, km: Any, limits: ExecutionLimits) -> _GraderClient:
    return _GraderClient(
        nb,
        km,
        limits,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        record_timing=False,
        iopub_timeout=2,
        raise_on_iopub_timeout=False,
        startup_timeout=STARTUP_TIMEOUT_S,
        shutdown_kernel="immediate",
        # We strip the real tag; this makes sure nbclient skips nothing else.
        skip_cells_with_tag="grader-never-skips-a-cell",
        coalesce_streams=False,
    )


async def _start(
    client: _GraderClient, env: dict[str, str], scratch: _Scratch, progress: _Progress
) -> bool:
    try:
        # The kernel's own stdout/stderr must never reach ours: `grader check
        # --json` prints one JSON document, and a notebook can os.write(1, ...).
        streams = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        cwd = str(scratch.launch_cwd)
        await client.async_start_new_kernel(cwd=cwd, env=env, **streams)
        await client.async_start_new_kernel_client()
    except Exception as err:
        progress.problems.append(
            f"The grader could not start a Python kernel for this notebook ({_first_line(err)}). "
            "Nothing was run; try again, and tell the course staff if it persists."
        )
        return False
    return True


async def _shutdown(client: _GraderClient, km: Any) -> None:
    """Kill the kernel's process group now and wait for it; then free its files.

    Not `km.shutdown_kernel(now=True)`: that first interrupts, then polls for
    the exit every 0.1 s, which is a tenth of a second per notebook.
    """
    kc = client.kc
    if kc is not None:
        kc.stop_channels()
    provisioner = km.provisioner
    process = getattr(provisioner, "process", None) if provisioner is not None else None
    if process is not None:
        with contextlib.suppress(Exception):
            await provisioner.kill()  # SIGKILL to the process group
        if isinstance(process, KernelProcess):
            process.release()
        else:
            if process.poll() is None:
                process.kill()
            process.wait()
        with contextlib.suppress(Exception):
            await provisioner.wait()
    forked = getattr(km, "forked", None)
    if isinstance(forked, KernelProcess):
        # When the kernel failed to start, nbclient has already waited for it
        # and dropped the handle: the zygote must still reap its guard.
        forked.release()
    with contextlib.suppress(Exception):  # best effort: the scratch folder goes anyway
        await km._async_cleanup_resources()


def run_notebook(
    path: Path,
    tests: Mapping[str, str],
    limits: ExecutionLimits,
    *,
    base_env: Mapping[str, str],
    fork: bool = True,
) -> NotebookRun:
    """Execute one notebook in a fresh sandboxed kernel; never raises for its content."""
    return run_many([(path, tests)], limits, base_env=base_env, jobs=1, fork=fork)[0]


def run_many(
    items: Sequence[tuple[Path, Mapping[str, str]]],
    limits: ExecutionLimits,
    *,
    base_env: Mapping[str, str],
    jobs: int,
    on_done: Callable[[int, NotebookRun], None] | None = None,
    fork: bool = True,
) -> list[NotebookRun]:
    """Execute notebooks, at most `jobs` kernels at once; results in the order of `items`.

    Every notebook gets its own new kernel process in its own box. With `fork`
    (the default) kernels are forked from a pre-warmed zygote (`kernelpool`),
    else exec'd. `on_done(i, run)` is called as each notebook finishes (in
    completion order). Raises `IsolationUnavailable` when `base_env` says CI
    and the host cannot isolate kernels (`sandbox.require`): nothing runs then.
    """
    if items:
        sandbox.require(base_env)
    if not fork or not items:
        return asyncio.run(_run_many_async(items, limits, base_env, max(1, jobs), on_done, None))
    placeholder = Path(os.devnull)
    env = kernel_env(base_env, limits.pass_env, placeholder, placeholder)
    zygote = kernelpool.shared(env)  # pre-warmed by the caller, or ours for this batch
    own = zygote is None
    zygote = zygote or Zygote(env)
    try:
        return asyncio.run(_run_many_async(items, limits, base_env, max(1, jobs), on_done, zygote))
    finally:
        if own:
            zygote.close()


async def _run_many_async(
    items: Sequence[tuple[Path, Mapping[str, str]]],
    limits: ExecutionLimits,
    base_env: Mapping[str, str],
    jobs: int,
    on_done: Callable[[int, NotebookRun], None] | None,
    zygote: Zygote | None,
    host: sandbox.Host | None = None,
) -> list[NotebookRun]:
    launch = _Launch.create(jobs, zygote, sandbox.detect() if host is None else host)

    async def one(index: int, path: Path, tests: Mapping[str, str]) -> NotebookRun:
        async with launch.ahead:
            run = await _run_async(path, tests, limits, base_env, launch)
        if on_done is not None:
            on_done(index, run)
        return run

    return list(await asyncio.gather(*(one(i, p, t) for i, (p, t) in enumerate(items))))
