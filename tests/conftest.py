"""Session fixtures shared by every test directory: throwaway PostgreSQL and Redis servers.

They start on free ports (never the machine's shared 5432/6379) and stop by PID at the end of the
session. A missing binary fails under CI and skips with the reason elsewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from tests.support.mail import Smtp
from tests.support.server import free_port
from tests.support.services import (
    ServiceUnavailable,
    postgres_server,
    redis_server,
    unavailable,
)


def _serve(start: Callable[[], AbstractContextManager[str]]) -> Iterator[str]:
    """Yield the URL of a started service; fail or skip (unavailable) when it cannot start."""
    try:
        manager = start()
        url = manager.__enter__()
    except ServiceUnavailable as exc:
        unavailable(exc)
    try:
        yield url
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A throwaway PostgreSQL for the whole session (admin URL, database ``postgres``)."""
    yield from _serve(postgres_server)


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """A throwaway Redis for the whole session."""
    yield from _serve(redis_server)


@pytest.fixture
async def smtp() -> AsyncIterator[Smtp]:
    """A real SMTP server (aiosmtpd) on a free port, started by the test with its Inbox."""
    server = Smtp(free_port())
    try:
        yield server
    finally:
        await server.stop()
