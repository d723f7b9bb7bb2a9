"""A stateful fake of GitHub's REST API over real HTTP, for tests.

    with FakeGitHub(owner="d2l", repo="study-group") as gh:
        number = gh.open_pull("alice", files=["submissions/alice/section-01.ipynb"])
        ... GitHubForge(api_url=gh.api_url, ...) ...
        assert gh.labels_on(number) == ["complete"]

One `ThreadingHTTPServer` on 127.0.0.1 and a random port, served from a
background thread. Every request is logged (method, path, status) and every
response carries GitHub's rate-limit headers. Unknown endpoints answer 404
JSON like GitHub's, and are logged, so gaps show up in tests. Every exchange
is also recorded (recorder.py) and, at the end of the test session, checked
against GitHub's OpenAPI description (conformance.py).

GitHub's behaviours (behaviours.py), each opt-in per test: contents writes
that race another write to the same branch get 409 "is at X but expected Y"
(`allow_branch_races()`, `conflict_next(branch)`), `protect_branch`,
`enforce_secondary_limits`, `enforce_primary_limit` and `advance` (a virtual
clock), `as_app` / `as_pat` / `as_actions`, `mint_installation_token`,
`rerun`, `awaiting_approval`, `add_workflow_run(path_form=...)`,
`workflow_used` / `ran_default_workflow`, `add_workflow_run(head_repo_deleted=True)`,
`add_artifact` / `expire_artifact` (artifacts.py: the download redirect and the
blob host behind it); the compare API (history.py)
judges a commit by its own changes from the merge base.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import artifacts, history
from .artifacts import BLOBS, GitHubArtifacts
from .behaviours import QUEUED, GitHubBehaviours
from .limits import SECONDARY_MESSAGE
from .recorder import RECORDER
from .routes import Request, Response, Routes, error
from .shapes import Shapes
from .state import Issue, Pull, PullFile, RepoState, Run

DROP = -1  # pseudo status: hang up instead of answering
CODELOAD = "/_codeload/"  # where the archive redirect points (not an API path: not counted)


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any = None


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    after_apply: bool = False  # apply the request, then answer with the fault (a lost response)
    drop: bool = False  # close the connection without any answer
    hook: Callable[[], None] | None = None  # run first (under the state lock), then answer

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and self.method == method and bool(self.pattern.search(path))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out separately: no 40 ms stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization")
        response = self.server.fake.handle(self.command, self.path, raw, auth)
        if response.status == DROP:
            if response.record is not None:
                RECORDER.record(*response.record, None)
            self.close_connection = True
            return
        binary = isinstance(response.body, bytes)  # an archive from the codeload stand-in
        if binary:
            payload = response.body
        else:
            payload = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        if binary and "Content-Type" not in response.headers:
            self.send_header("Content-Type", "application/x-gzip")
        elif payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        if response.record is not None:
            RECORDER.record(*response.record, None if binary else payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGitHub


class FakeGitHub(GitHubBehaviours, GitHubArtifacts):
    """One fake repository behind a fake API; see the module docstring."""

    def __init__(
        self,
        owner: str = "d2l",
        repo: str = "study-group",
        *,
        bot: str = "github-actions[bot]",
        prefix: str = "/api/v3",
    ) -> None:
        self.state = RepoState(owner, repo, bot)
        self.prefix = prefix
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        port = self._server.server_address[1]
        self.web_url = f"http://127.0.0.1:{port}"
        self.api_url = self.web_url + prefix
        shapes = Shapes(self.state, self.api_url, self.web_url)
        self.routes = Routes(self.state, shapes, [*history.ROUTES, *artifacts.ROUTES])
        self._init_behaviours()
        self._init_artifacts()
        self._flight = threading.Lock()
        self._in_flight = 0  # requests received and not yet answered
        self._log: list[Logged] = []
        self._downloads: list[str] = []  # archive downloads (codeload; no API request)
        self._faults: list[Fault] = []
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    # --- lifecycle ---------------------------------------------------------

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def repository(self) -> str:
        return self.state.full_name

    def env(self, **extra: str) -> dict[str, str]:
        """An Actions-like environment pointing at this server."""
        return {
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_API_URL": self.api_url,
            "GITHUB_TOKEN": "ghs_fake",
            **extra,
        }

    # --- HTTP --------------------------------------------------------------

    def handle(self, method: str, target: str, raw: bytes, auth: str | None = None) -> Response:
        url = urlsplit(target)
        path = url.path.removeprefix(self.prefix) or "/"
        body = json.loads(raw) if raw else None
        pairs = parse_qsl(url.query, keep_blank_values=True)
        request = Request(method, path, dict(pairs), body)
        if url.path.startswith(CODELOAD):  # archives come from codeload, outside the API
            with self.state.lock:
                self._downloads.append(url.path)
                return self._codeload(url.path.removeprefix(CODELOAD))
        if url.path.startswith(BLOBS):  # artifact downloads come from blob storage
            return self._blob(url.path.removeprefix(BLOBS), auth)
        with self._flight:
            self._in_flight += 1
        try:
            request.seen_head = self._seen_head(request)
            with self.state.lock:
                response = self._limited(request, auth, url.path.startswith(self.prefix))
                self._log.append(Logged(method, path, request.query, response.status, body))
        finally:
            with self._flight:
                self._in_flight -= 1
        if url.path.startswith(self.prefix):
            status = None if response.injected else response.status
            response.record = (method, path, pairs, body, status)
        return response

    def _seen_head(self, request: Request) -> str | None:
        """The branch head a contents write sees when it arrives; GitHub builds the new
        commit on it, so a write that lands meanwhile makes this one a 409."""
        if request.method != "PUT" or "/contents/" not in request.path:
            return None
        body = request.body if isinstance(request.body, dict) else {}
        with self.state.lock:
            return self.state.git.branches.get(body.get("branch", self.state.default_branch))

    def _limited(self, request: Request, auth: str | None, inside: bool) -> Response:
        """Tokens, then secondary, then primary limits; then the route (or a fault)."""
        if not inside:  # GITHUB_API_URL not honoured
            response = error(404, "Not Found")
            response.headers = self._rate_headers()
            return response
        refused = self._unauthorised(auth)
        if refused is None and self.secondary is not None:
            with self._flight:
                in_flight = self._in_flight
            refused = self.secondary.refuse(request.method, self.clock.now(), in_flight)
        headers = self._rate_headers()
        if refused is None and self.primary is not None:
            refused, headers = self.primary.take(self.clock.now())
        if refused is not None:  # GitHub answers these on any route: not per-operation
            refused.injected = True
        response = refused or self._answer(request)
        response.headers = {**headers, **response.headers}
        return response

    def _unauthorised(self, auth: str | None) -> Response | None:
        if not self.tokens:
            return None
        token = (auth or "").split(" ")[-1]
        if self.tokens.get(token, 0.0) > self.clock.now():
            return None
        return error(401, "Bad credentials")

    def _answer(self, request: Request) -> Response:
        fault = next((f for f in self._faults if f.matches(request.method, request.path)), None)
        if fault is None:
            return self.routes.dispatch(request)
        fault.times -= 1
        if fault.hook is not None:
            fault.hook()
            return self.routes.dispatch(request)
        if fault.after_apply:
            self.routes.dispatch(request)
        if fault.drop:
            return Response(DROP, injected=True)
        body = fault.body if fault.body is not None else {"message": "Server Error"}
        return Response(fault.status, body, dict(fault.headers), injected=True)

    def _codeload(self, ref: str) -> Response:
        """A tar.gz of branch `ref`, like codeload's: one top folder `<repo>-<sha>/`."""
        git = self.state.git
        if ref not in git.branches:
            return error(404, "Not Found")
        head = git.branches[ref]
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path, (_, sha) in sorted(git.commits[head].tree.items()):
                data = git.blobs[sha]
                info = tarfile.TarInfo(f"{self.repository.replace('/', '-')}-{head[:7]}/{path}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return Response(200, buffer.getvalue())

    def _rate_headers(self) -> dict[str, str]:
        used = len(self._log) + 1
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(max(5000 - used, 0)),
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Resource": "core",
            "X-GitHub-Media-Type": "github.v3; format=json",
        }

    # --- faults ------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 502,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
        after_apply: bool = False,
        drop: bool = False,
    ) -> None:
        """The next `times` matching requests fail with `status` (paths exclude the prefix).

        `after_apply` applies the request first (its answer is lost); `drop`
        hangs up instead of answering.
        """
        pattern = re.compile(path_regex)
        fault = Fault(method, pattern, status, times, headers or {}, body, after_apply, drop)
        with self.state.lock:
            self._faults.append(fault)

    def before_next(
        self, method: str, path_regex: str, hook: Callable[[], None], *, times: int = 1
    ) -> None:
        """Run `hook` (holding the state lock) just before the next matching request is
        answered normally: a concurrent writer that slips in between a read and a write."""
        fault = Fault(method, re.compile(path_regex), 0, times, hook=hook)
        with self.state.lock:
            self._faults.append(fault)

    def rate_limit_next(
        self, method: str, path_regex: str, kind: str = "secondary", *, retry_after: int = 1
    ) -> None:
        """One rate-limit answer: `secondary` (403), `429`, or `primary` (403, remaining 0)."""
        if kind == "primary":
            reset = str(int(time.time()) + retry_after)
            headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
            message = "API rate limit exceeded for installation ID 1."
            self.fail_next(method, path_regex, 403, headers=headers, body=_msg(message))
            return
        status = 429 if kind == "429" else 403
        headers = {"Retry-After": str(retry_after)}
        self.fail_next(method, path_regex, status, headers=headers, body=_msg(SECONDARY_MESSAGE))

    # --- request log -------------------------------------------------------

    @property
    def requests(self) -> list[Logged]:
        with self.state.lock:
            return list(self._log)

    def count(self, method: str | None = None, path_regex: str | None = None) -> int:
        return sum(
            (method is None or r.method == method)
            and (path_regex is None or re.search(path_regex, r.path) is not None)
            for r in self.requests
        )

    def clear_log(self) -> None:
        with self.state.lock:
            self._log.clear()

    def unhandled(self) -> list[Logged]:
        """Requests that hit no route (404 "Not Found" from the dispatcher)."""
        return [r for r in self.requests if r.status == 404]

    # --- state setters -------------------------------------------------------

    def add_user(self, login: str, kind: str = "User") -> None:
        with self.state.lock:
            self.state.user(login, kind)

    def set_permission(self, login: str, permission: str | None) -> None:
        """admin | maintain | write | triage | read; None removes the collaborator."""
        with self.state.lock:
            self.state.user(login)
            if permission is None:
                self.state.permissions.pop(login.lower(), None)
            else:
                self.state.permissions[login.lower()] = permission

    def add_label(self, name: str, color: str = "ededed") -> None:
        with self.state.lock:
            self.state.label(name, color)

    def open_pull(
        self,
        author: str,
        head_sha: str | None = None,
        files: Iterable[str | PullFile] = (),
        *,
        head_repo: str | bool | None = True,
        created_at: datetime | None = None,
        title: str = "Submission",
        labels: Sequence[str] = (),
        head_ref: str = "main",
    ) -> int:
        """A new PR; `head_repo=True` means the author's fork, None a deleted fork.

        GitHub allows one open PR per head branch: give each PR from one fork its own
        `head_ref`.
        """
        changed = [f if isinstance(f, PullFile) else PullFile(f) for f in files]
        with self.state.lock:
            if created_at is not None:
                self.state.clock.set(created_at)
            fork = f"{author}/{self.state.repo}" if head_repo is True else head_repo
            sha = head_sha or f"{len(self.state.issues) + 1:040x}"
            self.state.pull_commit(sha, changed, self.state.default_branch)
            pull = Pull(sha, fork or None, head_ref, self.state.default_branch, changed)
            issue = self.state.new_issue(title, "", author, pull)
            issue.labels = [self.state.label(name).name for name in labels]
            return issue.number

    def push(self, number: int, sha: str, files: Iterable[str | PullFile] | None = None) -> None:
        """New head for a PR; `files` replaces the PR's changed files when given."""
        with self.state.lock:
            pull = self._pull(number)
            if files is not None:
                pull.files = [f if isinstance(f, PullFile) else PullFile(f) for f in files]
            self.state.pull_commit(sha, pull.files, pull.base_ref, parent=pull.head_sha)
            pull.head_sha = sha
            self.state.issues[number].updated_at = self.state.clock.now()

    def close_pull(self, number: int) -> None:
        with self.state.lock:
            self.state.issues[number].state = "closed"

    def add_workflow_run(
        self,
        head_sha: str,
        created_at: datetime,
        *,
        path: str = ".github/workflows/grade.yml",
        name: str = "grade",
        head_repo: str | None = None,
        event: str = "pull_request",
        status: str = "completed",
        conclusion: str | None = "success",
        head_branch: str = "main",
        run_started_at: datetime | None = None,
        path_form: str = "plain",
        path_ref: str | None = None,
        head_repo_deleted: bool = False,
    ) -> int:
        """A run GitHub created at `created_at`; it started `QUEUED` later unless
        `run_started_at` says. `path_form` "ref" or "repo" writes `path` as GitHub does
        for some runs (`P@ref`, `owner/repo/P@ref`; `path_ref` defaults to the head
        branch). The run records the workflow file it executed (`workflow_used`)."""
        with self.state.lock:
            ref = path_ref or f"refs/heads/{head_branch}"
            run = Run(
                self.state.next_id(), name, self.run_path(path, path_form, ref), head_sha,
                head_branch, head_repo, event, status, conclusion, created_at,
                run_started_at or created_at + QUEUED,
                workflow=self._workflow_file(head_sha, path, event),
                head_repo_deleted=head_repo_deleted,
            )  # fmt: skip
            self.state.runs[run.id] = run
            return run.id

    def add_file(self, ref: str, path: str, data: bytes, mode: str = "100644") -> str:
        """A file on a branch (new commit) or in a commit's tree; returns the commit sha."""
        with self.state.lock:
            return self.state.git.set_file(ref, path, data, mode)

    def add_issue(self, title: str, body: str, author: str | None = None) -> int:
        with self.state.lock:
            return self.state.new_issue(title, body, author or self.state.bot).number

    def add_comment(self, number: int, author: str, body: str) -> int:
        with self.state.lock:
            return self.state.new_comment(number, author, body).id

    def set_token(self, *, can_push: bool = True, installation: bool = False) -> None:
        """Model the token: `can_push=False` (403 on permission), installation (no /user)."""
        self.routes.token_can_push = can_push
        self.routes.installation_token = installation

    # --- inspection ----------------------------------------------------------

    def _pull(self, number: int) -> Pull:
        pull = self.state.issues[number].pull
        assert pull is not None, f"#{number} is not a pull request"
        return pull

    def labels_on(self, number: int) -> list[str]:
        with self.state.lock:
            return list(self.state.issues[number].labels)

    def repo_labels(self) -> list[str]:
        with self.state.lock:
            return [label.name for label in self.state.labels.values()]

    def comments_on(self, number: int) -> list[tuple[str, str]]:
        """(author, body) of every comment on an issue or PR, oldest first."""
        with self.state.lock:
            found = [c for c in self.state.comments.values() if c.issue == number]
            return [(c.author, c.body) for c in found]

    def issue(self, number: int) -> Issue:
        with self.state.lock:
            return self.state.issues[number]

    def issues_titled(self, title: str) -> list[Issue]:
        with self.state.lock:
            return [i for i in self.state.issues.values() if i.title == title and not i.pull]

    def branch_files(self, branch: str = "grader-state") -> dict[str, bytes]:
        with self.state.lock:
            git = self.state.git
            if branch not in git.branches:
                return {}
            tree = git.commits[git.branches[branch]].tree
            return {path: git.blobs[sha] for path, (_, sha) in tree.items()}

    def branches(self) -> Iterator[str]:
        with self.state.lock:
            return iter(list(self.state.git.branches))


def _msg(message: str) -> dict[str, str]:
    return error(0, message).body  # type: ignore[no-any-return]
