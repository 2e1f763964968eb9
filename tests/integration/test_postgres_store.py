"""PostgreSQL-only store behaviour: versioned migrations, and several nodes sharing one database.

The storage contract itself runs against PostgreSQL in test_store_contract.py. Here, two or more
PostgresStore instances (each with its own pool, so their own server sessions, exactly like two
chatd processes) write the same conversations at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg  # a dev dependency: without it this module fails to import, never skips
import pytest

from chatd.store import ConversationRecord, NewEvent, StoreError, postgres

PostgresStore = postgres.PostgresStore
SCHEMA_VERSION: int = postgres.SCHEMA_VERSION

pytestmark = pytest.mark.cluster

NodeFactory = Callable[[], Awaitable["postgres.PostgresStore"]]


@pytest.fixture
async def nodes(postgres_url: str) -> AsyncIterator[NodeFactory]:
    """Opens PostgresStores ("nodes") on one fresh database; closes them all after."""
    opened: list[postgres.PostgresStore] = []

    async def open_node() -> postgres.PostgresStore:
        store = PostgresStore(postgres_url, pool_size=5)
        await store.open()
        opened.append(store)
        return store

    yield open_node
    for store in opened:
        await store.close()


async def applied_versions(url: str) -> list[int]:
    """The versions recorded in schema_migrations."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
    finally:
        await conn.close()
    return [row[0] for row in rows]


def msg(text: str = "hi", cid: str | None = None) -> NewEvent:
    return NewEvent(kind="message", ts=1.0, author="customer", text=text, cid=cid)


class TestMigrations:
    async def test_fresh_database_records_every_version(
        self, nodes: NodeFactory, postgres_url: str
    ) -> None:
        """Opening an empty database applies and records versions 1..SCHEMA_VERSION once."""
        await nodes()
        await nodes()  # a second open applies nothing
        assert await applied_versions(postgres_url) == list(range(1, SCHEMA_VERSION + 1))

    async def test_concurrent_first_opens_migrate_once(
        self, nodes: NodeFactory, postgres_url: str
    ) -> None:
        """Five nodes opening one empty database at once all succeed (the advisory lock)."""
        await asyncio.gather(*(nodes() for _ in range(5)))
        assert await applied_versions(postgres_url) == list(range(1, SCHEMA_VERSION + 1))

    async def test_newer_schema_is_refused(self, nodes: NodeFactory, postgres_url: str) -> None:
        """A database migrated by a newer chatd is refused with both versions named."""
        await nodes()
        conn = await asyncpg.connect(postgres_url)
        try:
            await conn.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)", SCHEMA_VERSION + 1
            )
        finally:
            await conn.close()
        store = PostgresStore(postgres_url)
        with pytest.raises(StoreError, match=f"version {SCHEMA_VERSION + 1}.*newer"):
            await store.open()

    async def test_unreachable_server_raises_store_error(self) -> None:
        """A URL nobody listens on raises StoreError naming the server, without the password."""
        from tests.support.server import free_port

        store = PostgresStore(f"postgresql://u:secret@127.0.0.1:{free_port()}/db")
        with pytest.raises(StoreError, match="cannot connect") as info:
            await store.open()
        assert "secret" not in str(info.value)


class TestSeveralNodes:
    async def test_concurrent_appends_from_two_nodes_have_no_gaps(self, nodes: NodeFactory) -> None:
        """Two nodes appending 150 events each to one conversation at once get seqs 1..300."""
        one, two = await nodes(), await nodes()
        await one.create_conversation(ConversationRecord("c1", 1.0, 1.0))
        results = await asyncio.gather(
            *(node.append_event("c1", msg(f"{i}")) for i in range(150) for node in (one, two))
        )
        assert sorted(event.seq for event, _ in results) == list(range(1, 301))
        assert [e.seq for e in await two.events("c1")] == list(range(1, 301))
        record = await one.get_conversation("c1")
        assert record is not None and record.last_seq == 300

    async def test_same_cid_from_many_nodes_is_stored_once(self, nodes: NodeFactory) -> None:
        """Six nodes retrying one cid at once store it once; every node gets the same event."""
        stores = [await nodes() for _ in range(6)]
        await stores[0].create_conversation(ConversationRecord("c1", 1.0, 1.0))
        for round_ in range(5):
            results = await asyncio.gather(
                *(s.append_event("c1", msg(cid=f"m{round_}")) for s in stores for _ in range(3))
            )
            assert [created for _, created in results].count(True) == 1
            assert {event.seq for event, _ in results} == {round_ + 1}
        assert [e.cid for e in await stores[0].events("c1")] == [f"m{i}" for i in range(5)]

    async def test_ticket_numbers_are_unique_across_nodes(self, nodes: NodeFactory) -> None:
        """Tickets created concurrently on two nodes get distinct numbers."""
        one, two = await nodes(), await nodes()
        await one.create_conversation(ConversationRecord("c1", 1.0, 1.0))
        tickets = await asyncio.gather(
            *(
                node.create_ticket("c1", contact="", text="", now=float(i))
                for i in range(20)
                for node in (one, two)
            )
        )
        assert len({t.ticket_id for t in tickets}) == 40
