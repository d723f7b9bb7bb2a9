"""The forge over GitHub's REST API, through PyGithub.

Requests per call, for the per-push budget (ARCHITECTURE 5); pages hold 100:

    get_pull 1, find_pulls_by_head 1 (open PRs newest-updated first, stops at
    the end of the page of the first match), list_open_pulls 1 per page,
    list_pull_files 1 per page + 1 recursive tree, changed_files 1 compare +
    1 recursive tree, read_file 1 (+1 blob over 1 MB), ensure_labels 1 + 1 per
    missing label, add_labels/remove_label/set_labels 1 (0 when nothing to
    add), bot_comments 1 per page, create_comment/create_issue 1,
    edit_comment/edit_issue/delete_comment 1, find_issue 1, permission 1,
    read_state 1, write_state 1 (0 when unchanged; 3 on the first write, which
    creates the state branch), list_state 1, first_graded_at 1, runs_for 1 per
    page, run_evidence 2 (the run's artifacts; the download link, 0 when the
    artifact expired) plus the download from GitHub's storage (not an API request).

Retries: PyGithub's `GithubRetry` (Retry-After, secondary rate limits,
5xx), extended to PATCH and 429. A POST is retried only when GitHub throttled
it (403/429, so it was not applied): a 5xx or a lost answer may hide a
success, so `create_comment` and `create_issue` look for what they posted
before posting again and never duplicate (THREATS 24).
"""

from __future__ import annotations

import base64
import hashlib
import io
import stat
import struct
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Self, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

import urllib3
from github import Auth, Github, GithubException, GithubRetry
from github.Artifact import Artifact as GhArtifact
from github.ContentFile import ContentFile
from github.File import File
from github.GithubException import RateLimitExceededExceedsMaxWait
from github.InputGitTreeElement import InputGitTreeElement
from github.Issue import Issue as GhIssue
from github.IssueComment import IssueComment
from github.PaginatedList import PaginatedList
from github.PullRequest import PullRequest as GhPull
from github.WorkflowRun import WorkflowRun as GhRun
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from grader.adapters.artifact import load_evidence
from grader.core.errors import GraderError, UserError
from grader.core.evidence import Evidence
from grader.core.model import ChangedFile, Comment, Issue, PullRequest
from grader.core.runs import WorkflowRun, workflow_file
from grader.ports import StateConflict

DEFAULT_API_URL = "https://api.github.com"
ACTIONS_BOT = "github-actions[bot]"
STATE_BRANCH = "grader-state"
GRADE_WORKFLOW = ".github/workflows/grade.yml"
ROLES = frozenset({"admin", "maintain", "write", "triage", "read", "none"})
LABEL_COLOR = "ededed"
THROTTLED = (403, 429)
POST_BACKOFF = (1.0, 2.0, 4.0)  # seconds between re-posts after a lost answer
PAGE = 100  # items per page of every listing
MAX_COMPARE_FILES = 300  # GitHub's compare lists no more files than this
# A job runs for at most 15 minutes (timeout-minutes in the workflows): one wait for a
# rate limit may last this long, and all the waits of one command this long in total.
MAX_ONE_WAIT_S = 180.0
MAX_WAIT_S = 480.0

Sleep = Callable[[float], None]
T = TypeVar("T")


class GitHubConfigError(UserError):
    """The environment does not say enough to talk to GitHub."""


class RateLimited(GraderError):
    """GitHub's rate limits would keep this job waiting past its budget.

    Not a bug: the job stops, having written only what it could redo, and
    `reconcile` (hourly) repairs what is missing once the limit resets.
    """


class StateRejected(GraderError):
    """A ruleset or branch protection refuses the ledger write: a setting to change."""

    exit_code = 2


@dataclass
class WaitBudget:
    """Seconds one command may spend waiting on GitHub (rate limits, retries), in all.

    Workflows give each job 15 minutes; waiting longer than this fails visibly.
    """

    seconds: float = MAX_WAIT_S

    def take(self, wait: float) -> None:
        if wait > self.seconds:
            raise RateLimited(
                f"GitHub asks to wait {wait:.0f} s more, past this job's waiting budget: "
                "stopping here. Nothing is lost: the hourly reconcile run (or a re-run of "
                "this job) finishes the work once GitHub's rate limit resets."
            )
        self.seconds -= wait


class ForgeRetry(GithubRetry):
    """`GithubRetry` with PATCH and 429 added, POST only when throttled, a pluggable
    sleep, and waits capped: one wait by `max_rate_limit_wait`, all by a WaitBudget."""

    def __init__(
        self, *, sleep: Sleep = time.sleep, budget: WaitBudget | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("total", 5)
        kwargs.setdefault("backoff_factor", 1.0)
        kwargs.setdefault("status_forcelist", [429, *range(500, 600)])  # GithubRetry adds 403
        kwargs.setdefault("allowed_methods", Retry.DEFAULT_ALLOWED_METHODS | {"PATCH"})
        # PyGithub waits for a primary limit's reset with no cap unless told (up to an hour).
        kwargs.setdefault("max_rate_limit_wait", MAX_ONE_WAIT_S)
        super().__init__(**kwargs)
        self._sleep = sleep
        self._budget = budget or WaitBudget()

    def new(self, **kw: Any) -> Self:
        retry = super().new(**kw)
        retry._sleep = self._sleep
        retry._budget = self._budget  # one budget for every request of the command
        return retry

    def increment(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> Retry:
        try:
            return super().increment(*args, **kwargs)
        except RateLimitExceededExceedsMaxWait as exc:
            raise RateLimited(
                f"GitHub's rate limit resets in {exc.wait:.0f} s, longer than this job may "
                "wait: stopping here. Nothing is lost: the hourly reconcile run (or a re-run "
                "of this job) finishes the work after the reset."
            ) from None

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST" and status_code in THROTTLED:
            # A throttled request was not applied: it may be sent again like a GET.
            return super().is_retry("GET", status_code, has_retry_after)
        return super().is_retry(method, status_code, has_retry_after)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        wait = self.get_retry_after(response) if response is not None else None
        wait = wait if wait is not None else self.get_backoff_time()
        self._budget.take(wait)
        self._sleep(wait)


@dataclass(frozen=True)
class Settings:
    repository: str  # owner/name
    token: str
    api_url: str = DEFAULT_API_URL
    bot_login: str | None = None  # None: ask GET /user once
    state_branch: str = STATE_BRANCH
    grade_workflow: str = GRADE_WORKFLOW

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """GITHUB_REPOSITORY, GITHUB_API_URL, GRADER_TOKEN or GITHUB_TOKEN, GRADER_BOT_LOGIN.

        With the Actions token the bot is `github-actions[bot]` (GET /user is
        refused to installation tokens). With GRADER_TOKEN the login comes from
        GRADER_BOT_LOGIN, else from GET /user (works for a PAT; a GitHub App
        must set GRADER_BOT_LOGIN=<app-slug>[bot]).
        """
        repository = env.get("GITHUB_REPOSITORY", "")
        if repository.count("/") != 1:
            raise GitHubConfigError("GITHUB_REPOSITORY must be set to owner/name")
        token = env.get("GRADER_TOKEN") or env.get("GITHUB_TOKEN")
        if not token:
            raise GitHubConfigError("set GITHUB_TOKEN (or GRADER_TOKEN for an App or PAT token)")
        bot = env.get("GRADER_BOT_LOGIN") or (None if env.get("GRADER_TOKEN") else ACTIONS_BOT)
        api_url = (env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        return cls(repository=repository, token=token, api_url=api_url, bot_login=bot)


class GitHubForge:
    """`grader.ports.Forge` on one GitHub repository."""

    def __init__(
        self,
        settings: Settings,
        *,
        retry: Retry | None = None,
        sleep: Sleep = time.sleep,
        throttle: bool = True,
    ) -> None:
        """`sleep` serves every wait (retries, re-posts); `throttle=False` drops
        PyGithub's pauses between requests (0.25 s, 1 s between writes)."""
        self._settings = settings
        self._sleep = sleep
        self._gh = Github(
            auth=Auth.Token(settings.token),
            base_url=settings.api_url,
            per_page=PAGE,
            retry=retry or ForgeRetry(sleep=sleep),
            lazy=True,  # objects are fetched only when read: no hidden requests
            seconds_between_requests=0.25 if throttle else None,
            seconds_between_writes=1.0 if throttle else None,
        )
        self._repo = self._gh.get_repo(settings.repository)
        self._bot = settings.bot_login

    @classmethod
    def from_env(cls, env: Mapping[str, str], **options: Any) -> GitHubForge:
        """`GRADER_THROTTLE=0` turns PyGithub's pauses off: for tests against a fake only."""
        options.setdefault("throttle", env.get("GRADER_THROTTLE", "1") != "0")
        return cls(Settings.from_env(env), **options)

    def close(self) -> None:
        self._gh.close()

    def __enter__(self) -> GitHubForge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- identity -------------------------------------------------------------

    @property
    def bot_login(self) -> str:
        if self._bot is None:
            self._bot = self._whoami()
        return self._bot

    def _whoami(self) -> str:
        try:
            _, data = self._gh.requester.requestJsonAndCheck("GET", "/user")
        except GithubException as exc:
            if exc.status != 403:
                raise
            raise GitHubConfigError(
                "GitHub refuses GET /user to this token (an App installation token?): "
                "set GRADER_BOT_LOGIN to the bot's login, e.g. my-app[bot]"
            ) from exc
        return str(data["login"])

    def _is_bot(self, login: str) -> bool:
        return login.lower() == self.bot_login.lower()

    # --- pull requests ------------------------------------------------------------

    def get_pull(self, number: int) -> PullRequest:
        return _pull(self._repo.get_pull(number))

    def list_open_pulls(self) -> list[PullRequest]:
        return [_pull(p) for p in self._repo.get_pulls(state="open")]

    def find_pulls_by_head(
        self, sha: str, head_repo: str | None, head_ref: str | None = None
    ) -> list[PullRequest]:
        # A push updates its PRs, so the newest-updated first page nearly always has
        # them. Another student's PR from the same branch may have been updated later
        # (a comment, a label): the scan goes on until it has found the PR of the
        # branch's owner, then stops at the end of that page.
        pulls = self._repo.get_pulls(state="open", sort="updated", direction="desc")
        exact: list[PullRequest] = []
        moved_on: list[PullRequest] = []
        for index, pull in enumerate(map(_pull, pulls)):
            if _same_repo(head_repo, pull.head_repo):
                if pull.head_sha == sha:
                    exact.append(pull)
                # Only with a known head repository: a bare branch name ("main",
                # "patch-1") is shared by many forks.
                elif head_repo and head_ref and pull.head_ref == head_ref:
                    moved_on.append(pull)
            if index % PAGE == PAGE - 1 and _has_owners(exact, head_repo):
                break  # the end of the page where the branch owner's PR was found
        return exact or moved_on

    def changed_files(self, base: str, head: str) -> list[ChangedFile] | None:
        """compare `base...head` (from the merge base), modes from one tree of `head`.

        GitHub lists at most 300 files of a comparison: a commit that changes
        that many cannot be judged file by file, so None.
        """
        try:
            files = list(self._repo.compare(base, head).files)
        except GithubException as exc:
            if exc.status == 404:  # no such commit (force-pushed away and collected)
                return None
            raise
        if len(files) >= MAX_COMPARE_FILES:
            return None
        if not files:
            return []
        modes = self._modes(head, {f.filename for f in files})
        return [_changed(f, modes) for f in files]

    def list_pull_files(self, number: int) -> list[ChangedFile]:
        """The PR's changes; `mode` comes from one recursive tree of the head commit."""
        files = list(self._repo.get_pull(number).get_files())
        if not files:
            return []
        head = _head_sha(files) or self.get_pull(number).head_sha
        modes = self._modes(head, {f.filename for f in files})
        return [_changed(f, modes) for f in files]

    def _modes(self, sha: str, paths: set[str]) -> dict[str, str]:
        # The files API has no mode. A tree over 100,000 entries comes back
        # truncated: paths missing from it keep mode None, which callers must
        # treat as unknown, never as a plain file.
        tree = self._repo.get_git_tree(sha, recursive=True)
        return {e.path: e.mode for e in tree.tree if e.path in paths}

    def read_file(self, path: str, ref: str) -> bytes | None:
        content = self._contents(path, ref)
        return None if content is None else self._decoded(content)

    def _contents(self, path: str, ref: str) -> ContentFile | None:
        try:
            found = self._repo.get_contents(path, ref=ref)
        except GithubException as exc:
            if exc.status == 404:  # "Not Found", or "No commit found for the ref ..."
                return None
            raise
        if isinstance(found, list) or found.type != "file":
            return None
        return found

    def _decoded(self, content: ContentFile) -> bytes:
        if content.encoding == "base64":
            return content.decoded_content
        # Files over 1 MB come with encoding "none" and no content: read the blob.
        blob = self._repo.get_git_blob(content.sha)
        return base64.b64decode(blob.content)

    # --- labels -----------------------------------------------------------------------

    def ensure_labels(self, names: Sequence[str]) -> None:
        have = {label.name.lower() for label in self._repo.get_labels()}
        for name in dict.fromkeys(n for n in names if n.lower() not in have):
            self._post(partial(self._create_label, name), _nothing)

    def _create_label(self, name: str) -> None:
        try:
            self._repo.create_label(name, LABEL_COLOR)
        except GithubException as exc:
            if not (exc.status == 422 and _has_code(exc, "already_exists")):
                raise  # already_exists: a concurrent run (or our lost first try) made it

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        if labels:  # adding is idempotent, so re-posting after a lost answer is safe
            issue = self._repo.get_issue(number)
            self._post(lambda: issue.add_to_labels(*labels), _nothing)

    def remove_label(self, number: int, label: str) -> None:
        url = f"{self._repo.url}/issues/{number}/labels/{quote(label, safe='')}"
        self._delete(url)

    def set_labels(self, number: int, labels: Sequence[str]) -> None:
        self._repo.get_issue(number).set_labels(*labels)

    # --- comments -------------------------------------------------------------------

    def bot_comments(self, number: int) -> list[Comment]:
        comments = self._repo.get_issue(number).get_comments()
        return [_comment(c) for c in comments if self._is_bot(c.user.login)]

    def create_comment(self, number: int, body: str) -> Comment:
        issue = self._repo.get_issue(number)
        return self._post(
            lambda: _comment(issue.create_comment(body)),
            lambda: self._posted_comment(number, body),
        )

    def _posted_comment(self, number: int, body: str) -> Comment | None:
        # An identical bot comment already on the thread counts as ours.
        return next((c for c in self.bot_comments(number) if c.body == body), None)

    def edit_comment(self, comment_id: int, body: str) -> None:
        url = f"{self._repo.url}/issues/comments/{comment_id}"
        self._gh.requester.requestJsonAndCheck("PATCH", url, input={"body": body})

    def delete_comment(self, comment_id: int) -> None:
        self._delete(f"{self._repo.url}/issues/comments/{comment_id}")

    # --- issues ------------------------------------------------------------------------

    def find_issue(self, title: str) -> Issue | None:
        """The oldest open issue the bot created with exactly this title."""
        params = {"state": "open", "creator": self.bot_login}
        issues = PaginatedList(GhIssue, self._gh.requester, f"{self._repo.url}/issues", params)
        found = [
            i for i in issues if not _is_pull(i) and i.title == title and self._is_bot(i.user.login)
        ]
        return _issue(min(found, key=lambda i: i.number)) if found else None

    def create_issue(self, title: str, body: str) -> Issue:
        return self._post(
            lambda: _issue(self._repo.create_issue(title=title, body=body)),
            lambda: self.find_issue(title),
        )

    def edit_issue(self, number: int, body: str) -> None:
        url = f"{self._repo.url}/issues/{number}"
        self._gh.requester.requestJsonAndCheck("PATCH", url, input={"body": body})

    def permission(self, login: str) -> str:
        url = f"{self._repo.url}/collaborators/{quote(login, safe='')}/permission"
        try:
            _, data = self._gh.requester.requestJsonAndCheck("GET", url)
        except GithubException as exc:
            if exc.status == 404:
                return "none"  # not a collaborator
            raise
        role = data.get("role_name")  # maintain and triage show only here
        return str(role if role in ROLES else data.get("permission", "none"))

    def display_name(self, login: str) -> str | None:
        try:
            _, data = self._gh.requester.requestJsonAndCheck(
                "GET", f"/users/{quote(login, safe='')}"
            )
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise
        name = data.get("name")
        return name if isinstance(name, str) and name.strip() else None

    # --- the ledger's branch --------------------------------------------------------------

    def read_state(self, path: str) -> tuple[str, str] | None:
        content = self._contents(path, self._settings.state_branch)
        if content is None:
            return None
        return self._decoded(content).decode("utf-8"), content.sha

    def write_state(self, path: str, text: str, version: str | None, message: str) -> str:
        """Compare-and-swap on the blob sha; a lost race raises StateConflict."""
        data = text.encode("utf-8")
        if version is not None and _blob_sha(data) == version:
            return version  # already there: no write
        try:
            return self._put_state(path, data, version, message)
        except GithubException as exc:
            if exc.status != 404 or version is not None:
                raise
        self._start_state_branch(path, data, message)  # 404: no state branch yet
        return _blob_sha(data)

    def _put_state(self, path: str, data: bytes, version: str | None, message: str) -> str:
        branch = self._settings.state_branch
        try:
            if version is None:
                result = self._repo.create_file(path, message, data, branch=branch)
            else:
                result = self._repo.update_file(path, message, data, version, branch=branch)
        except GithubException as exc:
            self._refuse_if_ruled(exc)
            if _is_stale(exc):
                raise StateConflict(f"{path}: {_message(exc)}") from exc
            raise
        content = result["content"]
        assert isinstance(content, ContentFile)
        return content.sha

    def _start_state_branch(self, path: str, data: bytes, message: str) -> None:
        """Create the missing branch as a root commit holding the first file.

        A root commit keeps the course's workflows off the branch, so state
        writes never trigger them. If a concurrent run created the branch
        first, this write lost the race: StateConflict.
        """
        text = data.decode("utf-8")
        element = InputGitTreeElement(path, "100644", "blob", content=text)
        # Trees and commits are content-addressed: posting one twice is harmless.
        tree = self._post(lambda: self._repo.create_git_tree([element]), _nothing)
        commit = self._post(lambda: self._repo.create_git_commit(message, tree, []), _nothing)
        ref = f"refs/heads/{self._settings.state_branch}"
        try:
            self._post(lambda: self._repo.create_git_ref(ref, commit.sha), _nothing)
        except GithubException as exc:
            self._refuse_if_ruled(exc)
            if exc.status == 422 and "already exists" in _message(exc):
                raise StateConflict(f"{path}: the state branch appeared meanwhile") from exc
            raise

    def _refuse_if_ruled(self, exc: GithubException) -> None:
        """A ruleset or branch protection refused the write: retrying cannot help."""
        if exc.status in (403, 409, 422) and "rule violation" in _message(exc).lower():
            branch = self._settings.state_branch
            raise StateRejected(
                f"GitHub refused the grader's write to its state branch {branch!r}: a "
                f"ruleset or branch protection applies to it ({_first_line(exc)}). The grader "
                f"keeps its ledger there: exclude {branch!r} from that rule, or let the "
                "grader's App bypass it (docs/maintainers.md, 'The state branch'); then re-run "
                "this job."
            ) from exc

    def list_state(self, prefix: str) -> list[str]:
        try:
            tree = self._repo.get_git_tree(self._settings.state_branch, recursive=True)
        except GithubException as exc:
            if exc.status == 404:  # no state branch yet
                return []
            raise
        return sorted(e.path for e in tree.tree if e.type == "blob" and e.path.startswith(prefix))

    def read_state_all(self, prefix: str) -> dict[str, str]:
        """Every state file under `prefix` in ONE API request: the branch's tarball.

        GitHub answers the archive request with a redirect to codeload, and the
        download itself is not a REST request, so re-rendering the tracker costs
        the same whatever the number of ledger shards. The archive is read in
        memory with size caps; nothing is extracted to disk.
        """
        try:
            url = self._repo.get_archive_link("tarball", self._settings.state_branch)
        except GithubException as exc:
            if exc.status == 404:  # no state branch yet
                return {}
            raise
        return _state_files(_download(url, MAX_ARCHIVE_BYTES), prefix)

    # --- time -------------------------------------------------------------------------------

    def first_graded_at(self, sha: str) -> datetime | None:
        """When GitHub first ran the grade workflow on this commit (its `created_at`)."""
        runs = self._repo.get_workflow_runs(head_sha=sha)
        wanted = self._settings.grade_workflow
        times = [r.created_at for r in runs if self._is_grade_run(r.path, wanted)]
        return min(times, default=None)

    # --- runs and their artifacts (reconcile) ------------------------------------------------

    def runs_for(self, sha: str) -> list[WorkflowRun]:
        """Every workflow run of commit `sha`, newest first: 1 request per page of 100."""
        runs = [_run(r) for r in self._repo.get_workflow_runs(head_sha=sha)]
        return sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)

    def run_evidence(self, run: WorkflowRun) -> Evidence:
        """The newest `grader-result` artifact of `run`, read as untrusted data.

        2 API requests (the run's artifacts, 1 per page; the download link), then
        the download itself from GitHub's storage host, without the token: the
        link is signed, and the token is for the API only. An expired or deleted
        artifact (or run) is `missing`; a download or archive past the caps, or an
        entry that is not a plain file inside the artifact, is `invalid`.
        """
        try:
            found = self._artifact(run.id)
            if isinstance(found, Evidence):
                return found
            url = self._artifact_link(found)
        except GithubException as exc:
            if exc.status not in (404, 410):
                raise
            return Evidence.missing(
                f"GitHub no longer has the grading artifact of run {run.id} (HTTP "
                f"{exc.status}: {_message(exc) or 'gone'}); push again to re-run grading"
            )
        data = _download_artifact(url, run.id)
        if isinstance(data, Evidence):
            return data
        return _artifact_evidence(data)

    def _artifact(self, run_id: int) -> GhArtifact | Evidence:
        url = f"{self._repo.url}/actions/runs/{run_id}/artifacts"
        listing: PaginatedList[GhArtifact] = PaginatedList(
            GhArtifact, self._gh.requester, url, {"name": ARTIFACT}, list_item="artifacts"
        )
        named = [a for a in listing if a.name == ARTIFACT]
        if not named:
            return Evidence.missing(
                f"grade run {run_id} left no {ARTIFACT} artifact (it may have been cancelled, "
                "timed out or be awaiting approval); push again to re-run grading"
            )
        newest = max(named, key=lambda a: (a.created_at.timestamp() if a.created_at else 0, a.id))
        if newest.expired:
            return Evidence.missing(
                f"the {ARTIFACT} artifact of grade run {run_id} has expired (GitHub keeps "
                "artifacts for a few days only); push again to re-run grading"
            )
        if newest.size_in_bytes > MAX_ARTIFACT_BYTES:
            return Evidence.invalid(
                f"the {ARTIFACT} artifact of grade run {run_id} is {newest.size_in_bytes} bytes, "
                f"more than any real grading result (at most {MAX_ARTIFACT_BYTES})"
            )
        return newest

    def _artifact_link(self, artifact: GhArtifact) -> str:
        """GitHub answers the download with a 302 to a signed URL valid for a minute."""
        url = f"{self._repo.url}/actions/artifacts/{artifact.id}/zip"
        headers, _ = self._gh.requester.requestJsonAndCheck("GET", url)
        location = headers.get("location")
        if not location:
            raise GraderError(f"GitHub gave no download link for artifact {artifact.id}")
        return str(location)

    # --- acknowledging and re-running -------------------------------------------------------

    def add_reaction(self, comment_id: int, content: str) -> None:
        """POST .../issues/comments/{id}/reactions: GitHub answers 200 for a reaction the
        bot already left, so a retried POST never doubles it. A comment deleted since
        (404) has nothing left to acknowledge: the command was applied all the same."""
        url = f"{self._repo.url}/issues/comments/{comment_id}/reactions"
        post = partial(
            self._gh.requester.requestJsonAndCheck, "POST", url, input={"content": content}
        )
        try:
            self._post(post, _nothing)
        except GithubException as exc:
            if exc.status != 404:
                raise

    def rerun_grade(self, sha: str) -> int | None:
        """Re-run the latest grade run of `sha` (the token needs `actions: write`).

        1 request per page of runs, plus the POST for a finished run. A run still
        queued or in progress is grading already: its id, and nothing is posted
        (GitHub refuses to re-run it). A 403 on a finished run is the token's
        missing permission, a configuration error.
        """
        wanted = self._settings.grade_workflow
        runs = [
            r
            for r in self._repo.get_workflow_runs(head_sha=sha)
            if self._is_grade_run(r.path, wanted)
        ]
        if not runs:
            return None
        latest = max(runs, key=lambda r: (r.created_at, r.id))
        if latest.status != "completed":
            return int(latest.id)
        url = f"{self._repo.url}/actions/runs/{latest.id}/rerun"
        try:
            self._gh.requester.requestJsonAndCheck("POST", url)
        except GithubException as exc:
            if exc.status != 403:
                raise
            raise GitHubConfigError(
                f"GitHub refused to re-run grade run {latest.id} ({_message(exc)}): give "
                "the ta-command workflow's job `permissions: actions: write` (and a GitHub "
                "App token the Actions write permission)"
            ) from exc
        return int(latest.id)

    def _is_grade_run(self, path: str, wanted: str) -> bool:
        """`path` in any of GitHub's forms (P, P@ref, owner/repo/P@ref) names `wanted`."""
        return workflow_file(path, self._settings.repository) == wanted

    # --- plumbing ----------------------------------------------------------------------------

    def _post(self, post: Callable[[], T], posted: Callable[[], T | None]) -> T:
        """POST; after an answer that may hide a success, look (`posted`) before re-posting."""
        for delay in POST_BACKOFF:
            try:
                return post()
            except (GithubException, OSError) as exc:
                if not _maybe_applied(exc):
                    raise
            found = posted()
            if found is not None:
                return found
            self._sleep(delay)
        return post()

    def _delete(self, url: str) -> None:
        try:
            self._gh.requester.requestJsonAndCheck("DELETE", url)
        except GithubException as exc:
            if exc.status != 404:  # 404: gone, e.g. a retried DELETE that had worked
                raise


# --- conversions ----------------------------------------------------------------------------


def _nothing() -> None:
    """For `_post`: nothing to look for, re-posting is harmless."""
    return None


def _pull(pull: GhPull) -> PullRequest:
    head_repo = pull.head.repo  # None when the fork was deleted
    return PullRequest(
        number=pull.number,
        author=pull.user.login,
        head_sha=pull.head.sha,
        head_repo=head_repo.full_name if head_repo is not None else None,
        state=pull.state,
        labels=tuple(label.name for label in pull.labels),
        title=pull.title,
        head_ref=pull.head.ref,
        base_ref=pull.base.ref,
    )


MAX_ARCHIVE_BYTES = 256 * 1024 * 1024
MAX_STATE_FILE_BYTES = 64 * 1024 * 1024


def _download(url: str, limit: int) -> bytes:
    """GET `url` (a codeload archive link), refusing more than `limit` bytes."""
    if urlsplit(url).scheme not in ("https", "http"):
        raise ValueError(f"unexpected archive link {url!r}")
    response = urllib3.PoolManager().request("GET", url, preload_content=False, timeout=120)
    try:
        if response.status != 200:
            raise GithubException(response.status, {"message": "archive download failed"}, None)
        data = response.read(limit + 1)
    finally:
        response.release_conn()
    if len(data) > limit:
        raise ValueError("the state branch archive is larger than any real ledger")
    return data


def _state_files(archive: bytes, prefix: str) -> dict[str, str]:
    """The files under `prefix` in a codeload tarball (top folder stripped)."""
    found: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar:
            path = member.name.split("/", 1)[-1]
            if not member.isfile() or not path.startswith(prefix):
                continue
            if member.size > MAX_STATE_FILE_BYTES:
                raise ValueError(f"{path}: larger than any real ledger shard")
            handle = tar.extractfile(member)
            if handle is not None:
                found[path] = handle.read().decode("utf-8")
    return found


ARTIFACT = "grader-result"  # the name .github/workflows/grade.yml uploads
MAX_ARTIFACT_BYTES = 8 * 1024 * 1024  # the zip: result.json is at most 2 MB
MAX_ARTIFACT_UNZIPPED = 16 * 1024 * 1024  # all entries together, as decompressed
MAX_ARTIFACT_ENTRIES = 8  # grade.yml uploads result.json and summary.md


def _run(run: GhRun) -> WorkflowRun:
    head_repo = run.head_repository  # None when the fork was deleted
    return WorkflowRun(
        id=int(run.id),
        path=run.path,
        event=run.event,
        head_sha=run.head_sha,
        head_repo=head_repo.full_name if head_repo is not None else None,
        head_ref=run.head_branch,
        created_at=run.created_at,
        status=run.status,
        conclusion=run.conclusion,
        attempt=int(run.run_attempt or 1),
    )


class ArtifactDownloadFailed(GraderError):
    """GitHub's storage host did not serve an artifact: try again later (reconcile runs
    on a schedule); nothing about the submission is known from it."""


def _download_artifact(url: str, run_id: int) -> bytes | Evidence:
    """GET the signed link with no Authorization header and no redirects, at most
    `MAX_ARTIFACT_BYTES`; 404/410 (gone since it was listed) is `missing`."""
    if urlsplit(url).scheme not in ("https", "http"):
        raise ArtifactDownloadFailed(f"unexpected artifact download link {url!r}")
    try:
        response = urllib3.PoolManager().request(
            "GET", url, preload_content=False, redirect=False, retries=False, timeout=120
        )
    except urllib3.exceptions.HTTPError as exc:
        raise ArtifactDownloadFailed(
            f"downloading the artifact of grade run {run_id} failed ({exc}); run again later"
        ) from exc
    try:
        if response.status in (404, 410):
            return Evidence.missing(
                f"the artifact of grade run {run_id} is gone (HTTP {response.status} from "
                "GitHub's storage); push again to re-run grading"
            )
        if response.status != 200:
            raise ArtifactDownloadFailed(
                f"GitHub's storage answered HTTP {response.status} for the artifact of grade "
                f"run {run_id}; run again later"
            )
        data = response.read(MAX_ARTIFACT_BYTES + 1)
    finally:
        response.release_conn()
    if len(data) > MAX_ARTIFACT_BYTES:
        return Evidence.invalid(
            f"the artifact of grade run {run_id} is larger than any real grading result "
            f"(more than {MAX_ARTIFACT_BYTES} bytes)"
        )
    return data


class _Refused(Exception):
    """An artifact archive entry or size that is refused; the message says which."""


def _artifact_evidence(data: bytes) -> Evidence:
    """Unpack the zip into a fresh folder, refusing anything odd, then read it strictly."""
    with tempfile.TemporaryDirectory(prefix="grader-artifact-") as tmp:
        folder = Path(tmp) / "artifact"
        folder.mkdir()
        try:
            _unzip(data, folder)
        except (_Refused, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
            return Evidence.invalid(f"the grading artifact cannot be trusted: {exc}")
        except (NotImplementedError, RuntimeError, EOFError, ValueError, OSError) as exc:
            return Evidence.invalid(f"the grading artifact cannot be read: {exc}")
        except (zlib.error, IndexError, struct.error) as exc:  # damaged data or entry names
            return Evidence.invalid(f"the grading artifact is damaged: {exc!r}")
        return load_evidence(folder)


def _unzip(data: bytes, folder: Path) -> None:
    """Write each entry of zip `data` into `folder`; raises _Refused or BadZipFile.

    Only flat names of regular files (no absolute path, no `..`, no folder, no
    link, no device), each once; at most MAX_ARTIFACT_ENTRIES entries and
    MAX_ARTIFACT_UNZIPPED bytes as decompressed, counted while decompressing (the
    sizes an archive declares are not trusted: a zip bomb lies about them).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        if len(entries) > MAX_ARTIFACT_ENTRIES:
            raise _Refused(f"{len(entries)} entries (at most {MAX_ARTIFACT_ENTRIES})")
        left = MAX_ARTIFACT_UNZIPPED
        seen: set[str] = set()
        for info in entries:
            name = _entry_name(info, seen)
            with archive.open(info) as source:
                content = source.read(left + 1)
            if len(content) > left:
                raise _Refused(
                    f"it unpacks to more than {MAX_ARTIFACT_UNZIPPED} bytes (a zip bomb?)"
                )
            left -= len(content)
            (folder / name).write_bytes(content)


def _entry_name(info: zipfile.ZipInfo, seen: set[str]) -> str:
    name = info.filename
    if not name or not name.isprintable():
        raise _Refused(f"entry {name!r} has an empty or unprintable name")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise _Refused(f"entry {name!r} has an absolute path")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise _Refused(f"entry {name!r} points outside the artifact")
    if info.is_dir() or len(parts) != 1 or name in ("", "."):
        raise _Refused(f"entry {name!r} is a folder or inside one; only plain files are expected")
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise _Refused(f"entry {name!r} is a symbolic link")
    if kind not in (0, stat.S_IFREG):  # 0: no Unix mode (made on Windows)
        raise _Refused(f"entry {name!r} is not a plain file")
    if info.flag_bits & 0x1:
        raise _Refused(f"entry {name!r} is encrypted")
    if name in seen:
        raise _Refused(f"entry {name!r} appears twice")
    seen.add(name)
    return name


def _is_pull(issue: GhIssue) -> bool:
    # Not `issue.pull_request`: absent on plain issues, so reading it makes
    # PyGithub fetch each issue again. A PR's html_url always reads /pull/N.
    return "/pull/" in issue.html_url


def _has_owners(found: Sequence[PullRequest], head_repo: str | None) -> bool:
    """One of `found` is by the owner of `head_repo` (or any, when that is unknown)."""
    if not head_repo:
        return bool(found)
    owner = head_repo.split("/")[0].lower()
    return any(p.author.lower() == owner for p in found)


def _same_repo(wanted: str | None, actual: str | None) -> bool:
    return wanted is None or (actual or "").lower() == wanted.lower()


def _head_sha(files: Sequence[File]) -> str | None:
    # contents_url ends in ?ref=<head sha>: the commit this very listing describes.
    refs = parse_qs(urlsplit(files[0].contents_url or "").query).get("ref")
    return refs[0] if refs else None


def _changed(file: File, modes: Mapping[str, str]) -> ChangedFile:
    return ChangedFile(
        path=file.filename,
        status=file.status,
        previous_path=file.previous_filename,
        mode=modes.get(file.filename),
    )


def _comment(comment: IssueComment) -> Comment:
    return Comment(id=comment.id, author=comment.user.login, body=comment.body)


def _issue(issue: GhIssue) -> Issue:
    return Issue(number=issue.number, title=issue.title, body=issue.body or "")


def _blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _message(exc: GithubException) -> str:
    data = exc.data
    return str(data.get("message", "")) if isinstance(data, dict) else str(data)


def _first_line(exc: GithubException) -> str:
    lines = [line.strip() for line in _message(exc).splitlines() if line.strip()]
    detail = lines[1:2] or lines[:1]
    return detail[0][:200] if detail else f"HTTP {exc.status}"


def _has_code(exc: GithubException, code: str) -> bool:
    errors = exc.data.get("errors", []) if isinstance(exc.data, dict) else []
    return any(isinstance(e, dict) and e.get("code") == code for e in errors)


def _is_stale(exc: GithubException) -> bool:
    """409 "does not match" (stale sha) or 422 "sha wasn't supplied" (file appeared)."""
    return exc.status == 409 or (exc.status == 422 and "sha" in _message(exc))


def _maybe_applied(exc: GithubException | OSError) -> bool:
    """A 5xx or a lost connection: the request may have been applied."""
    return isinstance(exc, OSError) or exc.status >= 500
