"""GitHub as it really behaves (THREATS 48, 50, 51, 52): identities, branch-level
conflicts, rules, rate limits; GitHubForge and the ledger over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest

from grader.adapters.github import (
    GitHubConfigError,
    GitHubForge,
    RateLimited,
    StateRejected,
    WaitBudget,
)
from grader.adapters.ledger import BACKOFF_CAP_S, Ledger, backoff, shard_of
from grader.core.history import StudentHistory
from grader.ports import StateConflict
from tests.fakegithub import FakeGitHub, PullFile

NB = "submissions/alice/a1.ipynb"


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(owner="d2l", repo="study-group") as fake:
        yield fake


def forge_on(gh: FakeGitHub, sleeps: list[float], **env: str) -> GitHubForge:
    return GitHubForge.from_env(gh.env(**env), sleep=sleeps.append, throttle=False)


def mark(history: StudentHistory, name: str) -> None:
    history.project.clear()
    history.assignments.setdefault(name, [])


# --- THREATS 48: identities -----------------------------------------------------------------


def test_an_apps_token_writes_as_the_app_and_finds_its_own_comment(gh: FakeGitHub) -> None:
    bot = gh.as_app("d2l-grader")
    number = gh.open_pull("alice", "a" * 40, [PullFile(NB)])
    env = {"GRADER_TOKEN": "ghs_app", "GRADER_BOT_LOGIN": bot}
    for body in ("<!-- grader:pr --> v1", "<!-- grader:pr --> v2"):
        with forge_on(gh, [], **env) as forge:
            mine = forge.bot_comments(number)
            if mine:
                forge.edit_comment(mine[0].id, body)
            else:
                forge.create_comment(number, body)
    assert gh.comments_on(number) == [(bot, "<!-- grader:pr --> v2")]
    assert gh.count("GET", r"/user$") == 0  # the login came from the App, not GET /user


def test_an_app_token_without_its_login_is_a_clear_usage_error(gh: FakeGitHub) -> None:
    gh.as_app("d2l-grader")
    with (
        forge_on(gh, [], GRADER_TOKEN="ghs_app") as forge,
        pytest.raises(GitHubConfigError, match="GRADER_BOT_LOGIN") as found,
    ):
        _ = forge.bot_login
    assert found.value.exit_code == 2


def test_a_pat_is_asked_who_it_is_once(gh: FakeGitHub) -> None:
    gh.as_pat("course-bot")
    with forge_on(gh, [], GRADER_TOKEN="ghp_pat") as forge:
        assert forge.bot_login == "course-bot"
        assert forge.bot_login == "course-bot"
    assert gh.count("GET", r"/user$") == 1


# --- THREATS 50: branch-level conflicts ------------------------------------------------------


def test_a_write_that_raced_another_on_the_branch_is_retried_with_backoff(
    gh: FakeGitHub,
) -> None:
    waits: list[float] = []
    with forge_on(gh, []) as forge:
        ledger = Ledger(forge, sleep=waits.append, draw=lambda: 1.0)
        ledger.update("seed", partial(mark, name="a0"))  # the state branch exists
        other = next(f"s{i}" for i in range(200) if shard_of(f"s{i}") != shard_of("alice"))
        ledger.update(other, partial(mark, name="b"))
        gh.conflict_next("grader-state", times=3)  # other files, the same branch
        assert ledger.update("alice", partial(mark, name="a1")).changed
        assert "a1" in ledger.history("alice").assignments
        assert "b" in ledger.history(other).assignments  # nothing lost
    assert waits == [backoff(1, lambda: 1.0), backoff(2, lambda: 1.0), backoff(3, lambda: 1.0)]
    assert waits == sorted(waits)
    assert waits[0] > 0


def test_backoff_is_jittered_and_bounded() -> None:
    assert backoff(1, lambda: 0.0) == 0.0
    assert backoff(30, lambda: 0.999) < BACKOFF_CAP_S
    assert backoff(2, lambda: 0.5) == 2 * backoff(1, lambda: 0.5)


def test_conflicts_that_never_end_fail_with_a_message(gh: FakeGitHub) -> None:
    with forge_on(gh, []) as forge:
        ledger = Ledger(forge, sleep=lambda _s: None)
        ledger.update("seed", partial(mark, name="a0"))
        gh.conflict_next("grader-state", times=1000)
        with pytest.raises(StateConflict, match="re-run this job"):
            ledger.update("alice", partial(mark, name="a1"))


# --- THREATS 51: a rule refuses the write ------------------------------------------------------


@pytest.mark.parametrize("status", [409, 422])
def test_a_rule_violation_fails_loudly_and_is_not_retried(gh: FakeGitHub, status: int) -> None:
    waits: list[float] = []
    with forge_on(gh, []) as forge:
        ledger = Ledger(forge, sleep=waits.append)
        ledger.update("seed", partial(mark, name="a0"))
        gh.protect_branch("grader-state", status=status)
        gh.clear_log()
        with pytest.raises(StateRejected, match="exclude 'grader-state' from that rule") as found:
            ledger.update("alice", partial(mark, name="a1"))
    assert found.value.exit_code == 2
    assert waits == []
    assert gh.count("PUT") == 1


def test_a_rule_on_creating_the_state_branch_fails_loudly(gh: FakeGitHub) -> None:
    gh.protect_branch("grader-state")
    with forge_on(gh, []) as forge, pytest.raises(StateRejected):
        Ledger(forge, sleep=lambda _s: None).update("alice", partial(mark, name="a1"))


# --- THREATS 52: rate-limit waits are capped ----------------------------------------------------


def test_a_primary_limit_reset_beyond_the_cap_fails_visibly(gh: FakeGitHub) -> None:
    sleeps: list[float] = []
    gh.rate_limit_next("GET", r"/pulls/1$", "primary", retry_after=3600)
    number = gh.open_pull("alice", "a" * 40, [PullFile(NB)])
    with forge_on(gh, sleeps) as forge, pytest.raises(RateLimited, match="resets in"):
        forge.get_pull(number)
    assert sleeps == []  # it did not wait an hour


def test_all_the_waits_of_one_command_share_a_budget() -> None:
    budget = WaitBudget(10)
    budget.take(6)
    with pytest.raises(RateLimited, match="waiting budget"):
        budget.take(5)
