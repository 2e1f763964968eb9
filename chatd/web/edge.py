"""The TCP edge: what protects chatd before aiohttp has parsed a byte of HTTP.

A slowloris client opens many connections and sends half a request head on each. aiohttp never
times those out by default and the per-IP WebSocket limit only applies after the upgrade, so
1,100 such connections under a 1,024-descriptor limit once took the service down. Here:

* :class:`ConnectionGuard` counts open TCP connections per peer address at accept time and
  aborts those over ``[limits] tcp_connections_per_ip`` (trusted proxies are exempt; their
  clients are counted per address after parsing), and all connections over what the descriptor
  limit can hold (a reserve stays free for the store, logs and the listening socket);
* incomplete request heads and WebSocket handshakes are cut after ``[limits]
  request_timeout_s`` (aiohttp's keep-alive timer, which also bounds an idle keep-alive
  connection; see :func:`chatd.web.serving.start`);
* :func:`raise_descriptor_limit` raises the soft RLIMIT_NOFILE to the hard one at start;
* :func:`quiet_accept_errors` turns the event loop's "accept out of resources" tracebacks (one
  per accept attempt, 343 MB in 40 s under that attack) into one warning per interval.
"""

from __future__ import annotations

import asyncio
import errno
import resource
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from chatd.config import Config
from chatd.domain.ratelimit import ConnectionCounter
from chatd.logs import get_logger

__all__ = [
    "ConnectionGuard",
    "RateLimitedLog",
    "quiet_accept_errors",
    "raise_descriptor_limit",
]

log = get_logger(__name__)

#: Descriptors kept free of client connections: the store (SQLite, or a PostgreSQL pool),
#: Redis, log files, the listening sockets, files the app opens. A quarter of a small limit.
DESCRIPTOR_RESERVE = 256
#: The soft limit asked for when the hard limit is unlimited.
DESCRIPTOR_TARGET = 1 << 20
#: Errors of accept() that mean "out of resources", not a bug.
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class RateLimitedLog:
    """At most one log line per ``interval_s`` for one event; the others are counted in it."""

    __slots__ = ("_clock", "_last", "_suppressed", "event", "interval_s")

    def __init__(
        self, event: str, interval_s: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.event = event
        self.interval_s = interval_s
        self._clock = clock
        self._last = -float("inf")
        self._suppressed = 0

    def warning(self, **fields: Any) -> bool:
        """Log the event now if the interval passed (True), else count it (False)."""
        now = self._clock()
        if now - self._last < self.interval_s:
            self._suppressed += 1
            return False
        self._last = now
        log.warning(self.event, suppressed_since_last=self._suppressed, **fields)
        self._suppressed = 0
        return True


def raise_descriptor_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = DESCRIPTOR_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:  # e.g. above /proc/sys/fs/nr_open
            log.warning("descriptor_limit_unchanged", soft=soft, hard=hard, error=str(exc))
            return int(soft)
        log.info("descriptor_limit_raised", soft_before=soft, soft=target, hard=hard)
        return int(target)
    log.info("descriptor_limit", soft=soft, hard=hard)
    return int(soft)


def _peer_ip(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return "unix"  # a Unix socket (or a peer the kernel could not name)


class ConnectionGuard:
    """Counts TCP connections per peer address and in total; aborts those over a limit.

    Installed on aiohttp's low-level :class:`aiohttp.web.Server`, whose ``connection_made`` /
    ``connection_lost`` every connection reports to as soon as it is accepted and when it ends:
    the guard decides before a byte of the request is parsed.
    """

    def __init__(self, config: Config, max_connections: int) -> None:
        self.per_ip: ConnectionCounter[str] = ConnectionCounter(
            config.limits.tcp_connections_per_ip
        )
        self.trusted = frozenset(config.server.trusted_proxies)
        self.max_connections = max_connections
        self.open = 0
        self._ips: dict[object, str | None] = {}
        self._refusals = RateLimitedLog("connections_refused")

    @classmethod
    def for_descriptors(cls, config: Config, soft_limit: int) -> ConnectionGuard:
        """A guard whose total leaves :data:`DESCRIPTOR_RESERVE` (at most a quarter) free."""
        reserve = min(DESCRIPTOR_RESERVE, soft_limit // 4)
        return cls(config, max(1, soft_limit - reserve))

    def admit(self, key: object, ip: str) -> bool:
        """Count a new connection (``key`` identifies it until :meth:`release`)."""
        if self.open >= self.max_connections:
            self._refusals.warning(reason="descriptors", ip=ip, open=self.open)
            return False
        if ip not in self.trusted:
            if not self.per_ip.acquire(ip):
                self._refusals.warning(reason="per_ip", ip=ip, open=self.open)
                return False
            self._ips[key] = ip
        else:
            self._ips[key] = None
        self.open += 1
        return True

    def release(self, key: object) -> None:
        """Count a connection admitted under ``key`` as closed (unknown keys are ignored)."""
        if key not in self._ips:
            return
        ip = self._ips.pop(key)
        if ip is not None:
            self.per_ip.release(ip)
        self.open -= 1

    def install(self, server: web.Server) -> None:
        """Hook ``server``'s connection callbacks (a plain attribute override: aiohttp creates
        the Server inside AppRunner.setup() and offers no factory hook for it)."""
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: Any, transport: asyncio.Transport) -> None:
            made(handler, transport)
            if not self.admit(handler, _peer_ip(transport)):
                transport.abort()

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            self.release(handler)
            lost(handler, exc)

        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Log accept() failing for lack of descriptors or memory once per interval, no traceback.

    Everything else still goes to the loop's default handler.
    """
    limited = RateLimitedLog("accept_out_of_resources")
    default = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in _RESOURCE_ERRNOS:
            limited.warning(error=exc.strerror or str(exc))
            return
        if default is not None:
            default(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
