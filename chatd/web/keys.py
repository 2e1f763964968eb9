"""Typed application state: every long-lived object of the app, declared in one place."""

from __future__ import annotations

import weakref

from aiohttp import web

from bot_intents import Bot
from chatd.config import Config
from chatd.service.chat import ChatService
from chatd.service.metrics import Metrics
from chatd.service.queueing import QueueLoops
from chatd.web.limits import ConnectionLimits

__all__ = ["BOT", "CONFIG", "LIMITS", "LOOPS", "METRICS", "SERVICE", "SOCKETS"]

BOT = web.AppKey("bot", Bot)
CONFIG = web.AppKey("config", Config)
SERVICE = web.AppKey("service", ChatService)
LOOPS = web.AppKey("loops", QueueLoops)
METRICS = web.AppKey("metrics", Metrics)
LIMITS = web.AppKey("limits", ConnectionLimits)
#: Open WebSockets, closed with 1001 on shutdown.
SOCKETS = web.AppKey("sockets", weakref.WeakSet[web.WebSocketResponse])
