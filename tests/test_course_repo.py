"""The study group's real course (course.yml, exercises/) and the loader that reads it."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest

from grader.adapters.course import load_course
from grader.cli.check import REPOSITORY_RE
from grader.cli.main import main
from grader.core.configcheck import ConfigError
from grader.core.model import ChangedFile, CourseConfig, Exercise
from grader.core.scope import check_scope
from grader.core.template import REPOSITORY_PLACEHOLDER
from tests.factories import AOE

ROOT = Path(__file__).resolve().parents[1]

# PROGRAM.md's schedule: the live session of each of sessions 1-17.
LIVE_SESSIONS = [
    date(2020, 8, 1),
    date(2020, 8, 15),
    date(2020, 8, 29),
    date(2020, 9, 12),
    date(2020, 9, 12),
    date(2020, 9, 19),
    date(2020, 9, 26),
    date(2020, 10, 10),
    date(2020, 10, 17),
    date(2020, 10, 31),
    date(2020, 11, 14),
    date(2020, 11, 28),
    date(2020, 12, 12),
    date(2020, 12, 19),
    date(2021, 1, 9),
    date(2021, 1, 23),
    date(2021, 2, 6),
]
IDS = [f"section-{n:02d}" for n in range(1, 18)]

# A correct answer for every exercise that has a test: proves each test passes
# on plain Python (no torch), so a right answer is never marked wrong.
REFERENCE = {
    ("section-03", "backward"): """
        def backward(X, y, w, b):
            residuals = [sum(x * wj for x, wj in zip(xs, w)) + b - t for xs, t in zip(X, y)]
            n = len(X)
            grad_w = [sum(r * xs[j] for r, xs in zip(residuals, X)) / n for j in range(len(w))]
            return grad_w, sum(residuals) / n
        """,
    ("section-04", "activations"): """
        import math
        def relu_grad(x):
            return 1.0 if x > 0 else 0.0
        def sigmoid_grad(x):
            s = 1 / (1 + math.exp(-x))
            return s * (1 - s)
        def tanh_grad(x):
            return 1 - math.tanh(x) ** 2
        """,
    ("section-05", "param-count"): """
        def count_params(sizes):
            return sum(a * b + b for a, b in zip(sizes, sizes[1:]))
        """,
    ("section-06", "corr2d"): """
        def corr2d(X, K):
            h, w = len(K), len(K[0])
            return [[sum(X[i + a][j + b] * K[a][b] for a in range(h) for b in range(w))
                     for j in range(len(X[0]) - w + 1)] for i in range(len(X) - h + 1)]
        """,
    ("section-06", "output-size"): """
        def conv_output_size(n, k, p, s):
            return (n + 2 * p - k) // s + 1
        """,
    ("section-07", "batch-norm"): """
        def batch_norm(xs, gamma, beta, eps=1e-5):
            mean = sum(xs) / len(xs)
            var = sum((x - mean) ** 2 for x in xs) / len(xs)
            return [gamma * (x - mean) / (var + eps) ** 0.5 + beta for x in xs]
        """,
    ("section-08", "vocab"): """
        from collections import Counter
        def build_vocab(tokens, min_freq):
            counts = Counter(tokens)
            kept = [t for t in counts if counts[t] >= min_freq]
            kept.sort(key=lambda t: (-counts[t], t))
            return ['<unk>'] + kept
        """,
    ("section-08", "perplexity"): """
        import math
        def perplexity(probs):
            return math.exp(-sum(math.log(p) for p in probs) / len(probs))
        """,
    ("section-09", "bleu"): """
        import collections, math
        def bleu(pred, label, k):
            score = math.exp(min(0, 1 - len(label) / len(pred)))
            for n in range(1, k + 1):
                subs = collections.Counter(tuple(label[i:i + n]) for i in range(len(label) - n + 1))
                matches = 0
                for i in range(len(pred) - n + 1):
                    gram = tuple(pred[i:i + n])
                    if subs[gram] > 0:
                        matches += 1
                        subs[gram] -= 1
                score *= (matches / (len(pred) - n + 1)) ** (0.5 ** n)
            return score
        """,
    ("section-10", "masked-softmax"): """
        import math
        def masked_softmax(scores, valid_len):
            exps = [math.exp(s) for s in scores[:valid_len]]
            return [e / sum(exps) for e in exps] + [0.0] * (len(scores) - valid_len)
        """,
    ("section-10", "nadaraya-watson"): """
        import math
        def nw_predict(x, xs, ys):
            weights = [math.exp(-(x - xi) ** 2 / 2) for xi in xs]
            return sum(w * y for w, y in zip(weights, ys)) / sum(weights)
        """,
    ("section-11", "gradient-descent"): """
        def gradient_descent(grad, x0, lr, steps):
            xs = [x0]
            for _ in range(steps):
                xs.append(xs[-1] - lr * grad(xs[-1]))
            return xs
        """,
    ("section-11", "momentum"): """
        def momentum_step(x, v, g, lr, beta):
            v = beta * v + g
            return x - lr * v, v
        """,
    ("section-12", "allreduce"): """
        def allreduce(grads):
            total = [sum(column) for column in zip(*grads)]
            return [list(total) for _ in grads]
        """,
    ("section-12", "split-batch"): """
        def split_sizes(batch_size, devices):
            q, r = divmod(batch_size, devices)
            return [q + 1 if i < r else q for i in range(devices)]
        """,
    ("section-13", "iou"): """
        def iou(a, b):
            w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
            h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
            area = lambda box: (box[2] - box[0]) * (box[3] - box[1])
            return w * h / (area(a) + area(b) - w * h)
        """,
    ("section-14", "bpe"): """
        import collections
        def most_frequent_pair(token_freqs):
            pairs = collections.Counter()
            for token, freq in token_freqs.items():
                symbols = token.split()
                for pair in zip(symbols, symbols[1:]):
                    pairs[pair] += freq
            return max(pairs, key=pairs.get)
        def merge_pair(token_freqs, pair):
            merged = {}
            for token, freq in token_freqs.items():
                symbols, out, i = token.split(), [], 0
                while i < len(symbols):
                    if tuple(symbols[i:i + 2]) == tuple(pair):
                        out.append(symbols[i] + symbols[i + 1])
                        i += 2
                    else:
                        out.append(symbols[i])
                        i += 1
                merged[' '.join(out)] = freq
            return merged
        """,
    ("section-15", "bert-input"): """
        def tokens_and_segments(tokens_a, tokens_b=None):
            tokens = ['<cls>'] + tokens_a + ['<sep>']
            segments = [0] * len(tokens)
            if tokens_b is not None:
                tokens += tokens_b + ['<sep>']
                segments += [1] * (len(tokens_b) + 1)
            return tokens, segments
        """,
    ("section-15", "max-over-time"): """
        def max_over_time(channels):
            return [max(channel) for channel in channels]
        """,
    ("section-16", "discriminator-loss"): """
        import math
        def softplus(z):
            return max(z, 0) + math.log1p(math.exp(-abs(z)))
        def discriminator_loss(real_scores, fake_scores):
            real = sum(softplus(-r) for r in real_scores) / len(real_scores)
            fake = sum(softplus(f) for f in fake_scores) / len(fake_scores)
            return (real + fake) / 2
        """,
    ("section-17", "rmse"): """
        def predict(p_u, q_i, b_u, b_i):
            return sum(p * q for p, q in zip(p_u, q_i)) + b_u + b_i
        def rmse(predictions, ratings):
            n = len(ratings)
            return (sum((p - r) ** 2 for p, r in zip(predictions, ratings)) / n) ** 0.5
        """,
    ("section-17", "bpr"): """
        import math
        def bpr_loss(positive, negative):
            pairs = list(zip(positive, negative))
            return sum(math.log1p(math.exp(-(p - n))) for p, n in pairs) / len(pairs)
        """,
}


@pytest.fixture(scope="module")
def course() -> CourseConfig:
    return load_course(ROOT)


def with_tests(course: CourseConfig) -> list[tuple[str, Exercise]]:
    return [(a.id, e) for a in course.assignments.values() for e in a.exercises if e.test]


def test_course_settings(course: CourseConfig) -> None:
    assert course.name == "Dive into Deep Learning Study Group"
    assert course.timezone == "UTC"
    assert course.grace_hours == 48
    assert course.certificate.min_complete_fraction == Fraction(4, 5)
    assert course.certificate.require_final_project is True
    assert course.notebook_requirements == "exercises/requirements.txt"


def test_seventeen_sessions_in_order(course: CourseConfig) -> None:
    assert list(course.assignments) == IDS


@pytest.mark.parametrize(("aid", "live"), list(zip(IDS, LIVE_SESSIONS, strict=True)))
def test_deadline_is_a_week_after_the_live_session_at_2359_aoe(
    course: CourseConfig, aid: str, live: date
) -> None:
    due = live + timedelta(days=7)
    expected = datetime(due.year, due.month, due.day, 23, 59, tzinfo=AOE)
    deadline = course.assignments[aid].deadline
    assert deadline == expected
    assert deadline.utcoffset() == timedelta(hours=-12)


def test_first_deadline_is_the_real_one(course: CourseConfig) -> None:
    deadline = course.assignments["section-01"].deadline
    assert deadline.astimezone(UTC) == datetime(2020, 8, 9, 11, 59, tzinfo=UTC)


def test_preliminaries_has_nothing_to_hand_in(course: CourseConfig) -> None:
    section_02 = course.assignments["section-02"]
    assert section_02.exercises == ()
    assert section_02.counts_for_certificate is False
    others = [a for a in course.assignments.values() if a.id != "section-02"]
    assert all(a.exercises and a.counts_for_certificate for a in others)


def test_session_1_mirrors_the_real_assignment(course: CourseConfig) -> None:
    by_id = {e.id: e for e in course.assignments["section-01"].exercises}
    assert by_id["1"].answer == "any"
    assert by_id["summary"].answer == "markdown"
    assert by_id["summary"].min_words is not None
    assert by_id["summary"].min_words >= 150


def test_session_3_mirrors_the_backward_assignment(course: CourseConfig) -> None:
    backward = next(e for e in course.assignments["section-03"].exercises if e.id == "backward")
    assert backward.answer == "code"
    assert backward.test is not None
    assert "backward(" in backward.test


@pytest.mark.parametrize("aid", IDS)
def test_each_session_has_a_student_text(course: CourseConfig, aid: str) -> None:
    text = (ROOT / "exercises" / f"{aid}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# Session {int(aid[-2:])}: {course.assignments[aid].title}")
    if course.assignments[aid].exercises:
        deadline = course.assignments[aid].deadline
        assert f"{deadline:%B} {deadline.day}, {deadline:%Y}, 23:59 Anywhere on Earth" in text
        assert f"{deadline.astimezone(UTC):%H:%M} UTC" in text
        assert f"submissions/<your-github-login>/{aid}.ipynb" in text
        assert "grader check" in text
        [link] = COLAB_LINK.findall(text)
        assert link[1] == f"exercises/{aid}.ipynb", link
        assert f"[`exercises/{aid}.ipynb`]({aid}.ipynb)" in text
        assert all(f"Exercise `{e.id}`" in text for e in course.assignments[aid].exercises)
    else:
        assert "nothing to hand in" in text.lower()


# --- committed starters, their Colab links, and submissions/ -------------------

COLAB_LINK = re.compile(
    r"https://colab\.research\.google\.com/github/([^\s)]+?)/blob/main/([^\s)]+)"
)
STARTER_REPOSITORY = re.compile(r'^COURSE = "([^"]*)"', re.MULTILINE)


def starter_repository(aid: str) -> str:
    """The course repository the committed starter's Colab check cell clones."""
    nb = json.loads((ROOT / "exercises" / f"{aid}.ipynb").read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    [found] = [m[1] for src in sources if (m := STARTER_REPOSITORY.search(src))]
    return found


def test_a_starter_for_each_assignment_with_exercises(course: CourseConfig) -> None:
    starters = sorted(p.stem for p in (ROOT / "exercises").glob("*.ipynb"))
    assert starters == sorted(a for a, x in course.assignments.items() if x.exercises)


@pytest.mark.parametrize("aid", [a for a in IDS if a != "section-02"])
def test_committed_starter_is_what_grader_template_writes_today(aid: str, tmp_path: Path) -> None:
    repository = starter_repository(aid)
    out = tmp_path / f"{aid}.ipynb"
    argv = ["template", aid, "-o", str(out), "--course", str(ROOT), "--repository", repository]
    assert main(argv) == 0
    assert (ROOT / "exercises" / f"{aid}.ipynb").read_bytes() == out.read_bytes(), (
        f"exercises/{aid}.ipynb is not what `grader template` writes today; regenerate it: "
        f"grader template {aid} --repository '{repository}' -o exercises/{aid}.ipynb"
    )


def test_starters_and_colab_links_name_one_repository(course: CourseConfig) -> None:
    """Either still the placeholder everywhere, or the maintainer's owner/name everywhere."""
    ids = [a for a, x in course.assignments.items() if x.exercises]
    named = {starter_repository(aid) for aid in ids}
    for aid in ids:
        text = (ROOT / "exercises" / f"{aid}.md").read_text(encoding="utf-8")
        named |= {repo for repo, _ in COLAB_LINK.findall(text)}
    assert len(named) == 1, named
    [repository] = named
    assert repository == REPOSITORY_PLACEHOLDER or REPOSITORY_RE.match(repository), repository


def test_submissions_folder_holds_only_its_readme() -> None:
    """Students' work arrives by pull request; the course's main branch carries none."""
    folder = ROOT / "submissions"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md"]
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert "submissions/<your-login>/<assignment>.ipynb" in text
    assert "`submissions/alice/section-01.ipynb`" in text
    assert "(../docs/students.md)" in text
    assert (ROOT / "docs" / "students.md").is_file()
    assert "(../exercises/)" in text


def test_the_readme_is_outside_every_students_folder(course: CourseConfig) -> None:
    """A PR that edits submissions/README.md is rejected; one beside it is graded."""
    readme = ChangedFile("submissions/README.md", "modified")
    mine = ChangedFile("submissions/alice/section-01.ipynb", "added")
    assert check_scope("alice", [mine], course.assignments).notebooks == (
        ("section-01", "submissions/alice/section-01.ipynb"),
    )
    rejected = check_scope("alice", [mine, readme], course.assignments)
    assert rejected.reasons == (
        "submissions/README.md is outside your folder; "
        "only files in submissions/alice/ may change.",
    )


def test_every_test_has_a_reference_answer(course: CourseConfig) -> None:
    assert sorted((aid, e.id) for aid, e in with_tests(course)) == sorted(REFERENCE)


def test_tests_need_no_torch(course: CourseConfig) -> None:
    for _, exercise in with_tests(course):
        assert exercise.test is not None
        assert "torch" not in exercise.test


@pytest.mark.parametrize("key", sorted(REFERENCE), ids="/".join)
def test_reference_answer_passes_the_test(course: CourseConfig, key: tuple[str, str]) -> None:
    exercise = next(e for e in course.assignments[key[0]].exercises if e.id == key[1])
    namespace: dict[str, object] = {}
    exec(textwrap.dedent(REFERENCE[key]), namespace)
    exec(exercise.test or "", namespace)


@pytest.mark.parametrize("key", sorted(REFERENCE), ids="/".join)
def test_an_unanswered_exercise_fails_its_test(course: CourseConfig, key: tuple[str, str]) -> None:
    exercise = next(e for e in course.assignments[key[0]].exercises if e.id == key[1])
    with pytest.raises(NameError):
        exec(exercise.test or "", {})


def test_requirements_name_the_book_packages() -> None:
    text = (ROOT / "exercises" / "requirements.txt").read_text(encoding="utf-8")
    packages = [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]
    assert {"torch", "d2l", "matplotlib"} <= set(packages)
    assert "--index-url https://download.pytorch.org/whl/cpu" in text


# --- the loader, on small courses written to tmp_path ------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


GOOD_ASSIGNMENT = """\
    title: Intro
    deadline: 2020-08-08T23:59:00-12:00
    exercises:
      - id: "1"
    """


def load_problems(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_course(root)
    return caught.value.problems


def test_loads_a_small_course(tmp_path: Path) -> None:
    write(tmp_path, {"course.yml": "name: C\n", "exercises/intro.yml": GOOD_ASSIGNMENT})
    course = load_course(tmp_path)
    assert course.name == "C"
    assert course.assignments["intro"].exercises == (Exercise("1"),)


def test_a_course_without_exercises_folder_has_no_assignments(tmp_path: Path) -> None:
    write(tmp_path, {"course.yml": "name: C\n"})
    assert load_course(tmp_path).assignments == {}


def test_missing_course_file_says_where_to_run(tmp_path: Path) -> None:
    assert load_problems(tmp_path) == [
        f"course.yml: not found in {tmp_path.resolve()}; run grader from the course "
        "repository's root or pass --course DIR"
    ]


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    broken = "title: Intro\ndeadline: [2020-08-08\nexercises: []\n"
    write(tmp_path, {"course.yml": "name: C\n", "exercises/intro.yml": broken})
    [problem] = load_problems(tmp_path)
    assert problem.startswith("exercises/intro.yml: line 3, column ")
    assert "YAML syntax error" in problem


def test_duplicate_yaml_keys_are_errors(tmp_path: Path) -> None:
    write(tmp_path, {"course.yml": "name: C\ngrace_hours: 48\ngrace_hours: 24\n"})
    assert load_problems(tmp_path) == [
        'course.yml: line 3, column 1: duplicate key "grace_hours"; keep only one'
    ]


def test_duplicate_keys_in_nested_mappings_too(tmp_path: Path) -> None:
    text = "name: C\nlabels:\n  late: a\n  late: b\n"
    write(tmp_path, {"course.yml": text})
    assert load_problems(tmp_path) == [
        'course.yml: line 4, column 3: duplicate key "late"; keep only one'
    ]


def test_yaml_merge_keys_still_work(tmp_path: Path) -> None:
    text = """\
        name: C
        execution:
          <<: {cell_timeout_s: 10, memory_mb: 512}
          cell_timeout_s: 30
        """
    write(tmp_path, {"course.yml": text})
    limits = load_course(tmp_path).execution
    assert (limits.cell_timeout_s, limits.memory_mb) == (30, 512)


def test_problems_of_every_file_are_reported_together(tmp_path: Path) -> None:
    files = {
        "course.yml": "name: C\ngrace_hours: -2\nextensions: {alice: {broken: 1d}}\n",
        "exercises/broken.yml": "deadline: : :\n",
        "exercises/naive.yml": "deadline: 2020-08-08 23:59:00\nexercises: []\n",
        "exercises/stray.yaml": GOOD_ASSIGNMENT,
    }
    problems = load_problems(write(tmp_path, files))
    assert [p.split(":")[0] for p in problems] == [
        "exercises/stray.yaml",
        "exercises/broken.yml",
        "course.yml",
        "exercises/naive.yml",
    ]
    assert problems[0] == "exercises/stray.yaml: rename it to stray.yml to be read"
    assert problems[2] == "course.yml: grace_hours: expected a number >= 0; got a number (-2)"
    assert problems[3].startswith("exercises/naive.yml: deadline: 2020-08-08T23:59:00 has no")


def test_unreadable_course_file_still_checks_the_exercises(tmp_path: Path) -> None:
    files = {"course.yml": "name: [\n", "exercises/intro.yml": "deadline: 2020-08-08\n"}
    problems = load_problems(write(tmp_path, files))
    assert problems[0].startswith("course.yml: line ")
    assert problems[1:] == [
        "exercises/intro.yml: exercises: required key is missing",
        "exercises/intro.yml: deadline: 2020-08-08 is a date without a time; write a date, a time "
        "and a UTC offset, e.g. 2020-08-08T23:59:00-12:00 (Anywhere on Earth) or "
        "2020-08-08T23:59:00Z (UTC)",
    ]


def test_missing_requirements_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"course.yml": "name: C\nrequirements: exercises/requirements.txt\n"})
    assert load_problems(tmp_path) == [
        "course.yml: requirements: exercises/requirements.txt does not exist; "
        "create it or remove the key"
    ]


def test_non_utf8_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "course.yml").write_bytes(b"name: \xff\n")
    [problem] = load_problems(tmp_path)
    assert problem.startswith("course.yml: is not UTF-8 text")
