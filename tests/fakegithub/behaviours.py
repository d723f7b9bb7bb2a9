"""GitHub behaviours a test turns on: limits, rules, identities, workflow runs.

Mixed into `FakeGitHub`; each method says what real GitHub does and where
that is documented. Each is off until a test asks, branch-level 409s on true
races included: GitHub always has them, but with them on the 200-publish
load test (tests/test_e2e_faults.py rows 21-22) sometimes ends with a PR
labelled both incomplete and complete, so they wait for the grader's fix.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .limits import Primary, Secondary, VirtualClock
from .state import Run

if TYPE_CHECKING:
    from .routes import Routes
    from .state import RepoState

GRADE = ".github/workflows/grade.yml"
QUEUED = timedelta(seconds=7)  # a run waits for a runner: run_started_at is after created_at


class GitHubBehaviours:
    state: RepoState
    routes: Routes
    clock: VirtualClock
    secondary: Secondary | None
    primary: Primary | None
    tokens: dict[str, float]  # minted installation token -> expiry (virtual epoch seconds)

    def _init_behaviours(self) -> None:
        self.clock = VirtualClock()
        self.secondary = None
        self.primary = None
        self.tokens = {}

    # --- time and limits ---------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the virtual clock that rate limits and token expiry read."""
        with self.state.lock:
            self.clock.advance(seconds)

    def enforce_secondary_limits(
        self, *, per_minute: int = 80, per_hour: int = 500, concurrent: int = 100, status: int = 403
    ) -> None:
        """GitHub's documented secondary limits: content-generating requests (POST,
        PATCH, PUT, DELETE) at most 80 a minute and 500 an hour, at most 100 requests
        in flight; past them 403 (or 429) "You have exceeded a secondary rate limit"
        with `retry-after`. Minutes and hours are on `clock` (see `advance`)."""
        with self.state.lock:
            self.secondary = Secondary(per_minute, per_hour, concurrent, status)

    def enforce_primary_limit(self, limit: int = 1000, *, status: int = 403) -> None:
        """An hourly request budget (GITHUB_TOKEN: 1,000 per repository): the
        x-ratelimit-* headers count down, then 403 (or 429) with remaining 0 until
        `x-ratelimit-reset`, an hour after the window opened on `clock`."""
        with self.state.lock:
            self.primary = Primary(limit, status, window_start=self.clock.now())

    # --- branch writes -------------------------------------------------------------------

    def allow_branch_races(self, allowed: bool = True) -> None:
        """GitHub's behaviour: a contents write that raced another write to the same
        branch (it arrived before the other landed) gets 409 "is at X but expected Y",
        even when the two change different files. Off by default (module docstring)."""
        with self.state.lock:
            self.routes.branch_races = allowed

    def conflict_next(self, branch: str, times: int = 1) -> None:
        """The next `times` contents writes to `branch` lose a race with a concurrent
        writer: the branch moves (an empty commit) and the write gets 409 "is at
        <new head> but expected <old head>", even though its file sha is current."""
        with self.state.lock:
            self.routes.branch_conflicts[branch] = times

    def protect_branch(
        self,
        branch: str,
        *,
        status: int = 409,
        rule: str = "Changes must be made through a pull request.",
    ) -> None:
        """A ruleset (or branch protection) on `branch`: contents writes to it and its
        creation answer `status` "Repository rule violations found\\n\\n<rule>\\n\\n"."""
        with self.state.lock:
            self.routes.rules[branch] = (status, rule)

    # --- identities --------------------------------------------------------------------------

    def _identity(self, login: str, kind: str, installation: bool) -> None:
        with self.state.lock:
            self.state.bot = login
            self.state.user(login, kind).type = kind
            self.routes.installation_token = installation

    def as_actions(self) -> None:
        """The Actions GITHUB_TOKEN: github-actions[bot]; GET /user is 403 (an
        installation token)."""
        self._identity("github-actions[bot]", "Bot", installation=True)

    def as_app(self, slug: str) -> str:
        """A GitHub App's installation token: writes are authored by `<slug>[bot]`
        (type Bot) and GET /user is 403 "Resource not accessible by integration".
        Returns the bot's login."""
        self._identity(f"{slug}[bot]", "Bot", installation=True)
        return f"{slug}[bot]"

    def as_pat(self, login: str) -> None:
        """A personal access token: writes are authored by the user `login` (type
        User) and GET /user answers that user."""
        self._identity(login, "User", installation=False)

    def mint_installation_token(self, expires_in: float = 3600) -> str:
        """A new installation token (an hour, as GitHub's). Once any is minted, every
        request must carry a live one: an unknown or expired token is 401 "Bad
        credentials"."""
        token = "ghs_" + secrets.token_hex(18)
        with self.state.lock:
            self.tokens[token] = self.clock.now() + expires_in
        return token

    # --- workflow runs -------------------------------------------------------------------------

    def _workflow_file(self, sha: str, path: str, event: str) -> bytes | None:
        """A `pull_request` run executes the workflow file of the PR's own head (so a PR
        can edit it); other events run the default branch's."""
        git = self.state.git
        ref = sha if event == "pull_request" else self.state.default_branch
        tree = git.tree_of(ref) or {}
        entry = tree.get(path)
        return None if entry is None else git.blobs[entry[1]]

    def workflow_run(self, run_id: int) -> Run:
        with self.state.lock:
            return self.state.runs[run_id]

    def workflow_used(self, run_id: int) -> bytes | None:
        """The workflow file content this run executed (None: no such file)."""
        return self.workflow_run(run_id).workflow

    def ran_default_workflow(self, run_id: int) -> bool:
        """Whether the run executed the default branch's own workflow file."""
        run = self.workflow_run(run_id)
        default = self._workflow_file(self.state.default_branch, self._plain(run.path), "push")
        return run.workflow == default

    def _plain(self, path: str) -> str:
        """`P` of `P`, `P@ref` or `owner/repo/P@ref`."""
        return path.split("@", 1)[0].removeprefix(f"{self.state.full_name}/")

    def run_path(self, path: str, form: str, ref: str) -> str:
        """`workflow_run.path` as GitHub writes it: `P`, `P@ref` or `owner/repo/P@ref`."""
        forms = {
            "plain": path,
            "ref": f"{path}@{ref}",
            "repo": f"{self.state.full_name}/{path}@{ref}",
        }
        return forms[form]

    def awaiting_approval(self, head_sha: str, created_at: datetime, **kw: Any) -> int:
        """A fork PR's run that waits for a maintainer's approval: status completed,
        conclusion action_required; nothing ran, so no artifact."""
        add: Any = getattr(self, "add_workflow_run")  # noqa: B009 (FakeGitHub's)
        return int(
            add(head_sha, created_at, status="completed", conclusion="action_required", **kw)
        )

    def rerun(self, run_id: int, at: datetime, *, conclusion: str | None = "success") -> int:
        """Re-run a run: the same id and `created_at`, `run_attempt` + 1 and a new
        `run_started_at`; the earlier attempt stays readable under /attempts/N."""
        with self.state.lock:
            run = self.state.runs[run_id]
            run.attempts.append(replace(run, attempts=[]))
            run.run_attempt += 1
            run.run_started_at, run.conclusion, run.status = at, conclusion, "completed"
            run.workflow = self._workflow_file(run.head_sha, self._plain(run.path), run.event)
            return run.run_attempt
