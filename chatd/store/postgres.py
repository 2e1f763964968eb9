"""The cluster storage backend: PostgreSQL through an asyncpg connection pool.

Several chatd nodes share one database, so nothing that must be unique or ordered may rely on
in-process state:

* **seq** comes from ``conversations.last_seq``: one statement bumps it (``UPDATE ... RETURNING``,
  which row-locks the conversation until commit) and inserts the event with the new value, so two
  nodes appending to one conversation are serialised by PostgreSQL and never reuse or skip a seq.
  A failed insert rolls the bump back with it: no gaps.
* **cid dedupe**: the unique index ``(conversation_id, COALESCE(author_id, author), cid)`` (a cid
  is unique per author) is the arbiter. The append statement skips the bump when the cid is
  already stored; when another node committed the same cid while we waited for the row lock, the
  insert raises a unique violation (the statement, bump included, is rolled back) and we return
  the event that won.
* **ticket numbers** come from an identity sequence, never reused.
* **migrations** (:data:`MIGRATIONS`) are applied in one transaction under an advisory lock, so
  nodes starting together do not race, and a database migrated by a newer chatd is refused.

Within one node, appends to one conversation are additionally queued on a FIFO lock so they are
stored in call order (the contract the SQLite writer gives); they would serialise on the row lock
anyway, so the lock costs no throughput and keeps waiters off the database.

Every write is its own autocommit statement (or short transaction) on a pooled connection: the
durability rule of :mod:`chatd.store.base` holds because a call returns only after COMMIT did.
Group commit happens server-side: PostgreSQL flushes concurrent commits from many connections
with one WAL write.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from chatd.store.accounts import Accounts, affected_rows, numbered
from chatd.store.base import (
    OPEN_STATUSES,
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
    check_update,
    cid_owner,
    unknown_fields,
)
from chatd.store.outbox import Outbox

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresStore"]

#: Connections per node. Appends to one conversation hold its row lock for one round trip, so
#: more connections than cores on the database mostly queue inside PostgreSQL; 10 kept 100
#: concurrent appenders at full speed on a 2-core box.
_DEFAULT_POOL_SIZE = 10
#: A statement that runs longer than this fails with StoreError instead of hanging a handler;
#: every chatd statement is a key lookup or a small write, so this only fires on a stuck database.
_COMMAND_TIMEOUT_S = 30.0
#: pg_advisory_xact_lock key serialising migrations across nodes: an arbitrary constant (the ASCII
#: of "chatdmig"), fixed forever so every chatd version takes the same lock.
_MIGRATION_LOCK_KEY = 0x6368_6174_646D_6967

_V1_INITIAL = """
CREATE TABLE agents (
    agent_id    TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    token_hash  TEXT NOT NULL,
    languages   TEXT[] NOT NULL DEFAULT '{en}',
    skills      TEXT[] NOT NULL DEFAULT '{}',
    capacity    INTEGER NOT NULL DEFAULT 3,
    created_at  DOUBLE PRECISION NOT NULL DEFAULT 0
);

CREATE TABLE conversations (
    conversation_id    TEXT PRIMARY KEY,
    created_at         DOUBLE PRECISION NOT NULL,
    updated_at         DOUBLE PRECISION NOT NULL,
    status             TEXT NOT NULL DEFAULT 'bot',
    locale             TEXT NOT NULL DEFAULT 'en',
    user_id            TEXT,
    verified           BOOLEAN NOT NULL DEFAULT FALSE,
    priority           TEXT NOT NULL DEFAULT 'normal',
    intent             TEXT,
    skills             TEXT[] NOT NULL DEFAULT '{}',
    enqueued_at        DOUBLE PRECISION,
    -- No foreign key to agents: transcripts outlive a removed agent account.
    agent_id           TEXT,
    assigned_at        DOUBLE PRECISION,
    first_response_at  DOUBLE PRECISION,
    closed_at          DOUBLE PRECISION,
    closed_by          TEXT,
    csat_score         INTEGER,
    csat_comment       TEXT,
    tags               TEXT[] NOT NULL DEFAULT '{}',
    -- Unlike SQLite (one writer process, MAX(seq) is enough) several nodes append here: the row
    -- is the per-conversation counter whose row lock serialises them.
    last_seq           BIGINT NOT NULL DEFAULT 0,
    bot_misses         INTEGER NOT NULL DEFAULT 0,
    handoff_reason     TEXT
);
CREATE INDEX conversations_status_created ON conversations (status, created_at);
CREATE INDEX conversations_created ON conversations (created_at);
CREATE INDEX conversations_agent ON conversations (agent_id, created_at);

CREATE TABLE events (
    conversation_id  TEXT NOT NULL REFERENCES conversations (conversation_id),
    seq              BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    ts               DOUBLE PRECISION NOT NULL,
    author           TEXT NOT NULL,
    text             TEXT,
    author_id        TEXT,
    author_name      TEXT,
    cid              TEXT,
    internal         BOOLEAN NOT NULL DEFAULT FALSE,
    data             JSONB NOT NULL DEFAULT '{}',
    -- Python's str.casefold() of text, for operator search: lower()/ILIKE depend on the
    -- database's locale (a C-locale database folds ASCII only), and the search must mean the
    -- same thing on every backend and every server.
    text_folded      TEXT,
    PRIMARY KEY (conversation_id, seq)
);
-- The cid dedupe arbiter across nodes: a retried client message is stored once.
CREATE UNIQUE INDEX events_cid ON events (conversation_id, cid) WHERE cid IS NOT NULL;

CREATE TABLE tickets (
    -- An identity sequence: ticket numbers are shown to customers and are never reused.
    ticket_id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id  TEXT NOT NULL REFERENCES conversations (conversation_id),
    created_at       DOUBLE PRECISION NOT NULL,
    status           TEXT NOT NULL DEFAULT 'open',
    contact          TEXT NOT NULL DEFAULT '',
    text             TEXT NOT NULL DEFAULT '',
    answered_at      DOUBLE PRECISION,
    answered_by      TEXT
);
CREATE INDEX tickets_conversation ON tickets (conversation_id);
CREATE INDEX tickets_status_created ON tickets (status, created_at);
"""

#: Ordered upgrade scripts; index i takes the schema from version i to i + 1. Never edit a script
#: that has shipped: append a new one. Each runs as one simple-protocol script (several
#: statements, no parameters) inside the migration transaction.
_V2_DISPATCH_FENCE = """
CREATE TABLE dispatch_fence (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    epoch  BIGINT NOT NULL
);
INSERT INTO dispatch_fence (id, epoch) VALUES (1, 0);
"""

_V3_SUBJECT = """
-- The customer's first message, shown in lists of conversations (NULL until they write).
ALTER TABLE conversations ADD COLUMN subject TEXT;
"""

_V4_CID_PER_AUTHOR = """
-- A cid is unique per author, not per conversation: an agent reusing a customer's cid (or
-- another agent's) must not have their message swallowed as a "retry" of someone else's.
DROP INDEX events_cid;
CREATE UNIQUE INDEX events_cid ON events (conversation_id, (COALESCE(author_id, author)), cid)
    WHERE cid IS NOT NULL;
"""

_V5_STAFF_SIGN_IN = """
-- Staff sign-in (chatd.store.accounts): passwords, TOTP, sessions, the audit trail.
ALTER TABLE agents ADD COLUMN password_hash TEXT;
ALTER TABLE agents ADD COLUMN totp_secret TEXT;
ALTER TABLE agents ADD COLUMN totp_step BIGINT NOT NULL DEFAULT 0;
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    agent_id    TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL,
    ip          TEXT
);
CREATE INDEX sessions_agent ON sessions (agent_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE TABLE audit (
    id      BIGSERIAL PRIMARY KEY,
    ts      DOUBLE PRECISION NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    ip      TEXT
);
CREATE INDEX audit_ts ON audit (ts);
CREATE INDEX audit_actor_action_ts ON audit (actor, action, ts);
"""

_V6_OUTBOX = """
-- Outgoing emails and webhooks (chatd.store.outbox): queued with their event, delivered at least
-- once by one node at a time (claimed with FOR UPDATE SKIP LOCKED and a lease).
CREATE TABLE outbox (
    id               BIGSERIAL PRIMARY KEY,
    channel          TEXT NOT NULL,
    receiver         TEXT NOT NULL,
    delivery_id      TEXT NOT NULL,
    type             TEXT NOT NULL,
    conversation_id  TEXT,
    seq              BIGINT,
    created_at       DOUBLE PRECISION NOT NULL,
    payload          TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    due_at           DOUBLE PRECISION NOT NULL,
    lease_owner      TEXT,
    last_error       TEXT
);
CREATE UNIQUE INDEX outbox_delivery ON outbox (receiver, delivery_id);
CREATE INDEX outbox_due ON outbox (due_at);
-- A claim reads back its own rows by claim token; a backlog must not make that a table scan.
CREATE INDEX outbox_lease ON outbox (lease_owner) WHERE lease_owner IS NOT NULL;
"""

MIGRATIONS: tuple[str, ...] = (
    _V1_INITIAL,
    _V2_DISPATCH_FENCE,
    _V3_SUBJECT,
    _V4_CID_PER_AUTHOR,
    _V5_STAFF_SIGN_IN,
    _V6_OUTBOX,
)
#: The schema version this code writes and understands.
SCHEMA_VERSION = len(MIGRATIONS)

_CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""

_TICKET_STATUSES = ("open", "answered", "closed")
_TICKET_FIELDS = frozenset({"status", "answered_at", "answered_by"})
_ROLES = ("agent", "supervisor", "operator")
_TUPLE_FIELDS = frozenset({"languages", "skills", "tags"})

_AGENT_COLUMNS: tuple[str, ...] = tuple(AgentRecord.__dataclass_fields__)
_EVENT_COLUMNS: tuple[str, ...] = tuple(Event.__dataclass_fields__)
_TICKET_COLUMNS: tuple[str, ...] = tuple(TicketRecord.__dataclass_fields__)
_CONVERSATION_COLUMNS: tuple[str, ...] = tuple(ConversationRecord.__dataclass_fields__)
#: Written by create_conversation; last_seq starts at 0 and only append_event moves it.
_CONVERSATION_INSERT_COLUMNS = tuple(c for c in _CONVERSATION_COLUMNS if c != "last_seq")

_SELECT_AGENT = f"SELECT {', '.join(_AGENT_COLUMNS)} FROM agents"
_SELECT_EVENT = "SELECT " + ", ".join(
    "data::text AS data" if c == "data" else c for c in _EVENT_COLUMNS
)
_SELECT_EVENT += " FROM events"
#: The event an author (base.cid_owner) already stored under a cid: a retry's answer.
_SELECT_EVENT_BY_CID = (
    f"{_SELECT_EVENT} WHERE conversation_id = $1 AND COALESCE(author_id, author) = $2 AND cid = $3"
)
_SELECT_TICKET = f"SELECT {', '.join(_TICKET_COLUMNS)} FROM tickets"
_SELECT_CONVERSATION = (
    "SELECT " + ", ".join(f"c.{c}" for c in _CONVERSATION_COLUMNS) + " FROM conversations c"
)
_INSERT_AGENT = (
    f"INSERT INTO agents ({', '.join(_AGENT_COLUMNS)})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(_AGENT_COLUMNS) + 1))})"
)
_INSERT_CONVERSATION = (
    f"INSERT INTO conversations ({', '.join(_CONVERSATION_INSERT_COLUMNS)})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(_CONVERSATION_INSERT_COLUMNS) + 1))})"
)
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
_APPEND_EVENT = _APPEND_BUMP.format(condition="", returning="last_seq") + _APPEND_INSERT
#: The same append, only if the conversation is as expected (chatd.store.base.Expect; a NULL
#: parameter checks nothing), returning the conversation row as the bump left it: checked and
#: read under the row lock the append takes, in the same round trip.
_APPEND_EVENT_WITH_CONVERSATION = (
    _APPEND_BUMP.format(
        condition="""
      AND ($12::text[] IS NULL OR status = ANY($12::text[]))
      AND ($13::text IS NULL OR agent_id = $13)
      AND ($14::bigint IS NULL OR last_seq < $14)""",
        returning=", ".join(_CONVERSATION_COLUMNS),
    )
    + ", appended AS ("
    + _APPEND_INSERT
    + ")\nSELECT appended.seq AS appended_seq, bump.* FROM appended, bump"
)


class PostgresStore:
    """The :class:`~chatd.store.base.Store` on PostgreSQL; safe to share between nodes."""

    def __init__(self, url: str, *, pool_size: int = _DEFAULT_POOL_SIZE) -> None:
        """Prepare a store on the database ``url`` names (``postgresql://user@host:port/db``).

        Nothing connects until :meth:`open`.
        """
        if pool_size < 1:
            raise ValueError(f"pool_size must be >= 1, got {pool_size}")
        self._url = url
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._closing = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._conversation_locks = _KeyedLocks()
        # Tickets created by one node get numbers in call order (nextval order on parallel
        # connections would otherwise follow server scheduling). Tickets are rare; a node-wide
        # lock costs nothing measurable.
        self._ticket_lock = asyncio.Lock()
        #: Staff sign-in and the audit trail (chatd.store.accounts).
        self.accounts = Accounts(_Runner(self))
        #: Outgoing emails and webhooks (chatd.store.outbox).
        self.outbox = Outbox(_Runner(self), skip_locked=True)

    def __repr__(self) -> str:
        return f"PostgresStore({_redact_url(self._url)!r})"

    # -- lifecycle --------------------------------------------------------------------------------
    async def open(self) -> None:
        """Create the pool and apply pending schema migrations."""
        if self._pool is not None or self._closing:
            raise StoreError(f"{self!r} was already opened")
        try:
            pool = await asyncpg.create_pool(
                self._url,
                min_size=1,
                max_size=self._pool_size,
                command_timeout=_COMMAND_TIMEOUT_S,
                reset=_keep_session,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL {_redact_url(self._url)}: {exc}"
            ) from exc
        try:
            async with pool.acquire() as conn:
                await _migrate(conn)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        """Wait for every call already made to finish, then close the pool. Idempotent."""
        if self._closing:
            return
        self._closing = True
        await self._idle.wait()
        if self._pool is not None:
            await self._pool.close()

    @asynccontextmanager
    async def _connection(self, what: str) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection for one tracked operation; driver errors become StoreError."""
        async with self._tracked(), self._acquire(what) as conn:
            yield conn

    @asynccontextmanager
    async def _acquire(self, what: str) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, inside an operation already :meth:`_tracked`."""
        if self._pool is None:
            raise StoreError(f"{self!r} is not open")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise StoreError(f"{what} failed: {exc}") from exc

    @asynccontextmanager
    async def _tracked(self) -> AsyncIterator[None]:
        """Count an operation in flight so close() can wait for it.

        Entered synchronously up to the first await by every public method, so a call made before
        close() is always counted, and one made after it raises StoreError.
        """
        if self._closing:
            raise StoreError(f"{self!r} is closed")
        if self._pool is None:
            raise StoreError(f"{self!r} is not open")
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _fetch(self, what: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._connection(what) as conn:
            return list(await conn.fetch(sql, *args))

    async def _execute(self, what: str, sql: str, *args: Any) -> str:
        async with self._connection(what) as conn:
            return str(await conn.execute(sql, *args))

    # -- agents -----------------------------------------------------------------------------------
    async def add_agent(self, agent: AgentRecord) -> None:
        """Insert an account; DuplicateError when the name or id exists."""
        if agent.role not in _ROLES:
            raise ValueError(f"agent role must be one of {_ROLES}, got {agent.role!r}")
        params = [_to_db(name, getattr(agent, name)) for name in _AGENT_COLUMNS]
        try:
            await self._execute("add_agent", _INSERT_AGENT, *params)
        except StoreError as exc:
            if isinstance(exc.__cause__, asyncpg.UniqueViolationError):
                what = "name" if "name" in str(exc.__cause__.constraint_name) else "id"
                value = agent.name if what == "name" else agent.agent_id
                raise DuplicateError(f"an agent with {what} {value!r} exists") from exc.__cause__
            raise

    async def get_agent(self, agent_id: str) -> AgentRecord | None:
        """The account with this id, or None."""
        rows = await self._fetch("get_agent", f"{_SELECT_AGENT} WHERE agent_id = $1", agent_id)
        return _agent_from_row(rows[0]) if rows else None

    async def get_agent_by_name(self, name: str) -> AgentRecord | None:
        """The account with this name, or None."""
        rows = await self._fetch("get_agent_by_name", f"{_SELECT_AGENT} WHERE name = $1", name)
        return _agent_from_row(rows[0]) if rows else None

    async def list_agents(self) -> list[AgentRecord]:
        """All accounts ordered by name."""
        rows = await self._fetch("list_agents", f"{_SELECT_AGENT} ORDER BY name")
        return [_agent_from_row(row) for row in rows]

    async def remove_agent(self, agent_id: str) -> bool:
        """Delete an account; False when it did not exist. Its conversations keep its id."""
        status = await self._execute(
            "remove_agent", "DELETE FROM agents WHERE agent_id = $1", agent_id
        )
        return _row_count(status) > 0

    # -- conversations ----------------------------------------------------------------------------
    async def create_conversation(self, conversation: ConversationRecord) -> None:
        """Insert; DuplicateError when the id exists. ``last_seq`` is ignored (no events yet)."""
        if conversation.status not in STATUSES:
            raise ValueError(f"unknown conversation status {conversation.status!r}")
        params = [
            _to_db(name, getattr(conversation, name)) for name in _CONVERSATION_INSERT_COLUMNS
        ]
        try:
            await self._execute("create_conversation", _INSERT_CONVERSATION, *params)
        except StoreError as exc:
            if isinstance(exc.__cause__, asyncpg.UniqueViolationError):
                raise DuplicateError(
                    f"conversation {conversation.conversation_id!r} exists"
                ) from exc.__cause__
            raise

    async def get_conversation(self, conversation_id: str) -> ConversationRecord | None:
        """The conversation, or None."""
        rows = await self._fetch(
            "get_conversation",
            f"{_SELECT_CONVERSATION} WHERE c.conversation_id = $1",
            conversation_id,
        )
        return _conversation_from_row(rows[0]) if rows else None

    async def update_conversation(self, conversation_id: str, **fields: Any) -> None:
        """Set the given fields (names from CONVERSATION_FIELDS, else ValueError) and updated_at.

        ``updated_at`` is the wall clock unless given. StoreError when the conversation does not
        exist.
        """
        check_update(fields)
        values = {name: _to_db(name, value) for name, value in fields.items()}
        values.setdefault("updated_at", time.time())
        # Column names come from the CONVERSATION_FIELDS whitelist above, never from user input.
        sql = (
            "UPDATE conversations SET "
            + ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=2))
            + " WHERE conversation_id = $1"
        )
        status = await self._execute("update_conversation", sql, conversation_id, *values.values())
        if _row_count(status) == 0:
            raise StoreError(f"unknown conversation {conversation_id!r}")

    # -- cluster dispatch fencing (chatd.service.cluster) ------------------------------------------
    async def raise_fence(self, epoch: int) -> int:
        """Record that the dispatcher leader of ``epoch`` took over; returns the fence after it.

        The fence only moves up. From the moment this commits, :meth:`fenced_update_conversation`
        refuses every write of an older leader.
        """
        rows = await self._fetch(
            "raise_fence",
            "UPDATE dispatch_fence SET epoch = GREATEST(epoch, $1) WHERE id = 1 RETURNING epoch",
            epoch,
        )
        return int(rows[0][0])

    async def fenced_update_conversation(
        self,
        conversation_id: str,
        epoch: int,
        expect: Mapping[str, Any],
        **fields: Any,
    ) -> bool:
        """Update only if ``epoch`` is still the current fence and the row matches ``expect``.

        One transaction: the fence row is read ``FOR SHARE``, so a new leader's
        :meth:`raise_fence` waits for this write to commit (and its rebuild then sees it), or this
        write sees the raised fence and does nothing. False when nothing was written.
        """
        names = list(fields) + list(expect)
        bad = unknown_fields(names)
        if bad:
            raise ValueError(f"fenced_update_conversation: unknown field(s) {', '.join(bad)}")
        values = {name: _to_db(name, value) for name, value in fields.items()}
        values.setdefault("updated_at", time.time())
        args: list[Any] = [conversation_id, *values.values()]
        sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(values, start=2))
        conditions = []
        for name, value in expect.items():
            if value is None:
                conditions.append(f"{name} IS NULL")
            else:
                args.append(_to_db(name, value))
                conditions.append(f"{name} = ${len(args)}")
        # Column names come from the CONVERSATION_FIELDS whitelist, never from user input.
        sql = f"UPDATE conversations SET {sets} WHERE conversation_id = $1" + "".join(
            f" AND {c}" for c in conditions
        )
        async with self._connection("fenced_update_conversation") as conn:
            async with conn.transaction():
                fence = await conn.fetchval(
                    "SELECT epoch FROM dispatch_fence WHERE id = 1 FOR SHARE"
                )
                if fence is None or int(fence) > epoch:
                    return False
                return _row_count(str(await conn.execute(sql, *args))) > 0

    async def append_event(self, conversation_id: str, event: NewEvent) -> tuple[Event, bool]:
        """Store an event with the next seq. Returns (event, created).

        When ``event.cid`` is set and an event with that cid exists in the conversation (written
        by any node), nothing is written and (existing event, False) is returned. StoreError for
        an unknown conversation.
        """
        stored, created, _row = await self._append(conversation_id, event, _APPEND_EVENT)
        return stored, created

    async def append_event_with_conversation(
        self, conversation_id: str, event: NewEvent, expect: Expect | None = None
    ) -> tuple[Event, bool, ConversationRecord | None]:
        """:meth:`append_event` if ``expect`` holds, plus the conversation as the append left it.

        One statement: the condition is checked and the row comes back in the UPDATE that
        allocates the seq, under its row lock, so no other node can change the conversation
        between the check, the write and the read. (None for a retried cid; ConditionFailed
        when ``expect`` does not hold.)
        """
        checked = expect or Expect()
        condition = (list(checked.statuses) or None, checked.agent_id, checked.seq_below)
        stored, created, row = await self._append(
            conversation_id,
            event,
            _APPEND_EVENT_WITH_CONVERSATION,
            condition,
            checked=expect is not None,
        )
        conv = _conversation_from_row(row) if row is not None else None
        return stored, created, conv

    async def _append(
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
        data_json = _dump_json(event.data)
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
        # _tracked before the lock: a call queued behind the lock still counts as in flight.
        async with self._tracked(), self._conversation_locks.hold(conversation_id):
            try:
                async with self._acquire("append_event") as conn:
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

    async def event_by_cid(self, conversation_id: str, owner: str, cid: str) -> Event | None:
        """The event ``owner`` (see base.cid_owner) stored with ``cid`` in the conversation."""
        rows = await self._fetch("event_by_cid", _SELECT_EVENT_BY_CID, conversation_id, owner, cid)
        return _event_from_row(rows[0]) if rows else None

    async def _existing_event(
        self, conversation_id: str, owner: str, cid: str | None, *, checked: bool
    ) -> Event:
        """Why an append wrote nothing: the stored event of ``cid``; else ConditionFailed with
        the conversation when it exists (its Expect did not hold); else StoreError, or
        ConditionFailed without a conversation when the append was ``checked``."""
        async with self._acquire("append_event") as conn:
            if cid is not None:
                row = await conn.fetchrow(_SELECT_EVENT_BY_CID, conversation_id, owner, cid)
                if row is not None:
                    return _event_from_row(row)
            rows = await conn.fetch(
                f"{_SELECT_CONVERSATION} WHERE c.conversation_id = $1", conversation_id
            )
        if not rows:
            if checked:
                raise ConditionFailed(conversation_id, None)
            raise StoreError(f"unknown conversation {conversation_id!r}")
        # The plain append has no condition: it gets here only if the row vanished
        # mid-statement, which no code does (conversations are never deleted).
        raise ConditionFailed(conversation_id, _conversation_from_row(rows[0]))

    async def events(
        self,
        conversation_id: str,
        *,
        after_seq: int = 0,
        include_internal: bool = True,
        limit: int | None = None,
    ) -> list[Event]:
        """Events with seq > after_seq in seq order ([] for an unknown conversation)."""
        sql = f"{_SELECT_EVENT} WHERE conversation_id = $1 AND seq > $2"
        params: list[Any] = [conversation_id, after_seq]
        if not include_internal:
            sql += " AND NOT internal"
        sql += " ORDER BY seq"
        if limit is not None:
            params.append(_non_negative("limit", limit))
            sql += f" LIMIT ${len(params)}"
        return [_event_from_row(row) for row in await self._fetch("events", sql, *params)]

    async def list_conversations(self, flt: ConversationFilter) -> list[ConversationRecord]:
        """Conversations matching every set field of ``flt``, newest first.

        ``text`` matches any event's text, internal notes included (operators see those), as a
        Unicode case-insensitive substring (Python casefold on both sides, as on SQLite).
        """
        clauses: list[str] = []
        params: list[Any] = []

        def param(value: Any) -> str:
            params.append(value)
            return f"${len(params)}"

        for column, value in (
            ("status", flt.status),
            ("agent_id", flt.agent_id),
            ("intent", flt.intent),
            ("user_id", flt.user_id),
        ):
            if value is not None:
                clauses.append(f"c.{column} = {param(value)}")
        if flt.since is not None:
            clauses.append(f"c.created_at >= {param(float(flt.since))}")
        if flt.until is not None:
            clauses.append(f"c.created_at < {param(float(flt.until))}")
        if flt.text:
            # strpos, not LIKE: no escaping of % and _ in the operator's search text.
            clauses.append(
                "EXISTS (SELECT 1 FROM events e WHERE e.conversation_id = c.conversation_id"
                f" AND strpos(e.text_folded, {param(flt.text.casefold())}) > 0)"
            )
        sql = _SELECT_CONVERSATION
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        limit = param(_non_negative("limit", flt.limit))
        offset = param(_non_negative("offset", flt.offset))
        sql += f" ORDER BY c.created_at DESC, c.conversation_id DESC LIMIT {limit} OFFSET {offset}"
        rows = await self._fetch("list_conversations", sql, *params)
        return [_conversation_from_row(row) for row in rows]

    async def open_conversations(self) -> list[ConversationRecord]:
        """Conversations whose status is in OPEN_STATUSES, oldest first (restart recovery)."""
        rows = await self._fetch(
            "open_conversations",
            f"{_SELECT_CONVERSATION} WHERE c.status = ANY($1::text[])"
            " ORDER BY c.created_at, c.conversation_id",
            list(OPEN_STATUSES),
        )
        return [_conversation_from_row(row) for row in rows]

    # -- tickets ----------------------------------------------------------------------------------
    async def create_ticket(
        self, conversation_id: str, *, contact: str, text: str, now: float
    ) -> TicketRecord:
        """Open a ticket with the next number; StoreError for an unknown conversation."""
        async with self._tracked(), self._ticket_lock:
            try:
                async with self._acquire("create_ticket") as conn:
                    ticket_id = await conn.fetchval(
                        "INSERT INTO tickets (conversation_id, created_at, contact, text)"
                        " VALUES ($1, $2, $3, $4) RETURNING ticket_id",
                        conversation_id,
                        now,
                        contact,
                        text,
                    )
            except StoreError as exc:
                if isinstance(exc.__cause__, asyncpg.ForeignKeyViolationError):
                    raise StoreError(f"unknown conversation {conversation_id!r}") from exc.__cause__
                raise
        return TicketRecord(
            ticket_id=int(ticket_id),
            conversation_id=conversation_id,
            created_at=now,
            contact=contact,
            text=text,
        )

    async def get_ticket(self, ticket_id: int) -> TicketRecord | None:
        """The ticket with this number, or None."""
        rows = await self._fetch("get_ticket", f"{_SELECT_TICKET} WHERE ticket_id = $1", ticket_id)
        return _ticket_from_row(rows[0]) if rows else None

    async def ticket_for_conversation(self, conversation_id: str) -> TicketRecord | None:
        """The conversation's newest ticket, or None."""
        rows = await self._fetch(
            "ticket_for_conversation",
            f"{_SELECT_TICKET} WHERE conversation_id = $1 ORDER BY ticket_id DESC LIMIT 1",
            conversation_id,
        )
        return _ticket_from_row(rows[0]) if rows else None

    async def list_tickets(self, status: str | None = None, limit: int = 100) -> list[TicketRecord]:
        """Tickets with this status (any when None): open ones first, then oldest first."""
        sql = _SELECT_TICKET
        params: list[Any] = []
        if status is not None:
            params.append(status)
            sql += " WHERE status = $1"
        params.append(_non_negative("limit", limit))
        sql += f" ORDER BY status <> 'open', created_at, ticket_id LIMIT ${len(params)}"
        return [_ticket_from_row(row) for row in await self._fetch("list_tickets", sql, *params)]

    async def update_ticket(self, ticket_id: int, **fields: Any) -> None:
        """Set status / answered_at / answered_by (else ValueError); StoreError if unknown."""
        bad = sorted(set(fields) - _TICKET_FIELDS)
        if bad:
            raise ValueError(f"update_ticket: unknown field(s) {', '.join(bad)}")
        if "status" in fields and fields["status"] not in _TICKET_STATUSES:
            raise ValueError(f"unknown ticket status {fields['status']!r}")
        if not fields:
            return
        # Column names come from the _TICKET_FIELDS whitelist above.
        sql = (
            "UPDATE tickets SET "
            + ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
            + " WHERE ticket_id = $1"
        )
        status = await self._execute("update_ticket", sql, ticket_id, *fields.values())
        if _row_count(status) == 0:
            raise StoreError(f"unknown ticket {ticket_id!r}")

    # -- metrics ----------------------------------------------------------------------------------
    async def count_by_status(self) -> dict[str, int]:
        """Conversations per status; every status in STATUSES is present, zero included."""
        rows = await self._fetch(
            "count_by_status", "SELECT status, COUNT(*) FROM conversations GROUP BY status"
        )
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({row[0]: int(row[1]) for row in rows})
        return counts


# -- migrations -----------------------------------------------------------------------------------
async def _migrate(conn: asyncpg.Connection) -> None:
    """Apply pending MIGRATIONS in one transaction; refuse a database newer than this code.

    The transaction-scoped advisory lock makes a second node starting at the same moment wait,
    then find the schema current and apply nothing. The DDL and the schema_migrations rows commit
    together (PostgreSQL DDL is transactional), so a crash mid-upgrade leaves the old version.
    """
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK_KEY)
            await conn.execute(_CREATE_MIGRATIONS_TABLE)
            version = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"database has schema version {version}, newer than this chatd understands "
                    f"({SCHEMA_VERSION}); upgrade chatd or point it at another database"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                await conn.execute(script)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", number)
    except asyncpg.PostgresError as exc:
        raise StoreError(f"schema migration failed: {exc}") from exc


# -- helpers --------------------------------------------------------------------------------------
class _Runner:
    """:class:`~chatd.store.accounts.SQLRunner` on this store's pool (placeholders numbered)."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    async def read(self, what: str, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        return list(await self._store._fetch(what, numbered(sql), *params))

    async def write(self, what: str, sql: str, params: Sequence[Any]) -> int:
        return affected_rows(await self._store._execute(what, numbered(sql), *params))


class _KeyedLocks:
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


def _to_db(name: str, value: Any) -> Any:
    """A field value as bound: tuples as text[] lists."""
    if name in _TUPLE_FIELDS:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError(f"{name} must be a sequence of strings, got {value!r}")
        return list(value)
    return value


def _from_db(names: Sequence[str], row: asyncpg.Record) -> dict[str, Any]:
    """A row as dataclass keyword arguments (text[] back to tuples)."""
    values = {name: row[name] for name in names}
    for name in _TUPLE_FIELDS.intersection(values):
        values[name] = tuple(values[name])
    return values


def _agent_from_row(row: asyncpg.Record) -> AgentRecord:
    return AgentRecord(**_from_db(_AGENT_COLUMNS, row))


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing to reset, so no round trip.

    asyncpg's default reset runs ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` each time a connection goes back to the pool: one more round trip and one more
    transaction for every store call (the relay bench counted 6 transactions a message, 3 of them
    resets). This store leaves no session state behind: the migration lock is transaction-scoped
    (``pg_advisory_xact_lock``), and nothing here LISTENs, SETs or holds a cursor past its
    transaction. asyncpg still rolls back a transaction left open and drops listeners before it
    calls this.
    """


def _conversation_from_row(row: asyncpg.Record) -> ConversationRecord:
    return ConversationRecord(**_from_db(_CONVERSATION_COLUMNS, row))


def _event_from_row(row: asyncpg.Record) -> Event:
    values = _from_db(_EVENT_COLUMNS, row)
    values["data"] = json.loads(values["data"])
    return Event(**values)


def _ticket_from_row(row: asyncpg.Record) -> TicketRecord:
    return TicketRecord(**_from_db(_TICKET_COLUMNS, row))


def _dump_json(value: Mapping[str, Any]) -> str:
    """Compact JSON for the jsonb column; ValueError if unencodable."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not JSON-serialisable: {exc}") from exc


def _row_count(status: str) -> int:
    """Rows affected, from a command tag such as ``UPDATE 1`` or ``DELETE 0``."""
    return int(status.rsplit(" ", 1)[-1])


def _non_negative(name: str, value: int) -> int:
    """Reject negative limits and offsets (PostgreSQL would raise a less helpful error)."""
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _redact_url(url: str) -> str:
    """The url without its password, for errors and repr (config may embed one)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{host}"
