"""Where the bytes of attachments live: a directory (embedded) or PostgreSQL (cluster mode).

A :class:`BlobStore` keeps one blob per (conversation, attachment id). The service writes the
blob first, then stores the conversation's ``attachment`` event, then *settles* the blob. A blob
not yet settled is a candidate orphan: a crash (kill -9, power loss) between the write and the
event leaves one. :meth:`BlobStore.unsettled` lists them, and the service's sweep at start
(chatd.service.attachments) settles those whose event exists and deletes the others, so no
orphan survives a restart and no referenced file is ever removed.

* :class:`DirectoryBlobStore`: ``<data_dir>/attachments/<conversation_id>/<attachment_id>``,
  written to a temporary name, fsynced, renamed, and the directory fsynced; an unsettled blob
  has a marker file in ``<data_dir>/attachments/.pending/`` (created and fsynced before the
  blob, removed when it is settled). File I/O runs in a thread, never on the event loop.
* :class:`PostgresBlobStore`: a row of ``attachment_blobs`` (migration 5 of
  chatd.store.postgres) on the PostgresStore's pool, so every node reads every blob. Rows go
  with their conversation (``ON DELETE CASCADE``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "BlobStore",
    "DirectoryBlobStore",
    "PostgresBlobStore",
    "valid_blob_key",
]

#: Conversation and attachment ids as the server makes them (uuid hex, "at_" + hex): anything
#: else never reaches the file system.
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def valid_blob_key(conversation_id: str, attachment_id: str) -> bool:
    """True when both ids are safe as file names (no separators, no dots, bounded)."""
    return bool(_KEY.fullmatch(conversation_id) and _KEY.fullmatch(attachment_id))


def _check(conversation_id: str, attachment_id: str) -> None:
    if not valid_blob_key(conversation_id, attachment_id):
        raise ValueError("blob ids must be 1-64 characters of [A-Za-z0-9_-]")


@runtime_checkable
class BlobStore(Protocol):
    """The bytes of attachments, keyed by (conversation id, attachment id)."""

    async def put(self, conversation_id: str, attachment_id: str, content: bytes) -> None:
        """Store the bytes durably (on disk / committed) before returning; unsettled."""

    async def get(self, conversation_id: str, attachment_id: str) -> bytes | None:
        """The bytes, or None when there is no such blob."""

    async def settle(self, conversation_id: str, attachment_id: str) -> None:
        """Its event is stored: the blob is no longer an orphan candidate."""

    async def delete(self, conversation_id: str, attachment_id: str) -> None:
        """Remove one blob (absent is fine)."""

    async def delete_conversation(self, conversation_id: str) -> None:
        """Remove every blob of a conversation (it is being deleted)."""

    async def unsettled(self) -> list[tuple[str, str]]:
        """Blobs written but not settled, old enough not to be an upload in flight."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, content: bytes) -> None:
    """Write to a temporary name, fsync, rename into place, fsync the directory."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


class DirectoryBlobStore:
    """Blobs as files under ``root`` (the data dir's ``attachments/``), 0600 in 0700 dirs."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._pending = self.root / ".pending"

    def _path(self, conversation_id: str, attachment_id: str) -> Path:
        _check(conversation_id, attachment_id)
        return self.root / conversation_id / attachment_id

    def _marker(self, conversation_id: str, attachment_id: str) -> Path:
        return self._pending / f"{conversation_id}.{attachment_id}"

    def _put(self, conversation_id: str, attachment_id: str, content: bytes) -> None:
        path = self._path(conversation_id, attachment_id)
        self._pending.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The marker first: a crash at any later point leaves something the sweep finds.
        _write_durably(self._marker(conversation_id, attachment_id), b"")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_durably(path, content)

    async def put(self, conversation_id: str, attachment_id: str, content: bytes) -> None:
        await asyncio.to_thread(self._put, conversation_id, attachment_id, content)

    def _get(self, conversation_id: str, attachment_id: str) -> bytes | None:
        try:
            return self._path(conversation_id, attachment_id).read_bytes()
        except FileNotFoundError:
            return None

    async def get(self, conversation_id: str, attachment_id: str) -> bytes | None:
        return await asyncio.to_thread(self._get, conversation_id, attachment_id)

    async def settle(self, conversation_id: str, attachment_id: str) -> None:
        # No fsync: a marker that survives a crash only makes the sweep look the event up.
        _check(conversation_id, attachment_id)
        await asyncio.to_thread(
            self._marker(conversation_id, attachment_id).unlink, missing_ok=True
        )

    def _delete(self, conversation_id: str, attachment_id: str) -> None:
        self._path(conversation_id, attachment_id).unlink(missing_ok=True)
        self._marker(conversation_id, attachment_id).unlink(missing_ok=True)

    async def delete(self, conversation_id: str, attachment_id: str) -> None:
        await asyncio.to_thread(self._delete, conversation_id, attachment_id)

    def _delete_conversation(self, conversation_id: str) -> None:
        if not _KEY.fullmatch(conversation_id):
            raise ValueError("conversation ids must be 1-64 characters of [A-Za-z0-9_-]")
        shutil.rmtree(self.root / conversation_id, ignore_errors=True)
        if self._pending.is_dir():
            for marker in self._pending.glob(f"{conversation_id}.*"):
                marker.unlink(missing_ok=True)

    async def delete_conversation(self, conversation_id: str) -> None:
        await asyncio.to_thread(self._delete_conversation, conversation_id)

    def _unsettled(self) -> list[tuple[str, str]]:
        if not self._pending.is_dir():
            return []
        found = []
        for marker in self._pending.iterdir():
            conversation_id, dot, attachment_id = marker.name.partition(".")
            if dot and valid_blob_key(conversation_id, attachment_id):
                found.append((conversation_id, attachment_id))
            else:  # a temporary file of an interrupted marker write
                marker.unlink(missing_ok=True)
        return found

    async def unsettled(self) -> list[tuple[str, str]]:
        # One process owns the data dir: at start nothing is in flight, every marker counts.
        return await asyncio.to_thread(self._unsettled)


_SELECT = "SELECT content FROM attachment_blobs WHERE conversation_id = $1 AND attachment_id = $2"

ConnectionFactory = Callable[[str], AbstractAsyncContextManager[Any]]


class PostgresBlobStore:
    """Blobs as rows of ``attachment_blobs``, through the PostgresStore's connection pool."""

    def __init__(
        self,
        connection: ConnectionFactory,
        *,
        in_flight_s: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``connection(what)``: PostgresStore.connection. Unsettled rows younger than
        ``in_flight_s`` may be another node's upload in flight: the sweep leaves them."""
        self._connection = connection
        self._in_flight_s = in_flight_s
        self._clock = clock
        #: Seconds between sweeps while running (other nodes crash and come back meanwhile).
        self.resweep_s = in_flight_s

    @contextlib.asynccontextmanager
    async def _conn(self, what: str) -> AsyncIterator[Any]:
        async with self._connection(what) as conn:
            yield conn

    async def put(self, conversation_id: str, attachment_id: str, content: bytes) -> None:
        _check(conversation_id, attachment_id)
        async with self._conn("put attachment") as conn:
            await conn.execute(
                "INSERT INTO attachment_blobs (conversation_id, attachment_id, content, created_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                conversation_id,
                attachment_id,
                content,
                self._clock(),
            )

    async def get(self, conversation_id: str, attachment_id: str) -> bytes | None:
        async with self._conn("get attachment") as conn:
            value = await conn.fetchval(_SELECT, conversation_id, attachment_id)
        return bytes(value) if value is not None else None

    async def settle(self, conversation_id: str, attachment_id: str) -> None:
        async with self._conn("settle attachment") as conn:
            await conn.execute(
                "UPDATE attachment_blobs SET settled = TRUE"
                " WHERE conversation_id = $1 AND attachment_id = $2",
                conversation_id,
                attachment_id,
            )

    async def delete(self, conversation_id: str, attachment_id: str) -> None:
        async with self._conn("delete attachment") as conn:
            await conn.execute(
                "DELETE FROM attachment_blobs WHERE conversation_id = $1 AND attachment_id = $2",
                conversation_id,
                attachment_id,
            )

    async def delete_conversation(self, conversation_id: str) -> None:
        async with self._conn("delete attachments") as conn:
            await conn.execute(
                "DELETE FROM attachment_blobs WHERE conversation_id = $1", conversation_id
            )

    async def unsettled(self) -> list[tuple[str, str]]:
        async with self._conn("unsettled attachments") as conn:
            rows = await conn.fetch(
                "SELECT conversation_id, attachment_id FROM attachment_blobs"
                " WHERE NOT settled AND created_at < $1",
                self._clock() - self._in_flight_s,
            )
        return [(r["conversation_id"], r["attachment_id"]) for r in rows]
