"""The fake GitHub server: recordings parse, shapes match them, HTTP behaves like GitHub."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:  # tests/ as a package, or tests/ on sys.path (pytest's rootdir-less layout)
    from tests.fakegithub import FakeGitHub, PullFile, load_replay, parse_replay, replay_files
    from tests.fakegithub.replay import recorded_body
except ModuleNotFoundError:  # pragma: no cover
    from fakegithub import FakeGitHub, PullFile, load_replay, parse_replay, replay_files
    from fakegithub.replay import recorded_body

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "github-api").is_dir(), reason="../shared/corpus is not beside the repository"
)


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(owner="d2l", repo="study-group") as fake:
        yield fake


def call(gh: FakeGitHub, method: str, path: str, body: Any = None) -> tuple[int, Any, Any]:
    """(status, headers, json body) of one raw request; path below the repo if relative."""
    base = f"/repos/{gh.repository}"
    url = gh.api_url + (path if path.startswith("/") else f"{base}/{path}".rstrip("/"))
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, response.headers, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        with exc:
            raw = exc.read()
            return exc.code, exc.headers, json.loads(raw) if raw else None


# --- the ReplayData parser ---------------------------------------------------------


@needs_corpus
def test_all_twelve_recordings_parse() -> None:
    files = replay_files()
    assert len(files) == 12
    assert files[0].parent == CORPUS / "github-api"
    exchanges = [e for f in files for e in parse_replay(f.read_text(encoding="utf-8"))]
    assert len(exchanges) == 26
    assert {e.verb for e in exchanges} == {"GET", "POST", "PATCH", "DELETE"}
    assert all(e.protocol == "https" and e.host == "api.github.com" for e in exchanges)
    assert all(e.port is None and isinstance(e.request_headers, dict) for e in exchanges)
    assert all(e.response_body is not None for e in exchanges)


@needs_corpus
def test_parser_reads_request_bodies_and_status() -> None:
    (created,) = load_replay("PullRequest.testCreateIssueComment")
    assert created.verb == "POST"
    assert created.request_body == {"body": "Issue comment created by PyGithub"}
    assert created.status == 201
    assert (
        "location",
        "https://api.github.com/repos/PyGithub/PyGithub/issues/comments/8387331",
    ) in (created.response_headers)
    (refused,) = load_replay("Repository.testCollaboratorPermissionNoPushAccess")
    assert refused.status == 403
    assert refused.response_body["message"] == (
        "Must have push access to view collaborator permission."
    )


@needs_corpus
def test_parser_rejects_a_broken_record() -> None:
    text = (CORPUS / "github-api" / "PyGithub__Repository.setUp.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    with pytest.raises(ValueError, match="11-line"):
        parse_replay("\n".join(lines[:-2]))
    with pytest.raises(ValueError, match="separator"):
        parse_replay("\n".join([*lines[:10], "junk", *lines[:10]]))


# --- shapes compared with the recordings ----------------------------------------------


def recorded_keys(name: str, verb: str, suffix: str) -> set[str]:
    body = recorded_body(name, verb, suffix)
    return set(body[0] if isinstance(body, list) else body)


def test_pull_has_every_recorded_field(gh: FakeGitHub) -> None:
    number = gh.open_pull("alice", files=["submissions/alice/s1.ipynb"])
    status, _, pull = call(gh, "GET", f"pulls/{number}")
    assert status == 200
    recorded = recorded_body("PullRequest1168.testGetPullRequest", "GET", "/pulls/1171")
    assert set(pull) == set(recorded) | {"auto_merge"}  # newer than the 2019 recording
    assert set(pull["head"]) == set(recorded["head"])
    assert set(pull["head"]["repo"]) >= set(recorded["head"]["repo"])
    assert set(pull["user"]) >= set(recorded["user"])
    assert pull["head"]["repo"]["full_name"] == "alice/study-group"
    assert pull["base"]["repo"]["full_name"] == "d2l/study-group"
    assert pull["url"] == f"{gh.api_url}/repos/d2l/study-group/pulls/{number}"
    assert pull["user"] | {"login": "alice", "type": "User"} == pull["user"]


def test_comment_label_issue_permission_and_files_have_recorded_fields(gh: FakeGitHub) -> None:
    number = gh.open_pull("alice", files=[PullFile("a.ipynb", "renamed", previous_filename="b")])
    gh.set_permission("tina", "maintain")
    _, _, comment = call(gh, "POST", f"issues/{number}/comments", {"body": "hi"})
    _, _, labels = call(gh, "POST", f"issues/{number}/labels", {"labels": ["complete"]})
    _, _, issue = call(gh, "POST", "issues", {"title": "Progress tracker", "body": "x"})
    _, _, permission = call(gh, "GET", "collaborators/tina/permission")
    _, _, files = call(gh, "GET", f"pulls/{number}/files")
    assert set(comment) >= recorded_keys("PullRequest.testCreateIssueComment", "POST", "/comments")
    assert set(labels[0]) >= recorded_keys("Issue50.testAddLabelToIssue", "POST", "/labels")
    issue_keys = recorded_keys("Issue572.testIssueAsPullRequest", "GET", "/issues/2")
    assert set(issue) == (issue_keys - {"pull_request"}) | {"node_id"}  # 2017: no node_id yet
    perm_keys = recorded_keys("Repository.testCollaboratorPermission", "GET", "/permission")
    assert set(permission) >= perm_keys
    assert permission["permission"] == "write"
    assert permission["role_name"] == "maintain"
    assert set(files[0]) >= recorded_keys("PullRequest.testGetFiles", "GET", "/files")
    assert files[0]["previous_filename"] == "b"
    assert comment["created_at"].endswith("Z")
    assert len(comment["created_at"]) == 20


def test_pull_issue_carries_pull_request_key(gh: FakeGitHub) -> None:
    number = gh.open_pull("alice")
    _, _, issue = call(gh, "GET", f"issues/{number}")
    recorded = recorded_keys("Issue572.testIssueAsPullRequest", "GET", "/issues/2")
    assert set(issue) == recorded | {"node_id"}
    assert issue["pull_request"]["url"].endswith(f"/pulls/{number}")


def test_repo_and_run_have_recorded_fields(gh: FakeGitHub) -> None:
    from datetime import UTC, datetime

    gh.add_workflow_run("abc", datetime(2020, 8, 7, tzinfo=UTC))
    _, _, repo = call(gh, "GET", "")
    _, _, runs = call(gh, "GET", "actions/runs?head_sha=abc")
    assert set(repo) == recorded_keys("Repository.setUp", "GET", "/PyGithub")
    run_keys = recorded_keys("Artifact.testGetArtifactsFromWorkflow", "GET", "/5138169628")
    assert set(runs["workflow_runs"][0]) == run_keys
    assert runs["workflow_runs"][0]["created_at"] == "2020-08-07T00:00:00Z"


# --- HTTP behaviour ------------------------------------------------------------------------


def test_pagination_links_and_per_page_cap(gh: FakeGitHub) -> None:
    number = gh.open_pull("alice")
    for i in range(250):
        gh.add_comment(number, "bob", f"c{i}")
    status, headers, page = call(gh, "GET", f"issues/{number}/comments?per_page=500")
    assert status == 200
    assert len(page) == 100
    assert 'rel="next"' in headers["Link"]
    assert "page=3" in headers["Link"]
    _, headers, last = call(gh, "GET", f"issues/{number}/comments?per_page=100&page=3")
    assert [c["body"] for c in last] == [f"c{i}" for i in range(200, 250)]
    assert 'rel="next"' not in headers["Link"]
    assert 'rel="prev"' in headers["Link"]


def test_unknown_endpoint_is_a_logged_404(gh: FakeGitHub) -> None:
    status, headers, body = call(gh, "GET", "no/such/thing")
    assert status == 404
    assert body["message"] == "Not Found"
    assert "documentation_url" in body
    assert headers["X-RateLimit-Remaining"].isdigit()
    assert [(r.method, r.status) for r in gh.unhandled()] == [("GET", 404)]


def test_fault_after_apply_changes_state_but_fails(gh: FakeGitHub) -> None:
    number = gh.open_pull("alice")
    gh.fail_next("POST", r"/comments$", 502, after_apply=True)
    status, _, _ = call(gh, "POST", f"issues/{number}/comments", {"body": "x"})
    assert status == 502
    assert gh.comments_on(number) == [("github-actions[bot]", "x")]
    status, _, _ = call(gh, "POST", f"issues/{number}/comments", {"body": "y"})
    assert status == 201


def test_rate_limit_answers(gh: FakeGitHub) -> None:
    gh.rate_limit_next("GET", "study-group$", "secondary", retry_after=7)
    gh.rate_limit_next("GET", "study-group$", "429")
    status, headers, body = call(gh, "GET", "")
    assert (status, headers["Retry-After"]) == (403, "7")
    assert "secondary rate limit" in body["message"]
    assert call(gh, "GET", "")[0] == 429
    assert call(gh, "GET", "")[0] == 200


def test_contents_compare_and_swap(gh: FakeGitHub) -> None:
    put = {"message": "m", "content": base64.b64encode(b"one").decode(), "branch": "main"}
    status, _, created = call(gh, "PUT", "contents/state/a.json", put)
    assert status == 201
    sha = created["content"]["sha"]
    assert call(gh, "PUT", "contents/state/a.json", put)[2]["message"] == (
        'Invalid request.\n\n"sha" wasn\'t supplied.'
    )
    status, _, body = call(gh, "PUT", "contents/state/a.json", {**put, "sha": "0" * 40})
    assert (status, body["message"]) == (409, f"state/a.json does not match {'0' * 40}")
    assert call(gh, "PUT", "contents/state/a.json", {**put, "sha": sha})[0] == 200
    status, _, body = call(gh, "PUT", "contents/x", {**put, "branch": "nope"})
    assert (status, body["message"]) == (404, "Branch nope not found")
    _, _, listing = call(gh, "GET", "contents/state?ref=main")
    assert [e["path"] for e in listing] == ["state/a.json"]
    _, _, got = call(gh, "GET", "contents/state/a.json?ref=main")
    assert base64.b64decode(got["content"]) == b"one"


def test_bodies_over_65536_characters_are_refused(gh: FakeGitHub) -> None:
    number = gh.open_pull("alice")
    status, _, body = call(gh, "POST", f"issues/{number}/comments", {"body": "x" * 65537})
    assert status == 422
    assert body["errors"][0]["message"] == "body is too long (maximum is 65536 characters)"
    assert call(gh, "POST", f"issues/{number}/comments", {"body": "x" * 65536})[0] == 201


def test_permission_404_and_403(gh: FakeGitHub) -> None:
    assert call(gh, "GET", "collaborators/stranger/permission")[0] == 404
    gh.set_token(can_push=False)
    status, _, body = call(gh, "GET", "collaborators/stranger/permission")
    assert (status, body["message"]) == (
        403,
        "Must have push access to view collaborator permission.",
    )


def test_duplicate_label_is_422_already_exists(gh: FakeGitHub) -> None:
    assert call(gh, "POST", "labels", {"name": "late", "color": "fbca04"})[0] == 201
    status, _, body = call(gh, "POST", "labels", {"name": "LATE", "color": "fbca04"})
    assert status == 422
    assert body["errors"][0]["code"] == "already_exists"


def test_user_endpoint_and_installation_tokens(gh: FakeGitHub) -> None:
    assert call(gh, "GET", "/user")[2]["login"] == "github-actions[bot]"
    gh.set_token(installation=True)
    assert call(gh, "GET", "/user")[0] == 403


def test_tree_reports_modes(gh: FakeGitHub) -> None:
    files = [PullFile("s/alice/link", mode="120000"), PullFile("s/alice/sub", mode="160000")]
    number = gh.open_pull("alice", "f" * 40, files)
    _, _, tree = call(gh, "GET", "git/trees/" + "f" * 40 + "?recursive=1")
    modes = {e["path"]: (e["mode"], e["type"]) for e in tree["tree"]}
    assert modes["s/alice/link"] == ("120000", "blob")
    assert modes["s/alice/sub"] == ("160000", "commit")
    assert modes["s"] == ("040000", "tree")
    assert number == 1
