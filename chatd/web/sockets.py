"""What every chatd WebSocket shares: handshake checks, per-IP accounting, the writer, teardown.

The customer and agent endpoints differ only in the session they run on the prepared socket;
everything around it (origin and subprotocol checks, connections per IP, the bounded Outbox and
its writer task, metrics, log context, closing) lives here once.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from chatd import protocol as p
from chatd.service.outbox import Outbox
from chatd.web.keys import CONFIG, LIMITS, METRICS, SOCKETS
from chatd.web.security import client_ip, refuse, websocket_refusal

__all__ = ["Session", "bind", "serve_socket"]

#: Runs one connection on a prepared socket; returns when the client is gone.
Session = Callable[[web.WebSocketResponse, Outbox], Awaitable[None]]
#: Seconds the writer may take to flush and close after the session ended.
WRITER_DRAIN_S = 5.0


async def serve_socket(
    request: web.Request,
    *,
    role: str,
    outbox_frames: int,
    compress: bool,
    session: Session,
) -> web.StreamResponse:
    """Check the handshake, prepare the socket, run ``session``, then tear everything down."""
    app = request.app
    config = app[CONFIG]
    refusal = websocket_refusal(request, config)
    if refusal is not None:
        return refusal
    limits = app[LIMITS]
    ip = client_ip(request)
    if not limits.acquire(ip):
        return refuse(429, "rate_limited", "too many connections from your address")
    ws = web.WebSocketResponse(
        protocols=(p.SUBPROTOCOL,),
        heartbeat=30.0,
        # aiohttp refuses a message of max_msg_size bytes or more; PROTOCOL.md promises that a
        # frame of exactly max_frame_bytes is accepted.
        max_msg_size=config.limits.max_frame_bytes + 1,
        compress=compress,
    )
    metrics = app[METRICS]
    try:
        await ws.prepare(request)
        app[SOCKETS].add(ws)
        outbox = Outbox(ws, outbox_frames, request.transport)
        writer = outbox.start()
        bind(outbox, conn_id=uuid.uuid4().hex[:12], role=role)
        metrics.connections.labels(role).inc()
        try:
            await session(ws, outbox)
        finally:
            metrics.connections.labels(role).dec()
            outbox.close(1000, "bye")  # no-op when a close code is set or the socket closed
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(writer, WRITER_DRAIN_S)
            if not writer.done():
                writer.cancel()
            structlog.contextvars.clear_contextvars()
    finally:
        limits.release(ip)
    return ws


def bind(outbox: Outbox, **context: str) -> None:
    """Name the connection in its log lines: its own task's and its outbox's (written by others)."""
    structlog.contextvars.bind_contextvars(**context)
    outbox.log_context.update(context)
