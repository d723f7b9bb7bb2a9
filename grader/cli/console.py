"""Terminal output with rich: verdict tables and progress bars.

A progress bar is shown only when stderr is a terminal, so CI logs and
`--json` consumers get clean output.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.core.model import Evaluation

# rich is imported inside the functions that draw: `grader check --json` in CI
# never draws, and importing rich is a noticeable part of its start-up.

STATUS_STYLE = {
    "complete": "green",
    "ok": "green",
    "incomplete": "red",
    "late": "magenta",
    "missing": "yellow",
    "open": "cyan",
}


@contextmanager
def progress(total: int, label: str) -> Iterator[Callable[[], None]]:
    if not sys.stderr.isatty() or total < 2:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def _styled(status: str) -> str:
    style = STATUS_STYLE.get(status, "red")
    return f"[{style}]{status}[/{style}]"


def print_check_table(notebooks: Sequence[Path], evaluations: Sequence[Evaluation]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="grader check", show_lines=True)
    table.add_column("notebook", overflow="fold")
    table.add_column("assignment")
    table.add_column("status")
    table.add_column("exercises", overflow="fold")
    for notebook, ev in zip(notebooks, evaluations, strict=True):
        lines = [
            f"{x.id}: {_styled(x.status)}"
            + (f" — {x.detail}" if x.detail and x.status != "ok" else "")
            for x in ev.exercises
        ]
        lines += [f"[red]problem:[/red] {p}" for p in ev.problems]
        table.add_row(
            str(notebook), ev.assignment, _styled(ev.status), "\n".join(lines) or "(no exercises)"
        )
    Console(highlight=False).print(table, markup=True)


def print_records(records: Sequence[dict[str, Any]]) -> None:
    students = sorted({r["student"] for r in records}, key=str.lower)
    assignments = list(dict.fromkeys(r["assignment"] for r in records))
    status = {(r["student"], r["assignment"]): r for r in records}
    from rich.console import Console
    from rich.table import Table

    table = Table(title="records")
    table.add_column("student")
    for a in assignments:
        table.add_column(a)
    for s in students:
        cells = []
        for a in assignments:
            r = status[(s, a)]
            cells.append(_styled(r["status"]) + (" (TA)" if r["override"] else ""))
        table.add_row(s, *cells)
    Console(highlight=False).print(table)


def print_changes(assignment: str, regraded: int, changes: Sequence[Any]) -> None:
    """The records whose status a regrade changes (and nothing else)."""
    from rich.console import Console
    from rich.table import Table

    out = Console(highlight=False)
    if not changes:
        out.print(f"{assignment}: {regraded} submission(s) regraded; no record changes status.")
        return
    table = Table(
        title=f"{assignment}: {len(changes)} record(s) change status ({regraded} regraded)"
    )
    table.add_column("student")
    table.add_column("now")
    table.add_column("after regrade")
    for change in changes:
        table.add_row(change.student, _styled(change.before.status), _styled(change.after.status))
    out.print(table)
