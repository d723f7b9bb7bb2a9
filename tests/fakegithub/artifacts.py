"""Workflow-run artifacts: listing, the download redirect, and the blob host behind it.

GitHub lists a run's artifacts at `GET .../actions/runs/{id}/artifacts` (an
expired one stays listed with `"expired": true`), and answers
`GET .../actions/artifacts/{id}/zip` with a 302 to a short-lived URL on
another host (Azure blob storage); an expired artifact answers 410. The fake
serves that URL itself under `BLOBS` (outside the API prefix, like the
codeload stand-in), refuses a download that carries an `Authorization`
header (a client that forwards the API token to the storage host is leaking
it), and logs every download (`blob_downloads`).

Uploads follow actions/upload-artifact v4+: a second upload with the same
name on the same run (a re-run's) fails with 409 "an artifact with this name
already exists on the workflow run" unless `overwrite`, which deletes the old
artifact and makes a new one (a new id).
"""

from __future__ import annotations

import io
import secrets
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .routes import Handler, Request, Response, Routes, error, not_found
from .shapes import iso, node_id

if TYPE_CHECKING:
    from .state import RepoState

BLOBS = "/_blobs/"  # where the download redirect points (not an API path: not counted)
RETENTION = timedelta(days=7)  # grade.yml's retention-days
ARTIFACTS_DOCS = "https://docs.github.com/rest/actions/artifacts#download-an-artifact"


class ArtifactConflict(Exception):
    """What upload-artifact v4+ fails with on a second upload of one name to one run."""


@dataclass
class Artifact:
    id: int
    run_id: int
    name: str
    data: bytes  # the zip GitHub serves
    created_at: datetime
    expired: bool = False
    size_in_bytes: int | None = None  # what the listing says (None: len(data))
    token: str = field(default_factory=lambda: secrets.token_hex(8))


def zip_files(files: Mapping[str, bytes]) -> bytes:
    """A zip like upload-artifact's of a folder: one deflated entry per file, flat names."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 8, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def _artifacts(state: RepoState) -> dict[int, Artifact]:
    return state.artifacts


class GitHubArtifacts:
    """Mixed into `FakeGitHub`: artifacts of workflow runs, and their downloads."""

    state: RepoState

    def _init_artifacts(self) -> None:
        self._blob_log: list[tuple[str, str | None]] = []

    def add_artifact(
        self,
        run_id: int,
        *,
        name: str = "grader-result",
        files: Mapping[str, bytes] | None = None,
        data: bytes | None = None,
        expired: bool = False,
        overwrite: bool = False,
        size_in_bytes: int | None = None,
    ) -> int:
        """Upload an artifact to run `run_id`: `files` zipped as upload-artifact does, or
        the zip `data` as is (a crafted archive). `size_in_bytes` makes the listing state
        another size than the zip's (GitHub's is the zip's). Returns the artifact id."""
        with self.state.lock:
            run = self.state.runs[run_id]
            found = _artifacts(self.state)
            same = [a for a in found.values() if a.run_id == run_id and a.name == name]
            if same and not overwrite:
                raise ArtifactConflict(
                    "Failed to CreateArtifact: Received non-retryable error: Failed request: "
                    "(409) Conflict: an artifact with this name already exists on the workflow run"
                )
            for old in same:
                del found[old.id]
            zipped = data if data is not None else zip_files(files or {})
            when = max(self.state.clock.now(), run.run_started_at or run.created_at)
            artifact = Artifact(
                self.state.next_id(), run_id, name, zipped, when, expired, size_in_bytes
            )
            found[artifact.id] = artifact
            return artifact.id

    def expire_artifact(self, artifact_id: int) -> None:
        """Past its retention: still listed (`expired: true`), its download answers 410."""
        with self.state.lock:
            _artifacts(self.state)[artifact_id].expired = True

    def artifacts_of(self, run_id: int) -> list[int]:
        with self.state.lock:
            return [a.id for a in _artifacts(self.state).values() if a.run_id == run_id]

    @property
    def blob_downloads(self) -> list[tuple[str, str | None]]:
        """(path, Authorization header) of every download from the blob host."""
        with self.state.lock:
            return list(self._blob_log)

    def _blob(self, path: str, auth: str | None) -> Response:
        """The storage host behind the redirect: `BLOBS<artifact id>/<token>`."""
        with self.state.lock:
            self._blob_log.append((path, auth))
            ident, _, token = path.partition("/")
            artifact = _artifacts(self.state).get(int(ident)) if ident.isdigit() else None
            if artifact is None or artifact.token != token or artifact.expired:
                return Response(404, b"BlobNotFound", {"Content-Type": "application/xml"})
            if auth:
                return Response(
                    403, b"AuthenticationFailed: the request carries an Authorization header",
                    {"Content-Type": "application/xml"},
                )  # fmt: skip
            return Response(200, artifact.data, {"Content-Type": "application/zip"})


# --- routes -------------------------------------------------------------------------------


def artifact_body(routes: Routes, artifact: Artifact) -> dict[str, Any]:
    run = routes.state.runs[artifact.run_id]
    url = f"{routes.shapes.repo_url}/actions/artifacts/{artifact.id}"
    repo_id = routes.state.user(routes.state.full_name).id
    head_id = routes.state.user(run.head_repo or routes.state.full_name).id
    size = len(artifact.data) if artifact.size_in_bytes is None else artifact.size_in_bytes
    return {
        "id": artifact.id,
        "node_id": node_id("Artifact", artifact.id),
        "name": artifact.name,
        "size_in_bytes": size,
        "url": url,
        "archive_download_url": f"{url}/zip",
        "expired": artifact.expired,
        "created_at": iso(artifact.created_at),
        "expires_at": iso(artifact.created_at + RETENTION),
        "updated_at": iso(artifact.created_at),
        "digest": None,
        "workflow_run": {
            "id": run.id,
            "repository_id": repo_id,
            "head_repository_id": head_id,
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
        },
    }


def list_run_artifacts(routes: Routes, request: Request) -> Response:
    """Newest first; `name` filters by exact name."""
    run_id = int(request.groups[0])
    if run_id not in routes.state.runs:
        return not_found()
    wanted = request.query.get("name")
    found = sorted(
        (
            a
            for a in _artifacts(routes.state).values()
            if a.run_id == run_id and (wanted is None or a.name == wanted)
        ),
        key=lambda a: (a.created_at, a.id),
        reverse=request.query.get("direction", "desc") == "desc",
    )
    return routes.page(request, [artifact_body(routes, a) for a in found], key="artifacts")


def download_artifact(routes: Routes, request: Request) -> Response:
    """302 to the blob host; 410 once expired."""
    ident, archive_format = request.groups
    artifact = _artifacts(routes.state).get(int(ident))
    if artifact is None or archive_format != "zip":
        return not_found()
    if artifact.expired:
        return error(410, "Artifact has expired", documentation_url=ARTIFACTS_DOCS)
    location = f"{routes.shapes.web}{BLOBS}{artifact.id}/{artifact.token}"
    return Response(302, None, {"Location": location})


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", r"{repo}/actions/runs/(\d+)/artifacts", list_run_artifacts),
    ("GET", r"{repo}/actions/artifacts/(\d+)/([^/]+)", download_artifact),
]

__all__ = ["BLOBS", "ROUTES", "Artifact", "ArtifactConflict", "GitHubArtifacts", "zip_files"]
