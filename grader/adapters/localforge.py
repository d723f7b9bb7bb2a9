"""The embedded local forge: pull requests, labels, comments, issues and the
ledger kept as plain JSON files in one folder, for `simulate`, `demo` and tests.

It implements `grader.ports.Forge` with the same observable behaviour as the
GitHub adapter, plus the few extras a simulation needs to play the students'
part (opening pull requests, pushing commits). Every write that would not
change a file is skipped and not counted, so tests can assert "no writes".
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from grader.core.evidence import Evidence
from grader.core.model import ChangedFile, Comment, Issue, PullRequest
from grader.core.runs import WorkflowRun
from grader.ports import StateConflict

BOT_LOGIN = "grader[bot]"


def atomic_write(path: Path, data: bytes) -> None:
    """Readers never see a half-written file (concurrent tests read while writing)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def blob_sha(data: bytes) -> str:
    """Git's blob id for `data`, so local shas look and behave like git's."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


class LocalForge:
    """A forge on local files. `root` is created when missing."""

    def __init__(self, root: Path, *, permissions: dict[str, str] | None = None) -> None:
        self.root = root
        for sub in ("pulls", "issues", "comments", "blobs", "state"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self._meta_path = root / "forge.json"
        if not self._meta_path.exists():
            self._save(self._meta_path, {"next_number": 1, "next_comment": 1, "labels": []})
        self.writes = 0
        self._permissions = {k.lower(): v for k, v in (permissions or {}).items()}
        self._graded: dict[str, datetime] = {}
        self.reruns: list[str] = []  # commits whose grading `rerun_grade` asked for again

    # --- file helpers -------------------------------------------------------

    def _load(self, path: Path) -> Any:
        return json.loads(path.read_text(encoding="utf-8"))

    def _save(self, path: Path, data: Any) -> None:
        atomic_write(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8"))

    def _write(self, path: Path, data: Any) -> None:
        """A counted write: skipped when the file already holds `data`."""
        text = json.dumps(data, indent=1, sort_keys=True) + "\n"
        if path.exists() and path.read_text(encoding="utf-8") == text:
            return
        atomic_write(path, text.encode("utf-8"))
        self.writes += 1

    def _meta(self) -> dict[str, Any]:
        data: dict[str, Any] = self._load(self._meta_path)
        return data

    def _next(self, key: str) -> int:
        meta = self._meta()
        value = int(meta[key])
        meta[key] = value + 1
        self._save(self._meta_path, meta)
        return value

    def _pull_path(self, number: int) -> Path:
        return self.root / "pulls" / f"{number}.json"

    def _pull_data(self, number: int) -> dict[str, Any]:
        data: dict[str, Any] = self._load(self._pull_path(number))
        return data

    # --- the student's side (not part of the Forge port) --------------------

    def open_pull(self, author: str, files: dict[str, bytes], *, title: str = "") -> int:
        number = self._next("next_number")
        data = {
            "number": number,
            "author": author,
            "state": "open",
            "title": title,
            "labels": [],
            "head_repo": f"{author}/course",
            "commits": [],
            "tree": {},
            "trees": {},
        }
        self._save(self._pull_path(number), data)
        self.push(number, files)
        return number

    def push(self, number: int, files: dict[str, bytes]) -> str:
        """Commit `files` (path -> content) on the PR's branch; returns the head sha."""
        data = self._pull_data(number)
        tree = dict(data["tree"])
        for path, content in files.items():
            sha = blob_sha(content)
            (self.root / "blobs" / sha).write_bytes(content)
            tree[path] = sha
        # The head sha names the tree, so pushing identical content again gives
        # the same commit, as a force-push back to an old commit does on GitHub.
        head = blob_sha(json.dumps(sorted(tree.items())).encode())
        data["tree"] = tree
        data["trees"][head] = tree
        data["commits"].append(head)
        self._save(self._pull_path(number), data)
        return head

    def close_pull(self, number: int) -> None:
        data = self._pull_data(number)
        data["state"] = "closed"
        self._save(self._pull_path(number), data)

    def mark_graded(self, sha: str, at: datetime) -> None:
        """Record a grade run of `sha` at `at`; the earliest counts, as on GitHub."""
        self._graded[sha] = min(at, self._graded.get(sha, at))

    def set_permission(self, login: str, permission: str) -> None:
        self._permissions[login.lower()] = permission

    def pull_numbers(self) -> list[int]:
        return sorted(int(p.stem) for p in (self.root / "pulls").glob("*.json"))

    def comments_on(self, number: int) -> list[Comment]:
        found = []
        for path in (self.root / "comments").glob("*.json"):
            data = self._load(path)
            if data["issue"] == number:
                found.append(Comment(id=data["id"], author=data["author"], body=data["body"]))
        return sorted(found, key=lambda c: c.id)

    def post_comment_as(self, author: str, number: int, body: str) -> Comment:
        comment_id = self._next("next_comment")
        record = {"id": comment_id, "issue": number, "author": author, "body": body}
        self._save(self.root / "comments" / f"{comment_id}.json", record)
        return Comment(id=comment_id, author=author, body=body)

    # --- the Forge port -----------------------------------------------------

    @property
    def bot_login(self) -> str:
        return BOT_LOGIN

    def get_pull(self, number: int) -> PullRequest:
        data = self._pull_data(number)
        return PullRequest(
            number=number,
            author=data["author"],
            head_sha=data["commits"][-1],
            head_repo=data["head_repo"],
            state=data["state"],
            labels=tuple(data["labels"]),
            title=data["title"],
            head_ref=f"{data['author']}-{number}",
        )

    def list_pull_files(self, number: int) -> list[ChangedFile]:
        data = self._pull_data(number)
        return [ChangedFile(path=p, status="added", mode="100644") for p in sorted(data["tree"])]

    def list_open_pulls(self) -> list[PullRequest]:
        pulls = (self.get_pull(n) for n in self.pull_numbers())
        return [p for p in pulls if p.state == "open"]

    def find_pulls_by_head(
        self, sha: str, head_repo: str | None, head_ref: str | None = None
    ) -> list[PullRequest]:
        candidates = [p for p in self.list_open_pulls() if head_repo in (None, p.head_repo)]
        exact = [p for p in candidates if p.head_sha == sha]
        moved_on = [p for p in candidates if head_repo and head_ref and p.head_ref == head_ref]
        return exact or moved_on

    def changed_files(self, base: str, head: str) -> list[ChangedFile] | None:
        """A local PR's commits all start from an empty base: every file of `head` is added."""
        for number in self.pull_numbers():
            tree = self._pull_data(number)["trees"].get(head)
            if tree is not None:
                return [ChangedFile(path=p, status="added", mode="100644") for p in sorted(tree)]
        return None

    def read_file(self, path: str, ref: str) -> bytes | None:
        for number in self.pull_numbers():
            data = self._pull_data(number)
            blob = data["trees"].get(ref, {}).get(path)
            if blob is not None:
                content: bytes = (self.root / "blobs" / blob).read_bytes()
                return content
        return None

    def ensure_labels(self, names: Sequence[str]) -> None:
        meta = self._meta()
        known = {n.lower() for n in meta["labels"]}
        missing = [n for n in names if n.lower() not in known]
        if missing:
            meta["labels"] = [*meta["labels"], *missing]
            self._save(self._meta_path, meta)
            self.writes += 1

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        data = self._pull_data(number)
        have = {n.lower() for n in data["labels"]}
        data["labels"] = [*data["labels"], *(n for n in labels if n.lower() not in have)]
        self._write(self._pull_path(number), data)

    def remove_label(self, number: int, label: str) -> None:
        data = self._pull_data(number)
        data["labels"] = [n for n in data["labels"] if n.lower() != label.lower()]
        self._write(self._pull_path(number), data)

    def set_labels(self, number: int, labels: Sequence[str]) -> None:
        data = self._pull_data(number)
        data["labels"] = list(dict.fromkeys(labels))
        self._write(self._pull_path(number), data)

    def bot_comments(self, number: int) -> list[Comment]:
        return [c for c in self.comments_on(number) if c.author == BOT_LOGIN]

    def create_comment(self, number: int, body: str) -> Comment:
        self.writes += 1
        return self.post_comment_as(BOT_LOGIN, number, body)

    def edit_comment(self, comment_id: int, body: str) -> None:
        path = self.root / "comments" / f"{comment_id}.json"
        data = self._load(path)
        data["body"] = body
        self._write(path, data)

    def delete_comment(self, comment_id: int) -> None:
        (self.root / "comments" / f"{comment_id}.json").unlink(missing_ok=True)
        self.writes += 1

    def find_issue(self, title: str) -> Issue | None:
        for path in sorted((self.root / "issues").glob("*.json")):
            data = self._load(path)
            if data["title"] == title and data["author"] == BOT_LOGIN:
                return Issue(number=data["number"], title=data["title"], body=data["body"])
        return None

    def create_issue(self, title: str, body: str) -> Issue:
        number = self._next("next_number")
        issue = Issue(number=number, title=title, body=body)
        self._write(self.root / "issues" / f"{number}.json", {**asdict(issue), "author": BOT_LOGIN})
        return issue

    def edit_issue(self, number: int, body: str) -> None:
        path = self.root / "issues" / f"{number}.json"
        data = self._load(path)
        data["body"] = body
        self._write(path, data)

    def permission(self, login: str) -> str:
        return self._permissions.get(login.lower(), "none")

    def display_name(self, login: str) -> str | None:
        return None  # a local forge knows logins only

    def _state_path(self, path: str) -> Path:
        if path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"state path must stay inside the state folder: {path!r}")
        return self.root / "state" / path

    def read_state(self, path: str) -> tuple[str, str] | None:
        target = self._state_path(path)
        if not target.exists():
            return None
        data = target.read_bytes()
        return data.decode("utf-8"), blob_sha(data)

    def write_state(self, path: str, text: str, version: str | None, message: str) -> str:
        target = self._state_path(path)
        current = blob_sha(target.read_bytes()) if target.exists() else None
        if current != version:
            raise StateConflict(f"{path}: expected version {version}, found {current}")
        data = text.encode("utf-8")
        if current == blob_sha(data):
            return current
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data)
        self.writes += 1
        return blob_sha(data)

    def list_state(self, prefix: str) -> list[str]:
        base = self.root / "state"
        return sorted(
            p.relative_to(base).as_posix()
            for p in base.rglob("*")
            if p.is_file() and p.relative_to(base).as_posix().startswith(prefix)
        )

    def read_state_all(self, prefix: str) -> dict[str, str]:
        return {path: self._state_path(path).read_text("utf-8") for path in self.list_state(prefix)}

    def first_graded_at(self, sha: str) -> datetime | None:
        return self._graded.get(sha)

    def runs_for(self, sha: str) -> list[WorkflowRun]:
        return []  # a simulation grades at once: it has no runs to repair

    def run_evidence(self, run: WorkflowRun) -> Evidence:
        return Evidence.missing("the local forge keeps no workflow artifacts")

    def add_reaction(self, comment_id: int, content: str) -> None:
        """Kept in the comment's file, once per content (GitHub: once per user)."""
        path = self.root / "comments" / f"{comment_id}.json"
        if not path.exists():
            raise KeyError(f"no comment {comment_id}")
        data = self._load(path)
        reactions = list(data.get("reactions", []))
        if content not in reactions:
            data["reactions"] = [*reactions, content]
            self._write(path, data)

    def reactions_on(self, comment_id: int) -> list[str]:
        data = self._load(self.root / "comments" / f"{comment_id}.json")
        return list(data.get("reactions", []))

    def rerun_grade(self, sha: str) -> int | None:
        """A commit graded here is "re-run" (recorded in `reruns`); nothing runs locally."""
        if sha not in self._graded:
            return None
        self.reruns.append(sha)
        return len(self.reruns)
