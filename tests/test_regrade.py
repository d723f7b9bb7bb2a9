"""`grader regrade` on the demo data.

A dry run lists exactly the changed records, --apply makes them so, a second dry
run lists none; shards merge to the same result; tampered shards don't count.
"""

import json
import shutil
from pathlib import Path

import pytest

from grader.cli.main import main

pytestmark = pytest.mark.kernel

DEMO = Path(__file__).resolve().parents[1] / "grader" / "demo"
NOW = "2020-08-26T00:00:00Z"
# The maintainer relaxes week-2's test: the gradient only needs the right sign now.
RELAXED = """\
title: Linear regression, the gradient by hand
deadline: 2020-08-15T23:59:00-12:00
exercises:
  - id: backward
    answer: code
    test: |
      assert backward(w=2.0, x=3.0, y=1.0) > 0
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(root / "out")]) == 0
    return root


@pytest.fixture
def world(demo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy of the demo's forge and a course with the relaxed week-2 test."""
    forge = Path(shutil.copytree(demo / "out" / "forge", tmp_path / "forge"))
    course = Path(shutil.copytree(DEMO, tmp_path / "course"))
    (course / "exercises" / "week-2.yml").write_text(RELAXED)
    return course, forge


def regrade(course: Path, forge: Path, *extra: str) -> int:
    return main(
        ["regrade", "week-2", "--course", str(course), "--forge", str(forge), "--now", NOW, *extra]
    )


def labels(forge: Path) -> dict[str, list[str]]:
    found = {}
    for path in (forge / "pulls").glob("*.json"):
        data = json.loads(path.read_text())
        if any("week-2" in p for p in data["tree"]):
            found[data["author"]] = data["labels"]
    return found


def test_dry_run_apply_and_second_dry_run(
    world: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    course, forge = world
    before = {p.name: p.read_bytes() for p in (forge / "state" / "records").iterdir()}
    assert regrade(course, forge) == 0
    out = capsys.readouterr().out
    assert "2 record(s) change status" in out
    changed = {line.split("│")[1].strip() for line in out.splitlines() if line.count("│") == 4}
    assert changed == {"dave", "frank"}  # exactly the changed records, nobody else
    assert "Dry run" in out
    assert {p.name: p.read_bytes() for p in (forge / "state" / "records").iterdir()} == before
    assert labels(forge)["dave"] == ["incomplete"]

    assert regrade(course, forge, "--apply") == 0
    assert "applied new evaluations for 2 student(s)" in capsys.readouterr().out
    assert labels(forge)["dave"] == ["complete"]
    assert labels(forge)["frank"] == ["complete"]

    assert regrade(course, forge) == 0
    assert "no record changes status" in capsys.readouterr().out


def test_unchanged_course_changes_nothing(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forge = Path(shutil.copytree(demo / "out" / "forge", tmp_path / "forge"))
    assert regrade(DEMO, forge, "--apply") == 0
    assert "no record changes status" in capsys.readouterr().out


def test_shards_merge_to_the_same_result(
    world: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course, forge = world
    shards = tmp_path / "shards"
    for i in (1, 2, 3):
        assert (
            regrade(course, forge, "--shard", f"{i}/3", "--out", str(shards / f"regrade-shard-{i}"))
            == 0
        )
    counts = [
        len(json.loads((shards / f"regrade-shard-{i}" / "regrade.json").read_text())["results"])
        for i in (1, 2, 3)
    ]
    assert sum(counts) == 7  # every submitted week-2 commit, each in exactly one shard
    capsys.readouterr()
    assert regrade(course, forge, "--merge", str(shards), "--apply") == 0
    assert "2 record(s) change status" in capsys.readouterr().out
    assert labels(forge)["dave"] == ["complete"]


def test_tampered_shard_result_is_ignored(
    world: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course, forge = world
    out = tmp_path / "shards" / "one"
    assert regrade(course, forge, "--shard", "1/1", "--out", str(out)) == 0
    data = json.loads((out / "regrade.json").read_text())
    for item in data["results"]:
        item["cells"] = [
            "0" * 64 for _ in item["cells"]
        ]  # "executed" cells that were never committed
    (out / "regrade.json").write_text(json.dumps(data))
    capsys.readouterr()
    assert regrade(course, forge, "--merge", str(tmp_path / "shards"), "--apply") == 0
    captured = capsys.readouterr()
    assert "executed cells differ from the committed notebook" in captured.err
    assert "no record changes status" in captured.out
    assert labels(forge)["dave"] == ["incomplete"]


def test_malformed_shard_is_a_usage_error(world: tuple[Path, Path], tmp_path: Path) -> None:
    course, forge = world
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "regrade.json").write_text(
        '{"schema": 1, "assignment": "week-2", "results": [{"student": "../x"}]}'
    )
    assert regrade(course, forge, "--merge", str(tmp_path / "s")) == 2


def test_shard_argument_checks(world: tuple[Path, Path]) -> None:
    course, forge = world
    assert regrade(course, forge, "--shard", "4/3", "--out", "x") == 2
    assert regrade(course, forge, "--shard", "1/3") == 2
    assert main(["regrade", "nope", "--course", str(course), "--forge", str(forge)]) == 2


STRICTER = RELAXED.replace("> 0", "== 12345.0")  # a check no submission passes


def test_a_regrade_never_takes_a_complete_away_by_itself(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forge = Path(shutil.copytree(demo / "out" / "forge", tmp_path / "forge"))
    course = Path(shutil.copytree(DEMO, tmp_path / "course"))
    (course / "exercises" / "week-2.yml").write_text(STRICTER)
    complete = {s for s, found in labels(forge).items() if found == ["complete"]}
    assert complete  # the demo has completes to lose
    shards = tmp_path / "shards"
    assert regrade(course, forge, "--shard", "1/1", "--out", str(shards / "one")) == 0
    capsys.readouterr()

    # Dry run and apply report the same set: nothing improves, the downgrades are kept.
    for extra in ((), ("--apply",)):
        assert regrade(course, forge, "--merge", str(shards), *extra) == 0
        captured = capsys.readouterr()
        assert "no record changes status" in captured.out
        assert f"{len(complete)} record(s) would get worse and keep their status" in captured.err
    assert {s for s, found in labels(forge).items() if found == ["complete"]} == complete

    # Asked for explicitly: applied, warned, and each student told on their PR.
    assert regrade(course, forge, "--merge", str(shards), "--apply", "--allow-downgrade") == 0
    captured = capsys.readouterr()
    assert f"{len(complete)} record(s) change status" in captured.out
    assert "--allow-downgrade" in captured.err
    assert all(labels(forge)[s] == ["incomplete"] for s in complete)
    told = [
        json.loads(p.read_text())
        for p in (forge / "comments").glob("*.json")
        if "was regraded, and your record changed" in p.read_text()
    ]
    assert len(told) == len(complete)


def test_shards_without_a_token_grade_what_the_fetch_job_read(
    world: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """regrade.yml: a fetch job (with the token, no student code) reads the targets and
    their notebooks; shard jobs (student code, no token) grade them from that folder."""
    course, forge = world
    inputs = tmp_path / "inputs"
    assert regrade(course, forge, "--fetch", str(inputs)) == 0
    shards = tmp_path / "shards"
    for i in (1, 2):
        argv = [
            "regrade", "week-2", "--course", str(course), "--inputs", str(inputs),
            "--shard", f"{i}/2", "--out", str(shards / f"regrade-shard-{i}"),
        ]  # fmt: skip
        assert main(argv) == 0  # no --forge, no GitHub: nothing but the folder
    capsys.readouterr()
    assert regrade(course, forge, "--merge", str(shards), "--apply") == 0
    assert "2 record(s) change status" in capsys.readouterr().out
    assert labels(forge)["dave"] == ["complete"]


def test_tampered_inputs_are_refused(world: tuple[Path, Path], tmp_path: Path) -> None:
    course, forge = world
    inputs = tmp_path / "inputs"
    assert regrade(course, forge, "--fetch", str(inputs)) == 0
    data = json.loads((inputs / "targets.json").read_text())
    data["targets"][0]["student"] = "../../etc"
    (inputs / "targets.json").write_text(json.dumps(data))
    argv = ["regrade", "week-2", "--course", str(course), "--inputs", str(inputs)]
    assert main([*argv, "--shard", "1/1", "--out", str(tmp_path / "o")]) == 2
