"""Turn a raw :class:`~chatd.sim.engine.SimResult` into the figures ``chatd simulate`` prints.

Definitions (the ones ``docs/simulate.md`` and ``BENCHMARKS.md`` quote):

- waits are from joining the queue to an agent, over *served* customers who arrived after the
  warm-up; abandonment is the share of measured customers who left before an agent took them;
- ``ewt_mape`` is the median of ``|estimate - actual| / actual`` over served customers who waited
  at least :data:`EWT_MIN_WAIT_S`, with the estimate shown when they joined; the baselines use the
  same customers and the same learned mean handling time;
- fairness is over chats per online hour (agents on different shifts are compared per hour);
- the starvation bound of a class is the ageing guarantee of the fair queue: it can be overtaken
  only by higher classes that joined less than their head start after it, so its longest wait is
  at most that head-start gap plus the longest wait of the top class, plus one handling time
  for the slot to free.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chatd.domain.queue import PRIORITIES
from chatd.sim.engine import CustomerRecord, SimResult

__all__ = ["EWT_MIN_WAIT_S", "gini", "percentile", "summarise", "wait_stats"]

#: Customers served within 30 s are left out of the estimate's error: the relative error of a
#: near-zero wait is meaningless, and "about now" is what they are told anyway.
EWT_MIN_WAIT_S = 30.0


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (q in [0, 100]) of an already sorted sequence."""
    if not sorted_values:
        return math.nan
    rank = (len(sorted_values) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def gini(values: Iterable[float]) -> float:
    """Gini coefficient of non-negative values: 0 perfectly even, near 1 all to one."""
    ordered = sorted(values)
    total = sum(ordered)
    n = len(ordered)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((2 * i - n + 1) * value for i, value in enumerate(ordered))
    return weighted / (n * total)


def wait_stats(waits: Iterable[float]) -> dict[str, float | int]:
    """Mean, p50, p90, p99 and max of waits (seconds), rounded to 0.1 s."""
    ordered = sorted(waits)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "mean_s": round(statistics.fmean(ordered), 1),
        "p50_s": round(percentile(ordered, 50), 1),
        "p90_s": round(percentile(ordered, 90), 1),
        "p99_s": round(percentile(ordered, 99), 1),
        "max_s": round(ordered[-1], 1),
    }


def _relative_errors(records: Sequence[CustomerRecord], attribute: str) -> list[float]:
    errors = []
    for record in records:
        predicted = getattr(record, attribute)
        wait = record.wait_s
        if predicted is None or wait is None:
            continue
        errors.append(abs(predicted - wait) / wait)
    return errors


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def _estimate_figures(records: Sequence[CustomerRecord]) -> dict[str, Any]:
    judged = [
        r
        for r in records
        if r.wait_s is not None and r.wait_s >= EWT_MIN_WAIT_S and r.estimate_s is not None
    ]
    signed = [(r.estimate_s - r.wait_s) / r.wait_s for r in judged]  # type: ignore[operator]
    in_range = [r.low_s <= r.wait_s <= r.high_s for r in judged]  # type: ignore[operator]
    return {
        "ewt_mape": _median(_relative_errors(judged, "estimate_s")),
        "naive_ewt_mape": _median(_relative_errors(judged, "naive_s")),
        "rocketchat_ewt_mape": _median(_relative_errors(judged, "rocketchat_s")),
        "ewt_samples": len(judged),
        "ewt_median_signed_error": _median(signed),
        "ewt_in_range_share": round(sum(in_range) / len(in_range), 4) if in_range else None,
    }


def _fairness(result: SimResult) -> dict[str, Any]:
    per_hour = [
        result.chats_by_agent.get(agent_id, 0) / (online_s / 3600.0)
        for agent_id, online_s in result.online_s_by_agent.items()
        if online_s > 0
    ]
    low, high = (min(per_hour), max(per_hour)) if per_hour else (0.0, 0.0)
    return {
        "agents": len(result.chats_by_agent),
        "chats_per_agent_min": min(result.chats_by_agent.values(), default=0),
        "chats_per_agent_max": max(result.chats_by_agent.values(), default=0),
        "chats_per_hour_min": round(low, 2),
        "chats_per_hour_max": round(high, 2),
        "max_min_ratio": round(high / low, 3) if low > 0 else None,
        "gini": round(gini(per_hour), 4),
        "idle_while_waiting": result.idle_while_waiting,
        "over_capacity": result.over_capacity,
        "ok": result.idle_while_waiting == 0 and result.over_capacity == 0,
    }


def _starvation(
    max_wait: Mapping[str, float], boosts: Mapping[str, float], handle_s: float
) -> dict[str, Any]:
    top = max_wait.get(PRIORITIES[0], 0.0)
    top_boost = boosts[PRIORITIES[0]]
    bounds = {
        priority: round(top_boost - boosts[priority] + top + handle_s, 1)
        for priority in PRIORITIES
        if priority in max_wait
    }
    return {
        "max_wait_s": {p: round(w, 1) for p, w in max_wait.items()},
        "bound_s": bounds,
        "ok": all(max_wait[p] <= bounds[p] for p in bounds),
    }


def _queue_figures(result: SimResult) -> dict[str, Any]:
    samples = result.queue_samples
    if not samples:
        return {}
    lengths = [length for _, length in samples]
    peak_at, peak = max(samples, key=lambda sample: sample[1])
    return {
        "max_length": peak,
        "max_length_at_s": round(peak_at),
        "mean_length": round(statistics.fmean(lengths), 2),
    }


def _surge_figures(result: SimResult, measured: Sequence[CustomerRecord]) -> dict[str, Any]:
    arrivals = result.scenario.arrivals
    start, end = arrivals.surge_start_s, arrivals.surge_end_s
    if start is None or end is None:
        return {}
    phases: dict[str, list[float]] = {"before": [], "during": [], "after_1h": [], "after_2h": []}
    for record in measured:
        wait = record.wait_s
        if wait is None:
            continue
        t = record.arrived_at
        if t < start:
            phases["before"].append(wait)
        elif t < end:
            phases["during"].append(wait)
        elif end + 3600.0 <= t < end + 7200.0:
            phases["after_1h"].append(wait)
        elif t >= end + 7200.0:
            phases["after_2h"].append(wait)
    # Recovered: the first sample after the surge peak at which the queue is back to its
    # pre-surge level (at most what it was at any sample before the surge began).
    before = [length for t, length in result.queue_samples if t < start]
    calm = max(before, default=0)
    peak_at = max(result.queue_samples, key=lambda sample: sample[1], default=(end, 0))[0]
    recovered = next(
        (t for t, length in result.queue_samples if t > peak_at and length <= calm), None
    )
    return {
        "mean_wait_s_by_phase": {
            phase: round(statistics.fmean(waits), 1) if waits else None
            for phase, waits in phases.items()
        },
        "queue_recovered_after_surge_s": None if recovered is None else round(recovered - end),
    }


def _language_figures(measured: Sequence[CustomerRecord]) -> dict[str, Any]:
    """Waits, abandonment and the estimate's error per customer language (its own pool)."""
    out: dict[str, Any] = {}
    for language in sorted({r.locale for r in measured}):
        of_language = [r for r in measured if r.locale == language]
        served = [r for r in of_language if r.wait_s is not None]
        gone = sum(1 for r in of_language if r.abandoned_at is not None)
        out[language] = {
            "waits": wait_stats(r.wait_s for r in served),  # type: ignore[misc]
            "abandonment_rate": round(gone / len(of_language), 4),
            "ewt_mape": _estimate_figures(served).get("ewt_mape"),
        }
    return out


def summarise(result: SimResult, boosts: Mapping[str, float]) -> dict[str, Any]:
    """Return the run's figures as a JSON-ready dict (deterministic for a given seed)."""
    scenario = result.scenario
    measured = [record for record in result.customers if record.measured]
    served = [record for record in measured if record.wait_s is not None]
    abandoned = [record for record in measured if record.abandoned_at is not None]
    waits_by_class: dict[str, Any] = {"overall": wait_stats(r.wait_s for r in served)}  # type: ignore[misc]
    max_wait: dict[str, float] = {}
    abandonment_by_class: dict[str, float] = {}
    for priority in PRIORITIES:
        in_class = [r for r in measured if r.priority == priority]
        waits = [r.wait_s for r in in_class if r.wait_s is not None]
        if not in_class:
            continue
        waits_by_class[priority] = wait_stats(waits)
        max_wait[priority] = max(waits, default=0.0)
        gone = sum(1 for r in in_class if r.abandoned_at is not None)
        abandonment_by_class[priority] = round(gone / len(in_class), 4)
    figures: dict[str, Any] = {
        "scenario": scenario.name,
        "seed": result.seed,
        "customers": len(result.customers),
        "measured_customers": len(measured),
        "simulated_hours": round(result.end_s / 3600.0, 2),
        "served": len(served),
        "abandoned": len(abandoned),
        "abandonment_rate": round(len(abandoned) / len(measured), 4) if measured else None,
        "abandonment_by_class": abandonment_by_class,
        "waits": waits_by_class,
        "utilisation": round(result.busy_slot_s / result.online_slot_s, 4)
        if result.online_slot_s
        else None,
    }
    figures.update(_estimate_figures(served))
    if len(scenario.language_mix) > 1:
        figures["languages"] = _language_figures(measured)
    figures["fairness"] = _fairness(result)
    figures["starvation"] = _starvation(max_wait, boosts, scenario.handling.mean_s)
    figures["queue"] = _queue_figures(result)
    surge = _surge_figures(result, measured)
    if surge:
        figures["surge"] = surge
    return figures
