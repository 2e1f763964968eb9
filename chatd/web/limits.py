"""Per-IP abuse limits of the HTTP/WebSocket edge (the counting logic is in chatd.domain)."""

from __future__ import annotations

from chatd.config import LimitsConfig
from chatd.domain.ratelimit import TokenBucket, WindowCounter

__all__ = ["ConnectionLimits"]


class ConnectionLimits:
    """Connections per IP (open now) and new conversations per IP per window."""

    def __init__(self, config: LimitsConfig) -> None:
        self.config = config
        self._open: dict[str, int] = {}
        self.new_conversations: WindowCounter[str] = WindowCounter(
            config.new_conversations_per_ip, config.new_conversations_window_s
        )

    def acquire(self, ip: str) -> bool:
        """Count a new connection from ``ip``; False when the IP has too many open."""
        count = self._open.get(ip, 0)
        if count >= self.config.connections_per_ip:
            return False
        self._open[ip] = count + 1
        return True

    def release(self, ip: str) -> None:
        count = self._open.get(ip, 0) - 1
        if count > 0:
            self._open[ip] = count
        else:
            self._open.pop(ip, None)

    def message_bucket(self) -> TokenBucket:
        """A fresh token bucket for one connection's messages."""
        return TokenBucket(self.config.messages_per_s, self.config.message_burst)
