"""Abuse limits of the WebSocket edge, per IP and per conversation (counters: chatd.domain).

Every limit is keyed by something a client cannot reset by reconnecting: the conversation (a
resume token names it), the client address, or the staff account. One node keeps them in
memory; in cluster mode each node counts on its own, so a conversation whose sockets land on
N nodes at once gets at most N times its rate (see docs/cluster.md).
"""

from __future__ import annotations

from chatd.config import LimitsConfig
from chatd.domain.ratelimit import ConnectionCounter, KeyedLimiter, WindowCounter

__all__ = ["ConnectionLimits"]

#: Typing indicators relayed per second per conversation at most (start/stop of a fast typist
#: fits easily; a flood would drown the agent).
TYPING_PER_S = 4.0
#: Staff sign-in attempts per client address per minute (a burst of this many, refilled evenly);
#: each account has its own limit of failures besides (chatd.domain.signin).
LOGINS_PER_MINUTE = 20


class ConnectionLimits:
    """Open WebSockets per IP, frames per conversation and per IP, new conversations per IP,
    staff sign-in attempts per IP."""

    def __init__(self, config: LimitsConfig) -> None:
        self.config = config
        self.sockets: ConnectionCounter[str] = ConnectionCounter(config.connections_per_ip)
        self.new_conversations: WindowCounter[str] = WindowCounter(
            config.new_conversations_per_ip, config.new_conversations_window_s
        )
        #: Customers: keyed by conversation id; staff: by "agent:<id>".
        self.frames: KeyedLimiter[str] = KeyedLimiter(
            config.messages_per_s,
            config.message_burst,
            violation_window_s=config.violation_window_s,
        )
        self.frames_per_ip: KeyedLimiter[str] = KeyedLimiter(
            config.ip_messages_per_s,
            config.ip_message_burst,
            violation_window_s=config.violation_window_s,
        )
        self.typing: KeyedLimiter[str] = KeyedLimiter(TYPING_PER_S, TYPING_PER_S)
        #: Transcripts by email: per conversation and per address (each mail goes to an address
        #: the customer typed: without a limit chatd would relay spam).
        self.transcript_mails: WindowCounter[str] = WindowCounter(3, 3600.0)
        self.transcript_mails_per_ip: WindowCounter[str] = WindowCounter(10, 3600.0)
        #: Addresses given for replies while away: per conversation (each is told in the chat
        #: and mailed only staff replies, but a typed address is still someone's inbox).
        self.followup_changes: WindowCounter[str] = WindowCounter(5, 3600.0)
        self.logins: KeyedLimiter[str] = KeyedLimiter(
            LOGINS_PER_MINUTE / 60.0, float(LOGINS_PER_MINUTE)
        )

    def acquire(self, ip: str) -> bool:
        """Count a new WebSocket from ``ip``; False when the IP has too many open."""
        return self.sockets.acquire(ip)

    def release(self, ip: str) -> None:
        """Count a WebSocket of ``ip`` as closed."""
        self.sockets.release(ip)

    def take_frame(self, key: str, ip: str | None, now: float) -> bool:
        """Admit one rate-limited frame of ``key`` (and of ``ip``); False records a violation.

        Both buckets must have room; the key's is taken first, so a conversation at its own
        limit does not use up its office's shared budget as well.
        """
        if not self.frames.take(key, now):
            return False
        if ip is not None and not self.frames_per_ip.take(ip, now):
            # Count the refusal against the conversation too: that is what closes it.
            self.frames.refuse(key, now)
            return False
        return True

    def violations(self, key: str, now: float) -> int:
        """Refusals of ``key`` within the violation window."""
        return self.frames.violations(key, now)

    def retry_after(self, key: str, ip: str | None, now: float) -> float:
        """Seconds until ``key`` (and ``ip``) may send a rate-limited frame again."""
        wait = self.frames.retry_after(key, now)
        if ip is not None:
            wait = max(wait, self.frames_per_ip.retry_after(ip, now))
        return wait
