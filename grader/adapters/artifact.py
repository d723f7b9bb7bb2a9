"""The grade run's artifact: written by the unprivileged job, read by publish.

Publish treats everything here as untrusted data from student code's
neighbourhood: the folder may hold only `result.json`, every size is capped,
the schema is strict, and no path may leave the folder or be a link.
"""

from __future__ import annotations

import json
import re
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.adapters.runner import read_cells
from grader.core.codec import check_depth, decode_evaluation, encode_evaluation, loads_json
from grader.core.evidence import Evidence, GradedNotebook
from grader.core.model import Cell

SCHEMA = 1
RESULT = "result.json"
MAX_RESULT_BYTES = 2_000_000
MAX_FILES = 4
MAX_NOTEBOOKS = 50
MAX_CELLS = 5_000
PATH_RE = re.compile(r"^submissions/[A-Za-z0-9-]{1,39}/[a-z0-9][a-z0-9-]{0,48}\.ipynb$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class EvidenceInvalid(Exception):
    """The artifact cannot be trusted as evidence; the message says why."""


class ArtifactMissing(EvidenceInvalid):
    """There is no artifact at all: the grade run left nothing (cancelled, timed out...)."""


def write_result(out: Path, notebooks: Sequence[GradedNotebook], summary: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "schema": SCHEMA,
        "notebooks": [
            {
                "path": n.path,
                "evaluation": encode_evaluation(n.evaluation),
                "cells": list(n.cell_hashes),
            }
            for n in notebooks
        ],
    }
    (out / RESULT).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    (out / "summary.md").write_text(summary, encoding="utf-8")


def _check_folder(folder: Path) -> Path:
    if not folder.is_dir() or folder.is_symlink():
        raise ArtifactMissing(
            "the grading artifact is missing (the grade run may have been cancelled, "
            "timed out or be awaiting approval)"
        )
    entries = list(folder.iterdir())
    if len(entries) > MAX_FILES:
        raise EvidenceInvalid(
            f"the artifact holds {len(entries)} entries; at most {MAX_FILES} are expected"
        )
    for entry in entries:
        mode = entry.lstat().st_mode
        if not stat.S_ISREG(mode):
            raise EvidenceInvalid(f"the artifact entry {entry.name!r} is not a plain file")
        if entry.name not in (RESULT, "summary.md"):
            raise EvidenceInvalid(f"unexpected file {entry.name!r} in the artifact")
    result = folder / RESULT
    if not result.exists():
        raise EvidenceInvalid("the artifact has no result.json")
    if result.lstat().st_size > MAX_RESULT_BYTES:
        raise EvidenceInvalid("result.json is larger than any real grading result")
    return result


def _notebook(item: Any, where: str) -> GradedNotebook:
    if not isinstance(item, dict) or set(item) != {"path", "evaluation", "cells"}:
        raise EvidenceInvalid(f"{where}: expected exactly the keys path, evaluation, cells")
    path, cells = item["path"], item["cells"]
    if not isinstance(path, str) or not PATH_RE.match(path):
        raise EvidenceInvalid(f"{where}.path: not a submission notebook path")
    if not isinstance(cells, list) or len(cells) > MAX_CELLS:
        raise EvidenceInvalid(f"{where}.cells: expected a list of at most {MAX_CELLS} hashes")
    if not all(isinstance(h, str) and SHA256_RE.match(h) for h in cells):
        raise EvidenceInvalid(f"{where}.cells: every entry must be a sha256 hex digest")
    try:
        evaluation = decode_evaluation(item["evaluation"])
    except ValueError as exc:
        raise EvidenceInvalid(f"{where}.evaluation: {exc}") from None
    return GradedNotebook(path=path, evaluation=evaluation, cell_hashes=tuple(cells))


def read_result(folder: Path) -> list[GradedNotebook]:
    """Load and strictly validate an artifact folder; raises EvidenceInvalid."""
    result = _check_folder(folder)
    try:
        data = loads_json(result.read_bytes())
    except ValueError as exc:  # UnicodeDecodeError and deep nesting (THREATS 45) included
        raise EvidenceInvalid(f"result.json is not valid JSON: {exc}") from None
    if (
        not isinstance(data, dict)
        or set(data) != {"schema", "notebooks"}
        or data["schema"] != SCHEMA
    ):
        raise EvidenceInvalid(f"result.json does not follow schema {SCHEMA}")
    items = data["notebooks"]
    if not isinstance(items, list) or len(items) > MAX_NOTEBOOKS:
        raise EvidenceInvalid(f"result.json: expected a list of at most {MAX_NOTEBOOKS} notebooks")
    notebooks = [_notebook(item, f"notebooks[{i}]") for i, item in enumerate(items)]
    if len({n.path for n in notebooks}) != len(notebooks):
        raise EvidenceInvalid("result.json lists a notebook twice")
    return notebooks


def load_evidence(folder: Path) -> Evidence:
    """The artifact folder as an Evidence value: graded, invalid or missing."""
    try:
        return Evidence.graded(read_result(folder))
    except ArtifactMissing as exc:
        return Evidence.missing(str(exc))
    except EvidenceInvalid as exc:
        return Evidence.invalid(str(exc))


def read_committed_cells(data: bytes) -> list[Cell] | None:
    """The committed notebook's cells, parsed exactly as the runner parsed them.

    None when it cannot be read, deep nesting included (THREATS 45).
    """
    try:
        check_depth(data)
    except ValueError:
        return None
    with tempfile.TemporaryDirectory(prefix="grader-committed-") as tmp:
        path = Path(tmp) / "committed.ipynb"
        path.write_bytes(data)
        cells, problems = read_cells(path)
    return None if problems else list(cells)
