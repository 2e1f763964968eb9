"""``chatd simulate``: run a scenario or the Erlang C check and print the figures.

Wired into ``chatd`` by :func:`add_simulate_parser` and :func:`run_simulate`; :func:`main` runs
it on its own. Exit codes follow ``chatd``: 0 success, 1 a failed check or missing extra, 2 bad
usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from chatd.sim.chart import ChartsUnavailable, require_matplotlib, write_chart
from chatd.sim.engine import make_dispatcher, simulate
from chatd.sim.report import summarise
from chatd.sim.scenario import ERLANG_C_CUSTOMERS, SCENARIOS, scenario_by_name
from chatd.sim.validate import validate_erlang_c

__all__ = ["add_simulate_parser", "main", "run_simulate", "simulate_figures"]


def _configure(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--scenario", choices=sorted(SCENARIOS), default="steady", help="what to simulate"
    )
    what.add_argument(
        "--validate", choices=("erlang-c",), help="check the simulator against queueing theory"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--customers", type=int, metavar="N", help="stop arrivals after N")
    size.add_argument("--hours", type=float, metavar="H", help="stop arrivals after H hours")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--chart", metavar="PATH.png", help="write a chart (needs chatd[charts])")


def add_simulate_parser(subparsers: Any) -> None:
    """Add the ``simulate`` command to a ``chatd`` subparsers object."""
    parser = subparsers.add_parser(
        "simulate",
        help="discrete-event simulation of the queue, routing and wait estimate",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    _configure(parser)
    parser.set_defaults(handler=run_simulate)


def simulate_figures(
    name: str, seed: int, *, customers: int | None = None, hours: float | None = None
) -> dict[str, Any]:
    """Run scenario ``name`` and return its figures (what ``--json`` prints)."""
    scenario = scenario_by_name(name).with_size(customers=customers, hours=hours)
    return summarise(simulate(scenario, seed), make_dispatcher().queue.boosts)


def run_simulate(args: argparse.Namespace) -> int:
    """Run what ``args`` ask for and print it; return the exit code."""
    if args.customers is not None and args.customers < 1:
        print("chatd simulate: --customers must be >= 1", file=sys.stderr)
        return 2
    if args.hours is not None and not args.hours > 0:
        print("chatd simulate: --hours must be > 0", file=sys.stderr)
        return 2
    if args.chart and args.validate is None:
        try:
            require_matplotlib()
        except ChartsUnavailable as exc:
            print(f"chatd simulate: {exc}", file=sys.stderr)
            return 1
    started = time.perf_counter()
    if args.validate == "erlang-c":
        if args.hours is not None or args.chart:
            print("chatd simulate: --validate takes --customers only", file=sys.stderr)
            return 2
        figures = validate_erlang_c(args.seed, args.customers or ERLANG_C_CUSTOMERS)
        _print(figures, args.json, time.perf_counter() - started)
        return 0 if figures["within_5_percent"] else 1
    scenario = scenario_by_name(args.scenario).with_size(customers=args.customers, hours=args.hours)
    result = simulate(scenario, args.seed)
    figures = summarise(result, make_dispatcher().queue.boosts)
    if args.chart:
        try:
            write_chart(result, args.chart)
        except ChartsUnavailable as exc:
            print(f"chatd simulate: {exc}", file=sys.stderr)
            return 1
    _print(figures, args.json, time.perf_counter() - started)
    return 0


def _print(figures: dict[str, Any], as_json: bool, elapsed_s: float) -> None:
    # The run time goes to stderr only: the JSON must be the same for the same seed.
    if as_json:
        print(json.dumps(figures, sort_keys=True))
    else:
        _print_text(figures)
    print(f"chatd simulate: {elapsed_s:.1f} s", file=sys.stderr)


def _print_text(figures: dict[str, Any], indent: str = "") -> None:
    for key, value in figures.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_text(value, indent + "  ")
        else:
            print(f"{indent}{key}: {value}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``chatd simulate`` on its own: ``python -m chatd.sim.cli --scenario surge --json``."""
    parser = argparse.ArgumentParser(prog="chatd simulate", description=__doc__.splitlines()[0])
    _configure(parser)
    return run_simulate(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
