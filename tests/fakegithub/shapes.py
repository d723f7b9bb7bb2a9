"""JSON bodies shaped like GitHub's, built on templates from the recordings.

The recorded bodies (corpus `github-api/`) give the full field sets; the
fake overrides ids, names, URLs and timestamps and keeps every other field.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from .replay import recorded_body
from .state import Comment, Issue, Label, RepoState, Run, User

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).strftime(TIME_FORMAT) if when else None


def node_id(kind: str, ident: int | str) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode()


def _rehost(value: Any, api: str, web: str) -> Any:
    if isinstance(value, str):
        value = value.replace("https://api.github.com", api)
        return value.replace("https://github.com", web)
    if isinstance(value, list):
        return [_rehost(item, api, web) for item in value]
    if isinstance(value, dict):
        return {key: _rehost(item, api, web) for key, item in value.items()}
    return value


def _template(name: str, verb: str, suffix: str) -> dict[str, Any]:
    body = recorded_body(name, verb, suffix)
    return copy.deepcopy(body if isinstance(body, dict) else body[0])


@dataclass(frozen=True)
class Shapes:
    state: RepoState
    api: str  # e.g. http://127.0.0.1:PORT/api/v3
    web: str  # e.g. http://127.0.0.1:PORT
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict, compare=False)

    def _cached(self, kind: str, key: str, make: Any) -> Any:
        """Templates rewritten for this server are built once, then copied."""
        if (kind, key) not in self._cache:
            self._cache[kind, key] = make()
        return copy.deepcopy(self._cache[kind, key])

    @property
    def repo_url(self) -> str:
        return f"{self.api}/repos/{self.state.full_name}"

    def user(self, user: User) -> dict[str, Any]:
        body = _template("Repository.setUp", "GET", "/PyGithub")["owner"]
        api, web = f"{self.api}/users/{user.login}", f"{self.web}/{user.login}"
        body = {
            key: (value.replace(body["url"], api) if isinstance(value, str) else value)
            for key, value in body.items()
        }
        body.update(login=user.login, id=user.id, node_id=node_id("User", user.id))
        body.update(url=api, html_url=web, type=user.type, site_admin=False)
        body["avatar_url"] = f"{self.web}/avatars/u/{user.id}?v=4"
        return body

    def login(self, login: str) -> dict[str, Any]:
        return self.user(self.state.user(login))

    def repo(self, full_name: str | None = None) -> dict[str, Any]:
        full_name = full_name or self.state.full_name
        return self._cached("repo", full_name, lambda: self._repo(full_name))  # type: ignore[no-any-return]

    def _repo(self, full_name: str) -> dict[str, Any]:
        body = _rehost(_template("Repository.setUp", "GET", "/PyGithub"), self.api, self.web)
        owner, name = full_name.split("/")
        body = _rehost_names(body, "PyGithub/PyGithub", full_name)
        rid = self.state.user(full_name).id
        body.update(id=rid, node_id=node_id("Repository", rid), name=name, full_name=full_name)
        body.update(owner=self.login(owner), fork=full_name != self.state.full_name)
        body.update(default_branch=self.state.default_branch, organization=None)
        return body

    def label(self, label: Label) -> dict[str, Any]:
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{self.repo_url}/labels/{quote(label.name)}",
            "name": label.name,
            "color": label.color,
            "default": False,
            "description": label.description,
        }

    def labels_of(self, issue: Issue) -> list[dict[str, Any]]:
        return [self.label(self.state.label(name)) for name in issue.labels]

    def comment(self, comment: Comment) -> dict[str, Any]:
        issue_url = f"{self.repo_url}/issues/{comment.issue}"
        kind = "pull" if self.state.issues[comment.issue].pull else "issues"
        return {
            "url": f"{self.repo_url}/issues/comments/{comment.id}",
            "html_url": f"{self.web}/{self.state.full_name}/{kind}/{comment.issue}"
            f"#issuecomment-{comment.id}",
            "issue_url": issue_url,
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "user": self.login(comment.author),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": self._association(comment.author),
            "body": comment.body,
            "performed_via_github_app": None,
        }

    def _association(self, login: str) -> str:
        if login.lower() == self.state.owner.lower():
            return "OWNER"
        return "COLLABORATOR" if login.lower() in self.state.permissions else "NONE"

    def issue(self, issue: Issue) -> dict[str, Any]:
        body = _template("Issue572.testIssueAsPullRequest", "GET", "/issues/2")
        url = f"{self.repo_url}/issues/{issue.number}"
        body.update(url=url, repository_url=self.repo_url, labels_url=url + "/labels{/name}")
        body.update(comments_url=url + "/comments", events_url=url + "/events")
        body.update(html_url=f"{self.web}/{self.state.full_name}/issues/{issue.number}")
        body.update(id=issue.number + 500000, node_id=node_id("Issue", issue.number))
        body.update(number=issue.number, title=issue.title, body=issue.body, state=issue.state)
        body.update(user=self.login(issue.author), labels=self.labels_of(issue))
        body.update(assignee=None, assignees=[], milestone=None, closed_by=None, locked=False)
        body.update(comments=sum(c.issue == issue.number for c in self.state.comments.values()))
        body.update(created_at=iso(issue.created_at), updated_at=iso(issue.updated_at))
        body.update(closed_at=None, author_association=self._association(issue.author))
        if issue.pull is None:
            del body["pull_request"]
        else:
            pull_url = f"{self.web}/{self.state.full_name}/pull/{issue.number}"
            body["html_url"] = pull_url
            body["pull_request"] = {
                "url": f"{self.repo_url}/pulls/{issue.number}",
                "html_url": pull_url,
                "diff_url": pull_url + ".diff",
                "patch_url": pull_url + ".patch",
            }
        return body

    def _branch(self, label: str, ref: str, sha: str, repo: str | None) -> dict[str, Any]:
        owner = (repo or self.state.full_name).split("/")[0]
        return {
            "label": f"{owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.login(owner),
            "repo": None if repo is None else self.repo(repo),
        }

    def pull(self, issue: Issue) -> dict[str, Any]:
        assert issue.pull is not None
        body = _renumber(self._cached("pull", "", self._pull_template), "1171", str(issue.number))
        pull, number = issue.pull, issue.number
        body.update(id=number + 900000, node_id=node_id("PullRequest", number), number=number)
        body.update(state=issue.state, title=issue.title, body=issue.body)
        body.update(user=self.login(issue.author), labels=self.labels_of(issue))
        body.update(created_at=iso(issue.created_at), updated_at=iso(issue.updated_at))
        body.update(closed_at=None, merged_at=None, merged=False, merged_by=None)
        body.update(assignee=None, assignees=[], milestone=None, requested_reviewers=[])
        body.update(author_association=self._association(issue.author))
        body.update(changed_files=len(pull.files), commits=1, mergeable_state="clean")
        body.update(auto_merge=None)  # newer than the 2019 recording; null unless enabled
        body["head"] = self._branch("head", pull.head_ref, pull.head_sha, pull.head_repo)
        base_sha = self.state.git.branches[pull.base_ref]
        body["base"] = self._branch("base", pull.base_ref, base_sha, self.state.full_name)
        return body

    def _pull_template(self) -> dict[str, Any]:
        body = _rehost(
            _template("PullRequest1168.testGetPullRequest", "GET", "/pulls/1171"),
            self.api,
            self.web,
        )
        body = _rehost_names(body, "PyGithub/PyGithub", self.state.full_name)
        for key in ("head", "base"):  # replaced per pull; no need to copy them each time
            body[key] = {}
        return body  # type: ignore[no-any-return]

    def permission(self, login: str, role: str) -> dict[str, Any]:
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        user = {**self.login(login), "role_name": role}  # the collaborator carries it too
        return {"permission": legacy, "role_name": role, "user": user}

    def account(self, login: str) -> dict[str, Any]:
        """GET /user for a token's user (a PAT): the public profile fields on top."""
        user = self.state.user(login)
        profile = {"name": None, "company": None, "blog": "", "location": None, "email": None}
        profile |= {"hireable": None, "bio": None, "public_repos": 0, "public_gists": 0}
        profile |= {"followers": 0, "following": 0, "twitter_username": None}
        stamp = iso(self.state.clock.now())
        return {**self.user(user), **profile, "created_at": stamp, "updated_at": stamp}

    def run(self, run: Run) -> dict[str, Any]:
        body = _rehost(
            _template("Artifact.testGetArtifactsFromWorkflow", "GET", "/runs/5138169628"),
            self.api,
            self.web,
        )
        body = _rehost_names(
            body, "transmission-web-control/transmission-web-control", self.state.full_name
        )
        body = _renumber(body, "5138169628", str(run.id))
        body.update(id=run.id, node_id=node_id("WorkflowRun", run.id), name=run.name)
        body.update(path=run.path, head_sha=run.head_sha, head_branch=run.head_branch)
        body.update(display_title=run.name, event=run.event, status=run.status)
        started = run.run_started_at or run.created_at
        body.update(conclusion=run.conclusion, pull_requests=[], run_attempt=run.run_attempt)
        body.update(created_at=iso(run.created_at), updated_at=iso(started))
        body.update(run_started_at=iso(started), actor=self.login(self.state.owner))
        body.update(triggering_actor=self.login(self.state.owner))
        body["repository"] = self.repo()
        # A run always has a head repository: the fork's, else this one.
        body["head_repository"] = self.repo(run.head_repo or self.state.full_name)
        if run.head_repo_deleted:  # a deleted fork (openapi_exceptions.yml)
            body["head_repository"] = None
        body["head_commit"] = dict(body["head_commit"], id=run.head_sha, tree_id=run.head_sha)
        if run.run_attempt > 1:
            previous = f"{self.repo_url}/actions/runs/{run.id}/attempts/{run.run_attempt - 1}"
            body["previous_attempt_url"] = previous
        return body


def _rehost_names(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(f"/{old}", f"/{new}")
    if isinstance(value, list):
        return [_rehost_names(item, old, new) for item in value]
    if isinstance(value, dict):
        return {key: _rehost_names(item, old, new) for key, item in value.items()}
    return value


def _renumber(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(f"/{old}", f"/{new}")
    if isinstance(value, dict):
        return {key: _renumber(item, old, new) for key, item in value.items()}
    return value
