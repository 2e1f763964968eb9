"""Abuse limits as pure counters: a token bucket, a sliding-window counter, a connection counter.

None of these read the clock: every call takes ``now`` (seconds, any monotonic origin) so the
caller decides which clock counts and tests can replay any schedule. A clock that steps backwards
is treated as standing still, never as a refill.

Which limit uses which counter:

- messages per conversation and per IP: :class:`KeyedLimiter`, a :class:`TokenBucket` per key
  (smooth rate, short bursts allowed) plus a window of rate violations per key. Keyed by what
  an attacker cannot reset: a conversation's rate is the same however many sockets it uses, and
  reconnecting does not forget its violations;
- new conversations per IP per window: :class:`WindowCounter` (exact "at most N per T");
- open connections per IP: :class:`ConnectionCounter`.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = [
    "DEFAULT_CONNECTIONS_PER_IP",
    "DEFAULT_MESSAGE_BURST",
    "DEFAULT_MESSAGE_RATE",
    "DEFAULT_NEW_CONVERSATIONS",
    "DEFAULT_NEW_CONVERSATIONS_WINDOW_S",
    "ConnectionCounter",
    "KeyedLimiter",
    "TokenBucket",
    "WindowCounter",
]

# A person types at most a message every second or two; a burst of 10 lets them paste several
# lines or resend after a reconnect without being throttled, while a script is held to 1/s.
DEFAULT_MESSAGE_RATE = 1.0
DEFAULT_MESSAGE_BURST = 10.0
# A household or office behind one NAT can have several tabs and people open; 20 still stops
# one host from holding hundreds of sockets.
DEFAULT_CONNECTIONS_PER_IP = 20
# Chatwoot's default: 6 new conversations per IP per 12 hours. Enough for a real customer who
# closes and reopens, far too few to flood the agents' queue.
DEFAULT_NEW_CONVERSATIONS = 6
DEFAULT_NEW_CONVERSATIONS_WINDOW_S = 12 * 3600.0

K = TypeVar("K", bound=Hashable)


class TokenBucket:
    """Grant up to ``burst`` at once and ``rate`` per second on average.

    The bucket starts full at the first call. Over any interval starting at the first call,
    at most ``burst + rate * elapsed`` cost is granted.
    """

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float) -> None:
        if not (math.isfinite(rate) and rate >= 0):
            raise ValueError(f"rate must be a finite number >= 0, got {rate!r}")
        if not (math.isfinite(burst) and burst > 0):
            raise ValueError(f"burst must be a finite number > 0, got {burst!r}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._tokens = float(burst)
        self._last: float | None = None

    def _refill(self, now: float) -> None:
        if self._last is None:
            self._last = now
            return
        elapsed = now - self._last
        if elapsed > 0:
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._last = now
        # elapsed <= 0: a clock that stepped back (or a repeated now) adds nothing, and _last
        # keeps the latest time seen so the step back cannot be counted as elapsed time later.

    def tokens(self, now: float) -> float:
        """Return the tokens available at ``now``."""
        self._refill(now)
        return self._tokens

    def try_take(self, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if available at ``now``; return whether they were taken."""
        if not (cost >= 0):  # also rejects NaN
            raise ValueError(f"cost must be >= 0, got {cost!r}")
        self._refill(now)
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False

    def retry_after(self, now: float, cost: float = 1.0) -> float:
        """Seconds from ``now`` until ``cost`` tokens are available; ``inf`` if never."""
        self._refill(now)
        missing = cost - self._tokens
        if missing <= 0:
            return 0.0
        if cost > self.burst or self.rate == 0:
            return math.inf
        return missing / self.rate


class WindowCounter(Generic[K]):
    """At most ``limit`` events per key in any window of ``window_s`` seconds (a sliding log).

    Each key keeps the times of its last ``limit`` admitted events, so memory is
    ``O(keys * limit)``; limits here are small (6 conversations per 12 h). Keys are kept in order
    of their latest event, so expired keys are dropped from the front cheaply, and at most
    ``max_keys`` are kept: when a new key arrives at a full table, the key idle the longest is
    forgotten. That key's earlier events then no longer count, which is the price of bounded
    memory under a flood of distinct keys; size ``max_keys`` above the number of keys expected
    to be active within one window.
    """

    __slots__ = ("_events", "limit", "max_keys", "window_s")

    def __init__(self, limit: int, window_s: float, *, max_keys: int = 100_000) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit!r}")
        if not (math.isfinite(window_s) and window_s > 0):
            raise ValueError(f"window_s must be a finite number > 0, got {window_s!r}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be >= 1, got {max_keys!r}")
        self.limit = limit
        self.window_s = float(window_s)
        self.max_keys = max_keys
        self._events: OrderedDict[K, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._events)

    def _live(self, key: K, now: float) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        cutoff = now - self.window_s
        while events and events[0] <= cutoff:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def count(self, key: K, now: float) -> int:
        """Events of ``key`` still inside the window ending at ``now``."""
        events = self._live(key, now)
        return len(events) if events is not None else 0

    def try_add(self, key: K, now: float) -> bool:
        """Record an event for ``key`` at ``now`` if under the limit; return whether admitted."""
        events = self._live(key, now)
        if events is None:
            self.prune(now)
            while len(self._events) >= self.max_keys:
                self._events.popitem(last=False)
            events = deque(maxlen=self.limit)
            self._events[key] = events
        elif len(events) >= self.limit:
            return False
        # max(...) keeps each log sorted even if the clock steps back, so popleft stays correct.
        events.append(max(now, events[-1]) if events else now)
        self._events.move_to_end(key)
        return True

    def retry_after(self, key: K, now: float) -> float:
        """Seconds from ``now`` until ``key`` may add an event again (0 if it may now)."""
        events = self._live(key, now)
        if events is None or len(events) < self.limit:
            return 0.0
        return max(0.0, events[0] + self.window_s - now)

    def prune(self, now: float) -> int:
        """Forget keys whose events have all left the window; return how many were dropped."""
        cutoff = now - self.window_s
        dropped = 0
        # Keys are ordered by their latest event, so the first live key ends the scan.
        while self._events:
            key, events = next(iter(self._events.items()))
            if events[-1] > cutoff:
                break
            del self._events[key]
            dropped += 1
        return dropped


class ConnectionCounter(Generic[K]):
    """At most ``limit_per_key`` open connections per key; keys vanish when their count is 0.

    Memory is bounded by the number of open connections, so no pruning is needed.
    """

    __slots__ = ("_open", "limit_per_key")

    def __init__(self, limit_per_key: int) -> None:
        if limit_per_key < 1:
            raise ValueError(f"limit_per_key must be >= 1, got {limit_per_key!r}")
        self.limit_per_key = limit_per_key
        self._open: dict[K, int] = {}

    def __len__(self) -> int:
        return len(self._open)

    def count(self, key: K) -> int:
        """Connections currently open for ``key``."""
        return self._open.get(key, 0)

    def acquire(self, key: K) -> bool:
        """Count one more connection for ``key`` if under the limit; return whether admitted."""
        current = self._open.get(key, 0)
        if current >= self.limit_per_key:
            return False
        self._open[key] = current + 1
        return True

    def release(self, key: K) -> None:
        """Count one connection of ``key`` as closed; releasing an unknown key does nothing.

        Tolerating an extra release keeps a double-close in an adapter from driving the count
        negative and silently raising that key's limit.
        """
        current = self._open.get(key, 0)
        if current <= 1:
            self._open.pop(key, None)
        else:
            self._open[key] = current - 1


class _KeyState:
    """One key of a :class:`KeyedLimiter`: its bucket, its recent refusals, its last use."""

    __slots__ = ("bucket", "last_used", "violations")

    def __init__(self, bucket: TokenBucket, now: float) -> None:
        self.bucket = bucket
        self.violations: deque[float] = deque()
        self.last_used = now


class KeyedLimiter(Generic[K]):
    """A token bucket and a count of recent refusals per key, for at most ``max_keys`` keys.

    :meth:`take` grants ``rate`` per second and ``burst`` at once per key; every refusal is
    recorded, and :meth:`violations` says how many refusals the key had in the last
    ``violation_window_s`` seconds (the caller closes abusive connections on that count).

    Memory is bounded: keys are kept in order of last use and, at ``max_keys``, the key unused
    the longest is forgotten. A key unused for ``idle_s`` (its bucket full again and its
    violations expired) carries no information, so dropping it changes nothing; only a flood of
    more than ``max_keys`` keys active at once can make one forget early. Size ``max_keys``
    above the number of conversations (or addresses) active within ``idle_s``.
    """

    __slots__ = ("_keys", "burst", "idle_s", "max_keys", "rate", "violation_window_s")

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        violation_window_s: float = 60.0,
        max_keys: int = 100_000,
    ) -> None:
        TokenBucket(rate, burst)  # validates rate and burst
        if not (math.isfinite(violation_window_s) and violation_window_s > 0):
            raise ValueError(f"violation_window_s must be > 0, got {violation_window_s!r}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be >= 1, got {max_keys!r}")
        self.rate = float(rate)
        self.burst = float(burst)
        self.violation_window_s = float(violation_window_s)
        self.max_keys = max_keys
        refill_s = burst / rate if rate > 0 else math.inf
        #: After this long unused, a key's state equals a fresh key's.
        self.idle_s = max(refill_s, violation_window_s)
        self._keys: OrderedDict[K, _KeyState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def _state(self, key: K, now: float) -> _KeyState:
        state = self._keys.get(key)
        if state is None:
            self._forget_idle(now)
            while len(self._keys) >= self.max_keys:
                self._keys.popitem(last=False)
            state = _KeyState(TokenBucket(self.rate, self.burst), now)
            self._keys[key] = state
        else:
            state.last_used = max(state.last_used, now)
            self._keys.move_to_end(key)
        return state

    def _forget_idle(self, now: float) -> None:
        # Keys are ordered by last use, so the first key still in use ends the scan.
        while self._keys:
            oldest = next(iter(self._keys.values()))
            if now - oldest.last_used < self.idle_s:
                break
            self._keys.popitem(last=False)

    def take(self, key: K, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` from ``key``'s bucket; on refusal record a violation. True if taken."""
        state = self._state(key, now)
        if state.bucket.try_take(now, cost):
            return True
        self._violate(state, now)
        return False

    def refuse(self, key: K, now: float) -> None:
        """Record a violation of ``key`` for a refusal decided elsewhere (a shared limit)."""
        self._violate(self._state(key, now), now)

    @staticmethod
    def _violate(state: _KeyState, now: float) -> None:
        violations = state.violations
        # max(...) keeps the log sorted if the clock steps back, so expiry from the left holds.
        violations.append(max(now, violations[-1]) if violations else now)

    def violations(self, key: K, now: float) -> int:
        """Refusals of ``key`` within the last ``violation_window_s`` seconds."""
        state = self._keys.get(key)
        if state is None:
            return 0
        violations = state.violations
        cutoff = now - self.violation_window_s
        while violations and violations[0] <= cutoff:
            violations.popleft()
        return len(violations)

    def retry_after(self, key: K, now: float, cost: float = 1.0) -> float:
        """Seconds from ``now`` until ``key`` may take ``cost`` again (0 if it may now)."""
        state = self._keys.get(key)
        return 0.0 if state is None else state.bucket.retry_after(now, cost)
