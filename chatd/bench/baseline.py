"""``python -m chatd.bench.baseline``: the raw ceiling chatd is measured against.

A minimal aiohttp WebSocket server that does chatd's transport work and nothing else: accept the
same WebSockets (subprotocol ``chatd.v1``), parse every frame as JSON, answer with the same
frames (welcome and greeting, ack, the message echoed to its sender and relayed to the peer,
assigned/closed), and hand customers to agents first come, first served. No validation, no bot
(a canned reply), no redaction, no storage, no queue updates, no per-connection writer task.
The bench's load clients cannot tell it from chatd, so the same load runs against both.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiohttp import WSMsgType, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from chatd.bench.procs import LAG_PROBE_S, install_loop, raise_nofile
from chatd.service.metrics import Metrics, probe_event_loop_lag

__all__ = ["main", "make_baseline_app"]

Frame = dict[str, Any]
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_CANNED = "This is the baseline's canned answer: no bot ran."


class Room:
    """One conversation: the customer socket, its agent's socket, the last seq."""

    __slots__ = ("agent", "customer", "id", "seq")

    def __init__(self, room_id: str, customer: web.WebSocketResponse) -> None:
        self.id = room_id
        self.customer = customer
        self.agent: Agent | None = None
        self.seq = 0

    def event(self, kind: str, author: str, **extra: Any) -> str:
        self.seq += 1
        frame = {"type": kind, "conversation_id": self.id, "seq": self.seq, "ts": time.time()}
        frame["author"] = author
        frame.update(extra)
        return _dumps(frame)


class Agent:
    """One agent socket and the rooms it holds."""

    __slots__ = ("rooms", "ws")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.rooms: set[str] = set()


class Relay:
    """All rooms and agents of the process; first come, first served assignment."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.rooms: dict[str, Room] = {}
        self.agents: list[Agent] = []
        self.waiting: collections.deque[Room] = collections.deque()
        self.ids = itertools.count(1)

    async def assign(self) -> None:
        while self.waiting:
            free = [a for a in self.agents if len(a.rooms) < self.capacity and not a.ws.closed]
            if not free:
                return
            agent = min(free, key=lambda a: len(a.rooms))
            room = self.waiting.popleft()
            if room.customer.closed:
                continue
            room.agent = agent
            agent.rooms.add(room.id)
            await room.customer.send_str(room.event("assigned", "system", author_name="agent"))
            summary = {"conversation_id": room.id, "status": "assigned"}
            await agent.ws.send_str(
                _dumps({"type": "chat_assigned", "conversation": summary, "events": []})
            )

    async def close_room(self, room: Room, by: str) -> None:
        closed = room.event("closed", by, data={"by": by})
        if not room.customer.closed:
            await room.customer.send_str(closed)
        agent = room.agent
        if agent is not None:
            agent.rooms.discard(room.id)
            await agent.ws.send_str(closed)
            unassigned = {"type": "unassigned", "conversation_id": room.id, "reason": "closed"}
            await agent.ws.send_str(_dumps(unassigned))
        self.rooms.pop(room.id, None)
        await self.assign()


async def _prepare(request: web.Request, *, compress: bool) -> web.WebSocketResponse:
    # The same transport settings as chatd: customers uncompressed, agents with permessage-deflate.
    ws = web.WebSocketResponse(protocols=("chatd.v1",), heartbeat=30.0, compress=compress)
    await ws.prepare(request)
    return ws


async def customer_ws(request: web.Request) -> web.StreamResponse:
    """The customer side: hello, message, request_human, close, ping."""
    relay: Relay = request.app[RELAY]
    ws = await _prepare(request, compress=False)
    room: Room | None = None
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            continue
        frame = json.loads(msg.data)
        kind = frame.get("type")
        if room is None:
            room = Room(f"b{next(relay.ids):08d}", ws)
            relay.rooms[room.id] = room
            welcome = {"type": "welcome", "conversation_id": room.id, "status": "bot"}
            await ws.send_str(_dumps({**welcome, "resume_token": "", "resumed": False}))
            await ws.send_str(room.event("message", "bot", text="Hi! Ask me anything."))
        elif kind == "message":
            event = room.event("message", "customer", cid=frame["cid"], text=frame["text"])
            await ws.send_str(_dumps({"type": "ack", "ref": frame["cid"], "seq": room.seq}))
            await ws.send_str(event)
            if room.agent is not None:
                await room.agent.ws.send_str(event)
            elif room not in relay.waiting:
                await ws.send_str(room.event("message", "bot", text=_CANNED))
        elif kind == "request_human":
            await ws.send_str(_dumps({"type": "ack", "ref": frame["cid"]}))
            if room.agent is None and room not in relay.waiting:
                await ws.send_str(room.event("queued", "system", data={"priority": "normal"}))
                relay.waiting.append(room)
                await relay.assign()
        elif kind == "close":
            await ws.send_str(_dumps({"type": "ack", "ref": frame["cid"]}))
            await relay.close_room(room, "customer")
        elif kind == "ping":
            await ws.send_str('{"type":"pong"}')
    if room is not None:
        relay.rooms.pop(room.id, None)
    return ws


async def agent_ws(request: web.Request) -> web.StreamResponse:
    """The agent side: hello, message, close, ping."""
    relay: Relay = request.app[RELAY]
    ws = await _prepare(request, compress=True)
    agent: Agent | None = None
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            kind = frame.get("type")
            if agent is None:
                agent = Agent(ws)
                relay.agents.append(agent)
                await ws.send_str(_dumps({"type": "welcome", "agent": {}, "conversations": []}))
                await relay.assign()
                continue
            room = relay.rooms.get(frame.get("conversation_id", ""))
            if kind == "message" and room is not None:
                event = room.event(
                    "message", "agent", author_name="agent", cid=frame["cid"], text=frame["text"]
                )
                await ws.send_str(_dumps({"type": "ack", "ref": frame["cid"], "seq": room.seq}))
                await ws.send_str(event)
                if not room.customer.closed:
                    await room.customer.send_str(event)
            elif kind == "close" and room is not None:
                await ws.send_str(_dumps({"type": "ack", "ref": frame["cid"]}))
                await relay.close_room(room, "agent")
            elif kind == "ping":
                await ws.send_str('{"type":"pong"}')
    finally:
        if agent is not None:
            relay.agents.remove(agent)
    return ws


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


RELAY = web.AppKey("relay", Relay)
METRICS = web.AppKey("metrics", Metrics)


async def _lag_probe(app: web.Application) -> AsyncIterator[None]:
    # The same probe as chatd's, so the two lag figures are comparable.
    task = asyncio.create_task(probe_event_loop_lag(app[METRICS].event_loop_lag, LAG_PROBE_S))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def make_baseline_app(agent_capacity: int) -> web.Application:
    """The baseline application."""
    app = web.Application()
    app[RELAY] = Relay(agent_capacity)
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(_lag_probe)
    app.router.add_get("/ws/customer", customer_ws)
    app.router.add_get("/ws/agent", agent_ws)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Run the baseline on 127.0.0.1 until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m chatd.bench.baseline")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--agent-capacity", type=int, default=3)
    args = parser.parse_args(argv)
    raise_nofile()
    install_loop(args.loop)
    app = make_baseline_app(args.agent_capacity)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
