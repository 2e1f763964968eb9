"""Three chatd nodes on one PostgreSQL and one Redis: conversations across nodes and node deaths."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from chatd.client import AgentClient, ChatClient, CustomerClient
from tests.cluster.conftest import GRACE_S, LEASE_S, PRESENCE_S, Cluster

pytestmark = pytest.mark.cluster


@contextlib.asynccontextmanager
async def closing(*clients: ChatClient) -> AsyncIterator[list[ChatClient]]:
    """Close every client at the end (an unclosed socket is an error under filterwarnings)."""
    opened = list(clients)
    try:
        yield opened
    finally:
        for client in opened:
            with contextlib.suppress(Exception):
                await client.close()


async def store_rows(cluster: Cluster, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Query the cluster's database directly: the truth the invariants are checked against."""
    conn = await asyncpg.connect(cluster.postgres_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def message_texts(client: ChatClient, conversation_id: str) -> list[str]:
    """Message texts of one conversation, in seq order, as the client recorded them."""
    return [
        f["text"]
        for _seq, f in sorted(client.events.items())
        if f.get("conversation_id") == conversation_id and f["type"] == "message" and f["text"]
    ]


async def test_messages_flow_in_order_across_nodes(cluster: Cluster) -> None:
    """Customer on node 1, agent on node 2: every message arrives, in seq order, both ways."""
    token = cluster.add_agent("Alice")
    n1, n2, _ = cluster.nodes
    agent = await AgentClient.connect(n2.ws_url, token)
    customer = await CustomerClient.connect(n1.ws_url)
    async with closing(agent, customer):
        await customer.action("request_human")
        assigned = await agent.wait_for("chat_assigned")
        conv = assigned["conversation"]["conversation_id"]
        assert conv == customer.conversation_id
        latencies = []
        for i in range(20):
            started = time.perf_counter()
            await customer.say(f"c{i}")
            await agent.wait_for("message", text=f"c{i}")
            latencies.append(time.perf_counter() - started)
            started = time.perf_counter()
            await agent.reply(conv, f"a{i}")
            await customer.wait_for("message", text=f"a{i}")
            latencies.append(time.perf_counter() - started)
        # Both sides writing at once: seqs interleave across nodes, nothing is lost.
        for i in range(20):
            await customer.say(f"burst-c{i}")
            await agent.reply(conv, f"burst-a{i}")
        # Each side waits for the last message of both writers: its own echo may come after
        # the other side's last message (seqs interleave), and the comparison needs both.
        for client in (customer, agent):
            for text in ("burst-a19", "burst-c19"):
                await client.wait_for("message", text=text)
        stored = [
            r["text"]
            for r in await store_rows(
                cluster,
                "SELECT text FROM events WHERE conversation_id = $1 AND kind = 'message' "
                "AND author IN ('customer', 'agent') ORDER BY seq",
                conv,
            )
        ]
        assert len(stored) == 80
        assert [t for t in message_texts(customer, conv) if t in stored] == stored
        assert [t for t in message_texts(agent, conv) if t in stored] == stored
        # The customer's frames arrived in seq order (the node re-orders across publishers).
        # (``events`` keeps first-arrival order: a dict keyed by seq.)
        assert list(customer.events) == sorted(customer.events)
        p50 = statistics.median(latencies) * 1000
        print(f"cross-node message latency: p50 {p50:.1f} ms, max {max(latencies) * 1000:.1f} ms")


async def test_closed_on_one_node_refuses_messages_on_another(cluster: Cluster) -> None:
    """The agent closes the chat on node 2: the customer's next message on node 1 is refused
    (invalid_state) and stored nowhere, a retry of an acknowledged one is acknowledged again as
    a duplicate, and the agent can no longer write to it (forbidden)."""
    token = cluster.add_agent("Frank")
    n1, n2, _ = cluster.nodes
    agent = await AgentClient.connect(n2.ws_url, token)
    customer = await CustomerClient.connect(n1.ws_url)
    async with closing(agent, customer):
        await customer.action("request_human")
        conv = (await agent.wait_for("chat_assigned"))["conversation"]["conversation_id"]
        sent = await customer.say("before the close")
        first_ack = await customer.wait_for("ack", ref=sent)
        await agent.wait_for("message", text="before the close")
        await agent.action("close", conversation_id=conv)
        await customer.wait_for("closed")
        late = await customer.say("after the close")
        refused = await customer.wait_for("error", ref=late)
        assert refused["code"] == "invalid_state"
        await customer.say("before the close", cid=sent)
        again = await customer.wait_for("ack", ref=sent)
        assert again["seq"] == first_ack["seq"] and again.get("duplicate") is True
        reply = await agent.reply(conv, "after the close")
        assert (await agent.wait_for("error", ref=reply))["code"] == "forbidden"
        rows = await store_rows(
            cluster,
            "SELECT text FROM events WHERE conversation_id = $1 AND text LIKE $2",
            conv,
            "after%",
        )
        assert rows == []


async def test_positions_agree_across_nodes(cluster: Cluster) -> None:
    """Waiting customers on three nodes see positions 1, 2, 3, and move up together."""
    token = cluster.add_agent("Bob", capacity=1)
    customers = []
    async with closing() as opened:
        for node in cluster.nodes:
            c = await CustomerClient.connect(node.ws_url)
            opened.append(c)
            await c.action("request_human")
            await c.wait_for("queued")
            customers.append(c)
        for expected, c in enumerate(customers, start=1):
            await c.wait_for("queue", where=lambda f, e=expected: f["position"] == e)
        agent = await AgentClient.connect(cluster.nodes[1].ws_url, token)
        opened.append(agent)
        assigned = await agent.wait_for("chat_assigned")
        assert assigned["conversation"]["conversation_id"] == customers[0].conversation_id
        await customers[1].wait_for("queue", where=lambda f: f["position"] == 1)
        await customers[2].wait_for("queue", where=lambda f: f["position"] == 2)


async def test_customer_node_killed_resumes_on_another_node(cluster: Cluster) -> None:
    """kill -9 of the customer's node: they resume on node 3 with nothing lost or repeated."""
    token = cluster.add_agent("Carol")
    n1, n2, n3 = cluster.nodes
    agent = await AgentClient.connect(n2.ws_url, token)
    customer = await CustomerClient.connect(n1.ws_url)
    async with closing(agent, customer) as opened:
        await customer.action("request_human")
        conv = (await agent.wait_for("chat_assigned"))["conversation"]["conversation_id"]
        for i in range(5):
            await customer.say(f"before {i}")
            await agent.reply(conv, f"reply {i}")
        await customer.wait_for("message", text="reply 4")
        last_seq, resume = customer.last_seq, customer.resume_token
        n1.kill()
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(customer.closed, 5)
        # The agent keeps writing while the customer is away.
        for i in range(3):
            await agent.reply(conv, f"while away {i}")
        back = await CustomerClient.connect(n3.ws_url, resume_token=resume, last_seq=last_seq)
        opened.append(back)
        assert back.welcome["resumed"] and back.welcome["status"] == "assigned"
        for i in range(3):
            await back.wait_for("message", text=f"while away {i}")
        assert min(back.events) == last_seq + 1  # exactly what was missed, nothing repeated
        await back.say("after resume")
        await agent.wait_for("message", text="after resume")
        stored = await store_rows(
            cluster, "SELECT seq FROM events WHERE conversation_id = $1 ORDER BY seq", conv
        )
        assert [r["seq"] for r in stored] == list(range(1, len(stored) + 1))


async def test_agent_node_dies_chats_requeue_and_move_to_another_node(cluster: Cluster) -> None:
    """The agent's node dies: after presence expiry and grace, the chats return to the queue
    ahead of later customers and go to an agent on another node."""
    first = cluster.add_agent("Dave", capacity=2)
    second = cluster.add_agent("Erin", capacity=2)
    n1, n2, n3 = cluster.nodes
    dave = await AgentClient.connect(n2.ws_url, first)
    erin = await AgentClient.connect(n3.ws_url, second, status="away")
    async with closing(dave, erin) as opened:
        held = []
        for node in (n1, n3):
            c = await CustomerClient.connect(node.ws_url)
            opened.append(c)
            await c.action("request_human")
            await dave.wait_for("chat_assigned", timeout=10)
            held.append(c)
        later = await CustomerClient.connect(n1.ws_url)
        opened.append(later)
        await later.action("request_human")
        await later.wait_for("queue", where=lambda f: f["position"] == 1)
        killed_at = time.monotonic()
        n2.kill()
        for c in held:
            requeued = await c.wait_for("requeued", timeout=PRESENCE_S + GRACE_S + 2 * LEASE_S + 5)
            assert requeued["data"]["reason"] == "agent_disconnected"
        took = time.monotonic() - killed_at
        await held[0].wait_for("queue", where=lambda f: f["position"] == 1)
        await held[1].wait_for("queue", where=lambda f: f["position"] == 2)
        await later.wait_for("queue", where=lambda f: f["position"] == 3)
        await erin.action("set_status", status="online")
        got = {(await erin.wait_for("chat_assigned"))["conversation"]["conversation_id"]}
        got.add((await erin.wait_for("chat_assigned"))["conversation"]["conversation_id"])
        assert got == {c.conversation_id for c in held}
        await later.wait_for("queue", where=lambda f: f["position"] == 1)
        print(f"node death to requeue: {took:.1f} s")


async def test_race_never_double_assigned_never_over_capacity(cluster: Cluster) -> None:
    """Many customers and agents connecting at once on three nodes: one agent per chat at most,
    no agent over capacity, in the store and in the frames agents received."""
    capacity = 2
    tokens = [cluster.add_agent(f"Racer{i}", capacity=capacity) for i in range(6)]
    nodes = cluster.nodes
    async with closing() as opened:

        async def customer(i: int) -> CustomerClient:
            c = await CustomerClient.connect(nodes[i % 3].ws_url)
            opened.append(c)
            await c.action("request_human")
            return c

        async def agent(i: int) -> AgentClient:
            a = await AgentClient.connect(nodes[(i + 1) % 3].ws_url, tokens[i])
            opened.append(a)
            return a

        results = await asyncio.gather(
            *(customer(i) for i in range(24)), *(agent(i) for i in range(6))
        )
        agents = [r for r in results if isinstance(r, AgentClient)]
        total = capacity * len(agents)

        async def settled() -> list[asyncpg.Record]:
            while True:
                rows = await store_rows(
                    cluster,
                    "SELECT conversation_id, agent_id FROM conversations WHERE status = 'assigned'",
                )
                if len(rows) >= total:
                    return rows
                await asyncio.sleep(0.2)

        rows = await asyncio.wait_for(settled(), 20)
        await asyncio.sleep(1.0)  # let any (wrong) late assignment land before checking
        rows = await store_rows(
            cluster, "SELECT conversation_id, agent_id FROM conversations WHERE status = 'assigned'"
        )
        per_agent: dict[str, int] = {}
        for row in rows:
            per_agent[row["agent_id"]] = per_agent.get(row["agent_id"], 0) + 1
        assert len(rows) == total
        assert all(n <= capacity for n in per_agent.values()), per_agent
        seen: dict[str, str] = {}
        for a in agents:
            mine = [f["conversation"]["conversation_id"] for f in a.drain("chat_assigned")]
            assert len(mine) <= capacity
            for conversation_id in mine:
                assert conversation_id not in seen, "two agents were given one chat"
                seen[conversation_id] = a.welcome["agent"]["agent_id"]
        assert seen == {r["conversation_id"]: r["agent_id"] for r in rows}
