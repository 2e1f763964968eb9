"""PostgreSQL's append: seq, cid dedupe and the Expect check in one statement, one round trip.

Several nodes append to one conversation, so ``seq`` comes from ``conversations.last_seq``: the
statement bumps it (``UPDATE ... RETURNING``, which row-locks the conversation until commit) and
inserts the event with the new value; a failed insert rolls the bump back with it (no gaps).
The unique cid index is the dedupe arbiter across nodes (see chatd.store.postgres). Within one
node, appends to a conversation queue on a FIFO lock (:class:`KeyedLocks`) so they are stored in
call order, as the SQLite writer stores them; they would serialise on the row lock anyway.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from chatd.store.accounts import numbered
from chatd.store.base import ConditionFailed, Event, NewEvent, StoreError, cid_owner
from chatd.store.postgres_pool import TrackedPool
from chatd.store.rows import Rows, dump_json
from chatd.store.sql import CONVERSATION_COLUMNS, Queries

__all__ = ["APPEND_EVENT", "APPEND_EVENT_WITH_CONVERSATION", "Appender", "KeyedLocks"]

#: One statement, one round trip, one implicit transaction: bump the counter (row lock until
#: commit) and insert with the bumped value. The NOT EXISTS skips the bump for a cid that is
#: already stored; a duplicate committed by another node while this one waited for the row lock
#: is caught by the unique index instead (EvalPlanQual rechecks only the locked row, not the
#: subquery), which rolls back the whole statement, bump included.
_APPEND_BUMP = """
WITH bump AS (
    UPDATE conversations SET last_seq = last_seq + 1
    WHERE conversation_id = $1
      AND ($8::text IS NULL
           OR NOT EXISTS (SELECT 1 FROM events WHERE conversation_id = $1
                          AND COALESCE(author_id, author) = COALESCE($6, $4)
                          AND cid = $8)){condition}
    RETURNING {returning}
)"""
_APPEND_INSERT = """
INSERT INTO events (conversation_id, seq, kind, ts, author, text, author_id, author_name, cid,
                    internal, data, text_folded)
SELECT $1, bump.last_seq, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11 FROM bump
RETURNING seq"""
APPEND_EVENT = _APPEND_BUMP.format(condition="", returning="last_seq") + _APPEND_INSERT
#: The same append, only if the conversation is as expected (chatd.store.base.Expect; a NULL
#: parameter checks nothing), returning the conversation row as the bump left it: checked and
#: read under the row lock the append takes, in the same round trip.
APPEND_EVENT_WITH_CONVERSATION = (
    _APPEND_BUMP.format(
        condition="""
      AND ($12::text[] IS NULL OR status = ANY($12::text[]))
      AND ($13::text IS NULL OR agent_id = $13)
      AND ($14::bigint IS NULL OR last_seq < $14)""",
        returning=", ".join(CONVERSATION_COLUMNS),
    )
    + ", appended AS ("
    + _APPEND_INSERT
    + ")\nSELECT appended.seq AS appended_seq, bump.* FROM appended, bump"
)


class KeyedLocks:
    """FIFO asyncio locks by key, dropped when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the lock of ``key``; waiters get it in arrival order (asyncio.Lock is FIFO)."""
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Appender:
    """Runs the append statements on a store's pool, one conversation's appends in call order."""

    def __init__(self, db: TrackedPool, queries: Queries, rows: Rows) -> None:
        self._db = db
        self._sql = queries
        self._rows = rows
        self._locks = KeyedLocks()

    async def append(
        self,
        conversation_id: str,
        event: NewEvent,
        sql: str,
        condition: tuple[Any, ...] = (),
        *,
        checked: bool = False,
    ) -> tuple[Event, bool, asyncpg.Record | None]:
        """Run an append statement; (event, created, the statement's row when created).

        An unknown conversation raises StoreError (ConditionFailed when ``checked``).
        """
        # Serialise before queueing: bad data fails its caller without touching the database.
        data_json = dump_json(event.data)
        data = json.loads(data_json) if event.data else {}
        params = (
            conversation_id,
            event.kind,
            event.ts,
            event.author,
            event.text,
            event.author_id,
            event.author_name,
            event.cid,
            bool(event.internal),
            data_json,
            event.text.casefold() if event.text is not None else None,
            *condition,
        )
        # tracked() before the lock: a call queued behind the lock still counts as in flight.
        async with self._db.tracked(), self._locks.hold(conversation_id):
            try:
                async with self._db.acquire("append_event") as conn:
                    if event.also:  # the event's own writes (the outbox), in its transaction
                        async with conn.transaction():
                            row = await conn.fetchrow(sql, *params)
                            for also_sql, also_params in event.also if row is not None else ():
                                await conn.execute(numbered(also_sql), *also_params)
                    else:
                        row = await conn.fetchrow(sql, *params)
            except StoreError as exc:
                if not isinstance(exc.__cause__, asyncpg.UniqueViolationError):
                    raise
                row = None  # another node stored this cid first: return its event below
            if row is not None:
                stored = Event(
                    conversation_id=conversation_id,
                    seq=int(row[0]),
                    kind=event.kind,
                    ts=event.ts,
                    author=event.author,
                    text=event.text,
                    author_id=event.author_id,
                    author_name=event.author_name,
                    cid=event.cid,
                    internal=bool(event.internal),
                    data=data,
                )
                return stored, True, row
            owner = cid_owner(event.author, event.author_id)
            return (
                await self._existing_event(conversation_id, owner, event.cid, checked=checked),
                False,
                None,
            )

    async def _existing_event(
        self, conversation_id: str, owner: str, cid: str | None, *, checked: bool
    ) -> Event:
        """Why an append wrote nothing: the stored event of ``cid``; else ConditionFailed with
        the conversation when it exists (its Expect did not hold); else StoreError, or
        ConditionFailed without a conversation when the append was ``checked``."""
        async with self._db.acquire("append_event") as conn:
            if cid is not None:
                row = await conn.fetchrow(self._sql.event_by_cid, conversation_id, owner, cid)
                if row is not None:
                    return self._rows.event(row)
            rows = await conn.fetch(self._sql.conversation_by_id, conversation_id)
        if not rows:
            if checked:
                raise ConditionFailed(conversation_id, None)
            raise StoreError(f"unknown conversation {conversation_id!r}")
        # The plain append has no condition: it gets here only if the row vanished
        # mid-statement, which no code does (conversations are never deleted).
        raise ConditionFailed(conversation_id, self._rows.conversation(rows[0]))
