"""The fake GitHub server: recordings parse, shapes match them, HTTP behaves like GitHub."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.corpus import CORPUS, needs_corpus

try:  # tests/ as a package, or tests/ on sys.path (pytest's rootdir-less layout)
    from tests.fakegithub import FakeGitHub, PullFile, load_replay, parse_replay, replay_files
    from tests.fakegithub.replay import recorded_body
    from tests.fakegithub.state import blob_sha
except ModuleNotFoundError:  # pragma: no cover
    from fakegithub import FakeGitHub, PullFile, load_replay, parse_replay, replay_files
    from fakegithub.replay import recorded_body
    from fakegithub.state import blob_sha


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(owner="d2l", repo="study-group") as fake:
        yield fake


def call(
    gh: FakeGitHub, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any, Any]:
    """(status, headers, json body) of one raw request; path below the repo if relative."""
    base = f"/repos/{gh.repository}"
    url = gh.api_url + (path if path.startswith("/") else f"{base}/{path}".rstrip("/"))
    data = None if body is None else json.dumps(body).encode()
    headers = {} if token is None else {"Authorization": f"token {token}"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
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


@needs_corpus
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


# --- GitHub's behaviours (tests/fakegithub/behaviours.py) -----------------------------------

SHA = re.compile(r"[0-9a-f]{40}")
GRADE = ".github/workflows/grade.yml"
AT = datetime(2020, 8, 7, 10, 0, tzinfo=UTC)


def put_file(gh: FakeGitHub, path: str, data: bytes, sha: str | None = None) -> tuple[int, Any]:
    body = {"message": "m", "content": base64.b64encode(data).decode(), "branch": "main"}
    status, _, answer = call(gh, "PUT", f"contents/{path}", body | ({"sha": sha} if sha else {}))
    return status, answer


def test_a_write_racing_another_on_its_branch_is_409_even_for_another_file(
    gh: FakeGitHub,
) -> None:
    gh.allow_branch_races()
    _, created = put_file(gh, "records/a.json", b"a")
    sha = created["content"]["sha"]
    assert put_file(gh, "records/b.json", b"b")[0] == 201  # one after another: no race

    def concurrent_writer() -> None:  # lands after our write arrived, before it is applied
        gh.state.git.set_file("main", "records/c.json", b"c")

    gh.before_next("PUT", "contents/records/a.json", concurrent_writer)
    head_before = gh.state.git.branches["main"]
    status, body = put_file(gh, "records/a.json", b"a2", sha)
    assert status == 409
    assert body["message"] == f"is at {gh.state.git.branches['main']} but expected {head_before}"
    assert gh.branch_files("main")["records/a.json"] == b"a"  # nothing written
    assert put_file(gh, "records/a.json", b"a2", sha)[0] == 200  # the retry lands


def test_branch_races_are_on_unless_a_test_turns_them_off(gh: FakeGitHub) -> None:
    """On by default, as on GitHub; a test may turn them off to isolate something else."""
    _, created = put_file(gh, "records/a.json", b"a")
    gh.before_next("PUT", "contents/", lambda: gh.state.git.set_file("main", "x", b"x"))
    assert put_file(gh, "records/a.json", b"a2", created["content"]["sha"])[0] == 409
    gh.allow_branch_races(False)
    gh.before_next("PUT", "contents/", lambda: gh.state.git.set_file("main", "y", b"y"))
    assert put_file(gh, "records/a.json", b"a2", created["content"]["sha"])[0] == 200


def test_conflict_next_is_a_lost_race_with_a_current_sha(gh: FakeGitHub) -> None:
    _, created = put_file(gh, "records/a.json", b"a")
    sha = created["content"]["sha"]
    gh.conflict_next("main", times=2)
    for _ in range(2):
        status, body = put_file(gh, "records/a.json", b"a2", sha)
        assert status == 409
        moved, seen = re.fullmatch(r"is at (\w+) but expected (\w+)", body["message"]).groups()
        assert moved == gh.state.git.branches["main"] != seen
        assert SHA.fullmatch(seen)
    assert gh.branch_files("main")["records/a.json"] == b"a"
    assert put_file(gh, "records/a.json", b"a2", sha)[0] == 200


def test_a_protected_branch_rejects_writes_and_its_creation(gh: FakeGitHub) -> None:
    gh.protect_branch("main")
    status, body = put_file(gh, "records/a.json", b"a")
    assert status == 409
    assert body["message"] == (
        "Repository rule violations found\n\nChanges must be made through a pull request.\n\n"
    )
    gh.protect_branch(
        "grader-state", status=422, rule="Cannot create ref due to creations being restricted."
    )
    head = gh.state.git.branches["main"]
    status, _, body = call(gh, "POST", "git/refs", {"ref": "refs/heads/grader-state", "sha": head})
    assert (status, body["status"]) == (422, "422")
    assert "creations being restricted" in body["message"]
    assert "grader-state" not in list(gh.branches())


def test_secondary_limits_pace_content_creation(gh: FakeGitHub) -> None:
    number = gh.open_pull("alice")
    gh.enforce_secondary_limits()
    comment = {"body": "x"}
    assert all(call(gh, "POST", f"issues/{number}/comments", comment)[0] == 201 for _ in range(80))
    status, headers, body = call(gh, "POST", f"issues/{number}/comments", comment)
    assert (status, headers["Retry-After"]) == (403, "60")
    assert body["message"].startswith("You have exceeded a secondary rate limit")
    assert call(gh, "GET", f"issues/{number}/comments")[0] == 200  # reads are not paced
    gh.advance(30)
    assert call(gh, "POST", f"issues/{number}/comments", comment)[1]["Retry-After"] == "30"
    for _ in range(5):  # 80 a minute for five more minutes: 480 in all
        gh.advance(60)
        assert all(
            call(gh, "POST", f"issues/{number}/comments", comment)[0] == 201 for _ in range(80)
        )
    gh.advance(60)
    assert all(call(gh, "POST", f"issues/{number}/comments", comment)[0] == 201 for _ in range(20))
    status, headers, _ = call(gh, "POST", f"issues/{number}/comments", comment)  # 501st
    assert status == 403
    assert int(headers["Retry-After"]) == 3600 - 6 * 60 - 30
    assert len(gh.comments_on(number)) == 500


def test_secondary_limit_can_answer_429(gh: FakeGitHub) -> None:
    gh.enforce_secondary_limits(per_minute=1, status=429)
    number = gh.open_pull("alice")
    assert call(gh, "POST", f"issues/{number}/comments", {"body": "x"})[0] == 201
    assert call(gh, "POST", f"issues/{number}/comments", {"body": "x"})[0] == 429


def test_too_many_concurrent_requests(gh: FakeGitHub) -> None:
    gh.enforce_secondary_limits(concurrent=2)
    answers: list[int] = []
    with gh.state.lock:  # hold every request in flight until all three have arrived
        threads = [
            threading.Thread(target=lambda: answers.append(call(gh, "GET", "")[0]))
            for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 5
        while gh._in_flight < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 200, 403]  # the first served saw three in flight


def test_primary_limit_counts_down_and_resets(gh: FakeGitHub) -> None:
    gh.enforce_primary_limit(3)
    start = int(gh.clock.now())
    remaining = [call(gh, "GET", "")[1]["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    status, headers, body = call(gh, "GET", "")
    assert (status, headers["X-RateLimit-Remaining"]) == (403, "0")
    assert headers["X-RateLimit-Reset"] == str(start + 3600)
    assert body["message"].startswith("API rate limit exceeded")
    gh.advance(3600)
    status, headers, _ = call(gh, "GET", "")
    assert (status, headers["X-RateLimit-Remaining"]) == (200, "2")


def test_an_app_installation_token_is_its_bot(gh: FakeGitHub) -> None:
    number = gh.open_pull("alice")
    assert gh.as_app("course-grader") == "course-grader[bot]"
    status, _, body = call(gh, "GET", "/user")
    assert (status, body["message"]) == (403, "Resource not accessible by integration")
    _, _, comment = call(gh, "POST", f"issues/{number}/comments", {"body": "hi"})
    assert (comment["user"]["login"], comment["user"]["type"]) == ("course-grader[bot]", "Bot")
    _, _, issue = call(gh, "POST", "issues", {"title": "tracker"})
    assert issue["user"]["login"] == "course-grader[bot]"


def test_a_personal_token_is_its_user(gh: FakeGitHub) -> None:
    number = gh.open_pull("alice")
    gh.as_pat("ta-robot")
    status, _, user = call(gh, "GET", "/user")
    assert (status, user["login"], user["type"]) == (200, "ta-robot", "User")
    _, _, comment = call(gh, "POST", f"issues/{number}/comments", {"body": "hi"})
    assert (comment["user"]["login"], comment["user"]["type"]) == ("ta-robot", "User")
    gh.as_actions()
    assert call(gh, "GET", "/user")[0] == 403


def test_installation_tokens_expire_after_an_hour(gh: FakeGitHub) -> None:
    token = gh.mint_installation_token()
    assert call(gh, "GET", "", token=token)[0] == 200
    status, _, body = call(gh, "GET", "")
    assert (status, body["message"]) == (401, "Bad credentials")
    gh.advance(3600)
    assert call(gh, "GET", "", token=token)[0] == 401
    assert call(gh, "GET", "", token=gh.mint_installation_token())[0] == 200


def test_a_run_starts_after_it_is_created_and_a_rerun_keeps_created_at(gh: FakeGitHub) -> None:
    run_id = gh.add_workflow_run("a" * 40, AT)
    _, _, run = call(gh, "GET", f"actions/runs/{run_id}")
    assert run["created_at"] == "2020-08-07T10:00:00Z"
    assert run["run_started_at"] == "2020-08-07T10:00:07Z"
    assert (run["run_attempt"], run["previous_attempt_url"]) == (1, None)
    assert gh.rerun(run_id, datetime(2020, 8, 9, tzinfo=UTC), conclusion="failure") == 2
    _, _, listed = call(gh, "GET", f"actions/runs?head_sha={'a' * 40}")
    (run,) = listed["workflow_runs"]
    assert (run["run_attempt"], run["conclusion"]) == (2, "failure")
    assert run["created_at"] == "2020-08-07T10:00:00Z"
    assert run["run_started_at"] == "2020-08-09T00:00:00Z"
    assert run["previous_attempt_url"].endswith(f"/actions/runs/{run_id}/attempts/1")
    _, _, first = call(gh, "GET", f"actions/runs/{run_id}/attempts/1")
    assert (first["run_attempt"], first["conclusion"]) == (1, "success")
    assert first["run_started_at"] == "2020-08-07T10:00:07Z"
    assert call(gh, "GET", f"actions/runs/{run_id}/attempts/3")[0] == 404


def test_a_run_awaiting_approval(gh: FakeGitHub) -> None:
    run_id = gh.awaiting_approval("b" * 40, AT, head_repo="mallory/study-group")
    _, _, run = call(gh, "GET", f"actions/runs/{run_id}")
    assert (run["status"], run["conclusion"]) == ("completed", "action_required")
    assert run["head_repository"]["full_name"] == "mallory/study-group"


@pytest.mark.parametrize(
    ("form", "path"),
    [
        ("plain", GRADE),
        ("ref", f"{GRADE}@refs/heads/main"),
        ("repo", f"d2l/study-group/{GRADE}@refs/heads/main"),
    ],
)
def test_workflow_run_path_forms(gh: FakeGitHub, form: str, path: str) -> None:
    run_id = gh.add_workflow_run("c" * 40, AT, path_form=form)
    _, _, run = call(gh, "GET", f"actions/runs/{run_id}")
    assert run["path"] == path
    assert gh.workflow_run(run_id).path == path  # for the workflow_run event a test sends
    _, _, found = call(gh, "GET", "actions/workflows/grade.yml/runs")
    assert [r["id"] for r in found["workflow_runs"]] == [run_id]


def test_a_pull_request_run_executes_the_prs_own_workflow(gh: FakeGitHub) -> None:
    gh.add_file("main", GRADE, b"name: grade # trusted")
    forged = PullFile(GRADE, "modified", content=b"name: grade # forged")
    mallory = gh.open_pull("mallory", "d" * 40, [forged, PullFile("submissions/mallory/a1.ipynb")])
    alice = gh.open_pull("alice", "e" * 40, [PullFile("submissions/alice/a1.ipynb")])
    forged_run = gh.add_workflow_run("d" * 40, AT, head_repo="mallory/study-group")
    honest_run = gh.add_workflow_run("e" * 40, AT, head_repo="alice/study-group")
    assert gh.workflow_used(forged_run) == b"name: grade # forged"
    assert not gh.ran_default_workflow(forged_run)
    assert gh.workflow_used(honest_run) == b"name: grade # trusted"
    assert gh.ran_default_workflow(honest_run)
    push_run = gh.add_workflow_run("d" * 40, AT, event="push")  # push runs use the default's
    assert gh.ran_default_workflow(push_run)
    assert (mallory, alice) == (1, 2)


def test_compare_lists_a_commits_own_changes_from_the_base(gh: FakeGitHub) -> None:
    gh.add_file("main", "submissions/bob/a1.ipynb", b'{"cells": []}')
    gh.add_file("main", GRADE, b"name: grade")
    base = gh.state.git.branches["main"]
    first = [
        PullFile("submissions/alice/a1.ipynb"),
        PullFile(GRADE, "modified", content=b"name: forged"),
        PullFile(
            "submissions/alice/a0.ipynb", "renamed", previous_filename="submissions/bob/a1.ipynb"
        ),
    ]
    number = gh.open_pull("alice", "1" * 40, first)
    gh.push(number, "2" * 40, [PullFile("submissions/alice/a1.ipynb")])  # reverts the rest
    status, _, compared = call(gh, "GET", f"compare/main...{'1' * 40}")
    assert status == 200
    files = {f["filename"]: f for f in compared["files"]}
    assert {name: f["status"] for name, f in files.items()} == {
        GRADE: "modified",
        "submissions/alice/a0.ipynb": "renamed",
        "submissions/alice/a1.ipynb": "added",
    }
    assert files["submissions/alice/a0.ipynb"]["previous_filename"] == "submissions/bob/a1.ipynb"
    assert files[GRADE]["sha"] == blob_sha(b"name: forged")
    assert compared["merge_base_commit"]["sha"] == base
    assert (compared["status"], compared["ahead_by"], compared["behind_by"]) == ("ahead", 1, 0)
    _, _, later = call(gh, "GET", f"compare/main...alice:{'2' * 40}")
    assert [f["filename"] for f in later["files"]] == ["submissions/alice/a1.ipynb"]
    assert later["ahead_by"] == 2  # the first commit is in the head's history
    assert call(gh, "GET", f"compare/main...{'9' * 40}")[0] == 404


def test_compare_after_the_base_moved_is_diverged(gh: FakeGitHub) -> None:
    number = gh.open_pull("alice", "3" * 40, [PullFile("submissions/alice/a1.ipynb")])
    gh.add_file("main", "README.md", b"# moved on\n")
    _, _, compared = call(gh, "GET", f"compare/main...{'3' * 40}")
    assert (compared["status"], compared["ahead_by"], compared["behind_by"]) == ("diverged", 1, 1)
    assert [f["filename"] for f in compared["files"]] == ["submissions/alice/a1.ipynb"]
    assert number == 1


def test_a_pr_from_a_deleted_fork_has_a_null_head_repo(gh: FakeGitHub) -> None:
    number = gh.open_pull("alice", head_repo=None)
    _, _, listed = call(gh, "GET", "pulls")
    _, _, pull = call(gh, "GET", f"pulls/{number}")
    assert listed[0]["head"]["repo"] is None
    assert pull["head"]["repo"] is None
    assert pull["base"]["repo"]["full_name"] == "d2l/study-group"
