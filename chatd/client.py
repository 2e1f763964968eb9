"""A small asyncio client for chatd over `websockets`: used by tests, `chatd bench` and scripts.

    async with CustomerClient.connect("ws://127.0.0.1:8080", locale="en") as customer:
        await customer.say("how do I reset my password")
        reply = await customer.wait_for("message", author="bot")

Frames arrive in a background reader into an inbox; ``wait_for`` takes the first frame that
matches (and remembers the others), so tests can wait for what they expect in any interleaving.
Conversation events are also kept in ``events`` by seq, which is what a resume is checked against.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import uuid
from collections.abc import Callable
from typing import Any, Self

import websockets
from websockets.asyncio.client import ClientConnection

from chatd.protocol import SUBPROTOCOL

__all__ = ["AgentClient", "ChatClient", "CustomerClient"]

Frame = dict[str, Any]


class ChatClient:
    """Common plumbing: connect, reader task, inbox, wait_for."""

    path = ""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.inbox: list[Frame] = []
        #: The last frames received, in order, never drained (tests check them against the
        #: schema); bounded so that a long-lived client does not grow without end.
        self.received: collections.deque[Frame] = collections.deque(maxlen=10_000)
        self.events: dict[int, Frame] = {}
        #: (conversation_id, seq) of every event in arrival order: duplicates and disorder show.
        self.arrivals: list[tuple[str, int]] = []
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())
        self.closed: asyncio.Future[tuple[int | None, str]] = (
            asyncio.get_running_loop().create_future()
        )

    @classmethod
    async def open(cls, base_url: str, *, origin: str | None = None, **kwargs: Any) -> Self:
        ws = await websockets.connect(
            base_url.rstrip("/") + cls.path,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            origin=origin,  # type: ignore[arg-type]
            max_size=2**22,
            open_timeout=10,
            **kwargs,
        )
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                self.received.append(frame)
                async with self._arrived:
                    if "seq" in frame and "conversation_id" in frame:
                        self.events[frame["seq"]] = frame
                        self.arrivals.append((frame["conversation_id"], frame["seq"]))
                    self.inbox.append(frame)
                    self._arrived.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            if not self.closed.done():
                self.closed.set_result((self.ws.close_code, self.ws.close_reason or ""))
            async with self._arrived:
                self._arrived.notify_all()

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def wait_for(
        self,
        type_: str | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - a test-friendly default deadline
        where: Callable[[Frame], bool] | None = None,
        **fields: Any,
    ) -> Frame:
        """Take (remove) the first inbox frame of ``type_`` whose fields match."""

        def match(frame: Frame) -> bool:
            if type_ is not None and frame.get("type") != type_:
                return False
            if any(frame.get(k) != v for k, v in fields.items()):
                return False
            return where is None or where(frame)

        async def take() -> Frame:
            async with self._arrived:
                while True:
                    for i, frame in enumerate(self.inbox):
                        if match(frame):
                            return self.inbox.pop(i)
                    if self.closed.done():
                        raise ConnectionError(f"closed {self.closed.result()} before {type_}")
                    await self._arrived.wait()

        try:
            return await asyncio.wait_for(take(), timeout)
        except TimeoutError:
            seen = [f.get("type") for f in self.inbox]
            last = self.inbox[-1] if self.inbox else None
            raise TimeoutError(
                f"no {type_} {fields} within {timeout}s; inbox: {seen}; last: {last}"
            ) from None

    def drain(self, type_: str | None = None) -> list[Frame]:
        """Remove and return every inbox frame (of a type)."""
        taken = [f for f in self.inbox if type_ is None or f.get("type") == type_]
        self.inbox = [f for f in self.inbox if not (type_ is None or f.get("type") == type_)]
        return taken

    @property
    def last_seq(self) -> int:
        return max(self.events, default=0)

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake (a network failure)."""
        transport = self.ws.transport
        transport.abort()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class CustomerClient(ChatClient):
    """The customer side (what the widget does)."""

    path = "/ws/customer"
    welcome: Frame

    @classmethod
    async def connect(
        cls,
        base_url: str,
        *,
        locale: str | None = "en",
        resume_token: str | None = None,
        last_seq: int | None = None,
        user_id: str | None = None,
        user_hash: str | None = None,
        origin: str | None = None,
        **open_kwargs: Any,
    ) -> Self:
        """Open the socket and say hello; ``open_kwargs`` go to ``websockets.connect``."""
        client = await cls.open(base_url, origin=origin, **open_kwargs)
        hello: Frame = {"type": "hello"}
        for key, value in (
            ("locale", locale),
            ("resume_token", resume_token),
            ("last_seq", last_seq),
            ("user_id", user_id),
            ("user_hash", user_hash),
        ):
            if value is not None:
                hello[key] = value
        await client.send(hello)
        client.welcome = await client.wait_for("welcome")
        return client

    @property
    def conversation_id(self) -> str:
        return str(self.welcome["conversation_id"])

    @property
    def resume_token(self) -> str:
        return str(self.welcome["resume_token"])

    async def say(self, text: str, *, cid: str | None = None, intent: str | None = None) -> str:
        """Send a chat message; returns its cid."""
        cid = cid or uuid.uuid4().hex
        frame: Frame = {"type": "message", "cid": cid, "text": text}
        if intent:
            frame["intent"] = intent
        await self.send(frame)
        return cid

    async def action(self, type_: str, **fields: Any) -> str:
        cid = uuid.uuid4().hex
        await self.send({"type": type_, "cid": cid, **fields})
        return cid


class AgentClient(ChatClient):
    """The agent console side."""

    path = "/ws/agent"
    welcome: Frame

    @classmethod
    async def connect(
        cls, base_url: str, token: str, *, status: str = "online", origin: str | None = None
    ) -> Self:
        client = await cls.open(base_url, origin=origin)
        await client.send({"type": "hello", "token": token, "status": status})
        client.welcome = await client.wait_for(where=lambda f: f["type"] in ("welcome", "error"))
        if client.welcome["type"] == "error":
            raise PermissionError(client.welcome["message"])
        return client

    async def reply(self, conversation_id: str, text: str, *, cid: str | None = None) -> str:
        cid = cid or uuid.uuid4().hex
        await self.send(
            {"type": "message", "cid": cid, "conversation_id": conversation_id, "text": text}
        )
        return cid

    async def action(self, type_: str, **fields: Any) -> str:
        cid = uuid.uuid4().hex
        await self.send({"type": type_, "cid": cid, **fields})
        return cid
