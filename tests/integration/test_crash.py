"""kill -9 of the server in the middle of a busy conversation and a waiting queue."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from chatd.client import AgentClient, CustomerClient
from tests.support.server import RunningServer, add_agent, start_server

CONFIG = """
[limits]
messages_per_s = 1000.0
message_burst = 1000
ip_messages_per_s = 1000000.0
ip_message_burst = 1000000
[queue]
update_interval_s = 0.2
agent_grace_s = 30.0
"""


async def _before_crash(server: RunningServer, token: str) -> dict:
    agent = await AgentClient.connect(server.ws_url, token)
    talker = await CustomerClient.connect(server.ws_url)
    await talker.action("request_human")
    await agent.wait_for("chat_assigned")
    waiting = []
    for text in ("agent please", "my account was hacked, help!", "human please"):
        c = await CustomerClient.connect(server.ws_url)
        await c.say(text)
        await c.wait_for("queued")
        waiting.append(c)
    positions = {}
    for c in waiting:
        positions[c.conversation_id] = (await c.wait_for("queue"))["position"]
    await asyncio.sleep(1.0)  # let the urgent customer's arrival reach everyone's queue card
    for c in waiting:
        for frame in c.drain("queue"):
            positions[c.conversation_id] = frame["position"]
    conv = talker.conversation_id
    acked_customer: list[str] = []
    acked_agent: list[str] = []
    # A busy conversation: both sides writing as fast as they can when the server dies.

    async def chatter() -> None:
        with contextlib.suppress(Exception):
            for i in range(100_000):
                await talker.say(f"customer {i}", cid=f"c{i}")
                await agent.reply(conv, f"agent {i}", cid=f"a{i}")
                await asyncio.sleep(0.002)

    writer = asyncio.create_task(chatter())
    await talker.wait_for("message", text="agent 30")
    server.kill()
    await writer
    for client, acked in ((talker, acked_customer), (agent, acked_agent)):
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(client.closed, 5)
        acked += [f["ref"] for f in client.drain("ack") if f["ref"] and f["ref"][1:].isdigit()]
    return {
        "conv": conv,
        "talker_token": talker.resume_token,
        "talker_last_seq": talker.last_seq,
        "waiting": [(c.conversation_id, c.resume_token) for c in waiting],
        "positions": positions,
        "acked_customer": acked_customer,
        "acked_agent": acked_agent,
    }


async def _after_restart(server: RunningServer, token: str, state: dict) -> None:
    agent = await AgentClient.connect(server.ws_url, token)
    back = await agent.wait_for("chat_assigned")
    assert back["conversation"]["conversation_id"] == state["conv"]
    texts = [e.get("text") for e in back["events"] if e["type"] == "message"]
    for cid in state["acked_customer"]:
        assert f"customer {cid[1:]}" in texts, cid
    for cid in state["acked_agent"]:
        assert f"agent {cid[1:]}" in texts, cid
    # Every stored message appears once.
    assert len(texts) == len(set(texts))
    talker = await CustomerClient.connect(server.ws_url, resume_token=state["talker_token"])
    assert talker.welcome["status"] == "assigned"
    await talker.say("are you still there?")
    await agent.wait_for("message", text="are you still there?")
    for conversation_id, resume_token in state["waiting"]:
        c = await CustomerClient.connect(server.ws_url, resume_token=resume_token)
        status = await c.wait_for("queue")
        assert status["position"] == state["positions"][conversation_id]
        await c.close()
    for c in (agent, talker):
        await c.close()


def test_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """After kill -9 and a restart: every acknowledged message is in the transcript, the
    queue order is unchanged, the agent gets the chat back, customers resume with tokens."""
    server = start_server(tmp_path, config_text=CONFIG)
    token = add_agent(tmp_path, "Alice", capacity=1)
    try:
        state = asyncio.run(_before_crash(server, token))
    finally:
        server.kill()
    assert state["acked_customer"] and state["acked_agent"]
    assert sorted(state["positions"].values()) == [1, 2, 3]
    server = start_server(tmp_path, config_text=CONFIG, port=server.port)
    try:
        asyncio.run(_after_restart(server, token, state))
    finally:
        server.stop()
