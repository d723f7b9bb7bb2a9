"""The command line, through main([...]): exit codes and the --json shape of CONTRACT section 3."""

import json
from pathlib import Path

import pytest

from grader.cli.main import main
from tests import notebooks as nbf

COURSE_YML = """\
name: CLI test course
execution:
  cell_timeout_s: 5
  notebook_timeout_s: 60
  memory_mb: 1024
"""

HW_YML = """\
title: Homework
deadline: 2030-01-01T23:59:00-12:00
exercises:
  - id: "1"
    answer: code
    test: "assert double(2) == 4"
  - id: notes
    answer: markdown
    min_words: 3
"""


@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "exercises").mkdir()
    (tmp_path / "course.yml").write_text(COURSE_YML)
    (tmp_path / "exercises" / "hw.yml").write_text(HW_YML)
    return tmp_path


def good(path: Path) -> Path:
    return nbf.write(
        path,
        nbf.notebook(
            nbf.markdown("## Exercise 1"),
            nbf.code("def double(x):\n    return 2 * x"),
            nbf.markdown("answer", tags=["exercise-notes"]),
            nbf.markdown("three whole words", tags=["exercise-notes"]),
        ),
    )


def bad(path: Path) -> Path:
    return nbf.write(
        path, nbf.notebook(nbf.code("def double(x):\n    return x", tags=["exercise-1"]))
    )


@pytest.mark.kernel
def test_check_json_shape_and_exit_codes(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok, wrong = good(course / "hw.ipynb"), bad(course / "b" / "hw.ipynb")
    code = main(["check", str(ok), str(wrong), "--course", str(course), "--json", "--jobs", "2"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    first, second = out["results"]
    assert set(out) == {"results"}
    assert set(first) == {"notebook", "assignment", "status", "exercises", "problems"}
    assert first == {
        "notebook": str(ok),
        "assignment": "hw",
        "status": "complete",
        "exercises": [
            {"id": "1", "status": "ok", "detail": ""},
            {"id": "notes", "status": "ok", "detail": ""},
        ],
        "problems": [],
    }
    assert second["status"] == "incomplete"
    assert [e["status"] for e in second["exercises"]] == ["error", "missing"]
    assert "AssertionError" in second["exercises"][0]["detail"]


@pytest.mark.kernel
def test_check_exit_zero_when_all_complete(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(good(course / "hw.ipynb")), "--course", str(course)]) == 0
    assert "complete" in capsys.readouterr().out


@pytest.mark.kernel
def test_unreadable_notebook_is_incomplete_not_an_error(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = course / "hw.ipynb"
    empty.write_bytes(b"")
    assert main(["check", str(empty), "--course", str(course), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["status"] == "incomplete"
    assert result["problems"]


def test_unknown_assignment_is_a_usage_error(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = good(course / "nope.ipynb")
    assert main(["check", str(other), "--course", str(course)]) == 2
    assert "unknown assignment 'nope'" in capsys.readouterr().err


def test_config_error_exits_2_naming_file_and_key(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (course / "exercises" / "hw.yml").write_text(HW_YML.replace("-12:00", ""))
    assert main(["validate", "--course", str(course)]) == 2
    err = capsys.readouterr().err
    assert "exercises/hw.yml" in err
    assert "deadline" in err


def test_validate_ok(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--course", str(course)]) == 0
    assert "1 assignments, 2 exercises" in capsys.readouterr().out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert main(["no-such-command"]) == 2


def test_jobs_must_be_positive(course: Path) -> None:
    assert (
        main(["check", str(good(course / "hw.ipynb")), "--course", str(course), "--jobs", "0"]) == 2
    )


@pytest.mark.kernel
def test_template_is_incomplete_until_answered(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = course / "t" / "hw.ipynb"
    out.parent.mkdir()
    assert main(["template", "hw", "-o", str(out), "--course", str(course)]) == 0
    capsys.readouterr()
    assert main(["check", str(out), "--course", str(course), "--json"]) == 1
    statuses = [e["status"] for e in json.loads(capsys.readouterr().out)["results"][0]["exercises"]]
    assert statuses == ["empty", "empty"]


def test_internal_error_exits_3(course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import grader.cli.check as local

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(local, "load_course", boom)
    assert main(["validate", "--course", str(course)]) == 3


# --- one error path -----------------------------------------------------------------


def test_missing_event_file_in_github_mode_is_a_usage_error(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"GITHUB_REPOSITORY": "d2l/course", "GITHUB_TOKEN": "t", "PATH": "/usr/bin:/bin"}
    assert main(["publish", "--artifact", str(tmp_path), "--course", str(course)], env) == 2
    err = capsys.readouterr().err
    assert "GITHUB_EVENT_PATH" in err
    assert "Traceback" not in err
    assert "bug in the grader" not in err


def test_missing_token_in_github_mode_is_a_usage_error(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--github", "--course", str(course)], {"PATH": "/bin"}) == 2
    err = capsys.readouterr().err
    assert "GITHUB_REPOSITORY" in err
    assert "bug in the grader" not in err


def test_export_into_a_closed_pipe_exits_quietly(course: Path, tmp_path: Path) -> None:
    """`grader export | head -1`: the reader has gone; no traceback, the SIGPIPE status."""
    import os
    import subprocess
    import sys

    from grader.adapters.localforge import LocalForge

    LocalForge(tmp_path / "forge")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "grader.cli.main", "export", "--format", "json"),
                *("--forge", str(tmp_path / "forge"), "--course", str(course)),
                *("--now", "2020-01-01T00:00:00Z"),
            ],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode in (0, 141), done.stderr
    assert "Traceback" not in done.stderr
    assert "BrokenPipe" not in done.stderr
