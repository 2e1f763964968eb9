"""The fair queue: priority classes with ageing, FIFO within a class, O(log n) positions.

Every waiting conversation has one order key::

    (enqueued_at - boost[priority], enqueued_at, conversation_id)

The smallest key is served first. A class's boost is a head start in seconds: an urgent
customer who arrives now ranks as if they had arrived ``boost["urgent"]`` seconds ago. Inside a
class the boost is constant, so order is plain FIFO; across classes the head start is bounded,
so a normal customer who has waited longer than the boost difference outranks any newer urgent
one and no class can starve. ``enqueued_at`` is the *original* enqueue time: a chat that returns
to the queue (agent gone, transfer back) keeps it and gets its old place back.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

__all__ = [
    "DEFAULT_BOOSTS",
    "PRIORITIES",
    "FairQueue",
    "QueueEntry",
]

PRIORITIES: tuple[str, ...] = ("urgent", "vip", "normal")

# Head starts in seconds. Urgent (account compromised, funds missing) jumps ahead of anyone who
# has waited less than 15 minutes: in a surge the normal queue is mostly FAQ-type questions whose
# wait is long anyway, while every minute of an account takeover can cost the customer funds.
# 15 minutes is also the longest a normal customer can be pushed back by urgent arrivals, which
# keeps the "no class starves" promise concrete. VIP gets 5 minutes: a noticeable preference
# that never overtakes a fresh emergency (900 - 300 = 10 minutes of margin).
DEFAULT_BOOSTS: Mapping[str, float] = {"urgent": 900.0, "vip": 300.0, "normal": 0.0}

_OrderKey = tuple[float, float, str]


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One conversation waiting for an agent.

    ``enqueued_at`` is the original enqueue time (seconds, same clock as ``now`` elsewhere);
    a chat that returns to the queue keeps it so that it gets its old place back.
    """

    conversation_id: str
    priority: str
    enqueued_at: float
    locale: str = "en"
    skills: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.conversation_id:
            raise ValueError("conversation_id must not be empty")
        if self.priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {PRIORITIES}, got {self.priority!r}")
        if not math.isfinite(self.enqueued_at):
            raise ValueError(f"enqueued_at must be finite, got {self.enqueued_at!r}")
        if not isinstance(self.skills, tuple):
            # A list would make the frozen entry unhashable and silently mutable.
            raise TypeError(f"skills must be a tuple, got {type(self.skills).__name__}")


class FairQueue:
    """Priority classes with ageing, FIFO within a class.

    Order key = ``(enqueued_at - boost[priority], enqueued_at, conversation_id)``. Urgent gets
    a head start of its boost in seconds (so it goes ahead of normal), order is FIFO within a
    class, and a normal entry that has waited longer than the boost difference outranks a newer
    urgent one, so no class starves. Defaults: :data:`DEFAULT_BOOSTS` (see the comment there).

    The keys live in a sorted list, so ``position`` is a binary search (O(log n)); ``push`` and
    ``remove`` are a binary search plus a list shift (memmove, fast for the queue sizes a chat
    service sees).
    """

    __slots__ = ("_boosts", "_entries", "_keys")

    def __init__(self, boosts: Mapping[str, float] | None = None) -> None:
        """Create an empty queue; ``boosts`` overrides :data:`DEFAULT_BOOSTS` per class."""
        merged = dict(DEFAULT_BOOSTS)
        for priority, boost in (boosts or {}).items():
            if priority not in PRIORITIES:
                raise ValueError(f"boosts: unknown priority {priority!r}")
            if not math.isfinite(boost) or boost < 0:
                raise ValueError(f"boosts.{priority}: must be a finite number >= 0, got {boost!r}")
            merged[priority] = float(boost)
        self._boosts: dict[str, float] = merged
        self._entries: dict[str, QueueEntry] = {}
        self._keys: list[_OrderKey] = []

    @property
    def boosts(self) -> Mapping[str, float]:
        """The head start of each class, in seconds (a copy)."""
        return dict(self._boosts)

    def order_key(self, entry: QueueEntry) -> _OrderKey:
        """Return the key ``entry`` is served by (smallest first)."""
        return (
            entry.enqueued_at - self._boosts[entry.priority],
            entry.enqueued_at,
            entry.conversation_id,
        )

    def push(self, entry: QueueEntry) -> None:
        """Add ``entry`` at the place its key gives it; ValueError if it is already queued."""
        if entry.conversation_id in self._entries:
            raise ValueError(f"conversation {entry.conversation_id!r} is already queued")
        self._entries[entry.conversation_id] = entry
        insort(self._keys, self.order_key(entry))

    def remove(self, conversation_id: str) -> QueueEntry | None:
        """Take ``conversation_id`` out of the queue and return its entry (None if absent)."""
        entry = self._entries.pop(conversation_id, None)
        if entry is None:
            return None
        key = self.order_key(entry)
        index = bisect_left(self._keys, key)
        # Keys are unique (the conversation id is part of them), so this is the entry's key.
        del self._keys[index]
        return entry

    def get(self, conversation_id: str) -> QueueEntry | None:
        """Return the queued entry for ``conversation_id``, or None."""
        return self._entries.get(conversation_id)

    def position(self, conversation_id: str) -> int | None:
        """Return the 1-based rank of ``conversation_id`` in service order, or None. O(log n)."""
        entry = self._entries.get(conversation_id)
        if entry is None:
            return None
        return bisect_left(self._keys, self.order_key(entry)) + 1

    def ordered(self) -> list[QueueEntry]:
        """Return the queued entries in service order (a new list)."""
        return [self._entries[key[2]] for key in self._keys]

    def waiting_by_class(self) -> dict[str, int]:
        """Return the number of waiting entries per priority class (every class present)."""
        counts = dict.fromkeys(PRIORITIES, 0)
        for entry in self._entries.values():
            counts[entry.priority] += 1
        return counts

    def oldest_enqueued_at(self) -> float | None:
        """Return the earliest ``enqueued_at`` among waiting entries (None when empty)."""
        if not self._entries:
            return None
        return min(entry.enqueued_at for entry in self._entries.values())

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._entries

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[QueueEntry]:
        """Iterate in service order over a snapshot (the queue may change meanwhile)."""
        return iter(self.ordered())

    def __repr__(self) -> str:
        return f"FairQueue(waiting={len(self)}, boosts={self._boosts!r})"
