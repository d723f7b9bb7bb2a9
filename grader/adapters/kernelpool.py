"""A pre-warmed forking launcher ("zygote") for grading kernels.

Starting a kernel by exec costs a Python start-up plus ~0.3 s of importing
ipykernel and IPython, on every notebook. The zygote pays that once: it is a
long-lived process, started with the kernel's allow-listed environment (never
the grader's), that imports ipykernel and then only ever forks. Each notebook
still gets a brand-new process that has run no one else's code, in a box of
its own built by `sandbox.enter` exactly as for an exec'd kernel:

    zygote ── fork ─▶ guard (closes every fd but its report pipe; then
                      sandbox.enter: cgroups, rlimits, namespaces, the box)
                        └─ init (pid 1) ─▶ middle ─▶ kernel (own uid, no
                           capabilities, no_new_privs; cwd, env, argv of this
                           notebook; runs ipykernel in this forked process)

The kernel can reach neither the zygote nor its pipes: they are closed in the
guard before anything else, the zygote runs as another uid and lies outside
the kernel's pid namespace. Only the zygote's imports are shared,
copy-on-write; a notebook's globals live and die in its own kernel process.
The guard's pid is what the runner polls, interrupts (its process group) and
kills.

The top level imports only the standard library: the CLI starts the zygote
before importing the heavy parts of the grader, so the two overlap.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = [
    "KernelProcess",
    "Zygote",
    "ZygoteUnavailable",
    "close_all",
    "kernel_env",
    "prewarm",
    "running",
    "shared",
]

# What a kernel imports on its way up; preloaded so each fork starts warm.
WARM_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.iostream",
    "ipykernel.comm",
    "IPython.core.interactiveshell",
    "IPython.core.completer",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "jupyter_client.session",
    "ipykernel.debugger",  # pulls in debugpy/pydevd: a third of a cold kernel start
    "sqlite3",  # IPython's history manager
    "psutil",  # ipykernel's kernel initialisation
    "tornado.platform.asyncio",
)
READY_TIMEOUT_S = 60.0


def kernel_env(
    base_env: Mapping[str, str], pass_env: Sequence[str], home: Path, tmp: Path
) -> dict[str, str]:
    """The allow-listed environment of the kernel (CONTRACT section 2)."""
    allowed = {"PATH", "LANG", *pass_env}
    env = {k: v for k, v in base_env.items() if k in allowed or k.startswith("LC_")}
    env.setdefault("PATH", os.defpath)
    env["HOME"] = str(home)
    env["TMPDIR"] = str(tmp)
    # glibc reserves 64 MB of address space per thread arena; under RLIMIT_AS
    # that alone can stop a threaded kernel from starting.
    env["MALLOC_ARENA_MAX"] = "2"
    return env


# Set per notebook (its own folders, its own uid's name), so not part of a zygote's key.
PER_KERNEL = frozenset({"HOME", "TMPDIR", "USER", "LOGNAME"})


def _key(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """What must be equal for a fork to start as an exec would: all but PER_KERNEL."""
    return tuple(sorted((k, v) for k, v in env.items() if k not in PER_KERNEL))


class ZygoteUnavailable(Exception):
    """The zygote is gone or never came up; the caller launches by exec instead."""


class KernelProcess:
    """A Popen-like handle on a forked kernel's guard process (not our child).

    The zygote reaps the guard only after `release()`, so until then its pid
    cannot be reused and signalling it by pid is safe.
    """

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.pid = pid
        self._zygote = zygote
        self._pidfd: int | None = os.pidfd_open(pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        pidfd = self._pidfd
        if self.returncode is None and pidfd is not None and select.select([pidfd], [], [], 0)[0]:
            self.returncode = -signal.SIGKILL  # dead; its status went to the zygote
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.poll() is None and self._pidfd is not None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            self.returncode = -signal.SIGKILL
        return self.returncode if self.returncode is not None else 0

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def release(self) -> None:
        """Kill the guard (and so its namespace) and let the zygote reap it."""
        if self._pidfd is None:
            return
        self.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.wait(5)
        os.close(self._pidfd)
        self._pidfd = None
        self._zygote.reap(self.pid)


class Zygote:
    """The grader's side of one zygote process."""

    def __init__(self, env: Mapping[str, str], python: str = sys.executable) -> None:
        self.key = _key(env)
        self._root = tempfile.TemporaryDirectory(prefix="grader-zygote-")
        root = Path(self._root.name)
        own_env = {**env, "HOME": str(root), "TMPDIR": str(root)}
        self._proc = subprocess.Popen(
            [python, "-P", "-m", "grader.adapters.kernelpool"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=own_env,
            cwd=root,
            start_new_session=True,  # a Ctrl-C in the terminal is the grader's to handle
        )
        self._lock = threading.Lock()
        self._hello: dict[str, Any] | None = None

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    @property
    def pid(self) -> int:
        return self._proc.pid

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> dict[str, Any]:
        """Block until the zygote has imported everything; its self-description."""
        with self._lock:
            if self._hello is None:
                self._hello = self._read(timeout)
            return self._hello

    def spawn(self, request: Mapping[str, Any]) -> KernelProcess:
        """Fork a kernel for one notebook; raises ZygoteUnavailable or OSError."""
        self.wait_ready()
        with self._lock:
            self._write({"op": "spawn", **request})
            reply = self._read(READY_TIMEOUT_S)
        if "error" in reply:
            raise OSError(f"the kernel could not be contained: {reply['error']}")
        return KernelProcess(self, int(reply["pid"]))

    def reap(self, pid: int) -> None:
        with self._lock, contextlib.suppress(ZygoteUnavailable):
            self._write({"op": "reap", "pid": pid})

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        try:
            self._proc.wait(2)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._root.cleanup()

    def _write(self, message: Mapping[str, Any]) -> None:
        stdin = self._proc.stdin
        try:
            assert stdin is not None
            stdin.write(json.dumps(message).encode() + b"\n")
            stdin.flush()
        except (OSError, ValueError) as err:
            raise ZygoteUnavailable(str(err)) from None

    def _read(self, timeout: float) -> dict[str, Any]:
        stdout = self._proc.stdout
        assert stdout is not None
        if not select.select([stdout], [], [], timeout)[0]:
            raise ZygoteUnavailable("the zygote did not answer")
        line = stdout.readline()
        if not line:
            raise ZygoteUnavailable("the zygote exited")
        answer: dict[str, Any] = json.loads(line)
        return answer


# Zygotes started ahead of need by `prewarm`, one per kernel environment.
_SHARED: dict[tuple[tuple[str, str], ...], Zygote] = {}
_SHARED_LOCK = threading.Lock()


def prewarm(base_env: Mapping[str, str], pass_env: Sequence[str]) -> None:
    """Start a zygote now, so its imports overlap with the caller's; `close_all` ends it."""
    placeholder = Path(os.devnull)
    env = kernel_env(base_env, pass_env, placeholder, placeholder)
    with _SHARED_LOCK:
        zygote = _SHARED.get(_key(env))
        if zygote is None or not zygote.alive:
            _SHARED[_key(env)] = Zygote(env)


def shared(env: Mapping[str, str]) -> Zygote | None:
    """The live pre-warmed zygote for this kernel environment, if there is one."""
    with _SHARED_LOCK:
        zygote = _SHARED.get(_key(env))
        return zygote if zygote is not None and zygote.alive else None


def running() -> list[Zygote]:
    """The pre-warmed zygotes not yet closed."""
    with _SHARED_LOCK:
        return [z for z in _SHARED.values() if z.alive]


@atexit.register
def close_all() -> None:
    with _SHARED_LOCK:
        for zygote in _SHARED.values():
            zygote.close()
        _SHARED.clear()


# --- the zygote itself: runs in its own process -----------------------------


_IMPORT_ENV: dict[str, str] = {}


def _serve() -> int:
    from grader.adapters import sandbox

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    before = dict(os.environ)
    for name in WARM_MODULES:
        with contextlib.suppress(ImportError):  # a missing extra only costs its kernel time
            __import__(name)
    # Variables the imports set (debugpy sets PYDEVD_USE_FRAME_EVAL): an exec'd
    # kernel sets them on import, after its env; each fork re-applies them.
    _IMPORT_ENV.update({k: v for k, v in os.environ.items() if before.get(k) != v})
    released: set[int] = set()
    _answer({"ready": True, "pid": os.getpid()})
    stdin = sys.stdin.buffer
    while True:
        readable = select.select([stdin], [], [], 1.0)[0]
        released = _reap(released)
        if not readable:
            continue
        line = stdin.readline()
        if not line:
            # The grader closed the pipe or died: its kernels die with their
            # guards. No interpreter teardown (a tenth of a second of freeing
            # ipykernel's modules) for a process that only ever forked.
            os._exit(0)
        request = json.loads(line)
        if request["op"] == "reap":
            released = _reap({*released, int(request["pid"])})
        elif request["op"] == "spawn":
            _answer(_spawn(request, sandbox))


def _reap(pids: set[int]) -> set[int]:
    left = set()
    for pid in pids:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        if done == 0:
            left.add(pid)
    return left


def _answer(message: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _spawn(request: Mapping[str, Any], sandbox: Any) -> dict[str, Any]:
    """Fork the guard; answer once its limits and namespaces are in place."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _guard(request, sandbox, write_end)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        status = pipe.read().decode(errors="replace")
    if status != "ok":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        return {"error": status or "the guard died while starting"}
    return {"pid": pid}


def _guard(request: Mapping[str, Any], sandbox: Any, report: int) -> NoReturn:
    """Runs in the forked child: let go of the zygote's files, then build the box."""
    try:
        _close_inherited(report)
    except BaseException as err:
        os.write(report, f"{type(err).__name__}: {err}".encode())
        os._exit(1)
    sandbox.enter(request["box"], lambda: _become_kernel(request), report)
    os._exit(1)  # not reached: enter() ends in the kernel or exits


def _close_inherited(keep: int) -> None:
    """fds 0 and 1 are the zygote's pipes to the grader: no kernel may hold them, nor any other."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    try:
        open_fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        open_fds = list(range(limit if 0 < limit < 1 << 16 else 1 << 16))
    for fd in open_fds:
        if fd > 2 and fd != keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _become_kernel(request: Mapping[str, Any]) -> NoReturn:
    """Turn this fresh process into the notebook's kernel, as an exec'd one would be."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.update(_IMPORT_ENV)
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        tempfile.tempdir = None  # recomputed from this kernel's TMPDIR
        random.seed()  # forks share the zygote's state; each kernel gets its own
        argv = list(request["argv"])
        sys.argv = ["ipykernel_launcher", *argv]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=argv)
        code = 0
    finally:
        os._exit(code)


if __name__ == "__main__":
    sys.exit(_serve())
