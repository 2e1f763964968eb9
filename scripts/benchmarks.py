"""Run every `chatd bench` scenario (full length) and regenerate BENCHMARKS.md's "## chatd bench".

    .venv/bin/python scripts/benchmarks.py                 # all scenarios, ~6 minutes
    .venv/bin/python scripts/benchmarks.py --only relay    # one scenario; the others' tables stay
    .venv/bin/python scripts/benchmarks.py --only cluster  # relay: SQLite, then PostgreSQL +
                                                           # Redis with 1 and 2 workers
    .venv/bin/python scripts/benchmarks.py --from results.json  # re-render saved results

Only the "## chatd bench" section is rewritten; the other sections ("## Bot", "## Simulation")
are left as they are. The raw results are kept inside the section, in an HTML comment, so a
partial run (``--only``) keeps the tables of the scenarios it did not run.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "render", "replace_section"]

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "BENCHMARKS.md"
_RAW = re.compile(r"^<!-- chatd-bench-results (.*) -->$", re.M)
SECTION = "## chatd bench"
ORDER = ("relay", "cluster", "idle", "surge", "hostile", "webhooks", "bot")
#: The "cluster" entry: relay three times in one script run, so the columns share a machine
#: state: the embedded default (and with ``[storage] synchronous = "normal"``), then the cluster
#: backends with 1 and 2 workers.
CLUSTER_RUNS: dict[str, list[str]] = {
    "sqlite": [],
    "sqlite_normal": ["--synchronous", "normal"],
    "w1": ["--cluster", "--workers", "1"],
    "w2": ["--cluster", "--workers", "2"],
}
_CLUSTER_HEADS = {
    "sqlite": "SQLite, 1 process",
    "sqlite_normal": 'SQLite, synchronous = "normal"',
    "w1": "PostgreSQL + Redis, 1 worker",
    "w2": "PostgreSQL + Redis, 2 workers",
}

Row = tuple[str, Any, Any, Any, str]


def run_scenario(name: str, extra: Sequence[str] = ()) -> dict[str, Any]:
    """One full-length scenario through the CLI, as a user would run it."""
    cmd = [sys.executable, "-m", "chatd.bench.cli", name, "--json", *extra]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"chatd bench {name} failed:\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(rows: list[Row]) -> list[str]:
    lines = [
        "| figure | chatd | baseline | chatd / baseline | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, ours, theirs, ratio, target in rows:
        lines.append(f"| {label} | {_fmt(ours)} | {_fmt(theirs)} | {_fmt(ratio)} | {target} |")
    return lines


def _rows(name: str, r: dict[str, Any]) -> list[Row]:
    if name == "webhooks":
        return [
            (
                "chatd CPU per message, µs (baseline: webhooks off)",
                r["server_cpu_us_per_msg_on"],
                r["server_cpu_us_per_msg_off"],
                r["cpu_per_msg_ratio"],
                "",
            ),
            ("event → receiver latency p50, ms", r["latency_p50_ms"], None, None, ""),
            ("event → receiver latency p99, ms", r["latency_p99_ms"], None, None, ""),
            ("calls received / messages", f"{r['delivered']} / {r['messages']}", None, None, "all"),
        ]
    if name == "relay":
        return [
            (
                "max throughput, msgs/s",
                r["msgs_per_s"],
                r["baseline_msgs_per_s"],
                r["throughput_ratio"],
                "≥ 0.5",
            ),
            ("latency p50 at max, ms", r["p50_ms"], r["baseline_p50_ms"], None, ""),
            ("latency p99 at max, ms", r["p99_ms"], r["baseline_p99_ms"], None, ""),
            (
                f"p50 at {r['half_rate_msgs_per_s']:,.0f} msgs/s (half of chatd's max), ms",
                r["half_rate_p50_ms"],
                r["baseline_half_rate_p50_ms"],
                None,
                "",
            ),
            (
                f"p99 at {r['half_rate_msgs_per_s']:,.0f} msgs/s, ms",
                r["half_rate_p99_ms"],
                r["baseline_half_rate_p99_ms"],
                None,
                "≤ 20 ms",
            ),
            (
                "server CPU per message, µs",
                r["server_cpu_us_per_msg"],
                r["baseline_server_cpu_us_per_msg"],
                r["cpu_per_msg_ratio"],
                "",
            ),
            (
                "server CPU at max, % of one core",
                r["chatd"]["max"]["server_cpu_pct"],
                r["baseline"]["max"]["server_cpu_pct"],
                None,
                "",
            ),
            (
                "errors / lost messages",
                r["errors"],
                len(r["baseline"]["errors"]) + r["baseline"]["half"]["lost"],
                None,
                "0",
            ),
        ]
    if name == "idle":
        c, b = r["chatd"], r["baseline"]
        return [
            ("connections held", r["held"], r["baseline_held"], None, f"{r['connections']:,}"),
            (
                "open rate, connections/s",
                r["open_rate"],
                r["baseline_open_rate"],
                r["open_rate_ratio"],
                "",
            ),
            (
                "server RSS per connection, KB",
                r["kb_per_connection"],
                r["baseline_kb_per_connection"],
                r["memory_ratio"],
                "≤ 40 KB",
            ),
            (
                "server RSS idle → held, MB",
                f"{c['rss_before_mb']} → {c['rss_held_mb']}",
                f"{b['rss_before_mb']} → {b['rss_held_mb']}",
                None,
                "",
            ),
            (
                "server CPU per open, ms",
                c["server_cpu_ms_per_open"],
                b["server_cpu_ms_per_open"],
                None,
                "",
            ),
        ]
    if name == "surge":
        c, b = r["chatd"], r["baseline"]
        return [
            ("customers connected", c["connected"], b["connected"], None, f"{r['customers']:,}"),
            ("bot reply p50, ms", r["bot_reply_p50_ms"], r["baseline_reply_p50_ms"], None, ""),
            (
                "bot reply p99, ms",
                r["bot_reply_p99_ms"],
                r["baseline_reply_p99_ms"],
                r["reply_p99_ratio"],
                "",
            ),
            (
                "event-loop lag p99, ms",
                r["loop_lag_p99_ms"],
                r["baseline_loop_lag_p99_ms"],
                None,
                "< 100 ms",
            ),
            (
                "asked for a person / assigned / closed by agent",
                f"{c['requested_human']} / {c['assigned']} / {c['closed_by_agent']}",
                f"{b['requested_human']} / {b['assigned']} / {b['closed_by_agent']}",
                None,
                "",
            ),
            (
                "wait for an agent p50 / p99, s",
                _secs(c["assign_wait"]),
                _secs(b["assign_wait"]),
                None,
                "",
            ),
            ("queue-update frames received", r["queue_frames"], b["queue_frames"], None, ""),
            (
                "customers who waited ≥ 2.5 s / of them without a position update",
                f"{r['waiting_customers']} / {r['waiting_without_updates']}",
                "(no queue updates)",
                None,
                "… / 0",
            ),
            ("errors", r["errors"], r["baseline_errors"], None, "0"),
            (
                "server CPU, s / RSS after, MB",
                f"{c['server_cpu_s']} / {c['server_rss_mb_after']}",
                f"{b['server_cpu_s']} / {b['server_rss_mb_after']}",
                None,
                "",
            ),
        ]
    return [
        ("reply latency p50, ms", r["p50_ms"], r["baseline_p50_ms"], None, ""),
        ("reply latency p99, ms", r["p99_ms"], r["baseline_p99_ms"], r["latency_ratio_p99"], ""),
        (
            "right intent on the KB's own examples",
            r["self_match_rate"],
            r["baseline_self_match_rate"],
            None,
            "",
        ),
    ]


def _secs(summary: dict[str, Any]) -> str:
    p50, p99 = summary.get("p50_ms"), summary.get("p99_ms")
    if p50 is None or p99 is None:
        return "-"
    return f"{p50 / 1000:.1f} / {p99 / 1000:.1f}"


_TITLES = {
    "relay": "relay: customer ↔ agent messages, persistence on",
    "idle": "idle: customers connected with open conversations",
    "surge": "surge: a market-crash wave of customers",
    "bot": "bot: matcher latency on the default KB (in-process)",
    "webhooks": "webhooks: what a receiver costs per message, and how fast calls arrive",
}
_NOTES = {
    "relay": "{pairs} customer/agent pairs, {window} messages in flight per pair for the max-rate "
    "phase ({duration_s:.0f} s), then every customer and agent sending at a fixed pace totalling "
    "half of chatd's max rate ({duration_s:.0f} s; latency counted from the scheduled send time). "
    "A message's latency is from its send to the peer receiving it; chatd acknowledges only after "
    "the SQLite commit (synchronous=FULL, group commit). Messages are support-chat lines of "
    "10-140 characters in English and Chinese (chatd/bench/texts.py), so secret masking does "
    "the work a real message costs. Server CPU is read from /proc.",
    "idle": "{connections:,} customers, 100 opening at a time, each saying hello (chatd opens a "
    "conversation, stores and sends the greeting); RSS is VmRSS of the server process with all "
    "connections held, minus VmRSS before (after 20 warm-up connections came and went).",
    "surge": "{customers:,} customers arriving evenly over {arrival_s:.0f} s; each asks two FAQ "
    "questions (0.2-1 s apart) and 20% then ask for a person; {agents} simulated agents of "
    "capacity {agent_capacity} greet and close each chat after {handle_s[0]}-{handle_s[1]} s. "
    "Reply latency is measured by the clients, loop lag inside the server "
    "(`chatd_event_loop_lag_seconds`, a timer sampled every 50 ms; the baseline runs the same "
    "probe). The baseline answers with a canned reply and has no queue updates.",
    "webhooks": "{customers} customers waiting in the queue send {messages} messages at "
    "{rate_per_s:.0f}/s, twice on fresh servers (SQLite, synchronous = full): first with no "
    "webhook (the baseline column), then with one `[[webhooks]]` receiver in the bench process "
    "(answering 204). Latency is from the event's `created_at` to the receiver reading the call; "
    "CPU is chatd's (user + system) until every message is acknowledged and every call received.",
    "bot": "{messages:,} replies over every example of the shipped KB; baseline: "
    "{baseline}. See the Bot section for accuracy on public data sets.",
}


def _cluster_rows(runs: dict[str, dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """(label, one value per run) for the cluster table."""

    def each(get: Any) -> list[Any]:
        return [get(runs[k]) if k in runs else None for k in CLUSTER_RUNS]

    return [
        ("max throughput, msgs/s", each(lambda r: r["msgs_per_s"])),
        ("raw baseline in the same run, msgs/s", each(lambda r: r["baseline_msgs_per_s"])),
        ("chatd / baseline", each(lambda r: r["throughput_ratio"])),
        ("latency p50 / p99 at max, ms", each(lambda r: f"{r['p50_ms']} / {r['p99_ms']}")),
        (
            "p50 / p99 at half of that run's max, ms",
            each(lambda r: f"{r['half_rate_p50_ms']} / {r['half_rate_p99_ms']}"),
        ),
        ("chatd CPU per message (all workers), µs", each(lambda r: r["server_cpu_us_per_msg"])),
        ("PostgreSQL + Redis CPU per message, µs", each(lambda r: r["backend_cpu_us_per_msg"])),
        ("PostgreSQL transactions per message", each(lambda r: r["pg_transactions_per_msg"])),
        ("PostgreSQL rows written per message", each(lambda r: r["pg_rows_written_per_msg"])),
        ("WAL flushes to disk per message", each(lambda r: r["pg_wal_flushes_per_msg"])),
        ("Redis PUBLISH per message", each(lambda r: r["redis_publishes_per_msg"])),
        (
            "CPU s per worker over the run",
            each(lambda r: " / ".join(str(c) for c in r["chatd"].get("worker_cpu_s", ())) or "-"),
        ),
        ("errors / lost messages", each(lambda r: r["errors"])),
        ("load average (1 min) at the end", each(lambda r: r["machine"]["loadavg_1m"])),
    ]


def render_cluster(runs: dict[str, dict[str, Any]]) -> list[str]:
    """The "### relay on cluster backends" subsection."""
    any_run = next(iter(runs.values()))
    heads = [_CLUSTER_HEADS[k] for k in CLUSTER_RUNS]
    lines = [
        "### relay on cluster backends",
        "",
        "`chatd bench relay` (SQLite), `chatd bench relay --synchronous normal` (SQLite without "
        "an fsync per commit), then `chatd bench relay --cluster --workers 1` and "
        f"`--workers 2`, one after the other: {any_run['pairs']} pairs, {any_run['window']} "
        f"messages in flight per pair, {any_run['duration_s']:.0f} s per phase, each beside its "
        "own raw baseline. `--cluster` starts a throwaway PostgreSQL "
        f"{_pg_version()} (fsync and synchronous commit on, as SQLite's synchronous=FULL) and "
        "Redis on free ports, a fresh database, and N chatd processes on one port with "
        "SO_REUSEPORT (what `chatd serve --workers N` runs), so the kernel spreads customers and "
        "agents over the workers and a pair often spans two. All of it shares the 2 cores with "
        "the load generator. Per-message counters come from pg_stat_database, pg_stat_wal and "
        "Redis INFO over the max-rate phase.",
        "",
        "| figure | " + " | ".join(heads) + " |",
        "| --- |" + " --- |" * len(heads),
    ]
    for label, values in _cluster_rows(runs):
        lines.append(f"| {label} | " + " | ".join(_fmt(v) for v in values) + " |")
    return lines


def _cluster_explained(runs: dict[str, dict[str, Any]]) -> str:
    """Where the time goes, with this run's figures (the story was read off the 2-core box's
    figures: re-read it when a run changes them, e.g. on a machine with spare cores)."""
    if not all(k in runs for k in CLUSTER_RUNS):
        return ""
    lite, one, two = runs["sqlite"], runs["w1"], runs["w2"]
    inflight = one["pairs"] * one["window"]
    return (
        "On this shared 2-core box the cluster backends are CPU-bound: with one worker a message "
        f"costs {one['server_cpu_us_per_msg']:,.0f} µs in chatd plus "
        f"{one['backend_cpu_us_per_msg']:,.0f} µs in PostgreSQL and Redis, against "
        f"{lite['server_cpu_us_per_msg']:,.0f} µs all in on SQLite, so chatd, the backends and "
        f"the load generator fill both cores at ~{one['msgs_per_s']:,.0f} msgs/s, and latency "
        f"at max is queueing ({inflight} messages in flight / throughput), not disk. "
        f"A chat message is one PostgreSQL statement ({one['pg_transactions_per_msg']} "
        "transactions per message counted): the append checks that the conversation takes it, "
        "allocates the seq under the row lock, inserts the event and returns the row the node "
        f"caches, in one round trip ({one['pg_rows_written_per_msg']} rows written: the seq "
        f"bump and the event, with {one['pg_wal_flushes_per_msg']} WAL fsyncs), and the pool "
        "runs no session reset between calls (docs/cluster.md, Stale state). Until 2026-11-26 it "
        "was ~6 transactions: a read before the append, one after it, and a reset after each. "
        f"Each message is {one['redis_publishes_per_msg']:.0f} Redis PUBLISHes (the customer's "
        "and the agent's topics), and with two workers the SO_REUSEPORT hash puts a customer "
        "and their agent on different workers for about half the pairs (a random hash, not "
        "counted here), so those messages cross "
        "Redis (publish, pub/sub delivery, seq gate) where one worker delivers locally; every "
        "worker also reads back and drops its own echoes. "
        "Leader forwarding costs nothing per message: only queue operations (enqueue, "
        "assignment, release) go through the dispatcher leader, so it shows only in the setup. "
        "Hence a second worker raises the CPU per message "
        f"({two['server_cpu_us_per_msg']:,.0f} + {two['backend_cpu_us_per_msg']:,.0f} µs) "
        f"and {'lowers' if two['msgs_per_s'] < one['msgs_per_s'] else 'barely raises'} "
        f"throughput ({two['msgs_per_s']:,.0f} msgs/s) when there is no spare core for it. "
        "What a message still costs is driver work (asyncpg, the Redis client, the bus) in "
        "chatd and PostgreSQL's own work per statement and commit."
    )


def _pg_version() -> str:
    """The major version of the PostgreSQL the bench found (for the table's note)."""
    try:
        from chatd.bench.services import find_postgres_bin

        return find_postgres_bin().parent.name
    except (ImportError, RuntimeError):
        return ""


def run_cluster() -> dict[str, Any]:
    """The three relay runs of the cluster table."""
    runs: dict[str, Any] = {}
    for key, extra in CLUSTER_RUNS.items():
        print(f"  relay {key} ...", file=sys.stderr, flush=True)
        runs[key] = run_scenario("relay", extra)
    return runs


def render_hostile(r: dict[str, Any]) -> list[str]:
    """The "### hostile" subsection: calm against attack, masking in a worker and inline."""
    w, i = r, r["inline"]

    def row(label: str, get: Any) -> str:
        return f"| {label} | " + " | ".join(_fmt(get(x)) for x in (w, i)) + " |"

    return [
        "### hostile: chat traffic while attackers send the worst texts and hold slowloris sockets",
        "",
        f"`chatd bench hostile` — {r['pairs']} customer/agent pairs relaying at a fixed "
        f"{r['rate']:,.0f} msgs/s for {r['duration_s']:.0f} s (calm), then fresh pairs at the "
        f"same rate for {r['duration_s']:.0f} s while {r['hostile_customers']} customers send "
        f"the {r['hostile_texts']} most expensive texts we know of ({r['hostile_text_chars']:,} "
        "characters each: repeated separators after trigger words, the ReDoS of issue 14, digit "
        "and hex runs, BIP39 words with typos; chatd/bench/hostile.py), each at the "
        f"per-conversation limit, and {r['slowloris']} connections send half a request head and "
        "stall. Loop lag is measured inside the server (`chatd_event_loop_lag_seconds`, a timer "
        "sampled every 50 ms). The same run repeats the attack on chatd with "
        "`mask_offload_chars = 0` (every message masked on the event loop), so the two columns "
        "share a machine state. The slowloris sockets are cut at `request_timeout_s` (10 s).",
        "",
        "| figure | long messages masked in a worker (default) | every message masked inline |",
        "| --- | --- | --- |",
        row(
            "event-loop lag p99, calm → attack, ms",
            lambda x: f"{x['calm_loop_lag_p99_ms']} → {x['loop_lag_p99_ms']}",
        ),
        row("event-loop lag p99, attack / calm", lambda x: x["loop_lag_p99_ratio"]),
        row(
            "relay latency p99, calm → attack, ms",
            lambda x: f"{x['calm_relay_p99_ms']} → {x['relay_p99_ms']}",
        ),
        row("relay latency p99, attack / calm", lambda x: x["relay_p99_ratio"]),
        row(
            "hostile messages sent / acknowledged",
            lambda x: f"{x['hostile_sent']:,} / {x['hostile_acked']:,}",
        ),
        row(
            "slowloris connections opened / cut by the server",
            lambda x: f"{x['slowloris_opened']} / {x['slowloris_cut']}",
        ),
        row("server CPU during the attack phase, s", lambda x: x["hostile"].get("server_cpu_s")),
        row("relay messages lost", lambda x: x["lost"]),
        "",
        f"Run took {r['elapsed_s']} s; load average {r['machine']['loadavg_1m']}.",
    ]


def render(results: dict[str, dict[str, Any]]) -> str:
    """The whole "## chatd bench" section."""
    any_result = next(r for n, r in results.items() if n != "cluster")
    m = any_result["machine"]
    lines = [
        SECTION,
        "",
        "Generated by `scripts/benchmarks.py` (do not edit by hand). Every scenario runs chatd and "
        "a baseline in the same run on the same machine: `chatd/bench/baseline.py`, a minimal "
        "aiohttp WebSocket server doing the same transport work (JSON parse, ack, echo, relay to "
        "the peer, the same compression settings) with no chat logic and no storage. Load comes "
        "from separate processes (`websockets` clients) on 127.0.0.1.",
        "",
        f"Machine: {m['cores']} cores, {m['cpu']}, Python {m['python']}, {m['loop']} event loop, "
        f"{m['platform']}. The machine is shared with other jobs: each scenario lists the 1-minute "
        "load average when it ended; wall-clock figures (msgs/s, latency) move with it, CPU per "
        "message much less.",
    ]
    for name in ORDER:
        r = results.get(name)
        if r is None:
            continue
        if name == "cluster":
            lines += ["", *render_cluster(r), "", _cluster_explained(r)]
            continue
        if name == "hostile":
            lines += ["", *render_hostile(r)]
            continue
        lines += ["", f"### {_TITLES[name]}", ""]
        lines += [f"`chatd bench {name}` — {_NOTES[name].format(**r)}", ""]
        lines += _table(_rows(name, r))
        lines += ["", f"Run took {r['elapsed_s']} s; load average {r['machine']['loadavg_1m']}."]
    lines += ["", f"<!-- chatd-bench-results {json.dumps(results, separators=(',', ':'))} -->"]
    return "\n".join(lines) + "\n"


def replace_section(document: str, section: str) -> str:
    """Swap the "## chatd bench" section (up to the next "## ") or append it."""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(document):
        return pattern.sub(lambda _m: section + "\n", document, count=1).rstrip("\n") + "\n"
    return document.rstrip("\n") + "\n\n" + section


def main(argv: Sequence[str] | None = None) -> int:
    """Run (or load) the results, then rewrite the section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=ORDER, help="scenarios to (re)run")
    parser.add_argument("--from", dest="source", help="render saved results instead of running")
    args = parser.parse_args(argv)
    document = DOC.read_text()
    saved = _RAW.search(document)
    results: dict[str, dict[str, Any]] = json.loads(saved.group(1)) if saved else {}
    if args.source:
        results.update(json.loads(Path(args.source).read_text()))
    else:
        for name in args.only or ORDER:
            print(f"chatd bench {name} ...", file=sys.stderr, flush=True)
            results[name] = run_cluster() if name == "cluster" else run_scenario(name)
            # After each scenario, so an interrupted run keeps what it measured.
            DOC.write_text(replace_section(DOC.read_text(), render(results)))
    DOC.write_text(replace_section(DOC.read_text(), render(results)))
    print(f"wrote {DOC.name} ({', '.join(n for n in ORDER if n in results)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
