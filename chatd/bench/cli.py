"""``chatd bench SCENARIO``: the parser and runner (the main ``chatd`` CLI mounts them).

    chatd bench relay --quick --json
    chatd bench idle --connections 10000
    chatd bench relay --cluster --workers 2   # on throwaway PostgreSQL + Redis, 2 processes

``--json`` prints ONE JSON object (the scenario's figures, the baseline's, the ratios and the
machine); without it a short human summary. Exit status 0 when the run completed (whatever the
figures), 1 when it failed (a server did not start, a worker died).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from chatd.bench.procs import default_loop, raise_nofile
from chatd.bench.scenarios import BenchOptions, machine, run_bot, run_idle, run_relay

__all__ = ["SCENARIOS", "add_bench_parser", "main", "run_bench"]


def _surge(opts: BenchOptions) -> dict[str, Any]:
    from chatd.bench.surge import run_surge

    return run_surge(opts)


def _hostile(opts: BenchOptions) -> dict[str, Any]:
    from chatd.bench.hostile import run_hostile

    return run_hostile(opts)


def _upload(opts: BenchOptions) -> dict[str, Any]:
    from chatd.bench.upload import run_upload

    return run_upload(opts)


def _webhooks(opts: BenchOptions) -> dict[str, Any]:
    from chatd.bench.webhooks import run_webhooks

    return run_webhooks(opts)


SCENARIOS: dict[str, Callable[[BenchOptions], dict[str, Any]]] = {
    "idle": run_idle,
    "relay": run_relay,
    "surge": _surge,
    "bot": run_bot,
    "hostile": _hostile,
    "upload": _upload,
    "webhooks": _webhooks,
}

#: Keys of each scenario's human summary, in order.
_SUMMARY = {
    "idle": ("held", "open_rate", "kb_per_connection", "baseline_kb_per_connection"),
    "relay": (
        "msgs_per_s",
        "baseline_msgs_per_s",
        "throughput_ratio",
        "p99_ms",
        "baseline_p99_ms",
        "half_rate_p99_ms",
    ),
    "surge": ("bot_reply_p50_ms", "bot_reply_p99_ms", "loop_lag_p99_ms", "errors"),
    "bot": ("p50_ms", "p99_ms", "baseline_p99_ms"),
    "webhooks": (
        "delivered",
        "latency_p50_ms",
        "latency_p99_ms",
        "server_cpu_us_per_msg_off",
        "server_cpu_us_per_msg_on",
        "cpu_per_msg_ratio",
    ),
    "hostile": (
        "loop_lag_p99_ms",
        "calm_loop_lag_p99_ms",
        "relay_p99_ms",
        "calm_relay_p99_ms",
        "hostile_sent",
        "slowloris_cut",
    ),
    "upload": (
        "uploads_per_s",
        "mb_per_s",
        "upload_p50_ms",
        "upload_p99_ms",
        "loop_lag_p99_ms",
        "calm_loop_lag_p99_ms",
        "inline_stall_ms",
    ),
}


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` sub-command to an argparse subparsers object."""
    bench = subparsers.add_parser(
        "bench",
        help="measure chatd under load beside a raw WebSocket baseline",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    _arguments(bench)
    return bench


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--quick", action="store_true", help="a short run (under 45 s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--connections",
        type=int,
        help="idle: customers (10000); relay: pairs (50); surge: customers (5000); "
        "hostile: pairs (40); upload: uploaders (20); "
        "webhooks: messages (500)",
    )
    parser.add_argument("--duration", type=float, help="seconds of each measured phase")
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        help="event loop of the servers and load processes (default: uvloop when installed)",
    )
    parser.add_argument("--work-dir", help="keep data and server logs here (default: a temp dir)")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="relay, idle: run chatd on PostgreSQL + Redis (throwaway servers the run starts)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="with --cluster: N chatd processes sharing the port (SO_REUSEPORT), default 1",
    )
    parser.add_argument(
        "--synchronous",
        choices=("full", "normal"),
        default="full",
        help="SQLite's [storage] synchronous for chatd under test (default full, as chatd's)",
    )


#: Scenarios that can run on the cluster backends.
_CLUSTER_SCENARIOS = ("idle", "relay")


def _on_sigterm(_signum: int, _frame: Any) -> None:
    """SIGTERM unwinds like Ctrl-C, so the ``finally`` blocks stop every server by PID."""
    raise KeyboardInterrupt


def run_bench(args: argparse.Namespace) -> int:
    """Run the scenario named in ``args``; print JSON or a summary; return the exit status."""
    if args.workers < 1 or (args.workers > 1 and not args.cluster):
        # As `chatd serve --workers`: several processes on one SQLite file would split the queue.
        print("chatd bench: --workers N (N >= 1); N > 1 needs --cluster", file=sys.stderr)
        return 2
    if args.cluster and args.synchronous != "full":
        print("chatd bench: --synchronous applies to SQLite, not --cluster", file=sys.stderr)
        return 2
    if args.cluster and args.scenario not in _CLUSTER_SCENARIOS:
        print(f"chatd bench: --cluster applies to {', '.join(_CLUSTER_SCENARIOS)}", file=sys.stderr)
        return 2
    raise_nofile()
    signal.signal(signal.SIGTERM, _on_sigterm)
    loop = args.loop or default_loop()
    with tempfile.TemporaryDirectory(prefix="chatd-bench-") as tmp:
        work_dir = Path(args.work_dir) if args.work_dir else Path(tmp)
        opts = BenchOptions(
            work_dir=work_dir,
            loop=loop,
            quick=args.quick,
            connections=args.connections,
            duration=args.duration,
            cluster=args.cluster,
            workers=args.workers,
            synchronous=args.synchronous,
        )
        started = time.monotonic()
        try:
            result = SCENARIOS[args.scenario](opts)
        except (RuntimeError, OSError, KeyError) as exc:
            print(f"chatd bench {args.scenario}: failed: {exc}", file=sys.stderr)
            return 1
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["quick"] = args.quick
    result["machine"] = machine(loop)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"chatd bench {args.scenario} ({result['elapsed_s']} s, {opts.backend}, "
            f"{opts.workers} worker{'s' if opts.workers > 1 else ''})"
        )
        for key in _SUMMARY[args.scenario]:
            print(f"  {key:28s} {result.get(key)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry: ``python -m chatd.bench.cli SCENARIO ...``."""
    parser = argparse.ArgumentParser(prog="chatd bench", description=__doc__.splitlines()[0])
    _arguments(parser)
    return run_bench(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
