"""In-process bus: synchronous fan-out to local subscribers, for the single-node default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chatd.bus.base import Handler
from chatd.logs import get_logger

__all__ = ["LocalBus"]

log = get_logger(__name__)


class _LocalSubscription:
    __slots__ = ("_bus", "_handler", "_topic")

    def __init__(self, bus: LocalBus, topic: str, handler: Handler) -> None:
        self._bus, self._topic, self._handler = bus, topic, handler

    def cancel(self) -> None:
        handlers = self._bus._topics.get(self._topic)
        if handlers is not None:
            handlers.discard(self._handler)
            if not handlers:
                del self._bus._topics[self._topic]


class LocalBus:
    """Topics live in a dict of handler sets; publish calls each handler in turn."""

    def __init__(self) -> None:
        self._topics: dict[str, set[Handler]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._topics.clear()

    async def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        self.deliver(topic, message)

    async def subscriptions_ready(self) -> None:
        """In-process subscriptions are live at once."""
        return None

    def deliver(self, topic: str, message: Mapping[str, Any]) -> None:
        """Call every local handler of ``topic``; one failing handler does not stop the others."""
        for handler in tuple(self._topics.get(topic, ())):
            try:
                handler(topic, message)
            except Exception:  # a broken subscriber must not break the publisher
                log.exception("bus_handler_failed", topic=topic)

    def subscribe(self, topic: str, handler: Handler) -> _LocalSubscription:
        self._topics.setdefault(topic, set()).add(handler)
        return _LocalSubscription(self, topic, handler)
