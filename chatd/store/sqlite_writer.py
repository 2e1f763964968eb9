"""The SQLite store's writer: one connection, one task, group commit.

:func:`connect_writer` opens the writer connection (WAL, synchronous, foreign keys) and applies
the schema migrations (:mod:`chatd.store.migrations`) under ``BEGIN IMMEDIATE``.

Every write of :class:`~chatd.store.sqlite.SQLiteStore` is queued here as a :class:`WriteOp`;
the writer takes everything pending, runs it inside ONE transaction, commits once, then resolves
each caller's future (see the store's module docstring for why statements run on the event loop
and only COMMIT on the writer's thread). ``seq`` assignment is served by the :class:`SeqTracker`,
rolled back with the batch.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from chatd.store.base import StoreError
from chatd.store.migrations import MIGRATIONS, SCHEMA_VERSION, split_statements

__all__ = [
    "BUSY_TIMEOUT_MS",
    "GroupCommitWriter",
    "SeqTracker",
    "WriteOp",
    "as_store_error",
    "connect_writer",
]

T = TypeVar("T")

#: How long a connection waits for another process's lock (e.g. ``chatd agents add`` while the
#: server runs) before failing with "database is locked". Long enough for any sane transaction,
#: short enough that a stuck lock surfaces as an error instead of a hung server.
BUSY_TIMEOUT_MS = 5_000
#: Most operations in one transaction. The first caller of a batch waits for the whole batch, so
#: this bounds write latency under overload (about 1,000 appends take a few ms) without costing
#: throughput: the queue behind a full batch becomes the next batch.
MAX_BATCH = 1_000
#: With synchronous=NORMAL, SQLite's own checkpoint (which fsyncs) would run inside a COMMIT on
#: the event loop; it is turned off and a PASSIVE checkpoint runs on the reader's thread after
#: this many commits instead (a few pages each: near SQLite's default of 1,000 WAL pages).
CHECKPOINT_EVERY_COMMITS = 256
#: Conversations whose last seq the writer remembers. Only active conversations append, so this
#: covers every live chat of a busy server; a miss costs one primary-key probe.
SEQ_CACHE_SIZE = 10_000


@dataclass(slots=True)
class WriteOp:
    """One queued write: a function run on the writer connection inside the batch transaction."""

    apply: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]


class SeqTracker:
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


class GroupCommitWriter:
    """The write loop on the writer connection: batches, one transaction and one COMMIT each.

    Started by the store once the connection is open and migrated; ``stop()`` drains it. The
    connection and the thread (``executor``, one worker) stay the store's to close.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        executor: ThreadPoolExecutor,
        *,
        synchronous: str,
        checkpoint: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self._conn = conn
        #: The writer's thread: COMMIT, and BEGIN when it must wait for another process's lock.
        self._executor = executor
        self._synchronous = synchronous
        #: Runs a PASSIVE checkpoint (on the reader's thread) with synchronous=NORMAL.
        self._checkpoint = checkpoint
        self._queue: asyncio.Queue[WriteOp | None] = asyncio.Queue()
        self.seqs = SeqTracker(SEQ_CACHE_SIZE)
        #: Write transactions committed (one per batch).
        self.commits = 0
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._task = asyncio.create_task(self._write_loop(), name="chatd-sqlite-writer")

    async def submit(self, apply: Callable[[sqlite3.Connection], T]) -> T:
        """Queue a write for the next batch and wait until it is committed (or failed)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(WriteOp(apply, future))
        return await future

    async def stop(self) -> None:
        """Commit everything submitted so far, then stop (and wait for a running checkpoint)."""
        self._queue.put_nowait(None)  # the writer stops after everything queued before it
        await self._task
        if self._checkpoint_task is not None:
            await self._checkpoint_task

    async def _write_loop(self) -> None:
        """Commit whatever is queued, batch after batch, until stop() queues the stop marker."""
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
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

    async def _commit_batch(self, batch: list[WriteOp]) -> None:
        """Run one batch in one transaction and resolve every caller's future."""
        try:
            outcomes = await self._run_batch(batch)
        except Exception as exc:  # the transaction as a whole failed: nothing was committed
            error = as_store_error("write transaction", exc)
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

    async def _run_batch(self, batch: Sequence[WriteOp]) -> list[tuple[bool, Any]]:
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
        conn = self._conn
        await self._begin(conn)
        outcomes = self._apply_fast(batch, conn)
        if outcomes is None:
            await self._begin(conn)
            outcomes = self._apply_isolated(batch, conn)
        try:
            if self._synchronous == "NORMAL":
                self._commit(conn)  # no fsync: microseconds, so on the loop, no thread hop
            else:
                await asyncio.shield(asyncio.wrap_future(self._executor.submit(self._commit, conn)))
        except asyncio.CancelledError:
            # The COMMIT may or may not land: forget every cached seq (a miss costs one probe).
            self.seqs = SeqTracker(SEQ_CACHE_SIZE)
            raise
        except BaseException:
            self.seqs.end_batch(committed=False)
            raise
        self.seqs.end_batch(committed=True)
        self.commits += 1
        if self._synchronous == "NORMAL" and self.commits % CHECKPOINT_EVERY_COMMITS == 0:
            self._start_checkpoint()
        return outcomes

    def _start_checkpoint(self) -> None:
        """Checkpoint in the background unless one is still running."""
        if self._checkpoint_task is None or self._checkpoint_task.done():
            self._checkpoint_task = asyncio.create_task(self._checkpoint())

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
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            try:
                conn.execute("BEGIN IMMEDIATE")
            finally:
                conn.execute("PRAGMA busy_timeout = 0")

        await asyncio.wrap_future(self._executor.submit(begin_waiting))

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
        self, batch: Sequence[WriteOp], conn: sqlite3.Connection
    ) -> list[tuple[bool, Any]] | None:
        """Every op in the open transaction; None (rolled back) if any op failed."""
        try:
            outcomes: list[tuple[bool, Any]] = []
            for op in batch:
                try:
                    value = op.apply(conn)
                except Exception:
                    conn.execute("ROLLBACK")
                    self.seqs.end_batch(committed=False)
                    return None
                self.seqs.end_operation(released=True)
                outcomes.append((True, value))
        except BaseException:
            self.seqs.end_batch(committed=False)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes

    def _apply_isolated(
        self, batch: Sequence[WriteOp], conn: sqlite3.Connection
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
                    self.seqs.end_operation(released=False)
                    outcomes.append((False, as_store_error("write", exc)))
                else:
                    conn.execute("RELEASE op")
                    self.seqs.end_operation(released=True)
                    outcomes.append((True, value))
        except BaseException:
            self.seqs.end_batch(committed=False)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes


def connect_writer(path: Path, synchronous: str) -> sqlite3.Connection:
    """Open the writer connection and migrate the schema (call on the writer's thread)."""
    # isolation_level=None: the sqlite3 module must not open transactions behind our back;
    # the writer issues BEGIN/SAVEPOINT/COMMIT itself. check_same_thread=False: statements run
    # on the loop thread and COMMIT on the writer thread, never at the same time (the write
    # loop awaits each step).
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        _prepare_writer(conn, path, synchronous)
    except BaseException:
        conn.close()
        raise
    return conn


def _switch_to_wal(conn: sqlite3.Connection) -> str:
    """PRAGMA journal_mode = WAL, retried while another connection holds the file.

    Two processes opening a new file at once both switch it; the loser can get SQLITE_BUSY
    at once, without the busy timeout's wait (3 of 11 runs of the SQLite store test file
    failed that way, 0 of 10 with the retry). It is retried for as long as the busy timeout
    would have waited.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def _prepare_writer(conn: sqlite3.Connection, path: Path, synchronous: str) -> None:
    """Set the connection up and migrate the schema (runs on the writer thread)."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    mode = _switch_to_wal(conn)
    if str(mode).lower() != "wal":
        raise StoreError(f"{str(path)!r}: cannot switch to WAL (journal_mode={mode})")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    if synchronous == "NORMAL":
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # see CHECKPOINT_EVERY_COMMITS
    # Off by default in SQLite; must be set outside a transaction, per connection.
    conn.execute("PRAGMA foreign_keys = ON")
    # IMMEDIATE takes the write lock before reading user_version, so two processes opening a
    # new file at once cannot both apply the same migration.
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{str(path)!r} has schema version {version}, newer than this chatd "
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
    # without waiting and retried on the writer thread with the full timeout
    # (GroupCommitWriter._begin).
    conn.execute("PRAGMA busy_timeout = 0")


def as_store_error(what: str, exc: BaseException) -> BaseException:
    """Driver errors become StoreError; our own errors (ValueError, StoreError) pass through."""
    if isinstance(exc, sqlite3.Error):
        error = StoreError(f"{what} failed: {exc}")
        error.__cause__ = exc
        return error
    return exc
