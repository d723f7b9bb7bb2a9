"""`grader export`: records and certificates as CSV or JSON, for spreadsheets."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader.app.export import export_rows
from grader.cli import wiring
from grader.cli.common import OK, add_course, parse_now, print_json


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="export records and certificates (from a local forge)")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--forge", type=Path, default=Path("demo-output/forge"))
    p.add_argument("--now", help="clock for open/missing, ISO 8601 with offset (default: now)")
    p.add_argument(
        "--certificates", action="store_true", help="CSV of certificates instead of records"
    )
    p.add_argument(
        "--github", action="store_true", help="read the ledger on GitHub (Actions environment)"
    )
    add_course(p)
    p.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    ctx = wiring.forge_context(args.course, env, forge_dir=args.forge, github=args.github)
    rows, certificates = export_rows(ctx, parse_now(args.now))
    if args.format == "json":
        print_json({"records": rows, "certificates": certificates})
        return OK
    table = certificates if args.certificates else rows
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(table[0]) if table else ["student"])
    writer.writeheader()
    writer.writerows(table)
    sys.stdout.write(buffer.getvalue())
    return OK
