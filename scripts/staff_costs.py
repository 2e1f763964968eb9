"""What staff sign-in and the retention sweep cost, on this machine (issue 18's figures).

    .venv/bin/python scripts/staff_costs.py                # 10,000 conversations, 20 sign-ins
    .venv/bin/python scripts/staff_costs.py --conversations 2000 --events 5

1. Sign-in: POST /api/login against a real chatd (SQLite), one at a time: latency p50/max,
   with the KDF's parameters (argon2id as chatd.passwords sets it).
2. Retention: a fresh SQLite store with N closed conversations of M events each; one sweep
   deletes them all. Reports wall and CPU time per 10,000 conversations and the event loop's
   longest stall while it ran (a 5 ms probe timer), which is what every chat on the node feels.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from chatd.config import RetentionConfig
from chatd.passwords import _HASHER, hash_password
from chatd.service.retention import DAY_S, Retention
from chatd.store import SQLiteStore
from chatd.store.base import AgentRecord, ConversationRecord, NewEvent

#: The repository, for tests.support.harness (a real server, as the tests start it).
ROOT = str(Path(__file__).resolve().parent.parent)


async def _sign_ins(count: int) -> dict[str, float]:
    sys.path.insert(0, ROOT)
    from tests.support.harness import Harness  # a real server on an ephemeral port

    with tempfile.TemporaryDirectory() as tmp:
        chatd = Harness(Path(tmp) / "data", {})
        await chatd.start()
        try:
            store = chatd.service.store
            await store.add_agent(AgentRecord("ag_x", "ana", "agent", ""))
            await store.accounts.set_password("ag_x", hash_password("a long password!"))
            times = []
            async with aiohttp.ClientSession() as http:
                for _ in range(count):
                    start = time.perf_counter()
                    body = {"name": "ana", "password": "a long password!"}
                    async with http.post(chatd.url + "/api/login", json=body) as r:
                        assert r.status == 200, await r.text()
                    times.append((time.perf_counter() - start) * 1000)
        finally:
            await chatd.stop()
    return {"p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


async def _probe(stalls: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.005)
        stalls.append(time.perf_counter() - start - 0.005)


async def _sweep(conversations: int, events: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "chatd.db", synchronous="FULL")
        await store.open()
        try:
            for i in range(conversations):
                cid = uuid.uuid4().hex
                await store.create_conversation(
                    ConversationRecord(conversation_id=cid, created_at=1.0, updated_at=1.0)
                )
                for j in range(events):
                    text = f"message {j} about my withdrawal that is still pending"
                    await store.append_event(
                        cid, NewEvent(kind="message", ts=2.0, author="customer", text=text)
                    )
                await store.update_conversation(cid, status="closed", closed_at=float(i))
            retention = Retention(
                store=store,
                config=RetentionConfig(closed_conversations_days=1),
                clock=lambda: 10 * DAY_S + conversations,
            )
            stalls: list[float] = []
            stop = asyncio.Event()
            probe = asyncio.create_task(_probe(stalls, stop))
            wall, cpu = time.perf_counter(), time.process_time()
            result = await retention.sweep_once()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            stop.set()
            await probe
        finally:
            await store.close()
    assert result.conversations == conversations, result
    per = 10_000 / conversations
    return {
        "conversations": conversations,
        "events_each": events,
        "wall_s_per_10k": round(wall * per, 2),
        "cpu_s_per_10k": round(cpu * per, 2),
        "loop_stall_max_ms": round(max(stalls, default=0.0) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--sign-ins", type=int, default=20)
    args = parser.parse_args()
    kdf = _HASHER
    print(
        f"argon2id: time_cost={kdf.time_cost}, memory_cost={kdf.memory_cost} KiB, "
        f"parallelism={kdf.parallelism}"
    )
    print("sign-in:", asyncio.run(_sign_ins(args.sign_ins)))
    print("retention sweep:", asyncio.run(_sweep(args.conversations, args.events)))


if __name__ == "__main__":
    main()
