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
    from rich.console import Console
    from rich.table import Table

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


def print_check_table(
    notebooks: Sequence[Path], evaluations: Sequence[Evaluation], out: Console | None = None
) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="grader check", show_lines=True)
    table.add_column("notebook", overflow="fold")
    table.add_column("assignment")
    table.add_column("status")
    table.add_column("exercises", overflow="fold")
    for notebook, ev in zip(notebooks, evaluations, strict=True):
        lines = [
            f"{x.id}: {_styled(x.status)}"
            + (f" — {escape(x.detail)}" if x.detail and x.status != "ok" else "")
            for x in ev.exercises
        ]
        # Student text is not rich markup: `[x]` in a detail must print as it is.
        lines += [f"[red]problem:[/red] {escape(p)}" for p in ev.problems]
        table.add_row(
            escape(str(notebook)),
            escape(ev.assignment),
            _styled(ev.status),
            "\n".join(lines) or "(no exercises)",
        )
    (out or terminal()).print(table, markup=True)


# One letter per assignment in the compact records layout; lower case marks a TA override.
STATUS_LETTER = {
    "complete": "C",
    "incomplete": "I",
    "late": "L",
    "missing": "M",
    "open": ".",
}
LETTER_GROUP = 5  # letters per group: position 7 is easy to find in "CCCCC CI..."


def terminal() -> Console:
    """The console every table goes to: stdout, its width from the terminal or COLUMNS (else 80)."""
    from rich.console import Console

    return Console(highlight=False)


def print_records(records: Sequence[dict[str, Any]], out: Console | None = None) -> None:
    """Every student's record of every assignment, as a grid when it fits the width.

    A course has up to a few dozen assignments (the real one 17): a column each
    cannot fit 80 columns, so then each student gets one row with a mark string,
    one letter per assignment in course order, and a legend says which is which.
    """
    out = out or terminal()
    students = sorted({r["student"] for r in records}, key=str.lower)
    assignments = list(dict.fromkeys(r["assignment"] for r in records))
    status = {(r["student"], r["assignment"]): r for r in records}
    grid = _records_grid(students, assignments, status)
    if _natural_width(out, grid) <= out.width:
        out.print(grid)
        return
    out.print(_records_compact(students, assignments, status))
    legend = "  ".join(f"{letter} {name}" for name, letter in STATUS_LETTER.items())
    out.print(f"marks: {assignments[0]} to {assignments[-1]}, in groups of {LETTER_GROUP}")
    out.print(f"{legend}  (lower case: set by a TA)", markup=False)


def _natural_width(out: Console, table: Table) -> int:
    """How wide `table` is when nothing wraps (rich measures within the console otherwise)."""
    from rich.measure import Measurement

    return Measurement.get(out, out.options.update_width(10**6), table).maximum


def _records_grid(
    students: Sequence[str], assignments: Sequence[str], status: dict[tuple[str, str], Any]
) -> Table:
    from rich.table import Table

    table = Table(title="records")
    table.add_column("student", overflow="fold")
    for a in assignments:
        table.add_column(a, no_wrap=True)
    for s in students:
        cells = []
        for a in assignments:
            r = status[(s, a)]
            cells.append(_styled(r["status"]) + (" (TA)" if r["override"] else ""))
        table.add_row(s, *cells)
    return table


def _records_compact(
    students: Sequence[str], assignments: Sequence[str], status: dict[tuple[str, str], Any]
) -> Table:
    from rich.table import Table

    table = Table(title=f"records ({len(assignments)} assignments)")
    table.add_column("student", overflow="fold")
    table.add_column("complete", justify="right", no_wrap=True)
    table.add_column("marks", no_wrap=True)
    for s in students:
        rows = [status[(s, a)] for a in assignments]
        done = sum(r["status"] == "complete" for r in rows)
        table.add_row(s, f"{done}/{len(rows)}", _marks(rows))
    return table


def _marks(rows: Sequence[dict[str, Any]]) -> str:
    letters = []
    for i, r in enumerate(rows):
        letter = STATUS_LETTER.get(r["status"], "?")
        letter = letter.lower() if r["override"] else letter
        style = STATUS_STYLE.get(r["status"], "red")
        gap = " " if i and i % LETTER_GROUP == 0 else ""
        letters.append(f"{gap}[{style}]{letter}[/{style}]")
    return "".join(letters)


def print_changes(
    assignment: str, regraded: int, changes: Sequence[Any], out: Console | None = None
) -> None:
    """The records whose status a regrade changes (and nothing else), one row per record."""
    from rich.table import Table

    out = out or terminal()
    if not changes:
        out.print(f"{assignment}: {regraded} submission(s) regraded; no record changes status.")
        return
    # The heading goes above the table, not in it: a title wraps to the table's width.
    out.print(f"{assignment}: {len(changes)} record(s) change status ({regraded} regraded)")
    table = Table()
    table.add_column("student", overflow="fold")
    table.add_column("now", no_wrap=True)
    table.add_column("after regrade", no_wrap=True)
    for change in changes:
        table.add_row(change.student, _styled(change.before.status), _styled(change.after.status))
    out.print(table)
