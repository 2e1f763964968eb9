"""Replies by email for a customer who left: one digest of what the staff wrote meanwhile.

A customer who leaves an address in the widget (``POST /api/conversations/{id}/followup``) and
is not connected when staff reply gets those replies by email, ``[email] notify_after_s`` after
the first one, in one mail with a link that reopens the chat. The pieces:

* the address is stored per conversation (``store.followups``) and announced to the customer's
  connections (a ``followup`` frame, so every open tab knows);
* a staff reply queues the digest item in its own transaction (:meth:`Followups.also_for`, via
  chatd.service.deliveries; at most one item waits per conversation);
* a connected customer cancels it: the connection that delivers a staff reply live, or a
  customer who comes back (``hello``), calls :meth:`Followups.seen`;
* when the item is due, the delivery task asks :meth:`render` for the mail (the replies are read
  from the store then, so the mail holds every reply up to that moment) and, once the SMTP server
  took it, :meth:`sent` queues the next digest if replies came while it was being sent.

Presence is what each node sees of its own connections: a customer whose chat is open in two tabs
on two nodes and who closes one may get a digest of replies the other tab showed (docs/cluster.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from chatd.auth import sign_resume_token
from chatd.config import Config
from chatd.domain.mail_texts import mail_text
from chatd.domain.redact import redact
from chatd.logs import get_logger
from chatd.service.conversations import ConversationLog
from chatd.store.base import Event, NewEvent, Store, StoreError
from chatd.store.followups import Followups as FollowupRows
from chatd.store.outbox import Delivery

__all__ = ["Followups", "is_staff_reply", "resume_link"]

log = get_logger(__name__)

#: Replies listed in one digest at most (the link opens the rest).
DIGEST_REPLIES = 50
#: Characters of one reply quoted in a digest.
REPLY_CHARS = 2000


def is_staff_reply(kind: str, author: str, internal: bool, data: Any) -> bool:
    """What a customer away would want mailed: a message or file from a person of the staff,
    or a message an integration posted (not the bot's answers or the system's notices)."""
    if internal:
        return False
    if author == "agent":
        return kind in ("message", "attachment")
    return author == "system" and kind == "message" and "posted_by" in data


def resume_link(config: Config, secret: str, conversation_id: str, now: float) -> str:
    """A signed, expiring link under ``[server] public_url`` that reopens the conversation."""
    ttl_s = config.security.resume_token_ttl_s
    token = sign_resume_token(secret, conversation_id, now=now, ttl_s=ttl_s)
    base = config.server.public_url.rstrip("/")
    return f"{base}/?{urllib.parse.urlencode({'chatd_resume': token})}"


class Followups:
    """Addresses for replies, and the digest's queueing, cancelling and text."""

    def __init__(
        self,
        *,
        config: Config,
        log: ConversationLog,
        store: Store,
        secret: str,
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.log = log
        self.store = store
        self.secret = secret
        self.clock = clock
        self.enabled = bool(config.email.smtp_host)
        #: Cancels in flight, one per conversation (a burst of replies makes one write).
        self._cancelling: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()

    async def set(self, conversation_id: str, address: str | None) -> None:
        """The customer's choice: replies to ``address`` while away, or (None) no more. Recorded
        in the conversation for the staff (an internal audit event) and told to every open
        connection of the customer's (a ``followup`` frame)."""
        if address is not None:
            await self.store.followups.set(conversation_id, address, now=self.clock())
        elif not await self.store.followups.stop(conversation_id):
            return
        await self.log.audit(
            conversation_id,
            author="customer",
            ts=self.clock(),
            data={"action": "followup_email", "to": address},
        )
        frame = {"type": "followup", "email": address}
        await self.log.bus.publish(f"conv:{conversation_id}", {"frame": frame})

    async def address(self, conversation_id: str) -> str | None:
        """Where the conversation's replies go while the customer is away (None: nowhere)."""
        if not self.enabled:
            return None
        return await self.store.followups.address(conversation_id)

    # -- queueing (under the conversation's lock, before the reply's append) ------------------

    async def also_for(
        self, conversation_id: str, new: NewEvent
    ) -> tuple[str, tuple[Any, ...]] | None:
        """The digest statement a staff reply adds to its transaction, or None."""
        if not self.enabled or not is_staff_reply(new.kind, new.author, new.internal, new.data):
            return None
        address = await self.store.followups.address(conversation_id)
        if address is None:
            return None
        return FollowupRows.digest_with_event(
            conversation_id,
            address,
            created_at=new.ts,
            due_at=new.ts + self.config.email.notify_after_s,
        )

    # -- the customer is here ------------------------------------------------------------------

    def seen(self, conversation_id: str) -> None:
        """The customer is connected (a reply reached them live, or they came back): forget the
        digest waiting. In the background, one write at a time per conversation (a reply that
        comes while one runs makes it run once more: its digest may have been queued after the
        delete)."""
        if not self.enabled:
            return
        if conversation_id in self._cancelling:
            self._again.add(conversation_id)
            return
        task = asyncio.create_task(self._cancel(conversation_id))
        self._cancelling[conversation_id] = task

    async def _cancel(self, conversation_id: str) -> None:
        try:
            while True:
                self._again.discard(conversation_id)
                try:
                    if await self.store.followups.cancel_digest(conversation_id):
                        log.info("digest_cancelled", conversation_id=conversation_id)
                except StoreError as exc:  # the digest goes out: a mail too many, none lost
                    log.warning(
                        "digest_cancel_failed", conversation_id=conversation_id, error=str(exc)
                    )
                if conversation_id not in self._again:
                    return
        finally:
            self._cancelling.pop(conversation_id, None)

    async def drain(self) -> None:
        """Wait for cancels in flight (shutdown, tests)."""
        while self._cancelling:
            await asyncio.gather(*list(self._cancelling.values()), return_exceptions=True)

    # -- the mail --------------------------------------------------------------------------------

    async def render(self, item: Delivery) -> tuple[Delivery, int] | None:
        """The digest ``item`` with its mail (subject, body, link, the Message-ID's key) and the
        seq of the last reply in it; None when there is nothing to send (the replies are gone)."""
        conversation_id = item.conversation_id or ""
        first = item.seq or 1
        events = await self.store.events(
            conversation_id, after_seq=first - 1, include_internal=False, limit=1000
        )
        replies = [e for e in events if is_staff_reply(e.kind, e.author, e.internal, e.data)]
        if not replies:
            return None
        conv = await self.store.get_conversation(conversation_id)
        locale = conv.locale if conv is not None else "en"
        shown = replies[-DIGEST_REPLIES:]
        lines = [_line(e, locale) for e in shown]
        if len(replies) > len(shown):
            lines.insert(0, mail_text(locale, "digest_earlier", n=len(replies) - len(shown)))
        link = resume_link(self.config, self.secret, conversation_id, self.clock())
        count = len(replies)
        subject = (
            mail_text(locale, "digest_one")
            if count == 1
            else mail_text(locale, "digest_many", n=count)
        )
        body = (
            mail_text(locale, "digest_intro")
            + "\n\n"
            + "\n\n".join(lines)
            + f"\n\n{mail_text(locale, 'continue', link=link)}\n"
            + f"{mail_text(locale, 'digest_stop')}\n"
        )
        payload = {
            "subject": subject,
            "body": body,
            "link": link,
            "message_key": f"{item.delivery_id}.{first}",
        }
        return dataclasses.replace(item, payload=payload), replies[-1].seq

    async def sent(self, item: Delivery, through_seq: int) -> None:
        """The SMTP server took the digest (its item is deleted): replies stored after
        ``through_seq`` while it was being sent are queued for the next one."""
        conversation_id = item.conversation_id or ""
        later = await self.store.events(
            conversation_id, after_seq=through_seq, include_internal=False, limit=100
        )
        replies = [e for e in later if is_staff_reply(e.kind, e.author, e.internal, e.data)]
        if replies:
            await self.store.followups.queue_digest(
                conversation_id,
                item.receiver,
                seq=replies[0].seq,
                created_at=replies[0].ts,
                due_at=replies[0].ts + self.config.email.notify_after_s,
            )


def _line(event: Event, locale: str) -> str:
    """One reply as the digest quotes it: when, who, what (staff text masked here too)."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(event.ts))
    who = event.author_name or mail_text(locale, "support")
    if event.kind == "attachment":
        name = (event.data.get("attachment") or {}).get("name", "a file")
        return f"{when}  {mail_text(locale, 'digest_file', who=who, name=name)}"
    text = redact((event.text or "")[:REPLY_CHARS]).text
    return f"{when}  {who}:\n{text}"
