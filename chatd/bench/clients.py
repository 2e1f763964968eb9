"""Lean `websockets` clients for load: one reader task per socket, frames handed to a callback.

:class:`chatd.client.ChatClient` keeps an inbox and wakes every waiter on every frame, which is
right for tests and too costly when one load process plays 10,000 customers: here each frame is
parsed once and given to the scenario's callback, which resolves whatever futures it tracks.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from chatd.protocol import SUBPROTOCOL

__all__ = ["Conn", "Frame", "Stopwatch", "percentile"]

Frame = dict[str, Any]
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Conn:
    """A WebSocket whose frames go to ``on_frame``; ``closed`` resolves when it ends."""

    __slots__ = ("closed", "on_frame", "reader", "ws")

    def __init__(self, ws: ClientConnection, on_frame: Callable[[Frame], None]) -> None:
        self.ws = ws
        self.on_frame = on_frame
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, ws_url: str, path: str, on_frame: Callable[[Frame], None]) -> Conn:
        """Connect (the handshake is bounded by 30 s) with chatd's subprotocol."""
        ws = await websockets.connect(
            ws_url + path,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            open_timeout=30,
            # The server pings (aiohttp heartbeat); 10,000 client pings would only add noise.
            ping_interval=None,
            max_size=2**22,
        )
        return cls(ws, on_frame)

    async def _read(self) -> None:
        on_frame = self.on_frame
        try:
            async for raw in self.ws:
                on_frame(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        finally:
            if not self.closed.done():
                self.closed.set_result(self.ws.close_code)

    async def send(self, frame: Frame) -> None:
        await self.ws.send(_dumps(frame))

    async def close(self) -> None:
        """Close with a handshake, bounded: a server that does not answer is aborted."""
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except (TimeoutError, OSError):
            self.abort()
        await asyncio.gather(self.reader, return_exceptions=True)

    def abort(self) -> None:
        """Drop the TCP connection at once (ending 10,000 idle sockets quickly)."""
        transport = self.ws.transport
        if transport is not None:
            transport.abort()


class Stopwatch:
    """Latency samples in milliseconds."""

    __slots__ = ("samples",)

    def __init__(self) -> None:
        self.samples: list[float] = []

    def add_since(self, start: float) -> None:
        self.samples.append((time.monotonic() - start) * 1000.0)

    def summary(self) -> dict[str, float | int | None]:
        s = sorted(self.samples)
        return {
            "count": len(s),
            "p50_ms": _round(percentile(s, 50)),
            "p90_ms": _round(percentile(s, 90)),
            "p99_ms": _round(percentile(s, 99)),
            "max_ms": _round(s[-1] if s else None),
        }


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when empty)."""
    if not sorted_values:
        return None
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
