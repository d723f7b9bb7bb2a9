"""A contest judge's sandbox for the grading kernel (ARCHITECTURE section 3).

Every kernel starts through `enter`, either in a process forked from the
pre-warmed zygote (`kernelpool`) or in `python -m grader.adapters.sandbox`
exec'd by the runner. Both build the same tree:

    guard (root, host pid namespace; joins the kernel's cgroups; rlimits;
           new mount, pid, ipc, uts [and network] namespaces; builds the box)
      └─ init (pid 1; mounts a /proc of its own namespace; reaps)
           └─ middle (waits for the kernel, so ipykernel's parent is not pid 1)
                └─ kernel (its own uid, no capabilities, no_new_privs)

What the box is, with root (`Host.full`; in CI nothing less is accepted):

* A uid of its own per concurrent slot (60000 + n, never in /etc/passwd),
  no supplementary groups, every capability dropped (bounding set too) and
  `no_new_privs`, so setuid binaries and sudo give nothing.
* Its own pid namespace with its own /proc (`hidepid=invisible`): the grader,
  the zygote, their pipes, environments and memory are not even nameable;
  signals cannot reach them. When init dies every process in the namespace
  dies, setsid'ed double forks included; the runner also kills by cgroup and
  by uid, so the slot's uid is clean before it is reused.
* Its own mount namespace: the whole file system read-only, nosuid and nodev;
  /tmp is a size- and inode-capped tmpfs (the scratch folder lives in it, so a
  notebook has a total disk quota); /dev/shm is part of that tmpfs; /root, /run
  and folders the kernel's uid could not traverse are masked by empty tmpfs
  mounts, with the interpreter's own folders bound back read-only.
* Its own network namespace (only a loopback) unless `network: true`. The
  runner reaches the kernel's ipc:// sockets through /proc/<guard>/root.
* A memory and a pids cgroup (v1 or v2, whichever the host has): memory is
  the notebook's limit plus its tmpfs quota (tmpfs pages are charged to it).

Without root (a laptop) the kernel still gets rlimits, `no_new_privs`, its own
process group and cgroup if one can be made; `require` says so once.

The top level imports only the standard library: it runs before the kernel.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import functools
import json
import os
import pwd
import resource
import shutil
import signal
import socket
import stat
import struct
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from grader.core.errors import UserError

__all__ = [
    "Box",
    "Host",
    "IsolationUnavailable",
    "apply_limits",
    "detect",
    "enter",
    "in_ci",
    "require",
]

# Tasks (processes and threads) one kernel may have. An idle ipykernel uses
# about a dozen threads; 256 leaves room for multiprocessing and DataLoader
# workers while stopping a fork bomb long before the machine's limits.
TASK_BUDGET = 256
# The box's files: at most this many inodes in its tmpfs.
INODE_BUDGET = 100_000
# Slots: kernel uid = UID_BASE + slot; a uid with a passwd entry is skipped.
UID_BASE = 60000
UID_SLOTS = 1000
SLOT_LOCKS = Path("/run/grader-slots")
# What is copied from the notebook's folder into the box's working folder.
MAX_COPY_BYTES = 64 * 1024 * 1024
MAX_COPY_FILES = 500

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 1, 2, 4
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
SYS_MOUNT_SETATTR = 442  # the same number on every Linux architecture
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
_CGROUP = Path("/sys/fs/cgroup")
# Inside the box, in its own mount namespace: not the host's shared folders.
BOX_TMP = "/tmp"  # noqa: S108 - a private tmpfs in the kernel's mount namespace
BOX_SHM = "/dev/shm"  # noqa: S108 - bound to a folder of that tmpfs
_WARNED: list[str] = []


class IsolationUnavailable(UserError):
    """CI asked for a grade but this host cannot isolate the kernel; nothing was run.

    The message says what is missing and what to do (run the grader as root,
    e.g. `sudo -E env PATH="$PATH" grader ...`, on a Linux host with cgroups).
    """


# --- what the host can do ------------------------------------------------------


@dataclass(frozen=True)
class Cgroups:
    """Where this process may create a kernel's cgroups, v1 or v2."""

    version: int
    memory: Path  # v1: the memory hierarchy's parent; v2: the parent group
    pids: Path  # v1: the pids hierarchy's parent; v2: same as memory


@dataclass(frozen=True)
class Host:
    """What this machine lets the runner do to contain a kernel."""

    root: bool
    namespaces: bool  # pid, mount, network, ipc, uts namespaces and mounts work
    cgroups: Cgroups | None

    @property
    def full(self) -> bool:
        """Everything of the module docstring: what CI requires."""
        return self.namespaces and self.cgroups is not None

    def missing(self) -> list[str]:
        gaps = []
        if not self.root:
            gaps.append("the grader is not root, so kernels share its uid and namespaces")
        elif not self.namespaces:
            gaps.append("this kernel refuses new namespaces or mounts")
        if self.cgroups is None:
            gaps.append("no writable memory+pids cgroup (v1 or v2)")
        return gaps


@functools.cache
def detect() -> Host:
    """Probe once per process; every probe fails closed to 'not available'."""
    root = os.geteuid() == 0 and sys.platform == "linux"
    return Host(
        root=root,
        namespaces=root and _probe_namespaces(),
        cgroups=_probe_cgroups() if sys.platform == "linux" else None,
    )


def in_ci(env: Mapping[str, str]) -> bool:
    """GitHub Actions and most CI services set one of these."""
    return any(env.get(k, "").lower() == "true" for k in ("CI", "GITHUB_ACTIONS"))


def require(env: Mapping[str, str], host: Host | None = None) -> Host:
    """Fail closed in CI; elsewhere say once, on stderr, what is not isolated."""
    host = detect() if host is None else host
    if host.full:
        return host
    gaps = "; ".join(host.missing())
    if in_ci(env):
        raise IsolationUnavailable(
            f"refusing to run student notebooks in CI without isolation: {gaps}. "
            'Run the grader as root (on GitHub: sudo -E env PATH="$PATH" grader ...) '
            "on a Linux host with cgroups."
        )
    if not _WARNED:
        _WARNED.append(gaps)
        warning = f"grader: warning: kernels run with limited isolation here ({gaps})."
        print(warning, file=sys.stderr)  # noqa: T201
    return host


def _probe_namespaces() -> bool:
    """Fork a child that does what a guard does: namespaces, a read-only remount, a tmpfs."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            _read_only("/")
            _mount("tmpfs", BOX_TMP, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _probe_cgroups() -> Cgroups | None:
    if (_CGROUP / "cgroup.controllers").exists():
        return _probe_v2()
    return _probe_v1()


def _probe_v2() -> Cgroups | None:
    """A parent group under the root (the root is exempt from 'no internal processes')."""
    try:
        if not {"memory", "pids"} <= set((_CGROUP / "cgroup.controllers").read_text().split()):
            return None
        (_CGROUP / "cgroup.subtree_control").write_text("+memory +pids")
        base = _CGROUP / "grader"
        base.mkdir(exist_ok=True)
        (base / "cgroup.subtree_control").write_text("+memory +pids")
        probe = base / f"probe-{uuid.uuid4().hex[:8]}"
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return None
    return Cgroups(2, base, base)


def _probe_v1() -> Cgroups | None:
    """Our own memory and pids groups of the v1 hierarchies, if we may add children."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    found: dict[str, Path] = {}
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        for name in ("memory", "pids"):
            if name in controllers.split(","):
                found[name] = _CGROUP / name / rel.lstrip("/")
    if set(found) != {"memory", "pids"}:
        return None
    for base in found.values():
        probe = base / f"grader-probe-{uuid.uuid4().hex[:8]}"
        try:
            probe.mkdir()
            probe.rmdir()
        except OSError:
            return None
    return Cgroups(1, found["memory"], found["pids"])


# --- the grader's side: one box per kernel -------------------------------------


def file_size_limit(memory_mb: int) -> int:
    """The largest file a kernel may write; datasets rarely exceed what fits in memory."""
    return max(memory_mb, 64) * 1024 * 1024


def disk_quota(memory_mb: int) -> int:
    """The box's total bytes: room for its largest file plus its other files."""
    return file_size_limit(memory_mb) + 128 * 1024 * 1024


class _Slot:
    """A uid no other live kernel holds, locked (flock) across grader processes."""

    def __init__(self) -> None:
        SLOT_LOCKS.mkdir(mode=0o700, exist_ok=True)
        info = SLOT_LOCKS.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o077:
            raise OSError(f"{SLOT_LOCKS} is not a private root-owned folder")
        for slot in range(UID_SLOTS):
            uid = UID_BASE + slot
            if _has_passwd_entry(uid):
                continue
            fd = os.open(SLOT_LOCKS / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            kill_uid(uid)  # a crashed grader's leftovers never meet the next notebook
            return
        raise OSError(f"all {UID_SLOTS} kernel uids are in use")

    def release(self) -> None:
        os.close(self._fd)


def _has_passwd_entry(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


@dataclass
class Box:
    """Per-kernel containment on the grader's side: its uid, cgroups and launch spec."""

    memory_mb: int
    network: bool
    host: Host
    uid: int | None = None
    cgroups: list[Path] = field(default_factory=list)
    _slot: _Slot | None = None

    @property
    def isolated(self) -> bool:
        return self.host.namespaces

    def prepare(self) -> None:
        """Take a uid and make the cgroups; raises OSError when isolation cannot be set up."""
        if self.isolated:
            self._slot = _Slot()
            self.uid = self._slot.uid
        if self.host.cgroups is not None:
            try:
                self.cgroups = _make_cgroups(self.host.cgroups, self._memory_bytes())
            except OSError:
                if self.host.full:
                    raise
                self.cgroups = []  # a laptop: rlimits only, as `require` said

    def _memory_bytes(self) -> int:
        return self.memory_mb * 1024 * 1024 + (disk_quota(self.memory_mb) if self.isolated else 0)

    def inner(self, root: Path) -> Path:
        """Where the host scratch folder `root` is inside the box (in its /tmp)."""
        if not self.isolated or root.is_relative_to(BOX_TMP):
            return root
        return Path(BOX_TMP, root.name)

    def user_env(self) -> dict[str, str]:
        """USER/LOGNAME for a uid with no passwd entry (getpass.getuser reads them first)."""
        if self.uid is None:
            return {}
        return {"USER": f"grader{self.uid}", "LOGNAME": f"grader{self.uid}"}

    def host_path(self, guard_pid: int, inner: str) -> str:
        """A path inside the box as the grader reaches it (the box's /tmp is private)."""
        return f"/proc/{guard_pid}/root{inner}" if self.isolated else inner

    def spec(self, *, source: Path, scratch: Path, connection_file: Path) -> dict[str, Any]:
        """What the guard needs, as JSON-able data (passed to the zygote or on argv)."""
        limits: dict[str, int | None] = {
            "address_space": self.memory_mb * 1024 * 1024,
            "fsize": file_size_limit(self.memory_mb),
            "nproc": TASK_BUDGET if self.isolated else _laptop_nproc(self.cgroups),
        }
        spec: dict[str, Any] = {
            "isolated": self.isolated,
            "limits": limits,
            "cgroups": [str(c) for c in self.cgroups],
        }
        if self.isolated:
            inner = self.inner(scratch)
            spec |= {
                "uid": self.uid,
                "newnet": not self.network,
                "source": str(source),
                "scratch": str(inner),
                "connection_file": str(connection_file),
                "inner_connection_file": str(inner / "kernel" / connection_file.name),
                "quota": disk_quota(self.memory_mb),
                "masks": masks(network=self.network),
                "under_tmp": under_tmp(),
            }
        return spec

    def command(self, spec: Mapping[str, Any], kernel_argv: Sequence[str]) -> list[str]:
        """The argv that starts the kernel inside its box by exec."""
        wrapper = [sys.executable, "-P", "-m", "grader.adapters.sandbox"]
        return [*wrapper, "--spec", json.dumps(spec), "--", *kernel_argv]

    def kill_all(self) -> None:
        """Nothing of the notebook survives: kill by cgroup and by uid, then free both."""
        for group in self.cgroups:
            _empty_cgroup(group)
        if self.uid is not None:
            kill_uid(self.uid)
        for group in self.cgroups:
            _remove_cgroup(group)
        self.cgroups = []
        if self._slot is not None:
            self._slot.release()
            self._slot = None


def _laptop_nproc(cgroups: Sequence[Path]) -> int | None:
    """Without a uid of its own RLIMIT_NPROC counts all the user's tasks (and root is exempt)."""
    if cgroups or os.geteuid() == 0:
        return None
    return _user_task_count(os.getuid()) + TASK_BUDGET


def _make_cgroups(where: Cgroups, memory_bytes: int) -> list[Path]:
    name = f"grader-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    made: list[Path] = []
    try:
        if where.version == 2:
            group = where.memory / name
            group.mkdir()
            made.append(group)
            _write(group / "memory.max", memory_bytes)
            _write(group / "memory.swap.max", 0, optional=True)
            _write(group / "memory.oom.group", 1, optional=True)
            _write(group / "pids.max", TASK_BUDGET)
            return made
        memory, pids = where.memory / name, where.pids / name
        for group in (memory, pids):
            group.mkdir()
            made.append(group)
        _write(memory / "memory.limit_in_bytes", memory_bytes)
        _write(memory / "memory.memsw.limit_in_bytes", memory_bytes, optional=True)
        _write(pids / "pids.max", TASK_BUDGET)
    except OSError:
        for group in made:
            _remove_cgroup(group)
        raise
    return made


def _write(path: Path, value: int, *, optional: bool = False) -> None:
    try:
        path.write_text(str(value))
    except OSError:
        if not optional:
            raise


def _cgroup_pids(group: Path) -> list[int]:
    try:
        return [int(p) for p in (group / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _empty_cgroup(group: Path, timeout: float = 5.0) -> None:
    with contextlib.suppress(OSError):
        (group / "cgroup.kill").write_text("1")  # v2, Linux 5.14+: atomic
    deadline = time.monotonic() + timeout
    while (pids := _cgroup_pids(group)) and time.monotonic() < deadline:
        for pid in pids:
            _kill(pid)
        time.sleep(0.002)  # dying tasks leave within milliseconds


def _remove_cgroup(group: Path, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return  # left for the host to clean; never a reason to fail a grade
            time.sleep(0.002)  # tasks still exiting; the group empties shortly


def _kill(pid: int) -> None:
    with contextlib.suppress(OSError):  # already gone
        os.kill(pid, signal.SIGKILL)


def uid_pids(uid: int) -> list[int]:
    """Processes whose real or effective uid is `uid` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("Uid:"):
                    real, effective = (int(v) for v in line.split()[1:3])
                    if uid in (real, effective):
                        found.append(int(entry.name))
                    break
    return found


def kill_uid(uid: int, timeout: float = 5.0) -> None:
    """SIGKILL every process of `uid` until none is left (a slot is reused only clean)."""
    deadline = time.monotonic() + timeout
    while (pids := uid_pids(uid)) and time.monotonic() < deadline:
        for pid in pids:
            _kill(pid)
        time.sleep(0.002)


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


@functools.cache
def _interpreter_paths() -> tuple[str, ...]:
    """The folders the kernel's Python reads: prefixes, its binary's folder, sys.path."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.add(str(Path(sys.executable).parent))
    paths.add(str(Path(os.path.realpath(sys.executable)).parent))
    paths.update(p for p in sys.path if p and os.path.isdir(p))
    return tuple(sorted(os.path.realpath(p) for p in paths))


def under_tmp() -> list[str]:
    """The interpreter's folders inside /tmp (a clone and its venv under /tmp): the box's
    own tmpfs covers /tmp, so these are bound back into it, read-only."""
    inside = [p for p in _interpreter_paths() if _below(p, BOX_TMP)]
    return [p for p in sorted(inside, key=len) if not any(_below(p, q) for q in inside)]


def masks(*, network: bool) -> dict[str, list[str]]:
    """Folders hidden behind an empty tmpfs, each with the paths bound back inside it.

    /root and /run always (credentials, sockets); any folder the kernel's uid
    could not traverse on the way to the interpreter (pyenv under a 0700
    /root) is masked too, with the interpreter's folders exposed read-only.
    """
    needed = list(_interpreter_paths())
    if network:
        needed.append(os.path.dirname(os.path.realpath("/etc/resolv.conf")))
    folders = {d for d in ("/root", "/run") if os.path.isdir(d)}
    folders |= {b for b in map(_first_blocked, needed) if b is not None}
    # A mask inside another mask is already hidden by the outer one.
    outer = sorted(f for f in folders if not any(_below(f, o) for o in folders if o != f))
    result: dict[str, list[str]] = {f: [] for f in outer}
    for path in sorted(set(needed), key=len):  # shortest first: a parent covers its children
        owner = next((m for m in outer if _below(path, m)), None)
        if owner is not None and not any(_below(path, e) or path == e for e in result[owner]):
            result[owner].append(path)
    return result


def _below(path: str, folder: str) -> bool:
    return path != folder and Path(path).is_relative_to(folder)


def _first_blocked(path: str) -> str | None:
    """The outermost ancestor of `path` that others may not traverse."""
    current = Path("/")
    for part in Path(path).parts[1:]:
        current = current / part
        with contextlib.suppress(OSError):
            if not os.stat(current).st_mode & stat.S_IXOTH:
                return str(current)
    return None


# --- the guard's side: runs in the child, builds the box, becomes the kernel --


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _unshare(flags: int) -> None:
    _check(_libc().unshare(flags), "unshare")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    libc = _libc()
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    encoded = [None if s is None else s.encode() for s in (source, target, fstype)]
    _check(libc.mount(*encoded, flags, data.encode() or None), f"mount {target}")


class _MountAttr(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in ("attr_set", "attr_clr", "propagation", "userns")]


def _read_only(path: str) -> None:
    """Make `path` and every mount below it read-only, nosuid and nodev."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0)
    args = (AT_FDCWD, path.encode(), AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr))
    done = _libc().syscall(SYS_MOUNT_SETATTR, *args)
    if done == 0:
        return
    # Before Linux 5.12: remount each mount under `path` (flags are per mount).
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV
    for point in _mount_points(path):
        with contextlib.suppress(OSError):
            _mount(None, point, None, flags)


def _mount_points(under: str) -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if Path(point).is_relative_to(under):
            points.append(point)
    return points


def enter(spec: Mapping[str, Any], start: Callable[[], NoReturn], report: int | None) -> NoReturn:
    """Run in the guard: contain this process, fork the namespace's init, wait for it.

    `report` (the zygote's pipe) receives "ok" once the box is built, or the error.
    """
    try:
        with contextlib.suppress(OSError):
            os.setsid()  # the runner interrupts and kills this process group
        _libc().prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))  # dies with its launcher
        for group in spec["cgroups"]:
            # "0" means the writing process, whatever pid namespace it is in.
            Path(group, "cgroup.procs").write_text("0")
        apply_limits(**spec["limits"])
        if spec["isolated"]:
            _build_box(spec)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        guard = os.getpid()
        init = os.fork()
    except BaseException as err:
        if report is not None:
            os.write(report, f"{type(err).__name__}: {err}".encode())
        os._exit(1)
    if init == 0:
        # In a new pid namespace the guard, outside it, shows as parent 0.
        _init(spec, start, report, 0 if spec["isolated"] else guard)
    if report is not None:
        os.write(report, b"ok")
        os.close(report)
    _, status = os.waitpid(init, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def apply_limits(*, address_space: int, fsize: int, nproc: int | None = None) -> None:
    """Limit this process and everything it starts."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    if nproc is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _build_box(spec: Mapping[str, Any]) -> None:
    """New namespaces, then the file system the kernel will see (we are root here)."""
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    _unshare(flags | (CLONE_NEWNET if spec["newnet"] else 0))
    if spec["newnet"]:
        _loopback_up()
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Open what the box needs from the host before /tmp and the masks hide it.
    source = os.open(spec["source"], os.O_RDONLY | os.O_DIRECTORY)
    connection = Path(spec["connection_file"]).read_bytes()
    exposed = {e: os.open(e, os.O_PATH) for m in spec["masks"].values() for e in m}
    kept = {e: os.open(e, os.O_PATH) for e in spec.get("under_tmp", [])}
    _read_only("/")
    _mount("tmpfs", BOX_TMP, "tmpfs", MS_NOSUID | MS_NODEV, _tmpfs_options(spec))
    uid = int(spec["uid"])
    scratch = Path(spec["scratch"])
    for sub in ("work", "home", "tmp", "kernel", "shm"):
        (scratch / sub).mkdir(mode=0o700, parents=True)
    copy_folder(f"/proc/self/fd/{source}", scratch / "work")
    os.close(source)
    Path(spec["inner_connection_file"]).write_bytes(connection)
    _chown_tree(scratch, uid)
    if os.path.isdir(BOX_SHM):
        _mount(str(scratch / "shm"), BOX_SHM, None, MS_BIND)
    for path, fd in kept.items():
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
        _read_only(path)
    for mask, exposures in spec["masks"].items():
        _mask(mask, exposures, exposed)


def _tmpfs_options(spec: Mapping[str, Any]) -> str:
    return f"size={int(spec['quota'])},nr_inodes={INODE_BUDGET},mode=1777"


def _mask(folder: str, exposures: Sequence[str], fds: Mapping[str, int]) -> None:
    _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=1000,mode=0755")
    for path in exposures:
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fds[path]}", path, None, MS_BIND | MS_REC)
        os.close(fds[path])
    _read_only(folder)


def _loopback_up() -> None:
    """A new network namespace's `lo` starts down; localhost servers in notebooks need it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def copy_folder(src: str, dst: Path) -> None:
    """Copy regular files beside the notebook, within a budget; never links or dot-folders."""
    dst.mkdir(mode=0o700, exist_ok=True)
    files, size = 0, 0
    for folder, dirs, names in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        target = dst / Path(folder).relative_to(src)
        target.mkdir(exist_ok=True)
        for name in sorted(names):
            path = Path(folder, name)
            if path.is_symlink() or not path.is_file():
                continue
            size += path.stat().st_size
            files += 1
            if files > MAX_COPY_FILES or size > MAX_COPY_BYTES:
                return
            shutil.copyfile(path, target / name)


def _chown_tree(root: Path, uid: int) -> None:
    for folder, _dirs, names in os.walk(root):
        os.chown(folder, uid, uid)
        for name in names:
            os.chown(os.path.join(folder, name), uid, uid)


def _init(
    spec: Mapping[str, Any], start: Callable[[], NoReturn], report: int | None, parent: int
) -> NoReturn:
    code = 1
    try:
        if report is not None:
            os.close(report)
        _libc().prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))  # the guard's death ends us
        if os.getppid() == parent:  # else the guard died before PDEATHSIG was set
            if spec["isolated"]:
                _mount_proc()
            code = run_as_init(lambda: _kernel(spec, start))
    finally:
        os._exit(code)  # never back into the zygote's loop


def _mount_proc() -> None:
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    try:
        _mount("proc", "/proc", "proc", flags, "hidepid=invisible")
    except OSError:
        _mount("proc", "/proc", "proc", flags, "hidepid=2")  # before Linux 5.8


def run_as_init(start_kernel: Callable[[], NoReturn]) -> int:
    """Be pid 1 of the namespace: start the kernel, reap orphans, exit with it.

    The kernel is a grandchild, never pid 1 or a child of pid 1: init ignores
    signals it has no handler for (a notebook's `os.kill(os.getpid(), SIGTERM)`
    would do nothing), and ipykernel's parent poller exits when its parent is
    pid 1. SIGINT is ignored here because interrupts go to the whole process
    group and are meant for the kernel only. When this process exits, Linux
    kills every process left in the namespace; without a pid namespace (a
    laptop) the runner kills the process group instead.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    middle = os.fork()
    if middle == 0:
        os._exit(_run_kernel_child(start_kernel))
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == middle:
            return os.waitstatus_to_exitcode(status) & 0xFF


def _run_kernel_child(start_kernel: Callable[[], NoReturn]) -> int:
    kernel_pid = os.fork()
    if kernel_pid == 0:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        start_kernel()
    _, status = os.waitpid(kernel_pid, 0)
    return os.waitstatus_to_exitcode(status) & 0xFF


def _kernel(spec: Mapping[str, Any], start: Callable[[], NoReturn]) -> NoReturn:
    """Last step before student code: drop every privilege, for good."""
    libc = _libc()
    if spec["isolated"]:
        uid = int(spec["uid"])
        for cap in _capabilities():
            _check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}")
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # clears the permitted and effective sets
        # Changing uid made us non-dumpable (our /proc/self root-owned), which an
        # exec would undo; a forked kernel must see itself as an exec'd one does.
        _check(libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
        os.chdir(Path(spec["scratch"], "work"))
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    start()


def _capabilities() -> Iterator[int]:
    try:
        last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        last = 40
    return iter(range(last + 1))


def _exec_kernel(kernel: list[str]) -> NoReturn:
    os.environ["JPY_PARENT_PID"] = str(os.getppid())
    os.execv(kernel[0], kernel)  # noqa: S606 - argv, no shell


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="grader-sandbox")
    parser.add_argument("--spec", required=True, help="the box, as JSON (see Box.spec)")
    parser.add_argument("kernel", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)
    if ns.kernel[:1] == ["--"]:
        ns.kernel = ns.kernel[1:]
    if not ns.kernel:
        parser.error("no kernel command after --")
    return ns


def main(argv: Sequence[str] | None = None) -> int:
    ns = _parse(sys.argv[1:] if argv is None else argv)
    spec = json.loads(ns.spec)
    if os.getppid() == 1:
        return 1  # the runner is already gone (PR_SET_PDEATHSIG below would be too late)
    enter(spec, lambda: _exec_kernel(ns.kernel), None)


if __name__ == "__main__":
    sys.exit(main())
