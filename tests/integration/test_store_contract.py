"""The storage contract: every Store implementation must pass these tests.

The ``store_factory`` fixture is parametrised over ``BACKENDS``; a new backend adds its name there
and a branch in ``_new_store`` (PostgreSQL: a fresh schema or database per test). Tests that look
underneath the interface (schema version, commits, kill -9) are SQLite-only and live in the classes
at the end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chatd.store import (
    STATUSES,
    AgentRecord,
    ConditionFailed,
    ConversationFilter,
    ConversationRecord,
    DuplicateError,
    Expect,
    NewEvent,
    SQLiteStore,
    Store,
    StoreError,
    open_store,
)
from chatd.store.migrations import MIGRATIONS, SCHEMA_VERSION, split_statements
from chatd.store.sqlite_writer import CHECKPOINT_EVERY_COMMITS as _CHECKPOINT_EVERY_COMMITS

BACKENDS = ["sqlite", "sqlite-normal", pytest.param("postgresql", marks=pytest.mark.cluster)]
REPO_ROOT = Path(__file__).resolve().parents[2]

StoreFactory = Callable[[], Awaitable[Store]]


def _new_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    """An unopened store of ``backend``; every call for one test reaches the same data."""
    if backend == "sqlite":
        return SQLiteStore(tmp_path / "chatd.db")
    if backend == "sqlite-normal":  # [storage] synchronous = "normal": COMMIT on the loop
        return SQLiteStore(tmp_path / "chatd.db", synchronous="NORMAL")
    if backend == "postgresql":
        # A fresh database per test on the session's throwaway server (conftest.py); looked up
        # lazily so SQLite-only runs never start PostgreSQL.
        return open_store(request.getfixturevalue("postgres_url"))
    raise AssertionError(f"unknown backend {backend!r}")


@pytest.fixture(params=BACKENDS)
async def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StoreFactory]:
    """Opens stores on one test's data (call it again to 'restart'); closes them all after."""
    opened: list[Store] = []

    async def open_new() -> Store:
        store = _new_store(request.param, tmp_path, request)
        await store.open()
        opened.append(store)
        return store

    yield open_new
    for store in opened:
        await store.close()


@pytest.fixture
async def store(store_factory: StoreFactory) -> Store:
    """An open, empty store."""
    return await store_factory()


def conv(conversation_id: str, created_at: float = 1000.0, **fields: object) -> ConversationRecord:
    """A conversation record with test defaults."""
    return ConversationRecord(
        conversation_id=conversation_id,
        created_at=created_at,
        updated_at=created_at,
        **fields,  # type: ignore[arg-type]
    )


def msg(text: str = "hello", *, cid: str | None = None, **fields: object) -> NewEvent:
    """A customer message event."""
    values: dict[str, object] = {"kind": "message", "ts": 1000.0, "author": "customer"}
    values.update(fields)
    return NewEvent(text=text, cid=cid, **values)  # type: ignore[arg-type]


def agent(agent_id: str, name: str, **fields: object) -> AgentRecord:
    """An agent record with test defaults."""
    return AgentRecord(agent_id=agent_id, name=name, role="agent", token_hash="h", **fields)  # type: ignore[arg-type]


async def seqs_of(store: Store, conversation_id: str) -> list[int]:
    """Stored seqs of a conversation in order."""
    return [event.seq for event in await store.events(conversation_id)]


# -- lifecycle ------------------------------------------------------------------------------------
class TestLifecycle:
    async def test_reopen_keeps_everything(self, store_factory: StoreFactory) -> None:
        """Agents, conversations, events and tickets written before close are there after reopen."""
        first = await store_factory()
        await first.add_agent(agent("a1", "alice"))
        await first.create_conversation(conv("c1", status="queued"))
        await first.append_event("c1", msg("one", cid="m1"))
        await first.append_event("c1", msg("two"))
        ticket = await first.create_ticket("c1", contact="x@example.com", text="help", now=5.0)
        await first.close()

        second = await store_factory()
        assert await second.get_agent("a1") == agent("a1", "alice")
        reopened = await second.get_conversation("c1")
        assert reopened is not None and reopened.status == "queued" and reopened.last_seq == 2
        assert [e.text for e in await second.events("c1")] == ["one", "two"]
        assert await second.get_ticket(ticket.ticket_id) == ticket
        event, created = await second.append_event("c1", msg("three"))
        assert (event.seq, created) == (3, True)

    async def test_close_drains_pending_writes(self, store_factory: StoreFactory) -> None:
        """close() waits for writes already submitted; each of them succeeds and persists."""
        store = await store_factory()
        await store.create_conversation(conv("c1"))
        tasks = [asyncio.create_task(store.append_event("c1", msg(f"m{i}"))) for i in range(50)]
        await asyncio.sleep(0)  # let every task submit its write
        await store.close()
        results = await asyncio.gather(*tasks)
        assert sorted(event.seq for event, _ in results) == list(range(1, 51))

        reopened = await store_factory()
        assert await seqs_of(reopened, "c1") == list(range(1, 51))

    async def test_write_after_close_fails(self, store: Store) -> None:
        """A write after close() raises StoreError instead of hanging."""
        await store.close()
        with pytest.raises(StoreError):
            await store.create_conversation(conv("c1"))

    async def test_close_twice_is_harmless(self, store: Store) -> None:
        """close() is idempotent."""
        await store.close()
        await store.close()


# -- agents ---------------------------------------------------------------------------------------
class TestAgents:
    async def test_add_get_list_remove(self, store: Store) -> None:
        """An agent round-trips by id and name, lists by name, and is removed once."""
        bob = agent("a2", "bob", languages=("en", "zh"), skills=("kyc", "api"), capacity=5)
        await store.add_agent(bob)
        await store.add_agent(agent("a1", "alice", created_at=3.5))
        assert await store.get_agent("a2") == bob
        assert await store.get_agent_by_name("bob") == bob
        assert [a.name for a in await store.list_agents()] == ["alice", "bob"]
        assert await store.remove_agent("a2") is True
        assert await store.remove_agent("a2") is False
        assert await store.get_agent("a2") is None
        assert await store.get_agent_by_name("nobody") is None

    async def test_duplicate_name_is_rejected(self, store: Store) -> None:
        """A second agent with the same name raises DuplicateError and leaves the first intact."""
        await store.add_agent(agent("a1", "alice"))
        with pytest.raises(DuplicateError):
            await store.add_agent(agent("a2", "alice"))
        assert [a.agent_id for a in await store.list_agents()] == ["a1"]

    async def test_duplicate_id_is_rejected(self, store: Store) -> None:
        """A second agent with the same id raises DuplicateError."""
        await store.add_agent(agent("a1", "alice"))
        with pytest.raises(DuplicateError):
            await store.add_agent(agent("a1", "bob"))


# -- conversations --------------------------------------------------------------------------------
class TestConversations:
    async def test_create_and_get_round_trip(self, store: Store) -> None:
        """Every field of a conversation comes back as written."""
        record = conv(
            "c1",
            status="assigned",
            locale="zh",
            user_id="u9",
            verified=True,
            priority="urgent",
            intent="security.compromised",
            skills=("security",),
            enqueued_at=1001.5,
            agent_id="a1",
            assigned_at=1002.0,
            first_response_at=1003.0,
            tags=("vip", "hacked"),
            bot_misses=2,
            handoff_reason="immediate",
            subject="my account was hacked, help",
        )
        await store.create_conversation(record)
        assert await store.get_conversation("c1") == record
        assert await store.get_conversation("nope") is None

    async def test_duplicate_id_is_rejected(self, store: Store) -> None:
        """Creating a conversation id twice raises DuplicateError."""
        await store.create_conversation(conv("c1"))
        with pytest.raises(DuplicateError):
            await store.create_conversation(conv("c1"))

    async def test_update_sets_fields(self, store: Store) -> None:
        """update_conversation changes exactly the given fields and updated_at."""
        await store.create_conversation(conv("c1"))
        changes: dict[str, Any] = {
            "status": "closed",
            "closed_at": 2000.0,
            "csat_score": 5,
            "tags": ("a",),
            "subject": "where is my withdrawal?",
            "updated_at": 2000.0,
        }
        await store.update_conversation("c1", **changes)
        assert await store.get_conversation("c1") == replace(conv("c1"), **changes)

    async def test_update_without_updated_at_touches_it(self, store: Store) -> None:
        """update_conversation sets updated_at itself when the caller does not."""
        await store.create_conversation(conv("c1", created_at=0.0))
        await store.update_conversation("c1", locale="zh")
        record = await store.get_conversation("c1")
        assert record is not None and record.locale == "zh" and record.updated_at > 0.0

    @pytest.mark.parametrize("field", ["colour", "last_seq", "created_at"])
    async def test_update_unknown_field_raises(self, store: Store, field: str) -> None:
        """A field outside CONVERSATION_FIELDS raises ValueError and changes nothing."""
        await store.create_conversation(conv("c1"))
        with pytest.raises(ValueError, match=field):
            await store.update_conversation("c1", status="queued", **{field: 1})
        assert await store.get_conversation("c1") == conv("c1")

    async def test_update_unknown_conversation_raises(self, store: Store) -> None:
        """Updating a conversation that does not exist raises StoreError."""
        with pytest.raises(StoreError):
            await store.update_conversation("nope", status="queued")


# -- events ---------------------------------------------------------------------------------------
class TestEvents:
    async def test_seq_increases_per_conversation(self, store: Store) -> None:
        """Seqs start at 1 and increase by one per conversation, independently of the others."""
        await store.create_conversation(conv("a"))
        await store.create_conversation(conv("b"))
        got = [(cid, (await store.append_event(cid, msg()))[0].seq) for cid in "aabab"]
        assert got == [("a", 1), ("a", 2), ("b", 1), ("a", 3), ("b", 2)]
        record = await store.get_conversation("a")
        assert record is not None and record.last_seq == 3

    async def test_event_round_trip(self, store: Store) -> None:
        """The returned event equals the stored one, data and non-ASCII text included."""
        await store.create_conversation(conv("c1"))
        new = NewEvent(
            kind="bot_reply",
            ts=1234.5,
            author="bot",
            text="请重置您的密码",
            author_id="bot",
            author_name="Helper",
            cid=None,
            internal=False,
            data={"intent": "account.password", "confidence": 0.93, "links": ["https://x/y"]},
        )
        event, created = await store.append_event("c1", new)
        assert created and event.seq == 1 and event.data == new.data
        assert await store.events("c1") == [event]

    async def test_cid_dedupe_returns_first_event(self, store: Store) -> None:
        """A retried cid returns the stored event with created False and writes nothing."""
        await store.create_conversation(conv("c1"))
        first, created = await store.append_event("c1", msg("hi", cid="m1"))
        again, created_again = await store.append_event("c1", msg("hi (retry)", cid="m1"))
        assert created and not created_again
        assert again == first
        assert await seqs_of(store, "c1") == [1]

    async def test_a_retried_cid_uses_up_no_seq(self, store: Store) -> None:
        """After retries of a stored cid (plain and checked appends, alone or in one batch with
        new events), the next new event gets the very next seq: a retry leaves no gap."""
        await store.create_conversation(conv("c1"))
        await store.append_event("c1", msg("hi", cid="m1"))
        for _ in range(3):
            await store.append_event("c1", msg("hi (retry)", cid="m1"))
            await store.append_event_with_conversation("c1", msg("hi (retry)", cid="m1"))
        second, created = await store.append_event("c1", msg("next", cid="m2"))
        assert created and second.seq == 2
        third, _, record = await store.append_event_with_conversation("c1", msg("3", cid="m3"))
        assert third.seq == 3 and record is not None and record.last_seq == 3
        results = await asyncio.gather(
            store.append_event("c1", msg("hi (retry)", cid="m1")),
            store.append_event("c1", msg("4", cid="m4")),
            store.append_event("c1", msg("next (retry)", cid="m2")),
            store.append_event("c1", msg("5", cid="m5")),
        )
        assert sorted(e.seq for e, created in results if created) == [4, 5]
        assert await seqs_of(store, "c1") == [1, 2, 3, 4, 5]
        record = await store.get_conversation("c1")
        assert record is not None and record.last_seq == 5

    async def test_append_with_conversation_returns_the_row_after_the_append(
        self, store: Store
    ) -> None:
        """The conversation comes back as the append left it; a retried cid gives None."""
        await store.create_conversation(conv("c1", locale="zh", subject="提现"))
        await store.update_conversation("c1", status="assigned", agent_id="a1", updated_at=1001.0)
        await store.append_event("c1", msg("first"))
        event, created, record = await store.append_event_with_conversation(
            "c1", msg("second", cid="m2")
        )
        assert created and event.seq == 2 and event.text == "second"
        assert record == await store.get_conversation("c1")
        assert record is not None and record.last_seq == 2
        assert (record.status, record.agent_id, record.locale, record.subject) == (
            "assigned",
            "a1",
            "zh",
            "提现",
        )
        again, created_again, none = await store.append_event_with_conversation(
            "c1", msg("second (retry)", cid="m2")
        )
        assert (again, created_again, none) == (event, False, None)
        with pytest.raises(StoreError):
            await store.append_event_with_conversation("nope", msg())

    async def test_append_with_conversation_checks_the_expectation(self, store: Store) -> None:
        """An Expect that does not hold stores nothing and says how the conversation stands;
        a retried cid is still answered with its stored event."""
        await store.create_conversation(conv("c1"))
        await store.update_conversation("c1", status="assigned", agent_id="a2")
        stored, _ = await store.append_event("c1", msg("one", cid="m1"))
        refusals = [
            Expect(statuses=("bot", "queued")),
            Expect(statuses=("assigned",), agent_id="a1"),
            Expect(seq_below=1),
        ]
        for expect in refusals:
            with pytest.raises(ConditionFailed) as refused:
                await store.append_event_with_conversation("c1", msg("two", cid="m2"), expect)
            now = refused.value.conversation
            assert (now.status, now.agent_id, now.last_seq) == ("assigned", "a2", 1)
            retried = await store.append_event_with_conversation(
                "c1", msg("one (retry)", cid="m1"), expect
            )
            assert retried == (stored, False, None)
        assert await seqs_of(store, "c1") == [1]
        event, created, record = await store.append_event_with_conversation(
            "c1", msg("two", cid="m2"), Expect(statuses=("assigned",), agent_id="a2", seq_below=2)
        )
        assert created and event.seq == 2 and record is not None and record.last_seq == 2
        with pytest.raises(ConditionFailed) as unknown:
            await store.append_event_with_conversation("nope", msg(), Expect(seq_below=5))
        assert unknown.value.conversation is None

    async def test_cid_is_scoped_to_conversation(self, store: Store) -> None:
        """The same cid in another conversation is a new event."""
        await store.create_conversation(conv("a"))
        await store.create_conversation(conv("b"))
        await store.append_event("a", msg(cid="m1"))
        event, created = await store.append_event("b", msg(cid="m1"))
        assert created and event.conversation_id == "b" and event.seq == 1

    async def test_cid_is_scoped_to_its_author(self, store: Store) -> None:
        """A cid is unique per author: an agent (or another agent) sending the customer's cid
        stores a new event; each author's own retry still returns their first event, also on
        the checked append, and event_by_cid finds each author's event."""
        await store.create_conversation(conv("c1"))
        customer, _ = await store.append_event("c1", msg("hi", cid="m1"))
        by_a1, created_a1 = await store.append_event(
            "c1", msg("hello", cid="m1", author="agent", author_id="a1")
        )
        by_a2, created_a2, _ = await store.append_event_with_conversation(
            "c1", msg("hey", cid="m1", author="agent", author_id="a2")
        )
        assert created_a1 and created_a2 and [by_a1.seq, by_a2.seq] == [2, 3]
        retry, created = await store.append_event(
            "c1", msg("hello (retry)", cid="m1", author="agent", author_id="a1")
        )
        assert not created and retry.seq == 2 and retry.text == "hello"
        assert await seqs_of(store, "c1") == [1, 2, 3]
        found = [await store.event_by_cid("c1", owner, "m1") for owner in ("customer", "a1", "a2")]
        assert [e.seq if e else None for e in found] == [customer.seq, 2, 3]
        assert await store.event_by_cid("c1", "a3", "m1") is None

    async def test_concurrent_retries_store_once(self, store: Store) -> None:
        """Twenty concurrent sends of one cid store one event and all return it."""
        await store.create_conversation(conv("c1"))
        results = await asyncio.gather(
            *(store.append_event("c1", msg(cid="same")) for _ in range(20))
        )
        assert [created for _, created in results].count(True) == 1
        assert {event.seq for event, _ in results} == {1}
        assert await seqs_of(store, "c1") == [1]

    async def test_events_after_seq_and_internal_filter(self, store: Store) -> None:
        """events() honours after_seq, include_internal=False and limit, in seq order."""
        await store.create_conversation(conv("c1"))
        for i in range(1, 7):
            await store.append_event("c1", msg(f"m{i}", internal=i % 3 == 0))
        assert await seqs_of(store, "c1") == [1, 2, 3, 4, 5, 6]
        assert [e.seq for e in await store.events("c1", after_seq=2)] == [3, 4, 5, 6]
        public = await store.events("c1", after_seq=1, include_internal=False)
        assert [e.seq for e in public] == [2, 4, 5]
        assert all(not e.internal for e in public)
        assert [e.seq for e in await store.events("c1", after_seq=1, limit=2)] == [2, 3]
        assert await store.events("c1", after_seq=6) == []
        assert await store.events("unknown") == []

    async def test_append_to_unknown_conversation_raises(self, store: Store) -> None:
        """Appending to a conversation that does not exist raises StoreError."""
        with pytest.raises(StoreError):
            await store.append_event("nope", msg())

    async def test_unserialisable_data_raises(self, store: Store) -> None:
        """Event data that is not JSON raises ValueError and consumes no seq."""
        await store.create_conversation(conv("c1"))
        with pytest.raises(ValueError):
            await store.append_event("c1", msg(data={"when": object()}))
        event, _ = await store.append_event("c1", msg())
        assert event.seq == 1

    async def test_200_concurrent_appends_have_no_gaps(self, store: Store) -> None:
        """200 concurrent appends to one conversation get seqs 1..200, each once."""
        await store.create_conversation(conv("c1"))
        results = await asyncio.gather(*(store.append_event("c1", msg(f"{i}")) for i in range(200)))
        assert sorted(event.seq for event, _ in results) == list(range(1, 201))
        assert await seqs_of(store, "c1") == list(range(1, 201))

    async def test_concurrent_appends_across_conversations(self, store: Store) -> None:
        """50 concurrent appends over 10 conversations give each conversation seqs 1..5."""
        for i in range(10):
            await store.create_conversation(conv(f"c{i}"))
        await asyncio.gather(*(store.append_event(f"c{i % 10}", msg()) for i in range(50)))
        for i in range(10):
            assert await seqs_of(store, f"c{i}") == [1, 2, 3, 4, 5]

    async def test_failing_write_fails_alone(self, store: Store) -> None:
        """A failing write among concurrent ones fails only its caller; the others get no gap."""
        await store.create_conversation(conv("c1"))
        results = await asyncio.gather(
            store.append_event("c1", msg("a")),
            store.append_event("missing", msg("x")),
            store.create_conversation(conv("c1")),
            store.append_event("c1", msg("b")),
            return_exceptions=True,
        )
        assert isinstance(results[1], StoreError)
        assert isinstance(results[2], DuplicateError)
        assert [e.text for e in await store.events("c1")] == ["a", "b"]
        assert await seqs_of(store, "c1") == [1, 2]


# -- listing --------------------------------------------------------------------------------------
class TestListing:
    @pytest.fixture
    async def populated(self, store: Store) -> Store:
        """Five conversations with distinct statuses, agents, intents, users and texts."""
        rows = [
            ("c1", 100.0, {"status": "closed", "agent_id": "a1", "intent": "account.2fa"}),
            ("c2", 200.0, {"status": "assigned", "agent_id": "a2", "intent": "deposit.missing"}),
            ("c3", 300.0, {"status": "queued", "intent": "deposit.missing", "user_id": "u3"}),
            ("c4", 400.0, {"status": "bot"}),
            ("c5", 500.0, {"status": "ticket", "intent": "withdrawal.pending"}),
        ]
        for conversation_id, created_at, fields in rows:
            await store.create_conversation(conv(conversation_id, created_at, **fields))
        await store.append_event("c1", msg("I lost my 2FA device"))
        await store.append_event("c2", msg("My DEPOSIT is not credited"))
        await store.append_event("c3", msg("Депозит не пришёл"))
        await store.append_event("c4", msg("费用是多少"))
        await store.append_event("c5", msg("withdrawal stuck", internal=True))
        return store

    async def ids(self, store: Store, **fields: object) -> list[str]:
        """Ids returned by list_conversations for a filter."""
        flt = ConversationFilter(**fields)  # type: ignore[arg-type]
        return [c.conversation_id for c in await store.list_conversations(flt)]

    async def test_newest_first(self, populated: Store) -> None:
        """Without a filter every conversation comes back, newest first."""
        assert await self.ids(populated) == ["c5", "c4", "c3", "c2", "c1"]

    async def test_filters(self, populated: Store) -> None:
        """status, agent, intent, user and the created_at range each narrow the list."""
        assert await self.ids(populated, status="queued") == ["c3"]
        assert await self.ids(populated, agent_id="a2") == ["c2"]
        assert await self.ids(populated, intent="deposit.missing") == ["c3", "c2"]
        assert await self.ids(populated, user_id="u3") == ["c3"]
        assert await self.ids(populated, since=200.0, until=400.0) == ["c3", "c2"]
        assert await self.ids(populated, intent="deposit.missing", status="assigned") == ["c2"]

    async def test_text_search_is_case_insensitive(self, populated: Store) -> None:
        """text matches a substring of any event text regardless of case, in any script."""
        assert await self.ids(populated, text="deposit") == ["c2"]
        assert await self.ids(populated, text="2fa DEVICE") == ["c1"]
        assert await self.ids(populated, text="ДЕПОЗИТ") == ["c3"]
        assert await self.ids(populated, text="费用") == ["c4"]
        assert await self.ids(populated, text="Withdrawal") == ["c5"]
        assert await self.ids(populated, text="100%_") == []

    async def test_limit_and_offset(self, populated: Store) -> None:
        """limit and offset page through the newest-first order."""
        assert await self.ids(populated, limit=2) == ["c5", "c4"]
        assert await self.ids(populated, limit=2, offset=2) == ["c3", "c2"]
        assert await self.ids(populated, limit=2, offset=4) == ["c1"]

    async def test_listed_records_carry_last_seq(self, populated: Store) -> None:
        """Listed conversations report their last_seq."""
        listed = await populated.list_conversations(ConversationFilter(status="bot"))
        assert [c.last_seq for c in listed] == [1]

    async def test_open_conversations_oldest_first(self, populated: Store) -> None:
        """open_conversations returns bot, queued and assigned ones, oldest first."""
        ids = [c.conversation_id for c in await populated.open_conversations()]
        assert ids == ["c2", "c3", "c4"]

    async def test_count_by_status(self, populated: Store) -> None:
        """count_by_status counts every status and reports zero for unused ones."""
        await populated.update_conversation("c4", status="queued")
        counts = await populated.count_by_status()
        assert counts == {"bot": 0, "queued": 2, "assigned": 1, "closed": 1, "ticket": 1}
        assert set(counts) == set(STATUSES)


# -- tickets --------------------------------------------------------------------------------------
class TestTickets:
    async def test_create_get_and_find_by_conversation(self, store: Store) -> None:
        """A ticket round-trips by number and by conversation; numbers increase."""
        await store.create_conversation(conv("c1"))
        await store.create_conversation(conv("c2"))
        first = await store.create_ticket("c1", contact="a@example.com", text="help", now=10.0)
        second = await store.create_ticket("c2", contact="", text="fees?", now=11.0)
        assert second.ticket_id > first.ticket_id
        assert (first.status, first.contact, first.text, first.created_at) == (
            "open",
            "a@example.com",
            "help",
            10.0,
        )
        assert await store.get_ticket(first.ticket_id) == first
        assert await store.ticket_for_conversation("c2") == second
        assert await store.ticket_for_conversation("c3") is None
        assert await store.get_ticket(999_999) is None

    async def test_concurrent_tickets_get_distinct_numbers(self, store: Store) -> None:
        """Tickets created concurrently get distinct increasing numbers."""
        await store.create_conversation(conv("c1"))
        tickets = await asyncio.gather(
            *(store.create_ticket("c1", contact="", text=str(i), now=float(i)) for i in range(20))
        )
        numbers = [t.ticket_id for t in tickets]
        assert len(set(numbers)) == 20
        by_time = sorted(tickets, key=lambda t: t.created_at)
        assert [t.ticket_id for t in by_time] == sorted(numbers)

    async def test_update_and_list(self, store: Store) -> None:
        """update_ticket sets the answer; list_tickets filters by status, open ones first."""
        await store.create_conversation(conv("c1"))
        old = await store.create_ticket("c1", contact="", text="old", now=1.0)
        new = await store.create_ticket("c1", contact="", text="new", now=2.0)
        await store.update_ticket(
            old.ticket_id, status="answered", answered_at=3.0, answered_by="a1"
        )
        answered = await store.get_ticket(old.ticket_id)
        assert answered is not None
        assert (answered.status, answered.answered_at, answered.answered_by) == (
            "answered",
            3.0,
            "a1",
        )
        assert [t.ticket_id for t in await store.list_tickets("open")] == [new.ticket_id]
        assert [t.ticket_id for t in await store.list_tickets("answered")] == [old.ticket_id]
        assert [t.ticket_id for t in await store.list_tickets()] == [new.ticket_id, old.ticket_id]
        assert len(await store.list_tickets(limit=1)) == 1

    async def test_list_is_oldest_first(self, store: Store) -> None:
        """Open tickets are listed oldest first."""
        await store.create_conversation(conv("c1"))
        made = [
            await store.create_ticket("c1", contact="", text="", now=float(i)) for i in range(3)
        ]
        assert await store.list_tickets("open") == made

    async def test_update_rejects_unknown_field_and_ticket(self, store: Store) -> None:
        """update_ticket raises ValueError for other fields and StoreError for unknown tickets."""
        await store.create_conversation(conv("c1"))
        ticket = await store.create_ticket("c1", contact="", text="", now=1.0)
        with pytest.raises(ValueError):
            await store.update_ticket(ticket.ticket_id, conversation_id="c2")
        with pytest.raises(StoreError):
            await store.update_ticket(999_999, status="closed")

    async def test_ticket_for_unknown_conversation_raises(self, store: Store) -> None:
        """A ticket needs an existing conversation."""
        with pytest.raises(StoreError):
            await store.create_ticket("nope", contact="", text="", now=1.0)


# -- SQLite only ----------------------------------------------------------------------------------
def _user_version(path: Path) -> int:
    """PRAGMA user_version read through an independent connection."""
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


class TestSQLiteSchema:
    async def test_fresh_file_is_migrated(self, tmp_path: Path) -> None:
        """A new file gets every table, WAL mode and the current schema version."""
        path = tmp_path / "sub" / "chatd.db"
        store = SQLiteStore(path)
        await store.open()
        await store.close()
        assert _user_version(path) == SCHEMA_VERSION
        with closing(sqlite3.connect(path)) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            assert {"agents", "conversations", "events", "tickets"} <= tables
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    async def test_reopen_keeps_version(self, tmp_path: Path) -> None:
        """Reopening a migrated file applies nothing and keeps its version and data."""
        path = tmp_path / "chatd.db"
        for i in range(2):
            store = SQLiteStore(path)
            await store.open()
            await store.add_agent(agent(f"a{i}", f"agent{i}"))
            await store.close()
            assert _user_version(path) == SCHEMA_VERSION
        reopened = SQLiteStore(path)
        await reopened.open()
        assert len(await reopened.list_agents()) == 2
        await reopened.close()

    async def test_concurrent_first_opens_migrate_once(self, tmp_path: Path) -> None:
        """Two stores opening one new file at once both succeed."""
        stores = [SQLiteStore(tmp_path / "chatd.db") for _ in range(2)]
        await asyncio.gather(*(s.open() for s in stores))
        for s in stores:
            await s.close()
        assert _user_version(tmp_path / "chatd.db") == SCHEMA_VERSION

    async def test_newer_schema_is_refused(self, tmp_path: Path) -> None:
        """A file written by a newer chatd is refused with a StoreError naming both versions."""
        path = tmp_path / "chatd.db"
        with closing(sqlite3.connect(path)) as conn:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        store = SQLiteStore(path)
        with pytest.raises(StoreError, match=f"version {SCHEMA_VERSION + 1}.*newer"):
            await store.open()
        await store.close()
        assert _user_version(path) == SCHEMA_VERSION + 1

    async def test_version_1_file_is_upgraded_keeping_its_data(self, tmp_path: Path) -> None:
        """A file written by the first schema gains the subject column; its rows stay readable."""
        path = tmp_path / "chatd.db"
        with closing(sqlite3.connect(path)) as conn:
            for statement in split_statements(MIGRATIONS[0]):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO conversations (conversation_id, created_at, updated_at)"
                " VALUES ('old', 1000.0, 1000.0)"
            )
            conn.execute("PRAGMA user_version = 1")
            conn.commit()
        store = SQLiteStore(path)
        await store.open()
        try:
            old = await store.get_conversation("old")
            assert old is not None and old.subject is None and old.created_at == 1000.0
            await store.update_conversation("old", subject="hello again")
            again = await store.get_conversation("old")
            assert again is not None and again.subject == "hello again"
        finally:
            await store.close()
        assert _user_version(path) == SCHEMA_VERSION == 7

    async def test_not_a_database_is_refused(self, tmp_path: Path) -> None:
        """A file that is not SQLite raises StoreError."""
        path = tmp_path / "chatd.db"
        path.write_bytes(b"this is not a database file" * 100)
        store = SQLiteStore(path)
        with pytest.raises(StoreError, match="cannot open"):
            await store.open()
        await store.close()

    def test_memory_database_is_refused(self) -> None:
        """':memory:' is refused: the reader and writer would see two different databases."""
        with pytest.raises(StoreError):
            SQLiteStore(":memory:")


SYNCHRONOUS = pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])


class TestSQLiteDurability:
    @SYNCHRONOUS
    async def test_acknowledged_append_is_committed(self, tmp_path: Path, synchronous: str) -> None:
        """Once append_event returns, an independent connection sees the row."""
        path = tmp_path / "chatd.db"
        store = SQLiteStore(path, synchronous=synchronous)  # type: ignore[arg-type]
        await store.open()
        try:
            await store.create_conversation(conv("c1"))
            event, _ = await store.append_event("c1", msg("durable", cid="m1"))
            with closing(sqlite3.connect(path)) as conn:
                row = conn.execute(
                    "SELECT seq, text FROM events WHERE conversation_id = 'c1' AND cid = 'm1'"
                ).fetchone()
            assert row == (event.seq, "durable")
        finally:
            await store.close()

    @SYNCHRONOUS
    async def test_concurrent_appends_share_commits(self, tmp_path: Path, synchronous: str) -> None:
        """200 concurrent appends are group-committed: far fewer transactions than appends."""
        store = SQLiteStore(tmp_path / "chatd.db", synchronous=synchronous)  # type: ignore[arg-type]
        await store.open()
        try:
            await store.create_conversation(conv("c1"))
            before = store.commit_count
            await asyncio.gather(*(store.append_event("c1", msg()) for _ in range(200)))
            # Not a matter of speed: gather queues all 200 before the writer task wakes, so
            # they share one batch (up to _MAX_BATCH); one commit per append would be 200.
            # The bound leaves room for a writer that takes a few, not for one per append.
            assert 1 <= store.commit_count - before <= 200 // 10
            assert await seqs_of(store, "c1") == list(range(1, 201))
        finally:
            await store.close()

    async def test_normal_checkpoints_off_the_loop(self, tmp_path: Path) -> None:
        """With NORMAL, SQLite's auto-checkpoint is off (a WAL past its 1,000-page threshold
        leaves the database file untouched); chatd's own checkpoint, after every
        _CHECKPOINT_EVERY_COMMITS commits, copies the WAL over."""
        path = tmp_path / "chatd.db"
        wal = tmp_path / "chatd.db-wal"
        store = SQLiteStore(path, synchronous="NORMAL")
        await store.open()
        try:
            await store.create_conversation(conv("c1"))
            size_before = path.stat().st_size
            page_size = 4096
            text = "x" * (4 * page_size)  # a few overflow pages per event: the WAL grows fast
            for k in range(_CHECKPOINT_EVERY_COMMITS - 1 - store.commit_count):  # a commit each
                await store.append_event("c1", msg(f"message {k} {text}"))
            assert store.commit_count == _CHECKPOINT_EVERY_COMMITS - 1
            assert wal.stat().st_size > 1_000 * page_size  # past SQLite's own threshold
            assert path.stat().st_size == size_before  # yet nothing was copied over
            await store.append_event("c1", msg("the commit that starts the checkpoint"))
            grown = size_before + (_CHECKPOINT_EVERY_COMMITS - 2) * len(text)
            async with asyncio.timeout(10):  # a checkpoint of ~5 MB takes milliseconds
                while path.stat().st_size < grown:  # noqa: ASYNC110 - a file, polled
                    await asyncio.sleep(0.02)
        finally:
            await store.close()

    @SYNCHRONOUS
    async def test_acknowledged_appends_survive_sigkill(
        self, tmp_path: Path, synchronous: str
    ) -> None:
        """Every seq a process printed after append_event returned is present after kill -9
        (with NORMAL too: the commit is in the OS, which outlives the process)."""
        path = tmp_path / "chatd.db"
        child = tmp_path / "child.py"
        child.write_text(
            textwrap.dedent(
                """
                import asyncio, sys
                from chatd.store import ConversationRecord, NewEvent, SQLiteStore

                async def main() -> None:
                    store = SQLiteStore(sys.argv[1], synchronous=sys.argv[2])
                    await store.open()
                    await store.create_conversation(ConversationRecord("crash", 0.0, 0.0))

                    async def writer(w: int) -> None:
                        for k in range(1_000_000):
                            event = NewEvent("message", 0.0, "customer", text="x", cid=f"{w}-{k}")
                            stored, _ = await store.append_event("crash", event)
                            print(stored.seq, flush=True)

                    await asyncio.gather(*(writer(w) for w in range(8)))

                asyncio.run(main())
                """
            )
        )
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(child),
            str(path),
            synchronous,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None
        printed: list[int] = []
        try:
            async with asyncio.timeout(60):
                while len(printed) < 500:
                    line = await proc.stdout.readline()
                    assert line, "child exited before writing enough events"
                    printed.append(int(line))
        finally:
            proc.send_signal(signal.SIGKILL)
            rest = await proc.stdout.read()  # seqs printed before the kill landed count too
            await proc.wait()
        printed += [int(line) for line in rest.split()]
        assert proc.returncode == -signal.SIGKILL

        store = SQLiteStore(path)
        await store.open()
        try:
            stored = await seqs_of(store, "crash")
        finally:
            await store.close()
        assert set(printed) <= set(stored)
        assert stored == list(range(1, len(stored) + 1))


class TestOpenStore:
    def test_sqlite_url_and_plain_path(self, tmp_path: Path) -> None:
        """sqlite:///PATH and a plain path both give a SQLiteStore on that file."""
        by_url = open_store(f"sqlite:///{tmp_path}/a.db")
        by_path = open_store(str(tmp_path / "b.db"))
        assert isinstance(by_url, SQLiteStore) and by_url.path == tmp_path / "a.db"
        assert isinstance(by_path, SQLiteStore) and by_path.path == tmp_path / "b.db"
        assert isinstance(by_url, Store)

    def test_relative_sqlite_url(self) -> None:
        """sqlite:///relative.db names a path relative to the working directory."""
        store = open_store("sqlite:///data/chatd.db")
        assert isinstance(store, SQLiteStore) and store.path == Path("data/chatd.db")

    @pytest.mark.parametrize("url", ["postgresql://chatd@localhost/chatd", "postgres://h/db"])
    def test_postgres_urls_give_the_postgres_store(self, url: str) -> None:
        """A postgresql:// (or postgres://) url selects the PostgreSQL backend."""
        from chatd.store.postgres import PostgresStore

        assert isinstance(open_store(url), PostgresStore)

    @pytest.mark.parametrize("url", ["mysql://x/y", "sqlite:///", ""])
    def test_bad_urls_are_refused(self, url: str) -> None:
        """Unknown schemes and empty paths raise StoreError."""
        with pytest.raises(StoreError):
            open_store(url)
