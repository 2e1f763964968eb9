"""Dashboard figures computed from conversation records (pure: records in, numbers out)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

__all__ = ["day_stats", "outcome", "percentile"]


class ConversationLike(Protocol):
    """The fields of a conversation record the statistics read (read-only)."""

    @property
    def created_at(self) -> float: ...
    @property
    def status(self) -> str: ...
    @property
    def agent_id(self) -> str | None: ...
    @property
    def enqueued_at(self) -> float | None: ...
    @property
    def assigned_at(self) -> float | None: ...
    @property
    def first_response_at(self) -> float | None: ...
    @property
    def csat_score(self) -> int | None: ...
    @property
    def handoff_reason(self) -> str | None: ...
    @property
    def closed_at(self) -> float | None: ...


def outcome(conv: ConversationLike) -> str:
    """How a conversation ended (or stands): the one definition metrics and dashboards share.

    "ticket": it became a ticket; "agent": a person handled it; "abandoned": it was handed off
    but left before an agent came; "bot": the bot handled it alone (deflected).
    """
    if conv.status == "ticket":
        return "ticket"
    if conv.agent_id or conv.first_response_at:
        return "agent"
    if conv.enqueued_at is not None:
        return "abandoned"
    return "bot"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def day_stats(conversations: Iterable[ConversationLike], day_start: float) -> dict[str, Any]:
    """Figures for the 24 hours from ``day_start``: volume, deflection, waits, first response, CSAT.

    Deflected: closed with :func:`outcome` "bot" (no agent, no ticket, never handed off).
    """
    convs = list(conversations)
    waits = [c.assigned_at - c.enqueued_at for c in convs if c.assigned_at and c.enqueued_at]
    first = [
        c.first_response_at - c.enqueued_at for c in convs if c.first_response_at and c.enqueued_at
    ]
    scores = [c.csat_score for c in convs if c.csat_score is not None]
    closed = [c for c in convs if c.closed_at is not None]
    deflected = [c for c in closed if outcome(c) == "bot"]
    deflected_ids = {id(c) for c in deflected}
    handed_off = [c for c in convs if c.enqueued_at is not None]
    tickets = [c for c in convs if c.status == "ticket"]
    hourly = []
    for hour in range(24):
        start, end = day_start + hour * 3600, day_start + (hour + 1) * 3600
        in_hour = [c for c in convs if start <= c.created_at < end]
        hour_waits = [
            c.assigned_at - c.enqueued_at for c in in_hour if c.assigned_at and c.enqueued_at
        ]
        hourly.append(
            {
                "hour": hour,
                "conversations": len(in_hour),
                "deflected": sum(1 for c in in_hour if id(c) in deflected_ids),
                "handed_off": sum(1 for c in in_hour if c.enqueued_at is not None),
                "wait_p50_s": _round(percentile(hour_waits, 0.5)),
            }
        )
    return {
        "conversations": len(convs),
        "deflection_rate": round(len(deflected) / len(closed), 3) if closed else None,
        "handed_off": len(handed_off),
        "tickets": len(tickets),
        "wait_p50_s": _round(percentile(waits, 0.5)),
        "wait_p90_s": _round(percentile(waits, 0.9)),
        "first_response_p50_s": _round(percentile(first, 0.5)),
        "csat_avg": round(sum(scores) / len(scores), 2) if scores else None,
        "csat_count": len(scores),
        "hourly": hourly,
    }
