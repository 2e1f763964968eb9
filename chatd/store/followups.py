"""Replies by email for a customer who is away: the address they gave, and the digest item.

A customer may leave an address in the widget ("email me new replies if I'm away"). Then:

* **queued with the reply**: a staff reply to that conversation queues one ``digest`` item in
  the outbox (:meth:`Followups.digest_with_event`, a statement for ``NewEvent.also``, due
  ``notify_after_s`` after the reply). The item's key is the conversation's, so the replies
  that follow while it waits do not queue more: ``INSERT ... ON CONFLICT DO NOTHING`` keeps the
  first one's due time and ``seq``, and the mail lists every reply from that ``seq`` on.
* **cancelled by the customer**: a customer who is connected when a reply arrives, or who
  comes back before the digest is due, has seen it (:meth:`Followups.cancel_digest` deletes the
  item unless a node is sending it right now).
* **sent like any other mail** by the delivery task (chatd.service.deliveries), which reads the
  replies from the store when the item is due.

The SQL is written once with ``?`` placeholders over a backend's
:class:`~chatd.store.accounts.SQLRunner` (``store.followups``), like the outbox's.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from chatd.store.accounts import SQLRunner

__all__ = ["DIGEST", "FollowupStore", "Followups", "digest_key"]

#: The outbox type of a digest item.
DIGEST = "digest"

_SET = (
    "INSERT INTO followups (conversation_id, email, created_at) VALUES (?, ?, ?)"
    " ON CONFLICT (conversation_id) DO UPDATE SET email = excluded.email,"
    " created_at = excluded.created_at"
)
_GET = "SELECT email FROM followups WHERE conversation_id = ?"
_STOP = "DELETE FROM followups WHERE conversation_id = ?"
_CANCEL = "DELETE FROM outbox WHERE conversation_id = ? AND type = 'digest' AND lease_owner IS NULL"
_QUEUE = (
    "INSERT INTO outbox (channel, receiver, delivery_id, type, conversation_id, seq,"
    " created_at, payload, due_at) VALUES ('email', ?, ?, 'digest', ?, {seq}, ?, ?, ?)"
    " ON CONFLICT (receiver, delivery_id) DO NOTHING"
)
_WITH_EVENT = _QUEUE.format(seq="(SELECT MAX(seq) FROM events WHERE conversation_id = ?)")
_LATER = _QUEUE.format(seq="?")


def digest_key(conversation_id: str) -> str:
    """The outbox key of a conversation's pending digest (one at a time)."""
    return f"{DIGEST}.{conversation_id}"


class FollowupStore(Protocol):
    """``store.followups``: see the module docstring."""

    async def set(self, conversation_id: str, email: str, *, now: float) -> None: ...

    async def address(self, conversation_id: str) -> str | None: ...

    async def stop(self, conversation_id: str) -> bool: ...

    async def cancel_digest(self, conversation_id: str) -> int: ...

    async def queue_digest(
        self, conversation_id: str, email: str, *, seq: int, created_at: float, due_at: float
    ) -> None: ...


class Followups:
    """:class:`FollowupStore` over any backend's :class:`SQLRunner`."""

    def __init__(self, run: SQLRunner) -> None:
        self._run = run

    async def set(self, conversation_id: str, email: str, *, now: float) -> None:
        """Send the conversation's replies to ``email`` while the customer is away."""
        await self._run.write("followup_set", _SET, (conversation_id, email, now))

    async def address(self, conversation_id: str) -> str | None:
        rows = await self._run.read("followup_get", _GET, (conversation_id,))
        return str(rows[0][0]) if rows else None

    async def stop(self, conversation_id: str) -> bool:
        """No more replies by email: the address and any digest waiting are forgotten."""
        counts = await self._run.transaction(
            "followup_stop", [(_STOP, (conversation_id,)), (_CANCEL, (conversation_id,))]
        )
        return counts[0] > 0

    async def cancel_digest(self, conversation_id: str) -> int:
        """The customer has seen the replies: forget the digest waiting (not one being sent)."""
        return await self._run.write("digest_cancel", _CANCEL, (conversation_id,))

    @staticmethod
    def digest_with_event(
        conversation_id: str, email: str, *, created_at: float, due_at: float
    ) -> tuple[str, tuple[Any, ...]]:
        """The statement that queues the conversation's digest with a reply (``NewEvent.also``),
        unless one is waiting already; its ``seq`` is the reply's."""
        params = (
            email,
            digest_key(conversation_id),
            conversation_id,
            conversation_id,
            created_at,
            _PAYLOAD,
            due_at,
        )
        return _WITH_EVENT, params

    async def queue_digest(
        self, conversation_id: str, email: str, *, seq: int, created_at: float, due_at: float
    ) -> None:
        """Queue a digest from ``seq`` on, on its own (replies that came while the last one was
        being sent), unless one is waiting already."""
        params = (
            email,
            digest_key(conversation_id),
            conversation_id,
            seq,
            created_at,
            _PAYLOAD,
            due_at,
        )
        await self._run.write("digest_queue", _LATER, params)


#: A digest's text is read from the store when it is sent; its item carries nothing.
_PAYLOAD = json.dumps({})
