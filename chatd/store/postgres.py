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
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from chatd.store.accounts import Accounts, affected_rows, numbered
from chatd.store.base import (
    STATUSES,
    AgentRecord,
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
    unknown_fields,
)
from chatd.store.erasure import Erasure
from chatd.store.followups import Followups
from chatd.store.outbox import Outbox
from chatd.store.postgres_append import APPEND_EVENT, APPEND_EVENT_WITH_CONVERSATION, Appender
from chatd.store.postgres_pool import (
    TrackedPool,
    apply_migrations,
    redact_url,
    row_count,
)
from chatd.store.rows import Rows
from chatd.store.sql import (
    AGENT_COLUMNS,
    CONVERSATION_STORED_COLUMNS,
    Dialect,
    Queries,
)

__all__ = ["DIALECT", "MIGRATIONS", "SCHEMA_VERSION", "PostgresStore"]

#: Connections per node. Appends to one conversation hold its row lock for one round trip, so
#: more connections than cores on the database mostly queue inside PostgreSQL; 10 kept 100
#: concurrent appenders at full speed on a 2-core box.
_DEFAULT_POOL_SIZE = 10

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

_V6_ATTACHMENTS = """
-- The bytes of attachments (chatd.store.blobs); their metadata is in the attachment event.
-- Unsettled rows are uploads whose event may not exist: the start-up sweep checks them.
CREATE TABLE attachment_blobs (
    conversation_id  TEXT NOT NULL REFERENCES conversations (conversation_id) ON DELETE CASCADE,
    attachment_id    TEXT NOT NULL,
    content          BYTEA NOT NULL,
    created_at       DOUBLE PRECISION NOT NULL,
    settled          BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (conversation_id, attachment_id)
);
CREATE INDEX attachment_blobs_unsettled ON attachment_blobs (created_at) WHERE NOT settled;
"""

_V7_API_TOKENS = """
-- Integration tokens (chatd tokens create): SHA-256 of the token, its name and scopes.
CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);
"""

_V8_OUTBOX = """
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

_V9_FOLLOWUPS = """
-- Customers who asked for the staff's replies by email while they are away (chatd.store.outbox).
CREATE TABLE followups (
    conversation_id  TEXT PRIMARY KEY,
    email            TEXT NOT NULL,
    created_at       DOUBLE PRECISION NOT NULL
);
CREATE INDEX outbox_conversation ON outbox (conversation_id, type);
"""

MIGRATIONS: tuple[str, ...] = (
    _V1_INITIAL,
    _V2_DISPATCH_FENCE,
    _V3_SUBJECT,
    _V4_CID_PER_AUTHOR,
    _V5_STAFF_SIGN_IN,
    _V6_ATTACHMENTS,
    _V7_API_TOKENS,
    _V8_OUTBOX,
    _V9_FOLLOWUPS,
)
#: The schema version this code writes and understands.
SCHEMA_VERSION = len(MIGRATIONS)

#: What PostgreSQL does differently from SQLite (chatd.store.sql): ``$n`` placeholders, TEXT[]
#: and BOOLEAN columns, records read by name, ``last_seq`` kept in the conversation row (the
#: counter the appends lock), the folded text stored beside each event (``text_folded``, see
#: the schema), and a list bound as one array parameter.
DIALECT = Dialect(
    name="postgresql",
    numbered_params=True,
    native_arrays=True,
    native_bools=True,
    rows_by_name=True,
    event_data="data::text AS data",
    last_seq="c.last_seq",
    folded_event_text="e.text_folded",
    contains="strpos({haystack}, {needle}) > 0",
    not_internal="NOT internal",
    list_param=True,
)
_SQL = Queries(DIALECT)
_ROWS = Rows(DIALECT)


class PostgresStore:
    """The :class:`~chatd.store.base.Store` on PostgreSQL; safe to share between nodes."""

    def __init__(self, url: str, *, pool_size: int = _DEFAULT_POOL_SIZE) -> None:
        """Prepare a store on the database ``url`` names (``postgresql://user@host:port/db``).

        Nothing connects until :meth:`open`.
        """
        if pool_size < 1:
            raise ValueError(f"pool_size must be >= 1, got {pool_size}")
        self._url = url
        #: The pool (migrated on open); close() waits for every call it tracks.
        self._db = TrackedPool(url, pool_size, owner=repr(self))
        #: The one-round-trip appends, queued per conversation on this node.
        self._appends = Appender(self._db, _SQL, _ROWS)
        #: Staff sign-in and the audit trail (chatd.store.accounts).
        self.accounts = Accounts(_Runner(self._db))
        #: Retention and erasure (chatd.store.erasure).
        self.erasure = Erasure(_Runner(self._db))
        #: Outgoing emails and webhooks (chatd.store.outbox).
        self.outbox = Outbox(_Runner(self._db), skip_locked=True)
        #: Replies by email for customers who are away (chatd.store.followups).
        self.followups = Followups(_Runner(self._db))
        # Tickets created by one node get numbers in call order (nextval order on parallel
        # connections would otherwise follow server scheduling). Tickets are rare; a node-wide
        # lock costs nothing measurable.
        self._ticket_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgresStore({redact_url(self._url)!r})"

    # -- lifecycle --------------------------------------------------------------------------------
    async def open(self) -> None:
        """Create the pool and apply pending schema migrations (:data:`MIGRATIONS`)."""
        await self._db.open(lambda conn: apply_migrations(conn, MIGRATIONS))

    async def close(self) -> None:
        """Wait for every call already made to finish, then close the pool. Idempotent."""
        await self._db.close()

    def connection(self, what: str) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """A pooled, tracked connection for tables other modules own (chatd.store.blobs)."""
        return self._db.connection(what)

    # -- agents -----------------------------------------------------------------------------------
    async def add_agent(self, agent: AgentRecord) -> None:
        """Insert an account; DuplicateError when the name or id exists."""
        check_agent(agent)
        params = _ROWS.values(agent, AGENT_COLUMNS)
        try:
            await self._db.execute("add_agent", _SQL.insert_agent, *params)
        except StoreError as exc:
            if isinstance(exc.__cause__, asyncpg.UniqueViolationError):
                what = "name" if "name" in str(exc.__cause__.constraint_name) else "id"
                value = agent.name if what == "name" else agent.agent_id
                raise DuplicateError(f"an agent with {what} {value!r} exists") from exc.__cause__
            raise

    async def get_agent(self, agent_id: str) -> AgentRecord | None:
        """The account with this id, or None."""
        rows = await self._db.fetch("get_agent", _SQL.agent_by_id, agent_id)
        return _ROWS.agent(rows[0]) if rows else None

    async def get_agent_by_name(self, name: str) -> AgentRecord | None:
        """The account with this name, or None."""
        rows = await self._db.fetch("get_agent_by_name", _SQL.agent_by_name, name)
        return _ROWS.agent(rows[0]) if rows else None

    async def list_agents(self) -> list[AgentRecord]:
        """All accounts ordered by name."""
        return [
            _ROWS.agent(row) for row in await self._db.fetch("list_agents", _SQL.agents_by_name)
        ]

    async def remove_agent(self, agent_id: str) -> bool:
        """Delete an account; False when it did not exist. Its conversations keep its id."""
        status = await self._db.execute("remove_agent", _SQL.delete_agent, agent_id)
        return row_count(status) > 0

    # -- conversations ----------------------------------------------------------------------------
    async def create_conversation(self, conversation: ConversationRecord) -> None:
        """Insert; DuplicateError when the id exists. ``last_seq`` is ignored (no events yet)."""
        check_new_conversation(conversation)
        params = _ROWS.values(conversation, CONVERSATION_STORED_COLUMNS)
        try:
            await self._db.execute("create_conversation", _SQL.insert_conversation, *params)
        except StoreError as exc:
            if isinstance(exc.__cause__, asyncpg.UniqueViolationError):
                raise DuplicateError(
                    f"conversation {conversation.conversation_id!r} exists"
                ) from exc.__cause__
            raise

    async def get_conversation(self, conversation_id: str) -> ConversationRecord | None:
        """The conversation, or None."""
        rows = await self._db.fetch("get_conversation", _SQL.conversation_by_id, conversation_id)
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
        status = await self._db.execute("update_conversation", sql, *params)
        if row_count(status) == 0:
            raise StoreError(f"unknown conversation {conversation_id!r}")

    # -- cluster dispatch fencing (chatd.service.cluster) ------------------------------------------
    async def raise_fence(self, epoch: int) -> int:
        """Record that the dispatcher leader of ``epoch`` took over; returns the fence after it.

        The fence only moves up. From the moment this commits, :meth:`fenced_update_conversation`
        refuses every write of an older leader.
        """
        rows = await self._db.fetch(
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
        values = {name: _ROWS.to_db(name, value) for name, value in fields.items()}
        values.setdefault("updated_at", time.time())
        # None stays None: the condition is IS NULL (chatd.store.sql.Queries.update_conversation).
        stored = {k: None if v is None else _ROWS.to_db(k, v) for k, v in expect.items()}
        sql, args = _SQL.update_conversation(conversation_id, values, stored)
        async with self._db.connection("fenced_update_conversation") as conn:
            async with conn.transaction():
                fence = await conn.fetchval(
                    "SELECT epoch FROM dispatch_fence WHERE id = 1 FOR SHARE"
                )
                if fence is None or int(fence) > epoch:
                    return False
                return row_count(str(await conn.execute(sql, *args))) > 0

    async def append_event(self, conversation_id: str, event: NewEvent) -> tuple[Event, bool]:
        """Store an event with the next seq. Returns (event, created).

        When ``event.cid`` is set and an event with that cid exists in the conversation (written
        by any node), nothing is written and (existing event, False) is returned. StoreError for
        an unknown conversation.
        """
        stored, created, _row = await self._appends.append(conversation_id, event, APPEND_EVENT)
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
        stored, created, row = await self._appends.append(
            conversation_id,
            event,
            APPEND_EVENT_WITH_CONVERSATION,
            condition,
            checked=expect is not None,
        )
        conv = _ROWS.conversation(row) if row is not None else None
        return stored, created, conv

    async def event_by_cid(self, conversation_id: str, owner: str, cid: str) -> Event | None:
        """The event ``owner`` (see base.cid_owner) stored with ``cid`` in the conversation."""
        rows = await self._db.fetch("event_by_cid", _SQL.event_by_cid, conversation_id, owner, cid)
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
        return [_ROWS.event(row) for row in await self._db.fetch("events", sql, *params)]

    async def list_conversations(self, flt: ConversationFilter) -> list[ConversationRecord]:
        """Conversations matching every set field of ``flt``, newest first.

        ``text`` matches any event's text, internal notes included (operators see those), as a
        Unicode case-insensitive substring (Python casefold on both sides, as on SQLite).
        """
        sql, params = _SQL.list_conversations(flt)
        rows = await self._db.fetch("list_conversations", sql, *params)
        return [_ROWS.conversation(row) for row in rows]

    async def open_conversations(self) -> list[ConversationRecord]:
        """Conversations whose status is in OPEN_STATUSES, oldest first (restart recovery)."""
        rows = await self._db.fetch(
            "open_conversations", _SQL.open_conversations, *_SQL.open_conversations_params
        )
        return [_ROWS.conversation(row) for row in rows]

    # -- tickets ----------------------------------------------------------------------------------
    async def create_ticket(
        self, conversation_id: str, *, contact: str, text: str, now: float
    ) -> TicketRecord:
        """Open a ticket with the next number; StoreError for an unknown conversation."""
        async with self._db.tracked(), self._ticket_lock:
            try:
                async with self._db.acquire("create_ticket") as conn:
                    ticket_id = await conn.fetchval(
                        _SQL.insert_ticket, conversation_id, now, contact, text
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
        rows = await self._db.fetch("get_ticket", _SQL.ticket_by_id, ticket_id)
        return _ROWS.ticket(rows[0]) if rows else None

    async def ticket_for_conversation(self, conversation_id: str) -> TicketRecord | None:
        """The conversation's newest ticket, or None."""
        rows = await self._db.fetch(
            "ticket_for_conversation", _SQL.ticket_for_conversation, conversation_id
        )
        return _ROWS.ticket(rows[0]) if rows else None

    async def list_tickets(self, status: str | None = None, limit: int = 100) -> list[TicketRecord]:
        """Tickets with this status (any when None): open ones first, then oldest first."""
        sql, params = _SQL.list_tickets(status, limit)
        return [_ROWS.ticket(row) for row in await self._db.fetch("list_tickets", sql, *params)]

    async def update_ticket(self, ticket_id: int, **fields: Any) -> None:
        """Set status / answered_at / answered_by (else ValueError); StoreError if unknown."""
        check_ticket_update(fields)
        if not fields:
            return
        sql, params = _SQL.update_ticket(ticket_id, fields)
        status = await self._db.execute("update_ticket", sql, *params)
        if row_count(status) == 0:
            raise StoreError(f"unknown ticket {ticket_id!r}")

    # -- metrics ----------------------------------------------------------------------------------
    async def count_by_status(self) -> dict[str, int]:
        """Conversations per status; every status in STATUSES is present, zero included."""
        rows = await self._db.fetch("count_by_status", _SQL.count_by_status)
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({row[0]: int(row[1]) for row in rows})
        return counts


class _Runner:
    """:class:`~chatd.store.accounts.SQLRunner` on the store's pool (placeholders numbered)."""

    def __init__(self, db: TrackedPool) -> None:
        self._db = db

    async def read(self, what: str, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        return list(await self._db.fetch(what, numbered(sql), *params))

    async def write(self, what: str, sql: str, params: Sequence[Any]) -> int:
        return affected_rows(await self._db.execute(what, numbered(sql), *params))

    async def transaction(
        self, what: str, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[int]:
        async with self._db.connection(what) as conn, conn.transaction():
            return [
                affected_rows(await conn.execute(numbered(sql), *params))
                for sql, params in statements
            ]
