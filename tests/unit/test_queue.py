"""Tests for the fair queue: class order, FIFO, ageing, positions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatd.domain.queue import DEFAULT_BOOSTS, PRIORITIES, FairQueue, QueueEntry


def entry(cid: str, priority: str = "normal", at: float = 0.0, **kw: object) -> QueueEntry:
    return QueueEntry(cid, priority, at, **kw)  # type: ignore[arg-type]


def ids(queue: FairQueue) -> list[str]:
    return [e.conversation_id for e in queue]


def test_fifo_within_a_class() -> None:
    """Entries of one class are served in enqueue order."""
    queue = FairQueue()
    for cid, at in [("b", 2.0), ("a", 1.0), ("c", 3.0)]:
        queue.push(entry(cid, at=at))
    assert ids(queue) == ["a", "b", "c"]
    assert [queue.position(c) for c in "abc"] == [1, 2, 3]


def test_urgent_goes_ahead_of_normal() -> None:
    """A new urgent entry is served before normal entries that arrived shortly before."""
    queue = FairQueue()
    queue.push(entry("n1", at=0.0))
    queue.push(entry("n2", at=10.0))
    queue.push(entry("u", "urgent", at=20.0))
    queue.push(entry("v", "vip", at=15.0))
    assert ids(queue) == ["u", "v", "n1", "n2"]


def test_ageing_prevents_starvation() -> None:
    """A normal entry waiting longer than the urgent boost outranks a newer urgent entry."""
    queue = FairQueue()  # urgent boost 900 s
    queue.push(entry("old-normal", at=0.0))
    queue.push(entry("urgent-899", "urgent", at=899.0))  # 899 - 900 = -1 < 0: goes first
    queue.push(entry("urgent-901", "urgent", at=901.0))  # 901 - 900 = 1 > 0: goes after
    assert ids(queue) == ["urgent-899", "old-normal", "urgent-901"]


def test_ageing_bounds_delay_under_endless_urgent_stream() -> None:
    """Under a continuous urgent stream a normal entry is served after at most the boost delay."""
    queue = FairQueue()
    queue.push(entry("normal", at=0.0))
    for i in range(2000):  # one urgent arrival per second for 2000 s
        queue.push(entry(f"u{i:04d}", "urgent", at=float(i)))
    # Only urgent arrivals before t=900 rank ahead of it: the boost is the bound.
    assert queue.position("normal") == 901


def test_equal_keys_tie_break_on_conversation_id() -> None:
    """Same class, same time: the conversation id decides, so the order is deterministic."""
    queue = FairQueue()
    queue.push(entry("b", at=5.0))
    queue.push(entry("a", at=5.0))
    assert ids(queue) == ["a", "b"]


def test_push_twice_is_an_error() -> None:
    """Pushing a conversation that is already queued raises ValueError."""
    queue = FairQueue()
    queue.push(entry("a"))
    with pytest.raises(ValueError, match="already queued"):
        queue.push(entry("a", at=3.0))


def test_remove_and_get() -> None:
    """Remove returns the entry and closes the gap; unknown ids give None."""
    queue = FairQueue()
    for i, cid in enumerate("abc"):
        queue.push(entry(cid, at=float(i)))
    removed = queue.remove("b")
    assert removed == entry("b", at=1.0)
    assert queue.remove("b") is None
    assert queue.get("b") is None and "b" not in queue
    assert queue.position("c") == 2 and len(queue) == 2


def test_returning_entry_gets_its_old_place_back() -> None:
    """An entry pushed again with its original enqueued_at regains its original position."""
    queue = FairQueue()
    for i, cid in enumerate("abcd"):
        queue.push(entry(cid, at=float(i)))
    original = queue.remove("b")
    assert original is not None
    queue.push(entry("e", at=10.0))
    queue.push(original)
    assert ids(queue) == ["a", "b", "c", "d", "e"]


def test_waiting_by_class_and_oldest() -> None:
    """Counts per class include empty classes; the oldest enqueue time is reported."""
    queue = FairQueue()
    assert queue.waiting_by_class() == {"urgent": 0, "vip": 0, "normal": 0}
    assert queue.oldest_enqueued_at() is None
    queue.push(entry("a", at=7.0))
    queue.push(entry("b", "urgent", at=9.0))
    assert queue.waiting_by_class() == {"urgent": 1, "vip": 0, "normal": 1}
    assert queue.oldest_enqueued_at() == 7.0


def test_custom_boosts_override_defaults() -> None:
    """Boosts given to the constructor replace the defaults for those classes only."""
    queue = FairQueue({"urgent": 60.0})
    assert queue.boosts == {**DEFAULT_BOOSTS, "urgent": 60.0}
    queue.push(entry("n", at=0.0))
    queue.push(entry("u", "urgent", at=61.0))
    assert ids(queue) == ["n", "u"]


@pytest.mark.parametrize("boosts", [{"gold": 1.0}, {"urgent": -1.0}, {"vip": float("nan")}])
def test_invalid_boosts_are_rejected(boosts: dict[str, float]) -> None:
    """Unknown classes, negative and non-finite boosts raise ValueError."""
    with pytest.raises(ValueError, match="boosts"):
        FairQueue(boosts)


def test_invalid_entries_are_rejected() -> None:
    """Entries with an unknown priority, empty id, NaN time or list skills are refused."""
    with pytest.raises(ValueError):
        QueueEntry("a", "gold", 0.0)
    with pytest.raises(ValueError):
        QueueEntry("", "normal", 0.0)
    with pytest.raises(ValueError):
        QueueEntry("a", "normal", float("nan"))
    with pytest.raises(TypeError):
        QueueEntry("a", "normal", 0.0, skills=["kyc"])  # type: ignore[arg-type]


operations = st.lists(
    st.tuples(
        st.booleans(),
        st.integers(0, 15),
        st.sampled_from(PRIORITIES),
        st.integers(0, 3000).map(float),
    ),
    max_size=60,
)


@given(operations)
def test_order_matches_reference_sort(ops: list[tuple[bool, int, str, float]]) -> None:
    """After any pushes and removes, iteration and positions equal a plain sort by the key."""
    queue = FairQueue()
    model: dict[str, QueueEntry] = {}
    for is_push, n, priority, at in ops:
        cid = f"c{n}"
        if is_push and cid not in model:
            model[cid] = entry(cid, priority, at)
            queue.push(model[cid])
        elif not is_push:
            assert queue.remove(cid) == model.pop(cid, None)
    expected = sorted(
        model.values(),
        key=lambda e: (
            e.enqueued_at - DEFAULT_BOOSTS[e.priority],
            e.enqueued_at,
            e.conversation_id,
        ),
    )
    assert queue.ordered() == expected == list(queue)
    assert [queue.position(e.conversation_id) for e in expected] == list(
        range(1, len(expected) + 1)
    )
    assert len(queue) == len(model)
    assert sum(queue.waiting_by_class().values()) == len(model)


def test_invalid_entries_are_refused_with_their_value() -> None:
    """Each refusal of an entry says what is wrong and with which value."""
    cases: list[tuple[type[Exception], dict[str, object], str]] = [
        (ValueError, {"conversation_id": ""}, "conversation_id must not be empty"),
        (
            ValueError,
            {"priority": "gold"},
            "priority must be one of ('urgent', 'vip', 'normal'), got 'gold'",
        ),
        (ValueError, {"enqueued_at": float("inf")}, "enqueued_at must be finite, got inf"),
        (TypeError, {"skills": ["kyc"]}, "skills must be a tuple, got list"),
    ]
    for error, change, message in cases:
        fields: dict[str, object] = {
            "conversation_id": "a",
            "priority": "normal",
            "enqueued_at": 0.0,
            **change,
        }
        with pytest.raises(error) as raised:
            QueueEntry(**fields)  # type: ignore[arg-type]
        assert str(raised.value) == message


def test_invalid_boosts_are_refused_with_their_value() -> None:
    """A boost refusal names the class and the value; a boost of exactly 0 is valid."""
    with pytest.raises(ValueError) as raised:
        FairQueue({"gold": 1.0})
    assert str(raised.value) == "boosts: unknown priority 'gold'"
    with pytest.raises(ValueError) as raised:
        FairQueue({"vip": -1.0})
    assert str(raised.value) == "boosts.vip: must be a finite number >= 0, got -1.0"
    assert FairQueue({"urgent": 0.0}).boosts["urgent"] == 0.0
