"""The idle, relay and bot scenarios: chatd and the baseline under the same load, side by side.

Each scenario returns one JSON-able dict: chatd's figures, the baseline's, and their ratios, plus
the parameters it ran with. Servers and workers are stopped in ``finally`` blocks by PID.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatd.bench.clients import Stopwatch
from chatd.bench.procs import (
    CHATD_DATA,
    ServerGroup,
    ServerProc,
    add_agents,
    start_baseline,
    start_chatd,
    start_worker,
)

__all__ = [
    "BenchOptions",
    "UnderTest",
    "chatd_under_test",
    "machine",
    "ratio",
    "run_bot",
    "run_idle",
    "run_relay",
]


@dataclass(frozen=True)
class BenchOptions:
    """What the command line asked for; None means the scenario's default."""

    work_dir: Path
    loop: str
    quick: bool = False
    connections: int | None = None
    duration: float | None = None
    #: Run chatd on throwaway PostgreSQL + Redis (started by the run) instead of SQLite.
    cluster: bool = False
    #: chatd processes sharing the port (SO_REUSEPORT); more than one needs ``cluster``.
    workers: int = 1
    #: SQLite's ``[storage] synchronous`` ("full", the default, or "normal").
    synchronous: str = "full"

    @property
    def backend(self) -> str:
        """What chatd stores and relays through in this run (reported in the JSON)."""
        if self.cluster:
            return "postgresql+redis"
        return "sqlite" if self.synchronous == "full" else f"sqlite, synchronous={self.synchronous}"


@dataclass
class UnderTest:
    """The chatd of one scenario: the server(s), its agents' tokens, and its backends if any."""

    server: ServerProc | ServerGroup
    tokens: list[str]
    #: PostgreSQL's and Redis's PIDs (CPU accounting); empty on SQLite.
    backend_pids: list[int]
    #: ``postgres_url`` (the run's database) and ``redis_url``; empty on SQLite.
    backend_urls: dict[str, str]


@contextmanager
def chatd_under_test(
    opts: BenchOptions,
    work_dir: Path,
    *,
    agents: int = 0,
    capacity: int = 3,
    limits: str = "",
) -> Iterator[UnderTest]:
    """chatd as ``opts`` asks, with ``agents`` accounts; everything stopped on exit.

    Embedded: one process on a fresh SQLite file. Cluster: PostgreSQL and Redis, then
    ``opts.workers`` chatd processes; on exit (also on error or Ctrl-C) chatd stops first, then
    the backends, each by its PID, so the baseline that follows has the machine to itself.
    ``limits``: more lines for the ``[limits]`` table (embedded only), e.g.
    ``"mask_offload_chars = 0\n"``.
    """
    with ExitStack() as stack:
        if opts.cluster:
            from chatd.bench.cluster import cluster_backends, start_cluster

            backends = stack.enter_context(cluster_backends())
            group, tokens, database = start_cluster(
                work_dir,
                backends,
                loop=opts.loop,
                workers=opts.workers,
                agents=agents,
                capacity=capacity,
            )
            stack.callback(group.stop)
            urls = {"postgres_url": database, "redis_url": backends.redis.url}
            yield UnderTest(group, tokens, backends.pids, urls)
        else:
            # Agents are added while no server runs (one writing process per database file).
            tokens = add_agents(work_dir / CHATD_DATA, agents, capacity=capacity) if agents else []
            storage = f'[storage]\nsynchronous = "{opts.synchronous}"\n'
            server = start_chatd(work_dir, loop=opts.loop, extra_config=limits + storage)
            stack.callback(server.stop)
            yield UnderTest(server, tokens, [], {})


def machine(loop: str) -> dict[str, Any]:
    """The figures' context: cores, CPU model, Python, event loop."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    import os

    return {
        # Other jobs on the machine inflate wall-clock figures; the load average tells.
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "loop": loop,
        "platform": platform.platform(terse=True),
    }


def ratio(numerator: float | None, denominator: float | None, digits: int = 3) -> float | None:
    """numerator / denominator, None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, digits)


# -- idle -----------------------------------------------------------------------------------------


def _idle_on(server: ServerProc | ServerGroup, count: int, deadline: float) -> dict[str, Any]:
    """Hold ``count`` customers on ``server``; memory is measured while they are held."""
    warm = start_worker("idle", url=server.ws_url, count=20, deadline_s=30)
    try:  # first connections pay one-time costs (lazy imports, caches): not per connection
        warm.read(40)
        warm.tell({"release": True})
        warm.read(30)
    finally:
        warm.stop()
    time.sleep(0.5)
    rss_before = server.rss_kb()
    cpu_before = server.cpu_seconds()
    worker = start_worker(
        "idle", url=server.ws_url, count=count, concurrency=100, deadline_s=deadline, hold_s=120
    )
    try:
        ready = worker.read(deadline + 30)
        cpu_open = server.cpu_seconds() - cpu_before
        time.sleep(2.0)  # held, not just opened: the connections must survive a while
        rss_held = server.rss_kb()
        worker.tell({"release": True})
        done = worker.read(60)
    finally:
        worker.stop()
    opened = int(ready["opened"])
    return {
        "connections": count,
        "opened": opened,
        "failed": ready["failed"],
        "first_error": ready["first_error"],
        "held": done["held"],
        "open_s": ready["open_s"],
        "open_rate": ready["open_rate"],
        "server_cpu_ms_per_open": round(cpu_open * 1000 / max(1, opened), 3),
        "rss_before_mb": round(rss_before / 1024, 1),
        "rss_held_mb": round(rss_held / 1024, 1),
        "kb_per_connection": round((rss_held - rss_before) / max(1, opened), 2),
    }


def run_idle(opts: BenchOptions) -> dict[str, Any]:
    """N customers connected with open conversations (bot state), held; then the bare baseline."""
    count = opts.connections or (1000 if opts.quick else 10_000)
    deadline = 30.0 if opts.quick else 180.0
    with chatd_under_test(opts, opts.work_dir / "idle") as chatd:
        ours = _idle_on(chatd.server, count, deadline)
    base = start_baseline(opts.work_dir / "idle-baseline", loop=opts.loop)
    try:
        theirs = _idle_on(base, count, deadline)
    finally:
        base.stop()
    return {
        "scenario": "idle",
        "backend": opts.backend,
        "workers": opts.workers,
        "connections": count,
        "held": ours["held"],
        "open_rate": ours["open_rate"],
        "kb_per_connection": ours["kb_per_connection"],
        "baseline_held": theirs["held"],
        "baseline_open_rate": theirs["open_rate"],
        "baseline_kb_per_connection": theirs["kb_per_connection"],
        "memory_ratio": ratio(ours["kb_per_connection"], theirs["kb_per_connection"]),
        "open_rate_ratio": ratio(ours["open_rate"], theirs["open_rate"]),
        "chatd": ours,
        "baseline": theirs,
    }


# -- relay ----------------------------------------------------------------------------------------

#: Chats per agent in the relay scenario (chatd's capacity and the baseline's alike).
RELAY_AGENT_CAPACITY = 5
#: Messages in flight per pair in the max-rate phase: with one, a pair waits a full commit per
#: message and the figure is the fsync latency, not the capacity (measured: 4 saturates chatd).
RELAY_WINDOW = 4


def _relay_on(
    server: ServerProc | ServerGroup,
    spec: dict[str, Any],
    timeout: float,
    backend_pids: list[int] | None = None,
    backend_urls: dict[str, str] | None = None,
) -> dict[str, Any]:
    cpu_before = server.cpu_seconds()
    per_worker_before = server.worker_cpu_seconds() if isinstance(server, ServerGroup) else []
    worker = start_worker(
        "relay",
        url=server.ws_url,
        server_pid=server.pid,
        server_pids=server.pids,
        backend_pids=backend_pids or [],
        **(backend_urls or {}),
        **spec,
    )
    try:
        result = worker.read(timeout)
        load_cpu = worker.cpu_seconds()
    finally:
        worker.stop()
    result["server_cpu_s"] = round(server.cpu_seconds() - cpu_before, 2)
    if isinstance(server, ServerGroup):
        # Uneven figures mean the kernel's SO_REUSEPORT hash put more connections on one worker.
        spent = zip(server.worker_cpu_seconds(), per_worker_before, strict=True)
        result["worker_cpu_s"] = [round(after - before, 2) for after, before in spent]
    result["load_cpu_s"] = round(load_cpu, 2)
    return result


def run_relay(opts: BenchOptions) -> dict[str, Any]:
    """Customer/agent pairs with persistence on: max msgs/s, then p99 at half of chatd's max."""
    pairs = opts.connections or (20 if opts.quick else 50)
    duration = opts.duration or (5.0 if opts.quick else 20.0)
    agents = math.ceil(pairs / RELAY_AGENT_CAPACITY)
    spec = {
        "pairs": pairs,
        "window": RELAY_WINDOW,
        "duration_s": duration,
        "phase2_duration_s": duration,
    }
    timeout = 2 * duration + 90
    with chatd_under_test(
        opts, opts.work_dir / "relay", agents=agents, capacity=RELAY_AGENT_CAPACITY
    ) as chatd:
        ours = _relay_on(
            chatd.server,
            {**spec, "agent_tokens": chatd.tokens},
            timeout,
            chatd.backend_pids,
            chatd.backend_urls,
        )
    half = ours["max"]["msgs_per_s"] / 2
    base = start_baseline(
        opts.work_dir / "relay-baseline", loop=opts.loop, agent_capacity=RELAY_AGENT_CAPACITY
    )
    try:
        theirs = _relay_on(
            base, {**spec, "agent_tokens": ["t"] * agents, "phase2_rate": half}, timeout
        )
    finally:
        base.stop()
    m, bm = ours["max"], theirs["max"]
    return {
        "scenario": "relay",
        "backend": opts.backend,
        "workers": opts.workers,
        "pairs": pairs,
        "window": RELAY_WINDOW,
        "duration_s": duration,
        "msgs_per_s": m["msgs_per_s"],
        "baseline_msgs_per_s": bm["msgs_per_s"],
        "throughput_ratio": ratio(m["msgs_per_s"], bm["msgs_per_s"]),
        "p50_ms": m["p50_ms"],
        "p99_ms": m["p99_ms"],
        "baseline_p50_ms": bm["p50_ms"],
        "baseline_p99_ms": bm["p99_ms"],
        "half_rate_msgs_per_s": round(half, 1),
        "half_rate_p50_ms": ours["half"]["p50_ms"],
        "half_rate_p99_ms": ours["half"]["p99_ms"],
        "baseline_half_rate_p50_ms": theirs["half"]["p50_ms"],
        "baseline_half_rate_p99_ms": theirs["half"]["p99_ms"],
        "server_cpu_us_per_msg": m["server_cpu_us_per_msg"],
        "baseline_server_cpu_us_per_msg": bm["server_cpu_us_per_msg"],
        "cpu_per_msg_ratio": ratio(m["server_cpu_us_per_msg"], bm["server_cpu_us_per_msg"]),
        # PostgreSQL + Redis CPU per message (None on SQLite, which runs inside chatd's process).
        "backend_cpu_us_per_msg": m.get("backend_cpu_us_per_msg"),
        "pg_transactions_per_msg": m.get("pg_transactions_per_msg"),
        "pg_rows_written_per_msg": m.get("pg_rows_written_per_msg"),
        "pg_wal_flushes_per_msg": m.get("pg_wal_flushes_per_msg"),
        "redis_commands_per_msg": m.get("redis_commands_per_msg"),
        "redis_publishes_per_msg": m.get("redis_publishes_per_msg"),
        "errors": len(ours["errors"]) + ours["half"]["lost"],
        "chatd": ours,
        "baseline": theirs,
    }


# -- bot ------------------------------------------------------------------------------------------


def run_bot(opts: BenchOptions) -> dict[str, Any]:
    """Matcher latency on the default KB, in-process, beside a naive fuzzy matcher."""
    from rapidfuzz import fuzz, process

    from bot_intents import load_bot

    start = time.perf_counter()
    bot = load_bot(None)
    load_s = time.perf_counter() - start
    texts: list[str] = []
    labels: list[str] = []
    for intent in bot.kb.intents:
        for examples in intent.examples.values():
            texts += examples
            labels += [intent.id] * len(examples)
    repeat = 1 if opts.quick else 3
    ours, theirs = Stopwatch(), Stopwatch()
    for text in texts[:50]:
        bot.reply(text)  # warm caches so the first calls do not dominate p99
    correct = 0
    for _ in range(repeat):
        for text, label in zip(texts, labels, strict=True):
            t0 = time.monotonic()
            reply = bot.reply(text)
            ours.add_since(t0)
            correct += reply.intent == label
    # The baseline: the nearest KB example by rapidfuzz WRatio, the usual "fuzzy FAQ" matcher.
    correct_naive = 0
    for _ in range(repeat):
        for text, label in zip(texts, labels, strict=True):
            t0 = time.monotonic()
            _match, _score, index = process.extractOne(text, texts, scorer=fuzz.WRatio)
            theirs.add_since(t0)
            correct_naive += labels[index] == label
    a, b = ours.summary(), theirs.summary()
    n = len(texts) * repeat
    return {
        "scenario": "bot",
        "messages": n,
        "intents": len(bot.intent_ids),
        "load_s": round(load_s, 2),
        "p50_ms": a["p50_ms"],
        "p99_ms": a["p99_ms"],
        "baseline_p50_ms": b["p50_ms"],
        "baseline_p99_ms": b["p99_ms"],
        "latency_ratio_p99": ratio(a["p99_ms"], b["p99_ms"]),
        # On its own training examples: a sanity check, not accuracy (see the Bot section).
        "self_match_rate": round(correct / n, 3),
        "baseline_self_match_rate": round(correct_naive / n, 3),
        "baseline": "rapidfuzz.process.extractOne(WRatio) over every KB example",
    }
