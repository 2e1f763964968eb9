"""Load of the surge scenario: customers arriving at a steady pace, and agents that close chats.

Customers (``surge_customers``): connect at their arrival time, ask two FAQ questions and time
each bot reply; a fraction then asks for a person, counts the ``queue`` frames they get while
waiting, and stays until an agent closes the chat (or the run ends). The others linger a little
and leave. Agents (``surge_agents``): take every chat they are given, greet, and close it after a
random handling time. Both report one JSON line. Every wait is bounded by the run's deadline.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

from chatd.bench.clients import Conn, Frame, Stopwatch
from chatd.bench.pipe import emit

__all__ = ["TASKS", "surge_agents", "surge_customers"]

#: A customer who waited this many update intervals must have seen at least one queue frame.
UPDATE_GRACE_INTERVALS = 2.5


class Customer:
    """One customer's timeline; ``on_frame`` resolves what ``run`` waits for."""

    def __init__(self, report: SurgeReport) -> None:
        self.report = report
        self.loop = asyncio.get_running_loop()
        self.bot_messages = 0
        self.bot_waiter: asyncio.Future[None] | None = None
        self.bot_wanted = 0
        self.welcome: asyncio.Future[None] = self.loop.create_future()
        self.assigned: asyncio.Future[None] = self.loop.create_future()
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.queued_at: float | None = None
        self.queue_frames = 0

    def on_frame(self, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "message" and frame.get("author") == "bot":
            self.bot_messages += 1
            waiter = self.bot_waiter
            if waiter is not None and not waiter.done() and self.bot_messages >= self.bot_wanted:
                waiter.set_result(None)
        elif kind == "queue":
            self.queue_frames += 1
            self.report.queue_frames += 1
        elif kind == "queued" and self.queued_at is None:
            self.queued_at = time.monotonic()
        elif kind == "assigned" and not self.assigned.done():
            self.assigned.set_result(None)
        elif kind == "closed" and not self.closed.done():
            self.closed.set_result(None)
        elif kind == "welcome" and not self.welcome.done():
            self.welcome.set_result(None)
        elif kind == "error":
            self.report.errors[f"error_frame:{frame.get('code')}"] += 1

    async def ask(self, conn: Conn, text: str, cid: str) -> None:
        """Send a question and wait for the bot's answer (one more bot message)."""
        self.bot_wanted = self.bot_messages + 1
        self.bot_waiter = self.loop.create_future()
        start = time.monotonic()
        await conn.send({"type": "message", "cid": cid, "text": text})
        await asyncio.wait_for(self.bot_waiter, 15)
        self.report.bot_reply.add_since(start)


class SurgeReport:
    """What the customers of one worker saw."""

    def __init__(self) -> None:
        self.bot_reply = Stopwatch()
        self.errors: Counter[str] = Counter()
        self.queue_frames = 0
        self.connected = 0
        self.requested_human = 0
        self.assigned = 0
        self.closed_by_agent = 0
        self.still_waiting = 0
        self.waited_long = 0
        self.waited_long_without_updates = 0
        self.assign_wait = Stopwatch()


async def _one_customer(
    index: int, spec: dict[str, Any], start: float, report: SurgeReport
) -> None:
    """Arrive, ask two questions, maybe wait for a person; every wait bounded."""
    rng = random.Random(spec["seed"] * 100_003 + index)
    delay = start + spec["arrival_s"] * index / spec["count"] - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    customer = Customer(report)
    questions = spec["questions"]
    try:
        conn = await Conn.open(spec["url"], "/ws/customer", customer.on_frame)
    except (OSError, TimeoutError) as exc:
        report.errors[f"connect:{type(exc).__name__}"] += 1
        return
    try:
        customer.bot_wanted = 1  # the greeting
        customer.bot_waiter = customer.loop.create_future()
        await conn.send({"type": "hello", "locale": "en"})
        await asyncio.wait_for(customer.welcome, 15)
        await asyncio.wait_for(customer.bot_waiter, 15)
        report.connected += 1
        for n in range(2):
            await asyncio.sleep(rng.uniform(0.2, 1.0))  # reading and typing
            await customer.ask(conn, rng.choice(questions), f"q{index}-{n}")
        if rng.random() < spec["human_fraction"]:
            await _wait_for_person(conn, customer, index, spec, report)
        else:
            await asyncio.sleep(rng.uniform(0, spec["linger_s"]))
    except TimeoutError:
        report.errors["timeout"] += 1
    except (OSError, ConnectionError) as exc:
        report.errors[f"connection:{type(exc).__name__}"] += 1
    except Exception as exc:  # a bench bug must show up as an error, not vanish in a task
        report.errors[f"exception:{type(exc).__name__}"] += 1
    finally:
        if conn.closed.done() and conn.closed.result() not in (1000, 1001, None):
            report.errors[f"closed:{conn.closed.result()}"] += 1
        conn.abort()


async def _wait_for_person(
    conn: Conn, customer: Customer, index: int, spec: dict[str, Any], report: SurgeReport
) -> None:
    report.requested_human += 1
    asked = time.monotonic()
    await conn.send({"type": "request_human", "cid": f"h{index}"})
    left = spec["deadline_at"] - time.monotonic()
    try:
        await asyncio.wait_for(asyncio.shield(customer.assigned), max(0.0, left))
    except TimeoutError:
        report.still_waiting += 1
    else:
        report.assigned += 1
        report.assign_wait.add_since(asked)
    queued_at = customer.queued_at or asked
    waited = time.monotonic() - queued_at
    if waited >= UPDATE_GRACE_INTERVALS * spec["update_interval_s"]:
        report.waited_long += 1
        if customer.queue_frames == 0:
            report.waited_long_without_updates += 1
    if customer.assigned.done():
        left = spec["deadline_at"] - time.monotonic()
        try:
            await asyncio.wait_for(asyncio.shield(customer.closed), max(0.0, left))
            report.closed_by_agent += 1
        except TimeoutError:
            report.still_waiting += 1


async def surge_customers(spec: dict[str, Any]) -> None:
    """``count`` customers arriving evenly over ``arrival_s`` seconds (this worker's share)."""
    report = SurgeReport()
    start = time.monotonic() + 0.5
    spec["deadline_at"] = start + spec["arrival_s"] + spec["drain_s"]
    tasks = [
        asyncio.create_task(_one_customer(i, spec, start, report))
        for i in range(spec["offset"], spec["count"], spec["stride"])
    ]
    _done, pending = await asyncio.wait(tasks, timeout=spec["deadline_at"] + 20 - time.monotonic())
    for task in pending:
        task.cancel()
    report.errors["unfinished"] += len(pending)
    await asyncio.gather(*pending, return_exceptions=True)
    emit(
        {
            "phase": "done",
            "customers": len(tasks),
            "connected": report.connected,
            "bot_reply": report.bot_reply.summary(),
            "bot_reply_samples": report.bot_reply.samples,
            "queue_frames": report.queue_frames,
            "requested_human": report.requested_human,
            "assigned": report.assigned,
            "assign_wait": report.assign_wait.summary(),
            "closed_by_agent": report.closed_by_agent,
            "still_waiting": report.still_waiting,
            "waited_long": report.waited_long,
            "waited_long_without_updates": report.waited_long_without_updates,
            "errors": {k: v for k, v in report.errors.items() if v},
        }
    )


async def surge_agents(spec: dict[str, Any]) -> None:
    """Agents that greet every assigned chat and close it after a random handling time."""
    rng = random.Random(spec["seed"])
    loop = asyncio.get_running_loop()
    handled = 0
    errors: Counter[str] = Counter()
    closers: set[asyncio.Task[None]] = set()
    conns: list[Conn] = []

    async def handle(conn: Conn, conversation_id: str, index: int) -> None:
        nonlocal handled
        frame = {"type": "message", "cid": f"g{index}", "conversation_id": conversation_id}
        await conn.send({**frame, "text": "Hi, I'm looking at your question now."})
        await asyncio.sleep(rng.uniform(spec["handle_min_s"], spec["handle_max_s"]))
        await conn.send({"type": "close", "cid": f"x{index}", "conversation_id": conversation_id})
        handled += 1

    def make_handler(holder: list[Conn], welcome: asyncio.Future[Frame]) -> Any:
        def on_frame(frame: Frame) -> None:
            kind = frame.get("type")
            if kind == "chat_assigned":
                task = loop.create_task(
                    handle(holder[0], frame["conversation"]["conversation_id"], len(closers))
                )
                closers.add(task)
            elif kind in ("welcome", "error") and not welcome.done():
                welcome.set_result(frame)
            elif kind == "error":
                errors[f"error_frame:{frame.get('code')}"] += 1

        return on_frame

    for token in spec["agent_tokens"]:
        holder: list[Conn] = []
        welcome: asyncio.Future[Frame] = loop.create_future()
        conn = await Conn.open(spec["url"], "/ws/agent", make_handler(holder, welcome))
        holder.append(conn)
        conns.append(conn)
        await conn.send({"type": "hello", "token": token, "status": "online"})
        if (await asyncio.wait_for(welcome, 30))["type"] != "welcome":
            errors["agent_refused"] += 1
    emit({"phase": "ready"})
    # Until told to stop (the customers are done) or the deadline.
    from chatd.bench.pipe import read_line

    await read_line(float(spec["deadline_s"]))
    for task in closers:
        task.cancel()
    await asyncio.gather(*closers, return_exceptions=True)
    for conn in conns:
        conn.abort()
    emit({"phase": "done", "handled": handled, "errors": dict(errors)})


TASKS = {"surge_customers": surge_customers, "surge_agents": surge_agents}
