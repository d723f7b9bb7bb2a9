"""THREATS rows 41, 42, 44, 46, 47: hostile notebooks against the kernel's box.

Each attack is a cell that tries it and reports what it got by raising
`RuntimeError("GOT {json}")` (a kernel cannot write anywhere the grader
reads, so its error text is the only way out). Every test checks that report
from inside AND the grader's own view from outside: its results, its process
table, its files, its listener, its memory.

As root (like CI) the box is the full one; the non-root path runs `grader
check` as a user made for the purpose (`graderuser`), where the laptop
fallback applies: it grades, says so once, and refuses when CI is set.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from grader.adapters import kernelpool, sandbox
from grader.adapters.runner import kernel_env, run_many, run_notebook
from grader.core.model import ExecutionLimits, NotebookRun

pytestmark = pytest.mark.kernel

REPO = Path(__file__).resolve().parents[1]
SECRET = "ghs_isolation_sentinel_5f2a"
BASE_ENV = {
    "PATH": os.environ.get("PATH", os.defpath),
    "LANG": "C.UTF-8",
    "GITHUB_TOKEN": SECRET,
    "ACTIONS_RUNTIME_TOKEN": SECRET,
}
LIMITS = ExecutionLimits(cell_timeout_s=20, notebook_timeout_s=120, memory_mb=512)
FULL = os.geteuid() == 0 and sandbox.detect().full
needs_box = pytest.mark.skipif(
    not FULL, reason="the full box needs root with namespaces and cgroups (as in CI)"
)

PRELUDE = """\
import ctypes, glob, json, os, signal, socket, subprocess, sys, time

def tried(fn):
    try:
        return ["ok", repr(fn())[:300]]
    except BaseException as err:
        return [type(err).__name__, str(err)[:120]]

def read(path, n=-1):
    with open(path, "rb") as f:
        return f.read(n)

def write(path, text="pwned"):
    with open(path, "w") as f:
        f.write(text)
    return path
"""


def attack(body: str) -> str:
    """A cell that runs `body` (which fills `got`) and reports `got` in its error."""
    return f"got = {{}}\n{body}\nraise RuntimeError('GOT ' + json.dumps(got))"


def got(run: NotebookRun, index: int) -> dict[str, Any]:
    """The report of the attack cell at `index` (code cells counted from 0, prelude included)."""
    cell = run.runs[index]
    head = cell.error.splitlines()[0] if cell.error else ""
    assert head.startswith("RuntimeError: GOT "), f"cell {index}: {cell}"
    report: dict[str, Any] = json.loads(head.removeprefix("RuntimeError: GOT "))
    return report


def notebook(path: Path, *cells: str) -> Path:
    v4 = nbformat.v4
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(v4.new_notebook(cells=[v4.new_code_cell(c) for c in cells]), str(path))
    return path


def all_text(runs: dict[str, NotebookRun]) -> str:
    parts = []
    for run in runs.values():
        parts += [r.error for r in run.runs.values()]
        parts += list(run.problems)
    return "\n".join(parts)


def stopped_watch(pid: int) -> subprocess.Popen[str]:
    """A separate process that counts the times it sees `pid` stopped (state T), until SIGTERM."""
    code = (
        "import signal, sys, time\n"
        "seen = [0]\n"
        "def done(*_):\n"
        "    print(seen[0], flush=True)\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, done)\n"
        "while True:\n"
        f"    s = open('/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[0]\n"
        "    seen[0] += s in 'Tt'\n"
        "    time.sleep(0.005)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


class Listener:
    """A TCP server in the grader's network namespace; counts who got through."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def setuid_id() -> Iterator[Path]:
    """A setuid-root copy of id(1) anyone may run: with privileges to gain it says euid=0."""
    folder = Path(tempfile.mkdtemp(prefix="grader-iso-", dir="/var/tmp"))
    folder.chmod(0o755)
    binary = folder / "id"
    shutil.copy(shutil.which("id") or "/usr/bin/id", binary)
    binary.chmod(0o4755)
    yield binary
    shutil.rmtree(folder)


# --- the root batch: every attack at once -----------------------------------------


def _reach(grader: int, zygote: int) -> str:
    return attack(f"""
G, Z = {grader}, {zygote}
got["environ"] = tried(lambda: read(f"/proc/{{G}}/environ"))
got["cmdline"] = tried(lambda: read(f"/proc/{{G}}/cmdline"))
def heap():
    start = int(read(f"/proc/{{G}}/maps").split(b"-")[0], 16)
    with open(f"/proc/{{G}}/mem", "rb") as mem:
        mem.seek(start)
        return mem.read(16)
got["mem"] = tried(heap)
got["zygote_environ"] = tried(lambda: read(f"/proc/{{Z}}/environ"))
secret = "ghs_" + "isolation_sentinel_5f2a"
got["scan"] = []
for path in glob.glob("/proc/[0-9]*/environ"):
    try:
        if secret.encode() in read(path):
            got["scan"].append(path)
    except OSError:
        pass
got["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
got["uid"] = os.getuid()
""")


def _signals(grader: int, zygote: int) -> str:
    return attack(f"""
G, Z = {grader}, {zygote}
got["stop_grader"] = tried(lambda: os.kill(G, signal.SIGSTOP))
time.sleep(0.5)
os.kill(G, signal.SIGCONT) if got["stop_grader"][0] == "ok" else None
got["kill_zygote"] = tried(lambda: os.kill(Z, signal.SIGKILL))
got["kill_pid1"] = tried(lambda: os.kill(1, signal.SIGKILL))
got["kill_group"] = tried(lambda: os.killpg(os.getpgid(G), signal.SIGSTOP))
""")


def _pipes(grader: int, zygote: int) -> str:
    return attack(f"""
G, Z = {grader}, {zygote}
spawn = json.dumps({{"op": "spawn", "argv": [], "env": {{}}, "cwd": "/", "box": {{}}}}) + "\\n"
got["zygote_stdin"] = tried(lambda: write(f"/proc/{{Z}}/fd/0", spawn))
got["zygote_fds"] = tried(lambda: os.listdir(f"/proc/{{Z}}/fd"))
got["grader_fds"] = tried(lambda: os.listdir(f"/proc/{{G}}/fd"))
got["own_fds"] = sorted(os.listdir("/proc/self/fd"))
targets = [tried(lambda: os.readlink(f"/proc/self/fd/{{fd}}"))[1] for fd in got["own_fds"]]
got["fd_targets"] = sorted({{t for t in targets if "pipe:" in t}})  # what a zygote pipe would be
got["own_fds"] = len(got["own_fds"])
""")


def _escape(result: Path, probe: Path, source: Path, port: int, suid: Path) -> str:
    return attack(f"""
got["result"] = tried(lambda: write({str(result)!r}))
got["repo"] = tried(lambda: write({str(probe)!r}))
got["source"] = tried(lambda: write({str(source / "planted.txt")!r}))
got["var_tmp"] = tried(lambda: write({str(VAR_TMP_PROBE)!r}))  # world-writable on the host
got["listener"] = tried(lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2))
got["internet"] = tried(lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
libc = ctypes.CDLL(None, use_errno=True)
def setns(path):
    fd = os.open(path, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:
        raise OSError(ctypes.get_errno(), "setns refused")
    return "entered"
own = os.readlink("/proc/self/ns/net")
got["setns"] = [tried(lambda: setns(p)) for p in ["/proc/1/ns/net"] + [
    p for p in glob.glob("/proc/[0-9]*/ns/net") if tried(lambda: os.readlink(p))[1] != repr(own)
]]
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
got["status"] = {{k: status[k].strip() for k in ("NoNewPrivs", "CapEff", "CapBnd", "Uid")}}
def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True).stdout
got["setuid_binary"] = tried(lambda: run({str(suid)!r}))
got["setuid0"] = tried(lambda: os.setuid(0))
sudo = "/usr/bin/sudo"
got["sudo"] = tried(lambda: run(sudo, "-n", "id", "-u"))
got["sudo"] = got["sudo"] if os.path.exists(sudo) else ["absent", ""]
""")


LINGER = attack("""
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.write(w, str(os.getpid()).encode())
        time.sleep(3)
        for path in RESULT_PATHS:
            try:
                write(path, "rewritten")
            except OSError:
                pass
        time.sleep(120)
    os._exit(0)
os.wait()
got = {"uid": os.getuid(), "grandchild": int(os.read(r, 20))}
""")

DISK = attack("""
os.makedirs("many", exist_ok=True)
chunk, count = b"x" * 100_000, 0
try:
    while count < 200_000:
        with open(f"many/{count}", "wb") as f:
            f.write(chunk)
        count += 1
except OSError as err:
    got["error"] = [type(err).__name__, err.errno]
got["files"] = count
""")

BATCH_MB = 512
VAR_TMP_PROBE = Path("/var/tmp", f"grader-kernel-was-here-{os.getpid()}")
VICTIM = ("x = 41", "import time\ntime.sleep(3)\nx += 1", "assert x == 42, x")


def _attacker(victim_source: Path, out: Path) -> str:
    return attack(f"""
time.sleep(0.5)  # the victim's kernel is up by now
own = os.path.dirname(os.environ["HOME"])  # our scratch folder; the victim's is elsewhere
found = glob.glob("/tmp/**/ipc-*", recursive=True)
got["sockets"] = [p for p in found if not p.startswith(own + "/")]
got["own_sockets"] = len(found) - len(got["sockets"])
pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
got["roots"] = [tried(lambda: os.listdir(f"/proc/{{p}}/root/tmp")) for p in pids]
got["victim_nb"] = tried(lambda: write({str(victim_source)!r}, "{{}}"))
got["out"] = tried(lambda: write({str(out / "victim.json")!r}, '{{"status": "complete"}}'))
# Which other processes could it signal (signal 0 only checks)? None, in a box.
def may_signal(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
got["signalable"] = [int(p) for p in pids if may_signal(int(p))]
""")


@pytest.fixture(scope="module")
def box_batch(
    tmp_path_factory: pytest.TempPathFactory, setuid_id: Path
) -> Iterator[dict[str, Any]]:
    if not FULL:
        pytest.skip("the full box needs root with namespaces and cgroups (as in CI)")
    tmp = tmp_path_factory.mktemp("iso")
    result = tmp / "result" / "result.json"
    result.parent.mkdir()
    result.write_text("original")
    out = tmp / "out"
    out.mkdir()
    probe = REPO / f".isolation-probe-{os.getpid()}"
    listener = Listener()
    kernelpool.prewarm(BASE_ENV, ())
    zygote = kernelpool.shared(kernel_env(BASE_ENV, (), Path(os.devnull), Path(os.devnull)))
    assert zygote is not None
    zygote.wait_ready()
    me = os.getpid()
    streams = (zygote._proc.stdin, zygote._proc.stdout)
    zygote_pipes = [os.fstat(f.fileno()).st_ino for f in streams if f is not None]
    victim = notebook(tmp / "victim" / "victim.ipynb", *VICTIM)
    paths = f"RESULT_PATHS = {[str(result), str(out / 'victim.json')]!r}"
    nbs = {
        "victim": victim,
        "attacker": notebook(tmp / "attacker" / "a.ipynb", PRELUDE, _attacker(victim, out), "1"),
        "reach": notebook(tmp / "reach" / "r.ipynb", PRELUDE, _reach(me, zygote.pid)),
        "signals": notebook(tmp / "signals" / "s.ipynb", PRELUDE, _signals(me, zygote.pid)),
        "pipes": notebook(tmp / "pipes" / "p.ipynb", PRELUDE, _pipes(me, zygote.pid)),
        "escape": notebook(
            tmp / "escape" / "e.ipynb",
            PRELUDE,
            _escape(result, probe, tmp / "escape", listener.port, setuid_id),
        ),
        "linger": notebook(tmp / "linger" / "l.ipynb", PRELUDE, paths, LINGER, "after = 1"),
        "disk": notebook(
            tmp / "disk" / "d.ipynb", PRELUDE, DISK, "import shutil\nshutil.rmtree('many')"
        ),
    }
    watch = stopped_watch(me)
    disk_before = shutil.disk_usage(tmp).free
    started = time.monotonic()
    try:
        limits = ExecutionLimits(cell_timeout_s=20, notebook_timeout_s=120, memory_mb=BATCH_MB)
        runs = run_many([(p, {}) for p in nbs.values()], limits, base_env=BASE_ENV, jobs=4)
        elapsed = time.monotonic() - started
        zygote_alive = zygote.alive
        linger_uid = got(runs[list(nbs).index("linger")], 2)["uid"]
        leftovers = sandbox.uid_pids(linger_uid)
    finally:
        kernelpool.close_all()
        listener.close()
        watch.terminate()
    stopped = watch.communicate(timeout=10)[0]
    yield {
        "runs": dict(zip(nbs, runs, strict=True)),
        "result": result,
        "out": out,
        "probe": probe,
        "listener": listener.connections,
        "stopped": stopped,
        "elapsed": elapsed,
        "zygote_alive": zygote_alive,
        "zygote_pid": zygote.pid,
        "zygote_pipes": zygote_pipes,
        "leftovers": leftovers,
        "disk_lost": disk_before - shutil.disk_usage(tmp).free,
        "folders": {k: p.parent for k, p in nbs.items()},
    }
    for leftover in (probe, VAR_TMP_PROBE):
        if leftover.exists():
            leftover.unlink()


def _failed(outcome: list[str]) -> bool:
    return outcome[0] != "ok"


@needs_box
def test_kernel_cannot_read_the_graders_environment_or_memory(box_batch: dict[str, Any]) -> None:
    """THREATS 41 (/proc/<grader>/environ and /proc/<pid>/mem)."""
    seen = got(box_batch["runs"]["reach"], 1)
    for key in ("environ", "cmdline", "mem", "zygote_environ"):
        assert _failed(seen[key]), (key, seen[key])
    assert seen["scan"] == []
    # Its own pid namespace: it sees init (hidden) and itself, never the grader.
    assert os.getpid() not in seen["pids"]
    assert max(seen["pids"]) < 100
    assert seen["uid"] >= sandbox.UID_BASE
    # Outside: the secret appears in no result of the batch.
    assert SECRET not in all_text(box_batch["runs"])


@needs_box
def test_kernel_cannot_stop_or_kill_the_grader_or_the_zygote(box_batch: dict[str, Any]) -> None:
    """THREATS 41 (SIGSTOP past every timeout)."""
    seen = got(box_batch["runs"]["signals"], 1)
    for key in ("stop_grader", "kill_zygote", "kill_pid1", "kill_group"):
        assert _failed(seen[key]), (key, seen[key])
    # Outside: a watcher never saw the grader stopped; the zygote outlived the batch.
    assert box_batch["stopped"].strip() == "0"
    assert box_batch["zygote_alive"]


@needs_box
def test_kernel_cannot_open_the_launchers_pipes(box_batch: dict[str, Any]) -> None:
    """THREATS 41 (the zygote's request pipe through /proc/<zygote>/fd/0)."""
    seen = got(box_batch["runs"]["pipes"], 1)
    for key in ("zygote_stdin", "zygote_fds", "grader_fds"):
        assert _failed(seen[key]), (key, seen[key])
    # Outside: none of the kernel's open files is one of the zygote's pipes to the grader,
    # and the zygote outlived the batch (no rogue request confused it).
    pipes = {f"pipe:[{inode}]" for inode in box_batch["zygote_pipes"]}
    assert not pipes & {target.strip("'") for target in seen["fd_targets"]}, seen["fd_targets"]
    assert box_batch["zygote_alive"]


@needs_box
def test_kernel_cannot_write_the_results_the_repository_or_its_source(
    box_batch: dict[str, Any],
) -> None:
    """THREATS 41 (result folder) and 35 (the repository)."""
    seen = got(box_batch["runs"]["escape"], 1)
    for key in ("result", "repo", "source", "var_tmp"):
        assert _failed(seen[key]), (key, seen[key])
    assert box_batch["result"].read_text() == "original"
    assert not VAR_TMP_PROBE.exists()  # no file outside the box's quota
    assert not box_batch["probe"].exists()
    assert sorted(p.name for p in box_batch["folders"]["escape"].iterdir()) == ["e.ipynb"]


@needs_box
def test_kernel_cannot_reach_the_network_or_the_graders_namespace(
    box_batch: dict[str, Any],
) -> None:
    """THREATS 41 (network: false, setns into the grader's netns as root)."""
    seen = got(box_batch["runs"]["escape"], 1)
    assert _failed(seen["listener"])
    assert _failed(seen["internet"])
    assert seen["setns"]
    assert all(_failed(s) for s in seen["setns"]), seen["setns"]
    assert box_batch["listener"] == 0  # outside: nobody connected to the grader's server


@needs_box
def test_kernel_cannot_gain_privileges(box_batch: dict[str, Any]) -> None:
    """THREATS 42 (setuid binaries, sudo, NoNewPrivs: 0)."""
    seen = got(box_batch["runs"]["escape"], 1)
    status = seen["status"]
    assert status["NoNewPrivs"] == "1"
    assert int(status["CapEff"], 16) == 0
    assert int(status["CapBnd"], 16) == 0
    uid = int(status["Uid"].split()[0])
    assert uid >= sandbox.UID_BASE
    assert uid != os.getuid()
    assert seen["setuid_binary"][0] == "ok"  # it ran, and gained nothing:
    assert "euid=0" not in seen["setuid_binary"][1]
    assert "uid=0(" not in seen["setuid_binary"][1]
    assert _failed(seen["setuid0"])
    assert seen["sudo"][0] == "absent" or "0" not in seen["sudo"][1].split()
    # Outside: the kernel's uid has no passwd entry (so no sudo rights) and nothing of it is left.
    with pytest.raises(KeyError):
        pwd.getpwuid(uid)
    assert sandbox.uid_pids(uid) == []


@needs_box
def test_no_process_outlives_its_notebook(box_batch: dict[str, Any]) -> None:
    """THREATS 41 (a setsid double fork that rewrote result.json after the grader exited)."""
    run = box_batch["runs"]["linger"]
    seen = got(run, 2)
    assert seen["grandchild"] > 0  # the double fork happened inside
    assert run.runs[3].status == "ok"
    assert box_batch["leftovers"] == []  # outside: no process of that uid right after
    time.sleep(3.5)  # past the moment the grandchild would have written
    assert box_batch["result"].read_text() == "original"
    assert not (box_batch["out"] / "victim.json").exists()


@needs_box
def test_many_small_files_hit_the_scratch_quota(box_batch: dict[str, Any]) -> None:
    """THREATS 47: the scratch folder has a total quota; the notebook gets an error."""
    run = box_batch["runs"]["disk"]
    seen = got(run, 1)
    assert seen["error"] == ["OSError", 28], seen  # ENOSPC, each file far below RLIMIT_FSIZE
    written = seen["files"] * 100_000
    assert written <= sandbox.disk_quota(BATCH_MB)
    assert written > sandbox.file_size_limit(BATCH_MB)  # many files together beat the file cap
    assert run.runs[2].status == "ok"  # the runner keeps working, in the same kernel
    # Outside: the host's disk did not pay for it (the quota is a tmpfs in the box).
    assert box_batch["disk_lost"] < 64 * 1024 * 1024


@needs_box
def test_one_notebook_cannot_change_anothers_result(box_batch: dict[str, Any]) -> None:
    """THREATS 46: in one batch (a regrade shard) notebooks are as isolated as from the grader."""
    victim = box_batch["runs"]["victim"]
    assert [r.status for r in victim.runs.values()] == ["ok", "ok", "ok"], victim
    assert victim.problems == ()
    seen = got(box_batch["runs"]["attacker"], 1)
    assert seen["own_sockets"] > 0  # the search works: it finds the attacker's own
    assert seen["sockets"] == []
    assert all(_failed(r) for r in seen["roots"]), seen["roots"]
    assert _failed(seen["victim_nb"])
    assert _failed(seen["out"])
    assert list(box_batch["out"].iterdir()) == []
    assert seen["signalable"] == []  # it can name no process but itself, let alone signal one


def test_regrade_shards_hold_no_token() -> None:
    """THREATS 46: the jobs that run student code get no token and no secret."""
    for name in ("grade", "regrade"):
        workflow = yaml.safe_load((REPO / ".github" / "workflows" / f"{name}.yml").read_text())
        job = workflow["jobs"]["shard" if name == "regrade" else "grade"]
        text = json.dumps(job)
        assert "secrets." not in text, name
        assert "github.token" not in text, name
        assert "GITHUB_TOKEN" not in text, name


# --- THREATS 44: messages that are not outputs -----------------------------------

FLOOD = """\
from ipykernel.comm import Comm
state = "x" * 1_000_000
for i in range(300):
    Comm(target_name="jupyter.widget", data={"state": {"value": state, "i": i}})
page = {"source": "page", "data": {"text/plain": "y" * 2_000_000}, "start": 0}
get_ipython().payload_manager.write_payload(page)  # a huge execute reply
"""


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_comm_flood_keeps_the_grader_bounded(tmp_path: Path) -> None:
    """300 widget messages of 1 MB each with a 64 KB budget: the grader keeps none of them."""
    path = notebook(tmp_path / "flood" / "f.ipynb", FLOOD, "after = 1")
    peak, stop = [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_kb())
            time.sleep(0.01)

    baseline = _rss_kb()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        limits = ExecutionLimits(cell_timeout_s=60, memory_mb=2048, max_output_kb=64)
        run = run_notebook(path, {}, limits, base_env=BASE_ENV)
    finally:
        stop.set()
        sampler.join()
    grown_mb = (peak[0] - baseline) / 1024
    assert [r.status for r in run.runs.values()] == ["ok", "ok"], run
    assert any("64 KB" in p for p in run.problems)
    assert grown_mb < 120, f"the grader grew by {grown_mb:.0f} MB"


# --- fail closed, and the laptop fallback ---------------------------------------


def test_ci_without_isolation_refuses_before_running_anything() -> None:
    host = sandbox.Host(root=False, namespaces=False, cgroups=None)
    for env in ({"CI": "true"}, {"GITHUB_ACTIONS": "true"}):
        with pytest.raises(sandbox.IsolationUnavailable, match="refusing to run student"):
            sandbox.require(env, host)


def test_a_laptop_is_warned_once(capsys: pytest.CaptureFixture[str]) -> None:
    host = sandbox.Host(root=False, namespaces=False, cgroups=None)
    saved = list(sandbox._WARNED)
    sandbox._WARNED.clear()
    try:
        sandbox.require({}, host)
        sandbox.require({}, host)
    finally:
        sandbox._WARNED[:] = saved
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "limited isolation" in lines[0]


LAPTOP_PROBE = """\
import os, subprocess
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
out = subprocess.run([SUID], capture_output=True, text=True).stdout
open("ran.txt", "w").write("ran")
assert status["NoNewPrivs"].strip() == "1", status["NoNewPrivs"]
assert "euid=0" not in out, out
"""


@pytest.fixture(scope="module")
def graderuser() -> Iterator[str]:
    """An ordinary user, made for these tests (and removed after)."""
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser"):
        pytest.skip("creating a user for the non-root path needs root, useradd and runuser")
    name = "graderuser"
    created = subprocess.run(["useradd", "-m", name], capture_output=True, check=False)
    if created.returncode not in (0, 9):  # 9: already exists
        pytest.skip(f"useradd failed: {created.stderr!r}")
    yield name
    if created.returncode == 0:
        subprocess.run(["userdel", "-r", name], capture_output=True, check=False)


def _as_user(
    user: str, argv: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run `argv` as `user`, in a mount namespace where the interpreter is reachable.

    The venv's Python may live under a 0700 /root (pyenv); the namespace masks
    /root with a tmpfs and binds the interpreter's prefix back, as the box does.
    """
    prefix = os.path.realpath(sys.base_prefix)
    script = "set -e\n"
    if Path(prefix).is_relative_to("/root"):
        script += (
            "stage=$(mktemp -d)\n"
            'mount --bind "$PREFIX" "$stage"\n'
            "mount -t tmpfs -o mode=0755 tmpfs /root\n"
            'mkdir -p "$PREFIX"\n'
            'mount --move "$stage" "$PREFIX"\n'
            'rmdir "$stage"\n'
        )
    script += 'exec runuser -u "$GUSER" -- env -i "$@"\n'
    pairs = [f"{k}={v}" for k, v in env.items()]
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
    outer = {"PATH": os.environ.get("PATH", os.defpath), "PREFIX": prefix, "GUSER": user}
    return subprocess.run(
        [*command, *pairs, *argv], cwd=cwd, env=outer, capture_output=True, text=True, timeout=120
    )


def _laptop_course(user: str, setuid: Path) -> Path:
    root = Path(tempfile.mkdtemp(prefix="grader-laptop-"))
    (root / "exercises").mkdir()
    (root / "course.yml").write_text("name: Laptop\n")
    (root / "exercises" / "hw.yml").write_text(
        'title: HW\ndeadline: 2030-01-01T00:00:00Z\nexercises:\n  - {id: "1", answer: code}\n'
    )
    source = f"SUID = {str(setuid)!r}\n" + LAPTOP_PROBE
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell("## Exercise 1"), v4.new_code_cell(source)]
    nbformat.write(v4.new_notebook(cells=cells), str(root / "hw.ipynb"))
    shutil.chown(root, user)
    for path in root.rglob("*"):
        shutil.chown(path, user)
    return root


def test_non_root_grader_check_works_and_says_so_once(graderuser: str, setuid_id: Path) -> None:
    """The laptop fallback: graded, one warning line, no_new_privs even without root."""
    course = _laptop_course(graderuser, setuid_id)
    try:
        env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(course)}
        argv = [str(Path(sys.executable).parent / "grader"), "check", "hw.ipynb", "--json"]
        done = _as_user(graderuser, argv, course, env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["results"][0]["status"] == "complete", done.stdout
        warnings = [ln for ln in done.stderr.splitlines() if "limited isolation" in ln]
        assert len(warnings) == 1, done.stderr
        assert (course / "ran.txt").exists() is False  # it ran in a scratch copy
    finally:
        shutil.rmtree(course)


def test_non_root_grader_in_ci_refuses(graderuser: str, setuid_id: Path) -> None:
    """Fail closed: CI=true without isolation runs nothing and exits non-zero, saying why."""
    course = _laptop_course(graderuser, setuid_id)
    try:
        env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "CI": "true"}
        argv = [str(Path(sys.executable).parent / "grader"), "check", "hw.ipynb", "--json"]
        started = time.monotonic()
        done = _as_user(graderuser, argv, course, env)
        assert done.returncode == 2, done.stderr  # a setting to fix, not a bug (exit 3)
        assert "refusing to run student notebooks in CI" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert time.monotonic() - started < 30
    finally:
        shutil.rmtree(course)


# --- cgroups: both layouts (this machine has v1; GitHub's runners have v2) ----


@pytest.mark.parametrize("version", [1, 2])
def test_kernel_cgroups_carry_memory_and_task_limits(tmp_path: Path, version: int) -> None:
    """Written as the kernel's controllers expect, checked on plain folders (no kernel needed)."""
    memory, pids = tmp_path / "memory", tmp_path / "pids"
    memory.mkdir()
    pids.mkdir()
    where = sandbox.Cgroups(version, memory, pids if version == 1 else memory)
    made = sandbox._make_cgroups(where, 123 * 1024 * 1024)
    values = {p.name: p.read_text() for group in made for p in group.iterdir()}
    if version == 2:
        assert len(made) == 1
        assert values == {
            "memory.max": str(123 * 1024 * 1024),
            "memory.swap.max": "0",
            "memory.oom.group": "1",
            "pids.max": str(sandbox.TASK_BUDGET),
        }
    else:
        assert [g.parent for g in made] == [memory, pids]
        assert values == {
            "memory.limit_in_bytes": str(123 * 1024 * 1024),
            "memory.memsw.limit_in_bytes": str(123 * 1024 * 1024),
            "pids.max": str(sandbox.TASK_BUDGET),
        }


@needs_box
def test_each_kernel_is_in_its_own_cgroups_with_the_notebooks_limits(tmp_path: Path) -> None:
    """From inside: the kernel's memory and pids groups; from outside: their limits, then gone."""
    source = (
        "groups = dict(l.strip().split(':', 2)[1:] for l in open('/proc/self/cgroup'))\n"
        "raise RuntimeError('GOT ' + __import__('json').dumps(groups))"
    )
    path = notebook(tmp_path / "cg" / "c.ipynb", source)
    host = sandbox.detect()
    assert host.cgroups is not None
    seen: dict[str, Any] = {}
    original = sandbox._make_cgroups

    def spy(where: sandbox.Cgroups, memory_bytes: int) -> list[Path]:
        made = original(where, memory_bytes)
        seen["made"] = made
        seen["limits"] = {
            p.name: p.read_text().strip()
            for g in made
            for p in g.iterdir()
            if p.name in {"memory.max", "memory.limit_in_bytes", "pids.max"}
        }
        return made

    sandbox._make_cgroups = spy  # type: ignore[assignment]
    try:
        run = run_notebook(path, {}, LIMITS, base_env=BASE_ENV)
    finally:
        sandbox._make_cgroups = original  # type: ignore[assignment]
    groups = got(run, 0)
    names = {g.name for g in seen["made"]}
    assert any(Path(rel).name in names for rel in groups.values()), (groups, names)
    expected = (LIMITS.memory_mb * 1024 * 1024) + sandbox.disk_quota(LIMITS.memory_mb)
    assert str(expected) in seen["limits"].values()
    assert seen["limits"]["pids.max"] == str(sandbox.TASK_BUDGET)
    assert not any(g.exists() for g in seen["made"])  # removed with its notebook


@needs_box
def test_network_true_shares_the_hosts_network_but_nothing_else(tmp_path: Path) -> None:
    """`network: true` drops only the network namespace: the rest of the box stays."""
    listener = Listener()
    try:
        source = attack(f"""
got["listener"] = tried(lambda: socket.create_connection(("127.0.0.1", {listener.port}), timeout=5))
got["uid"] = os.getuid()
got["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
""")
        path = notebook(tmp_path / "net" / "n.ipynb", PRELUDE, source)
        limits = ExecutionLimits(cell_timeout_s=20, memory_mb=512, network=True)
        run = run_notebook(path, {}, limits, base_env=BASE_ENV)
    finally:
        listener.close()
    seen = got(run, 1)
    assert seen["listener"][0] == "ok", seen
    assert listener.connections == 1
    assert seen["uid"] >= sandbox.UID_BASE
    assert os.getpid() not in seen["pids"]


def test_an_interpreter_under_tmp_is_bound_back_into_the_box(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clone and its venv under /tmp (CI may clone there): the box's tmpfs covers /tmp,
    so the interpreter's folders in it are bound back, read-only; outermost ones only."""
    site = tmp_path / "venv" / "lib" / "site-packages"
    (site / "pkg").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [*sys.path, str(site), str(site / "pkg")])
    sandbox._interpreter_paths.cache_clear()  # computed once per process
    try:
        found = sandbox.under_tmp()
    finally:
        sandbox._interpreter_paths.cache_clear()
    assert os.path.realpath(site) in found
    assert os.path.realpath(site / "pkg") not in found  # inside an earlier one
    assert all(p.startswith("/tmp/") for p in found)
