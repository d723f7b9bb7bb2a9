"""Submission scope: THREATS rows 1, 2, 4, 5 and 6, and path tricks."""

from __future__ import annotations

import pytest

from grader.core.model import ChangedFile
from grader.core.scope import check_scope

IDS = ("section-01", "section-03")


def added(path: str, mode: str | None = "100644") -> ChangedFile:
    return ChangedFile(path=path, status="added", mode=mode)


@pytest.mark.parametrize(
    ("files", "notebooks"),
    [
        (
            [added("submissions/alice/section-01.ipynb")],
            [("section-01", "submissions/alice/section-01.ipynb")],
        ),
        # THREATS 5: the folder's case does not matter
        (
            [added("submissions/Alice/section-01.ipynb")],
            [("section-01", "submissions/Alice/section-01.ipynb")],
        ),
        (
            [added("submissions/ALICE/section-03.ipynb")],
            [("section-03", "submissions/ALICE/section-03.ipynb")],
        ),
        (
            [
                added("submissions/alice/section-01.ipynb"),
                added("submissions/alice/section-03.ipynb"),
            ],
            [
                ("section-01", "submissions/alice/section-01.ipynb"),
                ("section-03", "submissions/alice/section-03.ipynb"),
            ],
        ),
        # Jupyter's checkpoints are notebooks too, and not submissions
        ([added("submissions/alice/.ipynb_checkpoints/section-01-checkpoint.ipynb")], []),
        # removals in one's own folder are fine but submit nothing
        ([ChangedFile("submissions/alice/section-01.ipynb", "removed")], []),
        ([ChangedFile("submissions/alice/old.ipynb", "removed")], []),
        ([ChangedFile("submissions/alice/link", "removed", mode="120000")], []),
        # renames inside one's own folder
        (
            [
                ChangedFile(
                    "submissions/alice/section-01.ipynb",
                    "renamed",
                    previous_path="submissions/alice/draft.ipynb",
                )
            ],
            [("section-01", "submissions/alice/section-01.ipynb")],
        ),
        (
            [
                ChangedFile(
                    "submissions/alice/section-03.ipynb",
                    "renamed",
                    previous_path="submissions/Alice/section-03.ipynb",
                )
            ],
            [("section-03", "submissions/alice/section-03.ipynb")],
        ),
        (
            [ChangedFile("submissions/alice/section-01.ipynb", "modified")],
            [("section-01", "submissions/alice/section-01.ipynb")],
        ),
        ([], []),
    ],
)
def test_accepted(files: list[ChangedFile], notebooks: list[tuple[str, str]]) -> None:
    result = check_scope("alice", files, IDS)
    assert result.reasons == ()
    assert result.ok
    assert list(result.notebooks) == notebooks


@pytest.mark.parametrize(
    ("file", "reason"),
    [
        # THREATS 1: workflows
        (added(".github/workflows/grade.yml"), "workflows"),
        (added(".github/workflows/fake-grade.yml"), "workflows"),
        (ChangedFile(".github/workflows/grade.yml", "removed"), "workflows"),
        (ChangedFile(".github/workflows/publish.yml", "modified"), "workflows"),
        (added(".GITHUB/workflows/x.yml"), "workflows"),
        # THREATS 2: grader, exercises, course.yml
        (ChangedFile("grader/core/policy.py", "modified"), "grader's code"),
        (ChangedFile("exercises/section-01.yml", "modified"), "exercise definitions"),
        (ChangedFile("course.yml", "modified"), "course configuration"),
        (ChangedFile("Course.yml", "modified"), "course configuration"),
        (added("Makefile"), "outside your folder"),
        (added("section-01.ipynb"), "move it to submissions/alice/section-01.ipynb"),
        (added("submissions/section-01.ipynb"), "move it to submissions/alice/section-01.ipynb"),
        (added("Submissions/alice/section-01.ipynb"), "move it to submissions/alice/section-01"),
        # THREATS 4: another student's folder, also by rename or removal
        (added("submissions/bob/section-01.ipynb"), "another student's folder (submissions/bob/)"),
        (ChangedFile("submissions/bob/section-01.ipynb", "removed"), "another student's folder"),
        (added("submissions/alice2/section-01.ipynb"), "another student's folder"),
        (added("submissions/alic/section-01.ipynb"), "another student's folder"),
        (
            ChangedFile(
                "submissions/alice/section-01.ipynb",
                "renamed",
                previous_path="submissions/bob/section-01.ipynb",
            ),
            "moved or copied from 'submissions/bob/section-01.ipynb'",
        ),
        (
            ChangedFile(
                "submissions/alice/section-01.ipynb",
                "copied",
                previous_path=".github/workflows/grade.yml",
            ),
            "moved or copied from",
        ),
        # THREATS 5: lookalikes of the login do not pass
        (
            added("submissions/\u0430lice/section-01.ipynb"),
            "another student's folder",
        ),  # Cyrillic a
        (
            added("submissions/\uff41lice/section-01.ipynb"),
            "another student's folder",
        ),  # fullwidth a
        (added("submissions/alice\u200b/section-01.ipynb"), "another student's folder"),
        (added("submissions/alice /section-01.ipynb"), "another student's folder"),
        # THREATS 6: symlinks and submodules
        (added("submissions/alice/section-01.ipynb", mode="120000"), "symbolic link"),
        (added("submissions/alice/data", mode="120000"), "symbolic link"),
        (added("submissions/alice/lib", mode="160000"), "git submodule"),
        (ChangedFile("submissions/alice/x", "modified", mode="160000"), "git submodule"),
        # path tricks
        (added("submissions/alice/../bob/section-01.ipynb"), "'..'"),
        (added("submissions/alice/./section-01.ipynb"), "'..'"),
        (added("submissions//alice/section-01.ipynb"), "empty"),
        (added("submissions/alice/"), "empty"),
        (added("/submissions/alice/section-01.ipynb"), "absolute"),
        (added("submissions\\alice\\section-01.ipynb"), "backslash"),
        (added("submissions/alice\\..\\bob/section-01.ipynb"), "backslash"),
        (added("submissions/alice/a\nb.ipynb"), "control characters"),
        (added(""), "empty"),
        # notebook names
        (added("submissions/alice/section-02.ipynb"), "'section-02' is not an assignment"),
        (added("submissions/alice/homework.ipynb"), "name the notebook after one of: section-01"),
        (added("submissions/alice/Section-01.ipynb"), "rename it to section-01.ipynb"),
        (added("submissions/alice/section-01.IPYNB"), "rename it to section-01.ipynb"),
        (added("submissions/alice/week1/section-01.ipynb"), "directly in submissions/alice/"),
        (
            added("submissions/alice/section-0\u0661.ipynb"),
            "not an assignment",
        ),
    ],
)
def test_rejected(file: ChangedFile, reason: str) -> None:
    good = added("submissions/alice/section-01.ipynb")
    files = [file] if file.path == good.path else [good, file]
    result = check_scope("alice", files, IDS)
    assert not result.ok
    assert result.notebooks == ()
    assert any(reason in r for r in result.reasons), result.reasons


def test_every_problem_is_reported() -> None:
    files = [
        added(".github/workflows/grade.yml"),
        added("submissions/bob/section-01.ipynb"),
        added("submissions/alice/section-09.ipynb"),
    ]
    reasons = check_scope("alice", files, IDS).reasons
    assert len(reasons) == 3
    assert all("submissions/alice/" in r or "section-09" in r for r in reasons)


def test_two_notebooks_for_one_assignment() -> None:
    files = [
        added("submissions/alice/section-01.ipynb"),
        added("submissions/Alice/section-01.ipynb"),
    ]
    reasons = check_scope("alice", files, IDS).reasons
    assert reasons == (
        "2 notebooks for section-01: submissions/alice/section-01.ipynb, "
        "submissions/Alice/section-01.ipynb; keep one.",
    )


def test_author_login_compared_case_insensitively() -> None:
    result = check_scope("Alice", [added("submissions/alice/section-01.ipynb")], IDS)
    assert result.notebooks == (("section-01", "submissions/alice/section-01.ipynb"),)


@pytest.mark.parametrize("author", ["dependabot[bot]", "", "-x", "a" * 40, "\u0430lice"])
def test_author_must_be_a_login(author: str) -> None:
    result = check_scope(author, [added(f"submissions/{author}/section-01.ipynb")], IDS)
    assert "not a GitHub user login" in result.reasons[0]


def test_reasons_are_capped() -> None:
    files = [added(f"submissions/bob/{i}.txt") for i in range(100)]
    reasons = check_scope("alice", files, IDS).reasons
    assert len(reasons) == 31
    assert reasons[-1] == "... and 70 more problems like these."


def test_no_assignments_yet() -> None:
    reasons = check_scope("alice", [added("submissions/alice/section-01.ipynb")], ()).reasons
    assert "this course has no assignments yet" in reasons[0]


def test_accepts_a_mapping_of_assignments() -> None:
    ids = {"section-01": object()}
    result = check_scope("alice", [added("submissions/alice/section-01.ipynb")], ids)
    assert result.notebooks == (("section-01", "submissions/alice/section-01.ipynb"),)


# --- THREATS 40: only the files the course allows ------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "submissions/alice/data.txt",
        "submissions/alice/weights.pkl",
        "submissions/alice/x.npy",
        "submissions/alice/model.pt",
        "submissions/alice/helpers.py",
        "submissions/alice/data/train.csv",
        "submissions/alice/README.md",
    ],
)
def test_files_beside_a_notebook_are_out_of_scope_by_default(path: str) -> None:
    files = [added("submissions/alice/section-01.ipynb"), added(path)]
    result = check_scope("alice", files, IDS)
    assert result.notebooks == ()
    assert [r for r in result.reasons if r.startswith(f"{path}: only notebooks")], result.reasons


def test_files_the_course_allows_are_in_scope() -> None:
    files = [
        added("submissions/alice/section-01.ipynb"),
        added("submissions/alice/data/train.csv"),
        added("submissions/alice/notes.md"),
    ]
    result = check_scope("alice", files, IDS, allowed=("*.ipynb", "data/*.csv", "*.md"))
    assert result.reasons == ()
    assert result.notebooks == (("section-01", "submissions/alice/section-01.ipynb"),)
    pickle = [*files, added("submissions/alice/data/x.pkl")]
    found = check_scope("alice", pickle, IDS, allowed=("*.ipynb", "data/*.csv", "*.md"))
    assert found.reasons == (
        "submissions/alice/data/x.pkl: only files matching `*.ipynb`, `data/*.csv`, `*.md` may "
        "be in submissions/alice/; remove this file from the pull request (a notebook must not "
        "need files beside it).",
    )


def test_removing_a_file_the_course_does_not_allow_is_fine() -> None:
    result = check_scope("alice", [ChangedFile("submissions/alice/x.pkl", "removed")], IDS)
    assert result.ok
