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
from grader.core.regrade import Graded, ShardResult

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
