"""Throwaway PostgreSQL and Redis servers for the cluster-backend tests.

The implementation lives in :mod:`chatd.bench.services` because ``chatd bench relay --cluster``
starts the same servers and the bench may not import from ``tests/``. This module re-exports it
for the tests and adds :func:`unavailable`, the one pytest-specific helper (the bench does not
depend on pytest).
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from chatd.bench.services import (
    PG_SUPERUSER,
    ServiceUnavailable,
    create_database,
    drop_database,
    find_postgres_bin,
    flush_redis,
    postgres_server,
    redis_server,
    stop_pid,
)

__all__ = [
    "PG_SUPERUSER",
    "ServiceUnavailable",
    "create_database",
    "drop_database",
    "find_postgres_bin",
    "flush_redis",
    "postgres_server",
    "redis_server",
    "stop_pid",
    "unavailable",
]


def unavailable(exc: ServiceUnavailable) -> NoReturn:
    """Fail with ``exc``'s reason under CI (set ``CI``), else skip with it."""
    if os.environ.get("CI"):
        pytest.fail(f"{exc} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(str(exc))
