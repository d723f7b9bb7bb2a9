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

__all__ = ["pr_comment", "pr_facts"]

_FACTS = re.compile(r"<!-- grader:pr (\{[^\n]*?\}) -->")
_SLACK = 64  # joins between sections


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
) -> str:
    """The sticky comment on a student's pull request, shorter than `limit`.

    A PR holding several notebooks joins several of these: pass each a share
    of BODY_LIMIT. Details that do not fit are left out, never cut mid-block.
    """
    head = _state_marker(state, student)
    if not state.override and (state.feedback == "late-note" or state.status == "late"):
        return f"{head}\n{_late_note(course, assignment, state)}"
    if not state.override and state.feedback == "window-closed":
        return f"{head}\n{_window_closed_note(course, assignment, state)}"
    title = _title(assignment, state, RECORD_STATUS[state.status][1])
    facts = _facts_list(course, assignment, state, evaluation, now)
    step = f"**What to do next:** {_next_step(course, assignment, state, evaluation, now)}"
    room = limit - len(head) - len(title) - len(facts) - len(step) - _SLACK
    details = _evaluation_sections(course, assignment, evaluation, room)
    for middle in (details, ["_The details did not fit in this comment._"], []):
        body = "\n\n".join(s for s in (title, facts, *middle, step) if s)
        if len(head) + len(body) + 2 < limit:
            break
    return f"{head}\n{body}\n"


def _deadline(assignment: Assignment, state: RecordState) -> datetime:
    return state.deadline or assignment.deadline


def _title(assignment: Assignment, state: RecordState, what: str) -> str:
    glyph = RECORD_STATUS[state.status][0]
    name = escape_inline(assignment.title or assignment.id, 200)
    return f"### {glyph} {name} ({escape_inline(assignment.id, 60)}): {what}"


def _late_note(course: CourseConfig, assignment: Assignment, state: RecordState) -> str:
    when = ""
    if state.submitted_at is not None:
        when = f" on {format_time(state.submitted_at, course.timezone)}"
    deadline = format_time(_deadline(assignment, state), course.timezone)
    return (
        f"{_title(assignment, state, 'received after the deadline')}\n\n"
        f"This submission arrived{when}, after the deadline of {deadline}. "
        "Late work is not reviewed, and it counts as incomplete. "
        "Nothing more to do for this assignment.\n"
    )


def _window_closed_note(course: CourseConfig, assignment: Assignment, state: RecordState) -> str:
    closed = format_time(_deadline(assignment, state) + course.grace, course.timezone)
    status = RECORD_STATUS[state.status][1]
    return (
        f"{_title(assignment, state, 'resubmission window closed')}\n\n"
        f"The latest push arrived after the resubmission window closed on {closed}. "
        f"It was not reviewed, and this assignment stays **{status}**.\n"
    )


def _facts_list(
    course: CourseConfig,
    assignment: Assignment,
    state: RecordState,
    evaluation: Evaluation | None,
    now: datetime,
) -> str:
    deadline = _deadline(assignment, state)
    lines = [f"- **Status:** {_status_text(state, evaluation)}"]
    if state.override and state.note:
        lines.append(f"- **TA note:** {escape_inline(state.note, 1_000)}")
    lines.append(f"- **Deadline:** {format_time(deadline, course.timezone)}")
    if state.status == "incomplete" and not state.override:
        close = format_time(deadline + course.grace, course.timezone)
        lines.append(f"- **Resubmit by:** {close}")
    left = _time_left(state, deadline, deadline + course.grace, now)
    if left:
        lines.append(f"- **Time left:** {left}")
    return "\n".join(lines)


def _status_text(state: RecordState, evaluation: Evaluation | None) -> str:
    glyph, word = RECORD_STATUS[state.status]
    if state.override:
        return f"{glyph} {word}, set by a TA"
    if evaluation is None or state.status != "incomplete":
        return f"{glyph} {word}"
    failing = sum(1 for r in evaluation.exercises if r.status != "ok")
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
    evaluation: Evaluation | None,
    now: datetime,
) -> str:
    deadline = _deadline(assignment, state)
    close = deadline + course.grace
    if state.status == "complete":
        return "Nothing more to do for this assignment. Well done!"
    if state.override:
        return (
            "A TA marked this assignment incomplete; pushing again will not change that. "
            "Ask a TA if you have questions."
        )
    if state.status == "incomplete" and now > close:
        return "The resubmission window has closed, so this assignment stays incomplete."
    if state.status == "incomplete":
        failing = evaluation is not None and any(r.status != "ok" for r in evaluation.exercises)
        what = "the exercises marked ❌" if failing else "the problems listed above"
        return (
            f"Fix {what} and push again to this pull request before "
            f"{format_time(close, course.timezone)}."
        )
    return (
        f"Push your notebook to this pull request before {format_time(deadline, course.timezone)}."
    )


def _evaluation_sections(
    course: CourseConfig, assignment: Assignment, evaluation: Evaluation | None, room: int
) -> list[str]:
    if evaluation is None:
        return ["No check results are available for this submission."]
    if room < 1_000:
        return []
    return [
        _exercise_table(course, assignment, evaluation.exercises, room * 45 // 100),
        _error_blocks(evaluation.exercises, room * 40 // 100),
        _problem_list(evaluation.problems, room * 10 // 100),
    ]


def _exercise_label(assignment: Assignment, exercise_id: str) -> str:
    titles = {e.id: e.title for e in assignment.exercises}
    label = escape_inline(exercise_id, 60)
    title = titles.get(exercise_id, "")
    return f"{label}: {escape_inline(title, 120)}" if title else label


def _hint(course: CourseConfig, assignment: Assignment, result: ExerciseResult) -> str:
    words = {e.id: e.min_words for e in assignment.exercises}.get(result.id)
    name = escape_inline(result.id, 60)
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
        shown = escape_inline(detail, 240) if detail else _hint(course, assignment, result)
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
