"""Command line: argparse; each subcommand returns an exit code."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    print("grader: not yet implemented", args, file=sys.stderr)  # noqa: T201
    return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
