"""Every HTTP exchange the fake servers answer during a test session, as JSON lines.

The conformance check (`conformance.py`) reads them back and holds each one
against GitHub's OpenAPI description. One line per exchange:

    {"method": "PUT", "path": "/repos/d2l/study-group/contents/x", "query": [["ref", "main"]],
     "request": {...} | null, "status": 201, "response": {...} | null, "test": "tests/...::name"}

`path` is below the API prefix, as GitHub's description writes it. Archive
downloads (the codeload stand-in) are not API requests and are not recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

ENV = "FAKEGITHUB_RECORDING"  # where to append; unset: nothing is recorded


class Recorder:
    """Appends exchanges to one JSONL file; thread-safe (the fake serves from threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handle: Any = None
        self._path: str | None = None
        self.test: str = ""  # the running test's node id, set by conftest
        self._seen: set[bytes] = set()

    def _file(self) -> Any:
        path = os.environ.get(ENV)
        if path != self._path:
            self.close()
            self._path = path
            self._seen = set()
            self._handle = None if not path else open(path, "a", encoding="utf-8")  # noqa: SIM115
        return self._handle

    def record(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        request: Any,
        status: int | None,
        payload: bytes | None,
    ) -> None:
        """One exchange; `payload` is the JSON response exactly as sent (None: no JSON body).
        `status` None marks a fault a test injected: only the request is checked then
        (the answer is the test's, not GitHub's). An exchange already recorded this
        session (list pages repeat) is not written again."""
        head = json.dumps(
            {"method": method, "path": path, "query": query, "request": request, "status": status},
            separators=(",", ":"),
        )
        body = payload.decode() if payload else "null"
        line = f'{head[:-1]},"response":{body}'
        digest = hashlib.sha1(line.encode(), usedforsecurity=False).digest()
        with self._lock:
            handle = self._file()
            if handle is None or digest in self._seen:
                return
            self._seen.add(digest)
            handle.write(f'{line},"test":{json.dumps(self.test)}}}\n')
            handle.flush()  # complete up to here even if the session is killed

    def flush(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


RECORDER = Recorder()


def read(path: Path) -> list[dict[str, Any]]:
    """The exchanges of a recording, in order."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
