"""The forge calls `/grader` commands add: a reaction on a comment, re-running grading.

Both forges, like `tests/test_forge_contract.py`: the local one, and GitHubForge on
the fake server.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from grader.adapters.github import GitHubConfigError, GitHubForge
from grader.adapters.localforge import LocalForge
from tests import test_forge_contract
from tests.fakegithub import FakeGitHub
from tests.test_forge_contract import NB, Driver, GitHubDriver, LocalDriver

T0 = datetime(2020, 8, 7, 10, 0, tzinfo=UTC)


world = test_forge_contract.world  # the same two forges (fixture)


def comment(world: Driver, number: int, author: str, body: str) -> int:
    if isinstance(world, LocalDriver):
        return world.local.post_comment_as(author, number, body).id
    assert isinstance(world, GitHubDriver)
    return world.gh.add_comment(number, author, body)


def reactions(world: Driver, comment_id: int) -> list[str]:
    if isinstance(world, LocalDriver):
        return world.local.reactions_on(comment_id)
    assert isinstance(world, GitHubDriver)
    return [content for _, content in world.gh.state.reactions.get(comment_id, [])]


def test_a_reaction_is_left_once(world: Driver) -> None:
    number = world.open_pull("alice", {NB: b"v1"})
    comment_id = comment(world, number, "tina", "/grader complete")
    world.forge.add_reaction(comment_id, "+1")
    world.forge.add_reaction(comment_id, "+1")  # a retry, or the same command twice
    world.forge.add_reaction(comment_id, "rocket")
    assert reactions(world, comment_id) == ["+1", "rocket"]


def test_rerun_grade_reruns_the_latest_run_of_that_commit(world: Driver) -> None:
    number = world.open_pull("alice", {NB: b"v1"})
    sha = world.forge.get_pull(number).head_sha
    assert world.forge.rerun_grade(sha) is None  # never graded: nothing to re-run
    world.graded(sha, T0)
    world.graded(sha, T0 + timedelta(hours=1))
    run = world.forge.rerun_grade(sha)
    assert run is not None
    assert world.forge.first_graded_at(sha) == T0  # a re-run never moves the submission time
    if isinstance(world, GitHubDriver):
        latest = max(world.gh.state.runs.values(), key=lambda r: r.created_at)
        assert (run, latest.run_attempt) == (latest.id, 2)


def test_rerun_of_a_running_grade_run_counts_as_started(tmp_path: Path) -> None:
    with (
        FakeGitHub(owner="d2l", repo="course") as gh,
        GitHubForge.from_env(gh.env(), sleep=lambda _s: None, throttle=False) as forge,
    ):
        run_id = gh.add_workflow_run("a" * 40, T0, status="in_progress", conclusion=None)
        gh.clear_log()
        assert forge.rerun_grade("a" * 40) == run_id
        assert gh.state.runs[run_id].run_attempt == 1
        assert gh.count("POST") == 0  # GitHub refuses to re-run a running run: not asked


def test_a_reaction_on_a_deleted_comment_is_not_an_error(tmp_path: Path) -> None:
    with (
        FakeGitHub(owner="d2l", repo="course") as gh,
        GitHubForge.from_env(gh.env(), sleep=lambda _s: None, throttle=False) as forge,
    ):
        forge.add_reaction(999_999, "+1")  # 404: the comment is gone
    local = LocalForge(tmp_path / "forge")
    with pytest.raises(KeyError):
        local.add_reaction(999_999, "+1")


def test_a_refused_rerun_names_the_missing_permission() -> None:
    with (
        FakeGitHub(owner="d2l", repo="course") as gh,
        GitHubForge.from_env(gh.env(), sleep=lambda _s: None, throttle=False) as forge,
    ):
        gh.add_workflow_run("b" * 40, T0)
        body = {"message": "Resource not accessible by integration"}
        gh.fail_next("POST", r"/actions/runs/\d+/rerun$", 403, body=body)
        with pytest.raises(GitHubConfigError, match="actions: write"):
            forge.rerun_grade("b" * 40)
