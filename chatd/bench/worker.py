"""``python -m chatd.bench.worker SPEC``: a load process (idle and relay; surge in surge_load).

The spec is one JSON object naming a ``task`` and its parameters. The worker prints JSON lines
(results, or "ready" when it waits for the orchestrator) and reads JSON lines on stdin. Every
phase has a deadline, so a stuck server makes the worker report and exit, never hang.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import random
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from chatd.bench.clients import Conn, Frame, Stopwatch
from chatd.bench.pipe import bounded_gather, emit, read_line
from chatd.bench.procs import (
    cpu_seconds,
    default_loop,
    install_loop,
    raise_nofile,
    tree_cpu_seconds,
)
from chatd.bench.texts import line, speaks_chinese

__all__ = ["TASKS", "main"]


# -- idle -----------------------------------------------------------------------------------------


async def idle(spec: dict[str, Any]) -> None:
    """Open ``count`` customers (hello, welcome), report, hold until told, then drop them."""
    url, count, deadline = spec["url"], int(spec["count"]), float(spec["deadline_s"])
    conns: list[Conn] = []

    async def open_one() -> None:
        welcome: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()

        def on_frame(frame: Frame) -> None:
            if frame.get("type") == "welcome" and not welcome.done():
                welcome.set_result(frame)

        conn = await Conn.open(url, "/ws/customer", on_frame)
        conns.append(conn)
        await conn.send({"type": "hello", "locale": "en"})
        await asyncio.wait_for(welcome, 30)

    start = time.monotonic()
    results = await asyncio.wait_for(
        bounded_gather([open_one] * count, int(spec.get("concurrency", 100))), deadline
    )
    open_s = time.monotonic() - start
    errors = [r for r in results if isinstance(r, BaseException)]
    emit(
        {
            "phase": "ready",
            "opened": count - len(errors),
            "failed": len(errors),
            "first_error": repr(errors[0]) if errors else None,
            "open_s": round(open_s, 3),
            "open_rate": round((count - len(errors)) / open_s, 1),
        }
    )
    await read_line(float(spec.get("hold_s", 120)))
    held = sum(1 for c in conns if not c.closed.done())
    for conn in conns:
        conn.abort()
    await asyncio.gather(*(c.reader for c in conns), return_exceptions=True)
    emit({"phase": "done", "held": held})


# -- relay ----------------------------------------------------------------------------------------


class Pair:
    """One customer and the agent connection that holds their conversation."""

    __slots__ = ("agent", "assigned", "chinese", "conversation_id", "customer", "inbox")

    def __init__(self, chinese: bool = False) -> None:
        #: The conversation's language (chatd/bench/texts.py).
        self.chinese = chinese
        self.customer: Conn | None = None
        self.agent: Conn | None = None
        self.conversation_id = ""
        self.assigned: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        #: Futures per message number, resolved when the peer received it.
        self.inbox: dict[int, asyncio.Future[None]] = {}


class RelayLoad:
    """Customer/agent pairs; messages start with their number ("r17 ...") so receipt finds
    the sender, then a realistic support-chat line (chatd/bench/texts.py)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.url = spec["url"]
        self.pairs: list[Pair] = []
        self.by_conversation: dict[str, Pair] = {}
        self.sent_at: dict[int, float] = {}
        self.numbers = itertools.count(1)
        self.latency = Stopwatch()
        self.received = 0
        self.errors: list[str] = []

    def _received(self, pair: Pair, text: str) -> None:
        number = int(text[1 : text.index(" ")])
        sent = self.sent_at.pop(number, None)
        if sent is not None:
            self.latency.add_since(sent)
            self.received += 1
        waiter = pair.inbox.pop(number, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def connect_agent(self, token: str) -> Conn:
        """An agent: its conversations are the pairs its chat_assigned frames name."""
        welcome: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        holder: list[Conn] = []

        def on_frame(frame: Frame) -> None:
            kind = frame.get("type")
            if kind == "message" and frame.get("author") == "customer":
                pair = self.by_conversation.get(frame["conversation_id"])
                if pair is not None:
                    self._received(pair, frame["text"])
            elif kind == "chat_assigned":
                pair = self.by_conversation.get(frame["conversation"]["conversation_id"])
                if pair is not None and not pair.assigned.done():
                    pair.agent = holder[0]
                    pair.assigned.set_result(None)
            elif kind in ("welcome", "error") and not welcome.done():
                welcome.set_result(frame)
            elif kind == "error":
                self.errors.append(frame.get("code", "?"))

        conn = await Conn.open(self.url, "/ws/agent", on_frame)
        holder.append(conn)
        await conn.send({"type": "hello", "token": token, "status": "online"})
        reply = await asyncio.wait_for(welcome, 30)
        if reply["type"] != "welcome":
            raise RuntimeError(f"agent hello refused: {reply}")
        return conn

    def _on_customer_frame(self, pair: Pair, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "message" and frame.get("author") == "agent":
            self._received(pair, frame["text"])
        elif kind == "error":
            self.errors.append(frame.get("code", "?"))

    async def setup(self) -> None:
        """Connect customers, hand each to an agent, wait until every pair is assigned."""
        loop = asyncio.get_running_loop()

        async def one(index: int) -> None:
            pair = Pair(chinese=speaks_chinese(index))
            welcome: asyncio.Future[Frame] = loop.create_future()

            def on_frame(frame: Frame) -> None:
                if frame.get("type") == "welcome" and not welcome.done():
                    welcome.set_result(frame)
                self._on_customer_frame(pair, frame)

            pair.customer = await Conn.open(self.url, "/ws/customer", on_frame)
            await pair.customer.send({"type": "hello", "locale": "en"})
            pair.conversation_id = (await asyncio.wait_for(welcome, 30))["conversation_id"]
            self.by_conversation[pair.conversation_id] = pair
            self.pairs.append(pair)
            await pair.customer.send({"type": "request_human", "cid": f"h{index}"})

        results = await asyncio.wait_for(
            bounded_gather([functools.partial(one, i) for i in range(self.n)], 50), 60
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise RuntimeError(f"{len(failed)} customers failed to connect: {failed[0]!r}")
        await asyncio.wait_for(asyncio.gather(*(p.assigned for p in self.pairs)), 60)

    @property
    def n(self) -> int:
        return int(self.spec["pairs"])

    async def send(
        self, pair: Pair, from_customer: bool, number: int, scheduled: float | None = None
    ) -> None:
        """Send message ``number`` to the peer; latency counts from ``scheduled`` when given."""
        self.sent_at[number] = scheduled if scheduled is not None else time.monotonic()
        conn = pair.customer if from_customer else pair.agent
        assert conn is not None
        if from_customer:
            text = line(True, number, pair.chinese)
            await conn.send({"type": "message", "cid": f"c{number}", "text": text})
        else:
            frame = {
                "type": "message",
                "cid": f"a{number}",
                "text": line(False, number, pair.chinese),
            }
            await conn.send({**frame, "conversation_id": pair.conversation_id})

    async def closed_loop(self, duration: float) -> dict[str, Any]:
        """Each pair ping-pongs as fast as it can: the maximum throughput."""
        loop = asyncio.get_running_loop()
        stop_at = time.monotonic() + duration
        self.latency, self.received = Stopwatch(), 0

        async def ping_pong(pair: Pair) -> None:
            from_customer = True
            while time.monotonic() < stop_at:
                number = next(self.numbers)
                waiter: asyncio.Future[None] = loop.create_future()
                pair.inbox[number] = waiter
                await self.send(pair, from_customer, number)
                try:
                    await asyncio.wait_for(waiter, 10)
                except TimeoutError:
                    self.errors.append("timeout")
                    return
                from_customer = not from_customer

        counters = await self.backend_counters()
        start, cpu, backend = time.monotonic(), self.server_cpu(), self.backend_cpu()
        # ``window`` ping-pong chains per pair: enough messages in flight to saturate the server
        # (one chain per pair measures the commit latency, not the capacity).
        window = int(self.spec.get("window", 1))
        await asyncio.gather(*(ping_pong(p) for p in self.pairs for _ in range(window)))
        elapsed, cpu = time.monotonic() - start, self.server_cpu() - cpu
        result = {
            "msgs_per_s": round(self.received / elapsed, 1),
            # CPU time is what other processes on a shared machine cannot inflate much.
            "server_cpu_us_per_msg": round(cpu * 1e6 / max(1, self.received), 1),
            "server_cpu_pct": round(100 * cpu / elapsed, 1),
            **self.latency.summary(),
        }
        if self.spec.get("backend_pids"):
            # PostgreSQL and Redis work for chatd on the same cores: part of a message's cost.
            backend = self.backend_cpu() - backend
            result["backend_cpu_us_per_msg"] = round(backend * 1e6 / max(1, self.received), 1)
            result["backend_cpu_pct"] = round(100 * backend / elapsed, 1)
        if counters:
            after = await self.backend_counters()
            for key, before in counters.items():
                result[f"{key}_per_msg"] = round((after[key] - before) / max(1, self.received), 2)
        return result

    async def backend_counters(self) -> dict[str, int]:
        """PostgreSQL and Redis work so far ({} on SQLite): where a message's time goes.

        pg_stat_database counts the transactions and rows of the run's database (chatd's
        only), pg_stat_wal the WAL flushes of the throwaway server, Redis INFO every command and
        every PUBLISH. PostgreSQL flushes its counters at most once a second, so
        over a phase of several seconds the per-message figures are good to a few percent.
        """
        postgres_url, redis_url = self.spec.get("postgres_url"), self.spec.get("redis_url")
        if not postgres_url or not redis_url:
            return {}
        import asyncpg  # type: ignore[import-untyped]
        import redis.asyncio as aioredis

        conn = await asyncpg.connect(postgres_url)
        try:
            # Our own connection's counters are not flushed yet: a fresh one each time.
            # xact_commit counts reads too (each autocommit SELECT is a transaction); wal_sync
            # counts the WAL flushes to disk, which concurrent commits share (group commit).
            row = await conn.fetchrow(
                "SELECT d.xact_commit, d.tup_inserted + d.tup_updated + d.tup_deleted AS written,"
                " w.wal_sync FROM pg_stat_database d, pg_stat_wal w"
                " WHERE d.datname = current_database()"
            )
        finally:
            await conn.close()
        client = aioredis.from_url(redis_url)
        try:
            stats = await client.info("stats")
            commands = await client.info("commandstats")
        finally:
            await client.aclose()
        return {
            "pg_transactions": int(row["xact_commit"]),
            "pg_rows_written": int(row["written"]),
            "pg_wal_flushes": int(row["wal_sync"]),
            "redis_commands": int(stats["total_commands_processed"]),
            "redis_publishes": int(commands.get("cmdstat_publish", {}).get("calls", 0)),
        }

    def server_cpu(self) -> float:
        """CPU seconds the server processes under test used so far (they run on this machine)."""
        pids = self.spec.get("server_pids") or [self.spec["server_pid"]]
        return sum(cpu_seconds(int(pid)) for pid in pids)

    def backend_cpu(self) -> float:
        """CPU seconds of the storage and bus servers (PostgreSQL with its backends, Redis)."""
        return sum(tree_cpu_seconds(int(pid)) for pid in self.spec.get("backend_pids", ()))

    async def open_loop(self, rate: float, duration: float) -> dict[str, Any]:
        """Every customer and agent sends at a fixed pace (``rate`` in total); latency counts
        from the scheduled send time, so a late sender cannot hide a slow server."""
        self.latency, self.received, self.sent_at = Stopwatch(), 0, {}
        senders = [(p, side) for p in self.pairs for side in (True, False)]
        interval = len(senders) / rate
        rng = random.Random(7)
        start = time.monotonic() + 0.2
        count = int(duration / interval)

        async def paced(pair: Pair, from_customer: bool, offset: float) -> None:
            for k in range(count):
                due = start + offset + k * interval
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await self.send(pair, from_customer, next(self.numbers), scheduled=due)

        await asyncio.gather(*(paced(p, s, rng.uniform(0, interval)) for p, s in senders))
        sent = count * len(senders)
        drain_until = time.monotonic() + 10
        while self.received < sent and time.monotonic() < drain_until:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # polling: receipts arrive in callbacks, bounded by 10 s
        return {
            "rate": round(rate, 1),
            "sent": sent,
            "lost": sent - self.received,
            "achieved_msgs_per_s": round(self.received / (duration + 0.2), 1),
            **self.latency.summary(),
        }


async def relay(spec: dict[str, Any]) -> None:
    """Phase 1 (closed loop, max rate), then phase 2 (open loop at a given or half that rate)."""
    load = RelayLoad(spec)
    agent_conns = [await load.connect_agent(token) for token in spec["agent_tokens"]]
    await load.setup()
    if spec.get("open_loop_only"):
        # A fixed rate only (chatd bench hostile): the same load with and without an attack.
        half = await load.open_loop(float(spec["phase2_rate"]), float(spec["phase2_duration_s"]))
        emit({"phase": "done", "half": half, "errors": load.errors[:20]})
        for conn in [*(p.customer for p in load.pairs if p.customer), *agent_conns]:
            conn.abort()
        return
    await load.closed_loop(min(2.0, float(spec["duration_s"]) / 4))  # warm-up
    load.errors.clear()
    phase1 = await load.closed_loop(float(spec["duration_s"]))
    rate = spec.get("phase2_rate") or phase1["msgs_per_s"] / 2
    phase2 = await load.open_loop(float(rate), float(spec["phase2_duration_s"]))
    emit({"phase": "done", "max": phase1, "half": phase2, "errors": load.errors[:20]})
    for conn in [*(p.customer for p in load.pairs if p.customer), *agent_conns]:
        conn.abort()


TASKS: dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, None]]] = {
    "idle": idle,
    "relay": relay,
}


def main() -> int:
    """Run the task named by the spec on argv[1]."""
    spec = json.loads(sys.argv[1])
    raise_nofile()
    install_loop(spec.get("loop") or default_loop())
    if spec["task"] not in TASKS:
        from chatd.bench import hostile_load, surge_load, upload_load

        TASKS.update(surge_load.TASKS)
        TASKS.update(hostile_load.TASKS)
        TASKS.update(upload_load.TASKS)
    asyncio.run(TASKS[spec["task"]](spec))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
