"""`grader`: argparse, and the one place that turns exceptions into exit codes.

Exit codes everywhere: 0 success, 1 incomplete (only where a verdict is asked
for), 2 usage or config error, 3 unexpected internal error. The environment is
read here, once, and passed down.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence

from grader import __version__
from grader.cli.common import INTERNAL
from grader.core.errors import GraderError

Handler = Callable[[argparse.Namespace, Mapping[str, str]], int]
BROKEN_PIPE = 128 + 13  # what a shell reports for a process ended by SIGPIPE

# Commands whose modules need no PyGithub: when one comes first, only the local
# modules are registered, so `grader check` does not import the GitHub half.
LOCAL_COMMANDS = frozenset(
    {"check", "validate", "template", "simulate", "demo", "export", "similarity"}
    | {"certificates", "verify"}
)


def build_parser(*, local_only: bool = False) -> argparse.ArgumentParser:
    from grader.cli import check, documents, export, simulate

    parser = argparse.ArgumentParser(
        prog="grader",
        description="Grade Jupyter notebook submissions and track a course on GitHub.",
        epilog="Exit codes: 0 success, 1 incomplete, 2 usage or config error, 3 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (check, simulate, export, documents):
        module.register(sub)
    if not local_only:
        from grader.cli import github, regrade

        for module in (github, regrade):
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    env = dict(os.environ if environ is None else environ)
    # Only when the command comes first: `grader --help check` must list every command.
    parser = build_parser(local_only=bool(args_list) and args_list[0] in LOCAL_COMMANDS)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    handler: Handler = args.handler
    try:
        code = handler(args, env)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except GraderError as exc:
        print(f"grader: {exc}", file=sys.stderr)  # noqa: T201
        return exc.exit_code
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


def _quiet_broken_pipe() -> int:
    """The reader went away (`grader export | head`): stop quietly, as Unix tools do.

    Python would flush stdout again at exit and complain; point it at /dev/null.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
