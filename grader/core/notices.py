"""Short bot bodies: rejections, command replies, and the Actions job summary.

Sticky bodies (the PR's one bot comment) start with `PR_MARKER`; replies to
commands carry no marker, so they are never taken for the sticky comment.
`render` re-exports everything here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from grader.core.markdown import BODY_LIMIT, escape_inline, fit, format_time, table, table_row
from grader.core.model import CourseConfig, Evaluation

__all__ = [
    "EXERCISE_STATUS",
    "PR_MARKER",
    "RECORD_STATUS",
    "command_error",
    "command_refused",
    "command_reply",
    "evidence_invalid",
    "missing_artifact",
    "not_on_roster",
    "scope_rejection",
    "step_summary",
]

PR_MARKER = "<!-- grader:pr"

# record status -> (glyph, words)
RECORD_STATUS = {
    "complete": ("✅", "complete"),
    "incomplete": ("❌", "incomplete"),
    "late": ("⏰", "late (counts as incomplete)"),
    "missing": ("⛔", "missing"),
    "open": ("⏳", "open"),
}
EXERCISE_STATUS = {
    "ok": "✅ done",
    "missing": "❌ missing",
    "empty": "❌ empty",
    "error": "❌ error",
    "timeout": "❌ timed out",
    "not-run": "❌ not run",
}
_REGRADE_HINT = (
    "push again, or ask a TA to re-run the `grade` workflow for this pull request "
    '(Actions tab, "Re-run all jobs"); the time of your push still counts as your '
    "submission time."
)


def _bullets(items: Sequence[str], each: int, budget: int) -> str:
    return "\n".join(fit([f"- {escape_inline(i, each)}" for i in items], budget, "- … {n} more"))


def scope_rejection(reasons: Sequence[str]) -> str:
    """Sticky comment for a PR that touches files outside the author's folder."""
    return (
        f"{PR_MARKER} -->\n"
        "### 🚫 Not graded: this pull request changes files it may not change\n\n"
        f"{_bullets(reasons, 300, 20_000)}\n\n"
        "**What to do next:** a submission may only add or change files in "
        "`submissions/<your-login>/`. Undo the other changes and push again, or open a new "
        "pull request that contains only your notebook.\n"
    )


def not_on_roster(login: str) -> str:
    """Sticky comment for a PR whose author is not enrolled in the course."""
    return (
        f"{PR_MARKER} -->\n### 🚫 Not graded: {escape_inline(login, 60)} is not on the roster\n\n"
        "Only students enrolled in the course are graded. Nothing was recorded.\n\n"
        "**What to do next:** if you are enrolled, ask a TA to add your GitHub login to the "
        "course roster; your pull request is graded on its next push or regrade.\n"
    )


def evidence_invalid(reason: str, static_problems: Sequence[str]) -> str:
    """Sticky comment when the grading run's results could not be trusted."""
    body = (
        f"{PR_MARKER} -->\n### ⚠️ Not graded: the grading results could not be verified\n\n"
        f"{escape_inline(reason, 500)}\n\nYour record was not changed."
    )
    if static_problems:
        body += "\n\nProblems found without running the notebook:\n\n"
        body += _bullets(static_problems, 300, 20_000)
    return f"{body}\n\n**What to do next:** {_REGRADE_HINT}\n"


def missing_artifact(reason: str) -> str:
    """Sticky comment when the grading run left no results to publish."""
    return (
        f"{PR_MARKER} -->\n### ⏳ No result yet: grading did not finish\n\n"
        f"{escape_inline(reason, 500)}\n\nYour record was not changed.\n\n"
        "**What to do next:** if the run is waiting for approval, a maintainer needs to "
        f"approve it. Otherwise {_REGRADE_HINT}\n"
    )


def command_refused(login: str) -> str:
    """Reply to someone who may not run TA commands."""
    return (
        f"Sorry {escape_inline(login, 60)}: only course TAs and repository maintainers can run "
        "/grader commands. Nothing was changed.\n"
    )


def command_error(errors: Sequence[str]) -> str:
    """Reply to a TA whose comment holds a command that could not be applied."""
    return (
        "Nothing was changed, because of this:\n\n"
        f"{_bullets(errors, 500, 10_000)}\n\n"
        "Commands: `/grader complete [note]`, `/grader incomplete <reason>`, "
        "`/grader extend <N>h` or `<N>d`, `/grader regrade`, "
        "`/grader project presented [@login ...]`.\n"
    )


_DONE = {
    "complete": "{what} is now marked **complete** for {who}. Automation will not change this.",
    "incomplete": "{what} is now marked **incomplete** for {who}. Automation will not change this.",
    "extend": "the deadline of {what} for {who} is now {deadline}.",
    "regrade": "{what} will be graded again for {who}.",
    "project": "the final project is recorded as presented for {who}.",
}


def command_reply(
    *,
    course: CourseConfig,
    action: str,
    students: Sequence[str],
    assignment: str | None = None,
    note: str = "",
    deadline: datetime | None = None,
) -> str:
    """Reply confirming what a TA command changed (action: a key of `_DONE`)."""
    who = ", ".join(escape_inline(s, 60) for s in students[:50]) or "nobody"
    if len(students) > 50:
        who += f" and {len(students) - 50} more"
    template = _DONE.get(action, escape_inline(action, 40) + " done for {who}.")
    text = "Done: " + template.format(
        what=escape_inline(assignment, 60) if assignment else "this assignment",
        who=who,
        deadline=format_time(deadline, course.timezone) if deadline else "extended",
    )
    if note:
        text += f"\n\nNote: {escape_inline(note, 1_000)}"
    return text + "\n"


def step_summary(evaluations: Sequence[Evaluation]) -> str:
    """Markdown for `$GITHUB_STEP_SUMMARY` after a grading run."""
    if not evaluations:
        return "## Grading results\n\nNo notebooks were found to check.\n"
    rows = fit([_summary_row(e) for e in evaluations], 20_000, "| … | {n} more notebooks | | |")
    parts = [
        "## Grading results",
        table(["Assignment", "Result", "Exercises done", "Problems"], rows),
    ]
    details = [_summary_details(e) for e in evaluations if not e.complete]
    parts += fit(details, BODY_LIMIT - 25_000, "_… {n} more notebooks not shown._")
    parts.append("The bot posts the result on the pull request when publishing finishes.")
    return "\n\n".join(parts) + "\n"


def _summary_row(evaluation: Evaluation) -> str:
    done = sum(1 for r in evaluation.exercises if r.status == "ok")
    glyph, word = RECORD_STATUS[evaluation.status]
    return table_row(
        [
            escape_inline(evaluation.assignment, 60, wrap=30),
            f"{glyph} {word}",
            f"{done} of {len(evaluation.exercises)}",
            str(len(evaluation.problems)),
        ]
    )


def _summary_details(evaluation: Evaluation) -> str:
    rows = [
        table_row(
            [
                escape_inline(r.id, 60, wrap=30),
                EXERCISE_STATUS[r.status],
                escape_inline(r.detail, 200, wrap=30),
            ]
        )
        for r in evaluation.exercises
        if r.status != "ok"
    ]
    parts = [f"### {escape_inline(evaluation.assignment, 60)}: what needs work"]
    if rows:
        parts.append(
            table(["Exercise", "Status", "Detail"], fit(rows, 4_000, "| … | {n} more | |"))
        )
    if evaluation.problems:
        parts.append(_bullets(evaluation.problems, 300, 2_000))
    return "\n\n".join(parts)


def regrade_downgrade(assignment: str, title: str) -> str:
    """A one-off comment for a student whose record a maintainer's regrade made worse."""
    return (
        f"### ⚠️ {escape_inline(assignment, 60)} was regraded, and your record changed\n\n"
        f"The course corrected the check of **{escape_inline(title, 120)}** and graded every "
        "submission again. Your notebook does not pass the corrected check, so this "
        "assignment is no longer complete. The comment above shows what failed.\n\n"
        "**What you can do:** fix your notebook and push again if the window is still open, "
        "or ask a TA: they can look at it and accept it with `/grader complete`.\n"
    )


def no_notebook(login: str) -> str:
    """Sticky comment for a PR that changes only files that submit nothing."""
    folder = f"submissions/{escape_inline(login, 60)}/"
    return (
        f"{PR_MARKER} -->\n### 📭 Nothing to grade: this pull request submits no notebook\n\n"
        f"A submission is a notebook named after its assignment, directly in `{folder}`, "
        f"for example `{folder}section-01.ipynb`.\n\n"
        "**What to do next:** add your notebook there and push again; the assignment ids "
        "are the file names in the `exercises/` folder.\n"
    )
