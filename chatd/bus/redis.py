"""The cluster bus: topics carried between chatd nodes over Redis pub/sub (redis.asyncio).

Each topic is the Redis channel ``<prefix><topic>``. A node keeps:

* **local handlers** per topic, exactly like :class:`~chatd.bus.local.LocalBus`;
* **one pub/sub connection**, subscribed to the channels of the topics that have a local handler
  (SUBSCRIBE on the first handler of a topic, UNSUBSCRIBE after the last), read by **one reader
  task** that dispatches every message to the local handlers in arrival order;
* **one publisher task** with its own connection that sends queued messages in order, pipelining
  whatever queued up meanwhile into one round trip.

A message published on this node is delivered to the local handlers at once, inside
:meth:`RedisBus.publish`, and is skipped when Redis echoes it back (the envelope names the origin
node): local handlers see it exactly once, and a conversation whose customer and agent sit on one
node keeps working while Redis is away. Hence ``node_id`` must be unique in the cluster.

Ordering: messages of one topic published by one node reach every handler in publish order (one
publisher connection, one reader). Messages of one topic published by *different* nodes have no
cluster-wide order; consumers order conversation events by their ``seq``.

**Redis pub/sub is at-most-once.** While the pub/sub connection is down (Redis restart, network
cut, failover), messages published by other nodes are lost for this node, and messages this node
publishes are dropped (counted in :attr:`RedisBus.dropped`) instead of queued, so a long outage
cannot grow memory or replay stale frames. The reader reconnects with exponential backoff and
jitter, and re-subscribes every topic that still has handlers. Nothing is replayed: correctness
comes from the store, not the bus: every conversation event has a ``seq``, and a client that
reconnects (or sees a gap) resumes from the last ``seq`` it saw. A freshly subscribed topic is
live only once Redis confirmed the SUBSCRIBE; a caller that reads a backlog from the store should
first ``await bus.subscriptions_ready()`` so nothing falls between the backlog and the live feed.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from chatd.bus.base import Handler
from chatd.logs import get_logger

__all__ = ["RedisBus"]

log = get_logger(__name__)

#: Channel name prefix, so chatd can share a Redis with other applications.
DEFAULT_PREFIX = "chatd:bus:"
#: Reconnect backoff: the first retry is quick (a restart or a failover is usually over in well
#: under a second), then doubling up to the cap so a long outage costs a connect attempt every few
#: seconds per node, not a storm. Jitter keeps a whole cluster from reconnecting in lockstep.
_BACKOFF_MIN_S = 0.1
_BACKOFF_MAX_S = 5.0
#: An idle pub/sub connection is PINGed this often; with no reply (not even the PONG) for
#: _DEAD_AFTER_PINGS intervals it is declared dead and replaced. A half-open TCP connection
#: (peer gone without a RST) would otherwise look like a quiet channel forever.
_PING_INTERVAL_S = 5.0
_DEAD_AFTER_PINGS = 3
#: Messages waiting for the publisher task. Beyond this, Redis is not keeping up and newer
#: messages are dropped (and counted): memory stays bounded and the store still has everything.
_MAX_PENDING_PUBLISHES = 10_000
#: Socket timeouts for Redis commands: long enough for a loaded server, short enough that a dead
#: one surfaces as an error instead of a stalled publisher.
_SOCKET_TIMEOUT_S = 5.0
#: How long stop() waits for queued publishes to reach Redis.
_STOP_FLUSH_TIMEOUT_S = 2.0


class _RedisSubscription:
    """Returned by :meth:`RedisBus.subscribe`; cancel() is idempotent."""

    __slots__ = ("_bus", "_cancelled", "_handler", "_topic")

    def __init__(self, bus: RedisBus, topic: str, handler: Handler) -> None:
        self._bus, self._topic, self._handler = bus, topic, handler
        self._cancelled = False

    def cancel(self) -> None:
        if not self._cancelled:
            self._cancelled = True
            self._bus._remove_handler(self._topic, self._handler)


class RedisBus:
    """The :class:`~chatd.bus.base.Bus` over Redis pub/sub; see the module docstring."""

    def __init__(
        self,
        url: str,
        node_id: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ping_interval: float = _PING_INTERVAL_S,
    ) -> None:
        """A bus for node ``node_id`` (unique in the cluster) on the Redis at ``url``."""
        if not node_id:
            raise ValueError("node_id must be a non-empty string")
        self._url = url
        self._node_id = node_id
        self._prefix = prefix
        self._ping_interval = ping_interval
        self._handlers: dict[str, list[Handler]] = {}
        # Channels Redis confirmed for the current pub/sub connection.
        self._active: set[bytes] = set()
        self._subscriptions_changed = asyncio.Event()
        self._state_changed = asyncio.Event()
        self._connected = asyncio.Event()
        self._pubsub: aioredis.client.PubSub | None = None
        self._client: aioredis.Redis | None = None
        self._outgoing: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._dropped = 0
        self._reconnects = 0

    def __repr__(self) -> str:
        return f"RedisBus(node_id={self._node_id!r})"

    @property
    def node_id(self) -> str:
        """This node's id; its own messages echoed by Redis are recognised by it."""
        return self._node_id

    @property
    def connected(self) -> bool:
        """True while the pub/sub connection is up."""
        return self._connected.is_set()

    @property
    def dropped(self) -> int:
        """Messages this node did not hand to Redis (disconnected, overloaded or failed)."""
        return self._dropped

    @property
    def reconnects(self) -> int:
        """Pub/sub connections re-established after a drop since start()."""
        return self._reconnects

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self, *, connect_timeout: float = 10.0) -> None:
        """Connect and start the reader and publisher; ConnectionError if Redis stays unreachable.

        After the first connection, drops are handled in the background (reconnect with backoff).
        """
        if self._client is not None:
            raise RuntimeError(f"{self!r} was already started")
        # No retries inside redis-py: a failed command surfaces here, and reconnection (with
        # backoff and re-subscription) is this class's job, in one place.
        self._client = aioredis.Redis.from_url(
            self._url,
            retry=Retry(NoBackoff(), 0),
            socket_timeout=_SOCKET_TIMEOUT_S,
            socket_connect_timeout=_SOCKET_TIMEOUT_S,
            socket_keepalive=True,
        )
        self._tasks = [
            asyncio.create_task(self._read_forever(), name=f"chatd-redisbus-read-{self._node_id}"),
            asyncio.create_task(
                self._publish_forever(), name=f"chatd-redisbus-pub-{self._node_id}"
            ),
            asyncio.create_task(self._sync_forever(), name=f"chatd-redisbus-sub-{self._node_id}"),
        ]
        try:
            async with asyncio.timeout(connect_timeout):
                await self._connected.wait()
        except TimeoutError:
            await self.stop()
            raise ConnectionError(
                f"Redis bus: cannot reach {self._url} in {connect_timeout}s"
            ) from None

    async def stop(self) -> None:
        """Flush queued publishes (briefly), stop the tasks, close connections. Idempotent."""
        if self._stopping:
            return
        self._stopping = True
        if self._tasks:
            self._outgoing.put_nowait(None)  # the publisher stops after what is queued
            publisher = self._tasks[1]
            try:
                async with asyncio.timeout(_STOP_FLUSH_TIMEOUT_S):
                    await asyncio.shield(publisher)
            except TimeoutError:
                log.warning("redis_bus_stop_unflushed", pending=self._outgoing.qsize())
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
        self._handlers.clear()

    # -- the Bus protocol -------------------------------------------------------------------------
    async def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        """Deliver to local handlers now and queue for the other nodes (never waits on Redis).

        TypeError/ValueError if ``message`` is not JSON-serialisable (before anyone sees it).
        """
        payload = json.dumps(
            {"node": self._node_id, "message": message},
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
        ).encode()
        self._deliver(topic, message)
        if self._stopping or not self._connected.is_set():
            # At-most-once: while disconnected, drop rather than queue (see module docstring).
            self._dropped += 1
            return
        if self._outgoing.qsize() >= _MAX_PENDING_PUBLISHES:
            self._dropped += 1
            if self._dropped % 1000 == 1:  # one line per thousand, not one per message
                log.warning("redis_bus_overloaded", dropped=self._dropped)
            return
        self._outgoing.put_nowait((self._prefix + topic, payload))

    def subscribe(self, topic: str, handler: Handler) -> _RedisSubscription:
        """Register ``handler`` for ``topic``; the first one of a topic subscribes its channel."""
        handlers = self._handlers.setdefault(topic, [])
        handlers.append(handler)
        if len(handlers) == 1:
            self._subscriptions_changed.set()
        return _RedisSubscription(self, topic, handler)

    async def subscriptions_ready(self) -> None:
        """Wait until Redis confirmed the channel of every topic with a local handler.

        Waits through reconnects; bound it with ``asyncio.timeout`` where Redis may be down.
        """
        while not (self._connected.is_set() and self._wanted() <= self._active):
            self._state_changed.clear()
            await self._state_changed.wait()

    # -- local delivery ---------------------------------------------------------------------------
    def _deliver(self, topic: str, message: Mapping[str, Any]) -> None:
        """Call every local handler of ``topic``; one failing handler does not stop the others."""
        for handler in tuple(self._handlers.get(topic, ())):
            try:
                handler(topic, message)
            except Exception:  # a broken subscriber must not break the publisher or the reader
                log.exception("bus_handler_failed", topic=topic)

    def _remove_handler(self, topic: str, handler: Handler) -> None:
        handlers = self._handlers.get(topic)
        if handlers is None:
            return
        try:
            handlers.remove(handler)
        except ValueError:
            return
        if not handlers:
            del self._handlers[topic]
            self._subscriptions_changed.set()

    def _wanted(self) -> set[bytes]:
        """The channels this node must be subscribed to right now."""
        return {(self._prefix + topic).encode() for topic in self._handlers}

    # -- the reader -------------------------------------------------------------------------------
    async def _read_forever(self) -> None:
        """Hold one pub/sub connection, dispatching messages; reconnect with backoff after drops."""
        assert self._client is not None
        delay = _BACKOFF_MIN_S
        first = True
        while not self._stopping:
            pubsub = self._client.pubsub()
            try:
                # A private channel keeps the connection subscribed (readable) even when no topic
                # has a handler; later phases can address this node directly on it.
                await pubsub.subscribe(f"{self._prefix}node:{self._node_id}")
                self._pubsub = pubsub
                self._subscriptions_changed.set()  # (re)subscribe every wanted topic
                self._connected.set()
                self._notify()
                if not first:
                    self._reconnects += 1
                    log.info("redis_bus_reconnected", node_id=self._node_id)
                    # Idle pooled connections of the publisher predate the drop and are likely
                    # dead (a restarted Redis closed them): close them now, so the next publish
                    # connects afresh instead of failing once. No blind retry of a failed
                    # publish: it may have reached Redis, and a retry would deliver it twice.
                    await self._client.connection_pool.disconnect(inuse_connections=False)
                first = False
                delay = _BACKOFF_MIN_S
                await self._read(pubsub)
            except (RedisError, OSError) as exc:
                if self._connected.is_set():
                    log.warning("redis_bus_disconnected", node_id=self._node_id, error=str(exc))
            finally:
                self._pubsub = None
                self._connected.clear()
                self._active.clear()
                self._notify()
                try:
                    await pubsub.aclose()
                except (RedisError, OSError):
                    pass  # the connection is already broken; nothing to close cleanly
            if self._stopping:
                return
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, _BACKOFF_MAX_S)

    async def _read(self, pubsub: aioredis.client.PubSub) -> None:
        """Dispatch messages until the connection fails (raises) or goes silent."""
        last_heard = last_ping = time.monotonic()
        while True:
            # A bounded wait, not a blocking read: it lets us PING an idle connection.
            raw = await pubsub.get_message(timeout=self._ping_interval)
            now = time.monotonic()
            if raw is None:
                if now - last_heard > self._ping_interval * _DEAD_AFTER_PINGS:
                    raise ConnectionError("Redis pub/sub connection silent; no PONG")
                if now - last_ping >= self._ping_interval:
                    await pubsub.ping()
                    last_ping = now
                continue
            last_heard = now
            kind = raw["type"]
            if kind == "message":
                self._dispatch(raw["channel"], raw["data"])
            elif kind == "subscribe":
                self._active.add(raw["channel"])
                self._notify()
            elif kind == "unsubscribe":
                self._active.discard(raw["channel"])
                self._notify()

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        """Hand a message from another node to the local handlers of its topic."""
        try:
            envelope = json.loads(data)
            origin, message = envelope["node"], envelope["message"]
        except (ValueError, KeyError, TypeError):
            log.warning("redis_bus_bad_message", channel=channel.decode(errors="replace"))
            return
        if origin == self._node_id:
            return  # already delivered locally by publish()
        topic = channel.decode()[len(self._prefix) :]
        self._deliver(topic, message)

    def _notify(self) -> None:
        """Wake subscriptions_ready() waiters to re-check."""
        self._state_changed.set()

    # -- subscription sync ------------------------------------------------------------------------
    async def _sync_forever(self) -> None:
        """Make the Redis subscriptions follow the local handlers (and restore them on reconnect).

        A task of its own, not the reader: the reader sits in a read, and SUBSCRIBE must not wait
        for the next message. Redis confirms each change on the connection; the reader records
        confirmations in ``_active``. Only this task sends (UN)SUBSCRIBE, so sends never interleave.
        """
        requested: set[bytes] = set()
        requested_on: aioredis.client.PubSub | None = None
        while True:
            await self._subscriptions_changed.wait()
            self._subscriptions_changed.clear()
            pubsub = self._pubsub
            if pubsub is None:
                continue  # the reader sets the event again once it reconnected
            if pubsub is not requested_on:
                requested, requested_on = set(), pubsub  # a new connection starts empty
            wanted = self._wanted()
            try:
                if wanted - requested:
                    await pubsub.subscribe(*(wanted - requested))
                if requested - wanted:
                    await pubsub.unsubscribe(*(requested - wanted))
                requested = wanted
            except (RedisError, OSError) as exc:
                # The reader sees the broken connection too, reconnects and sets the event.
                log.warning("redis_bus_subscribe_failed", error=str(exc))

    # -- the publisher ----------------------------------------------------------------------------
    async def _publish_forever(self) -> None:
        """Send queued messages in order, everything queued meanwhile as one pipeline."""
        assert self._client is not None
        while True:
            item = await self._outgoing.get()
            batch: list[tuple[str, bytes]] = []
            stop = item is None
            if item is not None:
                batch.append(item)
            while not stop and not self._outgoing.empty():
                item = self._outgoing.get_nowait()
                if item is None:
                    stop = True
                else:
                    batch.append(item)
            if batch:
                try:
                    # transaction=False: plain pipelining, one round trip, no MULTI/EXEC.
                    async with self._client.pipeline(transaction=False) as pipe:
                        for channel, payload in batch:
                            pipe.publish(channel, payload)
                        await pipe.execute()
                except (RedisError, OSError) as exc:
                    self._dropped += len(batch)
                    log.warning("redis_bus_publish_failed", messages=len(batch), error=str(exc))
            if stop:
                return
