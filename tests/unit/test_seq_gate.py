"""SeqGate: a cluster node puts a conversation's events from several publishers in seq order."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from chatd.service.seqgate import SeqGate


def _frame(seq: int) -> dict[str, Any]:
    return {"type": "message", "seq": seq, "conversation_id": "c"}


def test_in_order_frames_pass_and_duplicates_drop() -> None:
    """Consecutive seqs are delivered at once; a seq already delivered is dropped."""
    sent: list[Mapping[str, Any]] = []

    async def never(_after: int) -> list[dict]:
        raise AssertionError("no gap, no store read")

    gate = SeqGate(sent.append, never, 3)
    for seq in (4, 5, 5, 2):
        gate.offer(_frame(seq))
    gate.offer({"type": "queue", "position": 1})
    assert [f.get("seq") for f in sent] == [4, 5, None]


async def test_gap_is_filled_from_the_store_in_order() -> None:
    """Seq 7 before 6: 6 is read from the store, then 7 follows; the late 6 is dropped."""
    sent: list[Mapping[str, Any]] = []
    reads: list[int] = []

    async def fetch_after(after: int) -> list[dict]:
        reads.append(after)
        await asyncio.sleep(0)
        return [_frame(6), _frame(7)]

    gate = SeqGate(sent.append, fetch_after, 5)
    gate.offer(_frame(7))
    gate.offer(_frame(8))  # arrives while the gap is being filled: held, then delivered
    assert sent == []
    assert gate._filling is not None
    await gate._filling
    gate.offer(_frame(6))
    gate.offer(_frame(9))
    assert [f["seq"] for f in sent] == [6, 7, 8, 9]
    assert reads == [5]
