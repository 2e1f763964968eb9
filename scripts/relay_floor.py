"""What a relayed message costs chatd with no socket at all: the floor under `chatd bench relay`.

    .venv/bin/python scripts/relay_floor.py                        # synchronous = "full"
    .venv/bin/python scripts/relay_floor.py --synchronous normal --json

The real ChatService on the real SQLite store (a temporary directory) with the shipped bot:
customer/agent pairs assigned to agents, every message decoded from its JSON frame as the socket
handlers do, masked, stored with group commit, fanned out on the in-process bus to subscribers
that encode each frame (what the Outbox does before writing), and acknowledged with an encoded
ack. What is left out is the transport: aiohttp's frame reading and writing, the per-socket
writer tasks, compression. The same closed loop as the bench (50 pairs, 4 messages in flight per
pair) on the same realistic texts. CPU time is the whole process's (the SQLite writer thread
included).

The raw relay of `chatd bench relay` spends its whole per-message budget on that transport; so
chatd reaches half its throughput only if this floor costs no more than what the raw relay's
server spends per message in total. BENCHMARKS.md ("Relay: where it stands") compares the two.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

from bot_intents import load_bot
from chatd import protocol as p
from chatd.bench.procs import default_loop, install_loop
from chatd.bench.texts import line, speaks_chinese
from chatd.bus.local import LocalBus
from chatd.config import load_config
from chatd.logs import configure_logging
from chatd.service.chat import ChatService
from chatd.store import open_store
from chatd.store.base import AgentRecord, Event

CAPACITY = 5


async def measure(synchronous: str, pairs: int, window: int, duration_s: float) -> dict[str, Any]:
    """Run the closed loop for ``duration_s`` (after a one-second warm-up); return the figures."""
    data_dir = tempfile.mkdtemp(prefix="chatd-floor-")
    overrides = {"server": {"data_dir": data_dir}, "storage": {"synchronous": synchronous}}
    config = load_config(None, overrides=overrides)
    store = open_store(config.storage_url(), synchronous=synchronous)
    await store.open()
    bus = LocalBus()
    await bus.start()
    service = ChatService(config=config, store=store, bus=bus, bot=load_bot(None), secret="f" * 64)
    await service.coordinator.start()
    encoded = 0

    def subscriber(_topic: str, message: Mapping[str, Any]) -> None:
        nonlocal encoded
        p.dumps(message["frame"])  # what Outbox.send does before the writer task writes it
        encoded += 1

    agents: dict[str, AgentRecord] = {}
    for index in range(-(-pairs // CAPACITY)):
        agent = AgentRecord(f"floor{index}", f"Agent {index}", "agent", "-", capacity=CAPACITY)
        await store.add_agent(agent)
        service.assignments.agents[agent.agent_id] = agent
        agents[agent.agent_id] = agent
        await service.assignments.agent_connected(agent, "online")
        bus.subscribe(f"agent:{agent.agent_id}", subscriber)
    conversations = []
    for index in range(pairs):
        conv = await service.customers.start(locale="en", user_id=None, verified=False)
        await service.customers.request_human(conv.conversation_id, f"h{index}")
        conversations.append(conv.conversation_id)
        bus.subscribe(f"conv:{conv.conversation_id}", subscriber)
    await service.assignments.run_assignments()
    owner = {cid: agents[service.log.open[cid].agent_id or ""] for cid in conversations}
    max_text = config.limits.max_message_chars
    count, stop_at = 0, 0.0

    chinese = {cid: speaks_chinese(i) for i, cid in enumerate(conversations)}

    async def chain(conversation_id: str) -> None:
        nonlocal count
        agent, from_customer = owner[conversation_id], True
        zh = chinese[conversation_id]
        while time.perf_counter() < stop_at:
            count += 1
            cid = f"m{count}"
            if from_customer:
                raw = json.dumps({"type": "message", "cid": cid, "text": line(True, count, zh)})
                msg = p.decode_customer(raw, max_text=max_text)
                assert isinstance(msg, p.CustomerText)

                def ack(event: Event, _created: bool, ref: str = msg.cid) -> None:
                    p.dumps(p.frame_ack(ref, seq=event.seq))

                await service.customers.message(conversation_id, msg.cid, msg.text, on_stored=ack)
            else:
                frame = {"type": "message", "cid": cid, "conversation_id": conversation_id}
                raw = json.dumps({**frame, "text": line(False, count, zh)})
                reply = p.decode_agent(raw, max_text=max_text)
                assert isinstance(reply, p.AgentText)
                event = await service.desk.message(
                    agent, reply.conversation_id, reply.cid, reply.text
                )
                p.dumps(p.frame_ack(reply.cid, seq=event.seq))
            from_customer = not from_customer

    async def run(seconds: float) -> tuple[int, float, float]:
        nonlocal count, stop_at
        count = 0
        start, cpu = time.perf_counter(), time.process_time()
        stop_at = start + seconds
        await asyncio.gather(*(chain(c) for c in conversations for _ in range(window)))
        return count, time.perf_counter() - start, time.process_time() - cpu

    await run(1.0)  # warm-up: caches, the bot's first replies, SQLite pages
    messages, elapsed, cpu = await run(duration_s)
    await service.coordinator.stop()
    await bus.stop()
    await store.close()
    return {
        "synchronous": synchronous,
        "pairs": pairs,
        "window": window,
        "messages": messages,
        "msgs_per_s": round(messages / elapsed, 1),
        "cpu_us_per_msg": round(cpu * 1e6 / max(1, messages), 1),
        "frames_encoded": encoded,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/relay_floor.py", description=__doc__)
    parser.add_argument("--synchronous", choices=("full", "normal"), default="full")
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default=None)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    configure_logging("warning", "console")
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    install_loop(args.loop or default_loop())
    figures = asyncio.run(measure(args.synchronous, args.pairs, args.window, args.duration))
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"synchronous={figures['synchronous']}: {figures['msgs_per_s']:,.0f} msgs/s, "
            f"{figures['cpu_us_per_msg']} us CPU per message (no sockets)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
