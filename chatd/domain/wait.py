"""Wait estimation: how long the customer at a given queue position will probably wait.

Model: every online agent contributes ``capacity`` chat slots; a busy slot frees up after a
handling time with mean ``h`` (learned from closed chats). With ``c`` slots, all busy, slots free
up at rate ``c / h``. The customer at position ``k`` with ``free`` slots already open needs
``n = k - free`` departures, so their wait is the time to ``n`` events of a Poisson process of rate
``c / h``: an Erlang(n, c/h) variable, with mean ``n * h / c``. The low/high range is its 10th and
90th percentile, widened by the model's own measured error (:data:`MODEL_ERROR`). The
refinements (language pools, abandonment, overtaking) are in :class:`WaitEstimator`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

__all__ = [
    "FLOW_HALF_LIFE_S",
    "MODEL_ERROR",
    "PRIOR_EXPOSURE_S",
    "WaitEstimate",
    "WaitEstimator",
    "erlang_quantile",
]

# Up to this many departures, the Erlang quantile is found exactly (bisection on the CDF, cached
# per shape, well under a millisecond each); above it, the Wilson-Hilferty approximation is
# within 0.01% (measured against the exact one) and costs nothing.
_EXACT_QUANTILE_MAX_SHAPE = 30
_STANDARD_NORMAL = NormalDist()

#: Memory of the queue flows (arrivals per class, abandonment). Ten minutes: a surge doubles the
#: learned arrival rate within minutes, yet at calm-day rates (a few urgent customers an hour)
#: the rate does not jump with every single arrival.
FLOW_HALF_LIFE_S = 600.0
#: Waiting customer-seconds with no abandonment assumed before any data (one customer waiting
#: an hour): the abandonment hazard starts at zero and a first quitter moves it only a little.
PRIOR_EXPOSURE_S = 3600.0
#: The model's own error, as a standard deviation on the log scale: what the Erlang range
#: leaves out (how a surge's abandonment plays out, on-call agents joining, handling times
#: drifting). Measured, not tuned: ``chatd simulate --scenario surge`` gives a median relative
#: error of 0.108 over seeds 1-10, and a normal error with median |x| = 0.108 has
#: sigma = 0.108 / 0.674 = 0.16. Deep in a queue the Erlang range alone is only a few percent
#: wide (hundreds of departures average out), so without this 64% of surge waits fell outside
#: the range customers were shown.
MODEL_ERROR = 0.16


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    """An estimated wait in seconds: the expectation and a 10th-90th percentile range."""

    expected_s: float
    low_s: float
    high_s: float


def _erlang_survival(shape: int, x: float) -> float:
    """Return P(Erlang(shape, rate 1) > x) = P(Poisson(x) < shape), summed in log space."""
    if x <= 0.0:
        return 1.0
    log_x = math.log(x)
    return math.fsum(math.exp(-x + i * log_x - math.lgamma(i + 1)) for i in range(shape))


@lru_cache(maxsize=1024)
def _unit_erlang_quantile(shape: int, p: float) -> float:
    """Return the p-quantile of Erlang(shape, rate 1)."""
    if shape == 1:
        return -math.log1p(-p)  # the exponential distribution, in closed form
    if shape > _EXACT_QUANTILE_MAX_SHAPE:
        z = _STANDARD_NORMAL.inv_cdf(p)
        a = 1.0 / (9.0 * shape)
        return shape * (1.0 - a + z * math.sqrt(a)) ** 3
    low, high = 0.0, shape + 20.0 * math.sqrt(shape) + 20.0
    for _ in range(60):  # bisection: the CDF is monotone; 60 halvings reach double precision
        mid = 0.5 * (low + high)
        if 1.0 - _erlang_survival(shape, mid) < p:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def erlang_quantile(shape: int, rate: float, p: float) -> float:
    """Return the p-quantile of the Erlang distribution (sum of ``shape`` exponentials)."""
    if shape < 1:
        raise ValueError(f"shape must be >= 1, got {shape!r}")
    if not rate > 0.0:
        raise ValueError(f"rate must be > 0, got {rate!r}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p!r}")
    return _unit_erlang_quantile(shape, p) / rate


def _decay(half_life_s: float, elapsed_s: float) -> float:
    """Weight left after ``elapsed_s`` of a half-life decay (clock skew counts as no time)."""
    return 0.5 ** (max(0.0, elapsed_s) / half_life_s)


def _clear_time(
    units: float, rate: float, theta: float, phases: list[tuple[float, float]]
) -> float:
    """Fluid time for ``units`` customers ahead to be served or give up.

    Those ahead leave at ``rate`` (slot departures) plus ``theta`` per customer still ahead
    (abandonment), and ``phases`` -- ``(duration_s, inflow_per_s)`` in order, the last one
    endless with no inflow -- add higher-class arrivals that still rank ahead. Per phase
    ``dx/dt = -(rate - inflow) - theta * x`` has a closed form, so no stepping is needed.
    """
    t, x = 0.0, units
    for duration, inflow in phases:
        if x <= 0.0:
            return t
        net = rate - inflow
        if net > 0.0:
            needed = math.log1p(theta * x / net) / theta if theta > 0.0 else x / net
        else:
            needed = math.inf
        if needed <= duration:
            return t + needed
        if theta > 0.0:
            x = -net / theta + (x + net / theta) * math.exp(-theta * duration)
        else:
            x -= net * duration
        t += duration
    return t


class WaitEstimator:
    """Estimate waits from observed handling times, live capacity and the queue's own flows.

    The base model (module docstring): the customer needs ``n = position - free`` slot
    departures at rate ``slots / h``. Three refinements, each measured in ``chatd simulate``
    (docs/simulate.md has the figures) and each neutral when its input is absent:

    - *Language pool.* The last departure must come from the agents who may take this customer
      (``pool_slots``); those ahead are served by every slot. A Chinese speaker at the head of
      the queue waits for one of the few Chinese-speaking seats, not for any seat.
    - *Abandonment ahead.* Each customer ahead gives up at hazard ``theta``, learned as the
      maximum-likelihood rate of exponential patience: abandonments / customer-seconds spent
      waiting, both time-decayed. In a surge this is most of the gap between "position x h/c"
      and what the patient ones actually wait.
    - *Overtaking.* Higher classes that arrive within their head start rank ahead; their
      arrival rates are learned per class, and ``head_starts`` says for how long each still
      overtakes this customer. A customer any seat can serve is overtaken during its own last
      step too (at the head of the queue it waits ``h / slots / (1 - inflow * h / slots)``);
      one waiting for a few language seats is not, since the overtakers mostly take others.

    Together the people ahead shrink as a fluid (:func:`_clear_time`); the 10th-90th range maps
    the Erlang quantiles of the departure count through the same fluid clock, so it stays
    ordered and monotone in the position. For a customer waiting on a language pool the slow
    pool steps get their own quantiles (its own step and the pool queue ahead, at rate
    ``pool / h``), apart from the general departures ahead.

    ``h`` is a time-decayed mean of recent handling times: each observation's weight halves
    every ``half_life_s`` (measured between observations), so a shift where chats get longer
    (a market crash brings harder cases) shows up within the hour. A prior worth
    ``prior_weight`` observations keeps the first few closed chats from swinging the estimate.
    """

    __slots__ = (
        "_abandons",
        "_arrivals",
        "_exposure_s",
        "_flow_at",
        "_flow_half_life_s",
        "_half_life_s",
        "_last_observed_at",
        "_model_error",
        "_prior_handle_s",
        "_prior_weight",
        "_waiting",
        "_weight",
        "_weighted_sum",
        "high_quantile",
        "low_quantile",
    )

    def __init__(
        self,
        prior_handle_s: float = 300.0,
        *,
        half_life_s: float = 1800.0,
        prior_weight: float = 3.0,
        low_quantile: float = 0.1,
        high_quantile: float = 0.9,
        flow_half_life_s: float = FLOW_HALF_LIFE_S,
        model_error: float = MODEL_ERROR,
    ) -> None:
        """Create an estimator.

        ``prior_handle_s``: the mean handling time assumed before any chat closes (5 minutes
        is typical of crypto-exchange support chats). ``half_life_s``: 30 minutes remembers
        enough closed chats for a stable mean while following a surge. ``prior_weight``: the
        prior counts as 3 observations, so it fades after a handful of real ones.
        ``flow_half_life_s``: memory of the arrival and abandonment rates (see
        :data:`FLOW_HALF_LIFE_S`). ``model_error``: the model's own error, which widens the
        range (see :data:`MODEL_ERROR`; 0 gives the bare queueing model's range).
        """
        if not (math.isfinite(prior_handle_s) and prior_handle_s > 0):
            raise ValueError(f"prior_handle_s must be > 0, got {prior_handle_s!r}")
        for name, value in (("half_life_s", half_life_s), ("flow_half_life_s", flow_half_life_s)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if not (math.isfinite(prior_weight) and prior_weight > 0):
            raise ValueError(f"prior_weight must be > 0, got {prior_weight!r}")
        if not 0.0 < low_quantile < high_quantile < 1.0:
            raise ValueError("quantiles must satisfy 0 < low_quantile < high_quantile < 1")
        if not (math.isfinite(model_error) and model_error >= 0):
            raise ValueError(f"model_error must be >= 0, got {model_error!r}")
        # Per side, the model error's share of the range: its quantile on the log scale.
        self._model_error = (
            -_STANDARD_NORMAL.inv_cdf(low_quantile) * model_error,
            _STANDARD_NORMAL.inv_cdf(high_quantile) * model_error,
        )
        self._prior_handle_s = float(prior_handle_s)
        self._half_life_s = float(half_life_s)
        self._prior_weight = float(prior_weight)
        self.low_quantile = low_quantile
        self.high_quantile = high_quantile
        self._weight = 0.0
        self._weighted_sum = 0.0
        self._last_observed_at: float | None = None
        # Queue flows: decayed arrivals per class, decayed abandonments and decayed
        # customer-seconds of waiting (the exposure the abandonment rate is measured against).
        self._flow_half_life_s = float(flow_half_life_s)
        self._flow_at: float | None = None
        self._waiting = 0
        self._arrivals: dict[str, float] = {}
        self._abandons = 0.0
        self._exposure_s = 0.0

    # -- observations --------------------------------------------------------------------------

    def observe_handling(self, duration_s: float, now: float) -> None:
        """Record that a chat took ``duration_s`` seconds from assignment to close."""
        if not (math.isfinite(duration_s) and duration_s >= 0):
            raise ValueError(f"duration_s must be a finite number >= 0, got {duration_s!r}")
        if self._last_observed_at is not None:
            # Out-of-order reports (several nodes, clock skew) count as simultaneous, not as
            # a negative elapsed time that would inflate the old weights.
            decay = _decay(self._half_life_s, now - self._last_observed_at)
            self._weight *= decay
            self._weighted_sum *= decay
            now = max(now, self._last_observed_at)
        self._last_observed_at = now
        self._weight += 1.0
        self._weighted_sum += duration_s

    def observe_enqueue(self, priority: str, now: float) -> None:
        """Record that a customer of class ``priority`` joined the queue."""
        self._advance_flows(now)
        self._waiting += 1
        self._arrivals[priority] = self._arrivals.get(priority, 0.0) + 1.0

    def observe_dequeue(self, now: float, *, abandoned: bool) -> None:
        """Record that a customer left the queue: taken by an agent, or gave up (``abandoned``).

        A customer who closes the chat or takes a ticket while waiting counts as abandoned:
        either way they stop being ahead of anyone.
        """
        self._advance_flows(now)
        self._waiting = max(0, self._waiting - 1)
        if abandoned:
            self._abandons += 1.0

    def _advance_flows(self, now: float) -> None:
        """Decay the flow counters to ``now`` and add the waiting customer-seconds since."""
        if self._flow_at is None:
            self._flow_at = now
            return
        elapsed = max(0.0, now - self._flow_at)
        if elapsed == 0.0:
            return
        decay = _decay(self._flow_half_life_s, elapsed)
        for priority in self._arrivals:
            self._arrivals[priority] *= decay
        self._abandons *= decay
        # Exact integral of waiting x decay weight over the interval (waiting was constant).
        k = math.log(2.0) / self._flow_half_life_s
        self._exposure_s = self._exposure_s * decay + self._waiting * (1.0 - decay) / k
        self._flow_at = now

    # -- learned figures -----------------------------------------------------------------------

    def mean_handle_s(self) -> float:
        """Return the current mean handling time in seconds (the prior blended with data)."""
        prior = self._prior_weight
        return (prior * self._prior_handle_s + self._weighted_sum) / (prior + self._weight)

    def arrival_rate(self, priority: str, now: float) -> float:
        """Return the recent arrival rate of class ``priority`` (per second)."""
        self._advance_flows(now)
        k = math.log(2.0) / self._flow_half_life_s
        # A decayed count of a Poisson stream of rate r settles at r / k.
        return self._arrivals.get(priority, 0.0) * k

    def abandon_rate(self, now: float) -> float:
        """Return the learned hazard of giving up, per waiting customer per second.

        Abandonments over waiting customer-seconds; :data:`PRIOR_EXPOSURE_S` of waiting with
        no abandonment keeps a couple of early quitters from inventing a stampede.
        """
        self._advance_flows(now)
        return self._abandons / (self._exposure_s + PRIOR_EXPOSURE_S)

    # -- the estimate --------------------------------------------------------------------------

    def estimate(
        self,
        position: int,
        *,
        slots: int,
        free_slots: int,
        now: float,
        pool_slots: int | None = None,
        head_starts: Mapping[str, float] | None = None,
        pool_ahead: int = 0,
        passable_ahead: int = 0,
    ) -> WaitEstimate | None:
        """Estimate the wait at 1-based ``position``; None when ``slots == 0`` (unknown).

        ``slots`` is the total chat capacity of online agents, ``free_slots`` the part of it
        that is not in use *and could serve this customer*. ``pool_slots`` is the capacity of
        the online agents who may serve this customer (default: all ``slots``).
        ``head_starts`` maps each higher class to how many more seconds its new arrivals will
        still rank ahead of this customer (default: nobody overtakes). ``pool_ahead`` counts
        the customers ahead who can only take this customer's pool too (each needs one of those
        seats first); ``passable_ahead`` those ahead whom this customer will pass because they
        wait for seats it does not need.
        """
        if position < 1:
            raise ValueError(f"position must be >= 1, got {position!r}")
        if slots < 0 or free_slots < 0:
            raise ValueError("slots and free_slots must be >= 0")
        if pool_ahead < 0 or passable_ahead < 0 or pool_ahead + passable_ahead >= position:
            raise ValueError("pool_ahead and passable_ahead must be >= 0 and count people ahead")
        if slots == 0:
            return None
        if position <= free_slots:
            return WaitEstimate(0.0, 0.0, 0.0)
        departures = position - min(free_slots, slots)
        handle_s = self.mean_handle_s()
        rate = slots / handle_s
        pool = slots if pool_slots is None else max(1, min(pool_slots, slots))
        theta = self.abandon_rate(now) if self._flow_at is not None else 0.0
        phases = self._phases(head_starts or {}, now)

        def wait_for(units: float) -> float:
            # Everyone ahead but the passable is cleared by any slot (and by giving up); those
            # ahead in this customer's own pool each take one of its seats; then the last
            # departure must come from the pool. ``units`` may be a quantile of the departure
            # count, hence the scaling of the pool queue.
            last = min(1.0, units) * handle_s / pool
            ahead = max(0.0, units - 1.0 - passable_ahead)
            pool_queue = pool_ahead * handle_s / pool * units / departures + last
            if pool >= slots:
                # Any seat will do: overtakers arriving during the last step take departures
                # first too, so that step runs through the same fluid (as one more unit; its
                # share of the abandonment term is negligible beside the overtaking).
                return max(_clear_time(ahead + last * rate, rate, theta, phases), pool_queue)
            # A few language seats: general overtakers are mostly served by the other seats
            # (measured: a zh customer at the head waits h/pool, overtaken or not).
            return max(_clear_time(ahead, rate, theta, phases) + last, pool_queue)

        expected = wait_for(departures)
        if pool >= slots:
            low = wait_for(erlang_quantile(departures, 1.0, self.low_quantile))
            high = wait_for(erlang_quantile(departures, 1.0, self.high_quantile))
        else:
            # A restricted customer's slow steps are the pool departures (rate pool / h), not
            # the fast general ones: each part gets its own Erlang quantile, at the same
            # probability (which errs on the wide side when both matter). Mapping one quantile
            # of the whole departure count instead put a Chinese speaker's 90th percentile at
            # the head near 1.3 h/pool, where an exponential step has it at 2.3 h/pool.
            general = max(0, departures - 1 - passable_ahead)

            def restricted_quantile(p: float) -> float:
                ahead = erlang_quantile(general, 1.0, p) if general else 0.0
                last = erlang_quantile(1, 1.0, p) * handle_s / pool
                pool_queue = erlang_quantile(pool_ahead + 1, 1.0, p) * handle_s / pool
                return max(_clear_time(ahead, rate, theta, phases) + last, pool_queue)

            low = min(expected, restricted_quantile(self.low_quantile))
            high = max(expected, restricted_quantile(self.high_quantile))
        low, high = self._with_model_error(expected, low, high)
        # Whole seconds: customers see minutes at best, and a range that opens below what it
        # says (floor) and closes above it (ceil) never looks more certain than it is.
        return WaitEstimate(float(round(expected)), float(math.floor(low)), float(math.ceil(high)))

    def _with_model_error(self, expected: float, low: float, high: float) -> tuple[float, float]:
        """Widen the queueing range by the model's own error, in quadrature on the log scale.

        Each side's log half-width s becomes sqrt(s^2 + m^2), m the model error's quantile: one
        departure from a seat (an exponential wait, s ~ 0.8-2.3) barely changes, hundreds of
        departures ahead (s ~ 0.05) get about e^-m to e^m times the expectation. sqrt(s^2 + m^2)
        grows with s at slope <= 1, so a later position's high end stays no lower; a low end of 0
        stays 0.
        """
        m_low, m_high = self._model_error
        if expected <= 0.0:
            return low, high
        if low > 0.0 and m_low:
            low = expected * math.exp(-math.hypot(math.log(expected / low), m_low))
        if m_high:
            high = expected * math.exp(math.hypot(math.log(high / expected), m_high))
        return low, high

    def _phases(self, head_starts: Mapping[str, float], now: float) -> list[tuple[float, float]]:
        """Turn head starts into ``(duration, inflow)`` phases ending in an endless calm one."""
        windows = sorted(
            (seconds, self.arrival_rate(priority, now))
            for priority, seconds in head_starts.items()
            if seconds > 0.0
        )
        phases: list[tuple[float, float]] = []
        start = 0.0
        for index, (end, _) in enumerate(windows):
            inflow = sum(rate for _, rate in windows[index:])
            if end > start:
                phases.append((end - start, inflow))
                start = end
        phases.append((math.inf, 0.0))
        return phases
