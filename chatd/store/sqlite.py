"""The embedded storage backend: one SQLite file in WAL mode, with group commit.

Two connections to the same file:

* the **writer** connection (a plain :mod:`sqlite3` connection) belongs to one writer task
  (:mod:`chatd.store.sqlite_writer`). Every write (agents, conversations, events, tickets) is
  queued as a ``WriteOp``; the writer takes everything pending, runs it inside ONE transaction,
  commits once, then resolves each caller's future. So 200 concurrent ``append_event`` calls cost
  about one commit, not 200. The batch's statements run on the event-loop thread (a small insert
  takes a few microseconds); only COMMIT, which writes the WAL and fsyncs it, runs on the
  writer's own thread. Running every statement on a thread cost a GIL hand-over per statement,
  each up to a 5 ms switch interval on a busy loop, which multiplied commit latency (see
  ``GroupCommitWriter._run_batch``). A failing operation fails its own caller only, never the
  rest of the batch. ``seq`` assignment and the ``cid`` dedupe happen here, serialised, with a
  cache of the last seq per conversation.
* the **reader** connection (aiosqlite) serves every read. WAL lets it read while the writer
  writes, and since it never shares a transaction with the writer it only sees committed data.

The durability rule of :mod:`chatd.store.base` holds because a caller's future is resolved only
after COMMIT returned. One process writes to a database file at a time (the seq cache assumes
it); other processes (the CLI) may read, and may write agents, waiting on ``busy_timeout``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite

from chatd.logs import get_logger
from chatd.store.accounts import Accounts
from chatd.store.base import (
    STATUSES,
    AgentRecord,
    ConditionFailed,
    ConversationFilter,
    ConversationRecord,
    DuplicateError,
    Event,
    Expect,
    NewEvent,
    StoreError,
    TicketRecord,
    check_agent,
    check_new_conversation,
    check_ticket_update,
    check_update,
    cid_owner,
)
from chatd.store.erasure import Erasure
from chatd.store.files import prepare_private_database
from chatd.store.followups import Followups
from chatd.store.outbox import Outbox
from chatd.store.rows import Rows, dump_json
from chatd.store.sql import (
    AGENT_COLUMNS,
    CONVERSATION_STORED_COLUMNS,
    EVENT_COLUMNS,
    Dialect,
    Queries,
)
from chatd.store.sqlite_writer import (
    BUSY_TIMEOUT_MS,
    GroupCommitWriter,
    SeqTracker,
    connect_writer,
)

__all__ = ["DIALECT", "SQLiteStore"]

T = TypeVar("T")

log = get_logger(__name__)

#: What SQLite does differently from PostgreSQL (chatd.store.sql): ``?`` placeholders, tuples
#: as JSON text and booleans as 0/1 (see migrations.py), positional rows, ``last_seq`` derived
#: from the events (one writer process: MAX(seq) is enough), and the text search through the
#: chatd_casefold() function the reader connection registers.
DIALECT = Dialect(
    name="sqlite",
    numbered_params=False,
    native_arrays=False,
    native_bools=False,
    rows_by_name=False,
    event_data="data",
    last_seq="COALESCE((SELECT MAX(e.seq) FROM events e"
    " WHERE e.conversation_id = c.conversation_id), 0)",
    folded_event_text="chatd_casefold(e.text)",
    contains="instr({haystack}, {needle}) > 0",
    not_internal="internal = 0",
    list_param=False,
)
_SQL = Queries(DIALECT)
_ROWS = Rows(DIALECT)

#: The column order _INSERT_EVENT_UNLESS_CID's parameters are written in (append_event).
_EVENT_PARAM_ORDER = (
    "conversation_id", "seq", "kind", "ts", "author", "text",
    "author_id", "author_name", "cid", "internal", "data",
)  # fmt: skip
if EVENT_COLUMNS != _EVENT_PARAM_ORDER:  # pragma: no cover - guards a change to Event's fields
    raise ImportError("Event fields changed: update append_event's parameters")
#: Insert, or nothing when the conversation already has this cid (a client retry): the upsert
#: half of SQLite's append (PostgreSQL's is a different statement, see postgres.py).
_INSERT_EVENT_UNLESS_CID = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
    " ON CONFLICT (conversation_id, COALESCE(author_id, author), cid) WHERE cid IS NOT NULL"
    " DO NOTHING"
)


class SQLiteStore:
    """The :class:`~chatd.store.base.Store` on one SQLite file (WAL mode, group commit)."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
    ) -> None:
        """Prepare a store on ``path`` (created with its parent directory on :meth:`open`).

        ``synchronous``: in WAL mode, NORMAL already makes a commit survive ``kill -9`` of the
        server (the WAL frames are in the OS page cache when COMMIT returns), which is all the
        durability rule promises; only a power loss or kernel crash can drop the last commits.
        FULL also fsyncs the WAL on every commit and survives power loss. We default to FULL
        because group commit pays that fsync once per batch, not once per message, and a support
        transcript that vanishes after a host reboot is a support incident of its own.

        NORMAL (``[storage] synchronous = "normal"``) is for throughput and for disks where
        fsync is slow: with no fsync, COMMIT takes microseconds and runs on the event loop (no
        thread hop per batch), and the WAL is checkpointed off the loop (see
        :data:`chatd.store.sqlite_writer.CHECKPOINT_EVERY_COMMITS`). Measured by ``chatd bench
        relay`` (BENCHMARKS.md).
        """
        if str(path) == ":memory:" or str(path).startswith("file:"):
            # Two connections to ":memory:" would be two unrelated databases.
            raise StoreError(f"SQLiteStore needs a file path, got {str(path)!r}")
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        self._path = Path(path)
        self._synchronous = synchronous
        self._writer: sqlite3.Connection | None = None
        #: The writer's thread: opening, COMMIT, closing (whatever may block on the file).
        self._executor: ThreadPoolExecutor | None = None
        self._reader: aiosqlite.Connection | None = None
        #: The write loop (group commit), started once the writer connection is migrated.
        self._group: GroupCommitWriter | None = None
        self._closing = False
        #: Staff sign-in and the audit trail (chatd.store.accounts).
        self.accounts = Accounts(_Runner(self))
        #: Retention and erasure (chatd.store.erasure).
        self.erasure = Erasure(_Runner(self))
        #: Outgoing emails and webhooks (chatd.store.outbox).
        self.outbox = Outbox(_Runner(self))
        #: Replies by email for customers who are away (chatd.store.followups).
        self.followups = Followups(_Runner(self))

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self._path)!r})"

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def commit_count(self) -> int:
        """Write transactions committed since :meth:`open` (one per group-commit batch)."""
        return self._group.commits if self._group is not None else 0

    # -- lifecycle --------------------------------------------------------------------------------
    async def open(self) -> None:
        """Open both connections, switch to WAL and apply pending schema migrations."""
        if self._writer is not None or self._closing:
            raise StoreError(f"{self!r} was already opened")
        # Transcripts are private: directory 0700, database 0600 (and an older 0644 tightened).
        prepare_private_database(self._path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chatd-sqlite")
        try:
            # Opening and migrating may wait on another process's lock: off the event loop.
            self._writer = await self._in_thread(
                functools.partial(connect_writer, self._path, self._synchronous)
            )
            self._reader = await aiosqlite.connect(self._path, isolation_level=None)
            await self._reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await self._reader.execute("PRAGMA query_only = ON")
            await self._reader.create_function("chatd_casefold", 1, _casefold, deterministic=True)
        except BaseException as exc:
            await self._close_connections()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot open SQLite database {str(self._path)!r}: {exc}") from exc
            raise
        self._group = GroupCommitWriter(
            self._writer,
            self._executor,
            synchronous=self._synchronous,
            checkpoint=self._checkpoint,
        )

    async def close(self) -> None:
        """Finish every write already submitted, then close. Later writes raise StoreError."""
        if self._closing:
            return
        self._closing = True
        try:
            if self._group is not None:
                await self._group.stop()
        finally:
            await self._close_connections()

    async def _close_connections(self) -> None:
        """Close whichever connections are open, then the writer's thread."""
        if self._reader is not None:
            await self._reader.close()
        writer, self._reader, self._writer = self._writer, None, None
        executor, self._executor = self._executor, None
        if executor is not None:
            if writer is not None:
                # On the writer's thread: after any COMMIT a cancelled batch left running there.
                await asyncio.wrap_future(executor.submit(writer.close))
            executor.shutdown(wait=False)

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on the writer's thread (the only thread that blocks on the file)."""
        executor = self._executor
        if executor is None:
            raise StoreError(f"{self!r} is not open")
        return await asyncio.wrap_future(executor.submit(fn))

    async def _checkpoint(self) -> None:
        """Copy the WAL into the database file without blocking writers (reader's thread)."""
        reader = self._reader
        if reader is None:
            return
        try:
            await reader.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except (sqlite3.Error, ValueError) as exc:  # ValueError: closed under our feet
            log.warning("sqlite_checkpoint_failed", error=str(exc))

    def _seqs(self) -> SeqTracker:
        """The writer's seq tracker, for write operations (which only the writer runs)."""
        if self._group is None:
            raise StoreError(f"{self!r} is not open")
        return self._group.seqs

    async def _submit(self, apply: Callable[[sqlite3.Connection], T]) -> T:
        """Queue a write for the next batch and wait until it is committed (or failed)."""
        if self._closing:
            raise StoreError(f"{self!r} is closed")
        if self._group is None:
            raise StoreError(f"{self!r} is not open")
        return await self._group.submit(apply)

    # -- agents -----------------------------------------------------------------------------------
    async def add_agent(self, agent: AgentRecord) -> None:
        """Insert an account; DuplicateError when the name or id exists."""
        check_agent(agent)
        params = _ROWS.values(agent, AGENT_COLUMNS)

        def apply(conn: sqlite3.Connection) -> None:
            clash = conn.execute(
                "SELECT agent_id, name FROM agents WHERE agent_id = ? OR name = ?",
                (agent.agent_id, agent.name),
            ).fetchone()
            if clash is not None:
                what = f"id {agent.agent_id!r}" if clash[0] == agent.agent_id else "name"
                raise DuplicateError(f"an agent with {what} {agent.name!r} exists")
            conn.execute(_SQL.insert_agent, params)

        await self._submit(apply)

    async def get_agent(self, agent_id: str) -> AgentRecord | None:
        """The account with this id, or None."""
        rows = await self._read(_SQL.agent_by_id, (agent_id,))
        return _ROWS.agent(rows[0]) if rows else None

    async def get_agent_by_name(self, name: str) -> AgentRecord | None:
        """The account with this name, or None."""
        rows = await self._read(_SQL.agent_by_name, (name,))
        return _ROWS.agent(rows[0]) if rows else None

    async def list_agents(self) -> list[AgentRecord]:
        """All accounts ordered by name."""
        return [_ROWS.agent(row) for row in await self._read(_SQL.agents_by_name)]

    async def remove_agent(self, agent_id: str) -> bool:
        """Delete an account; False when it did not exist. Its conversations keep its id."""

        def apply(conn: sqlite3.Connection) -> bool:
            return conn.execute(_SQL.delete_agent, (agent_id,)).rowcount > 0

        return await self._submit(apply)

    # -- conversations ----------------------------------------------------------------------------
    async def create_conversation(self, conversation: ConversationRecord) -> None:
        """Insert; DuplicateError when the id exists. ``last_seq`` is ignored (no events yet)."""
        check_new_conversation(conversation)
        params = _ROWS.values(conversation, CONVERSATION_STORED_COLUMNS)
        conversation_id = conversation.conversation_id

        def apply(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(_SQL.insert_conversation, params)
            except sqlite3.IntegrityError as exc:
                raise DuplicateError(f"conversation {conversation_id!r} exists") from exc
            # Spares the first append_event a lookup.
            self._seqs().stage(conversation_id, 0)

        await self._submit(apply)

    async def get_conversation(self, conversation_id: str) -> ConversationRecord | None:
        """The conversation, or None."""
        rows = await self._read(_SQL.conversation_by_id, (conversation_id,))
        return _ROWS.conversation(rows[0]) if rows else None

    async def update_conversation(self, conversation_id: str, **fields: Any) -> None:
        """Set the given fields (names from CONVERSATION_FIELDS, else ValueError) and updated_at.

        ``updated_at`` is the wall clock unless given. StoreError when the conversation does not
        exist.
        """
        check_update(fields)
        values = {name: _ROWS.to_db(name, value) for name, value in fields.items()}
        values.setdefault("updated_at", time.time())
        sql, params = _SQL.update_conversation(conversation_id, values)

        def apply(conn: sqlite3.Connection) -> None:
            if conn.execute(sql, params).rowcount == 0:
                raise StoreError(f"unknown conversation {conversation_id!r}")

        await self._submit(apply)

    async def append_event(self, conversation_id: str, event: NewEvent) -> tuple[Event, bool]:
        """Store an event with the next seq. Returns (event, created).

        When ``event.cid`` is set and an event with that cid exists in the conversation, nothing is
        written and (existing event, False) is returned. StoreError for an unknown conversation.
        """
        # Serialise here, not in the batch: bad data fails its caller before queueing.
        # Most events (chat messages) carry no data: skip the JSON round trip for them.
        if event.data:
            data_json = dump_json(event.data)
            data = json.loads(data_json)
        else:
            data_json, data = "{}", {}
        internal = int(bool(event.internal))

        def apply(conn: sqlite3.Connection) -> tuple[Event, bool]:
            seq = self._seqs().last_seq(conn, conversation_id) + 1
            # One statement in the common case: the cid index says whether it is a retry.
            inserted = conn.execute(
                _INSERT_EVENT_UNLESS_CID,
                (
                    conversation_id,
                    seq,
                    event.kind,
                    event.ts,
                    event.author,
                    event.text,
                    event.author_id,
                    event.author_name,
                    event.cid,
                    internal,
                    data_json,
                ),
            ).rowcount
            if not inserted:
                row = conn.execute(
                    _SQL.event_by_cid,
                    (conversation_id, cid_owner(event.author, event.author_id), event.cid),
                ).fetchone()
                return _ROWS.event(row), False
            self._seqs().stage(conversation_id, seq)
            for also_sql, also_params in event.also:  # the event's own writes (the outbox)
                conn.execute(also_sql, also_params)
            stored = Event(
                conversation_id=conversation_id,
                seq=seq,
                kind=event.kind,
                ts=event.ts,
                author=event.author,
                text=event.text,
                author_id=event.author_id,
                author_name=event.author_name,
                cid=event.cid,
                internal=event.internal,
                data=data,
            )
            return stored, True

        return await self._submit(apply)

    async def append_event_with_conversation(
        self, conversation_id: str, event: NewEvent, expect: Expect | None = None
    ) -> tuple[Event, bool, ConversationRecord | None]:
        """:meth:`append_event` if ``expect`` holds, then the conversation read back.

        One process owns the file and its service appends under the conversation's lock, so
        reads before and after the commit see what the append found and left. (None for a
        retried cid; ConditionFailed when ``expect`` does not hold.)
        """
        if expect is not None:
            conv = await self.get_conversation(conversation_id)
            if conv is None or not expect.allows(conv):
                retried = (
                    None
                    if event.cid is None
                    else await self.event_by_cid(
                        conversation_id, cid_owner(event.author, event.author_id), event.cid
                    )
                )
                if retried is None:
                    raise ConditionFailed(conversation_id, conv)
                return retried, False, None
        stored, created = await self.append_event(conversation_id, event)
        return stored, created, (await self.get_conversation(conversation_id) if created else None)

    async def event_by_cid(self, conversation_id: str, owner: str, cid: str) -> Event | None:
        """The event ``owner`` (see base.cid_owner) stored with ``cid`` in the conversation."""
        rows = await self._read(_SQL.event_by_cid, [conversation_id, owner, cid])
        return _ROWS.event(rows[0]) if rows else None

    async def events(
        self,
        conversation_id: str,
        *,
        after_seq: int = 0,
        include_internal: bool = True,
        limit: int | None = None,
    ) -> list[Event]:
        """Events with seq > after_seq in seq order ([] for an unknown conversation)."""
        sql, params = _SQL.events(conversation_id, after_seq, include_internal, limit)
        return [_ROWS.event(row) for row in await self._read(sql, params)]

    async def list_conversations(self, flt: ConversationFilter) -> list[ConversationRecord]:
        """Conversations matching every set field of ``flt``, newest first.

        ``text`` matches any event's text, internal notes included (operators see those), as a
        Unicode case-insensitive substring.
        """
        sql, params = _SQL.list_conversations(flt)
        return [_ROWS.conversation(row) for row in await self._read(sql, params)]

    async def open_conversations(self) -> list[ConversationRecord]:
        """Conversations whose status is in OPEN_STATUSES, oldest first (restart recovery)."""
        rows = await self._read(_SQL.open_conversations, _SQL.open_conversations_params)
        return [_ROWS.conversation(row) for row in rows]

    # -- tickets ----------------------------------------------------------------------------------
    async def create_ticket(
        self, conversation_id: str, *, contact: str, text: str, now: float
    ) -> TicketRecord:
        """Open a ticket with the next number; StoreError for an unknown conversation."""

        def apply(conn: sqlite3.Connection) -> TicketRecord:
            exists = conn.execute(
                "SELECT 1 FROM conversations WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()
            if exists is None:
                raise StoreError(f"unknown conversation {conversation_id!r}")
            row = conn.execute(_SQL.insert_ticket, (conversation_id, now, contact, text)).fetchone()
            return TicketRecord(
                ticket_id=row[0],
                conversation_id=conversation_id,
                created_at=now,
                contact=contact,
                text=text,
            )

        return await self._submit(apply)

    async def get_ticket(self, ticket_id: int) -> TicketRecord | None:
        """The ticket with this number, or None."""
        rows = await self._read(_SQL.ticket_by_id, (ticket_id,))
        return _ROWS.ticket(rows[0]) if rows else None

    async def ticket_for_conversation(self, conversation_id: str) -> TicketRecord | None:
        """The conversation's newest ticket, or None."""
        rows = await self._read(_SQL.ticket_for_conversation, (conversation_id,))
        return _ROWS.ticket(rows[0]) if rows else None

    async def list_tickets(self, status: str | None = None, limit: int = 100) -> list[TicketRecord]:
        """Tickets with this status (any when None): open ones first, then oldest first."""
        sql, params = _SQL.list_tickets(status, limit)
        return [_ROWS.ticket(row) for row in await self._read(sql, params)]

    async def update_ticket(self, ticket_id: int, **fields: Any) -> None:
        """Set status / answered_at / answered_by (else ValueError); StoreError if unknown."""
        check_ticket_update(fields)
        if not fields:
            return
        sql, params = _SQL.update_ticket(ticket_id, fields)

        def apply(conn: sqlite3.Connection) -> None:
            if conn.execute(sql, params).rowcount == 0:
                raise StoreError(f"unknown ticket {ticket_id!r}")

        await self._submit(apply)

    # -- metrics ----------------------------------------------------------------------------------
    async def count_by_status(self) -> dict[str, int]:
        """Conversations per status; every status in STATUSES is present, zero included."""
        rows = await self._read(_SQL.count_by_status)
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({status: count for status, count in rows})
        return counts

    # -- reads ------------------------------------------------------------------------------------
    async def _read(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        """All rows of a query on the reader connection."""
        reader = self._reader
        if reader is None or self._closing:
            raise StoreError(f"{self!r} is not open")
        try:
            return list(await reader.execute_fetchall(sql, tuple(params)))
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {exc}") from exc


def _casefold(text: str | None) -> str | None:
    """SQL function chatd_casefold: Unicode case folding for the text search."""
    return text.casefold() if text is not None else None


class _Runner:
    """:class:`~chatd.store.accounts.SQLRunner` on this store: reads on the reader connection,
    each write one operation of the writer (group commit applies)."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def read(self, what: str, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        return await self._store._read(sql, params)

    async def write(self, what: str, sql: str, params: Sequence[Any]) -> int:
        return await self._store._submit(lambda conn: int(conn.execute(sql, params).rowcount))

    async def transaction(
        self, what: str, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[int]:
        # One writer operation: its own savepoint of the batch, so all or nothing.
        return await self._store._submit(
            lambda conn: [int(conn.execute(sql, params).rowcount) for sql, params in statements]
        )
