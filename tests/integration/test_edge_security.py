"""The handshake and address checks of chatd.web.security, against a real server: what a refused
client is told and what the log says, subprotocol lists, forwarded-address chains behind a
trusted proxy (and not behind an untrusted one), who may read /metrics and with which header."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
import structlog
import websockets

from chatd.client import CustomerClient
from tests.support.harness import Harness


def refusal_of(exc: websockets.InvalidStatus) -> dict[str, Any]:
    """The JSON error of a refused handshake."""
    return dict(json.loads(exc.response.body)["error"])


class TestHandshakeRefusals:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {"server": {"allowed_origins": ["https://shop.example.com"]}}

    async def test_refused_origin_is_told_why_and_logged(self, chatd: Harness) -> None:
        """403 with code forbidden and a reason; the log names the origin, cut at 200 chars."""
        origin = "https://evil.example.net/" + "x" * 300
        with structlog.testing.capture_logs() as logs:
            with pytest.raises(websockets.InvalidStatus) as refused:
                await CustomerClient.connect(chatd.ws_url, origin=origin)
        assert refused.value.response.status_code == 403
        assert refusal_of(refused.value) == {
            "code": "forbidden",
            "message": "this origin may not open a chat connection",
        }
        lines = [entry for entry in logs if entry.get("event") == "origin_refused"]
        assert [line["origin"] for line in lines] == [origin[:200]]

    async def test_subprotocols_are_read_as_a_list(self, chatd: Harness) -> None:
        """chatd.v1 among several offered subprotocols is accepted wherever it stands; a
        handshake without it gets 400 invalid_field naming it."""
        for offered in (["chatd.v1", "x.other"], ["x.other", "chatd.v1"]):
            ws = await websockets.connect(
                chatd.ws_url + "/ws/customer",
                subprotocols=offered,  # type: ignore[arg-type]
            )
            assert ws.subprotocol == "chatd.v1"
            await ws.close()
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(
                chatd.ws_url + "/ws/customer",
                subprotocols=["x.other"],  # type: ignore[list-item]
            )
        assert refused.value.response.status_code == 400
        assert refusal_of(refused.value) == {
            "code": "invalid_field",
            "message": "offer the WebSocket subprotocol 'chatd.v1'",
        }


class TestAnyOrigin:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {"server": {"allowed_origins": ["*"]}}

    async def test_star_allows_every_origin(self, chatd: Harness) -> None:
        """allowed_origins = ["*"] lets any page open the widget's socket."""
        client = await CustomerClient.connect(chatd.ws_url, origin="https://anyone.example.org")
        await client.close()


class TestUntrustedPeer:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        # A proxy is trusted, but not the address the tests connect from.
        return {"server": {"trusted_proxies": ["192.0.2.1"]}, "limits": {"connections_per_ip": 2}}

    async def test_forwarded_header_of_an_untrusted_peer_is_ignored(self, chatd: Harness) -> None:
        """A client that is not a trusted proxy cannot pose as others with X-Forwarded-For."""
        clients = [
            await CustomerClient.connect(chatd.ws_url, additional_headers={"X-Forwarded-For": ip})
            for ip in ("198.51.100.1", "198.51.100.2")
        ]
        with pytest.raises(websockets.InvalidStatus) as refused:
            await CustomerClient.connect(
                chatd.ws_url, additional_headers={"X-Forwarded-For": "198.51.100.3"}
            )
        assert refused.value.response.status_code == 429
        for c in clients:
            await c.close()


class TestTrustedProxyChains:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {"server": {"trusted_proxies": ["127.0.0.1"]}, "limits": {"connections_per_ip": 2}}

    async def refused_third(self, chatd: Harness, values: list[str | None]) -> None:
        """The first two connections (with these X-Forwarded-For values) pass, the third is
        refused as the same client."""
        clients = []
        for value in values[:2]:
            headers = {} if value is None else {"X-Forwarded-For": value}
            clients.append(await CustomerClient.connect(chatd.ws_url, additional_headers=headers))
        headers = {} if values[2] is None else {"X-Forwarded-For": values[2]}
        with pytest.raises(websockets.InvalidStatus) as refused:
            await CustomerClient.connect(chatd.ws_url, additional_headers=headers)
        assert refused.value.response.status_code == 429, values
        for c in clients:
            await c.close()

    async def test_the_client_is_the_last_untrusted_hop(self, chatd: Harness) -> None:
        """In a chain (with or without spaces after the commas) the client is the hop the
        trusted proxy saw; what the client wrote left of it does not make it someone else."""
        await self.refused_third(
            chatd, ["198.51.100.1,203.0.113.5", "198.51.100.2, 203.0.113.5", "203.0.113.5"]
        )

    async def test_no_forwarded_header_counts_the_proxy(self, chatd: Harness) -> None:
        """A trusted proxy that forwards no address is counted as itself."""
        await self.refused_third(chatd, [None, None, None])

    async def test_a_forged_hop_is_cut_to_64_characters(self, chatd: Harness) -> None:
        """A long forged hop is truncated (memory per key stays bounded): values equal in their
        first 64 characters are one client."""
        stem = "f" * 64
        await self.refused_third(chatd, [stem + "1", stem + "2", stem + "3"])

    async def test_metrics_by_forwarded_address(self, chatd: Harness) -> None:
        """Behind the trusted proxy /metrics follows the forwarded address: loopback (also as an
        IPv4-mapped IPv6 address) may read it, anyone else or a malformed hop gets 403 with
        what would open it, never a 500."""
        async with aiohttp.ClientSession() as http:
            for hop, status in [
                ("127.0.0.1", 200),
                ("::ffff:127.0.0.1", 200),
                ("203.0.113.9", 403),
                ("::ffff:203.0.113.9", 403),
                ("not-an-address", 403),
            ]:
                headers = {"X-Forwarded-For": hop}
                async with http.get(f"{chatd.url}/metrics", headers=headers) as r:
                    assert r.status == status, hop
                    if status == 403:
                        assert (await r.json())["error"] == {
                            "code": "forbidden",
                            "message": "metrics are readable only from an address in "
                            "[metrics] allow",
                        }


class TestMetricsToken:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {"metrics": {"allow": [], "token": "scrape-0123456789abcdef"}}

    async def test_refusal_names_both_ways_in(self, chatd: Harness) -> None:
        """With a token configured, the 403 names the allow list and the Bearer header."""
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{chatd.url}/metrics") as r:
                assert r.status == 403
                assert (await r.json())["error"]["message"] == (
                    "metrics are readable only from an address in [metrics] allow or with "
                    "Authorization: Bearer <metrics token>"
                )


async def test_only_the_bearer_scheme_carries_a_token(chatd: Harness) -> None:
    """A staff token under another scheme (Basic) is not read as a token (401); extra spaces
    after "Bearer" are tolerated."""
    token = await chatd.add_agent("Bea", role="operator")
    async with aiohttp.ClientSession() as http:
        for header, status in [
            (f"Bearer {token}", 200),
            (f"Bearer  {token}", 200),
            (f"Basic {token}", 401),
            ("Bearer", 401),
            (f"bearer {token}", 200),
        ]:
            async with http.get(f"{chatd.url}/api/agents", headers={"Authorization": header}) as r:
                assert r.status == status, header
