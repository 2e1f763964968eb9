"""One writer per WebSocket: a bounded queue of outgoing frames drained by a single task.

Fan-out never awaits a socket: publishers call :meth:`Outbox.send`, which only appends. A client
that stops reading lets its queue fill up; at ``max_frames`` the outbox drops what it holds and
closes the socket with 4008 (slow consumer), so one stalled client cannot grow server memory or
delay anyone else. The client reconnects and resumes from its last seq, losing nothing.

Memory per connection is bounded by ``max_frames`` queued frames plus aiohttp's write buffer (the
writer awaits drain after each frame). A client that reads nothing at all cannot even receive the
close frame; after ``CLOSE_TIMEOUT_S`` its transport is aborted.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from chatd.logs import get_logger
from chatd.protocol import dumps

__all__ = ["CLOSE_SLOW_CONSUMER", "Outbox"]

CLOSE_SLOW_CONSUMER = 4008
#: How long a closing handshake may take before the connection is cut.
CLOSE_TIMEOUT_S = 5.0
log = get_logger(__name__)


class Outbox:
    """Frames for one WebSocket, written in order by :meth:`run`."""

    __slots__ = (
        "_close",
        "_frames",
        "_room",
        "_room_for",
        "_task",
        "_wakeup",
        "closed",
        "log_context",
        "max_frames",
        "transport",
        "ws",
    )

    def __init__(
        self,
        ws: web.WebSocketResponse,
        max_frames: int,
        transport: asyncio.Transport | None = None,
    ) -> None:
        self.ws = ws
        #: Aborted when even the closing handshake cannot get through.
        self.transport = transport
        self.max_frames = max_frames
        self._frames: collections.deque[str] = collections.deque()
        self._wakeup = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._task: asyncio.Task[None] | None = None
        self.closed = False
        #: Set by :meth:`wait_for_room` while a replay waits for the client to read.
        self._room: asyncio.Future[None] | None = None
        self._room_for = 0
        #: Who this socket belongs to (conn_id, role, conversation_id / agent_id), for log lines
        #: written from another connection's task: a publisher overflowing this outbox must log
        #: this connection, not itself.
        self.log_context: dict[str, Any] = {}

    def start(self) -> asyncio.Task[None]:
        """Start the writer task (once)."""
        self._task = asyncio.create_task(self.run())
        return self._task

    def send(self, frame: Mapping[str, Any]) -> bool:
        """Queue a frame; False when the outbox is closing (the frame is dropped)."""
        if self._close is not None or self.closed:
            return False
        if len(self._frames) >= self.max_frames:
            self._frames.clear()
            # An empty context: the caller's bound variables (another connection's) stay out.
            contextvars.Context().run(
                log.warning, "slow_consumer", queued=self.max_frames, **self.log_context
            )
            self.close(CLOSE_SLOW_CONSUMER, "slow consumer: resume from your last seq")
            # The writer is stuck waiting for the peer to read; stop it so the close can proceed.
            if self._task is not None and not self._task.done():
                self._task.cancel()
            return False
        self._frames.append(dumps(frame))
        self._wakeup.set()
        return True

    def close(self, code: int, message: str) -> None:
        """Close after the frames already queued (unless overflowing, which dropped them)."""
        if self._close is None:
            self._close = (code, message)
            self._wakeup.set()
            self._wake_room()

    @property
    def pending(self) -> int:
        return len(self._frames)

    async def wait_for_room(self, frames: int, stall_s: float) -> bool:
        """Wait until ``frames`` more frames fit without overflowing (flow control for replays).

        False when the outbox closed meanwhile or the client read nothing for ``stall_s``
        seconds; the caller then stops (the client resumes from the last seq it got).
        """
        frames = min(frames, self.max_frames)
        while len(self._frames) + frames > self.max_frames:
            if self._close is not None or self.closed:
                return False
            self._room = asyncio.get_running_loop().create_future()
            self._room_for = frames
            try:
                await asyncio.wait_for(asyncio.shield(self._room), stall_s)
            except TimeoutError:
                return False
            finally:
                self._room = None
        return self._close is None and not self.closed

    def _wake_room(self) -> None:
        room = self._room
        if room is not None and not room.done():
            room.set_result(None)

    async def run(self) -> None:
        """Drain the queue into the socket until closed, then send the close frame."""
        try:
            if await self._drain():
                await self._send_close()
        finally:
            self.closed = True
            self._frames.clear()
            self._wake_room()

    async def _drain(self) -> bool:
        """Write frames until a close is requested (True) or the peer is gone (False)."""
        ws = self.ws
        try:
            while True:
                while self._frames:
                    if ws.closed:
                        return False
                    frame = self._frames.popleft()
                    try:
                        await ws.send_str(frame)
                    except UnicodeEncodeError:
                        # A lone surrogate that got past decoding: drop the frame, keep the
                        # connection (the writer dying would silently stall this client).
                        contextvars.Context().run(
                            log.error, "frame_not_encodable", **self.log_context
                        )
                    if self._room is not None and (
                        len(self._frames) + self._room_for <= self.max_frames
                    ):
                        self._wake_room()
                if self._close is not None:
                    return True
                self._wakeup.clear()
                await self._wakeup.wait()
        except asyncio.CancelledError:
            if self._close is None:
                raise
            return True  # cancelled by send() on overflow: go on to close
        except (ConnectionError, RuntimeError):
            # The peer went away mid-write; the reader side notices and cleans up.
            return False

    async def _send_close(self) -> None:
        assert self._close is not None
        code, message = self._close
        try:
            await asyncio.wait_for(ws_close(self.ws, code, message), CLOSE_TIMEOUT_S)
        except (TimeoutError, ConnectionError, RuntimeError):
            if self.transport is not None:
                self.transport.abort()


async def ws_close(ws: web.WebSocketResponse, code: int, message: str) -> None:
    """Close with a code and a short reason (the reason must fit in a control frame)."""
    with contextlib.suppress(ConnectionError):
        await ws.close(code=code, message=message.encode()[:120])
