"""Prometheus metrics of one chatd process, on its own registry (no global singletons)."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics", "probe_event_loop_lag"]

# Buckets in seconds: chat waits range from instant to an hour at a market-crash peak.
_WAIT_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)
#: Event-loop lag in seconds: fine below 100 ms (the surge target), coarse above (already an alarm).
_LAG_BUCKETS = (
    0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5
)  # fmt: skip


class Metrics:
    """Counters and histograms updated by the service; gauges filled at scrape time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.conversations_started = Counter(
            "chatd_conversations_started", "Conversations opened by customers", registry=r
        )
        self.conversations_closed = Counter(
            "chatd_conversations_closed",
            "Closed conversations by outcome: bot (deflected), agent or ticket",
            ["outcome"],
            registry=r,
        )
        self.handoffs = Counter(
            "chatd_handoffs", "Conversations handed to the human queue", ["reason"], registry=r
        )
        self.bot_replies = Counter(
            "chatd_bot_replies", "Bot replies by result", ["result"], registry=r
        )
        self.messages = Counter(
            "chatd_messages", "Chat messages stored, by author", ["author"], registry=r
        )
        self.secrets_masked = Counter(
            "chatd_secrets_masked", "Customer messages in which a secret was masked", registry=r
        )
        self.tickets = Counter("chatd_tickets_created", "Tickets created", registry=r)
        self.csat = Histogram(
            "chatd_csat_score", "CSAT scores (1-5)", buckets=(1, 2, 3, 4, 5), registry=r
        )
        self.wait = Histogram(
            "chatd_queue_wait_seconds",
            "Time from entering the queue to an agent's assignment",
            ["priority"],
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        self.first_response = Histogram(
            "chatd_first_response_seconds",
            "Time from entering the queue to the agent's first message",
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        self.deliveries = Counter(
            "chatd_deliveries",
            "Email and webhook delivery attempts by channel and outcome (accepted, failed)",
            ["channel", "outcome"],
            registry=r,
        )
        self.delivery_latency = Histogram(
            "chatd_delivery_seconds",
            "Time from the event to its receiver accepting the email or webhook call",
            ["channel"],
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        self.protocol_errors = Counter(
            "chatd_protocol_errors", "Rejected client frames by error code", ["code"], registry=r
        )
        self.conversations_by_state = Gauge(
            "chatd_conversations_open", "Open conversations by state", ["state"], registry=r
        )
        self.queue_length = Gauge(
            "chatd_queue_length",
            "Waiting conversations by priority class",
            ["priority"],
            registry=r,
        )
        self.agents_online = Gauge("chatd_agents_online", "Agents taking chats", registry=r)
        self.connections = Gauge(
            "chatd_connections", "Open WebSocket connections", ["role"], registry=r
        )
        self.event_loop_lag = Histogram(
            "chatd_event_loop_lag_seconds",
            "How late the event loop ran a timer: time every other task waited for the CPU",
            buckets=_LAG_BUCKETS,
            registry=r,
        )


async def probe_event_loop_lag(histogram: Histogram, interval_s: float) -> None:
    """Sleep ``interval_s`` again and again; observe how much later than asked each wake-up is.

    A callback that hogs the loop delays every WebSocket of the process by as much, so this is
    the latency floor every client sees at that moment. Runs until cancelled.
    """
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(interval_s)
        histogram.observe(max(0.0, loop.time() - start - interval_s))
