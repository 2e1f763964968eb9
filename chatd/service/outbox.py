"""One writer per WebSocket: a bounded queue of outgoing frames drained by a single task.

Fan-out never awaits a socket: publishers call :meth:`Outbox.send`, which only appends. A client
that stops reading lets its queue fill up; at ``max_frames`` the outbox drops what it holds and
closes the socket with 4008 (slow consumer), so one stalled client cannot grow server memory or
delay anyone else. The client reconnects and resumes from its last seq, losing nothing.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from chatd.logs import get_logger
from chatd.protocol import dumps

__all__ = ["CLOSE_SLOW_CONSUMER", "Outbox"]

CLOSE_SLOW_CONSUMER = 4008
log = get_logger(__name__)


class Outbox:
    """Frames for one WebSocket, written in order by :meth:`run`."""

    __slots__ = ("_close", "_frames", "_wakeup", "closed", "max_frames", "ws")

    def __init__(self, ws: web.WebSocketResponse, max_frames: int) -> None:
        self.ws = ws
        self.max_frames = max_frames
        self._frames: collections.deque[str] = collections.deque()
        self._wakeup = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self.closed = False

    def send(self, frame: Mapping[str, Any]) -> bool:
        """Queue a frame; False when the outbox is closing (the frame is dropped)."""
        if self._close is not None or self.closed:
            return False
        if len(self._frames) >= self.max_frames:
            self._frames.clear()
            self.close(CLOSE_SLOW_CONSUMER, "slow consumer: resume from your last seq")
            return False
        self._frames.append(dumps(frame))
        self._wakeup.set()
        return True

    def close(self, code: int, message: str) -> None:
        """Close after the frames already queued (unless overflowing, which dropped them)."""
        if self._close is None:
            self._close = (code, message)
            self._wakeup.set()

    @property
    def pending(self) -> int:
        return len(self._frames)

    async def run(self) -> None:
        """Drain the queue into the socket until closed."""
        ws = self.ws
        try:
            while True:
                while self._frames:
                    if ws.closed:
                        return
                    await ws.send_str(self._frames.popleft())
                if self._close is not None:
                    code, message = self._close
                    await ws.close(code=code, message=message.encode()[:120])
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
        except (ConnectionError, RuntimeError):
            # The peer went away mid-write; the reader side notices and cleans up.
            return
        finally:
            self.closed = True
            self._frames.clear()
