"""A real SMTP server for tests (aiosmtpd on a free port) and its inbox."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler keeping every mail it accepts; it may refuse the first few (451)."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.accepted: list[EmailMessage] = []
        self.refused: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self._lock:
            if self.refuse > 0:
                self.refuse -= 1
                self.refused.append(msg)
                return "451 4.3.0 try again later"
            self.accepted.append(msg)
        return "250 OK"


class Smtp:
    """A real SMTP server on a fixed port that can be stopped and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.controller: Controller | None = None

    async def start(self, inbox: Inbox) -> None:
        controller = Controller(inbox, hostname="127.0.0.1", port=self.port)
        await asyncio.to_thread(controller.start)
        self.controller = controller

    async def stop(self) -> None:
        if self.controller is not None:
            await asyncio.to_thread(self.controller.stop)
            self.controller = None


async def until(condition: Callable[[], bool], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def email_settings(smtp: Smtp, **extra: Any) -> dict[str, dict[str, Any]]:
    """Config overrides that send chatd's mail to ``smtp`` (retries within half a second),
    with ``extra`` added to the ``[email]`` section."""
    return {
        "server": {"public_url": "https://chat.example.com"},
        "email": {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "from_address": "support@example.com",
            "max_retry_interval_s": 0.5,
            **extra,
        },
    }
