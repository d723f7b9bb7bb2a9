"""GitHubForge over real HTTP against the fake GitHub server (no mocking of PyGithub)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from github import GithubException

from grader.adapters.github import (
    ACTIONS_BOT,
    DEFAULT_API_URL,
    GitHubConfigError,
    GitHubForge,
    Settings,
)
from grader.core.model import ChangedFile, Comment, Issue
from grader.ports import StateConflict

try:  # tests/ as a package, or tests/ on sys.path (pytest's rootdir-less layout)
    from tests.fakegithub import FakeGitHub, PullFile
except ModuleNotFoundError:  # pragma: no cover
    from fakegithub import FakeGitHub, PullFile  # type: ignore[no-redef]

T0 = datetime(2020, 8, 7, 10, 0, tzinfo=UTC)
NB = "submissions/alice/section-01.ipynb"
ALREADY_EXISTS = {
    "message": "Validation Failed",
    "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}],
}


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(owner="d2l", repo="study-group") as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def forge(gh: FakeGitHub, sleeps: list[float]) -> Iterator[GitHubForge]:
    with GitHubForge.from_env(gh.env(), sleep=sleeps.append, throttle=False) as made:
        yield made
    gh.clear_log()


def cost(gh: FakeGitHub) -> list[str]:
    """The requests logged so far, as 'METHOD /path status', then forget them."""
    logged = [f"{r.method} {r.path} {r.status}" for r in gh.requests]
    gh.clear_log()
    return logged


# --- configuration --------------------------------------------------------------------


def test_settings_from_actions_env() -> None:
    env = {"GITHUB_REPOSITORY": "d2l/study-group", "GITHUB_TOKEN": "ghs_x"}
    settings = Settings.from_env(env)
    assert settings == Settings("d2l/study-group", "ghs_x", DEFAULT_API_URL, ACTIONS_BOT)


def test_settings_prefer_grader_token_and_bot_override() -> None:
    env = {
        "GITHUB_REPOSITORY": "d2l/study-group",
        "GITHUB_TOKEN": "ghs_x",
        "GRADER_TOKEN": "ghp_y",
        "GITHUB_API_URL": "https://ghe.example/api/v3/",
    }
    settings = Settings.from_env(env)
    assert (settings.token, settings.api_url, settings.bot_login) == (
        "ghp_y",
        "https://ghe.example/api/v3",
        None,
    )
    assert Settings.from_env({**env, "GRADER_BOT_LOGIN": "tutor[bot]"}).bot_login == "tutor[bot]"


@pytest.mark.parametrize(
    "env",
    [
        {"GITHUB_TOKEN": "t"},
        {"GITHUB_REPOSITORY": "nope", "GITHUB_TOKEN": "t"},
        {"GITHUB_REPOSITORY": "a/b"},
    ],
)
def test_settings_refuse_incomplete_env(env: dict[str, str]) -> None:
    with pytest.raises(GitHubConfigError):
        Settings.from_env(env)


def test_bot_is_the_actions_bot_by_default(forge: GitHubForge) -> None:
    assert forge.bot_login == ACTIONS_BOT


def test_bot_login_from_user_endpoint_once(gh: FakeGitHub) -> None:
    gh.as_pat("ta-robot")  # a PAT belongs to a person (or a machine user)
    env = gh.env(GRADER_TOKEN="ghp_pat")
    with GitHubForge.from_env(env, throttle=False) as forge:
        assert forge.bot_login == "ta-robot"
        assert forge.bot_login == "ta-robot"
    assert cost(gh) == ["GET /user 200"]


def test_installation_token_without_bot_login_is_a_clear_error(gh: FakeGitHub) -> None:
    gh.set_token(installation=True)
    with (
        GitHubForge.from_env(gh.env(GRADER_TOKEN="ghs_app"), throttle=False) as forge,
        pytest.raises(GitHubConfigError, match="GRADER_BOT_LOGIN"),
    ):
        _ = forge.bot_login


# --- pull requests -----------------------------------------------------------------------


def test_get_pull_in_one_request(gh: FakeGitHub, forge: GitHubForge) -> None:
    number = gh.open_pull("alice", "a" * 40, [NB], labels=["complete"], title="S1")
    pull = forge.get_pull(number)
    assert (pull.number, pull.author, pull.head_sha, pull.head_repo) == (
        number,
        "alice",
        "a" * 40,
        "alice/study-group",
    )
    assert (pull.state, pull.labels, pull.title) == ("open", ("complete",), "S1")
    assert cost(gh) == [f"GET /repos/d2l/study-group/pulls/{number} 200"]


def test_deleted_fork_has_no_head_repo(gh: FakeGitHub, forge: GitHubForge) -> None:
    number = gh.open_pull("alice", head_repo=None)
    assert forge.get_pull(number).head_repo is None


def test_list_open_pulls_paginates(gh: FakeGitHub, forge: GitHubForge) -> None:
    numbers = [gh.open_pull(f"s{i}") for i in range(150)]
    gh.close_pull(numbers[0])
    gh.clear_log()
    pulls = forge.list_open_pulls()
    assert sorted(p.number for p in pulls) == numbers[1:]
    assert len(cost(gh)) == 2


def test_find_pulls_by_head_reads_one_page(gh: FakeGitHub, forge: GitHubForge) -> None:
    numbers = [gh.open_pull(f"s{i}") for i in range(150)]
    gh.push(numbers[3], "b" * 40)
    gh.clear_log()
    found = forge.find_pulls_by_head("b" * 40, "S3/Study-Group")
    assert [p.number for p in found] == [numbers[3]]
    assert len(cost(gh)) == 1
    assert forge.find_pulls_by_head("b" * 40, "mallory/study-group") == []
    assert forge.find_pulls_by_head("c" * 40, None) == []


def test_list_pull_files_with_modes(gh: FakeGitHub, forge: GitHubForge) -> None:
    files = [
        PullFile(NB),
        PullFile("submissions/alice/run.sh", "modified", mode="100755"),
        PullFile("submissions/alice/link", mode="120000"),
        PullFile("submissions/alice/sub", mode="160000"),
        PullFile("submissions/bob/x.ipynb", "removed"),
        PullFile(
            "submissions/alice/y.ipynb", "renamed", previous_filename="submissions/bob/y.ipynb"
        ),
    ]
    number = gh.open_pull("alice", "d" * 40, files)
    gh.clear_log()
    changed = forge.list_pull_files(number)
    assert changed == [
        ChangedFile(NB, "added", None, "100644"),
        ChangedFile("submissions/alice/run.sh", "modified", None, "100755"),
        ChangedFile("submissions/alice/link", "added", None, "120000"),
        ChangedFile("submissions/alice/sub", "added", None, "160000"),
        ChangedFile("submissions/bob/x.ipynb", "removed", None, None),
        ChangedFile("submissions/alice/y.ipynb", "renamed", "submissions/bob/y.ipynb", "100644"),
    ]
    assert cost(gh) == [
        f"GET /repos/d2l/study-group/pulls/{number}/files 200",
        f"GET /repos/d2l/study-group/git/trees/{'d' * 40} 200",
    ]


def test_list_pull_files_over_100(gh: FakeGitHub, forge: GitHubForge) -> None:
    number = gh.open_pull("alice", files=[f"submissions/alice/{i:03}.ipynb" for i in range(250)])
    gh.clear_log()
    changed = forge.list_pull_files(number)
    assert len(changed) == 250
    assert {c.mode for c in changed} == {"100644"}
    assert len(cost(gh)) == 4  # three pages and one tree


def test_list_pull_files_empty_pull(gh: FakeGitHub, forge: GitHubForge) -> None:
    number = gh.open_pull("alice")
    assert forge.list_pull_files(number) == []


def test_read_file(gh: FakeGitHub, forge: GitHubForge) -> None:
    gh.open_pull("alice", "e" * 40, [PullFile(NB, content=b'{"nbformat": 4}')])
    gh.clear_log()
    assert forge.read_file(NB, "e" * 40) == b'{"nbformat": 4}'
    assert len(cost(gh)) == 1
    assert forge.read_file("submissions/alice/missing.ipynb", "e" * 40) is None
    assert forge.read_file("submissions/alice", "e" * 40) is None  # a folder
    assert forge.read_file(NB, "f" * 40) is None  # no such commit


def test_read_large_file_through_the_blob(gh: FakeGitHub, forge: GitHubForge) -> None:
    gh.routes.max_inline_content = 10
    data = b"x" * 5000
    gh.open_pull("alice", "e" * 40, [PullFile(NB, content=data)])
    gh.clear_log()
    assert forge.read_file(NB, "e" * 40) == data
    assert [line.split("/")[4] for line in cost(gh)] == ["contents", "git"]


# --- labels ---------------------------------------------------------------------------------


def test_ensure_labels_creates_only_missing(gh: FakeGitHub, forge: GitHubForge) -> None:
    gh.add_label("complete", "0e8a16")
    forge.ensure_labels(["complete", "incomplete", "late"])
    assert gh.repo_labels() == ["complete", "incomplete", "late"]
    assert [line.split()[0] for line in cost(gh)] == ["GET", "POST", "POST"]
    forge.ensure_labels(["Complete", "late"])
    assert len(cost(gh)) == 1


def test_ensure_labels_tolerates_a_concurrent_creator(gh: FakeGitHub, forge: GitHubForge) -> None:
    gh.fail_next("POST", r"/labels$", 422, body=ALREADY_EXISTS)
    forge.ensure_labels(["late"])
    gh.fail_next("POST", r"/labels$", 502, after_apply=True)
    forge.ensure_labels(["complete"])  # lost answer: re-posted, 422 already_exists tolerated
    assert gh.repo_labels() == ["complete"]


def test_add_remove_and_set_labels(gh: FakeGitHub, forge: GitHubForge) -> None:
    number = gh.open_pull("alice", labels=["help wanted"])
    gh.clear_log()
    forge.add_labels(number, [])
    assert cost(gh) == []
    forge.add_labels(number, ["incomplete", "late"])
    assert gh.labels_on(number) == ["help wanted", "incomplete", "late"]
    forge.remove_label(number, "late")
    forge.remove_label(number, "late")  # already gone: 404 tolerated
    assert gh.labels_on(number) == ["help wanted", "incomplete"]
    forge.set_labels(number, ["help wanted", "complete"])
    assert gh.labels_on(number) == ["help wanted", "complete"]
    assert len(cost(gh)) == 4


def test_label_names_with_spaces_and_symbols(gh: FakeGitHub, forge: GitHubForge) -> None:
    number = gh.open_pull("alice")
    name = "needs review (&*#$/)"
    forge.add_labels(number, [name])
    forge.remove_label(number, name)
    assert gh.labels_on(number) == []


# --- comments ----------------------------------------------------------------------------------


def test_bot_comments_ignore_students_and_paginate(gh: FakeGitHub, forge: GitHubForge) -> None:
    number = gh.open_pull("alice")
    for i in range(120):
        gh.add_comment(number, "alice", f"<!-- grader: fake {i} -->")
    real = gh.add_comment(number, ACTIONS_BOT, "<!-- grader: real -->")
    gh.clear_log()
    assert forge.bot_comments(number) == [Comment(real, ACTIONS_BOT, "<!-- grader: real -->")]
    assert len(cost(gh)) == 2


def test_create_edit_delete_comment(gh: FakeGitHub, forge: GitHubForge) -> None:
    number = gh.open_pull("alice")
    gh.clear_log()
    created = forge.create_comment(number, "<!-- grader: pr -->\nhello")
    assert created.author == ACTIONS_BOT
    forge.edit_comment(created.id, "<!-- grader: pr -->\nbye")
    assert gh.comments_on(number) == [(ACTIONS_BOT, "<!-- grader: pr -->\nbye")]
    forge.delete_comment(created.id)
    forge.delete_comment(created.id)  # already gone
    assert gh.comments_on(number) == []
    assert [line.split()[0] for line in cost(gh)] == ["POST", "PATCH", "DELETE", "DELETE"]


def test_lost_answer_on_comment_creation_makes_no_duplicate(
    gh: FakeGitHub, forge: GitHubForge, sleeps: list[float]
) -> None:
    number = gh.open_pull("alice")
    gh.fail_next("POST", r"/comments$", 502, after_apply=True)
    created = forge.create_comment(number, "<!-- grader: pr -->")
    assert gh.comments_on(number) == [(ACTIONS_BOT, "<!-- grader: pr -->")]
    assert created.body == "<!-- grader: pr -->"
    assert gh.count("POST") == 1
    assert sleeps == []


def test_dropped_connection_after_comment_creation_makes_no_duplicate(
    gh: FakeGitHub, forge: GitHubForge
) -> None:
    number = gh.open_pull("alice")
    gh.fail_next("POST", r"/comments$", after_apply=True, drop=True)
    forge.create_comment(number, "<!-- grader: pr -->")
    assert gh.comments_on(number) == [(ACTIONS_BOT, "<!-- grader: pr -->")]
    assert gh.count("POST") == 1


def test_dropped_get_is_retried(gh: FakeGitHub, forge: GitHubForge) -> None:
    number = gh.open_pull("alice")
    gh.fail_next("GET", r"/pulls/\d+$", drop=True)
    assert forge.get_pull(number).number == number
    assert gh.count("GET") == 2


def test_comment_creation_failing_before_applying_is_posted_again(
    gh: FakeGitHub, forge: GitHubForge, sleeps: list[float]
) -> None:
    number = gh.open_pull("alice")
    gh.fail_next("POST", r"/comments$", 503, times=2)
    forge.create_comment(number, "hello")
    assert gh.comments_on(number) == [(ACTIONS_BOT, "hello")]
    assert gh.count("POST") == 3
    assert sleeps == [1.0, 2.0]


def test_comment_over_65536_characters_raises(gh: FakeGitHub, forge: GitHubForge) -> None:
    number = gh.open_pull("alice")
    with pytest.raises(GithubException) as caught:
        forge.create_comment(number, "x" * 65537)
    assert caught.value.status == 422
    assert "body is too long" in str(caught.value)
    created = forge.create_comment(number, "short")
    with pytest.raises(GithubException, match="body is too long"):
        forge.edit_comment(created.id, "y" * 70000)


def test_patch_is_retried_on_5xx(gh: FakeGitHub, forge: GitHubForge, sleeps: list[float]) -> None:
    number = gh.open_pull("alice")
    created = forge.create_comment(number, "one")
    gh.fail_next("PATCH", r"/issues/comments/\d+$", 502, times=2)
    forge.edit_comment(created.id, "two")
    assert gh.comments_on(number) == [(ACTIONS_BOT, "two")]
    assert gh.count("PATCH") == 3
    assert len(sleeps) == 2


def test_patch_failing_for_good_raises(gh: FakeGitHub, forge: GitHubForge) -> None:
    number = gh.open_pull("alice")
    created = forge.create_comment(number, "one")
    gh.fail_next("PATCH", r"/issues/comments/\d+$", 502, times=10)
    with pytest.raises((GithubException, OSError)):
        forge.edit_comment(created.id, "two")
    assert gh.comments_on(number) == [(ACTIONS_BOT, "one")]


# --- rate limits ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["secondary", "429"])
def test_throttled_get_waits_retry_after(
    gh: FakeGitHub, forge: GitHubForge, sleeps: list[float], kind: str
) -> None:
    number = gh.open_pull("alice")
    gh.rate_limit_next("GET", r"/pulls/\d+$", kind, retry_after=7)
    assert forge.get_pull(number).author == "alice"
    assert sleeps == [7.0]
    assert gh.count("GET") == 2


@pytest.mark.parametrize("kind", ["secondary", "429"])
def test_throttled_post_is_sent_again_once(
    gh: FakeGitHub, forge: GitHubForge, sleeps: list[float], kind: str
) -> None:
    number = gh.open_pull("alice")
    gh.rate_limit_next("POST", r"/comments$", kind, retry_after=3)
    forge.create_comment(number, "hello")
    assert gh.comments_on(number) == [(ACTIONS_BOT, "hello")]
    assert sleeps == [3.0]


def test_primary_rate_limit_waits_for_reset(
    gh: FakeGitHub, forge: GitHubForge, sleeps: list[float]
) -> None:
    number = gh.open_pull("alice")
    gh.rate_limit_next("GET", r"/pulls/\d+$", "primary", retry_after=30)
    assert forge.get_pull(number).number == number
    assert len(sleeps) == 1
    assert 25 <= sleeps[0] <= 32


def test_secondary_limit_without_retry_after_waits_the_default(
    gh: FakeGitHub, forge: GitHubForge, sleeps: list[float]
) -> None:
    number = gh.open_pull("alice")
    message = {"message": "You have exceeded a secondary rate limit."}
    gh.fail_next("GET", r"/pulls/\d+$", 403, body=message)
    forge.get_pull(number)
    assert sleeps == [60]


def test_plain_403_is_not_retried(gh: FakeGitHub, forge: GitHubForge) -> None:
    gh.set_token(can_push=False)
    with pytest.raises(GithubException) as caught:
        forge.permission("alice")
    assert caught.value.status == 403
    assert gh.count() == 1


# --- issues and permissions ---------------------------------------------------------------------


def test_find_issue_only_the_bots_open_issue(gh: FakeGitHub, forge: GitHubForge) -> None:
    gh.add_issue("Progress tracker", "fake", author="mallory")
    gh.add_issue("Progress tracker (old)", "other")
    closed = gh.add_issue("Progress tracker", "closed")
    gh.issue(closed).state = "closed"
    assert forge.find_issue("Progress tracker") is None
    real = gh.add_issue("Progress tracker", "real")
    gh.add_issue("Progress tracker", "later duplicate")
    gh.clear_log()
    assert forge.find_issue("Progress tracker") == Issue(real, "Progress tracker", "real")
    assert len(cost(gh)) == 1


def test_create_and_edit_issue(gh: FakeGitHub, forge: GitHubForge) -> None:
    issue = forge.create_issue("Progress tracker", "v1")
    forge.edit_issue(issue.number, "v2")
    assert gh.issue(issue.number).body == "v2"
    assert gh.issue(issue.number).author == ACTIONS_BOT
    assert [line.split()[0] for line in cost(gh)] == ["POST", "PATCH"]
    with pytest.raises(GithubException, match="body is too long"):
        forge.edit_issue(issue.number, "é" * 65537)


def test_lost_answer_on_issue_creation_makes_no_duplicate(
    gh: FakeGitHub, forge: GitHubForge
) -> None:
    gh.fail_next("POST", r"/issues$", 500, after_apply=True)
    issue = forge.create_issue("Progress tracker", "v1")
    assert len(gh.issues_titled("Progress tracker")) == 1
    assert issue.title == "Progress tracker"


@pytest.mark.parametrize("role", ["admin", "maintain", "write", "triage", "read"])
def test_permission(gh: FakeGitHub, forge: GitHubForge, role: str) -> None:
    gh.set_permission("Tina", role)
    assert forge.permission("tina") == role
    assert forge.permission("stranger") == "none"
    assert len(cost(gh)) == 2


# --- the state branch -----------------------------------------------------------------------------


def test_state_round_trip_creates_a_root_branch(gh: FakeGitHub, forge: GitHubForge) -> None:
    assert forge.read_state("records/a.json") is None
    assert forge.list_state("") == []
    gh.clear_log()
    version = forge.write_state("records/a.json", '{"a": 1}', None, "grader: a")
    assert [line.split()[0] for line in cost(gh)] == ["PUT", "POST", "POST", "POST"]
    assert gh.branch_files() == {"records/a.json": b'{"a": 1}'}
    assert gh.state.git.commits[gh.state.git.branches["grader-state"]].parents == []
    assert forge.read_state("records/a.json") == ('{"a": 1}', version)
    newer = forge.write_state("records/a.json", '{"a": 2}', version, "grader: a")
    forge.write_state("records/b/c.json", "ü", None, "grader: c")
    assert forge.read_state("records/a.json") == ('{"a": 2}', newer)
    assert forge.read_state("records/b/c.json") is not None
    assert forge.list_state("records/b") == ["records/b/c.json"]
    assert forge.list_state("") == ["records/a.json", "records/b/c.json"]


def test_state_write_costs_one_request_and_none_when_unchanged(
    gh: FakeGitHub, forge: GitHubForge
) -> None:
    version = forge.write_state("a.json", "1", None, "m")
    gh.clear_log()
    version = forge.write_state("a.json", "2", version, "m")
    assert len(cost(gh)) == 1
    assert forge.write_state("a.json", "2", version, "m") == version
    assert cost(gh) == []


def test_stale_version_is_a_conflict(gh: FakeGitHub, forge: GitHubForge) -> None:
    first = forge.write_state("a.json", "1", None, "m")
    forge.write_state("a.json", "2", first, "m")  # another writer wins
    with pytest.raises(StateConflict, match="does not match"):
        forge.write_state("a.json", "3", first, "m")
    with pytest.raises(StateConflict):
        forge.write_state("a.json", "3", None, "m")  # it exists now
    assert gh.branch_files() == {"a.json": b"2"}


def test_state_branch_created_concurrently_is_a_conflict(
    gh: FakeGitHub, forge: GitHubForge
) -> None:
    gh.fail_next("POST", r"/git/refs$", 422, body={"message": "Reference already exists"})
    with pytest.raises(StateConflict):
        forge.write_state("a.json", "1", None, "m")


# --- trusted time ---------------------------------------------------------------------------


def test_first_graded_at_is_the_earliest_grade_run(gh: FakeGitHub, forge: GitHubForge) -> None:
    sha = "a" * 40
    gh.add_workflow_run(sha, T0 + timedelta(hours=5))
    gh.add_workflow_run(sha, T0)
    gh.add_workflow_run(sha, T0 - timedelta(days=3), path=".github/workflows/evil.yml")
    gh.add_workflow_run("b" * 40, T0 - timedelta(days=1))
    gh.clear_log()
    assert forge.first_graded_at(sha) == T0
    assert len(cost(gh)) == 1
    assert forge.first_graded_at("c" * 40) is None


def test_first_graded_at_over_100_runs(gh: FakeGitHub, forge: GitHubForge) -> None:
    sha = "a" * 40
    for i in range(130):
        gh.add_workflow_run(sha, T0 + timedelta(minutes=130 - i))
    assert forge.first_graded_at(sha) == T0 + timedelta(minutes=1)


# --- the per-push budget --------------------------------------------------------------------


def test_publishing_one_graded_push_costs_at_most_ten_requests(
    gh: FakeGitHub, forge: GitHubForge
) -> None:
    for i in range(130):
        gh.open_pull(f"s{i}")
    sha = "f" * 40
    number = gh.open_pull("alice", sha, [NB], labels=["incomplete"])
    gh.add_workflow_run(sha, T0)
    forge.write_state("records/alice.json", "{}", None, "seed")
    gh.clear_log()

    (pull,) = forge.find_pulls_by_head(sha, "alice/study-group")
    files = forge.changed_files(pull.base_ref, sha)
    assert files
    assert forge.read_file(files[0].path, sha) is not None
    assert forge.first_graded_at(sha) == T0
    _, version = forge.read_state("records/alice.json") or ("", "")
    forge.write_state("records/alice.json", '{"done": true}', version, "grader: alice")
    assert forge.bot_comments(number) == []
    forge.create_comment(number, "<!-- grader: pr -->")
    forge.set_labels(number, ["complete"])
    assert len(cost(gh)) <= 10
    assert gh.unhandled() == []


def test_api_url_is_honoured(gh: FakeGitHub) -> None:
    wrong = {**gh.env(), "GITHUB_API_URL": gh.web_url}  # the server, without /api/v3
    with GitHubForge.from_env(wrong, throttle=False) as forge:
        assert forge.permission("alice") == "none"  # 404 everywhere outside the API prefix
    assert [r.status for r in gh.requests] == [404]


# --- the whole ledger in one request --------------------------------------------------


def test_read_state_all_is_one_request_whatever_the_shard_count(
    gh: FakeGitHub, forge: GitHubForge
) -> None:
    assert forge.read_state_all("records/") == {}  # no state branch yet
    gh.clear_log()
    version = None
    for i in range(40):
        forge.write_state(f"records/shard-{i:02d}.json", f'{{"n": {i}}}', version, "seed")
    forge.write_state("other/file.txt", "x", None, "seed")
    gh.clear_log()
    files = forge.read_state_all("records/")
    assert len(files) == 40
    assert files["records/shard-07.json"] == '{"n": 7}'
    assert cost(gh) == ["GET /repos/d2l/study-group/tarball/grader-state 302"]


def test_ledger_all_reads_the_archive_once(gh: FakeGitHub, forge: GitHubForge) -> None:
    from grader.adapters.ledger import Ledger

    ledger = Ledger(forge)
    for login in ("alice", "bob", "carol", "dave"):
        ledger.update(login, lambda h: h.project.clear())
    gh.clear_log()
    assert sorted(dict(ledger.all())) == ["alice", "bob", "carol", "dave"]
    assert len(gh.requests) == 1
