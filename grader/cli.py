"""Command line: argparse; each subcommand returns an exit code; one error handler.

Exit codes everywhere: 0 success, 1 incomplete (only where a verdict is asked
for), 2 usage or config error, 3 unexpected internal error. The environment is
read here, once, and passed down.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from grader import __version__
from grader.core.config import ConfigError
from grader.core.scenario import ScenarioError

OK, INCOMPLETE, USAGE, INTERNAL = 0, 1, 2, 3

Handler = Callable[[argparse.Namespace, Mapping[str, str]], int]


class UsageError(Exception):
    """A mistake in how the command was called; exit 2."""


def _course_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--course", type=Path, default=Path("."), help="course root (default: .)")


# Subcommands of commands_local. When one of these comes first, only that
# module is registered, so `grader check` does not import the GitHub half
# (PyGithub, the app): a third of its start-up.
LOCAL_COMMANDS = frozenset({"check", "validate", "template", "simulate", "demo", "export"})


def build_parser(*, local_only: bool = False) -> argparse.ArgumentParser:
    from grader import commands_local

    parser = argparse.ArgumentParser(
        prog="grader",
        description="Grade Jupyter notebook submissions and track a course on GitHub.",
        epilog="Exit codes: 0 success, 1 incomplete, 2 usage or config error, 3 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands_local.register(sub, _course_arg)
    if not local_only:
        from grader import commands_github, commands_regrade

        for module in (commands_github, commands_regrade):
            module.register(sub, _course_arg)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    # Only when the command comes first: `grader --help check` must list every command.
    parser = build_parser(local_only=bool(args_list) and args_list[0] in LOCAL_COMMANDS)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    handler: Handler = args.handler
    try:
        return handler(args, dict(os.environ))
    except (ConfigError, ScenarioError, UsageError) as exc:
        print(f"grader: {exc}", file=sys.stderr)  # noqa: T201
        return USAGE
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)  # noqa: T201
        return INTERNAL
    except Exception:
        traceback.print_exc()
        print(  # noqa: T201
            "grader: internal error (exit 3). This is a bug in the grader, not in your notebook; "
            "please report it with the traceback above.",
            file=sys.stderr,
        )
        return INTERNAL


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
