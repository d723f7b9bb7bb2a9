"""Writing a pull request's view: its one bot comment and the grader's labels.

What the view shows is decided in `grader.core.view`; this module writes it.
Concurrent runs for one PR race (THREATS 21, 22): GitHub has no
compare-and-swap on comments or labels. Three things make the final view the
newest one:

- the comment carries `seq` (see `core.view`); a view older than the one shown
  is not written (and its labels are left alone);
- two runs that both create the comment leave two: the lowest id is kept, with
  the newest body, and the others are deleted;
- after writing, a run reads the student's ledger shard once more: if the
  records grew meanwhile, it renders and writes again from the newer records.
  The last run to write has always seen the last records.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from grader.app.context import Context
from grader.core import render
from grader.core.history import StudentHistory
from grader.core.labels import label_changes
from grader.core.markdown import BODY_LIMIT
from grader.core.model import Comment, PullRequest, RecordState
from grader.core.notices import PR_MARKER
from grader.core.view import (
    Part,
    Shown,
    combined_labels,
    decision_changed,
    other_pulls,
    seq_of,
    shown_facts,
    view_parts,
    view_seq,
    with_seq,
)

MAX_ROUNDS = 4  # re-renders after concurrent writers; each needs one of them to finish


def _sticky_comments(ctx: Context, number: int) -> list[Comment]:
    found = [c for c in ctx.forge.bot_comments(number) if c.body.startswith(PR_MARKER)]
    return sorted(found, key=lambda c: c.id)


def upsert_sticky(
    ctx: Context, number: int, body: str, seq: int | None = None, *, fresh: bool = False
) -> bool | None:
    """Edit the bot's one marked comment in place, or create it; no-op when equal.

    With `seq`, a view older than the one shown is not written and None is
    returned. `fresh`: the caller knows the PR has had no graded view yet, so it
    posts at once and then looks for a twin from a concurrent run (one read
    either way). Returns whether this body is now shown.
    """
    if seq is not None:
        body = with_seq(body, seq)
    mine = [] if fresh else _sticky_comments(ctx, number)
    if not mine:
        posted = ctx.forge.create_comment(number, body)
        mine = _sticky_comments(ctx, number)
        if len(mine) <= 1:
            return True
        return _settle_twins(ctx, mine, posted.id, body, seq)
    keep = mine[0]
    for extra in mine[1:]:
        ctx.forge.delete_comment(extra.id)
    if seq is not None and seq_of(keep.body) > seq:
        return None
    if keep.body == body:
        return False
    ctx.forge.edit_comment(keep.id, body)
    return True


def _settle_twins(
    ctx: Context, mine: list[Comment], posted: int, body: str, seq: int | None
) -> bool | None:
    """Several marked comments: keep the oldest, holding the newest view; drop the rest."""
    keep = mine[0]
    best = max(mine, key=lambda c: (seq_of(c.body), c.id == posted))
    for extra in mine[1:]:
        ctx.forge.delete_comment(extra.id)
    if keep.body != best.body:
        ctx.forge.edit_comment(keep.id, best.body)
    if seq is not None and seq_of(best.body) > seq:
        return None
    return True


def sync_labels(
    ctx: Context, pr: PullRequest, states: Sequence[RecordState], *, replace: bool = False
) -> None:
    """Make the PR's labels mirror its records, touching only the grader's own labels.

    `replace`: the labels read with `pr` may be stale (a concurrent run wrote since),
    so set them in one request whatever they seemed to be.
    """
    wanted = combined_labels(ctx.course.labels, states)
    add, remove = label_changes(pr.labels, wanted, ctx.course.labels)
    if replace or (add and remove):  # one request instead of several, for the budget
        owned = {n.lower() for n in ctx.course.labels.all()}
        keep = [n for n in pr.labels if n.lower() not in owned]
        ctx.forge.set_labels(pr.number, [*keep, *sorted(wanted)])
    elif add:
        ctx.forge.add_labels(pr.number, add)
    else:
        for name in remove:
            ctx.forge.remove_label(pr.number, name)


def publish_pr_view(
    ctx: Context,
    pr: PullRequest,
    parts: Sequence[Part],
    at: datetime,
    seq: int | None = None,
    *,
    fresh: bool = False,
    shown: Sequence[Shown] | None = None,
    catch_up: bool = False,
    note: str = "",
) -> None:
    """The PR's one comment and its labels, from its records (one part per notebook).

    With `seq` (see `core.view.view_seq`), a view older than the one shown writes nothing.
    `shown`: one `core.view.Shown` per part (hand-in times, commits, overrides).
    `catch_up`: a concurrent run wrote since `pr` was read, so its labels are stale.
    `note`: a line for the student above the feedback (why their status changed).
    """
    # Several notebooks share one comment, so each gets its share of GitHub's body limit.
    limit = BODY_LIMIT // max(1, len(parts)) - 8
    facts: Sequence[Shown | None] = shown if shown is not None else [None] * len(parts)
    body = "\n\n".join(
        render.pr_comment(
            course=ctx.course,
            assignment=a,
            state=s,
            evaluation=e,
            now=at,
            student=pr.author,
            limit=limit,
            pr=pr.number,
            shown=f,
        )
        for (a, s, e), f in zip(parts, facts, strict=True)
    )
    if note:
        body = _with_note(body, note)
    written = upsert_sticky(ctx, pr.number, body, seq, fresh=fresh)
    if written is not None:
        # A changed view may follow a concurrent run's labels: set them, do not diff.
        # A catch-up round may find the comment already right, but the labels read with
        # `pr` predate an older run's label write that may have landed after the newer
        # run's: set them whole (the 200-publish race of THREATS 21, 22).
        replace = (written or catch_up) and seq is not None
        sync_labels(ctx, pr, [s for _, s, _ in parts], replace=replace)


def _with_note(body: str, note: str) -> str:
    """`note` right below the comment's hidden markers, above the feedback."""
    lines = body.split("\n")
    markers = next((i for i, line in enumerate(lines) if not line.startswith("<!--")), len(lines))
    return "\n".join([*lines[:markers], f"> **Note:** {note}", "", *lines[markers:]])


def _facts_of(history: StudentHistory, parts: Sequence[Part]) -> list[Shown]:
    return [shown_facts(history.assignments.get(a.id, []), s) for a, s, _ in parts]


def _write_view(
    ctx: Context,
    pr: PullRequest,
    assignment_ids: Sequence[str],
    history: StudentHistory,
    at: datetime,
    *,
    fresh: bool = False,
    catch_up: bool = False,
    note: str = "",
) -> tuple[list[Part], int]:
    parts, seq, shown_at = view_parts(ctx.course, pr.author, assignment_ids, history, at)
    shown = _facts_of(history, parts)
    publish_pr_view(
        ctx, pr, parts, shown_at, seq, fresh=fresh, shown=shown, catch_up=catch_up, note=note
    )
    return parts, seq


def refresh_pr_view(
    ctx: Context,
    pr: PullRequest,
    assignment_ids: Sequence[str],
    history: StudentHistory,
    at: datetime,
    *,
    fresh: bool = False,
    note: str = "",
) -> list[Part]:
    """Write the PR's view from `history`, then re-read the ledger once to catch up
    with a concurrent run (see the module docstring). Returns the parts written last.
    `note`: a line for the student above the feedback (see `publish_pr_view`).

    When the newest event changed a record's decision (its status, override or
    deciding PR), the other open PRs that handed in that record show it too.
    """
    parts: list[Part] = []
    for round_ in range(MAX_ROUNDS):
        catch_up = round_ > 0
        parts, seq = _write_view(
            ctx, pr, assignment_ids, history, at, fresh=fresh, catch_up=catch_up, note=note
        )
        fresh = False
        newer = ctx.ledger.history(pr.author)
        if view_seq(newer.assignments.get(a, []) for a in assignment_ids) <= seq:
            break
        history = newer
    refresh_other_pulls(ctx, pr, assignment_ids, history, at)
    return parts


def refresh_other_pulls(
    ctx: Context,
    pr: PullRequest,
    assignment_ids: Sequence[str],
    history: StudentHistory,
    at: datetime,
) -> list[int]:
    """Rewrite the views of the student's other open PRs whose record just changed
    its decision: an older PR must not keep saying "incomplete, fix and push again"
    after a newer one completed the record. Costs nothing unless a decision changed
    and another PR handed in that record. Returns the PR numbers rewritten."""
    changed = [
        a
        for a in assignment_ids
        if decision_changed(
            ctx.course, pr.author, ctx.course.assignments[a], history.assignments.get(a, []), at
        )
    ]
    rewritten = []
    for number, ids in other_pulls(history.assignments, pr.number, changed).items():
        other = ctx.forge.get_pull(number)
        if other.state != "open":
            continue
        _write_view(ctx, other, ids, history, at)
        rewritten.append(number)
    return rewritten
