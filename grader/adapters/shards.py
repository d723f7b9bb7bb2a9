"""Regrade shard files: written by unprivileged shard jobs, read by the trusted merge.

The merging job treats every file here as untrusted data: plain files of sane
size, a strict schema, logins and shas that look like logins and shas. Whether
a result belongs to a real submission is checked afterwards, against the
committed notebook (`grader.app.regrade.verified_results`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.adapters.artifact import EvidenceInvalid
from grader.core.codec import decode_evaluation, encode_evaluation, loads_json
from grader.core.regrade import Graded, ShardResult, Target

RESULT = "regrade.json"
SCHEMA = 1
MAX_BYTES = 20_000_000
SHA_RE = re.compile(r"^[0-9a-f]{4,64}$")
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,38}$")


def write_shard(out: Path, assignment: str, graded: Sequence[Graded]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "schema": SCHEMA,
        "assignment": assignment,
        "results": [
            {
                "student": g.target.student,
                "sha": g.target.sha,
                "evaluation": encode_evaluation(g.evaluation),
                "cells": list(g.cells),
            }
            for g in graded
        ],
    }
    (out / RESULT).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _result(item: Any, where: str) -> ShardResult:
    if not isinstance(item, dict) or set(item) != {"student", "sha", "evaluation", "cells"}:
        raise EvidenceInvalid(f"{where}: expected exactly student, sha, evaluation, cells")
    student, sha, cells = item["student"], item["sha"], item["cells"]
    if not isinstance(student, str) or not LOGIN_RE.match(student):
        raise EvidenceInvalid(f"{where}.student: not a login")
    if not isinstance(sha, str) or not SHA_RE.match(sha):
        raise EvidenceInvalid(f"{where}.sha: not a commit sha")
    if not isinstance(cells, list) or not all(isinstance(c, str) and len(c) == 64 for c in cells):
        raise EvidenceInvalid(f"{where}.cells: expected sha256 digests")
    try:
        evaluation = decode_evaluation(item["evaluation"], f"{where}.evaluation")
    except ValueError as exc:
        raise EvidenceInvalid(str(exc)) from None
    return ShardResult(student, sha, evaluation, tuple(cells))


def read_shards(folder: Path, assignment: str) -> list[ShardResult]:
    """Every result in every shard file under `folder`, strictly validated."""
    found = []
    for path in sorted(folder.rglob(RESULT)):
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
            raise EvidenceInvalid(f"{path}: not a plain shard result file of sane size")
        try:
            data = loads_json(path.read_bytes())
        except ValueError as exc:  # deep nesting included (THREATS 45)
            raise EvidenceInvalid(f"{path}: not valid JSON: {exc}") from None
        if (
            not isinstance(data, dict)
            or data.get("schema") != SCHEMA
            or data.get("assignment") != assignment
        ):
            raise EvidenceInvalid(f"{path}: not a schema {SCHEMA} result for {assignment}")
        items = data.get("results")
        if not isinstance(items, list):
            raise EvidenceInvalid(f"{path}: results must be a list")
        found += [_result(item, f"{path.name}: results[{i}]") for i, item in enumerate(items)]
    return found


# --- a shard's inputs: what the fetch job read from GitHub, for shards without a token ---

INPUTS = "targets.json"
MAX_INPUT_BYTES = 64 * 1024 * 1024


def write_inputs(folder: Path, assignment: str, items: Sequence[tuple[Target, bytes]]) -> None:
    """The targets and each target's committed notebook, for `--inputs` shards."""
    (folder / "notebooks").mkdir(parents=True, exist_ok=True)
    entries = []
    for i, (target, content) in enumerate(items):
        (folder / "notebooks" / f"{i:05d}.ipynb").write_bytes(content)
        entries.append({"student": target.student, "sha": target.sha, "pr": target.pr})
    data = {"schema": SCHEMA, "assignment": assignment, "targets": entries}
    (folder / INPUTS).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def read_inputs(folder: Path, assignment: str) -> list[tuple[Target, bytes]]:
    """What `write_inputs` wrote, strictly validated (it crossed an artifact)."""
    path = folder / INPUTS
    if path.is_symlink() or not path.is_file():
        raise EvidenceInvalid(f"{path}: no regrade inputs here (run the fetch job first)")
    try:
        data = loads_json(path.read_bytes())
    except ValueError as exc:
        raise EvidenceInvalid(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("assignment") != assignment:
        raise EvidenceInvalid(f"{path}: not the inputs of a regrade of {assignment}")
    entries = data.get("targets")
    if not isinstance(entries, list):
        raise EvidenceInvalid(f"{path}: targets must be a list")
    return [_input(folder, i, entry) for i, entry in enumerate(entries)]


def _input(folder: Path, i: int, entry: Any) -> tuple[Target, bytes]:
    where = f"{INPUTS}: targets[{i}]"
    if not isinstance(entry, dict) or set(entry) != {"student", "sha", "pr"}:
        raise EvidenceInvalid(f"{where}: expected exactly student, sha, pr")
    student, sha, pr = entry["student"], entry["sha"], entry["pr"]
    if not isinstance(student, str) or not LOGIN_RE.match(student):
        raise EvidenceInvalid(f"{where}.student: not a login")
    if not isinstance(sha, str) or not SHA_RE.match(sha):
        raise EvidenceInvalid(f"{where}.sha: not a commit sha")
    if not isinstance(pr, int) or isinstance(pr, bool):
        raise EvidenceInvalid(f"{where}.pr: not a number")
    notebook = folder / "notebooks" / f"{i:05d}.ipynb"
    if notebook.is_symlink() or not notebook.is_file() or notebook.stat().st_size > MAX_INPUT_BYTES:
        raise EvidenceInvalid(f"{where}: its notebook is missing or not a plain file")
    return Target(student, sha, pr), notebook.read_bytes()
