"""Retention and erasure: what is deleted, when, and the audit entry that says so.

* The sweep (every ``[retention] sweep_interval_s`` on every node; deletes are idempotent, so
  nodes sweeping at once only repeat each other's work) deletes conversations closed more than
  ``closed_conversations_days`` ago, :data:`~chatd.store.erasure.BATCH` per transaction with a
  yield to the event loop between transactions, then audit entries older than ``audit_days``
  and expired sign-in sessions.
* Erasure (``chatd customers erase``) deletes one customer's conversations at once, by
  verified user id or by conversation id; conversations still open are left alone and named,
  since a node may be serving them (close them, then erase again).
* Export (``chatd customers export``) gives a customer's conversations with every event.

Every erasure and export is audited; a sweep is one ``erasure`` entry by ``retention``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chatd.config import RetentionConfig
from chatd.logs import get_logger
from chatd.service.views import conversation_summary, event_dict, ticket_dict
from chatd.store.accounts import AuditEntry
from chatd.store.base import OPEN_STATUSES, Store
from chatd.store.blobs import BlobStore
from chatd.store.erasure import BATCH

__all__ = ["Erased", "Retention", "SweepResult"]

log = get_logger(__name__)

DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep deleted."""

    conversations: int = 0
    events: int = 0
    audit_entries: int = 0
    sessions: int = 0


@dataclass(frozen=True, slots=True)
class Erased:
    """What an erasure deleted, and the open conversations it left (their ids)."""

    conversations: int
    events: int
    left_open: tuple[str, ...]


class Retention:
    """Sweeps by age; erases and exports one customer's data."""

    def __init__(
        self,
        *,
        store: Store,
        config: RetentionConfig,
        blobs: BlobStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        #: Where attachments' bytes are: they go with their conversation.
        self.blobs = blobs
        self.clock = clock

    async def _delete(self, ids: Sequence[str]) -> tuple[int, int]:
        """Files first, then the rows: a crash between leaves rows without files (the next
        sweep or erasure finishes), never files nobody can reach."""
        if self.blobs is not None:
            for conversation_id in ids:
                await self.blobs.delete_conversation(conversation_id)
        return await self.store.erasure.delete(ids)

    async def sweep_once(self) -> SweepResult:
        """One sweep now (see the module docstring)."""
        now = self.clock()
        conversations = events = 0
        days = self.config.closed_conversations_days
        if days > 0:
            cutoff = now - days * DAY_S
            while True:
                ids = await self.store.erasure.closed_before(cutoff, BATCH)
                if not ids:
                    break
                done, gone = await self._delete(ids)
                conversations += done
                events += gone
                if done == 0:  # nothing deletable left in this batch
                    break
                await asyncio.sleep(0)  # let the event loop serve between transactions
        audit_entries = 0
        if self.config.audit_days > 0:
            audit_entries = await self.store.accounts.delete_audit_before(
                now - self.config.audit_days * DAY_S
            )
        sessions = await self.store.accounts.delete_sessions(before=now)
        result = SweepResult(conversations, events, audit_entries, sessions)
        if conversations:
            await self._audit("retention", "erasure", f"{conversations} conversations", None)
        return result

    async def run_forever(self) -> None:
        """Sweep every ``sweep_interval_s`` until cancelled; a failed sweep is logged, not fatal."""
        while True:
            try:
                result = await self.sweep_once()
                if result.conversations or result.audit_entries:
                    log.info("retention_sweep", **dataclasses.asdict(result))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("retention_sweep_failed")
            await asyncio.sleep(self.config.sweep_interval_s)

    async def erase(
        self,
        *,
        user_id: str | None = None,
        conversation_id: str | None = None,
        actor: str,
        ip: str | None = None,
    ) -> Erased:
        """Delete one customer's conversations (by verified user id, or one conversation)."""
        found = await self._find(user_id=user_id, conversation_id=conversation_id)
        open_ids = tuple(cid for cid, status in found if status in OPEN_STATUSES)
        closed = [cid for cid, status in found if status not in OPEN_STATUSES]
        done, events = await self._delete(closed) if closed else (0, 0)
        target = f"user {user_id}" if user_id is not None else f"conversation {conversation_id}"
        await self._audit(actor, "erasure", f"{target}: {done} conversations", ip)
        return Erased(done, events, open_ids)

    async def export(
        self, *, user_id: str | None = None, conversation_id: str | None = None, actor: str
    ) -> dict[str, Any]:
        """A customer's conversations with every event, as one JSON-ready object."""
        found = await self._find(user_id=user_id, conversation_id=conversation_id)
        out = []
        for cid, _status in found:
            conv = await self.store.get_conversation(cid)
            if conv is None:
                continue
            ticket = await self.store.ticket_for_conversation(cid)
            out.append(
                {
                    "conversation": conversation_summary(conv),
                    "ticket": ticket_dict(ticket) if ticket else None,
                    "events": [event_dict(e) for e in await self.store.events(cid)],
                }
            )
        target = f"user {user_id}" if user_id is not None else f"conversation {conversation_id}"
        await self._audit(actor, "export", f"{target}: {len(out)} conversations", None)
        return {"user_id": user_id, "exported_at": self.clock(), "conversations": out}

    async def _find(
        self, *, user_id: str | None, conversation_id: str | None
    ) -> list[tuple[str, str]]:
        if (user_id is None) == (conversation_id is None):
            raise ValueError("give a user id or a conversation id")
        if user_id is not None:
            return await self.store.erasure.of_user(user_id)
        assert conversation_id is not None
        status = await self.store.erasure.status(conversation_id)
        return [] if status is None else [(conversation_id, status)]

    async def _audit(self, actor: str, action: str, target: str, ip: str | None) -> None:
        entry = AuditEntry(ts=self.clock(), actor=actor, action=action, target=target, ip=ip)
        await self.store.accounts.add_audit(entry)
