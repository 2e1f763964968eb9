"""``chatd simulate --validate erlang-c``: the simulator against the M/M/c formula.

With Poisson arrivals, exponential handling, one chat per agent and nobody abandoning, the
Dispatcher is an M/M/c queue, and its mean wait must match Erlang C (``chatd.domain.erlang``).
This checks the engine and the real queue and routing code together: a lost event, a slot
counted twice or a customer served out of turn would show up as a gap.

The mean wait of a queue is a noisy statistic (waits are strongly correlated from one customer
to the next: single 40k-customer runs land anywhere within +-15%), so the check pools several
independent seeds run side by side on the available cores, and reports its own precision as a
batch-means 95% interval (one batch per 20k customers).
"""

from __future__ import annotations

import os
import statistics
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from chatd.domain.erlang import erlang_c_mean_wait
from chatd.sim.engine import simulate
from chatd.sim.scenario import ERLANG_C_CUSTOMERS, ERLANG_C_RUNS, erlang_c_check

__all__ = ["BATCH_CUSTOMERS", "validate_erlang_c"]

#: Customers per batch of the batch-means interval: at load 0.8 on 5 servers the waits forget
#: each other within a few thousand customers, so 20k-customer batch means are nearly independent.
BATCH_CUSTOMERS = 20_000
_T_975 = 2.02  # Student t, 97.5th percentile, ~40 degrees of freedom (close enough for 20-60)


def _waits(seed: int, customers: int) -> list[float]:
    """Waits of the measured customers of one M/M/c run (a process-pool worker)."""
    result = simulate(erlang_c_check(customers), seed)
    return [r.wait_s for r in result.customers if r.measured and r.wait_s is not None]


def validate_erlang_c(
    seed: int,
    customers: int = ERLANG_C_CUSTOMERS,
    *,
    runs: int = ERLANG_C_RUNS,
    workers: int | None = None,
) -> dict[str, Any]:
    """Run the M/M/c scenario ``runs`` times (seeds ``seed``, ``seed + 1``, ...), pool the waits
    of ``customers`` customers in all, and compare their mean with Erlang C.

    Deterministic for a given seed, whatever the number of ``workers`` (default: one per core,
    at most ``runs``).
    """
    scenario = erlang_c_check(customers)
    seeds = [seed + i for i in range(runs)]
    per_run = customers // runs
    workers = min(runs, workers if workers is not None else os.cpu_count() or 1)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            runs_waits = list(pool.map(_waits, seeds, [per_run] * runs))
    else:
        runs_waits = [_waits(s, per_run) for s in seeds]
    servers = len(scenario.agents)
    arrival_rate = scenario.arrivals.base_per_s
    service_rate = 1.0 / scenario.handling.mean_s
    expected = erlang_c_mean_wait(servers, arrival_rate, service_rate)
    waits = [wait for run in runs_waits for wait in run]
    simulated = statistics.fmean(waits)
    batch_means = [
        statistics.fmean(run[i : i + BATCH_CUSTOMERS])
        for run in runs_waits
        for i in range(0, len(run) - BATCH_CUSTOMERS + 1, BATCH_CUSTOMERS)
    ]
    half_width = _T_975 * statistics.stdev(batch_means) / len(batch_means) ** 0.5
    return {
        "validate": "erlang-c",
        "seed": seed,
        "customers": per_run * runs,
        "runs": runs,
        "measured_customers": len(waits),
        "servers": servers,
        "load": round(arrival_rate / (servers * service_rate), 4),
        "mean_handle_s": scenario.handling.mean_s,
        "erlang_c_mean_wait_s": round(expected, 3),
        "simulated_mean_wait_s": round(simulated, 3),
        "relative_error": round((simulated - expected) / expected, 4),
        "ci95_relative": round(half_width / expected, 4),
        "within_5_percent": abs(simulated - expected) <= 0.05 * expected,
    }
