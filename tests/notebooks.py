"""Small factories for notebooks in tests (nbformat.v4.new_*), shared by test modules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode


def code(
    source: str,
    *,
    tags: Iterable[str] = (),
    grade_id: str | None = None,
    outputs: list[Any] | None = None,
) -> NotebookNode:
    """A code cell; `outputs` lets a test store fake outputs the grader must ignore."""
    cell = nbformat.v4.new_code_cell(source, outputs=[nbformat.from_dict(o) for o in outputs or []])
    _decorate(cell, tags, grade_id)
    return cell


def markdown(source: str, *, tags: Iterable[str] = (), grade_id: str | None = None) -> NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source)
    _decorate(cell, tags, grade_id)
    return cell


def raw(source: str) -> NotebookNode:
    return nbformat.v4.new_raw_cell(source)


def _decorate(cell: NotebookNode, tags: Iterable[str], grade_id: str | None) -> None:
    if tags:
        cell.metadata["tags"] = list(tags)
    if grade_id is not None:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": True}


def notebook(
    *cells: NotebookNode, kernelspec: Mapping[str, Any] | str | None = None
) -> NotebookNode:
    nb = nbformat.v4.new_notebook(cells=list(cells))
    if kernelspec is not None:
        nb.metadata["kernelspec"] = kernelspec
    return nb


def write(path: Path, nb: NotebookNode) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def write_cells(path: Path, *sources: str) -> Path:
    """Shortcut: a notebook of code cells, one per source string."""
    return write(path, notebook(*(code(s) for s in sources)))
