"""Per-address connection slots of a real server are given back when a connection ends.

Two counts guard the edge: TCP connections per address at accept time (chatd.web.edge,
``[limits] tcp_connections_per_ip``) and open WebSockets per address (chatd.web.limits,
``[limits] connections_per_ip``). A slot that is not freed on disconnect locks an address out
for good after a few reconnects, so each test reconnects many times more than the limit.

The server frees a slot when it has noticed the close, a moment after the client has: the next
connection is retried for up to a few seconds (a slot never freed fails every retry).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import pytest
import websockets

from chatd.client import CustomerClient
from tests.support.harness import Harness

T = TypeVar("T")

#: How long a reconnect may be refused while the server notices the previous close.
FREED_WITHIN_S = 5.0


async def eventually(attempt: Callable[[], Awaitable[T]]) -> T:
    """``attempt()`` until it stops being refused for lack of a slot (at most FREED_WITHIN_S)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FREED_WITHIN_S
    while True:
        try:
            return await attempt()
        except (websockets.InvalidStatus, aiohttp.ClientError, OSError) as exc:
            if isinstance(exc, websockets.InvalidStatus):
                assert exc.response.status_code == 429, exc
            if loop.time() > deadline:
                raise AssertionError(f"no slot freed within {FREED_WITHIN_S} s: {exc!r}") from exc
            await asyncio.sleep(0.05)


class TestWebSocketSlots:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {"limits": {"connections_per_ip": 2}}

    async def test_closed_and_dropped_sockets_free_their_slots(self, chatd: Harness) -> None:
        """With two sockets per address, ten rounds of two chats each (closed cleanly, or
        dropped without a closing handshake) all connect; a third open socket is refused."""
        for round_ in range(10):
            pair = [await eventually(chatd.customer) for _ in range(2)]
            with pytest.raises(websockets.InvalidStatus) as refused:
                await CustomerClient.open(chatd.ws_url)
            assert refused.value.response.status_code == 429
            for client in pair:
                if round_ % 2:
                    client.abort()
                else:
                    await client.close()
        last = await eventually(chatd.customer)
        await last.close()


class TestTcpSlots:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {"limits": {"tcp_connections_per_ip": 3}}

    async def test_finished_http_connections_free_their_slots(self, chatd: Harness) -> None:
        """With three TCP connections per address, thirty requests on fresh connections are
        all answered, and so are WebSockets opened and closed after them."""

        async def health() -> int:
            connector = aiohttp.TCPConnector(force_close=True)
            async with aiohttp.ClientSession(connector=connector) as http:
                async with http.get(f"{chatd.url}/healthz") as response:
                    return response.status

        for _ in range(30):
            assert await eventually(health) == 200
        for _ in range(6):
            client = await eventually(chatd.customer)
            await client.close()
