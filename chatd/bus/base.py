"""The bus interface (in-process and Redis implementations)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

__all__ = ["Bus", "Handler", "Subscription"]

#: A subscriber callback. It must not block or await: it hands the message to an outbox.
Handler = Callable[[str, Mapping[str, Any]], None]


class Subscription(Protocol):
    """Returned by subscribe(); cancel() stops delivery."""

    def cancel(self) -> None: ...


class Bus(Protocol):
    """Publish/subscribe by topic. Delivery per topic is in publish order."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        """Deliver to every subscriber of ``topic`` (on this node and, in cluster mode, others)."""

    def subscribe(self, topic: str, handler: Handler) -> Subscription: ...

    async def subscriptions_ready(self) -> None:
        """Wait until every subscription is live (Redis confirmed it); then read backlogs."""
