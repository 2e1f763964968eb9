"""Fixtures: a real chatd app on an ephemeral port with real SQLite (see tests/support), and
throwaway PostgreSQL and Redis servers for the cluster backends (tests/support/services.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from chatd.store import SQLiteStore, Store, open_store
from tests.support.harness import Harness
from tests.support.services import create_database, drop_database, flush_redis


@pytest.fixture
def settings() -> dict[str, dict[str, Any]]:
    """Per-test config overrides (override this fixture or mutate it before `chatd` starts)."""
    return {}


@pytest.fixture
async def chatd(tmp_path: Path, settings: dict[str, dict[str, Any]]) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path / "data", settings)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.cluster)])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An opened, empty store of each backend (PostgreSQL: a fresh database on the session's
    throwaway server); closed after the test. The store contract has its own, wider fixture."""
    if request.param == "sqlite":
        opened: Store = SQLiteStore(tmp_path / "chatd.db")
    else:
        opened = open_store(request.getfixturevalue("postgres_url"))
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


# -- throwaway cluster backends (tests/support/services.py) ----------------------------------------
@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh empty database on the session's PostgreSQL, dropped after the test.

    Synchronous on purpose: the store contract looks it up with ``request.getfixturevalue`` from
    inside a running event loop, where an async fixture cannot be set up.
    """
    url = create_database(postgres_server_url)
    yield url
    drop_database(postgres_server_url, url)


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The session's Redis, emptied (FLUSHALL) for this test."""
    flush_redis(redis_server_url)
    return redis_server_url
