"""Launch wrapper and process containment for the grading kernel.

The runner starts every kernel through this module, so that resource limits
are in place before any student code exists:

    [unshare --pid --fork --kill-child [--net]]  python -P -m grader.adapters.sandbox
        --as BYTES --fsize BYTES --nproc N [--cgroup DIR] [--init] -- KERNEL ARGV...

What holds where (investigated on the grading machines, see `detect`):

* RLIMIT_AS (memory), RLIMIT_FSIZE (largest file), RLIMIT_CORE=0: everywhere.
* Process count. RLIMIT_NPROC is ignored for root (the kernel exempts uid 0 in
  the initial user namespace), and dropping to an unprivileged uid is not an
  option where the interpreter lives under a 0700 home (pyenv under /root).
  So, as root, each kernel gets its own cgroup-v1 `pids` group with
  `pids.max`; the wrapper joins it before exec, so every descendant is counted
  and a fork bomb hits EAGAIN instead of the machine's pid table. As an
  ordinary user (the GitHub runner), RLIMIT_NPROC does work: it is set to the
  user's current task count plus a budget.
* Killing everything. As root, `unshare --pid` gives the kernel its own pid
  namespace whose init is this wrapper (`--init`): killing that init makes the
  Linux kernel kill every process in the namespace, even ones that called
  setsid() to leave the process group. Elsewhere the runner kills the process
  group (and the cgroup's members when there is one).
* Network: `unshare --net` (root only) leaves the kernel a loopback-only
  namespace; the runner then talks to it over ipc:// sockets, which are files
  and so cross network namespaces. Without root, `network: false` cannot be
  enforced here; in CI the grade job itself has no secrets to leak.

This module's top level imports only the standard library: it runs before the
kernel, once per notebook, and must start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

# Tasks (processes and threads) one kernel may have. An idle ipykernel uses
# about a dozen threads; 256 leaves room for multiprocessing and DataLoader
# workers while stopping a fork bomb long before the machine's limits.
TASK_BUDGET = 256
_PIDS_V1_ROOT = Path("/sys/fs/cgroup/pids")


@dataclass(frozen=True)
class Isolation:
    """What this machine lets the runner do to contain a kernel."""

    unshare: str | None  # path of unshare(1) when pid/net namespaces work
    pids_cgroup: Path | None  # a writable cgroup-v1 pids directory


@functools.cache
def detect() -> Isolation:
    """Probe once per process; every probe fails closed to 'not available'."""
    return Isolation(unshare=_probe_unshare(), pids_cgroup=_probe_pids_cgroup())


def _probe_unshare() -> str | None:
    path = shutil.which("unshare")
    if path is None or os.geteuid() != 0:
        return None
    try:
        probe = [path, "--pid", "--fork", "--kill-child", "--net", "true"]
        done = subprocess.run(probe, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if done.returncode == 0 else None


def _probe_pids_cgroup() -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        if "pids" in controllers.split(","):
            base = _PIDS_V1_ROOT / rel.lstrip("/")
            probe = base / f"grader-probe-{uuid.uuid4().hex[:8]}"
            try:
                probe.mkdir()
                probe.rmdir()
            except OSError:
                return None
            return base
    return None


class Containment:
    """Per-kernel containment: its cgroup (if any) and the launch command."""

    def __init__(self, memory_mb: int, network: bool, isolation: Isolation) -> None:
        self.memory_mb = memory_mb
        self.network = network
        self.isolation = isolation
        self.cgroup: Path | None = None

    def prepare(self) -> None:
        """Create the kernel's pids cgroup; failing that, rely on rlimits."""
        base = self.isolation.pids_cgroup
        if base is None:
            return
        group = base / f"grader-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            group.mkdir()
            (group / "pids.max").write_text(str(TASK_BUDGET))
        except OSError:
            return
        self.cgroup = group

    def command(self, kernel_argv: Sequence[str]) -> list[str]:
        """The full argv that starts the kernel inside its limits."""
        prefix: list[str] = []
        if self.isolation.unshare is not None:
            prefix = [self.isolation.unshare, "--pid", "--fork", "--kill-child"]
            if not self.network:
                prefix.append("--net")
        wrapper = [sys.executable, "-P", "-m", "grader.adapters.sandbox", *self._limit_args()]
        return [*prefix, *wrapper, "--", *kernel_argv]

    @property
    def isolates_network(self) -> bool:
        return self.isolation.unshare is not None and not self.network

    def limits(self) -> dict[str, int | str | None]:
        """The same limits as `_limit_args`, as `apply_limits` keywords (for the zygote)."""
        nproc = None
        if self.cgroup is None and os.geteuid() != 0:
            nproc = _user_task_count(os.getuid()) + TASK_BUDGET
        return {
            "address_space": self.memory_mb * 1024 * 1024,
            "fsize": _file_size_limit(self.memory_mb),
            "nproc": nproc,
            "cgroup": None if self.cgroup is None else str(self.cgroup),
        }

    def _limit_args(self) -> list[str]:
        args = ["--as", str(self.memory_mb * 1024 * 1024)]
        args += ["--fsize", str(_file_size_limit(self.memory_mb))]
        if self.cgroup is not None:
            args += ["--cgroup", str(self.cgroup)]
        elif os.geteuid() != 0:
            args += ["--nproc", str(_user_task_count(os.getuid()) + TASK_BUDGET)]
        if self.isolation.unshare is not None:
            args.append("--init")
        return args

    def kill_all(self) -> None:
        """SIGKILL every task in the kernel's cgroup until it is empty, then remove it."""
        if self.cgroup is None:
            return
        for _ in range(50):
            pids = _cgroup_pids(self.cgroup)
            if not pids:
                break
            for pid in pids:
                _kill(pid)
            time.sleep(0.02)
        for _ in range(50):
            try:
                self.cgroup.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)  # tasks still exiting; the pids group empties shortly
        self.cgroup = None


def _file_size_limit(memory_mb: int) -> int:
    # Datasets a notebook writes are rarely larger than what fits in memory.
    return max(memory_mb, 64) * 1024 * 1024


def _cgroup_pids(group: Path) -> list[int]:
    try:
        return [int(p) for p in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _kill(pid: int) -> None:
    with contextlib.suppress(OSError):  # already gone
        os.kill(pid, signal.SIGKILL)


def _user_task_count(uid: int) -> int:
    """Tasks (threads included, as RLIMIT_NPROC counts them) owned by `uid`."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(entry / "task"))
            except OSError:
                continue
    return count


# --- the wrapper itself: runs in the child, then becomes the kernel -----------


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="grader-sandbox")
    parser.add_argument("--as", dest="address_space", type=int, required=True)
    parser.add_argument("--fsize", type=int, required=True)
    parser.add_argument("--nproc", type=int)
    parser.add_argument("--cgroup")
    parser.add_argument("--init", action="store_true")
    parser.add_argument("kernel", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)
    if ns.kernel[:1] == ["--"]:
        ns.kernel = ns.kernel[1:]
    if not ns.kernel:
        parser.error("no kernel command after --")
    return ns


def apply_limits(
    *, address_space: int, fsize: int, nproc: int | None = None, cgroup: str | None = None
) -> None:
    """Limit this process and everything it starts (also used by the kernel zygote)."""
    if cgroup:
        # "0" means the writing process, whatever pid namespace it is in.
        Path(cgroup, "cgroup.procs").write_text("0")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    if nproc is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def run_as_init(start_kernel: Callable[[], NoReturn], grader_pid: str) -> int:
    """Be pid 1 of the namespace: start the kernel, reap orphans, exit with it.

    The kernel is a grandchild, never pid 1 or a child of pid 1: init ignores
    signals it has no handler for (a notebook's `os.kill(os.getpid(), SIGTERM)`
    would do nothing), and ipykernel's parent poller exits when its parent is
    pid 1. SIGINT is ignored here because interrupts go to the whole process
    group and are meant for the kernel only. The grader's pid (outside the
    namespace, still visible in the host /proc) is watched so that a killed
    grader takes the namespace down with it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    middle = os.fork()
    if middle == 0:
        os._exit(_run_kernel_child(start_kernel))
    while True:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == middle:
            return os.waitstatus_to_exitcode(status) & 0xFF
        if pid == 0:
            if grader_pid and not Path("/proc", grader_pid).exists():
                return 1  # leaving kills every process in the namespace
            time.sleep(0.2)


def _run_kernel_child(start_kernel: Callable[[], NoReturn]) -> int:
    kernel_pid = os.fork()
    if kernel_pid == 0:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        start_kernel()
    _, status = os.waitpid(kernel_pid, 0)
    return os.waitstatus_to_exitcode(status) & 0xFF


def _exec_kernel(kernel: list[str]) -> NoReturn:
    os.environ["JPY_PARENT_PID"] = str(os.getppid())
    os.execv(kernel[0], kernel)  # noqa: S606 - argv, no shell


def main(argv: Sequence[str] | None = None) -> int:
    ns = _parse(sys.argv[1:] if argv is None else argv)
    apply_limits(address_space=ns.address_space, fsize=ns.fsize, nproc=ns.nproc, cgroup=ns.cgroup)
    if ns.init:
        grader_pid = os.environ.pop("JPY_PARENT_PID", "")
        return run_as_init(lambda: _exec_kernel(ns.kernel), grader_pid)
    os.execv(ns.kernel[0], ns.kernel)  # noqa: S606 - argv, no shell


if __name__ == "__main__":
    sys.exit(main())
