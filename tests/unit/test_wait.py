"""Tests for the wait estimator and the Erlang quantiles behind its range."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatd.domain.wait import MODEL_ERROR, WaitEstimate, WaitEstimator, erlang_quantile

#: The bare queueing model (its range without the model's own error), for exact figures.
BARE = {"model_error": 0.0}


def erlang_cdf(shape: int, rate: float, x: float) -> float:
    """Independent Erlang CDF: 1 - P(Poisson(rate * x) < shape), in log space."""
    mean = rate * x
    tail = math.fsum(
        math.exp(-mean + i * math.log(mean) - math.lgamma(i + 1)) for i in range(shape)
    )
    return 1.0 - tail


def test_no_slots_means_unknown() -> None:
    """With no agent online (zero slots) the estimate is None."""
    assert WaitEstimator().estimate(1, slots=0, free_slots=0, now=0.0) is None


def test_free_slot_means_about_zero() -> None:
    """A customer at a position covered by free slots waits about zero."""
    estimator = WaitEstimator()
    assert estimator.estimate(2, slots=6, free_slots=2, now=0.0) == WaitEstimate(0.0, 0.0, 0.0)


def test_single_slot_is_exponential() -> None:
    """One busy slot, position 1: mean h, range from the exponential 10th/90th percentiles."""
    estimate = WaitEstimator(prior_handle_s=300.0, **BARE).estimate(
        1, slots=1, free_slots=0, now=0.0
    )
    assert estimate == WaitEstimate(
        300.0, math.floor(-300 * math.log(0.9)), math.ceil(-300 * math.log(0.1))
    )


def test_kth_customer_waits_for_k_minus_free_departures() -> None:
    """Position 10 with 5 busy slots and h=300 s expects 10*300/5 = 600 s."""
    estimate = WaitEstimator(prior_handle_s=300.0, **BARE).estimate(
        10, slots=5, free_slots=0, now=0.0
    )
    # Gamma(10, 1/60 s) percentiles: chi-square(20) 10%/90% = 12.443/28.412, halved, times 60 s.
    assert estimate == WaitEstimate(600.0, 373.0, 853.0)
    with_free = WaitEstimator(prior_handle_s=300.0).estimate(7, slots=5, free_slots=2, now=0.0)
    assert with_free is not None and with_free.expected_s == 300.0


def test_model_error_widens_a_deep_range_and_barely_a_short_one() -> None:
    """Deep in a queue the Erlang range is a few percent wide; the model's own error widens it
    to about +-z x MODEL_ERROR on the log scale. One departure from a seat (an exponential
    wait) keeps nearly its own range. The expectation never moves."""
    z = 1.2815515655446004  # the standard normal's 90th percentile
    bare, told = WaitEstimator(prior_handle_s=360.0, **BARE), WaitEstimator(prior_handle_s=360.0)
    deep_bare = bare.estimate(400, slots=60, free_slots=0, now=0.0)
    deep = told.estimate(400, slots=60, free_slots=0, now=0.0)
    assert deep_bare is not None and deep is not None
    assert deep.expected_s == deep_bare.expected_s == 2400.0
    assert deep_bare.high_s / deep_bare.expected_s < 1.1  # the bare model: within 10%
    assert deep.high_s / deep.expected_s >= math.exp(z * MODEL_ERROR)
    assert deep.low_s / deep.expected_s <= math.exp(-z * MODEL_ERROR)
    head_bare = bare.estimate(1, slots=1, free_slots=0, now=0.0)
    head = told.estimate(1, slots=1, free_slots=0, now=0.0)
    assert head_bare is not None and head is not None
    assert head.expected_s == head_bare.expected_s
    assert head_bare.high_s <= head.high_s <= head_bare.high_s * 1.05
    assert head_bare.low_s * 0.8 <= head.low_s <= head_bare.low_s
    with pytest.raises(ValueError):
        WaitEstimator(model_error=-0.1)


def test_mean_starts_at_prior_and_learns() -> None:
    """The mean starts at the prior, blends in observations, and converges to the data."""
    estimator = WaitEstimator(prior_handle_s=300.0, prior_weight=3.0)
    assert estimator.mean_handle_s() == 300.0
    estimator.observe_handling(120.0, now=0.0)
    assert estimator.mean_handle_s() == pytest.approx((3 * 300 + 120) / 4)
    for i in range(200):
        estimator.observe_handling(120.0, now=float(i))
    # ~200 observations against a prior worth 3: within 3 s of the data.
    assert 120.0 < estimator.mean_handle_s() < 123.0


def test_old_observations_fade() -> None:
    """After many half-lives, the latest handling times dominate the mean."""
    estimator = WaitEstimator(prior_handle_s=300.0, half_life_s=600.0, prior_weight=1.0)
    for _ in range(50):
        estimator.observe_handling(100.0, now=0.0)
    for _ in range(10):
        estimator.observe_handling(500.0, now=6000.0)  # ten half-lives later
    assert estimator.mean_handle_s() == pytest.approx(500.0, rel=0.05)


def test_the_newest_observation_counts_in_full() -> None:
    """A handling time weighs 1 when it is recorded; only the older ones have faded."""
    estimator = WaitEstimator(prior_handle_s=300.0, half_life_s=600.0, prior_weight=1.0)
    estimator.observe_handling(100.0, now=0.0)
    estimator.observe_handling(500.0, now=600.0)  # one half-life later: the first weighs 0.5
    assert estimator.mean_handle_s() == pytest.approx((300 + 0.5 * 100 + 500) / (1 + 0.5 + 1))


@given(st.lists(st.tuples(st.floats(0, 3600), st.floats(0, 3600)), min_size=1, max_size=20))
def test_mean_is_the_decayed_average_of_the_observations(
    history: list[tuple[float, float]],
) -> None:
    """In time order, each handling time weighs 2^-(age / half-life), the newest exactly 1."""
    estimator = WaitEstimator(prior_handle_s=300.0, half_life_s=600.0, prior_weight=3.0)
    now, seen = 0.0, []
    for handled, step in history:
        now += step
        estimator.observe_handling(handled, now=now)
        seen.append((handled, now))
    weights = [2.0 ** (-(now - at) / 600.0) for _, at in seen]
    expected = (3.0 * 300.0 + math.fsum(w * d for w, (d, _) in zip(weights, seen, strict=True))) / (
        3.0 + math.fsum(weights)
    )
    assert estimator.mean_handle_s() == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_out_of_order_observation_does_not_inflate_old_weight() -> None:
    """An observation reported with an earlier time than the last counts as simultaneous."""
    ordered, shuffled = WaitEstimator(), WaitEstimator()
    ordered.observe_handling(100.0, now=50.0)
    ordered.observe_handling(200.0, now=50.0)
    shuffled.observe_handling(100.0, now=50.0)
    shuffled.observe_handling(200.0, now=10.0)
    assert shuffled.mean_handle_s() == pytest.approx(ordered.mean_handle_s())


def test_invalid_inputs_are_rejected() -> None:
    """Bad constructor values, positions and durations raise ValueError."""
    with pytest.raises(ValueError):
        WaitEstimator(prior_handle_s=0.0)
    with pytest.raises(ValueError):
        WaitEstimator(low_quantile=0.9, high_quantile=0.1)
    estimator = WaitEstimator()
    with pytest.raises(ValueError):
        estimator.estimate(0, slots=1, free_slots=0, now=0.0)
    with pytest.raises(ValueError):
        estimator.observe_handling(float("nan"), now=0.0)
    with pytest.raises(ValueError):
        erlang_quantile(0, 1.0, 0.5)


@pytest.mark.parametrize("shape", [1, 2, 5, 10, 30, 31, 100, 400, 2000])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_erlang_quantile_inverts_the_cdf(shape: int, p: float) -> None:
    """The quantile (exact up to 30 departures, Wilson-Hilferty above) inverts the CDF."""
    x = erlang_quantile(shape, 2.0, p)
    assert erlang_cdf(shape, 2.0, x) == pytest.approx(p, abs=1e-4)


@given(
    position=st.integers(1, 500),
    slots=st.integers(1, 60),
    free=st.integers(0, 60),
    handle=st.floats(10.0, 3600.0),
)
def test_estimate_is_ordered_and_monotone(
    position: int, slots: int, free: int, handle: float
) -> None:
    """low <= expected <= high, and a later position never gets a shorter estimate."""
    free = min(free, slots)
    estimator = WaitEstimator(prior_handle_s=handle)
    here = estimator.estimate(position, slots=slots, free_slots=free, now=0.0)
    behind = estimator.estimate(position + 1, slots=slots, free_slots=free, now=0.0)
    assert here is not None and behind is not None
    assert 0.0 <= here.low_s <= here.expected_s <= here.high_s
    assert behind.expected_s >= here.expected_s
    assert behind.high_s >= here.high_s


def test_small_language_pool_makes_the_last_step_slower() -> None:
    """At the head, a customer only 3 of 30 slots can serve waits h/3, not h/30."""
    estimator = WaitEstimator(prior_handle_s=300.0)
    general = estimator.estimate(1, slots=30, free_slots=0, now=0.0)
    pooled = estimator.estimate(1, slots=30, free_slots=0, now=0.0, pool_slots=3)
    assert general is not None and general.expected_s == 10.0
    assert pooled is not None and pooled.expected_s == 100.0


def test_customers_ahead_in_the_same_pool_or_passable() -> None:
    """Same-pool customers ahead each need a pool seat; passable ones do not delay."""
    estimator = WaitEstimator(prior_handle_s=300.0)
    queued = estimator.estimate(3, slots=30, free_slots=0, now=0.0, pool_slots=3, pool_ahead=2)
    assert queued is not None and queued.expected_s == 300.0  # two pool seats, then our own
    passing = estimator.estimate(5, slots=30, free_slots=0, now=0.0, passable_ahead=4)
    assert passing is not None and passing.expected_s == 10.0
    with pytest.raises(ValueError):
        estimator.estimate(2, slots=30, free_slots=0, now=0.0, pool_ahead=1, passable_ahead=1)


def test_restricted_range_comes_from_the_pool_steps() -> None:
    """A customer waiting for one of 15 of 60 seats at the head: an exponential step of h/15.

    Its 10th-90th range is that exponential's (0.105 and 2.303 times h/15), not the narrow
    one a single fast departure count would give; with a same-pool customer ahead it is the
    Erlang(2) range of two pool steps.
    """
    estimator = WaitEstimator(prior_handle_s=360.0, **BARE)
    head = estimator.estimate(1, slots=60, free_slots=0, now=0.0, pool_slots=15)
    assert head is not None and head.expected_s == 24.0
    assert head.low_s == math.floor(-math.log(0.9) * 24.0)
    assert head.high_s == math.ceil(-math.log(0.1) * 24.0)
    second = estimator.estimate(2, slots=60, free_slots=0, now=0.0, pool_slots=15, pool_ahead=1)
    assert second is not None and second.expected_s == 48.0
    assert second.high_s == math.ceil(erlang_quantile(2, 1.0, 0.9) * 24.0)
    assert second.low_s == math.floor(erlang_quantile(2, 1.0, 0.1) * 24.0)


@given(
    position=st.integers(1, 60),
    pool_ahead=st.integers(0, 59),
    passable=st.integers(0, 59),
    slots=st.integers(2, 60),
    pool=st.integers(1, 59),
    head_start=st.floats(0.0, 900.0),
)
def test_restricted_range_is_ordered_and_monotone(
    position: int, pool_ahead: int, passable: int, slots: int, pool: int, head_start: float
) -> None:
    """For a restricted customer: low <= expected <= high, and one more person ahead (in the
    pool or not) never shortens the range's ends."""
    pool_ahead = min(pool_ahead, position - 1)
    passable = min(passable, position - 1 - pool_ahead)
    estimator = WaitEstimator(prior_handle_s=300.0)
    for _ in range(20):
        estimator.observe_enqueue("urgent", now=0.0)

    def at(position: int, pool_ahead: int, passable: int) -> WaitEstimate:
        estimate = estimator.estimate(
            position,
            slots=slots,
            free_slots=0,
            now=60.0,
            pool_slots=min(pool, slots - 1),
            head_starts={"urgent": head_start},
            pool_ahead=pool_ahead,
            passable_ahead=passable,
        )
        assert estimate is not None
        return estimate

    here = at(position, pool_ahead, passable)
    assert 0.0 <= here.low_s <= here.expected_s <= here.high_s
    # The one more person ahead is in the same pool, passable, or an ordinary customer.
    for more_pool, more_passable in ((1, 0), (0, 1), (0, 0)):
        behind = at(position + 1, pool_ahead + more_pool, passable + more_passable)
        assert behind.expected_s >= here.expected_s
        assert behind.low_s >= here.low_s and behind.high_s >= here.high_s


def test_learned_abandonment_shortens_a_deep_wait() -> None:
    """When customers ahead give up, a deep position moves up faster than departures alone."""
    estimator = WaitEstimator(prior_handle_s=300.0)
    calm = estimator.estimate(300, slots=30, free_slots=0, now=0.0)
    for _ in range(300):
        estimator.observe_enqueue("normal", now=0.0)
    for i in range(100):  # a third give up within ten minutes
        estimator.observe_dequeue(now=6.0 * (i + 1), abandoned=True)
    assert estimator.abandon_rate(600.0) > 0.0
    impatient = estimator.estimate(300, slots=30, free_slots=0, now=600.0)
    assert calm is not None and impatient is not None
    assert impatient.expected_s < 0.8 * calm.expected_s


def test_higher_class_arrivals_overtake_and_lengthen_the_wait() -> None:
    """Urgent arrivals within their head start rank ahead, so a normal customer waits longer."""
    estimator = WaitEstimator(prior_handle_s=300.0)
    for i in range(60):
        estimator.observe_enqueue("urgent", now=float(i * 10))
    plain = estimator.estimate(20, slots=30, free_slots=0, now=600.0)
    overtaken = estimator.estimate(
        20, slots=30, free_slots=0, now=600.0, head_starts={"urgent": 600.0}
    )
    assert plain is not None and overtaken is not None
    assert overtaken.expected_s > plain.expected_s
    # Overtakers stop once the head start has run out: the wait stays finite.
    assert math.isfinite(overtaken.high_s)


def test_overtakers_also_delay_the_last_step_of_an_unrestricted_customer() -> None:
    """At the head, a customer any seat can serve is still passed by higher-class arrivals.

    Urgent customers arriving at a sixth of the departure rate within the head start each take
    a departure first: the head waits h/slots / (1 - 1/6), not h/slots. A customer who waits for
    a few language seats is not slowed that way (general overtakers are mostly served by the
    other seats), so its last step stays h/pool.
    """
    estimator = WaitEstimator(prior_handle_s=300.0)
    for i in range(61):  # one urgent arrival every 60 s: a decayed count settling at 1/60 s
        estimator.observe_enqueue("urgent", now=60.0 * i)
    rate = estimator.arrival_rate("urgent", 3600.0)
    head = {"urgent": 600.0}
    plain = estimator.estimate(1, slots=30, free_slots=0, now=3600.0)
    overtaken = estimator.estimate(1, slots=30, free_slots=0, now=3600.0, head_starts=head)
    assert plain is not None and overtaken is not None and plain.expected_s == 10.0
    assert overtaken.expected_s == round(10.0 / (1.0 - rate * 10.0))
    pooled = estimator.estimate(
        1, slots=30, free_slots=0, now=3600.0, pool_slots=3, head_starts=head
    )
    assert pooled is not None and pooled.expected_s == 100.0


@given(
    position=st.integers(1, 400),
    slots=st.integers(1, 60),
    pool=st.integers(1, 60),
    abandons=st.integers(0, 50),
    urgent=st.integers(0, 50),
    head_start=st.floats(0.0, 900.0),
)
def test_refined_estimate_is_ordered_and_monotone(
    position: int, slots: int, pool: int, abandons: int, urgent: int, head_start: float
) -> None:
    """With abandonment, overtaking and a pool, low <= expected <= high and later is longer."""
    estimator = WaitEstimator(prior_handle_s=300.0)
    for _ in range(abandons + 5):
        estimator.observe_enqueue("normal", now=0.0)
    for _ in range(urgent):
        estimator.observe_enqueue("urgent", now=0.0)
    for i in range(abandons):
        estimator.observe_dequeue(now=float(i), abandoned=True)
    kwargs = {"pool_slots": pool, "head_starts": {"urgent": head_start}}
    here = estimator.estimate(position, slots=slots, free_slots=0, now=100.0, **kwargs)
    behind = estimator.estimate(position + 1, slots=slots, free_slots=0, now=100.0, **kwargs)
    assert here is not None and behind is not None
    assert 0.0 <= here.low_s <= here.expected_s <= here.high_s
    assert behind.expected_s >= here.expected_s
    assert behind.high_s >= here.high_s
