"""The wait estimator's details that mutation testing found unpinned: its parameter checks and
defaults, the exact edges of its inputs, and figures a customer is shown, to the second."""

from __future__ import annotations

import math

import pytest

from chatd.domain.wait import (
    FLOW_HALF_LIFE_S,
    MODEL_ERROR,
    PRIOR_EXPOSURE_S,
    WaitEstimate,
    WaitEstimator,
    _clear_time,
    erlang_quantile,
)

BARE = {"model_error": 0.0}


# -- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prior_handle_s": 0.0}, "prior_handle_s must be > 0, got 0.0"),
        ({"prior_handle_s": -1.0}, "prior_handle_s must be > 0, got -1.0"),
        ({"prior_handle_s": math.inf}, "prior_handle_s must be > 0, got inf"),
        ({"prior_handle_s": math.nan}, "prior_handle_s must be > 0, got nan"),
        ({"half_life_s": 0.0}, "half_life_s must be > 0, got 0.0"),
        ({"half_life_s": math.inf}, "half_life_s must be > 0, got inf"),
        ({"half_life_s": math.nan}, "half_life_s must be > 0, got nan"),
        ({"flow_half_life_s": 0.0}, "flow_half_life_s must be > 0, got 0.0"),
        ({"flow_half_life_s": math.inf}, "flow_half_life_s must be > 0, got inf"),
        ({"prior_weight": 0.0}, "prior_weight must be > 0, got 0.0"),
        ({"prior_weight": math.inf}, "prior_weight must be > 0, got inf"),
        ({"prior_weight": math.nan}, "prior_weight must be > 0, got nan"),
        ({"low_quantile": 0.0}, "quantiles must satisfy 0 < low_quantile < high_quantile < 1"),
        ({"high_quantile": 1.0}, "quantiles must satisfy 0 < low_quantile < high_quantile < 1"),
        ({"low_quantile": 0.5, "high_quantile": 0.5}, "quantiles must satisfy"),
        ({"model_error": -0.01}, "model_error must be >= 0, got -0.01"),
        ({"model_error": math.inf}, "model_error must be >= 0, got inf"),
        ({"model_error": math.nan}, "model_error must be >= 0, got nan"),
    ],
)
def test_a_bad_setting_is_refused_with_its_name_and_value(
    kwargs: dict[str, float], message: str
) -> None:
    """Each setting out of range raises ValueError naming the setting and the value."""
    with pytest.raises(ValueError) as error:
        WaitEstimator(**kwargs)
    assert str(error.value).startswith(message)


def test_the_smallest_valid_settings_are_accepted() -> None:
    """Any positive handling time, half-life and prior weight, quantiles just inside (0, 1)
    and a model error of zero are valid."""
    estimator = WaitEstimator(
        prior_handle_s=1e-6,
        half_life_s=1e-6,
        prior_weight=1e-6,
        low_quantile=1e-6,
        high_quantile=1.0 - 1e-6,
        flow_half_life_s=1e-6,
        model_error=0.0,
    )
    assert estimator.mean_handle_s() == pytest.approx(1e-6)
    assert (estimator.low_quantile, estimator.high_quantile) == (1e-6, 1.0 - 1e-6)


def test_the_defaults_are_those_documented() -> None:
    """A 300 s prior worth 3 chats, a 30-minute half-life, the 10th-90th percentiles, the
    flows' ten-minute memory and the measured model error."""
    estimator = WaitEstimator()
    assert estimator.mean_handle_s() == 300.0
    assert (estimator.low_quantile, estimator.high_quantile) == (0.1, 0.9)
    estimator.observe_handling(0.0, now=0.0)
    assert estimator.mean_handle_s() == pytest.approx(3 * 300.0 / 4)
    estimator.observe_handling(0.0, now=1800.0)  # the first now weighs 0.5
    assert estimator.mean_handle_s() == pytest.approx(3 * 300.0 / 4.5)
    estimator.observe_enqueue("urgent", now=0.0)
    k = math.log(2.0) / FLOW_HALF_LIFE_S
    assert estimator.arrival_rate("urgent", FLOW_HALF_LIFE_S) == pytest.approx(0.5 * k)
    explicit = WaitEstimator(model_error=MODEL_ERROR)
    assert WaitEstimator().estimate(40, slots=4, free_slots=0, now=0.0) == explicit.estimate(
        40, slots=4, free_slots=0, now=0.0
    )
    assert WaitEstimator().estimate(40, slots=4, free_slots=0, now=0.0) != WaitEstimator(
        **BARE
    ).estimate(40, slots=4, free_slots=0, now=0.0)


@pytest.mark.parametrize(
    ("position", "kwargs", "message"),
    [
        (0, {}, "position must be >= 1, got 0"),
        (1, {"slots": -1}, "slots and free_slots must be >= 0"),
        (1, {"free_slots": -1}, "slots and free_slots must be >= 0"),
        (2, {"pool_ahead": -1}, "pool_ahead and passable_ahead must be >= 0"),
        (2, {"passable_ahead": -1}, "pool_ahead and passable_ahead must be >= 0"),
        (2, {"pool_ahead": 2}, "pool_ahead and passable_ahead must be >= 0"),
        (3, {"pool_ahead": 1, "passable_ahead": 2}, "pool_ahead and passable_ahead"),
    ],
)
def test_impossible_queue_figures_are_refused(
    position: int, kwargs: dict[str, int], message: str
) -> None:
    """A position below 1, negative seats and more people ahead than the position has are
    refused (even with no agent online)."""
    figures = {"slots": 0, "free_slots": 0, **kwargs}
    with pytest.raises(ValueError) as error:
        WaitEstimator().estimate(position, now=0.0, **figures)  # type: ignore[arg-type]
    assert str(error.value).startswith(message)


def test_everyone_ahead_may_be_counted() -> None:
    """``pool_ahead + passable_ahead`` may be the whole ``position - 1`` people ahead."""
    estimate = WaitEstimator(**BARE).estimate(
        3, slots=2, free_slots=0, now=0.0, pool_slots=1, pool_ahead=1, passable_ahead=1
    )
    assert estimate is not None


def test_erlang_quantile_refuses_bad_arguments_by_name() -> None:
    """A shape below 1, a rate that is not positive and p outside (0, 1) are named."""
    for args, message in (
        ((0, 1.0, 0.5), "shape must be >= 1, got 0"),
        ((1, 0.0, 0.5), "rate must be > 0, got 0.0"),
        ((1, math.nan, 0.5), "rate must be > 0, got nan"),
        ((1, 1.0, 0.0), "p must be in (0, 1), got 0.0"),
        ((1, 1.0, 1.0), "p must be in (0, 1), got 1.0"),
    ):
        with pytest.raises(ValueError) as error:
            erlang_quantile(*args)
        assert str(error.value) == message
    assert erlang_quantile(1, 2.0, 0.5) == pytest.approx(math.log(2.0) / 2.0)


def test_prior_exposure_is_an_hour() -> None:
    """One quitter and no waiting yet: the hazard is 1 / 3600 s."""
    estimator = WaitEstimator()
    estimator.observe_dequeue(now=0.0, abandoned=True)
    assert PRIOR_EXPOSURE_S == 3600.0
    assert estimator.abandon_rate(0.0) == pytest.approx(1.0 / 3600.0)


def test_free_seats_cover_exactly_their_positions() -> None:
    """With 2 free seats position 2 waits 0 and position 3 waits for one departure."""
    estimator = WaitEstimator(prior_handle_s=300.0, **BARE)
    assert estimator.estimate(2, slots=3, free_slots=2, now=0.0) == WaitEstimate(0.0, 0.0, 0.0)
    third = estimator.estimate(3, slots=3, free_slots=2, now=0.0)
    assert third is not None and third.expected_s == 100.0


def test_the_abandonment_hazard_counts_the_customer_seconds_actually_waited() -> None:
    """One customer waits ten minutes (a flow half-life) and gives up: the hazard is one
    abandonment over that decayed exposure plus the prior hour, with nobody else counted."""
    estimator = WaitEstimator()
    estimator.observe_enqueue("normal", now=0.0)
    estimator.observe_dequeue(now=FLOW_HALF_LIFE_S, abandoned=True)
    exposure = 0.5 * FLOW_HALF_LIFE_S / math.log(2.0)  # integral of 2^-(age / half-life)
    assert estimator.abandon_rate(FLOW_HALF_LIFE_S) == pytest.approx(
        1.0 / (exposure + PRIOR_EXPOSURE_S)
    )


def test_a_sub_second_expectation_gets_the_model_error_too() -> None:
    """With a mean handling time of 0.868 s the bare 90th percentile is 1.999 s (shown as 2 s);
    the model's own error widens it past 2 s (shown as 3 s)."""
    bare = WaitEstimator(prior_handle_s=0.868, **BARE).estimate(1, slots=1, free_slots=0, now=0)
    widened = WaitEstimator(prior_handle_s=0.868).estimate(1, slots=1, free_slots=0, now=0.0)
    assert bare is not None and widened is not None
    assert (bare.high_s, widened.high_s) == (2.0, 3.0)


def test_even_a_last_second_of_head_start_counts_in_a_surge() -> None:
    """Urgent customers arriving faster than the one seat frees up: one more second in which
    they overtake means that second plus the ones who arrive in it (about 3.5 s in all)."""
    estimator = WaitEstimator(prior_handle_s=300.0)
    for _ in range(10):  # a decayed count of 10: about 0.0116 arrivals a second
        estimator.observe_enqueue("urgent", now=0.0)
    figures = {"slots": 1, "free_slots": 0, "now": 0.0}
    plain = estimator.estimate(1, **figures)  # type: ignore[arg-type]
    overtaken = estimator.estimate(1, head_starts={"urgent": 1.0}, **figures)  # type: ignore[arg-type]
    assert plain is not None and overtaken is not None
    assert 3.0 <= overtaken.expected_s - plain.expected_s <= 4.0


def _surge_estimator() -> WaitEstimator:
    estimator = WaitEstimator(prior_handle_s=300.0)
    for _ in range(10):  # about 0.0116 urgent arrivals a second, no VIP ones
        estimator.observe_enqueue("urgent", now=0.0)
    return estimator


def test_a_class_with_no_arrivals_adds_no_overtaking() -> None:
    """A VIP head start when no VIP customer arrives changes nothing beside the urgent one's:
    the urgent window still ends 900 s from now."""
    estimator = _surge_estimator()
    figures = {"slots": 1, "free_slots": 0, "now": 0.0}
    urgent = estimator.estimate(1, head_starts={"urgent": 900.0}, **figures)  # type: ignore[arg-type]
    both = estimator.estimate(1, head_starts={"urgent": 900.0, "vip": 300.0}, **figures)  # type: ignore[arg-type]
    assert urgent is not None and both == urgent


def test_a_surge_does_not_delay_a_customer_at_the_head_of_a_language_seat() -> None:
    """At the head, a Chinese speaker waits for its one seat (h / 1), even while urgent
    customers arrive faster than all seats free up: they are served by the others."""
    estimator = _surge_estimator()
    pooled = estimator.estimate(
        1, slots=2, free_slots=0, now=0.0, pool_slots=1, head_starts={"urgent": 900.0}
    )
    assert pooled is not None and pooled.expected_s == 300.0


def test_abandonment_ahead_follows_the_fluid_formula() -> None:
    """With hazard theta and departures at rate r, the n ahead clear in ln(1 + theta n / r) /
    theta (1,654 s instead of 3,000 s at the 300th place when a third of the queue gave up)."""
    estimator = WaitEstimator(prior_handle_s=300.0)
    for _ in range(300):
        estimator.observe_enqueue("normal", now=0.0)
    for i in range(100):
        estimator.observe_dequeue(now=6.0 * (i + 1), abandoned=True)
    theta = estimator.abandon_rate(600.0)
    estimate = estimator.estimate(300, slots=30, free_slots=0, now=600.0)
    rate = 30 / 300.0
    assert estimate is not None
    assert estimate.expected_s == round(math.log1p(theta * 300 / rate) / theta) == 1654.0


def test_overtaking_and_abandonment_together_follow_the_fluid() -> None:
    """The closed form per phase matches stepping dx/dt = -(r - inflow) - theta x by hand:
    300 ahead, a third of the queue giving up, urgent customers overtaking for 600 s."""
    estimator = WaitEstimator(prior_handle_s=300.0)
    for _ in range(300):
        estimator.observe_enqueue("normal", now=0.0)
    for i in range(100):
        estimator.observe_dequeue(now=6.0 * (i + 1), abandoned=True)
    for _ in range(43):  # about 0.05 urgent arrivals a second
        estimator.observe_enqueue("urgent", now=600.0)
    theta, inflow = estimator.abandon_rate(600.0), estimator.arrival_rate("urgent", 600.0)
    estimate = estimator.estimate(
        300, slots=30, free_slots=0, now=600.0, head_starts={"urgent": 600.0}
    )
    rate, x, t, dt = 30 / 300.0, 300.0, 0.0, 0.01
    while x > 0.0:
        x -= ((rate - inflow if t < 600.0 else rate) + theta * x) * dt
        t += dt
    assert estimate is not None and abs(estimate.expected_s - t) <= 1.0


def test_a_surge_longer_than_the_seat_follows_the_fluid() -> None:
    """Urgent customers arriving faster than the one seat frees up for 900 s: the customer at
    the head waits those 900 s, then for everyone who got ahead meanwhile."""
    estimator = _surge_estimator()
    inflow, rate = estimator.arrival_rate("urgent", 0.0), 1 / 300.0
    estimate = estimator.estimate(1, slots=1, free_slots=0, now=0.0, head_starts={"urgent": 900.0})
    ahead_after = 1.0 + (inflow - rate) * 900.0
    assert estimate is not None and estimate.expected_s == round(900.0 + ahead_after / rate)


def test_a_language_customer_range_adds_its_general_and_seat_quantiles() -> None:
    """Twelfth in line for 10 seats, one of them its language's, one customer ahead passable:
    10 general departures at 10 / h, then its own seat's one at 1 / h, each at its own 10th and
    90th percentile (h = 300 s, no model error)."""
    estimate = WaitEstimator(prior_handle_s=300.0, **BARE).estimate(
        12, slots=10, free_slots=0, now=0.0, pool_slots=1, passable_ahead=1
    )

    def quantile(p: float) -> float:
        return 30.0 * erlang_quantile(10, 1.0, p) + 300.0 * erlang_quantile(1, 1.0, p)

    assert estimate == WaitEstimate(600.0, math.floor(quantile(0.1)), math.ceil(quantile(0.9)))


def test_a_bad_handling_time_is_refused_with_its_value() -> None:
    """A negative or infinite handling time is refused, naming the value."""
    for bad in (-1.0, math.inf):
        with pytest.raises(ValueError) as error:
            WaitEstimator().observe_handling(bad, now=0.0)
        assert str(error.value) == f"duration_s must be a finite number >= 0, got {bad!r}"


def test_the_flows_are_exact_integrals_of_who_waited() -> None:
    """Arrival counts halve every flow half-life and add up; the exposure is the decayed
    integral of the number waiting, step by step (one from 0 s, two from 1 s); a customer taken
    leaves nobody waiting behind."""
    half, k = FLOW_HALF_LIFE_S, math.log(2.0) / FLOW_HALF_LIFE_S
    estimator = WaitEstimator()
    estimator.observe_enqueue("urgent", now=0.0)
    estimator.observe_enqueue("urgent", now=1.0)
    estimator.observe_enqueue("urgent", now=1.0 + half)

    def integral(a: float, b: float, t: float) -> float:
        return (2.0 ** (-(t - b) / half) - 2.0 ** (-(t - a) / half)) / k

    end = 1.0 + half
    assert estimator.arrival_rate("urgent", end) == pytest.approx(
        (2.0 ** (-end / half) + 0.5 + 1.0) * k
    )
    exposure = integral(0.0, 1.0, end) + 2 * integral(1.0, end, end)
    estimator.observe_dequeue(now=end, abandoned=True)
    assert estimator.abandon_rate(end) == pytest.approx(1.0 / (exposure + PRIOR_EXPOSURE_S))
    taken = WaitEstimator()
    taken.observe_enqueue("normal", now=0.0)
    taken.observe_dequeue(now=0.0, abandoned=True)
    assert taken.abandon_rate(half) == pytest.approx(0.5 / PRIOR_EXPOSURE_S)


def test_arrivals_exactly_as_fast_as_departures_hold_the_queue_still() -> None:
    """While higher-class customers arrive exactly as fast as seats free up (net flow 0.0), the
    people ahead do not move: that phase adds its whole length, with no division by zero."""
    calm = (math.inf, 0.0)
    assert _clear_time(5.0, 1.0, 0.0, [(10.0, 1.0), calm]) == 15.0
    assert _clear_time(5.0, 1.0, 0.1, [(10.0, 1.0), calm]) > 10.0


def test_a_zero_expectation_keeps_its_range() -> None:
    """An expected wait of 0 s (served at once) keeps its range as it is: no model error is
    spread around nothing, and nothing is divided by it."""
    estimator = WaitEstimator(model_error=MODEL_ERROR)
    assert estimator._with_model_error(0.0, 0.0, 0.0) == (0.0, 0.0)
