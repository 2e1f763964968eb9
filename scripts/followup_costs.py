"""What replies by email cost on the message path, on this machine (issue 17's figures).

    .venv/bin/python scripts/followup_costs.py            # 2,000 of each, SQLite

With ``[email]`` on, chatd does this beyond what it did before (chatd/service/followups.py):

* each staff reply: one read of the conversation's address (``store.followups.address``);
* each customer ``hello``: the same read;
* only for a conversation whose customer left an address: the digest row, written in the
  reply's own transaction (``NewEvent.also``), and one delete per reply delivered live.

Each is timed here on a fresh SQLite store (``synchronous = full``, as shipped), beside what it
is added to in the same run: an event's append (the reply itself) and a conversation read. Times
are wall clock per operation, one at a time (p50 and the mean), so the ratios are what counts.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from chatd.store import SQLiteStore
from chatd.store.base import ConversationRecord, NewEvent
from chatd.store.followups import Followups


async def _timed(count: int, op: Callable[[int], Awaitable[object]]) -> dict[str, float]:
    times = []
    for i in range(count):
        start = time.perf_counter()
        await op(i)
        times.append(time.perf_counter() - start)
    return {"p50_us": statistics.median(times) * 1e6, "mean_us": statistics.fmean(times) * 1e6}


async def _measure(count: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "chatd.db")
        await store.open()
        try:
            now = time.time()
            ids = [f"c{i}" for i in range(count)]
            for cid in ids:
                await store.create_conversation(ConversationRecord(cid, now, now))
            for cid in ids[::2]:  # half of them left an address
                await store.followups.set(cid, "me@example.com", now=now)

            def reply(cid: str, digest: bool) -> NewEvent:
                also: tuple[tuple[str, tuple[object, ...]], ...] = ()
                if digest:
                    also = (
                        Followups.digest_with_event(
                            cid, "me@example.com", created_at=now, due_at=now + 300
                        ),
                    )
                return NewEvent(
                    kind="message",
                    ts=now,
                    author="agent",
                    text="Your deposit is credited.",
                    also=also,
                )

            out = {
                "conversation read (baseline)": await _timed(
                    count, lambda i: store.get_conversation(ids[i])
                ),
                "address read (each staff reply, each hello)": await _timed(
                    count, lambda i: store.followups.address(ids[i])
                ),
                "reply append (baseline)": await _timed(
                    count, lambda i: store.append_event(ids[i], reply(ids[i], False))
                ),
                "reply append with the digest row": await _timed(
                    count, lambda i: store.append_event(ids[i], reply(ids[i], True))
                ),
                "digest cancel (a reply delivered live)": await _timed(
                    count, lambda i: store.followups.cancel_digest(ids[i])
                ),
            }
            return out
        finally:
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    results = asyncio.run(_measure(args.count))
    print("| operation | p50 µs | mean µs |")
    print("| --- | --- | --- |")
    for name, r in results.items():
        print(f"| {name} | {r['p50_us']:.1f} | {r['mean_us']:.1f} |")


if __name__ == "__main__":
    main()
