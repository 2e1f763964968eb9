"""store.outbox on every backend: queued with its event, leased, taken over, retried, done.

Same backends as the store contract (tests/integration/test_store_contract.py), PostgreSQL on a
throwaway server.
"""

from __future__ import annotations

import dataclasses

import pytest

from chatd.store import ConversationRecord, NewEvent, Store, StoreError


@pytest.fixture
async def store(any_store: Store) -> Store:
    await any_store.create_conversation(ConversationRecord("c1", created_at=1.0, updated_at=1.0))
    return any_store


def _message(store: Store, text: str, *, cid: str | None = None, delivery: str = "d1") -> NewEvent:
    queued = store.outbox.with_event(
        channel="webhook",
        receiver="http://127.0.0.1:9/hook",
        delivery_id=delivery,
        type="message.created",
        conversation_id="c1",
        created_at=100.0,
        payload={"text": text},
    )
    return NewEvent(kind="message", ts=100.0, author="customer", text=text, cid=cid, also=(queued,))


async def test_an_item_is_queued_with_its_event_and_carries_its_seq(store: Store) -> None:
    """The item is stored by the append that stores the event, with that event's seq."""
    await store.append_event("c1", NewEvent(kind="message", ts=99.0, author="bot", text="hi"))
    event, created = await store.append_event("c1", _message(store, "hello", cid="m1"))
    assert created and event.seq == 2
    [item] = await store.outbox.claim("n1", now=100.0, lease_s=30, limit=10)
    assert (item.channel, item.type, item.seq, item.conversation_id) == (
        "webhook",
        "message.created",
        2,
        "c1",
    )
    assert item.payload == {"text": "hello"} and item.attempts == 1 and item.delivery_id == "d1"


async def test_a_retried_cid_queues_nothing_more(store: Store) -> None:
    """A retried client message is stored once, and so is its delivery."""
    await store.append_event("c1", _message(store, "hello", cid="m1"))
    _, created = await store.append_event("c1", _message(store, "hello", cid="m1", delivery="d2"))
    assert not created
    assert await store.outbox.count() == 1


async def test_a_failed_append_queues_nothing(store: Store) -> None:
    """An event that is not stored (unknown conversation) leaves no delivery behind."""
    event = _message(store, "hello")
    with pytest.raises(StoreError):
        await store.append_event("nope", event)
    assert await store.outbox.count() == 0


async def test_a_lease_holds_the_item_until_it_runs_out_then_another_node_takes_it(
    store: Store,
) -> None:
    """Claimed items are invisible to other claims until the lease ends (a dead node)."""
    await store.append_event("c1", _message(store, "hello"))
    [first] = await store.outbox.claim("n1", now=100.0, lease_s=30, limit=10)
    assert await store.outbox.claim("n2", now=110.0, lease_s=30, limit=10) == []
    assert await store.outbox.next_due() == 130.0
    [taken] = await store.outbox.claim("n2", now=131.0, lease_s=30, limit=10)
    assert taken.id == first.id and taken.attempts == 2 and taken.lease != first.lease
    # The first node's lease is gone: its late answer changes nothing.
    assert not await store.outbox.delivered(first)
    assert await store.outbox.delivered(taken)
    assert await store.outbox.count() == 0 and await store.outbox.next_due() is None


async def test_failures_are_kept_listed_and_retried_on_demand(store: Store) -> None:
    """A failed item keeps its error and due time; failing() lists it; retry_now makes it due."""
    await store.append_event("c1", _message(store, "hello"))
    [item] = await store.outbox.claim("n1", now=100.0, lease_s=30, limit=10)
    assert await store.outbox.retry_later(item, due_at=1000.0, error="HTTP 500" + "x" * 1000)
    assert await store.outbox.claim("n1", now=200.0, lease_s=30, limit=10) == []
    [failing] = await store.outbox.failing(min_attempts=1)
    assert failing.last_error is not None and failing.last_error.startswith("HTTP 500")
    assert len(failing.last_error) == 500 and failing.lease is None
    assert await store.outbox.failing(min_attempts=2) == []
    assert await store.outbox.retry_now(item.id, now=200.0)
    assert not await store.outbox.retry_now(item.id + 100, now=200.0)
    [again] = await store.outbox.claim("n1", now=200.0, lease_s=30, limit=10)
    assert again.attempts == 2
    stored = await store.outbox.get(item.id)
    assert stored is not None and dataclasses.replace(stored, lease=None).attempts == 2


async def test_claims_take_the_oldest_due_items_up_to_the_limit(store: Store) -> None:
    """At most ``limit`` items per claim, oldest due first; the rest stay for the next claim."""
    for n in range(5):
        await store.append_event("c1", _message(store, f"m{n}", delivery=f"d{n}"))
    batch = await store.outbox.claim("n1", now=100.0, lease_s=30, limit=3)
    assert [item.payload["text"] for item in batch] == ["m0", "m1", "m2"]
    rest = await store.outbox.claim("n2", now=100.0, lease_s=30, limit=10)
    assert [item.payload["text"] for item in rest] == ["m3", "m4"]


async def test_several_delivered_items_are_forgotten_at_once(store: Store) -> None:
    """delivered_many forgets every item whose lease is still held, and only those."""
    for n in range(3):
        await store.append_event("c1", _message(store, f"m{n}", delivery=f"d{n}"))
    first, second, third = await store.outbox.claim("n1", now=100.0, lease_s=30, limit=10)
    lost = dataclasses.replace(third, lease="someone-else")
    assert await store.outbox.delivered_many([first, second, lost]) == 2
    assert [item.id for item in await store.outbox.claim("n2", now=200.0, lease_s=30, limit=9)] == [
        third.id
    ]
    assert await store.outbox.delivered_many([]) == 0
