"""Which workflow a `workflow_run` event names (THREATS 3, 49).

GitHub's OpenAPI description documents `workflow_run.path` as
`.github/workflows/build.yml@main`, with `owner/repo/.github/workflows/build.yml@main`
in the field's example, while payloads captured from real runs carry the bare
path. All three name the same workflow file; only this repository's own file
is the grade workflow (a fork may add a workflow with the same name).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["WorkflowRun", "workflow_file"]


def workflow_file(path: str | None, repository: str) -> str | None:
    """The workflow file `path` names in `repository` ("owner/name"), or None.

    Accepts `P`, `P@ref` and `owner/repo/P@ref`; a path naming another
    repository's file gives None.
    """
    if not path:
        return None
    file, _, _ref = path.partition("@")
    if file.startswith(".github/"):
        return file
    owner, _, rest = file.partition("/")
    name, _, inner = rest.partition("/")
    if f"{owner}/{name}".lower() != repository.lower() or not inner.startswith(".github/"):
        return None
    return inner


@dataclass(frozen=True)
class WorkflowRun:
    """One workflow run as GitHub lists it (`GET /repos/{o}/{r}/actions/runs`)."""

    id: int
    path: str  # as GitHub writes it: P, P@ref or owner/repo/P@ref
    event: str
    head_sha: str
    head_repo: str | None
    head_ref: str | None
    created_at: datetime  # the first attempt's creation: a re-run keeps it
    status: str  # queued | in_progress | completed | ...
    conclusion: str | None  # success | failure | cancelled | action_required | ...
    attempt: int = 1
