"""The embedded storage backend: one SQLite file in WAL mode, with group commit.

Two connections to the same file:

* the **writer** connection (a plain :mod:`sqlite3` connection) belongs to one writer task. Every
  write (agents, conversations, events, tickets) is queued as a :class:`_WriteOp`; the writer takes
  everything pending, runs it inside ONE transaction, commits once, then resolves each caller's
  future. So 200 concurrent ``append_event`` calls cost about one commit, not 200. The batch's
  statements run on the event-loop thread (a small insert takes a few microseconds); only COMMIT,
  which writes the WAL and fsyncs it, runs on the writer's own thread. Running every statement
  on a thread cost a GIL hand-over per statement, each up to a 5 ms switch interval on a busy
  loop, which multiplied commit latency (see :meth:`SQLiteStore._commit_batch`). A failing
  operation fails its own caller only, never the rest of the batch. ``seq`` assignment and the
  ``cid`` dedupe happen here, serialised, with a cache of the last seq per conversation.
* the **reader** connection (aiosqlite) serves every read. WAL lets it read while the writer
  writes, and since it never shares a transaction with the writer it only sees committed data.

The durability rule of :mod:`chatd.store.base` holds because a caller's future is resolved only
after COMMIT returned. One process writes to a database file at a time (the seq cache assumes
it); other processes (the CLI) may read, and may write agents, waiting on ``busy_timeout``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite

from chatd.logs import get_logger
from chatd.store.accounts import Accounts
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
)
from chatd.store.files import prepare_private_database
from chatd.store.migrations import MIGRATIONS, SCHEMA_VERSION, split_statements
from chatd.store.outbox import Outbox

__all__ = ["SQLiteStore"]

T = TypeVar("T")

#: How long a connection waits for another process's lock (e.g. ``chatd agents add`` while the
#: server runs) before failing with "database is locked". Long enough for any sane transaction,
#: short enough that a stuck lock surfaces as an error instead of a hung server.
log = get_logger(__name__)

_BUSY_TIMEOUT_MS = 5_000
#: Most operations in one transaction. The first caller of a batch waits for the whole batch, so
#: this bounds write latency under overload (about 1,000 appends take a few ms) without costing
#: throughput: the queue behind a full batch becomes the next batch.
_MAX_BATCH = 1_000
#: With synchronous=NORMAL, SQLite's own checkpoint (which fsyncs) would run inside a COMMIT on
#: the event loop; it is turned off and a PASSIVE checkpoint runs on the reader's thread after
#: this many commits instead (a few pages each: near SQLite's default of 1,000 WAL pages).
_CHECKPOINT_EVERY_COMMITS = 256
#: Conversations whose last seq the writer remembers. Only active conversations append, so this
#: covers every live chat of a busy server; a miss costs one primary-key probe.
_SEQ_CACHE_SIZE = 10_000

_TICKET_STATUSES = ("open", "answered", "closed")
_TICKET_FIELDS = frozenset({"status", "answered_at", "answered_by"})
_ROLES = ("agent", "supervisor", "operator")

_AGENT_COLUMNS: tuple[str, ...] = tuple(AgentRecord.__dataclass_fields__)
_EVENT_COLUMNS: tuple[str, ...] = tuple(Event.__dataclass_fields__)
_TICKET_COLUMNS: tuple[str, ...] = tuple(TicketRecord.__dataclass_fields__)
#: Stored columns; last_seq is derived from the events table (see migrations.py).
_CONVERSATION_COLUMNS: tuple[str, ...] = tuple(
    name for name in ConversationRecord.__dataclass_fields__ if name != "last_seq"
)
_JSON_TUPLE_FIELDS = frozenset({"languages", "skills", "tags"})
_BOOL_FIELDS = frozenset({"verified", "internal"})

_SELECT_AGENT = f"SELECT {', '.join(_AGENT_COLUMNS)} FROM agents"
_SELECT_EVENT = f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events"
#: The event a (conversation, cid) pair already stored: what a retried send is answered with.
_SELECT_EVENT_BY_CID = (
    f"{_SELECT_EVENT} WHERE conversation_id = ? AND COALESCE(author_id, author) = ? AND cid = ?"
)
_SELECT_TICKET = f"SELECT {', '.join(_TICKET_COLUMNS)} FROM tickets"
_SELECT_CONVERSATION = (
    "SELECT "
    + ", ".join(f"c.{name}" for name in _CONVERSATION_COLUMNS)
    + ", COALESCE((SELECT MAX(e.seq) FROM events e"
    " WHERE e.conversation_id = c.conversation_id), 0) AS last_seq"
    " FROM conversations c"
)
_INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_EVENT_COLUMNS))})"
)
#: The column order _INSERT_EVENT_UNLESS_CID's parameters are written in (append_event).
_EVENT_PARAM_ORDER = (
    "conversation_id", "seq", "kind", "ts", "author", "text",
    "author_id", "author_name", "cid", "internal", "data",
)  # fmt: skip
if _EVENT_COLUMNS != _EVENT_PARAM_ORDER:  # pragma: no cover - guards a change to Event's fields
    raise ImportError("Event fields changed: update append_event's parameters")
#: Insert, or nothing when the conversation already has this cid (a client retry).
_INSERT_EVENT_UNLESS_CID = (
    _INSERT_EVENT
    + " ON CONFLICT (conversation_id, COALESCE(author_id, author), cid) WHERE cid IS NOT NULL"
    + " DO NOTHING"
)
_INSERT_CONVERSATION = (
    f"INSERT INTO conversations ({', '.join(_CONVERSATION_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_CONVERSATION_COLUMNS))})"
)
_INSERT_AGENT = (
    f"INSERT INTO agents ({', '.join(_AGENT_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_AGENT_COLUMNS))})"
)


@dataclass(slots=True)
class _WriteOp:
    """One queued write: a function run on the writer connection inside the batch transaction."""

    apply: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]


class _SeqTracker:
    """The last seq per conversation, transactional with the writer's batch.

    Touched only by the write loop, one batch at a time. A seq becomes visible to later operations
    of the same batch when its operation's savepoint is released, and is remembered across batches
    only once the batch committed, so a rolled-back append leaves no gap and no reused seq.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._committed: OrderedDict[str, int] = OrderedDict()
        self._batch: dict[str, int] = {}
        self._op: dict[str, int] = {}

    def last_seq(self, conn: sqlite3.Connection, conversation_id: str) -> int:
        """The highest seq of the conversation; StoreError when it does not exist."""
        for layer in (self._op, self._batch):
            if conversation_id in layer:
                return layer[conversation_id]
        seq = self._committed.get(conversation_id)
        if seq is not None:
            self._committed.move_to_end(conversation_id)
            return seq
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM conversations WHERE conversation_id = ?),"
            " COALESCE((SELECT MAX(seq) FROM events WHERE conversation_id = ?), 0)",
            (conversation_id, conversation_id),
        ).fetchone()
        if not row[0]:
            raise StoreError(f"unknown conversation {conversation_id!r}")
        # Staged like a write: the conversation may have been created by this uncommitted batch.
        self._op[conversation_id] = row[1]
        return int(row[1])

    def stage(self, conversation_id: str, seq: int) -> None:
        """Record a seq written by the current operation."""
        self._op[conversation_id] = seq

    def end_operation(self, *, released: bool) -> None:
        """The current operation's savepoint was released (keep its seqs) or rolled back."""
        if released:
            self._batch.update(self._op)
        self._op.clear()

    def end_batch(self, *, committed: bool) -> None:
        """The batch committed (remember its seqs) or rolled back (forget them)."""
        if committed:
            for conversation_id, seq in self._batch.items():
                self._committed[conversation_id] = seq
                self._committed.move_to_end(conversation_id)
            while len(self._committed) > self._capacity:
                self._committed.popitem(last=False)
        self._batch.clear()
        self._op.clear()


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
        :data:`_CHECKPOINT_EVERY_COMMITS`). Measured by ``chatd bench relay`` (BENCHMARKS.md).
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
        self._queue: asyncio.Queue[_WriteOp | None] = asyncio.Queue()
        self._writer_task: asyncio.Task[None] | None = None
        self._closing = False
        self._seqs = _SeqTracker(_SEQ_CACHE_SIZE)
        self._commits = 0
        self._checkpoint_task: asyncio.Task[None] | None = None
        #: Staff sign-in and the audit trail (chatd.store.accounts).
        self.accounts = Accounts(_Runner(self))
        #: Outgoing emails and webhooks (chatd.store.outbox).
        self.outbox = Outbox(_Runner(self))

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self._path)!r})"

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def commit_count(self) -> int:
        """Write transactions committed since :meth:`open` (one per group-commit batch)."""
        return self._commits

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
            self._writer = await self._in_thread(self._connect_writer)
            self._reader = await aiosqlite.connect(self._path, isolation_level=None)
            await self._reader.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            await self._reader.execute("PRAGMA query_only = ON")
            await self._reader.create_function("chatd_casefold", 1, _casefold, deterministic=True)
        except BaseException as exc:
            await self._close_connections()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot open SQLite database {str(self._path)!r}: {exc}") from exc
            raise
        self._writer_task = asyncio.create_task(self._write_loop(), name="chatd-sqlite-writer")

    async def close(self) -> None:
        """Finish every write already submitted, then close. Later writes raise StoreError."""
        if self._closing:
            return
        self._closing = True
        try:
            if self._writer_task is not None:
                self._queue.put_nowait(None)  # the writer stops after everything queued before it
                await self._writer_task
            if self._checkpoint_task is not None:
                await self._checkpoint_task
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

    def _connect_writer(self) -> sqlite3.Connection:
        """Open the writer connection and migrate the schema (writer thread)."""
        # isolation_level=None: the sqlite3 module must not open transactions behind our back;
        # the writer issues BEGIN/SAVEPOINT/COMMIT itself. check_same_thread=False: statements run
        # on the loop thread and COMMIT on the writer thread, never at the same time (the write
        # loop awaits each step).
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            self._prepare_writer(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _switch_to_wal(conn: sqlite3.Connection) -> str:
        """PRAGMA journal_mode = WAL, retried while another connection holds the file.

        Two processes opening a new file at once both switch it; the loser can get SQLITE_BUSY
        at once, without the busy timeout's wait (3 of 11 runs of the SQLite store test file
        failed that way, 0 of 10 with the retry). It is retried for as long as the busy timeout
        would have waited.
        """
        deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(0.01)

    def _prepare_writer(self, conn: sqlite3.Connection) -> None:
        """Set the connection up and migrate the schema (runs on the writer thread)."""
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        mode = self._switch_to_wal(conn)
        if str(mode).lower() != "wal":
            raise StoreError(f"{str(self._path)!r}: cannot switch to WAL (journal_mode={mode})")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        if self._synchronous == "NORMAL":
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # see _CHECKPOINT_EVERY_COMMITS
        # Off by default in SQLite; must be set outside a transaction, per connection.
        conn.execute("PRAGMA foreign_keys = ON")
        # IMMEDIATE takes the write lock before reading user_version, so two processes opening a
        # new file at once cannot both apply the same migration.
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{str(self._path)!r} has schema version {version}, newer than this chatd "
                    f"understands ({SCHEMA_VERSION}); upgrade chatd or use another data directory"
                )
            for script in MIGRATIONS[version:]:
                for statement in split_statements(script):
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                # user_version lives in the file header, so it commits atomically with the DDL.
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        # From now on the event loop runs statements on this connection: it must never wait for
        # a lock there. Only BEGIN IMMEDIATE can meet one (another process writing); it is tried
        # without waiting and retried on the writer thread with the full timeout (see _begin).
        conn.execute("PRAGMA busy_timeout = 0")

    # -- the writer -------------------------------------------------------------------------------
    async def _submit(self, apply: Callable[[sqlite3.Connection], T]) -> T:
        """Queue a write for the next batch and wait until it is committed (or failed)."""
        if self._closing:
            raise StoreError(f"{self!r} is closed")
        if self._writer_task is None:
            raise StoreError(f"{self!r} is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_WriteOp(apply, future))
        return await future

    async def _write_loop(self) -> None:
        """Commit whatever is queued, batch after batch, until close() queues the stop marker."""
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    op = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if op is None:
                    stop = True
                    break
                batch.append(op)
            # A caller cancelled before its batch started gave up on the write: skip it. Once the
            # batch runs, cancellation no longer undoes it (a retried message dedupes on cid).
            live = [op for op in batch if not op.future.done()]
            if live:
                await self._commit_batch(live)
            if stop:
                return

    async def _commit_batch(self, batch: list[_WriteOp]) -> None:
        """Run one batch in one transaction and resolve every caller's future."""
        try:
            outcomes = await self._run_batch(batch)
        except Exception as exc:  # the transaction as a whole failed: nothing was committed
            error = _as_store_error("write transaction", exc)
            for op in batch:
                if not op.future.done():
                    op.future.set_exception(error)
            return
        for op, (ok, value) in zip(batch, outcomes, strict=True):
            if op.future.done():
                continue
            if ok:
                op.future.set_result(value)
            else:
                op.future.set_exception(value)

    async def _run_batch(self, batch: Sequence[_WriteOp]) -> list[tuple[bool, Any]]:
        """Apply every operation in one transaction and commit it.

        Fast path first: the operations run back to back, with no savepoint around each. When one
        of them fails, the transaction is rolled back and the batch runs again with a savepoint
        per operation, so the failure still fails its own caller only. Operations are functions of
        the database state (and of the seq tracker, rolled back with it), so the second run is
        what the first would have been.

        The statements run here, on the event loop: no thread hop, no GIL hand-over per statement.
        Only COMMIT (WAL write and fsync, milliseconds) goes to the writer thread, which holds the
        GIL just to start and to finish it, so the loop keeps serving sockets meanwhile.
        """
        conn = self._writer
        if conn is None:
            raise StoreError(f"{self!r} is not open")
        await self._begin(conn)
        outcomes = self._apply_fast(batch, conn)
        if outcomes is None:
            await self._begin(conn)
            outcomes = self._apply_isolated(batch, conn)
        try:
            if self._synchronous == "NORMAL":
                self._commit(conn)  # no fsync: microseconds, so on the loop, no thread hop
            else:
                await asyncio.shield(
                    asyncio.wrap_future(self._executor_or_fail().submit(self._commit, conn))
                )
        except asyncio.CancelledError:
            # The COMMIT may or may not land: forget every cached seq (a miss costs one probe).
            self._seqs = _SeqTracker(_SEQ_CACHE_SIZE)
            raise
        except BaseException:
            self._seqs.end_batch(committed=False)
            raise
        self._seqs.end_batch(committed=True)
        self._commits += 1
        if self._synchronous == "NORMAL" and self._commits % _CHECKPOINT_EVERY_COMMITS == 0:
            self._start_checkpoint()
        return outcomes

    def _start_checkpoint(self) -> None:
        """Checkpoint in the background unless one is still running."""
        if self._checkpoint_task is None or self._checkpoint_task.done():
            self._checkpoint_task = asyncio.create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        """Copy the WAL into the database file without blocking writers (reader's thread)."""
        reader = self._reader
        if reader is None:
            return
        try:
            await reader.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except (sqlite3.Error, ValueError) as exc:  # ValueError: closed under our feet
            log.warning("sqlite_checkpoint_failed", error=str(exc))

    def _executor_or_fail(self) -> ThreadPoolExecutor:
        if self._executor is None:
            raise StoreError(f"{self!r} is not open")
        return self._executor

    async def _begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE on the loop; when another process holds the lock, wait on the thread.

        The connection's busy timeout is 0 outside this wait, so the loop never blocks on a lock.
        """
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or conn.in_transaction:
                raise

        def begin_waiting() -> None:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            try:
                conn.execute("BEGIN IMMEDIATE")
            finally:
                conn.execute("PRAGMA busy_timeout = 0")

        await self._in_thread(begin_waiting)

    @staticmethod
    def _commit(conn: sqlite3.Connection) -> None:
        """COMMIT, or roll back when it fails (writer thread; the loop does not touch ``conn``)."""
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _apply_fast(
        self, batch: Sequence[_WriteOp], conn: sqlite3.Connection
    ) -> list[tuple[bool, Any]] | None:
        """Every op in the open transaction; None (rolled back) if any op failed."""
        try:
            outcomes: list[tuple[bool, Any]] = []
            for op in batch:
                try:
                    value = op.apply(conn)
                except Exception:
                    conn.execute("ROLLBACK")
                    self._seqs.end_batch(committed=False)
                    return None
                self._seqs.end_operation(released=True)
                outcomes.append((True, value))
        except BaseException:
            self._seqs.end_batch(committed=False)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes

    def _apply_isolated(
        self, batch: Sequence[_WriteOp], conn: sqlite3.Connection
    ) -> list[tuple[bool, Any]]:
        """Every op in its own savepoint of the open transaction."""
        outcomes: list[tuple[bool, Any]] = []
        try:
            for op in batch:
                conn.execute("SAVEPOINT op")
                try:
                    value = op.apply(conn)
                except Exception as exc:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    self._seqs.end_operation(released=False)
                    outcomes.append((False, _as_store_error("write", exc)))
                else:
                    conn.execute("RELEASE op")
                    self._seqs.end_operation(released=True)
                    outcomes.append((True, value))
        except BaseException:
            self._seqs.end_batch(committed=False)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes

    # -- agents -----------------------------------------------------------------------------------
    async def add_agent(self, agent: AgentRecord) -> None:
        """Insert an account; DuplicateError when the name or id exists."""
        if agent.role not in _ROLES:
            raise ValueError(f"agent role must be one of {_ROLES}, got {agent.role!r}")
        params = tuple(_to_db(name, getattr(agent, name)) for name in _AGENT_COLUMNS)

        def apply(conn: sqlite3.Connection) -> None:
            clash = conn.execute(
                "SELECT agent_id, name FROM agents WHERE agent_id = ? OR name = ?",
                (agent.agent_id, agent.name),
            ).fetchone()
            if clash is not None:
                what = f"id {agent.agent_id!r}" if clash[0] == agent.agent_id else "name"
                raise DuplicateError(f"an agent with {what} {agent.name!r} exists")
            conn.execute(_INSERT_AGENT, params)

        await self._submit(apply)

    async def get_agent(self, agent_id: str) -> AgentRecord | None:
        """The account with this id, or None."""
        rows = await self._read(f"{_SELECT_AGENT} WHERE agent_id = ?", (agent_id,))
        return _agent_from_row(rows[0]) if rows else None

    async def get_agent_by_name(self, name: str) -> AgentRecord | None:
        """The account with this name, or None."""
        rows = await self._read(f"{_SELECT_AGENT} WHERE name = ?", (name,))
        return _agent_from_row(rows[0]) if rows else None

    async def list_agents(self) -> list[AgentRecord]:
        """All accounts ordered by name."""
        rows = await self._read(f"{_SELECT_AGENT} ORDER BY name")
        return [_agent_from_row(row) for row in rows]

    async def remove_agent(self, agent_id: str) -> bool:
        """Delete an account; False when it did not exist. Its conversations keep its id."""

        def apply(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM agents WHERE agent_id = ?", (agent_id,)).rowcount > 0

        return await self._submit(apply)

    # -- conversations ----------------------------------------------------------------------------
    async def create_conversation(self, conversation: ConversationRecord) -> None:
        """Insert; DuplicateError when the id exists. ``last_seq`` is ignored (no events yet)."""
        if conversation.status not in STATUSES:
            raise ValueError(f"unknown conversation status {conversation.status!r}")
        params = tuple(_to_db(name, getattr(conversation, name)) for name in _CONVERSATION_COLUMNS)
        conversation_id = conversation.conversation_id

        def apply(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(_INSERT_CONVERSATION, params)
            except sqlite3.IntegrityError as exc:
                raise DuplicateError(f"conversation {conversation_id!r} exists") from exc
            # Spares the first append_event a lookup.
            self._seqs.stage(conversation_id, 0)

        await self._submit(apply)

    async def get_conversation(self, conversation_id: str) -> ConversationRecord | None:
        """The conversation, or None."""
        rows = await self._read(
            f"{_SELECT_CONVERSATION} WHERE c.conversation_id = ?", (conversation_id,)
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
            + ", ".join(f"{name} = ?" for name in values)
            + " WHERE conversation_id = ?"
        )
        params = (*values.values(), conversation_id)

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
            data_json = _dump_json(event.data)
            data = json.loads(data_json)
        else:
            data_json, data = "{}", {}
        internal = int(bool(event.internal))

        def apply(conn: sqlite3.Connection) -> tuple[Event, bool]:
            seq = self._seqs.last_seq(conn, conversation_id) + 1
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
                    _SELECT_EVENT_BY_CID,
                    (conversation_id, cid_owner(event.author, event.author_id), event.cid),
                ).fetchone()
                return _event_from_row(row), False
            self._seqs.stage(conversation_id, seq)
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
        rows = await self._read(_SELECT_EVENT_BY_CID, [conversation_id, owner, cid])
        return _event_from_row(rows[0]) if rows else None

    async def events(
        self,
        conversation_id: str,
        *,
        after_seq: int = 0,
        include_internal: bool = True,
        limit: int | None = None,
    ) -> list[Event]:
        """Events with seq > after_seq in seq order ([] for an unknown conversation)."""
        sql = f"{_SELECT_EVENT} WHERE conversation_id = ? AND seq > ?"
        params: list[Any] = [conversation_id, after_seq]
        if not include_internal:
            sql += " AND internal = 0"
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(_non_negative("limit", limit))
        return [_event_from_row(row) for row in await self._read(sql, params)]

    async def list_conversations(self, flt: ConversationFilter) -> list[ConversationRecord]:
        """Conversations matching every set field of ``flt``, newest first.

        ``text`` matches any event's text, internal notes included (operators see those), as a
        Unicode case-insensitive substring.
        """
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("status", flt.status),
            ("agent_id", flt.agent_id),
            ("intent", flt.intent),
            ("user_id", flt.user_id),
        ):
            if value is not None:
                clauses.append(f"c.{column} = ?")
                params.append(value)
        if flt.since is not None:
            clauses.append("c.created_at >= ?")
            params.append(flt.since)
        if flt.until is not None:
            clauses.append("c.created_at < ?")
            params.append(flt.until)
        if flt.text:
            # casefold in Python: SQLite's LIKE and lower() only fold ASCII, and our customers
            # write in many scripts. instr() also spares escaping % and _ in the search text.
            clauses.append(
                "EXISTS (SELECT 1 FROM events e WHERE e.conversation_id = c.conversation_id"
                " AND instr(chatd_casefold(e.text), ?) > 0)"
            )
            params.append(flt.text.casefold())
        sql = _SELECT_CONVERSATION
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY c.created_at DESC, c.conversation_id DESC LIMIT ? OFFSET ?"
        params += [_non_negative("limit", flt.limit), _non_negative("offset", flt.offset)]
        return [_conversation_from_row(row) for row in await self._read(sql, params)]

    async def open_conversations(self) -> list[ConversationRecord]:
        """Conversations whose status is in OPEN_STATUSES, oldest first (restart recovery)."""
        marks = ", ".join("?" * len(OPEN_STATUSES))
        rows = await self._read(
            f"{_SELECT_CONVERSATION} WHERE c.status IN ({marks})"
            " ORDER BY c.created_at, c.conversation_id",
            OPEN_STATUSES,
        )
        return [_conversation_from_row(row) for row in rows]

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
            row = conn.execute(
                "INSERT INTO tickets (conversation_id, created_at, contact, text)"
                " VALUES (?, ?, ?, ?) RETURNING ticket_id",
                (conversation_id, now, contact, text),
            ).fetchone()
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
        rows = await self._read(f"{_SELECT_TICKET} WHERE ticket_id = ?", (ticket_id,))
        return _ticket_from_row(rows[0]) if rows else None

    async def ticket_for_conversation(self, conversation_id: str) -> TicketRecord | None:
        """The conversation's newest ticket, or None."""
        rows = await self._read(
            f"{_SELECT_TICKET} WHERE conversation_id = ? ORDER BY ticket_id DESC LIMIT 1",
            (conversation_id,),
        )
        return _ticket_from_row(rows[0]) if rows else None

    async def list_tickets(self, status: str | None = None, limit: int = 100) -> list[TicketRecord]:
        """Tickets with this status (any when None): open ones first, then oldest first."""
        sql = _SELECT_TICKET
        params: list[Any] = []
        if status is not None:
            sql += " WHERE status = ?"
            params.append(status)
        sql += " ORDER BY status != 'open', created_at, ticket_id LIMIT ?"
        params.append(_non_negative("limit", limit))
        return [_ticket_from_row(row) for row in await self._read(sql, params)]

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
            + ", ".join(f"{name} = ?" for name in fields)
            + " WHERE ticket_id = ?"
        )
        params = (*fields.values(), ticket_id)

        def apply(conn: sqlite3.Connection) -> None:
            if conn.execute(sql, params).rowcount == 0:
                raise StoreError(f"unknown ticket {ticket_id!r}")

        await self._submit(apply)

    # -- metrics ----------------------------------------------------------------------------------
    async def count_by_status(self) -> dict[str, int]:
        """Conversations per status; every status in STATUSES is present, zero included."""
        rows = await self._read("SELECT status, COUNT(*) FROM conversations GROUP BY status")
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


class _Runner:
    """:class:`~chatd.store.accounts.SQLRunner` on this store: reads on the reader connection,
    each write one operation of the writer (group commit applies)."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def read(self, what: str, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        return await self._store._read(sql, params)

    async def write(self, what: str, sql: str, params: Sequence[Any]) -> int:
        return await self._store._submit(lambda conn: int(conn.execute(sql, params).rowcount))


# -- row conversion -------------------------------------------------------------------------------
def _to_db(name: str, value: Any) -> Any:
    """A field value as stored: tuples as JSON arrays, booleans as 0/1."""
    if name in _JSON_TUPLE_FIELDS:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError(f"{name} must be a sequence of strings, got {value!r}")
        return _dump_json(list(value))
    if name in _BOOL_FIELDS:
        return int(bool(value))
    return value


def _from_db(names: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    """A row as dataclass keyword arguments (inverse of _to_db)."""
    values = dict(zip(names, row, strict=True))
    for name in _JSON_TUPLE_FIELDS.intersection(values):
        values[name] = tuple(json.loads(values[name]))
    for name in _BOOL_FIELDS.intersection(values):
        values[name] = bool(values[name])
    return values


def _agent_from_row(row: Sequence[Any]) -> AgentRecord:
    return AgentRecord(**_from_db(_AGENT_COLUMNS, row))


def _conversation_from_row(row: Sequence[Any]) -> ConversationRecord:
    return ConversationRecord(**_from_db((*_CONVERSATION_COLUMNS, "last_seq"), row))


def _event_from_row(row: Sequence[Any]) -> Event:
    values = _from_db(_EVENT_COLUMNS, row)
    values["data"] = json.loads(values["data"])
    return Event(**values)


def _ticket_from_row(row: Sequence[Any]) -> TicketRecord:
    return TicketRecord(**_from_db(_TICKET_COLUMNS, row))


def _dump_json(value: Mapping[str, Any] | list[Any]) -> str:
    """Compact JSON that keeps non-ASCII text readable in the file; ValueError if unencodable."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not JSON-serialisable: {exc}") from exc


def _casefold(text: str | None) -> str | None:
    """SQL function chatd_casefold: Unicode case folding for the text search."""
    return text.casefold() if text is not None else None


def _non_negative(name: str, value: int) -> int:
    """Reject negative limits and offsets (SQLite would read LIMIT -1 as 'no limit')."""
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _as_store_error(what: str, exc: BaseException) -> BaseException:
    """Driver errors become StoreError; our own errors (ValueError, StoreError) pass through."""
    if isinstance(exc, sqlite3.Error):
        error = StoreError(f"{what} failed: {exc}")
        error.__cause__ = exc
        return error
    return exc
