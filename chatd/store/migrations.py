"""The SQLite schema, as an ordered list of migration scripts.

``MIGRATIONS[i]`` upgrades a database from version ``i`` to ``i + 1``; the version lives in
``PRAGMA user_version`` (0 for a new file). Never edit a script that has shipped: append a new one.
The SQLite store applies every pending script and the version bump in one transaction, so a crash
mid-upgrade leaves the previous version intact, and it refuses a file whose version is higher than
``SCHEMA_VERSION`` (written by a newer chatd).

Tuples (languages, skills, tags) and event ``data`` are stored as JSON text; booleans as 0/1.
"""

from __future__ import annotations

import sqlite3

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "split_statements"]

_V1_INITIAL = """
CREATE TABLE agents (
    agent_id    TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    token_hash  TEXT NOT NULL,
    languages   TEXT NOT NULL DEFAULT '["en"]',
    skills      TEXT NOT NULL DEFAULT '[]',
    capacity    INTEGER NOT NULL DEFAULT 3,
    created_at  REAL NOT NULL DEFAULT 0
);

CREATE TABLE conversations (
    conversation_id    TEXT PRIMARY KEY,
    created_at         REAL NOT NULL,
    updated_at         REAL NOT NULL,
    status             TEXT NOT NULL DEFAULT 'bot',
    locale             TEXT NOT NULL DEFAULT 'en',
    user_id            TEXT,
    verified           INTEGER NOT NULL DEFAULT 0,
    priority           TEXT NOT NULL DEFAULT 'normal',
    intent             TEXT,
    skills             TEXT NOT NULL DEFAULT '[]',
    enqueued_at        REAL,
    -- No foreign key to agents: transcripts outlive a removed agent account.
    agent_id           TEXT,
    assigned_at        REAL,
    first_response_at  REAL,
    closed_at          REAL,
    closed_by          TEXT,
    csat_score         INTEGER,
    csat_comment       TEXT,
    tags               TEXT NOT NULL DEFAULT '[]',
    -- No last_seq column: it is MAX(events.seq), one primary-key probe, so appending an event
    -- never has to rewrite the conversation row.
    bot_misses         INTEGER NOT NULL DEFAULT 0,
    handoff_reason     TEXT
);
-- Operator listing is newest first, usually narrowed by status; restart recovery scans statuses.
CREATE INDEX conversations_status_created ON conversations (status, created_at);
CREATE INDEX conversations_created ON conversations (created_at);
CREATE INDEX conversations_agent ON conversations (agent_id, created_at);

CREATE TABLE events (
    conversation_id  TEXT NOT NULL REFERENCES conversations (conversation_id),
    seq              INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    ts               REAL NOT NULL,
    author           TEXT NOT NULL,
    text             TEXT,
    author_id        TEXT,
    author_name      TEXT,
    cid              TEXT,
    internal         INTEGER NOT NULL DEFAULT 0,
    data             TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (conversation_id, seq)
);
-- Backstop for the writer's cid check: a retried client message is stored once.
CREATE UNIQUE INDEX events_cid ON events (conversation_id, cid) WHERE cid IS NOT NULL;

CREATE TABLE tickets (
    -- AUTOINCREMENT: ticket numbers are shown to customers and must never be reused.
    ticket_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id  TEXT NOT NULL REFERENCES conversations (conversation_id),
    created_at       REAL NOT NULL,
    status           TEXT NOT NULL DEFAULT 'open',
    contact          TEXT NOT NULL DEFAULT '',
    text             TEXT NOT NULL DEFAULT '',
    answered_at      REAL,
    answered_by      TEXT
);
CREATE INDEX tickets_conversation ON tickets (conversation_id);
CREATE INDEX tickets_status_created ON tickets (status, created_at);
"""

_V2_SUBJECT = """
-- The customer's first message, shown in lists of conversations (NULL until they write).
ALTER TABLE conversations ADD COLUMN subject TEXT;
"""

_V3_CID_PER_AUTHOR = """
-- A cid is unique per author, not per conversation: an agent reusing a customer's cid (or
-- another agent's) must not have their message swallowed as a "retry" of someone else's.
DROP INDEX events_cid;
CREATE UNIQUE INDEX events_cid ON events (conversation_id, COALESCE(author_id, author), cid)
    WHERE cid IS NOT NULL;
"""

_V4_STAFF_SIGN_IN = """
-- Staff sign-in (chatd.store.accounts): passwords, TOTP, sessions, the audit trail.
ALTER TABLE agents ADD COLUMN password_hash TEXT;
ALTER TABLE agents ADD COLUMN totp_secret TEXT;
ALTER TABLE agents ADD COLUMN totp_step INTEGER NOT NULL DEFAULT 0;
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    agent_id    TEXT NOT NULL,
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,
    ip          TEXT
);
CREATE INDEX sessions_agent ON sessions (agent_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    ts      REAL NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    ip      TEXT
);
CREATE INDEX audit_ts ON audit (ts);
CREATE INDEX audit_actor_action_ts ON audit (actor, action, ts);
"""

#: Ordered upgrade scripts; index i takes the schema from version i to i + 1.
_V5_API_TOKENS = """
-- Integration tokens (chatd tokens create): SHA-256 of the token, its name and scopes.
CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    created_at  REAL NOT NULL
);
"""

_V6_OUTBOX = """
-- Outgoing emails and webhooks (chatd.store.outbox): queued with their event, delivered at least
-- once. A row lives until its receiver accepted it.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    channel          TEXT NOT NULL,
    receiver         TEXT NOT NULL,
    delivery_id      TEXT NOT NULL,
    type             TEXT NOT NULL,
    conversation_id  TEXT,
    seq              INTEGER,
    created_at       REAL NOT NULL,
    payload          TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    due_at           REAL NOT NULL,
    lease_owner      TEXT,
    last_error       TEXT
);
CREATE UNIQUE INDEX outbox_delivery ON outbox (receiver, delivery_id);
CREATE INDEX outbox_due ON outbox (due_at);
-- A claim reads back its own rows by claim token; a backlog must not make that a table scan.
CREATE INDEX outbox_lease ON outbox (lease_owner) WHERE lease_owner IS NOT NULL;
"""

_V7_FOLLOWUPS = """
-- Customers who asked for the staff's replies by email while they are away (chatd.store.outbox):
-- one address a conversation. A digest of the replies they did not see goes to it.
CREATE TABLE followups (
    conversation_id  TEXT PRIMARY KEY,
    email            TEXT NOT NULL,
    created_at       REAL NOT NULL
);
-- A customer who is back cancels the digest of their conversation.
CREATE INDEX outbox_conversation ON outbox (conversation_id, type);
"""

MIGRATIONS: tuple[str, ...] = (
    _V1_INITIAL,
    _V2_SUBJECT,
    _V3_CID_PER_AUTHOR,
    _V4_STAFF_SIGN_IN,
    _V5_API_TOKENS,
    _V6_OUTBOX,
    _V7_FOLLOWUPS,
)
#: The schema version this code writes and understands.
SCHEMA_VERSION = len(MIGRATIONS)


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements.

    ``sqlite3.Connection.executescript`` commits any open transaction first, so it cannot run a
    migration inside the transaction that also checks and bumps ``user_version``; the store runs
    the statements one by one instead. ``sqlite3.complete_statement`` keeps semicolons inside
    strings, comments and trigger bodies from splitting a statement.
    """
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if not _only_comments(pending.rstrip(";")):
                statements.append(pending.strip())
            pending = ""
    # The split appends one ";" too many; what is left must be whitespace or comments.
    if not _only_comments(pending.rstrip(";")):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {pending!r}")
    return statements


def _only_comments(sql: str) -> bool:
    """True when ``sql`` holds nothing but ``--`` comments and whitespace."""
    return all(not line.strip() or line.strip().startswith("--") for line in sql.splitlines())
