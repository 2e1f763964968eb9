"""Serving the app on a TCP port: the one way chatd listens (the CLI and the test harness).

:func:`start` sets up aiohttp's runner with the edge protections of :mod:`chatd.web.edge` and
binds the port; :func:`serve_forever` runs it until SIGTERM/SIGINT, then shuts down cleanly
(sockets closed with 1001, the store flushed).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from dataclasses import dataclass

from aiohttp import web

from chatd.config import Config
from chatd.logs import get_logger
from chatd.web.edge import ConnectionGuard, quiet_accept_errors, raise_descriptor_limit

__all__ = ["ListenError", "Served", "listen_sockets", "serve_forever", "start"]

log = get_logger(__name__)

#: A market-move surge opens thousands of sockets within seconds; the default backlog of 128
#: overflowed in `chatd bench surge` and connects timed out.
BACKLOG = 2048


class ListenError(Exception):
    """The port could not be bound (in use, no permission, bad address)."""


@dataclass
class Served:
    """A running server: its runner, the bound port and its connection guard."""

    runner: web.AppRunner
    port: int
    guard: ConnectionGuard

    async def stop(self) -> None:
        await self.runner.cleanup()


def listen_sockets(host: str, port: int, *, reuse_port: bool = False) -> list[socket.socket]:
    """Bound (not yet listening) TCP sockets for every address ``host`` resolves to.

    Bound before the application starts, so a port in use is one line and exit 2 instead of a
    traceback after "ready". Options as asyncio's create_server sets them: SO_REUSEADDR (a
    restart need not wait for TIME_WAIT), IPV6_V6ONLY (an IPv4 and an IPv6 socket can share the
    port), SO_REUSEPORT on request (``--workers``). OSError names what failed.
    """
    infos = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    seen = set()
    try:
        for family, kind, proto, _name, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


async def start(
    app: web.Application,
    config: Config,
    sockets: list[socket.socket] | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
) -> Served:
    """Start ``app`` on ``sockets`` (from :func:`listen_sockets`), or on ``host:port`` (port 0:
    any free port), behind the TCP edge. ListenError when the port cannot be bound."""
    if sockets is None:
        host = config.server.host if host is None else host
        port = config.server.port if port is None else port
        try:
            sockets = listen_sockets(host, port)
        except OSError as exc:
            reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            raise ListenError(f"cannot listen on {host}:{port}: {reason}") from None
    quiet_accept_errors(asyncio.get_running_loop())
    guard = ConnectionGuard.for_descriptors(config, raise_descriptor_limit())
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        # aiohttp's keep-alive timer runs from the connection's start (and from each response)
        # until the next complete request head: so it is the request-head timeout too. An idle
        # keep-alive connection costs a descriptor; browsers reconnect at once when it closes.
        keepalive_timeout=config.limits.request_timeout_s,
        shutdown_timeout=config.server.shutdown_timeout_s,
    )
    try:
        await runner.setup()
        assert runner.server is not None
        guard.install(runner.server)
        for sock in sockets:
            await web.SockSite(runner, sock, backlog=BACKLOG).start()
    except BaseException:
        for sock in sockets:
            sock.close()
        await runner.cleanup()
        raise
    return Served(runner=runner, port=int(sockets[0].getsockname()[1]), guard=guard)


async def serve_forever(app: web.Application, config: Config, sockets: list[socket.socket]) -> None:
    """Serve on ``sockets`` until SIGTERM or SIGINT, then shut down cleanly."""
    served = await start(app, config, sockets)
    log.info(
        "listening",
        url=f"http://{config.server.host}:{served.port}",
        data_dir=config.server.data_dir,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await served.stop()
