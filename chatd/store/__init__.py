"""Storage: one interface (:mod:`chatd.store.base`), an embedded SQLite backend and a factory.

``open_store("sqlite:///chatd-data/chatd.db")`` (or a plain path) gives a :class:`SQLiteStore`;
``open_store("postgresql://...")`` gives the PostgreSQL backend (cluster mode). The store still
has to be opened: ``store = open_store(url); await store.open()``.
"""

from __future__ import annotations

import importlib
from typing import cast

from chatd.store.base import (
    CONVERSATION_FIELDS,
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
    Store,
    StoreError,
    TicketRecord,
)
from chatd.store.sqlite import SQLiteStore

__all__ = [
    "CONVERSATION_FIELDS",
    "OPEN_STATUSES",
    "STATUSES",
    "AgentRecord",
    "ConditionFailed",
    "ConversationFilter",
    "ConversationRecord",
    "DuplicateError",
    "Event",
    "Expect",
    "NewEvent",
    "SQLiteStore",
    "Store",
    "StoreError",
    "TicketRecord",
    "open_store",
]

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_POSTGRES_MODULE = "chatd.store.postgres"


def open_store(url_or_path: str, *, synchronous: str = "full") -> Store:
    """Build the store a ``[storage] url`` names (not yet opened: ``await store.open()``).

    * ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` (SQLAlchemy's convention),
      or a plain file path: :class:`SQLiteStore`.
    * ``postgresql://...`` or ``postgres://...``: ``chatd.store.postgres.PostgresStore(url)``,
      imported only here so the embedded default never needs asyncpg.

    ``synchronous`` ("full" or "normal", ``[storage] synchronous``) applies to SQLite only.

    StoreError for any other scheme, an empty path, or a missing PostgreSQL backend.
    """
    if url_or_path.startswith(_POSTGRES_SCHEMES):
        try:
            module = importlib.import_module(_POSTGRES_MODULE)
        except ModuleNotFoundError as exc:
            # Only our own module missing means "not available"; a missing dependency inside it
            # (asyncpg not installed) is a different error and should say so.
            if exc.name != _POSTGRES_MODULE:
                raise StoreError(f"PostgreSQL store needs {exc.name!r}: {exc}") from exc
            raise StoreError("PostgreSQL store not available yet") from exc
        return cast(Store, module.PostgresStore(url_or_path))
    if url_or_path.startswith(_SQLITE_PREFIX):
        path = url_or_path[len(_SQLITE_PREFIX) :]
    elif "://" in url_or_path:
        scheme = url_or_path.split("://", 1)[0]
        raise StoreError(
            f"storage url: unknown scheme {scheme!r} (use sqlite:///PATH or postgresql://...)"
        )
    else:
        path = url_or_path
    if not path:
        raise StoreError(f"storage url {url_or_path!r} names no file")
    return SQLiteStore(path, synchronous=synchronous.upper())  # type: ignore[arg-type]
