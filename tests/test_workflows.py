"""Structural guards on .github/workflows (ARCHITECTURE section 2, THREATS 1-8, 12, 13).

Each check is a function returning the problems it finds, so the same check is
run on the real workflows (no problems) and on a copy with one protection
removed (a problem): a guard that cannot fail guards nothing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
PINS_DOC = ROOT.parent / "shared" / "design" / "actions-pins.md"

# From actions-pins.md (the design doc is not beside the repository on GitHub;
# test_pins_match_design_doc cross-checks when it is).
PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/download-artifact": ("3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
}
# Pins beyond actions-pins.md, each with where its SHA was read.
ADDED_PINS = {
    # The commit of tag v3.1.1 in actions/create-github-app-token (runs on node24).
    "actions/create-github-app-token": ("1b10c78c7865c340bc4f6099eb2f838309f1e8c3", "v3.1.1"),
}
LOCAL_ACTIONS = ROOT / ".github" / "actions"
EXPECTED = {"grade", "publish", "ta-command", "reconcile", "ci", "regrade"}
PRIVILEGED = ("publish", "ta-command", "reconcile", "regrade")

Workflow = dict[str, Any]


def load(name: str) -> Workflow:
    data = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def triggers(wf: Workflow) -> dict[str, Any]:
    # PyYAML (YAML 1.1) reads the bare key `on` as the boolean True.
    on = wf.get(True, wf.get("on"))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    assert isinstance(on, dict)
    return on


def steps(wf: Workflow) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in wf.get("jobs", {}).items():
        for step in job.get("steps", []):
            yield job_id, step


def checkouts(wf: Workflow) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, step in steps(wf):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            yield job_id, step


# --- checks: each returns a list of problems ---------------------------------


def no_pull_request_target(wf: Workflow) -> list[str]:
    return ["pull_request_target trigger"] if "pull_request_target" in triggers(wf) else []


def pinned_uses(wf: Workflow) -> list[str]:
    problems = []
    for job_id, step in steps(wf):
        uses = step.get("uses")
        if uses is not None:
            problems += [f"{job_id}: {p}" for p in _pin_problems(str(uses))]
    return problems


def _pin_problems(uses: str) -> list[str]:
    """A remote action pinned to its reviewed SHA; a local one whose own steps are."""
    if uses.startswith("./"):
        local = ROOT / uses / "action.yml"
        if not local.is_file():
            return [f"{uses}: no such local action"]
        data = yaml.safe_load(local.read_text(encoding="utf-8"))
        inner = [str(s["uses"]) for s in data["runs"].get("steps", []) if "uses" in s]
        return [f"{uses} -> {p}" for u in inner for p in _pin_problems(u)]
    action, _, ref = uses.partition("@")
    pin = PINS.get(action) or ADDED_PINS.get(action)
    if pin is None:
        return [f"{uses}: action not in actions-pins.md"]
    return [] if ref == pin[0] else [f"{uses}: not pinned to {pin[0]}"]


def empty_top_permissions(wf: Workflow) -> list[str]:
    return [] if wf.get("permissions") == {} else ["top-level permissions is not {}"]


def checkout_without_credentials(wf: Workflow) -> list[str]:
    return [
        f"{job_id}: checkout keeps credentials"
        for job_id, step in checkouts(wf)
        if (step.get("with") or {}).get("persist-credentials") is not False
    ]


def no_expressions_in_run(wf: Workflow) -> list[str]:
    """THREATS 8: untrusted values reach the shell only through `env:`."""
    return [
        f"{job_id}: expression in run: {step.get('name', step['run'][:40])!r}"
        for job_id, step in steps(wf)
        if "run" in step and "${{" in str(step["run"])
    ]


def unprivileged_jobs(wf: Workflow, jobs: tuple[str, ...]) -> list[str]:
    problems = []
    for job_id in jobs:
        job = wf["jobs"][job_id]
        if job.get("permissions", {}) != {}:
            problems.append(f"{job_id}: has token scopes {job['permissions']}")
        if "secrets." in yaml.safe_dump(job):
            problems.append(f"{job_id}: uses secrets")
    return problems


def trusted_checkouts_only(wf: Workflow) -> list[str]:
    """Privileged workflows check out the default branch: no ref, no repository."""
    problems = [
        f"{job_id}: checkout chooses {key}"
        for job_id, step in checkouts(wf)
        for key in ("ref", "repository")
        if key in (step.get("with") or {})
    ]
    for bad in ("workflow_run.head_sha", "workflow_run.head_branch", "head_repository"):
        if bad in yaml.safe_dump(wf):
            problems.append(f"mentions {bad}")
    return problems


def timeouts(wf: Workflow) -> list[str]:
    return [
        f"{job_id}: no timeout-minutes"
        for job_id, job in wf["jobs"].items()
        if not isinstance(job.get("timeout-minutes"), int)
    ]


def body_only_in_if(wf: Workflow) -> list[str]:
    """The comment body may be tested in `if:`, never passed to a step."""
    return [
        f"{job_id}: comment body passed to a step"
        for job_id, step in steps(wf)
        if "comment.body" in yaml.safe_dump(step)
    ]


CHECKS = [
    no_pull_request_target,
    pinned_uses,
    empty_top_permissions,
    checkout_without_credentials,
    no_expressions_in_run,
    timeouts,
]


# --- the real workflows -------------------------------------------------------


def test_expected_workflows_exist() -> None:
    assert {p.stem for p in WORKFLOWS.glob("*.yml")} == EXPECTED
    assert not list(WORKFLOWS.glob("*.yaml"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_every_workflow(name: str, check: Any) -> None:
    assert check(load(name)) == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_pull_request_target_anywhere(name: str) -> None:
    # Anywhere in keys or values (comments may name it, to warn against it).
    assert "pull_request_target" not in yaml.safe_dump(load(name))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pins_carry_their_tag_in_a_comment(name: str) -> None:
    text = (WORKFLOWS / f"{name}.yml").read_text(encoding="utf-8")
    for line in text.splitlines():
        found = re.search(r"uses:\s*([\w./-]+)@(\S+)(.*)", line)
        if found:
            action, sha, rest = found.groups()
            assert re.fullmatch(r"[0-9a-f]{40}", sha), line
            assert rest.strip() == f"# {PINS[action][1]}", line


def test_grade_is_unprivileged_pull_request_only() -> None:
    wf = load("grade")
    assert set(triggers(wf)) == {"pull_request"}
    # Every PR into main: a misplaced notebook must be answered (issue: nothing unanswered).
    assert triggers(wf)["pull_request"]["branches"] == ["main"]
    assert "paths" not in triggers(wf)["pull_request"]
    assert unprivileged_jobs(wf, tuple(wf["jobs"])) == []
    text = (WORKFLOWS / "grade.yml").read_text(encoding="utf-8")
    assert "secrets." not in text
    assert "github.token" not in text


def test_grade_runs_base_code_on_head_submissions() -> None:
    wf = load("grade")
    refs = {step["with"]["path"]: step["with"] for _, step in checkouts(wf)}
    assert refs["base"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert refs["head"]["ref"] == "${{ github.event.pull_request.head.sha }}"
    assert refs["head"]["sparse-checkout"] == "submissions"
    runs = "\n".join(str(step.get("run", "")) for _, step in steps(wf))
    assert "pip install ./base" in runs
    assert "--course base" in runs
    upload = next(s for _, s in steps(wf) if "upload-artifact" in str(s.get("uses")))
    assert upload["with"]["if-no-files-found"] == "error"


def test_publish_runs_trusted_code_for_the_grade_workflow() -> None:
    wf = load("publish")
    assert triggers(wf)["workflow_run"] == {
        "workflows": [load("grade")["name"]],
        "types": ["completed"],
    }
    assert trusted_checkouts_only(wf) == []
    download = next(s for _, s in steps(wf) if "download-artifact" in str(s.get("uses")))
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    assert download.get("continue-on-error") is True  # THREATS 12: publish reports it


def test_publish_permissions_are_the_minimum() -> None:
    jobs = load("publish")["jobs"]
    assert jobs["publish"]["permissions"] == {
        "actions": "read",
        "contents": "write",
        "issues": "write",
        "pull-requests": "write",
    }
    assert jobs["tracker"]["permissions"] == {"contents": "read", "issues": "write"}


@pytest.mark.parametrize("name", PRIVILEGED)
def test_privileged_workflows_check_out_trusted_code(name: str) -> None:
    assert trusted_checkouts_only(load(name)) == []


@pytest.mark.parametrize("name", PRIVILEGED)
def test_no_dependency_cache_outside_pull_requests(name: str) -> None:
    # Privileged jobs must not restore a cache, and regrade's shards run student
    # code in the default branch's cache scope, which pull requests can read.
    for job_id, step in steps(load(name)):
        assert "cache" not in (step.get("with") or {}), job_id


def test_ta_command_body_never_reaches_a_step() -> None:
    wf = load("ta-command")
    assert set(triggers(wf)) == {"issue_comment"}
    assert body_only_in_if(wf) == []
    condition = wf["jobs"]["command"]["if"]
    assert "contains(github.event.comment.body, '/grader')" in condition
    assert "github.event.comment.user.type != 'Bot'" in condition


def test_regrade_shards_are_unprivileged() -> None:
    wf = load("regrade")
    assert unprivileged_jobs(wf, ("plan", "shard")) == []
    assert wf["jobs"]["apply"]["needs"] == ["plan", "shard"]


@pytest.mark.parametrize("name", ["publish", "ta-command", "regrade"])
def test_tracker_is_a_single_debounced_writer(name: str) -> None:
    tracker = load(name)["jobs"]["tracker"]
    assert tracker["concurrency"] == {"group": "grader-tracker", "cancel-in-progress": False}


def test_ci_skips_submissions_and_is_read_only() -> None:
    wf = load("ci")
    for event in ("push", "pull_request"):
        assert triggers(wf)[event]["paths-ignore"] == ["submissions/**"]
    assert wf["jobs"]["test"]["permissions"] == {"contents": "read"}


@pytest.mark.skipif(not PINS_DOC.exists(), reason="design docs (../shared) not beside the repo")
def test_pins_match_design_doc() -> None:
    text = PINS_DOC.read_text(encoding="utf-8")
    for action, (sha, tag) in PINS.items():
        assert re.search(rf"\|\s*{re.escape(action)}\s*\|\s*{tag}\s*\|\s*`{sha}`", text), action


# --- the guards fail when a protection is removed -----------------------------


def mutated(name: str, change: Any) -> Workflow:
    wf = copy.deepcopy(load(name))
    change(wf)
    return wf


def _first_checkout(wf: Workflow) -> dict[str, Any]:
    return next(step for _, step in checkouts(wf))


def _first_run(wf: Workflow) -> dict[str, Any]:
    return next(step for _, step in steps(wf) if "run" in step)


MUTATIONS = [
    ("grade", lambda wf: wf.update({True: {"pull_request_target": None}}), no_pull_request_target),
    (
        "grade",
        lambda wf: _first_checkout(wf).update(uses="actions/checkout@v7"),
        pinned_uses,
    ),
    ("publish", lambda wf: wf.update(permissions="write-all"), empty_top_permissions),
    (
        "publish",
        lambda wf: _first_checkout(wf)["with"].pop("persist-credentials"),
        checkout_without_credentials,
    ),
    (
        "grade",
        lambda wf: _first_run(wf).update(run='echo "${{ github.event.pull_request.title }}"'),
        no_expressions_in_run,
    ),
    (
        "publish",
        lambda wf: _first_checkout(wf)["with"].update(
            ref="${{ github.event.workflow_run.head_sha }}"
        ),
        trusted_checkouts_only,
    ),
    (
        "ta-command",
        lambda wf: (
            _first_run(wf).setdefault("env", {}).update(BODY="${{ github.event.comment.body }}")
        ),
        body_only_in_if,
    ),
    ("reconcile", lambda wf: wf["jobs"]["reconcile"].pop("timeout-minutes"), timeouts),
]


@pytest.mark.parametrize(
    ("name", "change", "check"), MUTATIONS, ids=lambda x: getattr(x, "__name__", x)
)
def test_guard_catches_removed_protection(name: str, change: Any, check: Any) -> None:
    assert check(load(name)) == []
    assert check(mutated(name, change)) != []


def test_guard_catches_scopes_or_secrets_on_grade() -> None:
    with_scopes = mutated(
        "grade", lambda wf: wf["jobs"]["grade"].update(permissions={"contents": "write"})
    )
    assert unprivileged_jobs(with_scopes, ("grade",)) != []
    with_secret = mutated(
        "grade",
        lambda wf: _first_run(wf).update(env={"T": "${{ secrets.GRADER_TOKEN }}"}),
    )
    assert unprivileged_jobs(with_secret, ("grade",)) != []


# --- THREATS 48: the bot's identity with an App or PAT token -------------------------------


@pytest.mark.parametrize("name", ["publish", "ta-command", "reconcile", "regrade"])
def test_privileged_grader_steps_take_their_token_from_the_token_step(name: str) -> None:
    """The job's own GITHUB_TOKEN stays what it is (github-actions[bot]); an App or PAT
    token goes in GRADER_TOKEN with the login it writes as, so the grader finds its own
    comments and tracking issue (a secret in GITHUB_TOKEN made it look for the wrong bot)."""
    jobs = load(name)["jobs"]
    for job_id, step in steps(load(name)):
        writes = "write" in (jobs[job_id].get("permissions") or {}).values()
        if "grader " not in str(step.get("run", "")) or not writes:
            continue  # only the jobs that write to GitHub speak as the bot
        env = step.get("env") or {}
        assert env.get("GITHUB_TOKEN") == "${{ github.token }}", (job_id, step.get("name"))
        assert env.get("GRADER_TOKEN") == "${{ steps.token.outputs.token }}", job_id
        assert env.get("GRADER_BOT_LOGIN") == "${{ steps.token.outputs.bot-login }}", job_id
        job = load(name)["jobs"][job_id]
        assert any(s.get("id") == "token" for s in job["steps"]), job_id


def test_the_token_action_mints_an_app_token_only_when_configured() -> None:
    data = yaml.safe_load((LOCAL_ACTIONS / "grader-token" / "action.yml").read_text())
    (mint,) = data["runs"]["steps"]
    assert mint["if"] == "${{ inputs.client-id != '' }}"
    assert {k for k in mint["with"] if k.startswith("permission-")} == {
        "permission-actions",
        "permission-contents",
        "permission-issues",
        "permission-pull-requests",
    }
    assert "app-slug" in data["outputs"]["bot-login"]["value"]


def test_a_command_that_changed_nothing_renders_no_tracker() -> None:
    jobs = load("ta-command")["jobs"]
    assert jobs["command"]["outputs"]["changed"] == "${{ steps.apply.outputs.changed }}"
    assert "needs.command.outputs.changed == 'true'" in jobs["tracker"]["if"]


def test_reconcile_runs_when_the_course_or_a_deadline_changes() -> None:
    push = triggers(load("reconcile"))["push"]
    assert push["paths"] == ["exercises/**", "course.yml"]
