"""`grader similarity`, `grader certificates` and `grader verify` through the CLI,
on a local forge whose ledger is written directly (no kernels needed)."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from grader.adapters.ledger import Ledger
from grader.adapters.localforge import LocalForge
from grader.cli.main import main
from grader.core.history import add_project, append_event, append_standing, record_submission
from grader.core.model import Disqualified, Evaluation, Override, ProjectPresented, Submission
from tests import notebooks as nbf
from tests.factories import DEADLINE

COURSE = "name: Docs course\ncertificate:\n  min_complete_fraction: 1\n"
HW = 'title: Homework\ndeadline: 2020-08-08T23:59:00-12:00\nexercises:\n  - id: "1"\n'
COPIED = "def train(net, data, epochs):\n    for e in range(epochs):\n        loss = step(net, data)\n        log(e, loss)\n    return net\n"  # noqa: E501


def notebook(code: str) -> bytes:
    nb = nbf.notebook(nbf.markdown("## Exercise 1"), nbf.code(code))
    return json.dumps(nb).encode()


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    course = tmp_path / "course"
    (course / "exercises").mkdir(parents=True)
    (course / "course.yml").write_text(COURSE)
    (course / "exercises" / "hw.yml").write_text(HW)
    forge = LocalForge(tmp_path / "forge")
    ledger = Ledger(forge)
    answers = {
        "alice": COPIED,
        "bob": COPIED.replace("net", "model").replace("epochs", "n").replace("loss", "l"),
        "carol": "import math\nprint(math.sqrt(2) * sum(i * i for i in range(10)))\n",
    }
    for login, code in answers.items():
        path = f"submissions/{login}/hw.ipynb"
        number = forge.open_pull(login, {path: notebook(code)})
        sha = forge.get_pull(number).head_sha
        done = Evaluation(assignment="hw", status="complete")
        event = Submission(at=DEADLINE - timedelta(hours=1), sha=sha, pr=number, evaluation=done)
        ledger.update(login, partial(record_submission, assignment="hw", submission=event))
    project = ProjectPresented(at=DEADLINE, by="tina")
    ledger.update("alice", partial(add_project, event=project))
    return course, tmp_path / "forge"


def test_similarity_lists_the_copied_pair_first(
    world: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course, forge = world
    out = tmp_path / "report.html"
    argv = ["similarity", "hw", "--forge", str(forge), "--course", str(course), "--json"]
    assert main([*argv, "--out", str(out)]) == 0
    pairs = json.loads(capsys.readouterr().out)["pairs"]
    assert [(p["a"], p["b"]) for p in pairs][:1] == [("alice", "bob")]
    assert all(0 <= p["score"] <= 1 for p in pairs)
    assert "carol" not in {p["a"] for p in pairs} | {p["b"] for p in pairs}
    assert "<html" in out.read_text().lower()


def test_similarity_on_an_unknown_assignment_is_a_usage_error(
    world: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    course, forge = world
    assert main(["similarity", "nope", "--forge", str(forge), "--course", str(course)]) == 2
    assert "unknown assignment 'nope'" in capsys.readouterr().err


def test_certificates_and_verify(
    world: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course, forge = world
    where = ["--forge", str(forge), "--course", str(course)]
    assert main(["certificates", "--out", str(tmp_path / "certs"), *where]) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(printed[0]).name] == [p.name for p in (tmp_path / "certs").iterdir()]
    assert Path(printed[0]).name == "alice.pdf"  # bob and carol presented no project
    code = printed[1]
    assert main(["verify", code, *where]) == 0
    altered = code[:-2] + ("0" if code[-2] != "0" else "1") + code[-1]
    assert main(["verify", altered, *where]) == 2
    assert main(["verify", "GRDR-nonsense", *where]) == 2
    # A TA overrides alice's only assignment to incomplete: the certificate no longer holds.
    override = Override(at=DEADLINE + timedelta(days=3), status="incomplete", by="tina", note="x")
    Ledger(LocalForge(forge)).update(
        "alice", partial(append_event, assignment="hw", event=override)
    )
    assert main(["verify", code, *where]) == 1


def test_a_disqualified_student_gets_no_certificate_and_theirs_stops_holding(
    world: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course, forge = world
    where = ["--forge", str(forge), "--course", str(course)]
    assert main(["certificates", "--out", str(tmp_path / "before"), *where]) == 0
    code = capsys.readouterr().out.split()[1]
    event = Disqualified(at=DEADLINE + timedelta(days=5), by="tina")
    Ledger(LocalForge(forge)).update("alice", partial(append_standing, event=event))
    assert main(["verify", code, *where]) == 1
    assert main(["certificates", "--out", str(tmp_path / "after"), *where]) == 0
    assert not list((tmp_path / "after").glob("*.pdf"))
