"""Abuse-limit counters: examples and hypothesis properties, all with explicit ``now``."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chatd.domain.ratelimit import (
    DEFAULT_NEW_CONVERSATIONS,
    DEFAULT_NEW_CONVERSATIONS_WINDOW_S,
    ConnectionCounter,
    KeyedLimiter,
    TokenBucket,
    WindowCounter,
)

# --------------------------------------------------------------------------------------------
# TokenBucket


def test_bucket_starts_full_then_refuses() -> None:
    """A fresh bucket grants its burst at once and then refuses."""
    bucket = TokenBucket(rate=1.0, burst=3)
    assert [bucket.try_take(0.0) for _ in range(4)] == [True, True, True, False]


def test_bucket_refills_at_rate() -> None:
    """Tokens come back at ``rate`` per second, capped at ``burst``."""
    bucket = TokenBucket(rate=2.0, burst=4)
    for _ in range(4):
        bucket.try_take(10.0)
    assert bucket.tokens(10.5) == pytest.approx(1.0)
    assert bucket.tokens(100.0) == 4.0


def test_bucket_retry_after_is_the_wait() -> None:
    """retry_after says how long until the next take succeeds."""
    bucket = TokenBucket(rate=0.5, burst=1)
    assert bucket.try_take(0.0)
    assert bucket.retry_after(0.0) == pytest.approx(2.0)
    assert not bucket.try_take(1.9)
    assert bucket.try_take(2.0)


def test_bucket_retry_after_zero_when_available() -> None:
    """retry_after is 0 when the cost is available now."""
    assert TokenBucket(rate=1.0, burst=2).retry_after(5.0) == 0.0


def test_bucket_cost_above_burst_never_succeeds() -> None:
    """A cost larger than the burst is refused forever and retry_after is infinite."""
    bucket = TokenBucket(rate=1.0, burst=2)
    assert not bucket.try_take(0.0, cost=3)
    assert bucket.retry_after(0.0, cost=3) == math.inf


def test_bucket_zero_rate_never_refills() -> None:
    """With rate 0 the burst is all there is."""
    bucket = TokenBucket(rate=0.0, burst=1)
    assert bucket.try_take(0.0)
    assert not bucket.try_take(1e9)
    assert bucket.retry_after(1e9) == math.inf


def test_bucket_clock_going_back_adds_nothing() -> None:
    """A clock that steps back neither refills nor later counts the step as elapsed time."""
    bucket = TokenBucket(rate=1.0, burst=1)
    assert bucket.try_take(100.0)
    assert not bucket.try_take(50.0)
    assert not bucket.try_take(100.5)
    assert bucket.try_take(101.0)


@pytest.mark.parametrize(
    ("rate", "burst"), [(-1.0, 1.0), (math.nan, 1.0), (math.inf, 1.0), (1.0, 0.0), (1.0, -2.0)]
)
def test_bucket_rejects_bad_parameters(rate: float, burst: float) -> None:
    """Negative, infinite or NaN rates and non-positive bursts are configuration errors."""
    with pytest.raises(ValueError):
        TokenBucket(rate=rate, burst=burst)


def test_bucket_rejects_negative_cost() -> None:
    """A negative cost would mint tokens, so it is refused loudly."""
    with pytest.raises(ValueError):
        TokenBucket(rate=1.0, burst=1.0).try_take(0.0, cost=-1.0)


_STEPS = st.lists(
    st.tuples(
        st.floats(min_value=-5.0, max_value=50.0, allow_nan=False),
        st.floats(min_value=0.0, max_value=5.0, allow_nan=False),
    ),
    max_size=200,
)


@given(
    st.floats(min_value=0.0, max_value=100.0, allow_nan=False),
    st.floats(min_value=0.1, max_value=50.0, allow_nan=False),
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False),
    _STEPS,
)
# Found by hypothesis: the first call before ``start``; the allowance runs from the first call.
@example(rate=1.0, burst=1.0, start=0.0, steps=[(-1.0, 1.0), (1.0, 1.0)])
def test_bucket_never_grants_more_than_burst_plus_rate(
    rate: float, burst: float, start: float, steps: list[tuple[float, float]]
) -> None:
    """Granted cost never exceeds burst + rate * elapsed since the first call, even if the
    clock steps back (the bucket starts full at its first call, whatever time that says)."""
    bucket = TokenBucket(rate=rate, burst=burst)
    now = start
    first: float | None = None
    latest = start
    granted = 0.0
    for dt, cost in steps:
        now += dt
        if first is None:
            first = latest = now
        latest = max(latest, now)
        if bucket.try_take(now, cost):
            granted += cost
        allowance = burst + rate * (latest - first)
        assert granted <= allowance * (1 + 1e-9) + 1e-9


@given(
    st.floats(min_value=0.01, max_value=100.0, allow_nan=False),
    st.floats(min_value=1.0, max_value=50.0, allow_nan=False),
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    st.integers(min_value=0, max_value=100),
)
def test_bucket_retry_after_is_enough(
    rate: float, burst: float, cost_fraction: float, drain: int
) -> None:
    """Waiting retry_after (plus rounding slack) is always enough for the take to succeed."""
    bucket = TokenBucket(rate=rate, burst=burst)
    for _ in range(drain):
        bucket.try_take(0.0)
    cost = cost_fraction * burst
    wait = bucket.retry_after(0.0, cost)
    assert bucket.try_take(wait * (1 + 1e-9) + 1e-9, cost)


# --------------------------------------------------------------------------------------------
# WindowCounter


def test_window_admits_limit_then_refuses() -> None:
    """Chatwoot-style default: 6 new conversations per IP per 12 hours, the 7th refused."""
    counter: WindowCounter[str] = WindowCounter(
        DEFAULT_NEW_CONVERSATIONS, DEFAULT_NEW_CONVERSATIONS_WINDOW_S
    )
    results = [counter.try_add("203.0.113.7", float(i)) for i in range(7)]
    assert results == [True] * 6 + [False]
    assert counter.try_add("198.51.100.1", 7.0)


def test_window_slides() -> None:
    """An event frees its slot exactly ``window_s`` after it happened."""
    counter: WindowCounter[str] = WindowCounter(2, 10.0)
    assert counter.try_add("ip", 0.0)
    assert counter.try_add("ip", 4.0)
    assert not counter.try_add("ip", 9.9)
    assert counter.retry_after("ip", 9.9) == pytest.approx(0.1)
    assert counter.try_add("ip", 10.0)
    assert not counter.try_add("ip", 13.0)
    assert counter.try_add("ip", 14.0)


def test_window_rejected_attempts_do_not_count() -> None:
    """Refused attempts are not recorded, so hammering does not extend the wait."""
    counter: WindowCounter[str] = WindowCounter(1, 10.0)
    assert counter.try_add("ip", 0.0)
    for t in range(1, 10):
        assert not counter.try_add("ip", float(t))
    assert counter.try_add("ip", 10.0)


def test_window_retry_after_zero_under_limit() -> None:
    """retry_after is 0 for an unknown key or one under its limit."""
    counter: WindowCounter[str] = WindowCounter(2, 10.0)
    assert counter.retry_after("new", 0.0) == 0.0
    counter.try_add("ip", 0.0)
    assert counter.retry_after("ip", 1.0) == 0.0
    assert counter.count("ip", 1.0) == 1


def test_window_prune_forgets_idle_keys() -> None:
    """prune drops keys whose events all left the window and keeps live ones."""
    counter: WindowCounter[int] = WindowCounter(3, 10.0)
    for key in range(5):
        counter.try_add(key, float(key))
    assert counter.prune(12.0) == 3
    assert len(counter) == 2
    assert counter.count(4, 12.0) == 1


def test_window_new_keys_prune_idle_ones() -> None:
    """Adding a new key forgets idle keys on the way, so memory tracks the active keys."""
    counter: WindowCounter[int] = WindowCounter(3, 10.0)
    for key in range(100):
        counter.try_add(key, float(key))
    assert len(counter) == 10


def test_window_max_keys_bounds_memory() -> None:
    """At most max_keys keys are kept; the longest-idle key is forgotten first."""
    counter: WindowCounter[int] = WindowCounter(1, 1000.0, max_keys=3)
    for key in range(4):
        assert counter.try_add(key, float(key))
    assert len(counter) == 3
    assert counter.count(0, 4.0) == 0
    assert counter.count(3, 4.0) == 1


@pytest.mark.parametrize(
    ("limit", "window_s", "max_keys"), [(0, 1.0, 1), (1, 0.0, 1), (1, math.inf, 1), (1, 1.0, 0)]
)
def test_window_rejects_bad_parameters(limit: int, window_s: float, max_keys: int) -> None:
    """A zero limit, a non-positive or infinite window or zero max_keys are errors."""
    with pytest.raises(ValueError):
        WindowCounter(limit, window_s, max_keys=max_keys)


_EVENTS = st.lists(
    st.tuples(st.sampled_from("abc"), st.floats(min_value=0.0, max_value=7.0, allow_nan=False)),
    max_size=200,
)


@given(st.integers(min_value=1, max_value=5), st.floats(min_value=0.5, max_value=30.0), _EVENTS)
def test_window_never_admits_more_than_limit(
    limit: int, window_s: float, events: list[tuple[str, float]]
) -> None:
    """In every window of window_s, each key has at most ``limit`` admitted events, and an
    event is refused only when ``limit`` events are already in its window."""
    counter: WindowCounter[str] = WindowCounter(limit, window_s)
    admitted: dict[str, list[float]] = {}
    now = 0.0
    for key, dt in events:
        now += dt
        in_window = [t for t in admitted.get(key, []) if t > now - window_s]
        ok = counter.try_add(key, now)
        assert ok == (len(in_window) < limit)
        if ok:
            admitted.setdefault(key, []).append(now)
    for times in admitted.values():
        for t in times:
            assert sum(1 for u in times if t - window_s < u <= t) <= limit


@given(
    st.integers(min_value=1, max_value=4),
    st.lists(
        st.tuples(st.integers(0, 50), st.floats(min_value=0, max_value=3, allow_nan=False)),
        max_size=300,
    ),
)
def test_window_key_count_is_bounded(max_keys: int, events: list[tuple[int, float]]) -> None:
    """However many distinct keys arrive, the table never holds more than max_keys."""
    counter: WindowCounter[int] = WindowCounter(2, 10.0, max_keys=max_keys)
    now = 0.0
    for key, dt in events:
        now += dt
        counter.try_add(key, now)
        assert len(counter) <= max_keys


# --------------------------------------------------------------------------------------------
# ConnectionCounter


def test_connections_limit_and_release() -> None:
    """A key gets ``limit`` connections; a release makes room for one more."""
    conns: ConnectionCounter[str] = ConnectionCounter(2)
    assert conns.acquire("ip") and conns.acquire("ip")
    assert not conns.acquire("ip")
    conns.release("ip")
    assert conns.acquire("ip")
    assert conns.count("ip") == 2


def test_connections_extra_release_is_harmless() -> None:
    """Releasing more than was acquired never drives the count negative or raises the limit."""
    conns: ConnectionCounter[str] = ConnectionCounter(1)
    conns.release("ip")
    assert conns.acquire("ip")
    conns.release("ip")
    conns.release("ip")
    assert conns.count("ip") == 0 and len(conns) == 0
    assert conns.acquire("ip")
    assert not conns.acquire("ip")


def test_connections_rejects_bad_limit() -> None:
    """A limit below 1 is a configuration error."""
    with pytest.raises(ValueError):
        ConnectionCounter(0)


@given(
    st.integers(min_value=1, max_value=4),
    st.lists(st.tuples(st.booleans(), st.sampled_from("xyz")), max_size=200),
)
def test_connections_match_a_model(limit: int, ops: list[tuple[bool, str]]) -> None:
    """Counts follow a simple model, never exceed the limit, and idle keys are dropped."""
    conns: ConnectionCounter[str] = ConnectionCounter(limit)
    model: dict[str, int] = {}
    for acquire, key in ops:
        if acquire:
            ok = conns.acquire(key)
            assert ok == (model.get(key, 0) < limit)
            if ok:
                model[key] = model.get(key, 0) + 1
        else:
            conns.release(key)
            model[key] = max(0, model.get(key, 0) - 1)
        assert conns.count(key) == model[key] <= limit
        assert len(conns) == sum(1 for n in model.values() if n)


# --------------------------------------------------------------------------------------------
# KeyedLimiter: the per-conversation (and per-address) message limit


def test_keyed_limiter_keys_do_not_share_tokens() -> None:
    """Each key has its own burst; one key running dry does not touch another."""
    limiter: KeyedLimiter[str] = KeyedLimiter(rate=1.0, burst=2)
    assert limiter.take("a", 0.0) and limiter.take("a", 0.0)
    assert not limiter.take("a", 0.0)
    assert limiter.take("b", 0.0) and limiter.take("b", 0.0)


def test_keyed_limiter_counts_refusals_in_the_window() -> None:
    """Every refusal is a violation; violations older than the window no longer count."""
    limiter: KeyedLimiter[str] = KeyedLimiter(rate=0.001, burst=1, violation_window_s=10.0)
    assert limiter.take("c", 0.0)
    for i in range(3):
        assert not limiter.take("c", float(i))
    limiter.refuse("c", 3.0)
    assert limiter.violations("c", 3.0) == 4
    assert limiter.violations("c", 10.5) == 3  # the one at t=0 left the window
    assert limiter.violations("c", 13.5) == 0
    assert limiter.violations("unknown", 0.0) == 0


def test_keyed_limiter_retry_after_matches_the_bucket() -> None:
    """retry_after is the key's bucket's wait (0 for a key never seen)."""
    limiter: KeyedLimiter[str] = KeyedLimiter(rate=0.5, burst=1)
    assert limiter.retry_after("new", 0.0) == 0.0
    limiter.take("k", 0.0)
    assert limiter.retry_after("k", 0.0) == pytest.approx(2.0)


def test_keyed_limiter_forgets_idle_keys_and_stays_bounded() -> None:
    """Keys idle long enough to be full again are dropped; at most max_keys are ever kept."""
    limiter: KeyedLimiter[int] = KeyedLimiter(
        rate=1.0, burst=5, violation_window_s=5.0, max_keys=100
    )
    for key in range(1000):
        limiter.take(key, 0.0)
        assert len(limiter) <= 100
    limiter.take(-1, limiter.idle_s + 1)
    assert len(limiter) == 1


@given(
    st.floats(min_value=0.01, max_value=10.0, allow_nan=False),
    st.integers(min_value=1, max_value=20),
    st.lists(
        st.tuples(st.integers(0, 3), st.floats(min_value=0.0, max_value=2.0, allow_nan=False)),
        max_size=300,
    ),
)
def test_keyed_limiter_grants_each_key_at_most_burst_plus_rate(
    rate: float, burst: int, steps: list[tuple[int, float]]
) -> None:
    """Per key, granted frames never exceed burst + rate * elapsed, and every refusal is one
    violation (the window is longer than the schedule)."""
    limiter: KeyedLimiter[int] = KeyedLimiter(rate, burst, violation_window_s=1e9)
    now = 0.0
    granted: dict[int, int] = {}
    refused: dict[int, int] = {}
    first: dict[int, float] = {}
    for key, dt in steps:
        now += dt
        first.setdefault(key, now)
        if limiter.take(key, now):
            granted[key] = granted.get(key, 0) + 1
        else:
            refused[key] = refused.get(key, 0) + 1
        assert granted.get(key, 0) <= burst + rate * (now - first[key]) + 1e-6
    for key, count in refused.items():
        assert limiter.violations(key, now) == count


# --------------------------------------------------------------------------------------------
# Edges that mutation testing found unpinned (docs/testing.md)


def test_bad_parameters_are_named_in_the_error() -> None:
    """Each refused parameter is named with its value, so a config error says what to fix."""
    cases = [
        (lambda: TokenBucket(-1.0, 1.0), "rate must be a finite number >= 0, got -1.0"),
        (lambda: TokenBucket(1.0, 0.0), "burst must be a finite number > 0, got 0.0"),
        (lambda: TokenBucket(1.0, 1.0).try_take(0.0, -2.0), "cost must be >= 0, got -2.0"),
        (lambda: WindowCounter(0, 1.0), "limit must be >= 1, got 0"),
        (lambda: WindowCounter(1, 0.0), "window_s must be a finite number > 0, got 0.0"),
        (lambda: WindowCounter(1, 1.0, max_keys=0), "max_keys must be >= 1, got 0"),
        (lambda: ConnectionCounter(0), "limit_per_key must be >= 1, got 0"),
        (
            lambda: KeyedLimiter(1.0, 1.0, violation_window_s=-1.0),
            "violation_window_s must be > 0, got -1.0",
        ),
        (lambda: KeyedLimiter(1.0, 1.0, violation_window_s=0.0), "violation_window_s must be > 0"),
        (lambda: KeyedLimiter(1.0, 1.0, max_keys=0), "max_keys must be >= 1, got 0"),
    ]
    for make, message in cases:
        with pytest.raises(ValueError) as refused:
            make()
        assert message in str(refused.value)


def test_keyed_limiter_accepts_the_smallest_valid_settings() -> None:
    """A sub-second violation window, one key at most and a zero rate are all valid."""
    one = KeyedLimiter(0.0, 2.0, violation_window_s=0.5, max_keys=1)
    assert one.take("a", 0.0) and one.take("a", 0.0) and not one.take("a", 100.0)
    assert one.idle_s == math.inf  # a key that never refills is never forgotten as idle


def test_keyed_limiter_time_and_cost_are_its_callers() -> None:
    """take and retry_after use the given time and cost, not defaults."""
    limiter: KeyedLimiter[str] = KeyedLimiter(1.0, 1.0)
    assert limiter.take("k", 100.0) and not limiter.take("k", 100.0)
    assert limiter.take("k", 101.0)
    big: KeyedLimiter[str] = KeyedLimiter(1.0, 3.0)
    assert big.take("k", 0.0, cost=2.0)
    assert not big.take("k", 0.0, cost=2.0)  # one token left
    assert big.retry_after("k", 0.0, cost=2.0) == pytest.approx(1.0)
    assert big.retry_after("k", 0.0) == 0.0


def test_keyed_limiter_forgets_the_least_recently_used_key() -> None:
    """At max_keys the key unused the longest goes; recently used ones keep their state."""
    limiter: KeyedLimiter[str] = KeyedLimiter(0.001, 1.0, max_keys=2)
    assert limiter.take("a", 0.0) and limiter.take("b", 1.0)
    assert limiter.take("c", 2.0)  # "a" is forgotten
    assert not limiter.take("b", 3.0)  # "b" kept its empty bucket
    assert limiter.take("a", 4.0)  # "a" starts afresh


def test_keyed_limiter_forgets_idle_keys_only() -> None:
    """A key unused for idle_s (burst / rate, at least the violation window) is dropped when
    a new key arrives; a key used within idle_s is kept, in order of last use."""
    limiter: KeyedLimiter[str] = KeyedLimiter(0.5, 4.0, violation_window_s=1.0)
    assert limiter.idle_s == 8.0
    limiter.take("old", 0.0)
    limiter.take("recent", 5.0)
    limiter.take("new", 8.5)  # "old" idle for 8.5 s: forgotten; "recent" for 3.5 s: kept
    assert len(limiter) == 2
    limiter.take("newest", 13.5)  # now "recent" is idle too
    assert len(limiter) == 2
    limiter.take("last", 1000.0)
    assert len(limiter) == 1


def test_keyed_limiter_violations_expire_at_the_window_edge() -> None:
    """A refusal counts for exactly violation_window_s: gone at the edge, not one tick later."""
    limiter: KeyedLimiter[str] = KeyedLimiter(0.001, 1.0, violation_window_s=60.0)
    limiter.take("k", 0.0)
    assert not limiter.take("k", 0.0)
    assert limiter.violations("k", 59.9) == 1
    assert limiter.violations("k", 60.0) == 0


def test_retry_after_is_zero_when_exactly_enough_tokens_are_left() -> None:
    """Exactly the cost in the bucket means now, even for a bucket that never refills."""
    bucket = TokenBucket(0.0, 2.0)
    assert bucket.try_take(0.0)
    assert bucket.retry_after(0.0) == 0.0
    assert bucket.retry_after(0.0, cost=2.0) == math.inf


def test_window_keeps_a_key_whose_clock_stepped_back() -> None:
    """After the clock steps back, a key's latest event is still the latest time it saw, so
    pruning (when a new key arrives) does not forget events still inside the window."""
    window: WindowCounter[str] = WindowCounter(2, 10.0)
    assert window.try_add("a", 10.0) and window.try_add("a", 5.0)
    assert window.try_add("b", 16.5)  # prunes keys whose latest event left the window
    assert not window.try_add("a", 16.5)
