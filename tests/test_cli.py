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


# --- tables at 80 columns -------------------------------------------------------------

REAL_COURSE = Path(__file__).resolve().parents[1]


def test_simulate_records_of_the_real_course_fit_80_columns(tmp_path: Path) -> None:
    """17 assignments cannot have a column each at 80 columns; each student gets one row."""
    import os
    import subprocess
    import sys

    scenario = tmp_path / "scenario.yml"
    scenario.write_text(
        "now: 2020-09-01T00:00:00Z\nroster: [alice, a-rather-long-login-of-39-characters-x]\n"
        "tas: [tina]\nevents:\n"
        "  - at: 2020-08-10T12:00:00Z\n"
        "    comment: {author: tina, student: alice, assignment: section-01,\n"
        '              body: "/grader complete"}\n'
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader.cli.main",
            "simulate",
            str(scenario),
            "--course",
            str(REAL_COURSE),
        ],
        env={**os.environ, "COLUMNS": "80"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, done.stdout
    [alice] = [line for line in lines if "│ alice " in line]
    # section-01 set by a TA (lower case), 02 missing, 03-17 still open on 2020-09-01.
    assert "1/17" in alice
    assert "cM... ..... ..... .." in alice
    assert any("a-rather-long-login-of-39-characters-x" in line for line in lines)
    assert "marks: section-01 to section-17, in groups of 5" in done.stdout


def test_regrade_changes_fit_80_columns() -> None:
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from grader.cli import console

    out = Console(width=80, file=io.StringIO(), highlight=False)
    change = SimpleNamespace(
        student="a-rather-long-login-of-39-characters-x",
        before=SimpleNamespace(status="incomplete"),
        after=SimpleNamespace(status="complete"),
    )
    console.print_changes("section-17", 300, [change] * 3, out)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert text.splitlines()[0] == "section-17: 3 record(s) change status (300 regraded)"
    assert max(len(line) for line in text.splitlines()) <= 80
    assert text.count("a-rather-long-login-of-39-characters-x") == 3


# --- check: a path that is not a notebook file is a usage error -------------------------


def test_check_of_a_missing_path_exits_2_naming_it(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = course / "submissions" / "octocat" / "hw.ipynb"
    assert (
        main(["check", str(good(course / "hw.ipynb")), str(missing), "--course", str(course)]) == 2
    )
    err = capsys.readouterr().err
    assert f"{missing}: no such file" in err
    assert "Commit it again" not in err


def test_check_of_a_folder_exits_2_naming_it(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(course / "exercises"), "--course", str(course)]) == 2
    assert f"{course / 'exercises'}: not a file" in capsys.readouterr().err


def test_check_of_an_unopenable_file_exits_2_naming_it(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    locked = good(course / "hw.ipynb")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root: a file with mode 000 can still be opened")
        assert main(["check", str(locked), "--course", str(course)]) == 2
        assert f"{locked}: cannot be opened (Permission denied)" in capsys.readouterr().err
    finally:
        locked.chmod(0o644)


# --- simulate's log says what happened ---------------------------------------------------


@pytest.mark.kernel
def test_simulate_log_says_what_a_ta_command_did(
    course: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good(course / "nb" / "hw.ipynb")
    scenario = course / "scenario.yml"
    scenario.write_text(
        "tas: [tina]\nevents:\n"
        "  - at: 2030-01-05T10:00:00Z\n"
        "    submit: {student: alice, assignment: hw, notebook: nb/hw.ipynb}\n"
        "  - at: 2030-01-05T11:00:00Z\n"
        '    comment: {author: tina, student: alice, assignment: hw, body: "/grader extend 2d"}\n'
        "  - at: 2030-01-05T12:00:00Z\n"
        '    comment: {author: tina, student: alice, assignment: hw, body: "/grader complete"}\n'
    )
    assert main(["simulate", str(scenario), "--course", str(course)]) == 0
    log = capsys.readouterr().err.splitlines()
    assert [line.split(" ", 1)[0] for line in log] == [
        "2030-01-05T10:00:00+00:00",
        "2030-01-05T11:00:00+00:00",
        "2030-01-05T12:00:00+00:00",
    ]
    assert "extend on PR #1" in log[1]
    assert "complete on PR #1" in log[2]
    assert not any("Cmd" in line for line in log), log  # words, not class names


def test_the_check_table_prints_student_text_as_it_is() -> None:
    """`[x]` in a detail is not rich markup: `torch.tensor([x])` must not lose its brackets."""
    import io

    from rich.console import Console

    from grader.cli.console import print_check_table
    from grader.core.model import Evaluation, ExerciseResult

    detail = "NameError: torch.tensor([x]) [red]fake[/red]"
    evaluation = Evaluation(
        assignment="hw",
        status="incomplete",
        exercises=(ExerciseResult(id="1", status="error", detail=detail),),
        problems=("a [bold]problem[/bold]",),
    )
    out = io.StringIO()
    print_check_table([Path("hw.ipynb")], [evaluation], Console(file=out, width=200))
    text = out.getvalue()
    assert "torch.tensor([x])" in text
    assert "[red]fake[/red]" in text
    assert "[bold]problem[/bold]" in text
