"""Hostile frames against a real server process: every frame gets an error code or a documented
close, and the server and every other connection carry on."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatd import protocol as p
from chatd.client import AgentClient, CustomerClient
from tests.support.server import RunningServer, add_agent, start_server
from tests.support.sync import barrier

CONFIG = """
[limits]
messages_per_s = 10000.0
message_burst = 10000
connections_per_ip = 10000
tcp_connections_per_ip = 10000
ip_messages_per_s = 1000000.0
ip_message_burst = 1000000
new_conversations_per_ip = 1000000
violations_before_close = 1000000
"""
#: Close codes a hostile frame may legitimately cause (documented in PROTOCOL.md).
DOCUMENTED_CLOSES = {1007, 1009, 4029}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("fuzz"), config_text=CONFIG)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def agent_token(server: RunningServer) -> str:
    return add_agent(server.data_dir, "fuzz-agent", capacity=50)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
types = st.sampled_from(sorted({*p.CUSTOMER_MESSAGES, *p.AGENT_MESSAGES, "nope", "", "HELLO"}))
field_names = st.sampled_from(
    [
        "cid",
        "text",
        "intent",
        "active",
        "contact",
        "score",
        "comment",
        "conversation_id",
        "to_agent_id",
        "tags",
        "last_seq",
        "ticket_id",
        "query",
        "locale",
        "status",
        "token",
        "resume_token",
    ]
)
typed_frames = st.builds(
    lambda t, fields: json.dumps({"type": t, **fields}),
    types,
    st.dictionaries(field_names, json_values, max_size=5),
)
frames: st.SearchStrategy[str | bytes] = st.one_of(
    typed_frames,
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
    st.integers(min_value=10, max_value=5000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=10, max_value=2000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.just(json.dumps({"type": "message", "cid": "big", "text": "x" * 70000})),
    st.just(b"\xff\xfe\xfd not utf-8"),
)


async def _probe(client: Any, frame: str | bytes, decode: Any) -> None:
    """Send one hostile frame, then a sentinel: expect the right error (or a documented close).

    The sentinel is an unknown type with a fresh cid, answered by an error naming that cid, so
    answers to the hostile frame itself (a pong, an ack) cannot be mistaken for it.
    """
    expected: str | None = None
    if isinstance(frame, bytes):
        expected = "bad_frame"
    else:
        try:
            decode(frame)
        except p.ProtocolError as exc:
            expected = exc.code
    await client.send_raw(frame)
    if len(frame) > p.MAX_FRAME_BYTES:
        # The server closes at once; anything sent after could meet a reset socket.
        code, _ = await asyncio.wait_for(client.closed, 10)
        assert code == 1009
        return
    sentinel = uuid.uuid4().hex
    await client.send({"type": "probe", "cid": sentinel})
    try:
        await client.wait_for("error", ref=sentinel, timeout=10)
    except ConnectionError:
        code, _ = client.closed.result()
        assert code in DOCUMENTED_CLOSES, f"closed with {code} after {frame!r:.100}"
        return
    errors = client.drain("error")
    codes = [e["code"] for e in errors]
    if expected is not None:
        assert expected in codes, (frame, errors)
    assert "internal_error" not in codes, (frame, errors)
    assert all(code in p.ERROR_CODES for code in codes)


def _healthy(server: RunningServer) -> None:
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as resp:
        assert resp.status == 200
    assert server.proc.poll() is None


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(frames, min_size=1, max_size=6))
def test_customer_socket_survives_hostile_frames(server: RunningServer, batch: list[Any]) -> None:
    """Random, malformed, huge, binary, non-UTF-8 and deeply nested frames on the customer
    socket: errors with stable codes, or a documented close; a bystander keeps chatting."""

    async def run() -> None:
        bystander = await CustomerClient.connect(server.ws_url)
        client = await CustomerClient.connect(server.ws_url)
        for frame in batch:
            if client.closed.done():
                client = await CustomerClient.connect(server.ws_url)
            await _probe(client, frame, p.decode_customer)
        await bystander.say("are you still there?")
        assert (await bystander.wait_for("ack"))["seq"] > 0
        for c in (client, bystander):
            await c.close()

    asyncio.run(run())
    _healthy(server)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(frames, min_size=1, max_size=6))
def test_agent_socket_survives_hostile_frames(
    server: RunningServer, agent_token: str, batch: list[Any]
) -> None:
    """The same on the agent socket, including actions on conversations that are not theirs."""

    async def run() -> None:
        agent = await AgentClient.connect(server.ws_url, agent_token)
        for frame in batch:
            if agent.closed.done():
                agent = await AgentClient.connect(server.ws_url, agent_token)
            await _probe(agent, frame, p.decode_agent)
        await agent.close()

    asyncio.run(run())
    _healthy(server)


def test_other_peoples_conversations_are_forbidden(server: RunningServer, agent_token: str) -> None:
    """Well-formed actions on a conversation the agent does not hold are refused (forbidden)."""

    async def run() -> None:
        customer = await CustomerClient.connect(server.ws_url)
        agent = await AgentClient.connect(server.ws_url, agent_token, status="away")
        conv = customer.conversation_id
        for frame in (
            {"type": "message", "cid": "1", "conversation_id": conv, "text": "hi"},
            {"type": "note", "cid": "2", "conversation_id": conv, "text": "hi"},
            {"type": "tag", "cid": "3", "conversation_id": conv, "tags": ["x"]},
            {"type": "close", "cid": "4", "conversation_id": conv},
            {"type": "transfer", "cid": "5", "conversation_id": conv, "to_agent_id": None},
            {"type": "sync", "conversation_id": conv, "last_seq": 0},
            {"type": "typing", "conversation_id": conv, "active": True},
        ):
            await agent.send(frame)
            error = await agent.wait_for("error")
            assert error["code"] == "forbidden", frame
        await barrier(agent)
        assert not [f for f in agent.inbox if f.get("conversation_id") == conv and "seq" in f]
        for c in (customer, agent):
            await c.close()

    asyncio.run(run())


def test_oversized_frame_closes_1009(server: RunningServer) -> None:
    """A frame above the size limit closes the connection with 1009."""

    async def run() -> int | None:
        client = await CustomerClient.connect(server.ws_url)
        await client.send_raw(json.dumps({"type": "message", "cid": "x", "text": "y" * 100_000}))
        code, _ = await asyncio.wait_for(client.closed, 10)
        return code

    assert asyncio.run(run()) == 1009


def test_hello_is_required_first(server: RunningServer) -> None:
    """Anything before hello gets hello_required; an idle socket without hello is closed."""

    async def run() -> None:
        client = await CustomerClient.open(server.ws_url)
        await client.send({"type": "message", "cid": "a", "text": "hi"})
        assert (await client.wait_for("error"))["code"] == "hello_required"
        await client.close()
        async with websockets.connect(
            server.ws_url + "/ws/agent",
            subprotocols=["chatd.v1"],  # type: ignore[list-item]
        ) as ws:
            await ws.send(json.dumps({"type": "hello", "token": "ag_nope.nope"}))
            error = json.loads(await ws.recv())
            assert error["code"] == "not_authenticated"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    asyncio.run(run())


def test_invalid_utf8_text_frame_closes_1007(server: RunningServer) -> None:
    """A text frame that is not UTF-8 closes that connection with 1007; others carry on."""

    async def run() -> int | None:
        bystander = await CustomerClient.connect(server.ws_url)
        client = await CustomerClient.connect(server.ws_url)
        await client.ws.send(b"\xff\xfe{not utf-8}", text=True)
        code, _ = await asyncio.wait_for(client.closed, 10)
        await bystander.say("still here")
        assert (await bystander.wait_for("ack"))["seq"] > 0
        await bystander.close()
        return code

    assert asyncio.run(run()) == 1007
