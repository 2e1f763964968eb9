"""Erlang C: waiting probability and mean wait of an M/M/c queue, the simulator's yardstick.

With Poisson arrivals at ``arrival_rate``, ``c`` servers and exponential service at
``service_rate`` per server, the offered load is ``a = arrival_rate / service_rate`` (Erlangs)
and the utilisation ``rho = a / c``. The textbook formula uses ``a**c / c!``, which overflows
long before call-centre sizes; we use the Erlang B recursion instead::

    B(0) = 1,   B(k) = a * B(k-1) / (k + a * B(k-1))
    C = B(c) / (1 - rho * (1 - B(c)))

Every step stays within [0, 1], so it is stable for any ``c``.
"""

from __future__ import annotations

import math

__all__ = [
    "erlang_b",
    "erlang_c",
    "erlang_c_mean_wait",
    "erlang_c_wait_exceeds",
]


def _check(c: int, arrival_rate: float, service_rate: float) -> None:
    if isinstance(c, bool) or not isinstance(c, int) or c < 1:
        raise ValueError(f"c must be an integer >= 1, got {c!r}")
    if not (math.isfinite(arrival_rate) and arrival_rate >= 0):
        raise ValueError(f"arrival_rate must be a finite number >= 0, got {arrival_rate!r}")
    if not (math.isfinite(service_rate) and service_rate > 0):
        raise ValueError(f"service_rate must be a finite number > 0, got {service_rate!r}")


def erlang_b(c: int, offered_load: float) -> float:
    """Return the Erlang B blocking probability for ``c`` servers and ``offered_load`` Erlangs."""
    if isinstance(c, bool) or not isinstance(c, int) or c < 0:
        raise ValueError(f"c must be an integer >= 0, got {c!r}")
    if not (math.isfinite(offered_load) and offered_load >= 0):
        raise ValueError(f"offered_load must be a finite number >= 0, got {offered_load!r}")
    blocking = 1.0
    for k in range(1, c + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return blocking


def erlang_c(c: int, arrival_rate: float, service_rate: float) -> float:
    """Return the probability that an arriving customer has to wait in an M/M/c queue.

    An unstable queue (``arrival_rate >= c * service_rate``) returns 1.0: everyone waits.
    """
    _check(c, arrival_rate, service_rate)
    offered = arrival_rate / service_rate
    rho = offered / c
    if rho >= 1.0:
        return 1.0
    blocking = erlang_b(c, offered)
    return blocking / (1.0 - rho * (1.0 - blocking))


def erlang_c_mean_wait(c: int, arrival_rate: float, service_rate: float) -> float:
    """Return the mean time in queue (before service) of an M/M/c queue, in time units.

    ``C / (c * service_rate - arrival_rate)``; ``math.inf`` for an unstable queue.
    """
    _check(c, arrival_rate, service_rate)
    spare = c * service_rate - arrival_rate
    if spare <= 0.0:
        return math.inf
    return erlang_c(c, arrival_rate, service_rate) / spare


def erlang_c_wait_exceeds(c: int, arrival_rate: float, service_rate: float, t: float) -> float:
    """Return P(wait > t) in an M/M/c queue: ``C * exp(-(c * service_rate - arrival_rate) * t)``.

    One minus this is the classic service level ("answered within t").
    """
    _check(c, arrival_rate, service_rate)
    if t < 0:
        return 1.0
    spare = c * service_rate - arrival_rate
    if spare <= 0.0:
        return 1.0
    return erlang_c(c, arrival_rate, service_rate) * math.exp(-spare * t)
