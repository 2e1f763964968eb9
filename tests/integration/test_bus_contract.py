"""The bus contract: every Bus implementation must pass these tests.

``nodes`` is parametrised over ``BACKENDS``. Each test takes a *publishing* and a *subscribing*
bus: for the in-process LocalBus they are the same object; for RedisBus they are two nodes (two
RedisBus instances with their own connections, exactly like two chatd processes) on a throwaway
Redis, so every message crosses Redis. Redis-only behaviour (echo suppression, unsubscribe,
reconnects) lives in the class at the end.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import pytest

from chatd.bus import Bus, LocalBus

BACKENDS = ["local", pytest.param("redis", marks=pytest.mark.cluster)]

Received = list[tuple[str, Any]]


class Nodes:
    """Hands out started buses (``node()``) of one backend; ``ready()`` waits for subscriptions."""

    def __init__(self, backend: str, request: pytest.FixtureRequest) -> None:
        self.backend = backend
        self._request = request
        self._started: list[Bus] = []
        self._ids = itertools.count(1)
        self._local: LocalBus | None = None

    async def node(self) -> Bus:
        """A started bus: the one LocalBus, or a new RedisBus node each call."""
        if self.backend == "local":
            if self._local is None:
                self._local = LocalBus()
                await self._local.start()
                self._started.append(self._local)
            return self._local
        from chatd.bus.redis import RedisBus

        bus = RedisBus(self._request.getfixturevalue("redis_url"), f"node{next(self._ids)}")
        await bus.start()
        self._started.append(bus)
        return bus

    async def ready(self) -> None:
        """Wait until every node's subscriptions are live (no-op in process)."""
        for bus in self._started:
            wait = getattr(bus, "subscriptions_ready", None)
            if wait is not None:
                await wait()

    async def stop(self) -> None:
        for bus in self._started:
            await bus.stop()


@pytest.fixture(params=BACKENDS)
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    """Bus nodes of one backend, stopped after the test."""
    made = Nodes(request.param, request)
    yield made
    await made.stop()


@pytest.fixture
async def pair(nodes: Nodes) -> tuple[Bus, Bus]:
    """(publisher, subscriber): one LocalBus twice, or two Redis nodes."""
    return await nodes.node(), await nodes.node()


def recorder(into: Received, label: str | None = None) -> Callable[[str, Mapping[str, Any]], None]:
    """A handler appending (topic or label, message["n"]) to ``into``."""

    def handler(topic: str, message: Mapping[str, Any]) -> None:
        into.append((label or topic, message["n"]))

    return handler


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``condition`` until true; fail the test after ``within`` seconds."""
    async with asyncio.timeout(within):
        # Polling: the condition is a handler's side effect, with no event to wait on.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


PublishAll = Callable[[Bus, str, range], Awaitable[None]]


async def publish_all(bus: Bus, topic: str, numbers: range) -> None:
    for n in numbers:
        await bus.publish(topic, {"n": n})


class TestBusContract:
    async def test_messages_arrive_in_publish_order(
        self, nodes: Nodes, pair: tuple[Bus, Bus]
    ) -> None:
        """500 messages on one topic reach the subscriber once each, in publish order."""
        pub, sub = pair
        got: Received = []
        sub.subscribe("conv:c1", recorder(got))
        await nodes.ready()
        await publish_all(pub, "conv:c1", range(500))
        await until(lambda: len(got) >= 500)
        await asyncio.sleep(0.05)  # a duplicate would arrive right behind
        assert got == [("conv:c1", n) for n in range(500)]

    async def test_topics_are_isolated(self, nodes: Nodes, pair: tuple[Bus, Bus]) -> None:
        """A handler gets only its topic's messages; each topic keeps its own order."""
        pub, sub = pair
        a: Received = []
        b: Received = []
        sub.subscribe("conv:a", recorder(a))
        sub.subscribe("conv:b", recorder(b))
        await nodes.ready()
        for n in range(50):
            await pub.publish("conv:a" if n % 3 else "conv:b", {"n": n})
        await pub.publish("conv:other", {"n": -1})
        await until(lambda: len(a) + len(b) >= 50)
        assert a == [("conv:a", n) for n in range(50) if n % 3]
        assert b == [("conv:b", n) for n in range(50) if not n % 3]

    async def test_every_handler_of_a_topic_gets_every_message(
        self, nodes: Nodes, pair: tuple[Bus, Bus]
    ) -> None:
        """Three handlers of one topic each receive all messages in order."""
        pub, sub = pair
        got: Received = []
        for label in ("x", "y", "z"):
            sub.subscribe("agents", recorder(got, label))
        await nodes.ready()
        await publish_all(pub, "agents", range(20))
        await until(lambda: len(got) >= 60)
        for label in ("x", "y", "z"):
            assert [n for who, n in got if who == label] == list(range(20))

    async def test_cancel_stops_delivery_to_that_handler_only(
        self, nodes: Nodes, pair: tuple[Bus, Bus]
    ) -> None:
        """After cancel() a handler gets nothing more; the topic's other handler still does."""
        pub, sub = pair
        kept: Received = []
        gone: Received = []
        sub.subscribe("conv:c1", recorder(kept))
        subscription = sub.subscribe("conv:c1", recorder(gone))
        await nodes.ready()
        await pub.publish("conv:c1", {"n": 1})
        await until(lambda: len(kept) == 1 and len(gone) == 1)
        subscription.cancel()
        subscription.cancel()  # idempotent
        await publish_all(pub, "conv:c1", range(2, 6))
        await until(lambda: len(kept) == 5)
        assert gone == [("conv:c1", 1)]

    async def test_failing_handler_does_not_stop_others(
        self, nodes: Nodes, pair: tuple[Bus, Bus]
    ) -> None:
        """A handler that raises is logged; the other handlers and later messages still run."""
        pub, sub = pair
        got: Received = []

        def broken(topic: str, message: Mapping[str, Any]) -> None:
            raise RuntimeError("subscriber bug")

        sub.subscribe("conv:c1", broken)
        sub.subscribe("conv:c1", recorder(got))
        await nodes.ready()
        await publish_all(pub, "conv:c1", range(3))
        await until(lambda: len(got) == 3)
        assert [n for _, n in got] == [0, 1, 2]

    async def test_resubscribe_after_cancel(self, nodes: Nodes, pair: tuple[Bus, Bus]) -> None:
        """Cancelling a topic's only handler and subscribing again delivers again."""
        pub, sub = pair
        got: Received = []
        sub.subscribe("conv:c1", recorder(got)).cancel()
        sub.subscribe("conv:c1", recorder(got))
        await nodes.ready()
        await pub.publish("conv:c1", {"n": 7})
        await until(lambda: got == [("conv:c1", 7)])

    async def test_publish_without_subscribers_is_harmless(self, pair: tuple[Bus, Bus]) -> None:
        """Publishing to a topic nobody subscribed to neither fails nor blocks."""
        pub, _ = pair
        await publish_all(pub, "conv:nobody", range(10))


@pytest.mark.cluster
class TestRedisBus:
    @pytest.fixture
    async def make(self, redis_url: str) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
        """Start RedisBus nodes on the test's Redis; stop them after."""
        from chatd.bus.redis import RedisBus

        started: list[RedisBus] = []

        async def make(node_id: str, url: str = redis_url, **kwargs: Any) -> RedisBus:
            bus = RedisBus(url, node_id, **kwargs)
            await bus.start()
            started.append(bus)
            return bus

        yield make
        for bus in started:
            await bus.stop()

    async def test_own_messages_are_delivered_once(
        self, make: Callable[..., Awaitable[Any]]
    ) -> None:
        """A node's own message reaches its local handler once: directly, not again via Redis."""
        one, two = await make("one"), await make("two")
        on_one: Received = []
        on_two: Received = []
        one.subscribe("conv:c1", recorder(on_one))
        two.subscribe("conv:c1", recorder(on_two))
        await one.subscriptions_ready()
        await two.subscriptions_ready()
        await one.publish("conv:c1", {"n": 1})
        assert on_one == [("conv:c1", 1)]  # synchronous, before Redis saw it
        await until(lambda: on_two == [("conv:c1", 1)])
        # Redis delivered 1 to both connections before 2 was published, so once node one has
        # seen 2 it has also processed (and must have skipped) the echo of 1.
        await two.publish("conv:c1", {"n": 2})
        await until(lambda: len(on_one) >= 2)
        assert on_one == [("conv:c1", 1), ("conv:c1", 2)]

    async def test_channel_follows_local_handlers(
        self, make: Callable[..., Awaitable[Any]], redis_url: str
    ) -> None:
        """The Redis channel is subscribed on the first handler and unsubscribed after the last."""
        import redis.asyncio as aioredis

        bus = await make("one")
        probe = aioredis.Redis.from_url(redis_url)
        channel = "chatd:bus:conv:c1"

        async def subscribers() -> int:
            return int(dict(await probe.pubsub_numsub(channel))[channel.encode()])

        try:
            first = bus.subscribe("conv:c1", recorder([]))
            second = bus.subscribe("conv:c1", recorder([]))
            await bus.subscriptions_ready()
            assert await subscribers() == 1
            first.cancel()
            await asyncio.sleep(0.05)
            assert await subscribers() == 1
            second.cancel()
            async with asyncio.timeout(5):
                while await subscribers() != 0:  # noqa: ASYNC110 - Redis state, polled
                    await asyncio.sleep(0.01)
        finally:
            await probe.aclose()

    async def test_reconnects_after_connection_is_killed(
        self, make: Callable[..., Awaitable[Any]], redis_url: str
    ) -> None:
        """After Redis drops the pub/sub connection, the node reconnects and re-subscribes."""
        import redis.asyncio as aioredis

        one, two = await make("one"), await make("two")
        got: Received = []
        two.subscribe("conv:c1", recorder(got))
        await two.subscriptions_ready()
        admin = aioredis.Redis.from_url(redis_url)
        try:
            killed = await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            assert int(killed) >= 2  # both nodes' pub/sub connections
        finally:
            await admin.aclose()
        await until(lambda: two.reconnects >= 1 and one.reconnects >= 1)
        await two.subscriptions_ready()
        await one.publish("conv:c1", {"n": 1})
        await until(lambda: got == [("conv:c1", 1)])

    async def test_survives_a_redis_restart(self, make: Callable[..., Awaitable[Any]]) -> None:
        """Redis stopped and restarted on the same port: nodes reconnect and messages flow."""
        from tests.support.server import free_port
        from tests.support.services import redis_server

        port = free_port()
        with redis_server(port) as url:
            one, two = await make("one", url), await make("two", url)
            got: Received = []
            two.subscribe("conv:c1", recorder(got))
            await two.subscriptions_ready()
            await one.publish("conv:c1", {"n": 1})
            await until(lambda: got == [("conv:c1", 1)])
        await until(lambda: not one.connected and not two.connected)
        await one.publish("conv:c1", {"n": 2})  # dropped: at-most-once while Redis is away
        assert one.dropped >= 1
        with redis_server(port):
            await until(lambda: one.connected and two.connected, within=15)
            await two.subscriptions_ready()
            await one.publish("conv:c1", {"n": 3})
            await until(lambda: len(got) == 2)
        assert got == [("conv:c1", 1), ("conv:c1", 3)]

    async def test_start_fails_clearly_without_redis(self) -> None:
        """start() raises ConnectionError when Redis cannot be reached."""
        from chatd.bus.redis import RedisBus
        from tests.support.server import free_port

        bus = RedisBus(f"redis://127.0.0.1:{free_port()}/0", "lonely")
        with pytest.raises(ConnectionError, match="cannot reach"):
            await bus.start(connect_timeout=0.5)
