"""Deleting conversations for retention and erasure, SQL written once (``store.erasure``).

A conversation goes with its events and tickets in one transaction (events first: they refer
to it), at most :data:`BATCH` conversations per transaction so that a sweep of a year's
conversations never holds the writer (SQLite) or row locks (PostgreSQL) for long. Open
conversations are never deleted here: a node may be serving them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatd.store.accounts import SQLRunner

__all__ = ["BATCH", "Erasure"]

#: Conversations deleted per transaction.
BATCH = 200

_CLOSED_BEFORE = (
    "SELECT conversation_id FROM conversations WHERE status = 'closed' AND closed_at < ? "
    "ORDER BY closed_at LIMIT ?"
)
_OF_USER = "SELECT conversation_id, status FROM conversations WHERE user_id = ? ORDER BY created_at"
_STATUS = "SELECT status FROM conversations WHERE conversation_id = ?"


def _in(ids: Sequence[str]) -> str:
    return "(" + ", ".join("?" for _ in ids) + ")"


class Erasure:
    """Find and delete conversations (with their events and tickets) over a :class:`SQLRunner`."""

    def __init__(self, run: SQLRunner) -> None:
        self._run = run

    async def closed_before(self, ts: float, limit: int = BATCH) -> list[str]:
        """Ids of conversations closed before ``ts``, oldest first."""
        rows = await self._run.read("closed_before", _CLOSED_BEFORE, (ts, limit))
        return [str(row[0]) for row in rows]

    async def of_user(self, user_id: str) -> list[tuple[str, str]]:
        """(conversation id, status) of every conversation of a verified customer."""
        rows = await self._run.read("of_user", _OF_USER, (user_id,))
        return [(str(row[0]), str(row[1])) for row in rows]

    async def status(self, conversation_id: str) -> str | None:
        """The conversation's status, or None when there is no such conversation."""
        rows = await self._run.read("status", _STATUS, (conversation_id,))
        return str(rows[0][0]) if rows else None

    async def delete(self, conversation_ids: Sequence[str]) -> tuple[int, int]:
        """Delete the conversations that are not open, with their events and tickets, in
        transactions of at most :data:`BATCH`; (conversations, events) deleted."""
        conversations = events = 0
        ids = list(dict.fromkeys(conversation_ids))
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            where = f"conversation_id IN {_in(chunk)}"
            closed = f"{where} AND status NOT IN ('bot', 'queued', 'assigned')"
            gone = f"conversation_id IN (SELECT conversation_id FROM conversations WHERE {closed})"
            statements: list[tuple[str, Sequence[Any]]] = [
                # the address a customer left for replies, and mail still queued to them
                (f"DELETE FROM followups WHERE {gone}", chunk),
                (f"DELETE FROM outbox WHERE channel = 'email' AND {gone}", chunk),
                (
                    f"DELETE FROM events WHERE conversation_id IN (SELECT conversation_id "
                    f"FROM conversations WHERE {closed})",
                    chunk,
                ),
                (
                    f"DELETE FROM tickets WHERE conversation_id IN (SELECT conversation_id "
                    f"FROM conversations WHERE {closed})",
                    chunk,
                ),
                (f"DELETE FROM conversations WHERE {closed}", chunk),
            ]
            counts = await self._run.transaction("erase", statements)
            events += counts[2]
            conversations += counts[4]
        return conversations, events
