"""`make bench`: print one line per figure (see benchmarks/RESULTS.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from benchmarks import execution, github, lasthour, similarity, tracker
from benchmarks.figures import Figure, machine


def suite(quick: bool) -> list[Callable[[], Figure]]:
    if quick:
        return [
            lambda: execution.single(reps=1),
            lambda: execution.batch(count=2, reps=1),
            lambda: github.requests_per_push(sizes=(1, 3)),
            lambda: tracker.tracker_render(students=20, assignments=3, reps=1),
            lambda: github.concurrent_publishes(students=2, workers=4),
            lambda: similarity.similarity_report(students=40, reps=1),
            lambda: lasthour.last_hour(students=10, pushes=3),
        ]
    return [
        execution.single,
        execution.batch,
        github.requests_per_push,
        tracker.tracker_render,
        github.concurrent_publishes,
        similarity.similarity_report,
        lasthour.last_hour,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}", flush=True)
    missed = 0
    for bench in suite(args.quick):
        figure = bench()
        missed += figure.ok is False
        print(figure.line(), flush=True)
    return 1 if missed and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
