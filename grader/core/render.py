"""Markdown the bot writes on pull requests and in the Actions job summary.

Pure: every function returns a string from values. The PR's sticky comment
starts with the hidden marker `<!-- grader:pr ... -->` (CONTRACT section 6);
replies to commands carry no marker, so they are never taken for it.
Student-controlled text goes through `markdown.escape_inline`/`code_block`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from grader.core.markdown import (
    BODY_LIMIT,
    code_block,
    escape_inline,
    fit,
    format_duration,
    format_time,
    table,
    table_row,
)
from grader.core.model import Assignment, CourseConfig, Evaluation, ExerciseResult, RecordState
from grader.core.notices import EXERCISE_STATUS, PR_MARKER, RECORD_STATUS
from grader.core.view import Shown

__all__ = ["pr_comment", "pr_facts"]

_FACTS = re.compile(r"<!-- grader:pr (\{[^\n]*?\}) -->")
_SLACK = 64  # joins between sections
_WRAP = 30  # a table cell's longest unbroken run: wider would push the table past the body


# --- the hidden marker -----------------------------------------------------


def _marker(facts: Mapping[str, str | int | bool | None]) -> str:
    data = json.dumps(dict(facts), ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    # No '>' can survive, so nothing inside can close the HTML comment.
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        data = data.replace(char, code)
    return f"{PR_MARKER} {data} -->"


def _state_marker(state: RecordState, student: str) -> str:
    def short(text: str | None) -> str | None:
        return None if text is None else text[:100]

    return _marker(
        {
            "student": short(student),
            "assignment": short(state.assignment),
            "status": state.status,
            "override": state.override,
            "pr": state.pr,
            "sha": short(state.sha),
            "submitted_at": None if state.submitted_at is None else state.submitted_at.isoformat(),
        }
    )


def pr_facts(body: str) -> dict[str, object] | None:
    """The facts a PR comment carries in its marker, or None if it has none."""
    match = _FACTS.match(body)
    if match is None:
        return None
    try:
        facts = json.loads(match.group(1))
    except ValueError:
        return None
    return facts if isinstance(facts, dict) else None


# --- the PR comment ----------------------------------------------------------


def pr_comment(
    *,
    course: CourseConfig,
    assignment: Assignment,
    state: RecordState,
    evaluation: Evaluation | None,
    now: datetime,
    student: str,
    limit: int = BODY_LIMIT,
    pr: int | None = None,
    shown: Shown | None = None,
) -> str:
    """The sticky comment on a student's pull request, shorter than `limit`.

    `pr`: the pull request the comment is on, so a PR whose record was decided by
    another says which; `shown`: the facts behind the feedback (hand-in time and
    commit, the TA's override, the checks of the last reviewed push), from
    `core.view.shown_facts`; without it, `evaluation` and the state's own facts.
    A PR holding several notebooks joins several of these: pass each a share
    of BODY_LIMIT. Details that do not fit are left out, never cut mid-block.
    """
    shown = shown or Shown(None, None, evaluation)
    head = _state_marker(state, student)
    if not state.override and (state.feedback == "late-note" or state.status == "late"):
        return f"{head}\n{_late_note(course, assignment, state, shown)}"
    closed = not state.override and state.feedback == "window-closed"
    what = "resubmission window closed" if closed else RECORD_STATUS[state.status][1]
    title = _title(assignment, state, what)
    lead = _lead(course, assignment, state, pr, shown, closed)
    facts = _facts_list(course, assignment, state, shown, now)
    step = f"**What to do next:** {_next_step(course, assignment, state, shown, now, pr)}"
    room = limit - len(head) - len(title) - len(lead) - len(facts) - len(step) - _SLACK
    details = _evaluation_sections(course, assignment, shown.evaluation, room)
    for middle in (details, ["_The details did not fit in this comment._"], []):
        body = "\n\n".join(s for s in (title, lead, facts, *middle, step) if s)
        if len(head) + len(body) + 2 < limit:
            break
    return f"{head}\n{body}\n"


def _deadline(assignment: Assignment, state: RecordState) -> datetime:
    return state.deadline or assignment.deadline


def _title(assignment: Assignment, state: RecordState, what: str) -> str:
    glyph = RECORD_STATUS[state.status][0]
    name = escape_inline(assignment.title or assignment.id, 200)
    return f"### {glyph} {name} ({escape_inline(assignment.id, 60)}): {what}"


def _short(sha: str | None) -> str:
    """A commit as GitHub abbreviates it; only hex digits, so nothing to escape."""
    short = "".join(c for c in (sha or "")[:7] if c in "0123456789abcdefABCDEF")
    return f"`{short}`" if short else "unknown"


def _hand_in(course: CourseConfig, at: datetime | None, sha: str | None) -> str:
    when = format_time(at, course.timezone) if at is not None else "unknown"
    return f"{when}, as GitHub recorded it; commit {_short(sha)}"


def _late_note(
    course: CourseConfig, assignment: Assignment, state: RecordState, shown: Shown
) -> str:
    when = ""
    if state.submitted_at is not None:
        when = f" on {format_time(state.submitted_at, course.timezone)}"
    deadline = format_time(_deadline(assignment, state), course.timezone)
    latest = shown.latest
    commit = _short(latest.sha if latest else state.sha)
    return (
        f"{_title(assignment, state, 'received after the deadline')}\n\n"
        f"This submission (commit {commit}) arrived{when}, after the deadline of {deadline}. "
        "Late work is not reviewed, and it counts as incomplete. "
        "Nothing more to do for this assignment.\n"
    )


def _lead(
    course: CourseConfig,
    assignment: Assignment,
    state: RecordState,
    pr: int | None,
    shown: Shown,
    closed: bool,
) -> str:
    """What the reader must know before the facts: another PR decided, or the window closed."""
    lines = []
    if pr is not None and state.pr is not None and state.pr != pr:
        if state.status == "complete":
            lines.append(f"This assignment was completed in #{state.pr}.")
        else:
            word = RECORD_STATUS[state.status][1]
            lines.append(f"This assignment was decided in #{state.pr}: it is **{word}**.")
    if closed:
        closes = format_time(_deadline(assignment, state) + course.grace, course.timezone)
        status = RECORD_STATUS[state.status][1]
        latest = shown.latest
        commit = f" (commit {_short(latest.sha)})" if latest is not None else ""
        lines.append(
            f"The latest push{commit} arrived after the resubmission window closed on "
            f"{closes}. It was not reviewed, and this assignment stays **{status}**. "
            f"The feedback below is for the last reviewed push, commit {_short(state.sha)}."
        )
    return "\n\n".join(lines)


def _facts_list(
    course: CourseConfig,
    assignment: Assignment,
    state: RecordState,
    shown: Shown,
    now: datetime,
) -> str:
    deadline = _deadline(assignment, state)
    lines = [f"- **Status:** {_status_text(course, state, shown)}"]
    if state.override and state.note:
        lines.append(f"- **TA note:** {escape_inline(state.note, 1_000)}")
    lines.append(f"- **Deadline:** {format_time(deadline, course.timezone)}")
    latest = shown.latest
    if latest is not None:
        lines.append(f"- **Handed in:** {_hand_in(course, latest.at, latest.sha)}")
    if state.sha is not None and (latest is None or latest.sha != state.sha):
        where = f" in #{state.pr}" if state.pr is not None else ""
        decided = _hand_in(course, state.submitted_at, state.sha)
        lines.append(f"- **Decided by:** the hand-in{where} of {decided}")
    if state.status == "incomplete" and not state.override:
        close = format_time(deadline + course.grace, course.timezone)
        lines.append(f"- **Resubmit by:** {close}")
    left = _time_left(state, deadline, deadline + course.grace, now)
    if left:
        lines.append(f"- **Time left:** {left}")
    return "\n".join(lines)


def _failing(evaluation: Evaluation | None) -> int:
    return 0 if evaluation is None else sum(1 for r in evaluation.exercises if r.status != "ok")


def _status_text(course: CourseConfig, state: RecordState, shown: Shown) -> str:
    glyph, word = RECORD_STATUS[state.status]
    if state.override:
        override = shown.override
        if override is None:
            return f"{glyph} {word}, set by a TA"
        who = escape_inline(override.by, 60)
        return f"{glyph} {word}, set by {who} on {format_time(override.at, course.timezone)}"
    evaluation = shown.evaluation
    if evaluation is None or state.status != "incomplete":
        return f"{glyph} {word}"
    failing = _failing(evaluation)
    return f"{glyph} {word}: {failing} of {len(evaluation.exercises)} exercises need work"


def _time_left(state: RecordState, deadline: datetime, close: datetime, now: datetime) -> str:
    if state.override or state.status in ("complete", "late"):
        return ""
    if state.status == "incomplete":
        if now > close:
            return f"none: the resubmission window closed on {_utc(close)}."
        return f"{format_duration(close - now)} to resubmit."
    if now <= deadline:
        return f"{format_duration(deadline - now)} until the deadline."
    return "none: the deadline has passed."


def _utc(moment: datetime) -> str:
    return format_time(moment, "UTC")


def _next_step(
    course: CourseConfig,
    assignment: Assignment,
    state: RecordState,
    shown: Shown,
    now: datetime,
    pr: int | None,
) -> str:
    deadline = _deadline(assignment, state)
    close = deadline + course.grace
    failing = _failing(shown.evaluation)
    if state.status == "complete" and state.override:
        if failing:  # the TA's judgement, not the checks: no "Well done!" over red rows
            return "Nothing more to do for this assignment: a TA marked it complete."
        return "Nothing more to do for this assignment. Well done!"
    if state.status == "complete":
        if failing:
            return (
                "Nothing more to do for this assignment: it stays complete, because a "
                "complete mark is never taken back, even though the latest push does not "
                "pass every check."
            )
        return "Nothing more to do for this assignment. Well done!"
    if state.override:
        return (
            "A TA marked this assignment incomplete; pushing again will not change that. "
            "Ask a TA if you have questions."
        )
    if state.status == "incomplete" and now > close:
        return "The resubmission window has closed, so this assignment stays incomplete."
    where = "to this pull request"
    if pr is not None and state.pr is not None and state.pr != pr:
        where = f"to #{state.pr} or to this pull request"
    if state.status == "incomplete":
        what = "the exercises marked ❌" if failing else "the problems listed above"
        return f"Fix {what} and push again {where} before {format_time(close, course.timezone)}."
    return f"Push your notebook {where} before {format_time(deadline, course.timezone)}."


def _evaluation_sections(
    course: CourseConfig, assignment: Assignment, evaluation: Evaluation | None, room: int
) -> list[str]:
    if evaluation is None:
        return ["No check results are available for this submission."]
    if room < 1_000:
        return []
    return [
        _exercise_table(course, assignment, evaluation.exercises, room * 45 // 100),
        # Before the errors: a notebook problem is often their cause (a missing package).
        _problem_list(evaluation.problems, room * 10 // 100),
        _error_blocks(evaluation.exercises, room * 40 // 100),
    ]


def _exercise_label(assignment: Assignment, exercise_id: str) -> str:
    titles = {e.id: e.title for e in assignment.exercises}
    label = escape_inline(exercise_id, 60, wrap=_WRAP)
    title = titles.get(exercise_id, "")
    return f"{label}: {escape_inline(title, 120, wrap=_WRAP)}" if title else label


def _hint(course: CourseConfig, assignment: Assignment, result: ExerciseResult) -> str:
    words = {e.id: e.min_words for e in assignment.exercises}.get(result.id)
    name = escape_inline(result.id, 60, wrap=_WRAP)
    hints = {
        "ok": "",
        "missing": f"No answer found: put it under a heading “Exercise {name}” "
        f"or tag the cell exercise-{name}.",
        "empty": "The answer is blank or still the template placeholder"
        + (f", or shorter than {words} words." if words else "."),
        "error": "Your answer raised an error.",
        "timeout": f"A cell ran longer than {course.execution.cell_timeout_s:g} s and was stopped.",
        "not-run": "Not run: execution stopped in an earlier cell.",
    }
    return hints[result.status]


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "")


def _exercise_table(
    course: CourseConfig, assignment: Assignment, results: Sequence[ExerciseResult], budget: int
) -> str:
    if not results:
        return "This assignment has no exercises to check."
    rows = []
    for result in results:
        detail = _first_line(result.detail)
        shown = (
            escape_inline(detail, 240, wrap=_WRAP) if detail else _hint(course, assignment, result)
        )
        label = _exercise_label(assignment, result.id)
        rows.append(table_row([label, EXERCISE_STATUS[result.status], shown]))
    rows = fit(rows, budget - 100, "| … | {n} more exercises not shown | |")
    return table(["Exercise", "Status", "Detail"], rows)


def _error_blocks(results: Sequence[ExerciseResult], budget: int) -> str:
    wanted = [r for r in results if r.status != "ok" and "\n" in r.detail.strip()]
    if not wanted:
        return ""
    each = max(600, min(4_000, budget // len(wanted) - 100))
    blocks = [
        f"**Exercise {escape_inline(r.id, 60)}**\n\n{code_block(r.detail, each, max_lines=20)}"
        for r in wanted
    ]
    kept = fit(blocks, budget - 20, "_… {n} more errors not shown._")
    return "#### Errors\n\n" + "\n\n".join(kept)


def _problem_list(problems: Sequence[str], budget: int) -> str:
    if not problems:
        return ""
    items = [f"- {escape_inline(p, 500)}" for p in problems]
    return "#### Notebook problems\n\n" + "\n".join(fit(items, budget - 30, "- … {n} more"))
