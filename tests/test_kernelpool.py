"""The forking launcher: every notebook still gets a fresh, contained process.

Each probe notebook reports what its kernel sees in the errors of its last
cells (a kernel cannot write outside its box); the runs are a fork batch and an
exec run, compared field by field.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import pytest

from grader.adapters import kernelpool, runner
from grader.adapters.runner import run_many
from grader.core.model import ExecutionLimits
from tests.notebooks import write_cells

LIMITS = ExecutionLimits(
    cell_timeout_s=10, notebook_timeout_s=60, memory_mb=1536, pass_env=("PROBE_DIR",)
)
SECRETS = {"GITHUB_TOKEN": "ghs_secret", "ACTIONS_RUNTIME_TOKEN": "secret"}

PROBE = r"""
import builtins, json, os, random, resource, sys, tempfile
import json as json_module
seen = {
    "leaked_global": "LEAK" in globals(),
    "leaked_builtin": hasattr(builtins, "GRADER_LEAK"),
    "leaked_module_attr": hasattr(json_module, "GRADER_LEAK"),
    "host_pid": int(os.readlink("/proc/self")),
    "ns_pid": os.getpid(),
    "pid_ns": os.readlink("/proc/self/ns/pid"),
    "net_ns": os.readlink("/proc/self/ns/net"),
    "cgroup": "".join(l for l in open("/proc/self/cgroup") if "pids" in l or "memory" in l),
    "env": dict(os.environ),
    "proc_environ": open("/proc/self/environ", "rb").read().decode(errors="replace"),
    "cwd": os.getcwd(),
    "tempdir": tempfile.gettempdir(),
    "ipython_dir": get_ipython().profile_dir.location,
    "as": resource.getrlimit(resource.RLIMIT_AS)[0],
    "fsize": resource.getrlimit(resource.RLIMIT_FSIZE)[0],
    "core": resource.getrlimit(resource.RLIMIT_CORE)[0],
    "random": random.random(),
    "argv": sys.argv,
}
LEAK = 1
builtins.GRADER_LEAK = 1
json_module.GRADER_LEAK = 1
"""
# One cell per key, each raising `SEEN {"key": value}`: error texts are bounded.
KEYS = ("leaked_global", "leaked_builtin", "leaked_module_attr", "host_pid", "ns_pid", "pid_ns",
        "net_ns", "cgroup", "env", "proc_environ", "cwd", "tempdir", "ipython_dir", "as", "fsize",
        "core", "random", "argv")  # fmt: skip
REPORT = 'raise RuntimeError("SEEN " + json.dumps({{{key!r}: seen[{key!r}]}}))'


def probe(folder: Path, name: str) -> Path:
    cells = [f"NAME = {name!r}", PROBE, *(REPORT.format(key=k) for k in KEYS)]
    return write_cells(folder / name / f"{name}.ipynb", *cells)


def reported(run: Any) -> dict[str, Any]:
    """What a probe's kernel saw, parsed from its report cells' errors."""
    statuses = [r.status for r in run.runs.values()]
    assert statuses[:2] == ["ok", "ok"], run
    seen: dict[str, Any] = {}
    for cell in list(run.runs.values())[2:]:
        head = cell.error.splitlines()[0]
        assert head.startswith("RuntimeError: SEEN "), cell.error
        seen.update(json.loads(head.removeprefix("RuntimeError: SEEN ")))
    assert set(seen) == set(KEYS)
    return seen


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("pool")
    env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", "PROBE_DIR": "passed"}
    env.update(SECRETS)
    names = [f"fork{i}" for i in range(3)]
    forked = [(probe(root, name), {}) for name in names]
    runs = run_many(forked, LIMITS, base_env=env, jobs=2)
    runs += run_many([(probe(root, "exec"), {})], LIMITS, base_env=env, jobs=1, fork=False)
    return {name: reported(run) for name, run in zip([*names, "exec"], runs, strict=True)}


FORKS = ("fork0", "fork1", "fork2")


@pytest.mark.kernel
def test_no_state_crosses_from_one_notebook_to_the_next(seen: dict[str, Any]) -> None:
    for name in FORKS:
        assert not seen[name]["leaked_global"]
        assert not seen[name]["leaked_builtin"]
        assert not seen[name]["leaked_module_attr"]


@pytest.mark.kernel
def test_each_notebook_has_its_own_process_and_namespaces(seen: dict[str, Any]) -> None:
    me = os.readlink("/proc/self/ns/pid"), os.readlink("/proc/self/ns/net")
    if os.geteuid() == 0:  # namespaces need root
        # Its own /proc: the kernel names only its own namespace's pids.
        assert all(seen[n]["host_pid"] == seen[n]["ns_pid"] for n in FORKS)
        assert len({seen[n]["pid_ns"] for n in FORKS}) == len(FORKS)
        assert len({seen[n]["net_ns"] for n in FORKS}) == len(FORKS)
        assert all((seen[n]["pid_ns"], seen[n]["net_ns"]) != me for n in FORKS)
        return
    host_pids = {seen[n]["host_pid"] for n in FORKS}
    assert len(host_pids) == len(FORKS)
    assert os.getpid() not in host_pids
    assert not any(Path("/proc", str(pid)).exists() for pid in host_pids)


@pytest.mark.kernel
def test_the_environment_is_the_allow_list(seen: dict[str, Any]) -> None:
    homes = set()
    for name in (*FORKS, "exec"):
        env = seen[name]["env"]
        assert not set(SECRETS) & set(env)
        assert "ghs_secret" not in seen[name]["proc_environ"]
        assert env["PROBE_DIR"]
        assert seen[name]["cwd"].endswith("/work")
        assert seen[name]["tempdir"] == env["TMPDIR"]
        assert seen[name]["ipython_dir"].startswith(env["HOME"])
        homes.add(env["HOME"])
    assert len(homes) == 4
    # A fork sees exactly what an exec'd kernel sees, but for its own paths.
    paths = {"HOME", "TMPDIR", "JPY_PARENT_PID"}
    fork_env = {k: v for k, v in seen["fork0"]["env"].items() if k not in paths}
    exec_env = {k: v for k, v in seen["exec"]["env"].items() if k not in paths}
    assert fork_env == exec_env


@pytest.mark.kernel
def test_limits_are_those_of_an_exec_launch(seen: dict[str, Any]) -> None:
    for name in (*FORKS, "exec"):
        assert seen[name]["as"] == LIMITS.memory_mb * 1024 * 1024
        assert seen[name]["fsize"] == seen["exec"]["fsize"] != resource.RLIM_INFINITY
        assert seen[name]["core"] == 0
        if os.geteuid() == 0 and Path("/sys/fs/cgroup/pids").exists():
            assert "grader-" in seen[name]["cgroup"]
    cgroups = {seen[n]["cgroup"] for n in FORKS}
    assert len(cgroups) in (1, len(FORKS))  # no cgroup at all, or one each


@pytest.mark.kernel
def test_each_fork_reseeds_random(seen: dict[str, Any]) -> None:
    assert len({seen[n]["random"] for n in FORKS}) == len(FORKS)


@pytest.mark.kernel
def test_no_zygote_outlives_its_batch(seen: dict[str, Any]) -> None:
    assert kernelpool.running() == []
    assert kernelpool.shared(kernelpool.kernel_env({}, (), Path("/h"), Path("/t"))) is None


def test_kernel_env_is_the_allow_list() -> None:
    env = kernelpool.kernel_env(
        {"PATH": "/bin", "LC_ALL": "C", "GITHUB_TOKEN": "x", "KEEP": "1"},
        ("KEEP",),
        Path("/home"),
        Path("/tmp/x"),
    )
    assert env == {
        "PATH": "/bin",
        "LC_ALL": "C",
        "KEEP": "1",
        "HOME": "/home",
        "TMPDIR": "/tmp/x",
        "MALLOC_ARENA_MAX": "2",
    }


@pytest.mark.kernel
def test_a_dead_zygote_falls_back_to_exec(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", os.defpath)}
    zygote = kernelpool.Zygote(kernelpool.kernel_env(env, (), tmp_path, tmp_path))
    try:
        zygote.wait_ready()
        os.kill(zygote.pid, 9)
        nb = write_cells(tmp_path / "nb" / "nb.ipynb", "x = 1")
        coro = runner._run_many_async([(nb, {})], LIMITS, env, 1, None, zygote)
        (run,) = asyncio.run(coro)
        assert [r.status for r in run.runs.values()] == ["ok"]
    finally:
        zygote.close()


@pytest.mark.kernel
def test_a_kernel_that_fails_to_start_is_still_reaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nbclient drops the process handle when start-up fails; the zygote must still reap."""

    async def never_ready(self: Any, timeout: float | None = None) -> None:
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(runner._KernelClient, "wait_for_ready", never_ready)
    env = {"PATH": os.environ.get("PATH", os.defpath)}
    zygote = kernelpool.Zygote(kernelpool.kernel_env(env, (), tmp_path, tmp_path))
    try:
        zygote.wait_ready()
        nb = write_cells(tmp_path / "nb" / "nb.ipynb", "x = 1")
        (run,) = asyncio.run(runner._run_many_async([(nb, {})], LIMITS, env, 1, None, zygote))
        assert "could not start a Python kernel" in run.problems[0]
        deadline = time.monotonic() + 5  # the zygote reaps on its one-second loop
        while (children := _children(zygote.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert children == []
    finally:
        zygote.close()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
