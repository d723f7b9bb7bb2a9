"""The endpoints of the fake: one small function per GitHub REST call."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, unquote, urlencode

from .shapes import Shapes, iso
from .state import Issue, RepoState

MAX_BODY = 65536
DOCS = "https://docs.github.com/rest"


@dataclass
class Request:
    method: str
    path: str  # without the API prefix and query
    query: dict[str, str]
    body: Any
    groups: tuple[str, ...] = ()
    seen_head: str | None = None  # a contents write: its branch's head when it arrived


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    injected: bool = False  # a fault a test asked for: not GitHub's documented answer
    record: tuple[str, str, list[tuple[str, str]], Any, int | None] | None = None


def error(status: int, message: str, **extra: Any) -> Response:
    return Response(status, {"message": message, "documentation_url": DOCS, **extra})


def not_found(message: str = "Not Found") -> Response:
    return error(404, message)


def validation(resource: str, code: str, field_name: str, message: str | None = None) -> Response:
    problem = {"resource": resource, "code": code, "field": field_name}
    if message:
        problem["message"] = message
    return error(422, "Validation Failed", errors=[problem])


def too_long(resource: str, body: Any) -> Response | None:
    if isinstance(body, str) and len(body) > MAX_BODY:
        return validation(
            resource, "custom", "body", "body is too long (maximum is 65536 characters)"
        )
    return None


Handler = Callable[["Routes", Request], Response]


class Routes:
    """Route table plus handlers; the caller holds the state lock."""

    def __init__(
        self,
        state: RepoState,
        shapes: Shapes,
        extra: Sequence[tuple[str, str, Handler]] = (),
    ) -> None:
        self.state, self.shapes = state, shapes
        self.token_can_push = True  # False: collaborator permission answers 403
        self.installation_token = False  # True: GET /user answers 403, as for GITHUB_TOKEN
        self.max_inline_content = 1024 * 1024
        # True: contents writes to a branch whose head moved since the write arrived
        # answer 409 "is at X but expected Y", as GitHub's do (PyGithub/PyGithub#1787).
        # On, as on GitHub: a write that raced another one to the same branch gets 409.
        self.branch_races = True
        self.branch_conflicts: dict[str, int] = {}  # branch -> injected head-moved 409s
        self.rules: dict[str, tuple[int, str]] = {}  # branch -> (status, rule message)
        repo = re.escape(f"/repos/{state.full_name}")
        self.table: list[tuple[str, re.Pattern[str], Handler]] = [
            (verb, re.compile(pattern.replace("{repo}", repo) + "$"), handler)
            for verb, pattern, handler in [*ROUTES, *extra]
        ]

    def dispatch(self, request: Request) -> Response:
        for verb, pattern, handler in self.table:
            match = pattern.match(request.path)
            if match and verb == request.method:
                request.groups = tuple(unquote(g or "") for g in match.groups())
                return handler(self, request)
        return not_found()

    # --- helpers -----------------------------------------------------------

    def page(self, request: Request, items: list[Any], key: str | None = None) -> Response:
        per_page = min(max(int(request.query.get("per_page", 30)), 1), 100)
        page = max(int(request.query.get("page", 1)), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        links = self._links(request, page, last, per_page)
        headers = {"Link": links} if links else {}
        body: Any = chunk if key is None else {"total_count": len(items), key: chunk}
        return Response(200, body, headers)

    def _links(self, request: Request, page: int, last: int, per_page: int) -> str:
        def link(number: int, rel: str) -> str:
            query = urlencode({**request.query, "per_page": per_page, "page": number})
            return f'<{self.shapes.api}{request.path}?{query}>; rel="{rel}"'

        rels = []
        if page > 1:
            rels += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            rels += [link(page + 1, "next"), link(last, "last")]
        return ", ".join(rels)

    def issue(self, number: str) -> Issue | None:
        return self.state.issues.get(int(number))

    def contents_entry(self, path: str, mode: str, sha: str, ref: str) -> dict[str, Any]:
        url = f"{self.shapes.repo_url}/contents/{quote(path)}?ref={ref}"
        kind = {"040000": "dir", "120000": "symlink", "160000": "submodule"}.get(mode, "file")
        size = len(self.state.git.blobs.get(sha, b""))
        git_url = f"{self.shapes.repo_url}/git/{'trees' if kind == 'dir' else 'blobs'}/{sha}"
        html_url = f"{self.shapes.web}/{self.state.full_name}/blob/{ref}/{path}"
        return {
            "type": kind,
            "size": size if kind == "file" else 0,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": None if kind == "dir" else html_url.replace("/blob/", "/raw/"),
            "_links": {"self": url, "git": git_url, "html": html_url},
        }


# --- repository, users, permission ---------------------------------------


def get_repo(routes: Routes, request: Request) -> Response:
    return Response(200, routes.shapes.repo())


def get_user(routes: Routes, request: Request) -> Response:
    if routes.installation_token:
        return error(403, "Resource not accessible by integration")
    return Response(200, routes.shapes.account(routes.state.bot))


def get_permission(routes: Routes, request: Request) -> Response:
    if not routes.token_can_push:
        return Response(
            403,
            {
                "documentation_url": "https://developer.github.com/v3/repos/collaborators/"
                "#review-a-users-permission-level",
                "message": "Must have push access to view collaborator permission.",
            },
        )
    (login,) = request.groups
    role = routes.state.permissions.get(login.lower())
    if role is None:
        return not_found()
    return Response(200, routes.shapes.permission(login, role))


# --- pulls -------------------------------------------------------------------


def _pulls(routes: Routes, query: dict[str, str]) -> list[Issue]:
    state = query.get("state", "open")
    key = "updated_at" if query.get("sort") == "updated" else "created_at"
    descending = query.get("direction", "desc") == "desc"
    issues = sorted(
        routes.state.issues.values(),
        key=lambda i: (getattr(i, key), i.number),
        reverse=descending,
    )
    return [i for i in issues if i.pull and state in ("all", i.state)]


def list_pulls(routes: Routes, request: Request) -> Response:
    pulls = _pulls(routes, request.query)
    return routes.page(request, [routes.shapes.pull(i) for i in pulls])


def get_pull(routes: Routes, request: Request) -> Response:
    issue = routes.issue(request.groups[0])
    if issue is None or issue.pull is None:
        return not_found()
    return Response(200, routes.shapes.pull(issue))


def list_pull_files(routes: Routes, request: Request) -> Response:
    issue = routes.issue(request.groups[0])
    if issue is None or issue.pull is None:
        return not_found()
    pull = issue.pull
    files = [_file_entry(routes, pull.head_sha, f) for f in pull.files[:3000]]
    return routes.page(request, files)


def _file_entry(routes: Routes, sha: str, changed: Any) -> dict[str, Any]:
    blob = routes.state.git.put_blob(changed.content)
    web = f"{routes.shapes.web}/{routes.state.full_name}"
    path = quote(changed.filename)
    entry = {
        "sha": blob,
        "filename": changed.filename,
        "status": changed.status,
        "additions": 1,
        "deletions": 0,
        "changes": 1,
        "blob_url": f"{web}/blob/{sha}/{path}",
        "raw_url": f"{web}/raw/{sha}/{path}",
        "contents_url": f"{routes.shapes.repo_url}/contents/{path}?ref={sha}",
        "patch": "@@ -0,0 +1 @@\n+...",
    }
    if changed.previous_filename:
        entry["previous_filename"] = changed.previous_filename
    return entry


# --- issues and comments -------------------------------------------------------


def list_issues(routes: Routes, request: Request) -> Response:
    wanted_state = request.query.get("state", "open")
    creator = request.query.get("creator", "").lower()
    labels = [n.lower() for n in request.query.get("labels", "").split(",") if n]
    found = [
        issue
        for issue in sorted(routes.state.issues.values(), key=lambda i: -i.number)
        if wanted_state in ("all", issue.state)
        and (not creator or issue.author.lower() == creator)
        and all(n in [x.lower() for x in issue.labels] for n in labels)
    ]
    return routes.page(request, [routes.shapes.issue(i) for i in found])


def get_issue(routes: Routes, request: Request) -> Response:
    issue = routes.issue(request.groups[0])
    return not_found() if issue is None else Response(200, routes.shapes.issue(issue))


def create_issue(routes: Routes, request: Request) -> Response:
    body = request.body or {}
    if not body.get("title"):
        return validation("Issue", "missing_field", "title")
    problem = too_long("Issue", body.get("body"))
    if problem:
        return problem
    issue = routes.state.new_issue(body["title"], body.get("body"), routes.state.bot)
    issue.labels = [routes.state.label(n).name for n in body.get("labels", [])]
    return Response(201, routes.shapes.issue(issue))


def edit_issue(routes: Routes, request: Request) -> Response:
    issue = routes.issue(request.groups[0])
    if issue is None:
        return not_found()
    body = request.body or {}
    problem = too_long("Issue", body.get("body"))
    if problem:
        return problem
    for key in ("title", "body", "state"):
        if key in body:
            setattr(issue, key, body[key])
    if "labels" in body:
        issue.labels = [routes.state.label(n).name for n in body["labels"]]
    issue.updated_at = routes.state.clock.now()
    return Response(200, routes.shapes.issue(issue))


def list_comments(routes: Routes, request: Request) -> Response:
    number = int(request.groups[0])
    if number not in routes.state.issues:
        return not_found()
    found = [c for c in routes.state.comments.values() if c.issue == number]
    return routes.page(request, [routes.shapes.comment(c) for c in found])


def create_comment(routes: Routes, request: Request) -> Response:
    number = int(request.groups[0])
    if number not in routes.state.issues:
        return not_found()
    body = (request.body or {}).get("body")
    if not body:
        return validation("IssueComment", "missing_field", "body")
    problem = too_long("IssueComment", body)
    if problem:
        return problem
    comment = routes.state.new_comment(number, routes.state.bot, body)
    return Response(201, routes.shapes.comment(comment))


def get_comment(routes: Routes, request: Request) -> Response:
    comment = routes.state.comments.get(int(request.groups[0]))
    return not_found() if comment is None else Response(200, routes.shapes.comment(comment))


def edit_comment(routes: Routes, request: Request) -> Response:
    comment = routes.state.comments.get(int(request.groups[0]))
    if comment is None:
        return not_found()
    body = (request.body or {}).get("body")
    problem = too_long("IssueComment", body)
    if problem:
        return problem
    comment.body = body
    comment.updated_at = routes.state.clock.now()
    return Response(200, routes.shapes.comment(comment))


def delete_comment(routes: Routes, request: Request) -> Response:
    if routes.state.comments.pop(int(request.groups[0]), None) is None:
        return not_found()
    return Response(204)


# --- labels ------------------------------------------------------------------------


def list_labels(routes: Routes, request: Request) -> Response:
    labels = [routes.shapes.label(label) for label in routes.state.labels.values()]
    return routes.page(request, labels)


def get_label(routes: Routes, request: Request) -> Response:
    label = routes.state.labels.get(request.groups[0].lower())
    return not_found() if label is None else Response(200, routes.shapes.label(label))


def create_label(routes: Routes, request: Request) -> Response:
    body = request.body or {}
    name = body.get("name", "")
    if name.lower() in routes.state.labels:
        return validation("Label", "already_exists", "name")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", body.get("color", "ededed")):
        return validation("Label", "invalid", "color")
    label = routes.state.label(name, body.get("color", "ededed"), body.get("description"))
    return Response(201, routes.shapes.label(label))


def issue_labels(routes: Routes, request: Request) -> Response:
    issue = routes.issue(request.groups[0])
    if issue is None:
        return not_found()
    return Response(200, routes.shapes.labels_of(issue))


def add_issue_labels(routes: Routes, request: Request) -> Response:
    issue = routes.issue(request.groups[0])
    if issue is None:
        return not_found()
    body = request.body
    names = body.get("labels", []) if isinstance(body, dict) else body or []
    for name in names:  # GitHub creates unknown labels on the fly
        label = routes.state.label(name)
        if label.name.lower() not in [x.lower() for x in issue.labels]:
            issue.labels.append(label.name)
    return Response(200, routes.shapes.labels_of(issue))


def set_issue_labels(routes: Routes, request: Request) -> Response:
    issue = routes.issue(request.groups[0])
    if issue is None:
        return not_found()
    body = request.body
    names = body.get("labels", []) if isinstance(body, dict) else body or []
    issue.labels = list(dict.fromkeys(routes.state.label(name).name for name in names))
    return Response(200, routes.shapes.labels_of(issue))


def remove_issue_label(routes: Routes, request: Request) -> Response:
    issue = routes.issue(request.groups[0])
    if issue is None:
        return not_found()
    name = request.groups[1].lower()
    kept = [x for x in issue.labels if x.lower() != name]
    if len(kept) == len(issue.labels):
        return not_found("Label does not exist")
    issue.labels = kept
    return Response(200, routes.shapes.labels_of(issue))


# --- contents and git ----------------------------------------------------------------


def get_contents(routes: Routes, request: Request) -> Response:
    path = request.groups[0].strip("/")
    ref = request.query.get("ref", routes.state.default_branch)
    tree = routes.state.git.tree_of(ref)
    if tree is None:
        return not_found(f"No commit found for the ref {ref}")
    if path in tree:
        return Response(200, _file_body(routes, path, tree[path], ref))
    children = sorted(p for p in tree if p.startswith(path + "/") or not path)
    if not children:
        return not_found()
    return Response(200, _dir_body(routes, path, children, tree, ref))


def _file_body(routes: Routes, path: str, entry: tuple[str, str], ref: str) -> dict[str, Any]:
    mode, sha = entry
    body = routes.contents_entry(path, mode, sha, ref)
    data = routes.state.git.blobs[sha]
    if len(data) > routes.max_inline_content:
        return {**body, "encoding": "none", "content": ""}
    encoded = base64.encodebytes(data).decode()  # GitHub wraps base64 at 60-76 columns
    return {**body, "encoding": "base64", "content": encoded}


def _dir_body(
    routes: Routes, path: str, children: list[str], tree: dict[str, tuple[str, str]], ref: str
) -> list[dict[str, Any]]:
    depth = len(path.split("/")) if path else 0
    entries: dict[str, dict[str, Any]] = {}
    for child in children:
        parts = child.split("/")
        name = "/".join(parts[: depth + 1])
        if len(parts) == depth + 1:
            entries[name] = routes.contents_entry(name, *tree[child], ref)
        else:
            entries.setdefault(name, routes.contents_entry(name, "040000", "0" * 40, ref))
    return list(entries.values())


def put_contents(routes: Routes, request: Request) -> Response:
    path = request.groups[0].strip("/")
    body = request.body or {}
    branch = body.get("branch", routes.state.default_branch)
    git = routes.state.git
    if branch not in git.branches:
        return not_found(f"Branch {branch} not found")
    current = git.commits[git.branches[branch]].tree.get(path)
    if current is not None and "sha" not in body:
        return error(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
    if current is not None and body["sha"] != current[1]:
        return error(409, f"{path} does not match {body['sha']}")
    refused = _rule_violation(routes, branch) or _head_moved(routes, request, branch)
    if refused is not None:
        return refused
    data = base64.b64decode(body.get("content", ""))
    blob = git.put_blob(data)
    commit = git.commit_on_branch(branch, {path: ("100644", blob)}, body.get("message", ""))
    content = {**routes.contents_entry(path, "100644", blob, branch)}
    return Response(
        201 if current is None else 200, {"content": content, **_commit(routes, commit)}
    )


CONTENTS_DOCS = "https://docs.github.com/rest/repos/contents#create-or-update-file-contents"


def _rule_violation(routes: Routes, branch: str) -> Response | None:
    """A ruleset or branch protection on `branch` (see FakeGitHub.protect_branch)."""
    if branch not in routes.rules:
        return None
    status, rule = routes.rules[branch]
    message = f"Repository rule violations found\n\n{rule}\n\n"
    return Response(
        status, {"message": message, "documentation_url": CONTENTS_DOCS, "status": str(status)}
    )


def _head_moved(routes: Routes, request: Request, branch: str) -> Response | None:
    """GitHub builds the new commit on the head it saw when the write arrived and moves
    the branch by compare-and-swap: if another write moved it meanwhile, 409, even when
    the two writes touch different files."""
    git = routes.state.git
    if routes.branch_conflicts.get(branch, 0) > 0:  # a test's concurrent writer
        routes.branch_conflicts[branch] -= 1
        seen = git.branches[branch]
        head = git.commits[seen]
        git.branches[branch] = git.commit(head.tree, [seen], "a concurrent write")
    else:
        seen = request.seen_head or git.branches[branch]
        if not routes.branch_races:
            return None
    current = git.branches[branch]
    if current == seen:
        return None
    message = f"is at {current} but expected {seen}"
    return Response(409, {"message": message, "documentation_url": CONTENTS_DOCS, "status": "409"})


def _commit(routes: Routes, sha: str) -> dict[str, Any]:
    commit = routes.state.git.commits[sha]
    tree_sha = routes.state.git.put_tree(commit.tree)
    url = f"{routes.shapes.repo_url}/git/commits/{sha}"
    return {
        "commit": {
            "sha": sha,
            "node_id": f"C_{sha[:12]}",
            "url": url,
            "html_url": f"{routes.shapes.web}/{routes.state.full_name}/commit/{sha}",
            "message": commit.message,
            "author": _signature(routes),
            "committer": _signature(routes),
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
            "tree": {"sha": tree_sha, "url": f"{routes.shapes.repo_url}/git/trees/{tree_sha}"},
            "parents": [
                {"sha": p, "url": f"{routes.shapes.repo_url}/git/commits/{p}"}
                for p in commit.parents
            ],
        }
    }


def _signature(routes: Routes) -> dict[str, str]:
    bot = routes.state.bot
    email = f"{routes.state.user(bot).id}+{bot}@users.noreply.github.com"
    return {"name": bot, "email": email, "date": "2020-08-01T00:00:00Z"}


def get_tree(routes: Routes, request: Request) -> Response:
    sha = request.groups[0]
    tree = routes.state.git.tree_of(sha)
    if tree is None:
        return not_found()
    recursive = request.query.get("recursive", "") not in ("", "0", "false")
    return Response(200, _tree_body(routes, sha, tree, recursive))


def _tree_body(
    routes: Routes, sha: str, tree: dict[str, tuple[str, str]], recursive: bool
) -> dict[str, Any]:
    entries: dict[str, dict[str, Any]] = {}
    for path, (mode, blob) in sorted(tree.items()):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            entries.setdefault(folder, _tree_entry(routes, folder, "040000", "tree", "0" * 40))
        kind = {"160000": "commit"}.get(mode, "blob")
        entries[path] = _tree_entry(routes, path, mode, kind, blob)
    if not recursive:
        entries = {p: e for p, e in entries.items() if "/" not in p}
    url = f"{routes.shapes.repo_url}/git/trees/{sha}"
    return {"sha": sha, "url": url, "tree": list(entries.values()), "truncated": False}


def _tree_entry(routes: Routes, path: str, mode: str, kind: str, sha: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path, "mode": mode, "type": kind, "sha": sha}
    if kind == "blob":
        entry["size"] = len(routes.state.git.blobs.get(sha, b""))
        entry["url"] = f"{routes.shapes.repo_url}/git/blobs/{sha}"
    return entry


def get_blob(routes: Routes, request: Request) -> Response:
    data = routes.state.git.blobs.get(request.groups[0])
    if data is None:
        return not_found()
    sha = request.groups[0]
    return Response(
        200,
        {
            "sha": sha,
            "node_id": f"B_{sha[:12]}",
            "size": len(data),
            "url": f"{routes.shapes.repo_url}/git/blobs/{sha}",
            "content": base64.encodebytes(data).decode(),
            "encoding": "base64",
        },
    )


def post_tree(routes: Routes, request: Request) -> Response:
    body = request.body or {}
    git = routes.state.git
    tree = dict(git.tree_of(body["base_tree"]) or {}) if body.get("base_tree") else {}
    for item in body.get("tree", []):
        data = item.get("content")
        sha = git.put_blob(data.encode()) if data is not None else item.get("sha")
        tree[item["path"]] = (item.get("mode", "100644"), sha)
    tree = {p: e for p, e in tree.items() if e[1]}
    sha = git.put_tree(tree)
    return Response(201, _tree_body(routes, sha, tree, recursive=True))


def post_commit(routes: Routes, request: Request) -> Response:
    body = request.body or {}
    git = routes.state.git
    tree = git.trees.get(body.get("tree", ""))
    if tree is None:
        return validation("Commit", "invalid", "tree")
    sha = git.commit(tree, list(body.get("parents", [])), body.get("message", ""))
    return Response(201, _commit(routes, sha)["commit"])


def _ref_body(routes: Routes, name: str) -> dict[str, Any]:
    sha = routes.state.git.branches[name]
    return {
        "ref": f"refs/heads/{name}",
        "node_id": f"REF_{name}",
        "url": f"{routes.shapes.repo_url}/git/refs/heads/{quote(name)}",
        "object": {
            "sha": sha,
            "type": "commit",
            "url": f"{routes.shapes.repo_url}/git/commits/{sha}",
        },
    }


def get_ref(routes: Routes, request: Request) -> Response:
    name = request.groups[0]
    if name not in routes.state.git.branches:
        return not_found()
    return Response(200, _ref_body(routes, name))


def post_ref(routes: Routes, request: Request) -> Response:
    body = request.body or {}
    ref, sha = body.get("ref", ""), body.get("sha", "")
    if not ref.startswith("refs/heads/"):
        return error(422, "Reference name must start with 'refs/'")  # close enough
    name = ref.removeprefix("refs/heads/")
    if name in routes.state.git.branches:
        return error(422, "Reference already exists")
    if sha not in routes.state.git.commits:
        return error(422, "Object does not exist")
    refused = _rule_violation(routes, name)
    if refused is not None:
        return refused
    routes.state.git.branches[name] = sha
    return Response(201, _ref_body(routes, name))


# --- actions ---------------------------------------------------------------------------


def get_archive(routes: Routes, request: Request) -> Response:
    """GitHub answers an archive request with a redirect to codeload."""
    ref = request.groups[0]
    if ref not in routes.state.git.branches:
        return not_found()
    return Response(302, None, {"Location": f"{routes.shapes.web}/_codeload/{ref}"})


def list_runs(routes: Routes, request: Request) -> Response:
    workflow = request.groups[0] if request.groups else None
    runs = sorted(routes.state.runs.values(), key=lambda r: (r.created_at, r.id), reverse=True)
    runs = [r for r in runs if _run_matches(r, request.query, workflow)]
    return routes.page(request, [routes.shapes.run(r) for r in runs], key="workflow_runs")


def _run_matches(run: Any, query: dict[str, str], workflow: str | None) -> bool:
    if workflow is not None and run.path.split("@", 1)[0].rsplit("/", 1)[-1] != workflow:
        return False
    checks = {"head_sha": run.head_sha, "event": run.event, "status": run.status}
    return all(query.get(key, value) == value for key, value in checks.items())


REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")


def add_reaction(routes: Routes, request: Request) -> Response:
    """201 for a new reaction; 200 with the same one when the user already left it."""
    comment_id = int(request.groups[0])
    if comment_id not in routes.state.comments:
        return not_found()
    content = (request.body or {}).get("content")
    if content not in REACTIONS:
        return validation("Reaction", "invalid", "content")
    left = routes.state.reactions.setdefault(comment_id, [])
    who = routes.state.bot
    status = 200 if (who, content) in left else 201
    if status == 201:
        left.append((who, content))
    body = {
        "id": comment_id * 100 + REACTIONS.index(content),
        "node_id": f"REA_{comment_id}_{REACTIONS.index(content)}",
        "user": routes.shapes.login(who),
        "content": content,
        "created_at": iso(routes.state.clock.now()),
    }
    return Response(status, body)


def rerun_run(routes: Routes, request: Request) -> Response:
    """A new attempt of a finished run is queued (201 {}); a running one answers 403."""
    run = routes.state.runs.get(int(request.groups[0]))
    if run is None:
        return not_found()
    if run.status != "completed":
        return error(403, "This workflow is already running")
    run.attempts.append(replace(run, attempts=[]))
    run.run_attempt += 1
    run.status, run.conclusion = "queued", None
    run.run_started_at = routes.state.clock.now()
    return Response(201, {})


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/user", get_user),
    ("GET", "{repo}", get_repo),
    ("GET", "{repo}/collaborators/([^/]+)/permission", get_permission),
    ("GET", "{repo}/pulls", list_pulls),
    ("GET", r"{repo}/pulls/(\d+)", get_pull),
    ("GET", r"{repo}/pulls/(\d+)/files", list_pull_files),
    ("GET", "{repo}/issues", list_issues),
    ("POST", "{repo}/issues", create_issue),
    ("GET", r"{repo}/issues/(\d+)", get_issue),
    ("PATCH", r"{repo}/issues/(\d+)", edit_issue),
    ("GET", r"{repo}/issues/(\d+)/comments", list_comments),
    ("POST", r"{repo}/issues/(\d+)/comments", create_comment),
    ("GET", r"{repo}/issues/comments/(\d+)", get_comment),
    ("POST", r"{repo}/issues/comments/(\d+)/reactions", add_reaction),
    ("PATCH", r"{repo}/issues/comments/(\d+)", edit_comment),
    ("DELETE", r"{repo}/issues/comments/(\d+)", delete_comment),
    ("GET", r"{repo}/issues/(\d+)/labels", issue_labels),
    ("POST", r"{repo}/issues/(\d+)/labels", add_issue_labels),
    ("PUT", r"{repo}/issues/(\d+)/labels", set_issue_labels),
    ("DELETE", r"{repo}/issues/(\d+)/labels/([^/]+)", remove_issue_label),
    ("GET", "{repo}/labels", list_labels),
    ("POST", "{repo}/labels", create_label),
    ("GET", "{repo}/labels/([^/]+)", get_label),
    ("GET", "{repo}/contents(/.*)?", get_contents),
    ("PUT", "{repo}/contents/(.+)", put_contents),
    ("GET", "{repo}/git/trees/([^/]+)", get_tree),
    ("POST", "{repo}/git/trees", post_tree),
    ("GET", "{repo}/git/blobs/([0-9a-f]+)", get_blob),
    ("POST", "{repo}/git/commits", post_commit),
    ("GET", "{repo}/git/ref/heads/(.+)", get_ref),
    ("GET", "{repo}/git/refs/heads/(.+)", get_ref),
    ("POST", "{repo}/git/refs", post_ref),
    ("GET", "{repo}/tarball/(.+)", get_archive),
    ("GET", "{repo}/actions/runs", list_runs),
    ("POST", r"{repo}/actions/runs/(\d+)/rerun", rerun_run),
    ("GET", "{repo}/actions/workflows/([^/]+)/runs", list_runs),
]

__all__ = ["ROUTES", "Request", "Response", "Routes", "iso"]
