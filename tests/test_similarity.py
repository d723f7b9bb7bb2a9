"""The similarity report: copies found through disguises, honest work left alone."""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from grader.core.fingerprints import code_tokens, winnow
from grader.core.model import Cell
from grader.core.similarity import (
    Settings,
    SimilarityReport,
    Submission,
    compare,
    report_json,
)
from grader.core.similarity_html import render_html
from tests import similarity_cohort as sc

ROOT = Path(__file__).resolve().parents[1]
Sources = list[tuple[str, str, tuple[str, ...]]]


def sub(login: str, sources: Sources) -> Submission:
    return Submission(login, sc.as_cells(sources))


def classmates(count: int = 30, seed: int = 7) -> list[Submission]:
    """Honest students, each their own way."""
    rng = random.Random(seed)
    return [sub(f"s{i:02d}", sc.honest(rng)) for i in range(count)]


def with_copy(disguise: sc.Callable[[random.Random, Sources], Sources]) -> SimilarityReport:
    """30 honest students; `zz-copier` hands in s03's work, disguised."""
    rng = random.Random(3)
    original = sc.honest(random.Random(99))
    students = [*classmates(), sub("s-orig", original), sub("zz-copier", disguise(rng, original))]
    return compare("section-03", students, sc.starter(), (sc.HANDOUT,))


def rank_of(report: SimilarityReport, a: str, b: str) -> int | None:
    for n, pair in enumerate(report.pairs, start=1):
        if {pair.a, pair.b} == {a, b}:
            return n
    return None


@pytest.mark.parametrize(
    "disguise", [sc.rename, sc.reorder, sc.recomment, sc.reliteral, sc.everything]
)
def test_a_disguised_copy_is_the_top_pair(disguise: sc.Callable[..., Sources]) -> None:
    report = with_copy(disguise)
    assert rank_of(report, "s-orig", "zz-copier") == 1
    assert report.pairs[0].score >= Settings().threshold


def test_the_disguises_really_change_the_text() -> None:
    original = sc.honest(random.Random(99))
    for disguise in (sc.rename, sc.reorder, sc.recomment, sc.reliteral):
        assert disguise(random.Random(3), original) != original, disguise.__name__


def test_renames_comments_and_literals_leave_tokens_unchanged() -> None:
    a = "def train(X, y, lr=0.1):\n    w = X.T @ y  # closed form\n    return w * lr\n"
    b = "def fit(feats, t, step=3):\n    # by hand\n    theta = feats.T @ t\n"
    b += "    return theta * step\n"
    assert [t for t, _ in code_tokens(a)] == [t for t, _ in code_tokens(b)]


def test_library_calls_stay_distinct() -> None:
    a = code_tokens("out = torch.matmul(X, w)")
    b = code_tokens("out = np.dot(X, w)")
    assert [t for t, _ in a] != [t for t, _ in b]


def test_reordered_cells_match_across_cells() -> None:
    report = with_copy(sc.reorder)
    pair = report.pairs[0]
    moved = [r for r in pair.regions if r.a.cell != r.b.cell]
    assert moved, "a reordered copy should match cells at other positions"
    by_login = {s.login: {c.index: c for c in s.cells} for s in report.submissions}
    for region in moved:
        left = by_login[pair.a][region.a.cell].source.splitlines()
        right = by_login[pair.b][region.b.cell].source.splitlines()
        assert left[region.a.first - 1 : region.a.last] == right[region.b.first - 1 : region.b.last]


def test_a_cell_that_does_not_tokenize_is_still_compared() -> None:
    broken = "def f(x:\n    total = 0\n    for item in x:\n        total += item * item\n"
    renamed = broken.replace("total", "acc").replace("item", "v")
    assert [t for t, _ in code_tokens(broken)] == [t for t, _ in code_tokens(renamed)]


# --- what is not evidence ------------------------------------------------------


def test_template_only_students_are_not_flagged() -> None:
    rng = random.Random(5)
    lazy = [sub(f"lazy{i}", sc.template_only(rng)) for i in range(6)]
    report = compare("section-03", [*classmates(), *lazy], sc.starter(), (sc.HANDOUT,))
    assert not [p for p in report.pairs if p.a.startswith("lazy") or p.b.startswith("lazy")]


def test_starter_and_handout_code_are_excluded() -> None:
    given = [*sc.starter_sources(), ("code", sc.HANDOUT, ())]
    students = [sub("a", given), sub("b", given), *classmates(10)]
    # Nothing discounted as common, so only the exclusion can keep them apart.
    keep_all = dataclasses.replace(Settings(), common_fraction=1.0)
    report = compare("section-03", students, sc.starter(), (sc.HANDOUT,), keep_all)
    assert rank_of(report, "a", "b") is None
    # Without telling it what was handed out, the same two look like copies.
    flagged = compare("section-03", students, settings=keep_all)
    assert rank_of(flagged, "a", "b") == 1


def test_common_idioms_are_discounted() -> None:
    idiom = sc.train_epochs(random.Random(1), sc.names(random.Random(1)))
    students = classmates(40)
    for i in range(12):  # 12 of 40 write the same training loop, the rest differs
        cells = [*students[i].cells, Cell(100, "code", idiom)]
        students[i] = Submission(students[i].login, tuple(cells))
    report = compare("section-03", students, sc.starter())
    assert report.ignored_common > 0
    assert all(p.score < 0.5 for p in report.pairs)
    # The same cohort with nothing discounted flags pairs of the twelve.
    keep_all = dataclasses.replace(Settings(), common_fraction=1.0)
    assert compare("section-03", students, sc.starter(), settings=keep_all).pairs


def test_a_few_matches_between_tiny_submissions_are_not_flagged() -> None:
    tiny = "w = torch.zeros(2, 1)\nprint(w.shape, w.sum(), w.mean())\n"  # two lines in common
    given = [*sc.starter_sources(), ("code", tiny, ())]
    students = [sub("a", given), sub("b", given), *classmates(10)]
    report = compare("section-03", students, sc.starter())
    assert rank_of(report, "a", "b") is None
    assert report.sizes["a"] < Settings().min_fingerprints
    # Scored on their own few fingerprints, they would look like a full copy.
    no_floor = dataclasses.replace(Settings(), min_fingerprints=1)
    assert rank_of(compare("section-03", students, sc.starter(), settings=no_floor), "a", "b")


def test_fewer_than_two_submissions_or_empty_cells_give_no_pairs() -> None:
    assert compare("x", []).pairs == ()
    assert compare("x", classmates(1), sc.starter()).pairs == ()
    blank = [Submission(f"b{i}", (Cell(0, "code", ""), Cell(1, "raw", "x" * 50))) for i in range(3)]
    report = compare("x", blank)
    assert report.pairs == ()
    assert report.sizes == {"b0": 0, "b1": 0, "b2": 0}
    assert render_html(report).count("No pair reaches the threshold") == 1


def test_winnowing_guarantees_a_shared_fingerprint_for_long_matches() -> None:
    rng = random.Random(0)
    shared = [rng.getrandbits(64) for _ in range(6)]  # window 6: any 6 equal hashes
    a = [rng.getrandbits(64) for _ in range(20)] + shared + [rng.getrandbits(64) for _ in range(9)]
    b = [rng.getrandbits(64) for _ in range(3)] + shared
    picked_a = {a[i] for i in winnow(a, 6)}
    picked_b = {b[i] for i in winnow(b, 6)}
    assert picked_a & picked_b & set(shared)


def test_robust_winnowing_picks_one_of_a_run_of_equal_hashes() -> None:
    # Plain winnowing (always the rightmost minimum) would pick 3, 4, 5, 6, 7, 8, 9.
    assert winnow([5, 5, 5, 5, 5, 5, 5, 5, 5, 5], 4) == [3, 7]


# --- the 300-student cohort (the acceptance measurement) ----------------------


@cache
def cohort_report() -> tuple[sc.Cohort, SimilarityReport]:
    cohort = sc.cohort()
    return cohort, compare("section-03", cohort.submissions, cohort.starter, cohort.handouts)


def test_cohort_all_planted_copies_rank_in_the_top_10() -> None:
    cohort, report = cohort_report()
    top = {(p.a, p.b) for p in report.pairs[:10]}
    assert set(cohort.planted) <= top


def test_cohort_template_only_students_are_not_flagged() -> None:
    cohort, report = cohort_report()
    lazy = set(cohort.template_only)
    assert not [p for p in report.pairs if {p.a, p.b} & lazy]


def test_cohort_planted_copies_are_above_the_threshold() -> None:
    cohort, report = cohort_report()
    listed = {(p.a, p.b) for p in report.pairs}
    assert set(cohort.planted) <= listed


# --- outputs ---------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def hostile_report() -> SimilarityReport:
    code = "def f(a):\n    s = '" + HOSTILE + "'\n    return [x * 2 for x in a if x > 3] + [s]\n"
    own = [*sc.honest(random.Random(11)), ("code", code * 3, ()), ("markdown", HOSTILE, ())]
    students = [*classmates(8), sub("evil<b>", own), sub("twin", own)]
    return compare("section-03", students, sc.starter())


def test_html_escapes_student_text() -> None:
    report = hostile_report()
    assert report.pairs, "the hostile pair must be listed for the page to show its code"
    page = render_html(report)
    assert "<script" not in page
    assert "<img" not in page
    assert "evil<b>" not in page
    assert "&lt;script&gt;" in page
    assert "evil&lt;b&gt;" in page


def test_html_is_self_contained_and_allows_no_script() -> None:
    page = render_html(hostile_report())
    assert "default-src 'none'" in page
    assert "http://" not in page
    assert "https://" not in page
    assert "<link" not in page


def test_html_shows_matching_lines_side_by_side() -> None:
    report = with_copy(sc.rename)
    page = render_html(report)
    assert page.count('<table class="side">') >= 3
    assert 'class="hit"' in page
    assert "s-orig" in page
    assert "zz-copier" in page


def test_json_shape() -> None:
    report = with_copy(sc.rename)
    data = report_json(report)
    assert list(data) == ["pairs"]
    assert data["pairs"], "the copy must be listed"
    for entry in data["pairs"]:
        assert set(entry) == {"a", "b", "score"}
        assert isinstance(entry["a"], str)
        assert isinstance(entry["b"], str)
        assert isinstance(entry["score"], float)
        assert 0 <= entry["score"] <= 1
    scores = [e["score"] for e in data["pairs"]]
    assert scores == sorted(scores, reverse=True)
    json.dumps(data)


def test_same_input_same_report_in_any_order() -> None:
    students = classmates(20)
    students.append(Submission("copy", students[4].cells))
    one = compare("section-03", students, sc.starter())
    two = compare("section-03", list(reversed(students)), sc.starter())
    assert one == two
    assert one.pairs


DETERMINISM = """
import dataclasses, random
from tests import similarity_cohort as sc
from grader.core.fingerprints import cell_marks
from grader.core.similarity import Settings, Submission, compare
rng = random.Random(7)
s = [Submission(f"s{i}", sc.as_cells(sc.honest(rng))) for i in range(15)]
s.append(Submission("copy", s[2].cells))
every = dataclasses.replace(Settings(), threshold=0.0)
report = compare("x", s, sc.starter(), settings=every)
print(repr(report.pairs), sorted(report.sizes.items()), report.ignored_common)
print(sorted(m.hash for m in cell_marks(s[0].cells, code_k=12, prose_k=6, window=6)))
"""


def test_report_is_the_same_in_another_process() -> None:
    """No salted `hash()`: interpreters with other hash seeds agree on every fingerprint."""
    outputs = {
        subprocess.run(
            [sys.executable, "-c", DETERMINISM],
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert "Pair(a='copy', b='s2', score=1.0" in outputs.pop()


def test_benchmark_figure_is_well_formed() -> None:
    from benchmarks.similarity import similarity_report

    figure = similarity_report(students=40, reps=1)
    assert figure.unit == "ratio"
    assert figure.value > 0
    assert figure.detail["planted_in_top_10"] == 5
    assert float(figure.detail["report_s"]) > 0
