"""Agent presence over a throwaway Redis.

Heartbeats keep agents listed, a dead node's agents expire, and a takeover by another node is
never undone by the old one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis  # a dev dependency: missing, it fails loudly (no silent skip)

from chatd.bus.presence import DEFAULT_PRESENCE_PREFIX, PresenceRegistry

pytestmark = pytest.mark.cluster

REPO_ROOT = Path(__file__).resolve().parents[2]
Make = Callable[..., Awaitable[PresenceRegistry]]


@pytest.fixture
async def make(redis_url: str) -> AsyncIterator[Make]:
    """Start registries ("nodes") on the test's Redis; stop them after."""
    started: list[PresenceRegistry] = []

    async def make(node_id: str, ttl: float = 1.0) -> PresenceRegistry:
        registry = PresenceRegistry(redis_url, node_id, ttl=ttl)
        await registry.start()
        started.append(registry)
        return registry

    yield make
    for registry in started:
        await registry.stop()


async def test_online_lists_agents_with_their_node(make: Make) -> None:
    """Agents set online on two nodes are listed by either node with the node holding them."""
    one, two = await make("n1", ttl=10), await make("n2", ttl=10)
    await one.set_online("alice")
    await two.set_online("bob")
    assert await one.online() == {"alice": "n1", "bob": "n2"}
    assert await two.node_of("alice") == "n1"
    assert await two.node_of("carol") is None


async def test_set_offline_removes_the_agent(make: Make) -> None:
    """set_offline removes the agent at once and the heartbeat no longer revives it."""
    one = await make("n1", ttl=10)
    await one.set_online("alice")
    assert await one.set_offline("alice") is True
    await one.heartbeat()
    assert await one.online() == {}


async def test_heartbeat_keeps_agents_beyond_the_ttl(make: Make) -> None:
    """With heartbeats running, an agent stays online for several TTLs."""
    one = await make("n1", ttl=0.6)
    await one.set_online("alice")
    await asyncio.sleep(2.0)
    assert await one.online() == {"alice": "n1"}


async def test_takeover_is_not_undone_by_the_old_node(make: Make) -> None:
    """An agent that moved to another node stays there despite the old node's beat and logout."""
    old, new = await make("old", ttl=10), await make("new", ttl=10)
    await old.set_online("alice")
    await new.set_online("alice")  # the console reconnected to another node
    await old.heartbeat()
    assert "alice" not in old.local_agents
    assert await old.set_offline("alice") is False
    assert await new.online() == {"alice": "new"}


async def test_agents_of_a_killed_node_expire(make: Make, redis_url: str, tmp_path: Path) -> None:
    """kill -9 of a node: its agents vanish by their key's TTL (at most one TTL after the last
    heartbeat; no node has to notice the death); other nodes' agents stay."""
    survivor = await make("alive", ttl=1.0)
    await survivor.set_online("bob")
    child = tmp_path / "node.py"
    child.write_text(
        textwrap.dedent(
            """
            import asyncio, sys
            from chatd.bus.presence import PresenceRegistry

            async def main() -> None:
                registry = PresenceRegistry(sys.argv[1], "doomed", ttl=1.0)
                await registry.start()
                await registry.set_online("alice")
                print("ready", flush=True)
                await asyncio.sleep(3600)

            asyncio.run(main())
            """
        )
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(child),
        redis_url,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert proc.stdout is not None
    key = DEFAULT_PRESENCE_PREFIX + "alice"
    redis = aioredis.from_url(redis_url)
    try:
        async with asyncio.timeout(30):
            assert (await proc.stdout.readline()).strip() == b"ready"
            # Heartbeats re-arm the key: its remaining time goes up again (however late a
            # heartbeat comes on a busy machine, this only waits for it).
            lowest = await redis.pttl(key)
            while (remaining := await redis.pttl(key)) <= lowest:
                assert remaining > 0, "alice expired while her node was alive"
                lowest = remaining
                await asyncio.sleep(0.01)
        assert await survivor.online() == {"alice": "doomed", "bob": "alive"}
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    # Nothing refreshes the key any more: it runs out within one TTL, by Redis alone.
    assert 0 < await redis.pttl(key) <= 1000
    async with asyncio.timeout(10):  # the TTL, plus any amount of scheduling delay
        while "alice" in await survivor.online():  # noqa: ASYNC110 - Redis state, polled
            await asyncio.sleep(0.05)
    assert await redis.exists(key) == 0
    assert await survivor.online() == {"bob": "alive"}
    await redis.aclose()
