"""Use cases on the local forge without kernels: markers, roster, export (THREATS 10, 13)."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from grader.adapters.ledger import Ledger
from grader.adapters.localforge import LocalForge
from grader.app.command import handle_command
from grader.app.context import Context
from grader.app.submission import handle_submission
from grader.cli.main import main
from grader.core.model import (
    Assignment,
    CourseConfig,
    Evaluation,
    Exercise,
    ExerciseResult,
)

DEADLINE = datetime(2020, 8, 9, 11, 59, tzinfo=UTC)
A1 = Assignment(id="a1", title="One", deadline=DEADLINE, exercises=(Exercise(id="1"),))
PATH = "submissions/alice/a1.ipynb"
DONE = Evaluation(assignment="a1", status="complete", exercises=(ExerciseResult("1", "ok"),))


def context(tmp_path: Path, **course: object) -> tuple[Context, LocalForge]:
    forge = LocalForge(tmp_path / "forge")
    config = CourseConfig(name="T", assignments={"a1": A1}, tas=("tina",), **course)  # type: ignore[arg-type]
    return Context(forge=forge, course=config, ledger=Ledger(forge)), forge


def test_a_students_fake_marker_is_not_the_bots_comment(tmp_path: Path) -> None:
    ctx, forge = context(tmp_path)
    number = forge.open_pull("alice", {PATH: b"{}"})
    fake = forge.post_comment_as("alice", number, "<!-- grader:pr -->\n### ✅ complete")
    handle_submission(ctx, number, {PATH: DONE}, DEADLINE - timedelta(hours=1))
    comments = forge.comments_on(number)
    assert [c.author for c in comments] == ["alice", forge.bot_login]
    assert comments[0] == fake  # untouched
    assert comments[1].body.startswith("<!-- grader:pr")


def test_student_command_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    ctx, forge = context(tmp_path)
    number = forge.open_pull("alice", {PATH: b"{}"})
    late = DEADLINE + timedelta(days=3)
    handle_submission(ctx, number, {PATH: DONE}, late)
    shard = sorted((forge.root / "state").rglob("*.json"))
    before = [p.read_bytes() for p in shard]
    forge.set_permission("bob", "read")
    for who in ("alice", "bob"):
        outcome = handle_command(ctx, number, who, "/grader complete", late)
        assert outcome.message.startswith("refused")
    assert [p.read_bytes() for p in shard] == before
    assert forge.get_pull(number).labels == ("incomplete", "late")
    forge.set_permission("wendy", "write")
    handle_command(ctx, number, "wendy", "/grader complete checked by hand", late)
    assert forge.get_pull(number).labels == ("complete",)


def test_a_student_not_on_the_roster_audits_and_is_graded(tmp_path: Path) -> None:
    """Auditors get feedback like everyone (PROGRAM.md); the roster decides eligibility."""
    ctx, forge = context(tmp_path, roster=("bob",))
    number = forge.open_pull("alice", {PATH: b"{}"})
    outcome = handle_submission(ctx, number, {PATH: DONE}, DEADLINE)
    assert outcome.message == f"graded PR #{number}"
    assert forge.get_pull(number).labels == ("complete",)


def test_out_of_scope_pr_is_rejected_without_a_record(tmp_path: Path) -> None:
    ctx, forge = context(tmp_path)
    number = forge.open_pull("alice", {PATH: b"{}", "submissions/bob/a1.ipynb": b"{}"})
    outcome = handle_submission(ctx, number, {PATH: DONE}, DEADLINE)
    assert outcome.message.startswith("rejected")
    assert not list((forge.root / "state").rglob("*.json"))
    assert forge.get_pull(number).labels == ()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--out", str(out)]) == 0
    return out


DEMO_COURSE = str(Path(__file__).resolve().parents[1] / "grader" / "demo")


@pytest.mark.kernel
def test_export_csv_and_json(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    args = [
        "export",
        "--course",
        DEMO_COURSE,
        "--forge",
        str(demo / "forge"),
        "--now",
        "2020-08-26T00:00:00Z",
    ]
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {(r["student"], r["assignment"]): r for r in data["records"]}
    assert len(rows) == 18
    assert rows[("erin", "week-1")]["override"] is True
    assert rows[("carol", "week-1")]["status"] == "late"
    assert rows[("dave", "week-1")]["status"] == "missing"
    assert rows[("alice", "week-1")]["submitted_at"] == "2020-08-05T12:00:00+00:00"
    eligible = {c["student"] for c in data["certificates"] if c["eligible"]}
    assert eligible == {"alice", "bob", "erin"}
    assert main([*args]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(table) == 18
    assert set(table[0]) == {
        "student",
        "assignment",
        "status",
        "override",
        "submitted_at",
        "pr",
        "deadline",
        "override_by",
        "override_note",
        "override_at",
    }
    erin = next(r for r in table if (r["student"], r["assignment"]) == ("erin", "week-1"))
    assert erin["override_by"]  # who overrode, and why, not only True/False
    assert main([*args, "--certificates"]) == 0
    certs = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [c["student"] for c in certs] == ["alice", "bob", "carol", "dave", "erin", "frank"]


def test_export_needs_a_forge(tmp_path: Path) -> None:
    assert main(["export", "--course", DEMO_COURSE, "--forge", str(tmp_path)]) == 2
