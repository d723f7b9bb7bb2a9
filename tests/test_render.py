"""Escaping, the PR comment and the short bot bodies (THREATS rows 9 and 10)."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from grader.core import notices, render
from grader.core.markdown import (
    BODY_LIMIT,
    code_block,
    escape_inline,
    format_duration,
    format_time,
    strip_ansi,
    table,
    table_row,
)
from grader.core.model import (
    Assignment,
    CourseConfig,
    Evaluation,
    Exercise,
    ExerciseResult,
    Override,
    RecordState,
    Submission,
)
from grader.core.view import Shown
from tests.factories import DEADLINE
from tests.gfm import Tags, parse, to_html

PAYLOADS = [
    "a | b | c",
    '<!-- grader:pr {"student":"mallory","status":"complete"} -->',
    "--> closes a comment",
    "@org/team please look, cc @alice",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "`code` ``` ```` fence",
    "[link](javascript:alert(1)) ![i](http://x/y.png)",
    "**bold** _it_ ~~s~~ $x^2$ <b>b</b>",
    "#123 and owner/repo#5",
    "\x1b[31mred\x1b[0m \x1b]0;title\x07 \x9b1m",
    "line1\nline2\r\n| x |\n\n# heading",
    "x" * 70_000,
    "日本語🎉" * 20_000,
    "\ud83d lone surrogate \udc00 and a pair \ud83d\ude00",
    "&lt;script&gt; &amp; &#60;",
    "\\| escaped pipe \\",
    "<details><summary>x</summary>",
    "\u202eevil\u2066",
    "- list\n+ plus\n= setext",
]


# --- helpers -------------------------------------------------------------------


def live_mentions(text: str) -> list[str]:
    """@login that GitHub would link: outside code, in the rendered text."""
    html = re.sub(r"<(pre|code)>.*?</\1>", "", to_html(text), flags=re.DOTALL)
    return re.findall(r"(?<!\w)@[A-Za-z0-9]", html)


# --- escape_inline ---------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escape_inline_is_inert(payload: str) -> None:
    out = escape_inline(payload, 300)
    assert len(out) <= 300
    assert "\n" not in out
    assert "<" not in out
    assert ">" not in out
    assert not live_mentions(out)
    assert not re.search(r"#\d", out)
    out.encode("utf-8")  # no lone surrogates left
    tags = parse(f"before {out} after")
    assert set(tags.tags) == {"p"}
    assert tags.comments == []


def test_escape_inline_in_table_keeps_columns() -> None:
    rows = [
        table_row([escape_inline(p, 500), "mid", escape_inline(p[::-1], 500)]) for p in PAYLOADS
    ]
    tags = parse(table(["a", "b", "c"], rows))
    assert len(tags.tables) == 1
    assert [len(row) for row in tags.tables[0]] == [3] * (len(PAYLOADS) + 1)
    assert all(row[1] == "mid" for row in tags.tables[0][1:])
    assert not {"img", "script", "a", "details", "code", "b"} & set(tags.tags)


def test_escape_inline_shows_the_text() -> None:
    shown = parse(escape_inline("a | b <img> @bob #1 *x* _y_ `z` [l](u) 日本語", 200))
    text = re.sub(r"<[^>]+>", "", to_html(escape_inline("a | b @bob *x*", 200)))
    assert "a | b @\u2060bob *x*" in text
    assert shown.tags == ["p"]


def test_escape_inline_truncates_on_whole_escapes() -> None:
    assert escape_inline("x" * 70_000, 100) == "x" * 99 + "…"
    out = escape_inline("&" * 1_000, 12)
    assert out == "&amp;&amp;…"
    assert escape_inline("short", 5) == "short"
    assert escape_inline("日本語🎉" * 10, 5) == "日本語🎉…"
    with pytest.raises(ValueError, match="limit"):
        escape_inline("x", 0)


def test_escape_inline_collapses_whitespace_and_controls() -> None:
    assert escape_inline("a\n\n b\tc\x00d\x1b[1me", 50) == "a b cde"


def test_strip_ansi() -> None:
    assert strip_ansi("\x1b[1;31mError\x1b[0m: \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\") == (
        "Error: link"
    )


# --- code_block --------------------------------------------------------------------


def code_text(markdown: str) -> str:
    html = to_html(markdown)
    assert html.count("<pre") == 1
    tags = Tags()
    tags.feed(html)
    assert set(tags.tags) == {"pre", "code"}
    match = re.search(r"<code[^>]*>(.*)</code>", html, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_code_block_fence_outruns_backticks() -> None:
    text = "a ``` b\n````\n`````` end\n```\n<!-- grader:pr --> @alice <script>"
    block = code_block(text, 2_000)
    assert block.startswith("```````\n")
    assert "<!--" not in block
    inner = code_text(block)
    assert "`````` end" in inner
    assert "&lt;script&gt;" in inner


def test_code_block_strips_ansi_and_truncates_lines() -> None:
    text = "\n".join(f"\x1b[31mline {i}\x1b[0m" for i in range(100))
    block = code_block(text, 2_000, max_lines=10)
    assert "\x1b" not in block
    assert "line 9\n" in block
    assert "line 10" not in block
    assert "… 90 more lines" in block


def test_code_block_truncates_characters() -> None:
    block = code_block("y" * 70_000, 500)
    assert len(block) <= 500
    assert "…" in block
    code_text(block)


@pytest.mark.parametrize("seed", range(20))
def test_code_block_fuzz(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "`~|<>!-@#\n\r\t\x1b[m aé日🎉\ud800"
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5_000)))
    limit = rng.randint(100, 3_000)
    block = code_block(text, limit, max_lines=rng.randint(1, 50))
    assert len(block) <= limit
    assert "<!--" not in block
    block.encode("utf-8")
    code_text(block)


# --- times ---------------------------------------------------------------------------


def test_aoe_deadline_in_course_zone_and_utc() -> None:
    assert (
        format_time(DEADLINE, "Etc/GMT+12") == "2020-08-08 23:59 UTC-12:00 (2020-08-09 11:59 UTC)"
    )
    assert format_time(DEADLINE, "UTC") == "2020-08-09 11:59 UTC"
    assert format_time(DEADLINE, "Europe/Berlin") == "2020-08-09 13:59 CEST (2020-08-09 11:59 UTC)"
    assert format_time(DEADLINE, "No/Such_Zone") == "2020-08-09 11:59 UTC"
    assert format_time(DEADLINE.replace(second=30), "UTC") == "2020-08-09 11:59:30 UTC"


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(seconds=30), "less than a minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(hours=5, minutes=12), "5 hours 12 minutes"),
        (timedelta(days=2, hours=3, minutes=4), "2 days 3 hours"),
        (timedelta(days=1, minutes=4), "1 day"),
        (timedelta(seconds=-5), "less than a minute"),
    ],
)
def test_format_duration(span: timedelta, text: str) -> None:
    assert format_duration(span) == text


# --- the PR comment ------------------------------------------------------------------

COURSE = CourseConfig(name="D2L", timezone="Etc/GMT+12", grace_hours=48)
ASSIGNMENT = Assignment(
    id="section-01",
    title="Introduction to Deep Learning",
    deadline=DEADLINE,
    exercises=(
        Exercise(id="1", title="Exercises of chapter 1"),
        Exercise(id="summary", title="One-page summary", answer="markdown", min_words=150),
        Exercise(id="backward", answer="code"),
    ),
)
STATE = RecordState(
    student="alice",
    assignment="section-01",
    status="incomplete",
    submitted_at=datetime(2020, 8, 8, 20, 0, tzinfo=UTC),
    pr=7,
    sha="0123456789abcdef",
    deadline=DEADLINE,
    feedback="full",
)
TRACEBACK = "ZeroDivisionError: division by zero\nTraceback (most recent call last):\n" + (
    "  File \x1b[32m'<ipython>'\x1b[0m, line 1 | <!-- x --> @team\n" * 3_000
)
EVALUATION = Evaluation(
    assignment="section-01",
    status="incomplete",
    exercises=(
        ExerciseResult("1", "ok"),
        ExerciseResult("summary", "empty"),
        ExerciseResult("backward", "error", TRACEBACK),
    ),
    problems=("Kernel restarted once <img src=x onerror=alert(1)>",),
)
BEFORE_CLOSE = datetime(2020, 8, 10, 0, 0, tzinfo=UTC)


def comment(**changes: object) -> str:
    args: dict[str, object] = {
        "course": COURSE,
        "assignment": ASSIGNMENT,
        "state": STATE,
        "evaluation": EVALUATION,
        "now": BEFORE_CLOSE,
        "student": "alice",
    }
    args.update(changes)
    return render.pr_comment(**args)  # type: ignore[arg-type]


def test_pr_comment_incomplete() -> None:
    body = comment()
    assert body.startswith("<!-- grader:pr {")
    assert body.count("<!--") == 1
    assert len(body) < BODY_LIMIT
    assert "2020-08-08 23:59 UTC-12:00 (2020-08-09 11:59 UTC)" in body
    assert "1 day 11 hours to resubmit" in body
    assert (
        "Fix the exercises marked ❌ and push again to this pull request before "
        "2020-08-10 23:59 UTC-12:00 (2020-08-11 11:59 UTC)." in body
    )
    tags = parse(body)
    assert [len(r) for r in tags.tables[0]] == [3, 3, 3, 3]
    assert tags.tables[0][2][1] == "❌ empty"
    assert "150 words" in tags.tables[0][2][2]
    assert "img" not in tags.tags
    assert "script" not in tags.tags
    assert tags.comments == [tags.comments[0]]
    assert tags.comments[0].startswith(" grader:pr")
    assert not live_mentions(body)


def test_pr_comment_under_limit_with_huge_tracebacks() -> None:
    detail = "E" * 70_000 + "\n" + TRACEBACK + "x" * 70_000
    many = tuple(ExerciseResult(f"ex{i}", "error", detail) for i in range(300))
    big = Evaluation("section-01", "incomplete", many, problems=("p" * 70_000,) * 200)
    body = comment(evaluation=big)
    assert len(body) < BODY_LIMIT
    assert "more exercises not shown" in body
    assert "more errors not shown" in body
    for row in parse(body).tables[0]:
        assert len(row) == 3
    small = comment(evaluation=big, limit=6_000)
    assert len(small) < 6_000
    assert "What to do next" in small


def test_pr_comment_late_is_a_short_note() -> None:
    late = replace(
        STATE, status="late", feedback="late-note", submitted_at=DEADLINE + timedelta(hours=1)
    )
    body = comment(state=late)
    assert body.startswith("<!-- grader:pr {")
    assert "received after the deadline" in body
    assert "not reviewed, and it counts as incomplete" in body
    assert "<table" not in to_html(body)
    assert "Traceback" not in body
    assert len(body) < 1_000


LATE_PUSH = Submission(
    at=datetime(2020, 8, 19, tzinfo=UTC),
    sha="fedcba9876543210",
    pr=7,
    evaluation=Evaluation("section-01", "complete", (ExerciseResult("1", "ok"),)),
)


def test_pr_comment_window_closed_keeps_the_last_feedback_below() -> None:
    closed = replace(STATE, feedback="window-closed")
    shown = Shown(latest=LATE_PUSH, override=None, evaluation=EVALUATION)
    body = comment(state=closed, now=datetime(2020, 8, 20, tzinfo=UTC), shown=shown, pr=7)
    assert "after the resubmission window closed on 2020-08-10 23:59 UTC-12:00" in body
    assert "stays **incomplete**" in body
    assert "The latest push (commit `fedcba9`)" in body
    assert "the last reviewed push, commit `0123456`" in body
    # The reviewed push's checks stay, below the note: not those of the late push.
    table = parse(body).tables[0]
    assert table[2][1] == "❌ empty"
    assert body.index("window closed on") < body.index("| Exercise |")
    assert "- **Handed in:** 2020-08-18 12:00 UTC-12:00 (2020-08-19 00:00 UTC)" in body
    assert "commit `fedcba9`" in body
    assert "**Decided by:** the hand-in in #7 of 2020-08-08 08:00 UTC-12:00" in body


def test_pr_comment_shows_hand_in_time_and_short_commit() -> None:
    latest = Submission(at=STATE.submitted_at, sha=STATE.sha, pr=7, evaluation=EVALUATION)  # type: ignore[arg-type]
    body = comment(shown=Shown(latest, None, EVALUATION), pr=7)
    assert (
        "- **Handed in:** 2020-08-08 08:00 UTC-12:00 (2020-08-08 20:00 UTC), "
        "as GitHub recorded it; commit `0123456`" in body
    )
    assert "Decided by" not in body  # the shown commit decided the record
    assert "was completed in" not in body


def test_pr_comment_of_an_older_pr_says_which_pr_decided() -> None:
    done = replace(STATE, status="complete", pr=12, sha="abcdef0123")
    latest = Submission(
        at=datetime(2020, 8, 9, tzinfo=UTC),
        sha="abcdef0123",
        pr=12,
        evaluation=Evaluation("section-01", "complete"),
    )
    body = comment(state=done, pr=7, shown=Shown(latest, None, latest.evaluation))
    assert "This assignment was completed in #12." in body
    assert "push again" not in body
    assert "Well done!" in body
    html = to_html(body)
    assert "#12" in html
    still = comment(state=replace(STATE, pr=12), pr=7)
    assert "decided in #12: it is **incomplete**" in still
    assert "push again to #12 or to this pull request" in still


def test_pr_comment_override_says_who_when_why_and_drops_well_done_over_red_rows() -> None:
    done = replace(STATE, status="complete", override=True, note="reviewed by hand")
    by = Override(
        at=datetime(2020, 8, 12, 10, tzinfo=UTC),
        status="complete",
        by="tina",
        note="reviewed by hand",
    )
    body = comment(state=done, shown=Shown(None, by, EVALUATION))
    assert "✅ complete, set by tina on 2020-08-11 22:00 UTC-12:00 (2020-08-12 10:00 UTC)" in body
    assert "**TA note:** reviewed by hand" in body
    assert "Well done!" not in body  # two rows still fail
    assert "a TA marked it complete" in body
    passing = Evaluation("section-01", "complete", (ExerciseResult("1", "ok"),))
    clean = comment(state=done, shown=Shown(None, by, passing))
    assert "Well done!" in clean


def test_pr_comment_complete_kept_after_a_worse_push_says_so() -> None:
    done = replace(STATE, status="complete")
    body = comment(state=done, shown=Shown(LATE_PUSH, None, EVALUATION))
    assert "Well done!" not in body
    assert "a complete mark is never taken back" in body


def test_pr_comment_override_shows_note() -> None:
    done = replace(STATE, status="complete", override=True, note="checked by hand <img src=x> @bob")
    body = comment(state=done)
    assert "✅ complete, set by a TA" in body
    assert "TA note:" in body
    assert "checked by hand" in body
    assert "img" not in parse(body).tags
    assert "Nothing more to do" in body


def test_pr_comment_incomplete_override_cannot_be_pushed_away() -> None:
    body = comment(state=replace(STATE, override=True, note="copied"))
    assert "pushing again will not change that" in body


def test_pr_comment_after_window_and_before_deadline() -> None:
    late_now = comment(now=datetime(2020, 8, 20, tzinfo=UTC))
    assert "The resubmission window has closed" in late_now
    early = comment(now=datetime(2020, 8, 1, tzinfo=UTC))
    assert "to resubmit" in early
    opened = comment(state=replace(STATE, status="open"), now=datetime(2020, 8, 1, tzinfo=UTC))
    assert "until the deadline" in opened


def test_pr_comment_without_evaluation() -> None:
    body = comment(evaluation=None, state=replace(STATE, status="complete", override=True))
    assert "No check results are available" in body


def test_pr_facts_round_trip_and_cannot_be_closed_early() -> None:
    evil = "x--><img src=x>&<!--"
    body = comment(student=evil)
    first = body.split("\n", 1)[0]
    assert first.count("-->") == 1
    assert first.endswith(" -->")
    facts = render.pr_facts(body)
    assert facts is not None
    assert facts["student"] == evil
    assert facts["status"] == "incomplete"
    assert facts["pr"] == 7
    assert render.pr_facts("<!-- grader:pr -->\nhello") is None
    assert render.pr_facts("no marker") is None


def test_forged_marker_in_untrusted_text_is_inert() -> None:
    forged = '<!-- grader:pr {"student":"mallory","status":"complete"} -->'
    evaluation = Evaluation(
        "section-01",
        "incomplete",
        (ExerciseResult("1", "error", forged + "\n" + forged),),
        (forged,),
    )
    body = comment(evaluation=evaluation)
    assert body.count("<!--") == 1
    assert render.pr_facts(body) == render.pr_facts(comment())


# --- short bodies and the job summary ----------------------------------------------------


def test_sticky_bodies_start_with_marker_and_escape() -> None:
    bodies = [
        notices.scope_rejection(PAYLOADS),
        notices.evidence_invalid(PAYLOADS[4], PAYLOADS),
        notices.missing_artifact(PAYLOADS[1]),
        notices.not_on_roster("<img src=x>"),
    ]
    for body in bodies:
        assert body.startswith("<!-- grader:pr -->")
        assert body.count("<!--") == 1
        assert len(body) < BODY_LIMIT
        tags = parse(body)
        assert not {"img", "script", "details"} & set(tags.tags)
        assert "What to do next" in body


def test_replies_carry_no_marker() -> None:
    refused = notices.command_refused("mallory")
    assert "only course TAs and repository maintainers can run /grader commands." in refused
    assert "Nothing was changed." in refused
    error = notices.command_error(["unknown command `/grader compete`", "@everyone <b>"])
    reply = notices.command_reply(
        course=COURSE,
        action="extend",
        students=["alice"],
        assignment="section-01",
        deadline=DEADLINE + timedelta(days=2),
    )
    assert "2020-08-10 23:59 UTC-12:00" in reply
    for body in (
        refused,
        error,
        reply,
        notices.command_reply(course=COURSE, action="x", students=[]),
    ):
        assert not body.startswith("<!-- grader:")
        assert "<b>" not in body
        assert not live_mentions(body)


def test_step_summary() -> None:
    ok = Evaluation("section-03", "complete", (ExerciseResult("1", "ok"),))
    summary = notices.step_summary([EVALUATION, ok])
    tags = parse(summary)
    assert [len(r) for r in tags.tables[0]] == [4, 4, 4]
    assert tags.tables[0][2][1] == "✅ complete"
    assert len(notices.step_summary([EVALUATION] * 1_000)) < BODY_LIMIT
    assert "No notebooks" in notices.step_summary([])


def test_escape_inline_wrap_breaks_long_words_only() -> None:
    zwsp = "\u200b"
    assert escape_inline("a" * 25, 100, wrap=10) == zwsp.join(["a" * 10, "a" * 10, "a" * 5])
    assert zwsp not in escape_inline("short words stay whole", 100, wrap=10)
    escaped = escape_inline("<" * 12, 200, wrap=10)
    assert escaped == "&lt;" * 10 + zwsp + "&lt;" * 2  # never inside an entity
    assert len(escape_inline("x" * 500, 50, wrap=10)) <= 50


def test_exercise_table_detail_can_wrap() -> None:
    long = Evaluation("section-01", "incomplete", (ExerciseResult("1", "error", "E" * 200),))
    row = parse(comment(evaluation=long)).tables[0][1]
    assert all(len(part) <= 30 for part in row[2].split("\u200b"))


# --- errors a student can fix (issue 11): the comment shows the cause and the failing line --


def shown_text(markdown: str) -> str:
    """What a reader sees: the rendered HTML's text, entities decoded."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", to_html(markdown)))


def torch_evaluation(compared_left: str = "3") -> Evaluation:
    """What the verdict makes of a notebook whose first cell imports a missing package."""
    from grader.core.model import Cell, CellRun, NotebookRun
    from grader.core.tracebacks import compared_line
    from grader.core.verdict import evaluate

    missing = (
        "ModuleNotFoundError: No module named 'torch'\n"
        "ModuleNotFoundError                       Traceback (most recent call last)\n"
        "Cell In[1], line 1\n"
        "----> 1 import torch\n"
        "ModuleNotFoundError: No module named 'torch'"
    )
    name_error = (
        "NameError: name 'torch' is not defined\n"
        "NameError                                 Traceback (most recent call last)\n"
        "Cell In[2], line 1\n"
        "----> 1 x = torch.zeros(3)\n"
        "NameError: name 'torch' is not defined"
    )
    check = (
        "AssertionError: \n"
        "AssertionError                            Traceback (most recent call last)\n"
        "Cell In[4], line 1\n"
        "----> 1 assert backward(2) == 4\n"
        "AssertionError: \n" + compared_line("==", compared_left, "4")
    )
    sources = [
        ("markdown", "# Setup"),
        ("code", "import torch"),
        ("markdown", "## Exercise 1"),
        ("code", "x = torch.zeros(3)"),
        ("markdown", "## Exercise summary"),
        ("markdown", " ".join(["word"] * 200)),
        ("markdown", "## Exercise backward"),
        ("code", "def backward(x):\n    return x + 1"),
    ]
    cells = tuple(Cell(i, kind, text) for i, (kind, text) in enumerate(sources))  # type: ignore[arg-type]
    runs = {1: CellRun("error", missing), 3: CellRun("error", name_error), 7: CellRun("ok")}
    assignment = replace(
        ASSIGNMENT,
        exercises=(*ASSIGNMENT.exercises[:2], Exercise("backward", test="assert backward(2) == 4")),
    )
    run = NotebookRun(cells, runs, {"backward": CellRun("error", check)})
    return evaluate(assignment, run)


def test_pr_comment_shows_the_first_failure_before_the_errors_and_the_failing_lines() -> None:
    body = comment(evaluation=torch_evaluation())
    problems, errors = body.index("#### Notebook problems"), body.index("#### Errors")
    assert problems < errors
    cause = shown_text(body[problems:errors])
    assert "The 2nd cell, under 'Setup', failed first: ModuleNotFoundError" in cause
    assert "no package `torch`: a notebook cannot install packages" in cause
    table_rows = parse(body).tables[0]
    assert table_rows[1][2].startswith("the 4th cell, under 'Exercise 1', failed: NameError")
    assert table_rows[3][2].startswith("the check of exercise backward failed: AssertionError")
    blocks = shown_text(body[errors:])
    assert "--> 1 x = torch.zeros(3)" in blocks
    assert "This may follow from an earlier error: the 2nd cell, under 'Setup'" in blocks
    assert "--> 1 assert backward(2) == 4" in blocks
    assert "got 3, expected 4" in blocks
    assert "In[" not in body


def test_pr_comment_keeps_a_compared_value_inert() -> None:
    hostile = "'<img src=x onerror=alert(1)> @team ``` <!-- x -->'"
    body = comment(evaluation=torch_evaluation(hostile))
    tags = parse(body)
    assert "img" not in tags.tags
    assert tags.comments == [tags.comments[0]]
    assert not live_mentions(body)
    assert "got '<img src=x onerror=alert(1)> @team ``` <!" in shown_text(body)  # literally
