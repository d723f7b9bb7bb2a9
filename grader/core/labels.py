"""PR labels mirror the record (CONTRACT section 5).

The grader owns exactly the three label names of `course.yml`; it adds and
removes only those and leaves every other label alone. GitHub compares label
names case-insensitively, so we do too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from grader.core.model import LabelNames, RecordState

__all__ = ["label_changes", "wanted_labels"]


def wanted_labels(state: RecordState, names: LabelNames) -> frozenset[str]:
    """`complete`; otherwise `incomplete` (plus `late`); none while nothing is submitted."""
    if state.status == "complete":
        return frozenset({names.complete})
    if state.status == "late":
        return frozenset({names.incomplete, names.late})
    if state.status == "incomplete":
        return frozenset({names.incomplete})
    return frozenset()  # open or missing: nothing submitted


def label_changes(
    current: Sequence[str], wanted: frozenset[str], names: LabelNames
) -> tuple[list[str], list[str]]:
    """(labels to add, labels to remove) to go from `current` to `wanted`.

    Labels to add come in the order of `names`; labels to remove keep the
    spelling they have on the PR. Raises ValueError if `wanted` holds a label
    that is not ours, since we would then be managing someone else's label.
    """
    ours = list(names.all())
    own = {name.casefold() for name in ours}
    strangers = sorted(w for w in wanted if w.casefold() not in own)
    if strangers:
        raise ValueError(f"not a grader label: {', '.join(strangers)}; only {ours} are ours")
    have = {label.casefold() for label in current}
    want = {label.casefold() for label in wanted}
    add = _unique(name for name in ours if name.casefold() in want - have)
    remove = [label for label in current if label.casefold() in own - want]
    return add, remove


def _unique(labels: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for label in labels:
        seen.setdefault(label.casefold(), label)
    return list(seen.values())
