"""The PostgreSQL store's connections: an asyncpg pool that ``close()`` drains, and migrations.

:class:`TrackedPool` counts every store call in flight so closing waits for them, turns driver
errors into :class:`~chatd.store.base.StoreError`, and skips asyncpg's per-release session
reset (:func:`keep_session`). :func:`apply_migrations` applies the schema scripts the store
declares (``chatd.store.postgres.MIGRATIONS``) under an advisory lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from chatd.store.base import StoreError

__all__ = ["TrackedPool", "apply_migrations", "redact_url", "row_count"]

#: A statement that runs longer than this fails with StoreError instead of hanging a handler;
#: every chatd statement is a key lookup or a small write, so this only fires on a stuck database.
_COMMAND_TIMEOUT_S = 30.0
#: pg_advisory_xact_lock key serialising migrations across nodes: an arbitrary constant (the ASCII
#: of "chatdmig"), fixed forever so every chatd version takes the same lock.
_MIGRATION_LOCK_KEY = 0x6368_6174_646D_6967

_CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


class TrackedPool:
    """An asyncpg pool whose close() waits for every call already made."""

    def __init__(self, url: str, pool_size: int, *, owner: str) -> None:
        #: What errors call the store (its repr: the url without a password).
        self._owner = owner
        self._url = url
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._closing = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def open(
        self, prepare: Callable[[asyncpg.Connection], Coroutine[Any, Any, None]]
    ) -> None:
        """Create the pool and run ``prepare`` (the migrations) on one of its connections."""
        if self._pool is not None or self._closing:
            raise StoreError(f"{self._owner} was already opened")
        try:
            pool = await asyncpg.create_pool(
                self._url,
                min_size=1,
                max_size=self._pool_size,
                command_timeout=_COMMAND_TIMEOUT_S,
                reset=keep_session,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL {redact_url(self._url)}: {exc}"
            ) from exc
        try:
            async with pool.acquire() as conn:
                await prepare(conn)
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
    async def connection(self, what: str) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection for one tracked operation; driver errors become StoreError."""
        async with self.tracked(), self.acquire(what) as conn:
            yield conn

    @asynccontextmanager
    async def acquire(self, what: str) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, inside an operation already :meth:`tracked`."""
        if self._pool is None:
            raise StoreError(f"{self._owner} is not open")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise StoreError(f"{what} failed: {exc}") from exc

    @asynccontextmanager
    async def tracked(self) -> AsyncIterator[None]:
        """Count an operation in flight so close() can wait for it.

        Entered synchronously up to the first await by every public method, so a call made before
        close() is always counted, and one made after it raises StoreError.
        """
        if self._closing:
            raise StoreError(f"{self._owner} is closed")
        if self._pool is None:
            raise StoreError(f"{self._owner} is not open")
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def fetch(self, what: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        """All rows of one statement, as a tracked operation."""
        async with self.connection(what) as conn:
            return list(await conn.fetch(sql, *args))

    async def execute(self, what: str, sql: str, *args: Any) -> str:
        """Run one statement as a tracked operation; its command tag."""
        async with self.connection(what) as conn:
            return str(await conn.execute(sql, *args))


async def apply_migrations(conn: asyncpg.Connection, migrations: Sequence[str]) -> None:
    """Apply pending ``migrations`` in one transaction; refuse a database newer than them.

    The transaction-scoped advisory lock makes a second node starting at the same moment wait,
    then find the schema current and apply nothing. The DDL and the schema_migrations rows commit
    together (PostgreSQL DDL is transactional), so a crash mid-upgrade leaves the old version.
    """
    schema_version = len(migrations)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK_KEY)
            await conn.execute(_CREATE_MIGRATIONS_TABLE)
            version = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            if version > schema_version:
                raise StoreError(
                    f"database has schema version {version}, newer than this chatd understands "
                    f"({schema_version}); upgrade chatd or point it at another database"
                )
            for number, script in enumerate(migrations[version:], start=version + 1):
                await conn.execute(script)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", number)
    except asyncpg.PostgresError as exc:
        raise StoreError(f"schema migration failed: {exc}") from exc


async def keep_session(_conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing to reset, so no round trip.

    asyncpg's default reset runs ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` each time a connection goes back to the pool: one more round trip and one more
    transaction for every store call (the relay bench counted 6 transactions a message, 3 of them
    resets). This store leaves no session state behind: the migration lock is transaction-scoped
    (``pg_advisory_xact_lock``), and nothing here LISTENs, SETs or holds a cursor past its
    transaction. asyncpg still rolls back a transaction left open and drops listeners before it
    calls this.
    """


def row_count(status: str) -> int:
    """Rows affected, from a command tag such as ``UPDATE 1`` or ``DELETE 0``."""
    return int(status.rsplit(" ", 1)[-1])


def redact_url(url: str) -> str:
    """The url without its password, for errors and repr (config may embed one)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{host}"
