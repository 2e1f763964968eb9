"""How one queued delivery goes out: a signed webhook POST (aiohttp) or an email (aiosmtplib).

Each sender either returns (the receiver accepted: 2xx, or the SMTP server took the mail) or
raises :class:`DeliveryFailed` with a short reason for the outbox to keep; the retry policy is
not theirs (chatd/service/deliveries.py).
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from email.message import EmailMessage

import aiohttp
import aiosmtplib

from chatd.config import EmailConfig, WebhookConfig
from chatd.domain.delivery import message_id, signature_header, webhook_body
from chatd.store.outbox import Delivery

__all__ = ["DeliveryFailed", "EmailSender", "WebhookSender"]

#: A receiver that has not answered within this long has failed this attempt (it is retried).
WEBHOOK_TIMEOUT_S = 10.0
#: Each step of the SMTP exchange (connect, each command); the whole attempt is bounded by
#: chatd.service.deliveries.SEND_DEADLINE_S.
EMAIL_TIMEOUT_S = 15.0
#: How much of a failing receiver's answer is read (and kept as the error): enough to debug.
_ANSWER_BYTES = 200


class DeliveryFailed(Exception):
    """The receiver did not accept this attempt; the message says why."""


class WebhookSender:
    """POSTs webhook calls over one pooled aiohttp client session."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_S),
            # Keep-alive to a handful of receivers; bounded so a slow one cannot take them all.
            connector=aiohttp.TCPConnector(limit=64, limit_per_host=16),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, item: Delivery, hook: WebhookConfig) -> None:
        """One signed POST of ``item`` to ``hook``; DeliveryFailed unless it answers 2xx."""
        session = self._session
        if session is None:
            raise DeliveryFailed("the webhook sender is stopped")
        data = dict(item.payload)
        if item.seq is not None:
            data["seq"] = item.seq
        body = webhook_body(
            delivery_id=item.delivery_id, type=item.type, created_at=item.created_at, data=data
        )
        headers = {
            "Content-Type": "application/json",
            "Chatd-Event": item.type,
            "Chatd-Delivery": item.delivery_id,
            "Chatd-Signature": signature_header(hook.secret, int(self._clock()), body),
            "User-Agent": "chatd-webhooks",
        }
        try:
            async with session.post(
                hook.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return
                answer = await response.content.read(_ANSWER_BYTES)
                text = answer.decode("utf-8", "replace").strip()
                raise DeliveryFailed(f"HTTP {response.status}" + (f": {text}" if text else ""))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None


class EmailSender:
    """Sends queued mails through the configured SMTP server, one connection per mail."""

    def __init__(self, config: EmailConfig, password: str) -> None:
        self._config = config
        self._password = password

    def message(self, item: Delivery) -> EmailMessage:
        """The mail of a queued item: the same headers and body on every retry."""
        payload = item.payload
        msg = EmailMessage()
        msg["From"] = self._config.from_address
        msg["To"] = item.receiver
        msg["Subject"] = str(payload["subject"])
        # a digest's item is reused from one mail to the next: its key names which mail it is
        key = str(payload.get("message_key") or item.delivery_id)
        msg["Message-ID"] = message_id(key, self._config.from_address)
        msg["Date"] = email.utils.formatdate(item.created_at, usegmt=True)
        msg.set_content(str(payload["body"]))
        return msg

    async def send(self, item: Delivery) -> None:
        """Hand the mail to the SMTP server; DeliveryFailed unless it accepted it."""
        config = self._config
        try:
            await aiosmtplib.send(
                self.message(item),
                hostname=config.smtp_host,
                port=config.smtp_port,
                start_tls=config.starttls,
                username=config.username or None,
                password=self._password or None,
                timeout=EMAIL_TIMEOUT_S,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
