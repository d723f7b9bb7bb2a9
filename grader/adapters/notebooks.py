"""Write notebooks built as plain data (e.g. by `grader.core.template`) to disk."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import nbformat

__all__ = ["write_notebook"]


def write_notebook(nb: Mapping[str, object], path: Path) -> None:
    """Validate `nb` against the nbformat schema and write it to `path`.

    Creates missing parent folders. Raises `nbformat.ValidationError` when the
    data is not a valid notebook; nothing is written then.
    """
    node = nbformat.from_dict(dict(nb))  # type: ignore[no-untyped-call]
    nbformat.validate(node)
    path.parent.mkdir(parents=True, exist_ok=True)
    text: str = nbformat.writes(node, version=nbformat.NO_CONVERT)  # type: ignore[no-untyped-call]
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
