"""Read the recorded GitHub exchanges of the shared corpus.

PyGithub's ReplayData files hold one HTTP exchange per 11 lines (see the
corpus MANIFEST); the last record of a file may lack its empty separator line.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
GITHUB_API = CORPUS / "github-api"
RECORDINGS = Path(__file__).resolve().parent / "recordings"
RECORD_LINES = 11


@dataclass(frozen=True)
class Exchange:
    protocol: str
    verb: str
    host: str
    port: int | None
    path: str
    request_headers: dict[str, str]
    request_body: Any
    status: int
    response_headers: list[tuple[str, str]]
    response_body: Any


def _json_or_none(text: str) -> Any:
    if text in ("", "None", "null"):
        return None
    return json.loads(text)


def _exchange(lines: list[str]) -> Exchange:
    protocol, verb, host, port, path, req_h, req_b, status, resp_h, resp_b = lines[:10]
    return Exchange(
        protocol=protocol,
        verb=verb,
        host=host,
        port=None if port == "None" else int(port),
        path=path,
        request_headers=ast.literal_eval(req_h),
        request_body=_json_or_none(req_b),
        status=int(status),
        response_headers=ast.literal_eval(resp_h),
        response_body=_json_or_none(resp_b),
    )


def parse_replay(text: str) -> list[Exchange]:
    """Split a ReplayData file into its exchanges; raise ValueError if malformed."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if (len(lines) + 1) % RECORD_LINES:
        raise ValueError(f"{len(lines)} lines is not a whole number of 11-line records")
    records = [lines[i : i + RECORD_LINES] for i in range(0, len(lines), RECORD_LINES)]
    for record in records[:-1]:
        if record[10] != "":
            raise ValueError(f"record for {record[4]!r} lacks its empty separator line")
    return [_exchange(record) for record in records]


def replay_files() -> list[Path]:
    return sorted(GITHUB_API.glob("PyGithub__*.txt"))


@cache
def load_replay(name: str) -> tuple[Exchange, ...]:
    """Exchanges of `PyGithub__<name>.txt`."""
    # The fake server's templates are kept beside it (see recordings/ATTRIBUTION.md),
    # so it works where ../shared is absent; other recordings come from the corpus.
    path = RECORDINGS / f"PyGithub__{name}.txt"
    if not path.exists():
        path = GITHUB_API / f"PyGithub__{name}.txt"
    return tuple(parse_replay(path.read_text(encoding="utf-8")))


def recorded_body(name: str, verb: str, path_suffix: str) -> Any:
    """The response body of the first exchange in `name` matching verb and path suffix."""
    for exchange in load_replay(name):
        if exchange.verb == verb and exchange.path.split("?")[0].endswith(path_suffix):
            return exchange.response_body
    raise KeyError(f"{name}: no {verb} ...{path_suffix}")
