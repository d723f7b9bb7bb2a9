"""Endpoints over history: compare two commits, and workflow runs with their attempts."""

from __future__ import annotations

from collections import deque
from typing import Any
from urllib.parse import quote

from .routes import Handler, Request, Response, Routes, not_found
from .state import Commit, Entries, Git

# --- compare -------------------------------------------------------------------------------


def _ref(name: str) -> str:
    """`owner:branch` (a fork's side of a basehead) names the branch; the fake keeps
    every fork's commits in one store."""
    return name.split(":", 1)[-1]


def merge_base(git: Git, base: str, head: str) -> str | None:
    """The nearest common ancestor, as `git merge-base` finds it (breadth first)."""
    ancestors: set[str] = set()
    todo = deque([base])
    while todo:
        sha = todo.popleft()
        if sha in ancestors or sha not in git.commits:
            continue
        ancestors.add(sha)
        todo.extend(git.commits[sha].parents)
    todo, seen = deque([head]), set()
    while todo:
        sha = todo.popleft()
        if sha in ancestors:
            return sha
        if sha in seen or sha not in git.commits:
            continue
        seen.add(sha)
        todo.extend(git.commits[sha].parents)
    return None


def diff(old: Entries, new: Entries) -> list[dict[str, Any]]:
    """Changed files from `old` to `new`; an identical blob removed at one path and added
    at another is a rename, as git's exact rename detection reports it."""
    removed = {p: e for p, e in old.items() if p not in new}
    added = {p: e for p, e in new.items() if p not in old}
    by_blob = {sha: path for path, (_, sha) in removed.items()}
    changes: list[dict[str, Any]] = []
    for path, (_, sha) in sorted(added.items()):
        source = by_blob.pop(sha, None)
        if source is not None:
            del removed[source]
            changes.append({"filename": path, "status": "renamed", "sha": sha,
                            "previous_filename": source})  # fmt: skip
        else:
            changes.append({"filename": path, "status": "added", "sha": sha})
    for path, (_, sha) in sorted(removed.items()):
        changes.append({"filename": path, "status": "removed", "sha": sha})
    for path in sorted(p for p in new if p in old and new[p] != old[p]):
        changes.append({"filename": path, "status": "modified", "sha": new[path][1]})
    return sorted(changes, key=lambda c: c["filename"])


def compare(routes: Routes, request: Request) -> Response:
    base_name, dots, head_name = request.groups[0].partition("...")
    git = routes.state.git
    base, head = git.resolve(_ref(base_name)), git.resolve(_ref(head_name))
    if not dots or base is None or head is None:
        return not_found()
    common = merge_base(git, base.sha, head.sha)
    if common is None:
        return not_found(f"No common ancestor between {base_name} and {head_name}.")
    return Response(200, _comparison(routes, base, head, git.commits[common], request))


def _comparison(
    routes: Routes, base: Commit, head: Commit, common: Commit, request: Request
) -> dict[str, Any]:
    git = routes.state.git
    ahead = _commits_between(git, common.sha, head.sha)
    behind = _commits_between(git, common.sha, base.sha)
    status = "identical" if base.sha == head.sha else "ahead"
    status = "diverged" if ahead and behind else ("behind" if behind else status)
    url = f"{routes.shapes.repo_url}/compare/{quote(request.groups[0])}"
    web = f"{routes.shapes.web}/{routes.state.full_name}/compare/{request.groups[0]}"
    return {
        "url": url,
        "html_url": web,
        "permalink_url": f"{routes.shapes.web}/{routes.state.full_name}/compare/"
        f"{base.sha[:7]}...{head.sha[:7]}",
        "diff_url": web + ".diff",
        "patch_url": web + ".patch",
        "base_commit": _commit_entry(routes, base),
        "merge_base_commit": _commit_entry(routes, common),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": len(behind),
        "total_commits": len(ahead),
        "commits": [_commit_entry(routes, git.commits[sha]) for sha in reversed(ahead)],
        "files": [_diff_entry(routes, head.sha, c) for c in diff(common.tree, head.tree)],
    }


def _commits_between(git: Git, common: str, tip: str) -> list[str]:
    """Commits reachable from `tip` but not from `common`, newest first."""
    stop = set()
    todo = deque([common])
    while todo:
        sha = todo.popleft()
        if sha not in stop and sha in git.commits:
            stop.add(sha)
            todo.extend(git.commits[sha].parents)
    found, todo = [], deque([tip])
    while todo:
        sha = todo.popleft()
        if sha in stop or sha in found or sha not in git.commits:
            continue
        found.append(sha)
        todo.extend(git.commits[sha].parents)
    return found


def _diff_entry(routes: Routes, head: str, change: dict[str, Any]) -> dict[str, Any]:
    web = f"{routes.shapes.web}/{routes.state.full_name}"
    path = quote(change["filename"])
    entry = {
        **change,
        "additions": 0 if change["status"] == "removed" else 1,
        "deletions": 1 if change["status"] in ("removed", "modified") else 0,
        "blob_url": f"{web}/blob/{head}/{path}",
        "raw_url": f"{web}/raw/{head}/{path}",
        "contents_url": f"{routes.shapes.repo_url}/contents/{path}?ref={head}",
    }
    entry["changes"] = entry["additions"] + entry["deletions"]
    return entry


def _commit_entry(routes: Routes, commit: Commit) -> dict[str, Any]:
    """A commit as the commits and compare APIs list it."""
    repo, web = routes.shapes.repo_url, f"{routes.shapes.web}/{routes.state.full_name}"
    tree = routes.state.git.put_tree(commit.tree)
    person = {"name": routes.state.owner, "email": "owner@example.com",
              "date": "2020-08-01T00:00:00Z"}  # fmt: skip
    return {
        "url": f"{repo}/commits/{commit.sha}",
        "sha": commit.sha,
        "node_id": f"C_{commit.sha[:12]}",
        "html_url": f"{web}/commit/{commit.sha}",
        "comments_url": f"{repo}/commits/{commit.sha}/comments",
        "commit": {
            "url": f"{repo}/git/commits/{commit.sha}",
            "author": person,
            "committer": person,
            "message": commit.message,
            "comment_count": 0,
            "tree": {"sha": tree, "url": f"{repo}/git/trees/{tree}"},
        },
        "author": routes.shapes.login(routes.state.owner),
        "committer": routes.shapes.login(routes.state.owner),
        "parents": [
            {"sha": p, "url": f"{repo}/commits/{p}", "html_url": f"{web}/commit/{p}"}
            for p in commit.parents
        ],
    }


# --- workflow runs and their attempts ------------------------------------------------------


def get_run(routes: Routes, request: Request) -> Response:
    run = routes.state.runs.get(int(request.groups[0]))
    return not_found() if run is None else Response(200, routes.shapes.run(run))


def get_run_attempt(routes: Routes, request: Request) -> Response:
    run = routes.state.runs.get(int(request.groups[0]))
    attempt = int(request.groups[1])
    if run is None or not 1 <= attempt <= run.run_attempt:
        return not_found()
    found = run if attempt == run.run_attempt else run.attempts[attempt - 1]
    return Response(200, routes.shapes.run(found))


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "{repo}/compare/(.+)", compare),
    ("GET", r"{repo}/actions/runs/(\d+)", get_run),
    ("GET", r"{repo}/actions/runs/(\d+)/attempts/(\d+)", get_run_attempt),
]

__all__ = ["ROUTES", "compare", "diff", "merge_base"]
