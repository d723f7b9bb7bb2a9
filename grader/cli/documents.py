"""What TAs and maintainers make from the ledger: similarity reports and certificates.

- similarity: leads about copied work, for a TA; nothing is written to the forge.
- certificates: one PDF per eligible student, each with a verification code.
- verify: whether a certificate's code still holds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.adapters.artifact import read_committed_cells
from grader.app.certificates import Standing, issue_certificates, verify_code
from grader.app.context import Context
from grader.app.similarity import similarity_report
from grader.cli import wiring
from grader.cli.common import OK, add_course, assignment_named, print_json
from grader.core.history import StudentHistory, is_disqualified, is_enrolled
from grader.core.model import Cell, CourseConfig
from grader.core.similarity import report_json
from grader.core.similarity_html import render_html
from grader.core.template import template_notebook


def _add_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--forge", type=Path, help="a local forge folder (e.g. demo-output/forge)")
    source.add_argument(
        "--github", action="store_true", help="read the ledger on GitHub (GITHUB_REPOSITORY, token)"
    )
    add_course(parser)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "similarity",
        help="pairs of submissions that look copied, most similar first (writes nothing)",
        description=(
            "Compares every pair of submissions of ASSIGNMENT (code by normalised tokens, "
            "markdown answers by word shingles; the starter notebook and common idioms excluded) "
            "and lists the pairs above the threshold. A lead for a human, never a verdict: run it "
            "privately, never in a public repository's workflow."
        ),
    )
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--out", type=Path, help="write a self-contained HTML report here")
    p.add_argument("--json", action="store_true", help='print {"pairs": [{"a", "b", "score"}]}')
    _add_source(p)
    p.set_defaults(handler=cmd_similarity)

    p = sub.add_parser(
        "certificates",
        help="one PDF per eligible student, each with a verification code",
        description="Writes OUT/<login>.pdf for every student the ledger shows eligible.",
    )
    p.add_argument("--out", type=Path, required=True, help="folder for the PDFs")
    _add_source(p)
    p.set_defaults(handler=cmd_certificates)

    p = sub.add_parser(
        "verify",
        help="does a certificate's code hold? exit 0 holds, 1 does not, 2 malformed",
        description="Recomputes the student's eligibility from the ledger for CODE.",
    )
    p.add_argument("code", metavar="CODE", help="the code printed on the certificate")
    _add_source(p)
    p.set_defaults(handler=cmd_verify)


def _context(args: argparse.Namespace, env: Mapping[str, str]) -> Context:
    forge = args.forge
    if forge is None and not args.github:
        forge = Path("demo-output/forge")
    return wiring.forge_context(args.course, env, forge_dir=forge, github=args.github)


def _starter(ctx: Context, course_dir: Path, assignment: str) -> list[Cell]:
    """What everyone was given: the generated template and a committed starter, if any."""
    template = json.dumps(template_notebook(ctx.course, assignment)).encode("utf-8")
    cells = list(read_committed_cells(template) or ())
    committed = course_dir / "exercises" / f"{assignment}.ipynb"
    if committed.is_file():
        cells += read_committed_cells(committed.read_bytes()) or []
    return cells


def standings(course: CourseConfig, histories: Mapping[str, StudentHistory]) -> dict[str, Standing]:
    """Enrollment (roster or `/grader enroll`) and disqualification, from the ledger."""
    logins = {r.lower() for r in course.roster} | set(histories)
    empty = StudentHistory()
    return {
        login: Standing(
            enrolled=is_enrolled(course, login, histories.get(login, empty)),
            disqualified=is_disqualified(histories.get(login, empty)),
        )
        for login in logins
    }


def cmd_similarity(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    ctx = _context(args, env)
    assignment_named(ctx.course, args.assignment)
    starter = _starter(ctx, args.course, args.assignment)
    report, unreadable = similarity_report(ctx, args.assignment, read_committed_cells, starter)
    for login in unreadable:
        print(f"grader: left out {login}: the notebook cannot be read", file=sys.stderr)  # noqa: T201
    if args.out is not None:
        args.out.write_text(render_html(report), encoding="utf-8")
        print(f"grader: wrote {args.out}", file=sys.stderr)  # noqa: T201
    if args.json:
        print_json(report_json(report))
    else:
        _print_pairs(report_json(report)["pairs"])
    return OK


def _print_pairs(pairs: Sequence[Mapping[str, object]]) -> None:
    if not pairs:
        print("No pair of submissions is above the threshold.")  # noqa: T201
        return
    print("score  students (a lead to look at, never a verdict)")  # noqa: T201
    for pair in pairs:
        print(f"{pair['score']:.2f}   {pair['a']} and {pair['b']}")  # noqa: T201


def cmd_certificates(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from grader.adapters import pdf

    ctx = _context(args, env)
    histories = dict(ctx.ledger.all())
    batch = issue_certificates(
        ctx.course,
        histories,
        standings=standings(ctx.course, histories),
        require_enrollment=ctx.course.certificate.require_enrollment,
    )
    names = {c.facts.login: ctx.forge.display_name(c.facts.login) for c in batch.issued}
    written = pdf.write_certificates(args.out, batch.issued, display_names=names)
    for cert, path in zip(batch.issued, written, strict=True):
        print(f"{path}  {cert.code}")  # noqa: T201
    print(  # noqa: T201
        f"grader: {len(written)} certificate(s) in {args.out}; "
        f"{len(batch.refused)} student(s) not eligible",
        file=sys.stderr,
    )
    return OK


def cmd_verify(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    ctx = _context(args, env)
    histories = dict(ctx.ledger.all())
    result = verify_code(
        args.code,
        ctx.course,
        histories,
        standings=standings(ctx.course, histories),
        require_enrollment=ctx.course.certificate.require_enrollment,
    )
    print(result.message)  # noqa: T201
    return result.exit_code
