"""Delivering one conversation's events in seq order when several nodes publish them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from chatd.logs import get_logger

__all__ = ["SeqGate"]

log = get_logger(__name__)


class SeqGate:
    """Delivers one conversation's event frames in seq order, without gaps or duplicates.

    In cluster mode two nodes append to one conversation and each publishes its own events, so a
    customer's node may receive seq 11 (published locally) before seq 10 (from another node
    through Redis), or miss one while Redis was away. Every event is committed before it is
    published, and seqs are allocated under the conversation's row lock, so when seq ``n``
    arrives every event up to ``n`` is readable: on a gap the gate reads the missing ones from
    the store (``fetch_after``) and delivers them first. Customer frames skip internal events,
    so some gaps are only notes; the read then finds nothing more and costs one query.
    Frames without a seq (queue, typing) pass straight through.
    """

    def __init__(
        self,
        send: Callable[[Mapping[str, Any]], object],
        fetch_after: Callable[[int], Awaitable[list[dict]]],
        last_seq: int,
    ) -> None:
        self._send = send
        self._fetch_after = fetch_after
        self.last_seq = last_seq
        self._held: dict[int, Mapping[str, Any]] = {}
        self._filling: asyncio.Task[None] | None = None
        self.gaps_filled = 0

    def offer(self, frame: Mapping[str, Any]) -> None:
        """Take a live frame: deliver it now, drop it (seen) or hold it until the gap fills."""
        seq = frame.get("seq")
        if not isinstance(seq, int):
            self._send(frame)
            return
        if seq <= self.last_seq:
            return  # already delivered (from the backlog, a gap fill, or twice)
        if seq == self.last_seq + 1 and self._filling is None:
            self.last_seq = seq
            self._send(frame)
            return
        self._held[seq] = frame
        if self._filling is None:
            self._filling = asyncio.create_task(self._fill())

    async def _fill(self) -> None:
        try:
            while self._held:
                try:
                    for fetched in await self._fetch_after(self.last_seq):
                        if fetched["seq"] > self.last_seq:
                            self.last_seq = fetched["seq"]
                            self._send(fetched)
                except Exception:  # the store failed: deliver what we hold rather than stall
                    log.exception("seq_gap_fill_failed")
                self.gaps_filled += 1
                for seq in sorted(self._held):
                    frame = self._held.pop(seq)
                    if seq > self.last_seq:
                        self.last_seq = seq
                        self._send(frame)
        finally:
            self._filling = None
