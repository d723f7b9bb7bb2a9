"""The conformance check itself: it finds each kind of departure from GitHub's OpenAPI
description, the reviewed exceptions cover only what they say, and the recorder keeps
what the check needs. (The suite's own traffic is checked at session end: conftest.)"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.fakegithub import FakeGitHub, conformance, recorder

CONTENTS = "PUT /repos/{owner}/{repo}/contents/{path}"


@pytest.fixture(scope="module")
def description() -> conformance.Description:
    started = time.monotonic()
    loaded = conformance.Description.load()
    assert time.monotonic() - started < 10  # 13 MB of JSON: about half a second here
    return loaded


def exchange(method: str, path: str, status: int | None = 200, **kw: Any) -> dict[str, Any]:
    return {"method": method, "path": path, "query": [], "request": None, "status": status,
            "response": None, "test": "here"} | kw  # fmt: skip


def kinds(description: conformance.Description, **kw: Any) -> list[tuple[str, str]]:
    return [(p.kind, p.where) for p in conformance.check(description, exchange(**kw))]


def test_routes_match_the_most_specific_template(description: conformance.Description) -> None:
    op, params = description.match("PUT", "/repos/d2l/study-group/contents/records/a b.json")
    assert op.route == CONTENTS
    assert params == {"owner": "d2l", "repo": "study-group", "path": "records/a b.json"}
    comment, _ = description.match("GET", "/repos/o/r/issues/comments/12")
    assert comment.template == "/repos/{owner}/{repo}/issues/comments/{comment_id}"
    assert description.match("GET", "/repos/o/r/no/such/thing") is None


def test_an_undocumented_route_and_method(description: conformance.Description) -> None:
    assert kinds(description, method="GET", path="/repos/o/r/no/such") == [("route", "path")]
    assert kinds(description, method="PATCH", path="/repos/o/r/pulls/1/files") == [
        ("route", "path")
    ]


def test_query_parameters_are_declared_and_valid(description: conformance.Description) -> None:
    found = kinds(description, method="GET", path="/repos/o/r/pulls",
                  query=[["state", "open"], ["per_page", "lots"], ["creator", "x"]])  # fmt: skip
    assert found == [("query", "per_page"), ("query", "creator")]
    assert kinds(description, method="GET", path="/repos/o/r/pulls/abc") == [
        ("path", "pull_number")
    ]


def test_request_bodies(description: conformance.Description) -> None:
    found = kinds(description, method="POST", path="/repos/o/r/issues", status=201,
                  request={"body": "no title"})  # fmt: skip
    assert found == [("request", "$")]  # 'title' is a required property
    assert kinds(description, method="GET", path="/repos/o/r", request={"x": 1}) == [
        ("request", "$")
    ]
    labels = kinds(description, method="POST", path="/repos/o/r/issues/1/labels",
                   request={"labels": ["a"]})  # fmt: skip
    assert labels == []


def test_statuses_and_response_bodies(description: conformance.Description) -> None:
    assert kinds(description, method="GET", path="/repos/o/r/pulls/1", status=418) == [
        ("status", "status")
    ]
    label = {"id": 1, "node_id": "x", "url": "https://api.github.com/l", "name": 7,
             "description": None, "color": "ededed", "default": False}  # fmt: skip
    found = kinds(description, method="GET", path="/repos/o/r/labels/x", response=label)
    assert found == [("response", "$.name")]
    listed = kinds(description, method="GET", path="/repos/o/r/labels", response=[label, label])
    assert listed == [("response", "$[0].name"), ("response", "$[1].name")]


def test_an_injected_fault_checks_only_the_request(description: conformance.Description) -> None:
    fault = exchange("GET", "/repos/o/r/pulls/1", None, response={"message": "Server Error"})
    assert conformance.check(description, fault) == []
    fault["query"] = [["bogus", "1"]]
    assert [p.kind for p in conformance.check(description, fault)] == ["query"]


def test_every_exception_has_reason_and_evidence() -> None:
    entries = conformance.load_exceptions()
    assert entries
    assert all(e.reason and e.evidence for e in entries)
    assert all(
        e.kind in {"route", "path", "query", "request", "status", "response"} for e in entries
    )


def test_an_exception_without_evidence_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "exceptions.yml"
    bad.write_text("- {kind: status, route: GET /x, reason: because}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks evidence"):
        conformance.load_exceptions(bad)


def test_exceptions_cover_only_their_own_route(description: conformance.Description) -> None:
    exceptions = conformance.load_exceptions()
    bare = {"request": ["complete"]}
    allowed = exchange("POST", "/repos/o/r/issues/1/labels", **bare)
    elsewhere = exchange("POST", "/repos/o/r/labels", 201, **bare)
    report = conformance.run([allowed, elsewhere], description, exceptions)
    (problem,) = report.examples.values()
    assert (problem.route, problem.where) == ("POST /repos/{owner}/{repo}/labels", "$")
    assert report.failed


def write_recording(path: Path, exchanges: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in exchanges), encoding="utf-8")
    return path


def test_the_standalone_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = exchange("GET", "/repos/o/r/pulls", query=[["state", "open"]], response=[])
    bad = exchange("GET", "/repos/o/r/pulls", query=[["sate", "open"]], response=[])
    assert conformance.main([str(write_recording(tmp_path / "good.jsonl", [good]))]) == 0
    assert conformance.main([str(write_recording(tmp_path / "bad.jsonl", [good, bad]))]) == 1
    out = capsys.readouterr().out
    assert "[query] GET /repos/{owner}/{repo}/pulls at sate: undeclared query parameter" in out
    assert conformance.main([]) == 2


@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's exchanges alone (the session's recording resumes afterwards)."""
    path = tmp_path / "recording.jsonl"
    monkeypatch.setenv(recorder.ENV, str(path))
    return path


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code


def test_the_recorder_keeps_requests_answers_and_marks_faults(recording: Path) -> None:
    with FakeGitHub() as gh:
        repo = f"{gh.api_url}/repos/{gh.repository}"
        assert get(f"{repo}/pulls?state=open") == 200
        assert get(f"{repo}/pulls?state=open") == 200  # the same exchange: recorded once
        gh.fail_next("GET", r"/issues$", 502)
        assert get(f"{repo}/issues") == 502
        assert get(f"{gh.web_url}/_codeload/main") == 200  # not an API request
    lines = recorder.read(recording)
    assert [(e["path"], e["query"], e["status"]) for e in lines] == [
        ("/repos/d2l/study-group/pulls", [["state", "open"]], 200),
        ("/repos/d2l/study-group/issues", [], None),
    ]
    assert lines[0]["response"] == []
    assert lines[0]["test"].endswith("test_the_recorder_keeps_requests_answers_and_marks_faults")


def test_the_description_is_the_pinned_package() -> None:
    assert conformance.installed_version() == conformance.pinned_version()
    assert conformance.ensure_description() == conformance.DESCRIPTION


def test_a_grader_bug_entry_allows_for_now_and_is_named(
    tmp_path: Path, description: conformance.Description
) -> None:
    path = tmp_path / "exceptions.yml"
    path.write_text(
        "- kind: query\n  route: GET /repos/{owner}/{repo}/pulls\n  where: sate\n"
        "  reason: a typo\n  evidence: this test\n  grader-bug: to fix\n",
        encoding="utf-8",
    )
    exceptions = conformance.load_exceptions(path)
    bad = exchange("GET", "/repos/o/r/pulls", query=[["sate", "open"]], response=[])
    report = conformance.run([bad], description, exceptions)
    assert not report.failed
    assert report.lines(exceptions)[-1] == (
        "  grader-bug (allowed for now): [query] GET /repos/{owner}/{repo}/pulls sate"
    )
