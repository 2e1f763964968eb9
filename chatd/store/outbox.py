"""The outbox: emails and webhooks queued durably with their event, delivered at least once.

The SQL is written once, with ``?`` placeholders, in :class:`Outbox`, over the same
:class:`~chatd.store.accounts.SQLRunner` each backend gives ``store.accounts``; the store exposes
it as ``store.outbox``.

How an item lives:

* **queued with its event**: :meth:`Outbox.with_event` is a statement for
  :attr:`NewEvent.also <chatd.store.base.NewEvent.also>`: the store runs it in the transaction
  that stores the event (and only when the event is stored, not for a retried cid), so an
  acknowledged event always has its deliveries queued, and a failed append queues none. The
  item's ``seq`` is read there (``MAX(seq)`` of the conversation, i.e. the event's own).
* **claimed with a lease**: :meth:`Outbox.claim` moves up to ``limit`` due items to
  ``due_at = now + lease_s`` under a fresh claim token, in one statement. On PostgreSQL the inner
  ``SELECT ... FOR UPDATE SKIP LOCKED`` lets several nodes claim at once without waiting for
  or taking each other's rows; on SQLite the single writer serialises claims. A node that dies
  holding a claim loses it when the lease runs out: the item is due again and any node takes it.
* **done** (:meth:`Outbox.delivered`) deletes the row; **failed** (:meth:`Outbox.retry_later`)
  keeps it with its error and the next due time. Both check the claim token, so a node whose
  lease ran out cannot reschedule an item another node holds now (the receiver may then get it
  twice: at least once, never lost).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from chatd.store.accounts import SQLRunner

__all__ = ["CHANNELS", "Delivery", "Outbox", "OutboxStore"]

#: What an item is sent through.
CHANNELS = ("email", "webhook")
#: Longest error text kept per item (the receiver's answer may be anything).
_ERROR_CHARS = 500

_COLUMNS = (
    "id, channel, receiver, delivery_id, type, conversation_id, seq, created_at, payload,"
    " attempts, due_at, last_error, lease_owner"
)
_INSERT_WITH_EVENT = (
    "INSERT INTO outbox (channel, receiver, delivery_id, type, conversation_id, seq,"
    " created_at, payload, due_at, lease_owner)"
    " VALUES (?, ?, ?, ?, ?, (SELECT MAX(seq) FROM events WHERE conversation_id = ?), ?, ?, ?, ?)"
)
_NEXT_DUE = "SELECT MIN(due_at) FROM outbox"
_CLAIM = (
    "UPDATE outbox SET lease_owner = ?, due_at = ?, attempts = attempts + 1"
    " WHERE id IN (SELECT id FROM outbox WHERE due_at <= ? ORDER BY due_at, id LIMIT ?{lock})"
)
_CLAIMED = f"SELECT {_COLUMNS} FROM outbox WHERE lease_owner = ? ORDER BY due_at, id"
_DELIVERED = "DELETE FROM outbox WHERE receiver = ? AND delivery_id = ? AND lease_owner = ?"
_RETRY_LATER = (
    "UPDATE outbox SET due_at = ?, last_error = ?, lease_owner = NULL, attempts = ?"
    " WHERE receiver = ? AND delivery_id = ? AND lease_owner = ?"
)
_FAILING = (
    f"SELECT {_COLUMNS} FROM outbox WHERE attempts >= ? AND last_error IS NOT NULL"
    " ORDER BY created_at, id LIMIT ?"
)
_GET = f"SELECT {_COLUMNS} FROM outbox WHERE id = ?"
_RETRY_NOW = "UPDATE outbox SET due_at = ?, lease_owner = NULL WHERE id = ?"
_DROP = "DELETE FROM outbox WHERE id = ?"
_COUNT = "SELECT COUNT(*) FROM outbox"
_RELEASE_LEASES = "UPDATE outbox SET due_at = ?, lease_owner = NULL WHERE lease_owner IS NOT NULL"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One queued email or webhook call."""

    id: int
    channel: str
    #: The webhook's url, or the email address.
    receiver: str
    #: Stable across retries: the webhook's event id (``Chatd-Delivery``), the email's
    #: Message-ID.
    delivery_id: str
    #: The event type (webhooks: ``message.created`` ...; email: ``ticket.replied``).
    type: str
    conversation_id: str | None
    #: The seq of the event that queued it (None when queued on its own).
    seq: int | None
    created_at: float
    payload: Mapping[str, Any]
    #: Delivery attempts started (claims), this one included once claimed.
    attempts: int
    due_at: float
    last_error: str | None = None
    #: The claim token while claimed (what delivered / retry_later check).
    lease: str | None = None


class OutboxStore(Protocol):
    """``store.outbox``: the durable queue of emails and webhook calls."""

    def with_event(
        self,
        *,
        channel: str,
        receiver: str,
        delivery_id: str,
        type: str,
        conversation_id: str,
        created_at: float,
        payload: Mapping[str, Any],
        lease: str | None = None,
        lease_s: float = 0.0,
    ) -> tuple[str, tuple[Any, ...]]: ...

    async def next_due(self) -> float | None: ...

    async def claim(self, owner: str, *, now: float, lease_s: float, limit: int) -> list[Delivery]:
        """Lease up to ``limit`` due items to ``owner`` (a node id) until ``now + lease_s``;
        their ``attempts`` count this one and ``lease`` holds the claim token."""
        ...

    async def delivered(self, item: Delivery) -> bool: ...

    async def delivered_many(self, items: Sequence[Delivery]) -> int: ...

    async def retry_later(self, item: Delivery, *, due_at: float, error: str) -> bool:
        """Keep a failed item for ``due_at``; False when the lease was lost meanwhile."""
        ...

    async def failing(self, *, min_attempts: int, limit: int = 100) -> list[Delivery]: ...

    async def get(self, item_id: int) -> Delivery | None: ...

    async def retry_now(self, item_id: int, *, now: float) -> bool: ...

    async def drop(self, item_id: int) -> bool: ...

    async def count(self) -> int: ...

    async def release_leases(self, *, now: float) -> int: ...


class Outbox:
    """:class:`OutboxStore` over any backend's :class:`SQLRunner`.

    ``skip_locked``: the backend has ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL), so
    concurrent claims by several nodes skip each other's rows instead of waiting.
    """

    def __init__(self, run: SQLRunner, *, skip_locked: bool = False) -> None:
        self._run = run
        self._claim = _CLAIM.format(lock=" FOR UPDATE SKIP LOCKED" if skip_locked else "")

    @staticmethod
    def with_event(
        *,
        channel: str,
        receiver: str,
        delivery_id: str,
        type: str,
        conversation_id: str,
        created_at: float,
        payload: Mapping[str, Any],
        lease: str | None = None,
        lease_s: float = 0.0,
    ) -> tuple[str, tuple[Any, ...]]:
        """The statement that queues an item with an event (for ``NewEvent.also``): due now,
        or already claimed under ``lease`` for ``lease_s`` (the node that queues it sends it
        at once, with no claim: one write per item fewer)."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown outbox channel {channel!r}")
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        params = (
            channel,
            receiver,
            delivery_id,
            type,
            conversation_id,
            conversation_id,
            created_at,
            body,
            created_at + lease_s if lease is not None else created_at,
            lease,
        )
        return _INSERT_WITH_EVENT, params

    async def next_due(self) -> float | None:
        """When the earliest item is due (leased ones: when their lease ends); None if empty."""
        rows = await self._run.read("outbox_next_due", _NEXT_DUE, ())
        return float(rows[0][0]) if rows and rows[0][0] is not None else None

    async def claim(self, owner: str, *, now: float, lease_s: float, limit: int) -> list[Delivery]:
        token = f"{owner}:{uuid.uuid4().hex}"
        claimed = await self._run.write(
            "outbox_claim", self._claim, (token, now + lease_s, now, limit)
        )
        if not claimed:
            return []
        rows = await self._run.read("outbox_claimed", _CLAIMED, (token,))
        return [_delivery(row) for row in rows]

    async def delivered(self, item: Delivery) -> bool:
        """Forget an item its receiver accepted; False when the lease was lost meanwhile."""
        params = (item.receiver, item.delivery_id, item.lease)
        return await self._run.write("outbox_delivered", _DELIVERED, params) > 0

    async def delivered_many(self, items: Sequence[Delivery]) -> int:
        """Forget several accepted items in one statement (those whose lease is still held);
        how many were forgotten."""
        if not items:
            return 0
        sql = "DELETE FROM outbox WHERE " + " OR ".join(
            ["(receiver = ? AND delivery_id = ? AND lease_owner = ?)"] * len(items)
        )
        params = [v for item in items for v in (item.receiver, item.delivery_id, item.lease)]
        return await self._run.write("outbox_delivered", sql, params)

    async def retry_later(self, item: Delivery, *, due_at: float, error: str) -> bool:
        params = (
            due_at,
            error[:_ERROR_CHARS],
            item.attempts,
            item.receiver,
            item.delivery_id,
            item.lease,
        )
        return await self._run.write("outbox_retry_later", _RETRY_LATER, params) > 0

    async def failing(self, *, min_attempts: int, limit: int = 100) -> list[Delivery]:
        """Items that failed at least ``min_attempts`` times and are still queued, oldest first."""
        rows = await self._run.read("outbox_failing", _FAILING, (min_attempts, limit))
        return [_delivery(row) for row in rows]

    async def get(self, item_id: int) -> Delivery | None:
        rows = await self._run.read("outbox_get", _GET, (item_id,))
        return _delivery(rows[0]) if rows else None

    async def retry_now(self, item_id: int, *, now: float) -> bool:
        """Make an item due at once (an operator's retry); False when there is no such item."""
        return await self._run.write("outbox_retry_now", _RETRY_NOW, (now, item_id)) > 0

    async def drop(self, item_id: int) -> bool:
        """Give up on an item (an operator's choice: a receiver that is gone for good); False
        when there is no such item. A node sending it right now may still deliver it."""
        return await self._run.write("outbox_drop", _DROP, (item_id,)) > 0

    async def count(self) -> int:
        """Items still queued (undelivered)."""
        rows = await self._run.read("outbox_count", _COUNT, ())
        return int(rows[0][0])

    async def release_leases(self, *, now: float) -> int:
        """Make every claimed item due now: for a process that knows it is the only one (the
        embedded store) restarting after a crash, so what its predecessor held is not left
        waiting for the lease to end."""
        return await self._run.write("outbox_release_leases", _RELEASE_LEASES, (now,))


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(
        id=int(row[0]),
        channel=str(row[1]),
        receiver=str(row[2]),
        delivery_id=str(row[3]),
        type=str(row[4]),
        conversation_id=row[5],
        seq=None if row[6] is None else int(row[6]),
        created_at=float(row[7]),
        payload=json.loads(row[8]),
        attempts=int(row[9]),
        due_at=float(row[10]),
        last_error=row[11],
        lease=row[12],
    )
