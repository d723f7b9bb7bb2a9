"""GitHub mode: every open PR of a record shows the record's current decision.

A student who fixes an on-time incomplete in a new PR must not keep an older
PR saying "incomplete, fix and push again". The refresh costs requests only when
the record's decision changed and another PR handed it in.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.cli.common import OK
from tests import e2e_support
from tests.e2e_support import IN_GRACE, WRONG, World

pytestmark = pytest.mark.kernel
world = e2e_support.world  # fixtures
real_artifacts = e2e_support.real_artifacts


def test_a_newer_pr_completing_the_record_rewrites_the_older_one(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    old, first = world.submit("alice", "1" * 40, content=WRONG)
    assert world.publish(real_artifacts["wrong"], first) == OK
    assert world.gh.labels_on(old) == ["incomplete"]
    assert "push again" in world.sticky(old)
    world.gh.clear_log()
    new, second = world.submit("alice", "2" * 40, at=IN_GRACE, head_ref="a1-again")
    assert new != old
    assert world.publish(real_artifacts["complete"], second) == OK
    cost = len(world.gh.requests)
    assert world.gh.labels_on(new) == ["complete"]
    assert world.gh.labels_on(old) == ["complete"]
    body = world.sticky(old)
    assert f"This assignment was completed in #{new}." in body
    assert "push again" not in body
    assert world.facts(old)["status"] == "complete"
    assert world.facts(old)["pr"] == new
    assert len(world.bot_comments(old)) == 1
    print(f"\nrequests for a push that completes a record with an older open PR: {cost}")
    # The push itself costs what it always does (11 in the grace window: GitHub's runs are
    # asked for the trusted time); the older PR's view costs 4 more: read the PR (labels,
    # open?), read its comments, edit the bot's comment, set its labels.
    on_old = [
        f"{r.method} {r.path.rsplit('/', 2)[-2]}/{r.path.rsplit('/', 1)[-1]}"
        for r in world.gh.requests
        if f"/pulls/{old}" in r.path or f"/issues/{old}/" in r.path or r.method == "PATCH"
    ]
    assert on_old == [
        f"GET pulls/{old}",
        f"GET {old}/comments",
        f"PATCH comments/{on_old[2].rsplit('/', 1)[-1]}",
        f"PUT {old}/labels",
    ]
    assert cost == 11 + 4
    # A re-run of the same publish changes no decision: nothing is written anywhere.
    world.gh.clear_log()
    assert world.publish(real_artifacts["complete"], second) == OK
    assert world.writes() == []


def test_a_push_that_changes_no_decision_leaves_other_prs_alone(
    world: World, real_artifacts: dict[str, Path]
) -> None:
    old, first = world.submit("alice", "1" * 40, content=WRONG)
    assert world.publish(real_artifacts["wrong"], first) == OK
    new, second = world.submit("alice", "2" * 40, at=IN_GRACE, head_ref="a1-again")
    assert world.publish(real_artifacts["complete"], second) == OK
    world.gh.clear_log()
    # A worse push to the new PR: complete never goes back, so the older PR is not touched.
    _, third = world.submit("alice", "3" * 40, number=new, content=WRONG, at=IN_GRACE)
    assert world.publish(real_artifacts["wrong"], third) == OK
    touched = {r.path for r in world.gh.requests}
    assert not any(f"/issues/{old}/" in p or p.endswith(f"/pulls/{old}") for p in touched)
    assert "never taken back" in world.sticky(new)
