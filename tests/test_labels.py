"""Labels mirror the record; only our own labels are touched (STYLE 4)."""

from __future__ import annotations

import pytest

from grader.core.labels import label_changes, wanted_labels
from grader.core.model import LabelNames, RecordState, RecordStatus

NAMES = LabelNames()
CUSTOM = LabelNames(complete="done ✅", incomplete="needs work", late="Late")


@pytest.mark.parametrize(
    ("status", "names", "wanted"),
    [
        ("complete", NAMES, {"complete"}),
        ("incomplete", NAMES, {"incomplete"}),
        ("late", NAMES, {"incomplete", "late"}),
        ("open", NAMES, set()),
        ("missing", NAMES, set()),
        ("complete", CUSTOM, {"done ✅"}),
        ("late", CUSTOM, {"needs work", "Late"}),
    ],
)
def test_wanted_labels(status: RecordStatus, names: LabelNames, wanted: set[str]) -> None:
    assert wanted_labels(RecordState("alice", "s1", status), names) == wanted


def test_override_is_labelled_like_any_record() -> None:
    state = RecordState("alice", "s1", "complete", override=True)
    assert wanted_labels(state, NAMES) == {"complete"}


@pytest.mark.parametrize(
    ("current", "wanted", "add", "remove"),
    [
        ([], {"complete"}, ["complete"], []),
        (["complete"], {"complete"}, [], []),
        (["incomplete", "late"], {"complete"}, ["complete"], ["incomplete", "late"]),
        (["complete"], {"incomplete", "late"}, ["incomplete", "late"], ["complete"]),
        (["incomplete", "late"], {"incomplete"}, [], ["late"]),
        (["complete", "late"], set(), [], ["complete", "late"]),
        # GitHub compares names case-insensitively
        (["Complete"], {"complete"}, [], []),
        (["LATE", "incomplete"], {"incomplete"}, [], ["LATE"]),
        # never touch a label that is not ours
        (["bug", "help wanted", "completed"], {"complete"}, ["complete"], []),
        (["section-01", "complete"], {"incomplete"}, ["incomplete"], ["complete"]),
    ],
)
def test_label_changes(
    current: list[str], wanted: set[str], add: list[str], remove: list[str]
) -> None:
    assert label_changes(current, frozenset(wanted), NAMES) == (add, remove)


def test_label_changes_with_custom_names() -> None:
    current = ["complete", "needs work", "late"]  # "complete" and "late" are not ours here
    add, remove = label_changes(current, frozenset({"done ✅"}), CUSTOM)
    assert (add, remove) == (["done ✅"], ["needs work", "late"])


def test_late_is_ours_only_under_its_configured_name() -> None:
    names = LabelNames(late="overdue")
    assert label_changes(["late", "overdue"], frozenset(), names) == ([], ["overdue"])


def test_a_stranger_label_is_refused() -> None:
    with pytest.raises(ValueError, match="not a grader label: bug"):
        label_changes([], frozenset({"bug"}), NAMES)


def test_applying_the_changes_reaches_the_wanted_set() -> None:
    current = ["bug", "Complete", "late"]
    wanted = frozenset({"incomplete", "late"})
    add, remove = label_changes(current, wanted, NAMES)
    after = [label for label in current if label not in remove] + add
    assert {label.casefold() for label in after} == {"bug", "incomplete", "late"}
    assert label_changes(after, wanted, NAMES) == ([], [])
