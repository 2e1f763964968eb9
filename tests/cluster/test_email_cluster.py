"""Replies by email in cluster mode: the customer on one node, the agent on another.

The address given through one node, a reply stored by another and the customer's connection on a
third place must still make one digest when the customer is away, and none while their chat is
open on a node other than the agent's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chatd.client import AgentClient, CustomerClient
from tests.cluster.conftest import add_agent, two_nodes
from tests.support.mail import Inbox, Smtp, until
from tests.support.server import RunningServer

NOTIFY_AFTER_S = 1.5


@pytest.fixture
def nodes(
    tmp_path: Path, postgres_server_url: str, redis_server_url: str, smtp: Smtp
) -> Iterator[list[RunningServer]]:
    email = (
        f'[server]\npublic_url = "https://chat.example.com"\n'
        f'[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\n'
        f'from_address = "support@example.com"\nmax_retry_interval_s = 0.5\n'
        f"notify_after_s = {NOTIFY_AFTER_S}\n"
    )
    with two_nodes(tmp_path, postgres_server_url, redis_server_url, email) as started:
        yield started


async def _followup(node: RunningServer, customer: CustomerClient, email: str) -> Any:
    url = f"{node.url}/api/conversations/{customer.conversation_id}/followup"
    headers = {"Authorization": f"Bearer {customer.resume_token}"}
    async with aiohttp.ClientSession() as http:
        async with http.put(url, json={"email": email}, headers=headers) as response:
            assert response.status == 200
            return await response.json()


async def test_a_digest_across_nodes_and_none_for_a_chat_open_on_another_node(
    nodes: list[RunningServer], smtp: Smtp, tmp_path: Path
) -> None:
    inbox = Inbox()
    await smtp.start(inbox)
    token = add_agent(tmp_path / "node1" / "config.toml", "Grace")
    agent = await AgentClient.connect(nodes[1].ws_url, token)
    customer = await CustomerClient.connect(nodes[0].ws_url)
    await customer.wait_for("message", author="bot")
    await customer.action("request_human")
    assigned = await agent.wait_for("chat_assigned")
    conversation_id = customer.conversation_id
    assert assigned["conversation"]["conversation_id"] == conversation_id
    await _followup(nodes[1], customer, "ann@example.org")  # given through the other node
    assert (await customer.wait_for("followup"))["email"] == "ann@example.org"
    ref = await agent.reply(conversation_id, "Shown live on node 1.")
    await agent.wait_for("ack", ref=ref)
    await customer.wait_for("message", author="agent")
    await asyncio.sleep(NOTIFY_AFTER_S + 1.5)
    assert inbox.accepted == []
    await customer.close()
    await asyncio.sleep(0.5)
    ref = await agent.reply(conversation_id, "Mailed from node 2.")
    await agent.wait_for("ack", ref=ref)
    await until(lambda: len(inbox.accepted) == 1, within=20)
    body = inbox.accepted[0].get_content()
    assert "Mailed from node 2." in body and "Shown live" not in body
    await asyncio.sleep(NOTIFY_AFTER_S + 1.0)
    assert len(inbox.accepted) == 1
    await agent.close()
