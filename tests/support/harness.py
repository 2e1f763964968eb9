"""A real chatd app on an ephemeral port (in this process), with real SQLite and real clients."""

from __future__ import annotations

import functools
import time
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from bot_intents import Bot, load_bot
from chatd.auth import hash_token, new_agent_token
from chatd.client import AgentClient, CustomerClient
from chatd.config import BotConfig, Config, load_config
from chatd.service.chat import ChatService
from chatd.store.base import AgentRecord
from chatd.web import make_app, serving
from chatd.web.keys import LOOPS, SERVICE

#: Fast timers so tests do not wait on production intervals.
TEST_SETTINGS: dict[str, dict[str, Any]] = {
    "queue": {"update_interval_s": 0.2, "agent_grace_s": 1.0},
    "security": {"secret": "integration-test-secret", "identity_secret": "identity-test-key"},
    "limits": {
        # Per conversation (whatever its sockets): tests that reconnect and resend do not
        # refill it, so it is wide; the limit tests set their own.
        "messages_per_s": 1000.0,
        "message_burst": 1000,
        "ip_messages_per_s": 100_000.0,
        "ip_message_burst": 100_000,
        "connections_per_ip": 500,
        "tcp_connections_per_ip": 100_000,
    },
}


@functools.cache
def shared_bot() -> Bot:
    """The default knowledge base, loaded once per test session (it takes about a second)."""
    # The server's own cache (chatd.config.BotConfig.cache_path): a fit is shared with the
    # servers the other tests start.
    return load_bot(cache_dir=BotConfig().cache_path())


class Harness:
    """Starts and stops a chatd app; restart() keeps the data directory (and the port)."""

    def __init__(self, data_dir: Path, settings: dict[str, dict[str, Any]]) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self.served: serving.Served | None = None
        self.port = 0
        self.app: web.Application | None = None

    def config(self) -> Config:
        overrides: dict[str, dict[str, Any]] = {
            section: dict(values) for section, values in TEST_SETTINGS.items()
        }
        for section, values in self.settings.items():
            if isinstance(values, list):  # an array of tables, e.g. [[webhooks]]
                overrides[section] = values
                continue
            overrides.setdefault(section, {}).update(values)
        overrides.setdefault("server", {})["data_dir"] = str(self.data_dir)
        return load_config(overrides=overrides)

    async def start(self) -> None:
        config = self.config()
        self.app = make_app(config, bot=shared_bot())
        # The server's own start-up (chatd.web.serving): the TCP edge guards are in place.
        self.served = await serving.start(self.app, config, host="127.0.0.1", port=self.port)
        self.port = self.served.port

    async def stop(self) -> None:
        if self.served is not None:
            await self.served.stop()
            self.served = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def service(self) -> ChatService:
        assert self.app is not None
        return self.app[SERVICE]

    @property
    def loops(self) -> Any:
        assert self.app is not None
        return self.app[LOOPS]

    async def add_agent(
        self,
        name: str,
        *,
        role: str = "agent",
        languages: tuple[str, ...] = ("en",),
        skills: tuple[str, ...] = (),
        capacity: int = 3,
    ) -> str:
        agent_id = "ag_" + uuid.uuid4().hex[:12]
        token = new_agent_token(agent_id)
        await self.service.store.add_agent(
            AgentRecord(
                agent_id=agent_id,
                name=name,
                role=role,
                token_hash=hash_token(token),
                languages=languages,
                skills=skills,
                capacity=capacity,
                created_at=time.time(),
            )
        )
        return token

    async def customer(self, **kwargs: Any) -> CustomerClient:
        return await CustomerClient.connect(self.ws_url, **kwargs)

    async def agent(self, token: str, **kwargs: Any) -> AgentClient:
        return await AgentClient.connect(self.ws_url, token, **kwargs)
