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

__all__ = ["ListenError", "Served", "bind", "serve_forever", "start"]

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


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """The listening socket, bound before the app starts: a port in use fails first, in one
    line, instead of after the store opened and "ready" was logged."""
    try:
        family, _type, _proto, _name, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(
            address[:2] if family == socket.AF_INET else address,
            family=family,
            backlog=BACKLOG,
            reuse_port=reuse_port,
        )
    except OSError as exc:
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        raise ListenError(f"cannot listen on {host}:{port}: {reason}") from None


async def start(
    app: web.Application,
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    reuse_port: bool = False,
) -> Served:
    """Start ``app`` on ``host:port`` (port 0: any free port) behind the TCP edge."""
    host = config.server.host if host is None else host
    port = config.server.port if port is None else port
    sock = bind(host, port, reuse_port=reuse_port)
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
        site = web.SockSite(runner, sock)
        await site.start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    return Served(runner=runner, port=int(sock.getsockname()[1]), guard=guard)


async def serve_forever(app: web.Application, config: Config, *, reuse_port: bool = False) -> None:
    """Serve until SIGTERM or SIGINT, then shut down (ListenError when the port is taken)."""
    served = await start(app, config, reuse_port=reuse_port)
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
