"""Which agents are online, and on which node, shared by every node through Redis.

Each online agent is one key, ``<prefix><agent_id>`` = the id of the node holding the agent's
WebSocket, with a TTL (``SET key node EX ttl``). The node that holds the agent refreshes the TTL
every ``ttl / 3`` seconds (a heartbeat for all its agents in one round trip), so:

* an agent whose node dies (``kill -9``, power loss, partition) disappears by itself at most
  ``ttl`` seconds after the last heartbeat: no node has to notice the death;
* an agent that reconnects to another node is taken over by that node's :meth:`set_online`; the
  old node's heartbeat and :meth:`set_offline` only touch keys that still name the old node
  (compare-and-set in Lua), so a late disconnect on the old node cannot log the agent out.

Listing uses ``SCAN MATCH <prefix>*``: O(keys in the Redis database), fine for a Redis dedicated
to chatd (thousands of agents scan in a millisecond or two). If chatd ever shares a huge Redis,
index the keys in a sorted set by expiry instead.

What an agent *does* while online (its chats, its capacity) is not here: that is the shared queue
of phase 2 (docs/cluster.md).
"""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from chatd.logs import get_logger

__all__ = ["DEFAULT_PRESENCE_PREFIX", "DEFAULT_PRESENCE_TTL_S", "PresenceRegistry"]

log = get_logger(__name__)

DEFAULT_PRESENCE_PREFIX = "chatd:agent:"
#: Seconds an agent stays listed after its node's last heartbeat. Three heartbeats fit in it, so
#: one lost or late heartbeat (a GC pause, a slow Redis) never flaps an agent offline, while a
#: dead node's agents are gone in well under a minute.
DEFAULT_PRESENCE_TTL_S = 15.0
_SCAN_BATCH = 500

#: KEYS: agent keys; ARGV[1]: node id; ARGV[2]: ttl in ms. Re-arms every key that is missing or
#: still ours; returns 1/0 per key (0: another node took the agent over).
_REFRESH_LUA = """
local result = {}
for i, key in ipairs(KEYS) do
    local owner = redis.call('GET', key)
    if owner == false or owner == ARGV[1] then
        redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
        result[i] = 1
    else
        result[i] = 0
    end
end
return result
"""

#: KEYS[1]: agent key; ARGV[1]: node id. Delete only if the key still names this node.
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class PresenceRegistry:
    """Agents online per node, with heartbeats and expiry; see the module docstring."""

    def __init__(
        self,
        url: str,
        node_id: str,
        *,
        ttl: float = DEFAULT_PRESENCE_TTL_S,
        prefix: str = DEFAULT_PRESENCE_PREFIX,
    ) -> None:
        """A registry for node ``node_id`` on the Redis at ``url``; keys live ``ttl`` seconds."""
        if not node_id:
            raise ValueError("node_id must be a non-empty string")
        if ttl <= 0:
            raise ValueError(f"ttl must be > 0, got {ttl}")
        self._url = url
        self._node_id = node_id
        self._ttl_ms = max(1, round(ttl * 1000))
        self._prefix = prefix
        self._local: set[str] = set()
        self._client: aioredis.Redis | None = None
        self._refresh: AsyncScript | None = None
        self._release: AsyncScript | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"PresenceRegistry(node_id={self._node_id!r})"

    @property
    def interval(self) -> float:
        """Seconds between heartbeats (a third of the TTL)."""
        return self._ttl_ms / 3000

    @property
    def local_agents(self) -> frozenset[str]:
        """Agents this node holds and keeps alive."""
        return frozenset(self._local)

    async def start(self) -> None:
        """Connect (ConnectionError if Redis is unreachable) and start the heartbeat."""
        if self._client is not None:
            raise RuntimeError(f"{self!r} was already started")
        self._client = aioredis.Redis.from_url(self._url, decode_responses=True)
        self._refresh = self._client.register_script(_REFRESH_LUA)
        self._release = self._client.register_script(_RELEASE_LUA)
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            await self._client.aclose()
            self._client = None
            raise ConnectionError(f"presence: cannot reach Redis: {exc}") from exc
        self._heartbeat = asyncio.create_task(
            self._beat_forever(), name=f"presence-{self._node_id}"
        )

    async def stop(self) -> None:
        """Stop the heartbeat and disconnect. Keys are left to expire, not deleted.

        A node shutting down hands its agents over: their consoles reconnect to another node,
        which takes the keys over; deleting them here would flap every agent offline first.
        """
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _key(self, agent_id: str) -> str:
        return self._prefix + agent_id

    def _require_client(self) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError(f"{self!r} is not started")
        return self._client

    async def set_online(self, agent_id: str) -> None:
        """Mark the agent online on this node (taking it over from any other node)."""
        client = self._require_client()
        self._local.add(agent_id)
        await client.set(self._key(agent_id), self._node_id, px=self._ttl_ms)

    async def set_offline(self, agent_id: str) -> bool:
        """Stop keeping the agent alive here and remove it if this node still owns it.

        False when another node has taken the agent over (its key is left alone).
        """
        self._require_client()
        self._local.discard(agent_id)
        assert self._release is not None
        return bool(await self._release(keys=[self._key(agent_id)], args=[self._node_id]))

    async def heartbeat(self) -> None:
        """Re-arm the TTL of every agent this node holds, in one round trip.

        Agents another node has taken over are dropped from this node's set.
        """
        self._require_client()
        agents = sorted(self._local)
        if not agents:
            return
        assert self._refresh is not None
        owned = await self._refresh(
            keys=[self._key(a) for a in agents], args=[self._node_id, self._ttl_ms]
        )
        for agent_id, mine in zip(agents, owned, strict=True):
            if not mine:
                self._local.discard(agent_id)
                log.info("presence_taken_over", agent_id=agent_id, node_id=self._node_id)

    async def node_of(self, agent_id: str) -> str | None:
        """The node holding the agent, or None when it is offline."""
        value = await self._require_client().get(self._key(agent_id))
        return str(value) if value is not None else None

    async def online(self) -> dict[str, str]:
        """Every online agent of the cluster -> the node holding it."""
        client = self._require_client()
        keys = [key async for key in client.scan_iter(match=f"{self._prefix}*", count=_SCAN_BATCH)]
        if not keys:
            return {}
        nodes = await client.mget(keys)
        # A key may expire between SCAN and MGET: None means it just went offline.
        return {
            key[len(self._prefix) :]: str(node)
            for key, node in zip(keys, nodes, strict=True)
            if node is not None
        }

    async def _beat_forever(self) -> None:
        """Heartbeat every interval; a failed beat is logged and retried on the next tick."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.heartbeat()
            except (RedisError, OSError) as exc:
                # Two more chances before the TTL runs out; keep trying, never crash the node.
                log.warning("presence_heartbeat_failed", node_id=self._node_id, error=str(exc))
