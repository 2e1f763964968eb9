"""Emails and webhooks: queued with the events that cause them, delivered at least once.

Two halves, both here:

* **Queueing** (:meth:`Deliveries.attach`): the ``ConversationLog``
  hands every event it is about to append to this part, which adds the outbox rows the event
  causes to the event's own transaction (``NewEvent.also``, chatd/store/outbox.py): one webhook
  call per subscribed receiver (``message.created`` for a message, ``conversation.created`` for
  a conversation's first event, ...), and for the answer to a ticket whose contact is an email
  address, one mail. An event that is acknowledged has its deliveries stored; a retried cid
  queues nothing twice.
* **Delivery** (:meth:`Deliveries.start`): one task per node claims due items with a lease
  (``store.outbox.claim``), sends them concurrently (at most :data:`MAX_IN_FLIGHT`), and forgets
  each one its receiver accepted or keeps it for a retry after 1 s, 2 s, 4 s ... capped by the
  receiver's ``max_retry_interval_s``. Items queued on this node wake the task at once; others
  (retries, other nodes' items, leases of dead nodes) are found by polling every
  :data:`POLL_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from chatd.config import Config, WebhookConfig
from chatd.domain.delivery import (
    TYPE_OF_KIND,
    WEBHOOK_EVENTS,
    is_email_address,
    retry_delay_s,
)
from chatd.domain.mail_texts import mail_text
from chatd.domain.redact import redact
from chatd.logs import get_logger
from chatd.service.followups import Followups, resume_link
from chatd.service.metrics import Metrics
from chatd.service.senders import DeliveryFailed, EmailSender, WebhookSender
from chatd.store.base import ConversationRecord, Event, NewEvent, Store, StoreError
from chatd.store.followups import DIGEST
from chatd.store.outbox import Delivery

__all__ = ["FAILING_AFTER", "Deliveries"]

log = get_logger(__name__)

#: Items sent at once by one node. Bounded so a slow receiver cannot hold unbounded sockets.
MAX_IN_FLIGHT = 64
#: How often the queue is looked at when nothing woke the task (retries, other nodes' items).
POLL_S = 0.5
#: One attempt, whatever the sender, ends after this long (a receiver that trickles its answer
#: byte by byte cannot hold a claim beyond it).
SEND_DEADLINE_S = 20.0
#: A claimed item is this node's for this long; then another node may take it over (a node that
#: died holding it). Longer than an attempt can last, so a live node never loses an item it is
#: still sending.
LEASE_S = 30.0
#: Accepted items are forgotten in batches: at most this many, at most this long after the
#: first was accepted. A node that dies in between sends those again (at least once).
DONE_BATCH = 64
DONE_FLUSH_S = 0.2
#: Items that failed this many times are listed as failing (they are still retried).
FAILING_AFTER = 3
#: Event data fields that go into a webhook call's ``data`` besides ``conversation_id``.
_KEPT_DATA = ("agent_id", "agent_name", "reason", "priority", "intent", "by", "score", "comment")


class Deliveries:
    """The outbox's producer (a ConversationLog hook) and its delivery task on this node."""

    def __init__(
        self,
        *,
        config: Config,
        store: Store,
        secret: str,
        metrics: Metrics,
        clock: Callable[[], float],
        followups: Followups,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.followups = followups
        self.metrics = metrics
        self.store = store
        self.secret = secret
        self.clock = clock
        self._hooks = {hook.url: hook for hook in config.webhooks}
        #: Receivers of each event type.
        self._receivers: dict[str, tuple[WebhookConfig, ...]] = {
            kind: tuple(h for h in config.webhooks if not h.events or kind in h.events)
            for kind in WEBHOOK_EVENTS
        }
        self._email_on = bool(config.email.smtp_host)
        env = os.environ if environ is None else environ
        self._email = EmailSender(config.email, env.get("CHATD_SMTP_PASSWORD", ""))
        self._webhooks = WebhookSender(clock)
        self._wake = asyncio.Event()
        #: Something was queued or retried on this node: claim without looking first.
        self._kicked = False
        #: Items accepted by their receivers, forgotten in the pump's next write (one commit
        #: with its next claim).
        self._done: list[Delivery] = []
        self._done_since = 0.0
        #: Items queued already claimed by this node, per attached event, until its append ends.
        self._staged: dict[int, list[Delivery]] = {}
        self._staged_count = 0
        self._direct_lease = ""
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._owner = "node"

    @property
    def enabled(self) -> bool:
        """Is anything configured to be sent (email or at least one webhook)?"""
        return self._email_on or bool(self._hooks)

    # -- queueing (called by the ConversationLog under the conversation's lock) ----------------

    async def attach(
        self, conversation_id: str, new: NewEvent, conv: ConversationRecord | None
    ) -> NewEvent:
        """``new`` with the outbox rows it causes in its ``also`` (unchanged when none)."""
        types = []
        if conv is not None and conv.last_seq == 0:
            types.append("conversation.created")
        kind = TYPE_OF_KIND.get(new.kind)
        if kind is not None and not (new.internal and new.kind == "message"):
            types.append(kind)
        email = self._email_on and new.kind == "ticket_reply"
        # a reply to a customer who left an address: their digest (chatd.service.followups)
        digest = await self.followups.also_for(conversation_id, new) if self._email_on else None
        if new.kind == "audit" and new.data.get("action") == "transcript_email":
            if not self._email_on:
                return new
            locale = await self._locale(conversation_id, conv)
            events = await self.store.events(conversation_id, include_internal=False)
            text = transcript_text(events, locale)
            mail = self._transcript_mail(conversation_id, new, str(new.data["to"]), text, locale)
            return dataclasses.replace(new, also=(*new.also, mail))
        if not email and digest is None and not any(self._receivers[t] for t in types):
            return new
        ticket_id: int | None = None
        contact = ""
        if new.kind == "ticket_reply":
            ticket = await self.store.ticket_for_conversation(conversation_id)
            if ticket is not None:
                ticket_id, contact = ticket.ticket_id, ticket.contact
        also = list(new.also)
        if digest is not None:
            also.append(digest)
        direct: list[Delivery] = []
        for event_type in types:
            receivers = self._receivers[event_type]
            if not receivers:
                continue
            data = self._webhook_data(event_type, conversation_id, new, ticket_id)
            delivery_id = uuid.uuid4().hex  # one id per event, the same for every receiver
            for hook in receivers:
                # Sent by this node straight after the commit when it has room: queued already
                # claimed (no claim write, no read); else due now, for whichever node claims it.
                lease = self._direct_lease if self._room() > len(direct) else None
                also.append(
                    self.store.outbox.with_event(
                        channel="webhook",
                        receiver=hook.url,
                        delivery_id=delivery_id,
                        type=event_type,
                        conversation_id=conversation_id,
                        created_at=new.ts,
                        payload=data,
                        lease=lease,
                        lease_s=LEASE_S,
                    )
                )
                if lease is not None:
                    direct.append(
                        Delivery(
                            id=0,
                            channel="webhook",
                            receiver=hook.url,
                            delivery_id=delivery_id,
                            type=event_type,
                            conversation_id=conversation_id,
                            seq=None,
                            created_at=new.ts,
                            payload=data,
                            attempts=1,
                            due_at=new.ts + LEASE_S,
                            lease=lease,
                        )
                    )
        if email and ticket_id is not None and is_email_address(contact):
            locale = await self._locale(conversation_id, conv)
            also.append(self._ticket_mail(conversation_id, new, ticket_id, contact.strip(), locale))
        if len(also) == len(new.also):
            return new
        attached = dataclasses.replace(new, also=tuple(also))
        if direct:
            self._staged[id(attached)] = direct
            self._staged_count += len(direct)
        return attached

    def stored(self, new: NewEvent, event: Event | None) -> None:
        """The append of ``new`` (as :meth:`attach` returned it) ended: stored as ``event``, or
        not at all (None: a retried cid, or an error). Send what this node claimed with it."""
        direct = self._staged.pop(id(new), [])
        self._staged_count -= len(direct)
        if event is None:
            return
        for item in direct:
            self._start(dataclasses.replace(item, seq=event.seq))
        if len(direct) < len(new.also):  # queued for a claim (an email, or no room here)
            self._kicked = True
            self._wake.set()

    def _room(self) -> int:
        """How many more items this node may send at once (0 while it is not delivering)."""
        if self._task is None:
            return 0
        return MAX_IN_FLIGHT - len(self._in_flight) - self._staged_count

    def _start(self, item: Delivery) -> None:
        task = asyncio.create_task(self._deliver(item))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    def _webhook_data(
        self, event_type: str, conversation_id: str, new: NewEvent, ticket_id: int | None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"conversation_id": conversation_id}
        if event_type in ("message.created", "ticket.replied", "ticket.created"):
            data["author"] = new.author
            data["text"] = _masked(new)
            if new.author_name:
                data["author_name"] = new.author_name
        if event_type == "ticket.replied" and ticket_id is not None:
            data["ticket_id"] = ticket_id
        if event_type == "ticket.created" and "ticket_id" in new.data:
            data["ticket_id"] = new.data["ticket_id"]
        if event_type != "conversation.created":
            data.update({k: new.data[k] for k in _KEPT_DATA if k in new.data})
        if event_type == "attachment.created":
            data.update({k: v for k, v in new.data.items() if k not in data})
        return data

    async def _locale(self, conversation_id: str, conv: ConversationRecord | None) -> str:
        """The customer's locale, for the words of their mail."""
        if conv is None:
            conv = await self.store.get_conversation(conversation_id)
        return conv.locale if conv is not None else "en"

    def _transcript_mail(
        self, conversation_id: str, new: NewEvent, address: str, text: str, locale: str
    ) -> tuple[str, tuple[Any, ...]]:
        """The transcript a customer asked for, to the address they gave (its text was built
        from the stored, masked events when they asked)."""
        link = resume_link(self.config, self.secret, conversation_id, new.ts)
        body = f"{text}\n\n{mail_text(locale, 'continue', link=link)}\n"
        return self.store.outbox.with_event(
            channel="email",
            receiver=address,
            delivery_id=uuid.uuid4().hex,
            type="transcript",
            conversation_id=conversation_id,
            created_at=new.ts,
            payload={
                "subject": mail_text(locale, "transcript_subject"),
                "body": body,
                "link": link,
            },
        )

    def _ticket_mail(
        self, conversation_id: str, new: NewEvent, ticket_id: int, address: str, locale: str
    ) -> tuple[str, tuple[Any, ...]]:
        ttl_s = self.config.security.resume_token_ttl_s
        link = resume_link(self.config, self.secret, conversation_id, new.ts)
        body = (
            f"{_masked(new)}\n\n"
            f"{mail_text(locale, 'continue', link=link)}\n"
            f"{mail_text(locale, 'link_days', days=round(ttl_s / 86400))}\n"
        )
        return self.store.outbox.with_event(
            channel="email",
            receiver=address,
            delivery_id=uuid.uuid4().hex,
            type="ticket.replied",
            conversation_id=conversation_id,
            created_at=new.ts,
            payload={
                "subject": mail_text(locale, "ticket_subject", ticket=ticket_id),
                "body": body,
                "link": link,
                "ticket_id": ticket_id,
            },
        )

    # -- delivery -------------------------------------------------------------------------------

    async def start(self, owner: str, *, only_node: bool) -> None:
        """Start delivering as ``owner`` (this node's id). ``only_node``: no other process uses
        the store (embedded), so leases left by a crashed predecessor are released at once."""
        if self._task is not None:
            return
        self._owner = owner
        self._direct_lease = f"{owner}:direct:{uuid.uuid4().hex}"
        await self._webhooks.start()
        if only_node:
            released = await self.store.outbox.release_leases(now=self.clock())
            if released:
                log.info("deliveries_released", items=released)
        self._task = asyncio.create_task(self._run(), name="deliveries")

    async def stop(self) -> None:
        """Stop claiming; cancel sends in flight (their leases run out and they are retried)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sending in list(self._in_flight):
            sending.cancel()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        done, self._done = self._done, []
        if done:  # else they would be sent again after a restart (at least once, but needless)
            with _store_errors_logged():
                await self.store.outbox.delivered_many(done)
        await self._webhooks.close()

    async def _run(self) -> None:
        while True:
            try:
                await self._pump()
            except StoreError as exc:
                log.warning("deliveries_store_error", error=str(exc))
                await asyncio.sleep(POLL_S)

    async def _pump(self) -> None:
        """Forget what was delivered and claim what is due (as much as there is room for), in
        one write batch; start sending; else wait for a wake-up, a flush or the next poll."""
        self._wake.clear()
        kicked, self._kicked = self._kicked, False
        room = MAX_IN_FLIGHT - len(self._in_flight) - self._staged_count
        now = self.clock()
        claim = room > 0
        if claim and not kicked:  # a poll: a read first, so an idle node writes nothing
            due = await self.store.outbox.next_due()
            claim = due is not None and due <= now
        flush = bool(self._done) and (
            claim or len(self._done) >= DONE_BATCH or now >= self._done_since + DONE_FLUSH_S
        )
        outbox = self.store.outbox
        writes: list[Awaitable[Any]] = []
        if flush:
            done, self._done = self._done, []
            writes.append(outbox.delivered_many(done))
        if claim:
            writes.append(outbox.claim(self._owner, now=now, lease_s=LEASE_S, limit=room))
        # Submitted together, the SQLite writer commits both in one transaction.
        results = await asyncio.gather(*writes) if writes else []
        items: list[Delivery] = results[-1] if claim else []
        for item in items:
            self._start(item)
        if items:
            return
        wait = POLL_S
        if self._done:
            wait = max(0.0, min(wait, self._done_since + DONE_FLUSH_S - self.clock()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), wait)

    async def _deliver(self, item: Delivery) -> None:
        cap = self.config.email.max_retry_interval_s
        digest_through = 0
        try:
            async with asyncio.timeout(SEND_DEADLINE_S):
                if item.channel == "email":
                    if not self._email_on:
                        raise DeliveryFailed("email is off ([email] smtp_host is empty)")
                    if item.type == DIGEST:
                        rendered = await self.followups.render(item)
                        if rendered is None:  # nothing left to tell: forget it
                            await self.store.outbox.delivered(item)
                            return
                        item, digest_through = rendered
                    await self._email.send(item)
                else:
                    hook = self._hooks.get(item.receiver)
                    if hook is None:
                        raise DeliveryFailed("no [[webhooks]] receiver with this url any more")
                    cap = hook.max_retry_interval_s
                    await self._webhooks.send(item, hook)
        except TimeoutError:
            await self._failed(item, f"no answer within {SEND_DEADLINE_S:g} s", cap)
            return
        except DeliveryFailed as exc:
            await self._failed(item, str(exc), cap)
            return
        except StoreError as exc:  # reading a digest's replies: its lease runs out, it is retried
            log.warning("deliveries_store_error", error=str(exc))
            return
        if digest_through:
            await self._digest_sent(item, digest_through)
            return
        now = self.clock()
        self.metrics.deliveries.labels(item.channel, "accepted").inc()
        self.metrics.delivery_latency.labels(item.channel).observe(max(0.0, now - item.created_at))
        if not self._done:
            self._done_since = now
        self._done.append(item)
        if len(self._done) >= DONE_BATCH:
            self._wake.set()

    async def _digest_sent(self, item: Delivery, through_seq: int) -> None:
        """A digest was accepted: forget its item now, not in the next batch (the next reply
        queues a new one only once it is gone), then queue what came meanwhile."""
        self.metrics.deliveries.labels("email", "accepted").inc()  # (its wait is by design)
        with _store_errors_logged():
            await self.store.outbox.delivered(item)
            await self.followups.sent(item, through_seq)

    async def _failed(self, item: Delivery, error: str, cap_s: float) -> None:
        """Keep a failed item for its next attempt: 1 s, 2 s, 4 s ... at most ``cap_s``."""
        delay = retry_delay_s(item.attempts, cap_s)
        self.metrics.deliveries.labels(item.channel, "failed").inc()
        log.info(
            "delivery_failed",
            channel=item.channel,
            type=item.type,
            item_id=item.id,
            attempts=item.attempts,
            retry_in_s=delay,
            error=error,
        )
        with _store_errors_logged():
            await self.store.outbox.retry_later(item, due_at=self.clock() + delay, error=error)

    # -- operators ------------------------------------------------------------------------------

    async def failing(self, limit: int = 100) -> list[Delivery]:
        """Items that failed at least :data:`FAILING_AFTER` times, oldest first."""
        return await self.store.outbox.failing(min_attempts=FAILING_AFTER, limit=limit)

    async def retry(self, item_id: int) -> bool:
        """Try an item again now; False when there is no such item (delivered meanwhile)."""
        retried = await self.store.outbox.retry_now(item_id, now=self.clock())
        if retried:
            self._kicked = True
            self._wake.set()
        return retried


def transcript_text(events: list[Event], locale: str = "en") -> str:
    """A conversation's public events as plain text, one line each (times in UTC), in the
    customer's language. Staff texts are masked (customers' were masked when stored)."""
    lines = []
    names = {"customer": mail_text(locale, "you"), "bot": mail_text(locale, "assistant")}
    for e in events:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(e.ts))
        who = e.author_name or names.get(e.author) or mail_text(locale, "support")
        if e.kind in ("message", "ticket_created", "ticket_reply") and e.text:
            text = e.text if e.author in ("customer", "bot") else redact(e.text).text
            lines.append(f"{when}  {who}: {text}")
        elif e.kind == "attachment":
            name = (e.data.get("attachment") or {}).get("name", "a file")
            lines.append(f"{when}  {mail_text(locale, 'sent_file', who=who, name=name)}")
    return "\n".join(lines) or mail_text(locale, "no_messages")


def _masked(new: NewEvent) -> str:
    """The event's text with secrets masked. Customers' texts were masked before they were
    stored; staff texts are masked here (bounded by the message size limit, linear time)."""
    text = new.text or ""
    return text if new.author in ("customer", "bot") else redact(text).text


@contextlib.contextmanager
def _store_errors_logged() -> Any:
    """A store error while recording an outcome: the lease runs out and the item is retried."""
    try:
        yield
    except StoreError as exc:
        log.warning("deliveries_store_error", error=str(exc))
