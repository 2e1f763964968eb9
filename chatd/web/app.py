"""The aiohttp application: routes, typed state, startup/teardown paired in cleanup_ctx."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import WSCloseCode, web

from bot_intents import Bot, load_bot
from chatd.bus import LocalBus
from chatd.bus.base import Bus
from chatd.config import Config
from chatd.logs import get_logger
from chatd.service.chat import ChatService
from chatd.service.coordinator import default_node_id
from chatd.service.metrics import Metrics, probe_event_loop_lag
from chatd.service.queueing import QueueLoops
from chatd.store import open_store
from chatd.web import (
    api,
    attachments_api,
    deliveries_api,
    integrations_api,
    openapi,
    staff_api,
    transcripts_api,
)
from chatd.web.agent_ws import agent_ws
from chatd.web.customer_ws import customer_ws
from chatd.web.keys import BOT, CONFIG, LIMITS, LOOPS, METRICS, SERVICE, SOCKETS
from chatd.web.limits import ConnectionLimits
from chatd.web.security import error_middleware, security_headers_middleware
from chatd.web.static import static_routes

__all__ = ["cluster_node_id", "load_secret", "make_app"]

log = get_logger(__name__)


def cluster_node_id(config: Config) -> str | None:
    """This node's id in cluster mode (None when embedded); ``--workers`` children add -wN."""
    if not config.clustered:
        return None
    base = config.cluster.node_id or default_node_id()
    worker = os.environ.get("CHATD_WORKER")
    return f"{base}-w{worker}" if worker and config.cluster.node_id else base


def load_secret(config: Config) -> str:
    """The server secret: from config/env, else generated once into data_dir/secret.key (0600)."""
    if config.security.secret:
        return config.security.secret
    path = Path(config.server.data_dir) / "secret.key"
    if path.exists():
        value = path.read_text().strip()
        if len(value) >= 32:
            return value
        # Empty or truncated (a crash mid-write in an older version): replace it.
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    # Write then rename: a crash leaves either no key file or a whole one, never an empty key.
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return value


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    store = open_store(config.storage_url(), synchronous=config.storage.synchronous)
    await store.open()
    node_id = cluster_node_id(config)
    bus: Bus = LocalBus()
    if node_id is not None:
        from chatd.bus.redis import RedisBus  # the embedded default does not need redis

        bus = RedisBus(config.cluster.redis_url, node_id)
    await bus.start()
    bot = (
        app[BOT]
        if BOT in app
        else load_bot(list(config.bot.kb) or None, cache_dir=config.bot.cache_path())
    )
    service = ChatService(
        config=config,
        store=store,
        bus=bus,
        bot=bot,
        secret=load_secret(config),
        metrics=app[METRICS],
    )
    if node_id is not None:
        from chatd.service.cluster import ClusterCoordinator

        service.assignments.use(
            ClusterCoordinator(
                service.assignments,
                redis_url=config.cluster.redis_url,
                node_id=node_id,
                lease_ttl_s=config.cluster.lease_ttl_s,
                presence_ttl_s=config.cluster.presence_ttl_s,
            )
        )
    loops = QueueLoops(service.assignments)
    service.coordinator.attach_loops(loops)
    # Embedded: recover() from the store. Cluster: join; the lease winner rebuilds the queue.
    await service.coordinator.start()
    await service.attachments.start()  # sweeps files a crash left without their event
    app[SERVICE] = service
    app[LOOPS] = loops
    loops.start()
    sweeper = asyncio.create_task(service.retention.run_forever(), name="retention")
    if service.deliveries.enabled:
        await service.deliveries.start(node_id or "embedded", only_node=node_id is None)
    if not any(a.role == "operator" for a in service.assignments.agents.values()):
        log.warning(
            "no_operator",
            hint="create one: chatd agents add NAME --role operator "
            f"--data-dir {config.server.data_dir}",
        )
    log.info("ready", storage=type(store).__name__, intents=len(bot.intent_ids), node_id=node_id)
    try:
        yield
    finally:
        service.accepting = False
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await service.deliveries.stop()
        await loops.stop()
        await service.coordinator.stop()
        await service.masker.close()
        if service.customers.external is not None:
            await service.customers.external.close()
        await service.attachments.close()
        await bus.stop()
        await store.close()
        log.info("stopped")


async def _loop_lag_probe(app: web.Application) -> AsyncIterator[None]:
    """Opt-in (CHATD_LOOP_LAG_PROBE_S=seconds between samples): chatd_event_loop_lag_seconds."""
    interval = float(os.environ.get("CHATD_LOOP_LAG_PROBE_S") or 0)
    task = None
    if interval > 0:
        task = asyncio.create_task(probe_event_loop_lag(app[METRICS].event_loop_lag, interval))
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _on_shutdown(app: web.Application) -> None:
    """Stop accepting, tell every client to reconnect elsewhere/later (1001), before teardown."""
    if SERVICE in app:
        app[SERVICE].accepting = False
    sockets: weakref.WeakSet[web.WebSocketResponse] = app[SOCKETS]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down; resume later")


def make_app(config: Config, *, bot: Bot | None = None) -> web.Application:
    """Build the chatd application for ``config`` (storage opens on startup).

    ``bot`` skips loading the knowledge base (tests and benchmarks share one loaded bot).
    """
    app = web.Application(
        middlewares=[error_middleware, security_headers_middleware],
        client_max_size=256 * 1024,
    )
    # 0700: the store and secret.key inside are for chatd's account alone (chatd.store.files).
    Path(config.server.data_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    app[CONFIG] = config
    if bot is not None:
        app[BOT] = bot
    app[METRICS] = Metrics()
    app[LIMITS] = ConnectionLimits(config.limits)
    app[SOCKETS] = weakref.WeakSet()
    app.cleanup_ctx.append(_lifecycle)
    app.cleanup_ctx.append(_loop_lag_probe)
    app.on_shutdown.append(_on_shutdown)
    app.router.add_get("/ws/customer", customer_ws)
    app.router.add_get("/ws/agent", agent_ws)
    app.router.add_routes(api.routes)
    app.router.add_routes(staff_api.routes)
    app.router.add_routes(deliveries_api.routes)
    app.router.add_routes(openapi.routes)
    app.router.add_routes(attachments_api.routes)
    app.router.add_routes(integrations_api.routes)
    app.router.add_routes(transcripts_api.routes)
    app.router.add_routes(static_routes())
    return app
