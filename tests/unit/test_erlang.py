"""Tests for the Erlang B/C formulas against known values and the textbook closed form."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatd.domain.erlang import erlang_b, erlang_c, erlang_c_mean_wait, erlang_c_wait_exceeds


def textbook_erlang_c(c: int, offered: float) -> float:
    """The closed form with factorials; fine for small c, overflows for large c."""
    rho = offered / c
    top = offered**c / math.factorial(c) / (1 - rho)
    bottom = sum(offered**k / math.factorial(k) for k in range(c)) + top
    return top / bottom


@pytest.mark.parametrize(
    ("c", "arrival", "service", "expected"),
    [
        (1, 0.5, 1.0, 0.5),  # M/M/1: P(wait) = rho
        (2, 1.0, 1.0, 1 / 3),
        (5, 4.0, 1.0, 0.5541125541),  # issue 7's validation case: c = 5, load 0.8
        (11, 10.0, 1.0, 0.6821182),  # the classic 10-Erlang, 11-agent call-centre table value
        (10, 8.0, 1.0, 0.4092),  # tables: 8 Erlangs on 10 agents
    ],
)
def test_erlang_c_known_values(c: int, arrival: float, service: float, expected: float) -> None:
    """Erlang C matches published values."""
    assert erlang_c(c, arrival, service) == pytest.approx(expected, abs=1e-4)


def test_mean_wait_mm1_and_mmc() -> None:
    """Mean wait: M/M/1 gives rho/(mu - lambda); c = 5, load 0.8, mean service 300 s gives 166 s."""
    assert erlang_c_mean_wait(1, 0.5, 1.0) == pytest.approx(0.5 / 0.5)
    # 5 agents, 300 s handling, 0.8 load: lambda = 4/300 per s; Wq = C / (5/300 - 4/300).
    assert erlang_c_mean_wait(5, 4 / 300, 1 / 300) == pytest.approx(0.5541125541 * 300)


def test_unstable_queue() -> None:
    """At or above full load everyone waits and the mean wait is infinite."""
    assert erlang_c(3, 3.0, 1.0) == 1.0
    assert erlang_c_mean_wait(3, 4.0, 1.0) == math.inf
    assert erlang_c_wait_exceeds(3, 4.0, 1.0, 10.0) == 1.0


def test_large_systems_are_stable() -> None:
    """Thousands of servers work (the factorial form would overflow) and stay in [0, 1]."""
    probability = erlang_c(2000, 1950.0, 1.0)
    assert 0.0 < probability < 1.0
    assert erlang_b(5000, 4000.0) < 1e-10


def test_service_level() -> None:
    """P(wait > t) decays exponentially from P(wait) at t = 0."""
    assert erlang_c_wait_exceeds(5, 4.0, 1.0, 0.0) == pytest.approx(erlang_c(5, 4.0, 1.0))
    assert erlang_c_wait_exceeds(5, 4.0, 1.0, 2.0) == pytest.approx(0.5541125541 * math.exp(-2))
    assert erlang_c_wait_exceeds(5, 4.0, 1.0, -1.0) == 1.0


def test_erlang_b_known_values() -> None:
    """Erlang B: 1 server gives a/(1+a); zero load never blocks."""
    assert erlang_b(1, 2.0) == pytest.approx(2 / 3)
    assert erlang_b(3, 0.0) == 0.0
    assert erlang_b(0, 5.0) == 1.0


@pytest.mark.parametrize(
    "args", [(0, 1.0, 1.0), (2, -1.0, 1.0), (2, 1.0, 0.0), (2, math.nan, 1.0), (True, 1.0, 1.0)]
)
def test_invalid_arguments(args: tuple[int, float, float]) -> None:
    """Non-positive server counts or rates, and NaN, raise ValueError."""
    with pytest.raises(ValueError):
        erlang_c(*args)


@given(c=st.integers(1, 60), rho=st.floats(0.01, 0.99))
def test_matches_the_textbook_closed_form(c: int, rho: float) -> None:
    """The stable recursion agrees with the factorial formula wherever that one is usable."""
    offered = rho * c
    assert erlang_c(c, offered, 1.0) == pytest.approx(textbook_erlang_c(c, offered), rel=1e-9)


def test_bad_inputs_are_named_with_their_value() -> None:
    """Each refused input names itself and its value; infinities are refused, not accepted as
    "non-negative"; a zero arrival rate and zero load are valid."""
    for call, message in [
        (lambda: erlang_c(0, 1.0, 1.0), "c must be an integer >= 1, got 0"),
        (lambda: erlang_c(1, -1.0, 1.0), "arrival_rate must be a finite number >= 0, got -1.0"),
        (lambda: erlang_c(1, math.inf, 1.0), "arrival_rate must be a finite number >= 0, got inf"),
        (lambda: erlang_c(1, 1.0, 0.0), "service_rate must be a finite number > 0, got 0.0"),
        (lambda: erlang_b(-1, 1.0), "c must be an integer >= 0, got -1"),
        (lambda: erlang_b(1.5, 1.0), "c must be an integer >= 0, got 1.5"),  # type: ignore[arg-type]
        (lambda: erlang_b(1, math.inf), "offered_load must be a finite number >= 0, got inf"),
    ]:
        with pytest.raises(ValueError) as refused:
            call()
        assert str(refused.value) == message
    assert erlang_c(2, 0.0, 1.0) == 0.0
    assert erlang_b(0, 0.0) == 1.0


def test_exactly_saturated_queue_waits_forever() -> None:
    """arrival_rate == c * service_rate has no spare capacity: infinite mean wait, and every
    customer waits longer than any t."""
    assert erlang_c_mean_wait(2, 1.0, 0.5) == math.inf
    assert erlang_c_wait_exceeds(2, 1.0, 0.5, 1000.0) == 1.0


def test_wait_tail_uses_the_spare_capacity() -> None:
    """P(wait > t) = C * exp(-(c * mu - lambda) * t), here with c * mu != c / mu."""
    c, lam, mu, t = 3, 2.0, 2.0, 0.7
    expected = erlang_c(c, lam, mu) * math.exp(-(c * mu - lam) * t)
    assert erlang_c_wait_exceeds(c, lam, mu, t) == pytest.approx(expected)


def test_at_exact_saturation_everyone_waits_whatever_the_rounding() -> None:
    """With exactly as much capacity as load (c x service rate == arrival rate), P(wait > t) is
    1.0, also where rounding makes the load look a hair under 1 (57 x 0.3655... here)."""
    c, service_rate = 57, 0.3655196584571474
    arrival_rate = c * service_rate
    assert c * service_rate - arrival_rate == 0.0
    assert erlang_c_wait_exceeds(c, arrival_rate, service_rate, 10.0) == 1.0
