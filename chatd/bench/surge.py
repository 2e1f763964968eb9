"""The surge scenario: a market-crash wave of customers against chatd, then the baseline.

5,000 customers arrive within 10 s, each asks two FAQ questions, 20% then ask for a person; 20
agents with capacity 3 greet and close chats after a random handling time. Reported: bot reply
p50/p99 (client side), event-loop lag p99 (server side, from ``chatd_event_loop_lag_seconds``),
queue frames received, errors, and whether every customer who waited got position updates.
"""

from __future__ import annotations

import math
import re
from typing import Any

from chatd.bench.clients import Stopwatch
from chatd.bench.procs import (
    CHATD_DATA,
    ServerProc,
    WorkerProc,
    add_agents,
    start_baseline,
    start_chatd,
    start_worker,
)
from chatd.bench.scenarios import BenchOptions, ratio

__all__ = ["faq_questions", "histogram_quantile", "run_surge"]

AGENTS = 20
AGENT_CAPACITY = 3
HUMAN_FRACTION = 0.2
#: chatd's default queue.update_interval_s; the customers check updates against it.
UPDATE_INTERVAL_S = 1.0
_BUCKET = re.compile(r'^chatd_event_loop_lag_seconds_bucket\{le="([^"]+)"\} ([0-9.e+-]+)$')


def faq_questions(limit: int = 80) -> list[str]:
    """English KB examples the bot answers confidently, without a handoff (FAQ traffic)."""
    from bot_intents import load_bot

    bot = load_bot(None)
    questions: list[str] = []
    for intent in bot.kb.intents:
        if intent.handoff != "never":
            continue
        for text in intent.examples.get("en", ()):
            reply = bot.reply(text)
            if reply.intent == intent.id and not reply.ambiguous and reply.handoff == "never":
                questions.append(text)
    return questions[:limit] if len(questions) > limit else questions


def _buckets(metrics_text: str) -> list[tuple[float, float]]:
    out = []
    for line in metrics_text.splitlines():
        match = _BUCKET.match(line)
        if match:
            out.append((float(match.group(1)), float(match.group(2))))
    return sorted(out)


def histogram_quantile(before: str, after: str, q: float) -> float | None:
    """Quantile of the lag histogram between two /metrics scrapes (linear within a bucket)."""
    start = dict(_buckets(before))
    buckets = [(le, count - start.get(le, 0.0)) for le, count in _buckets(after)]
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_le, lower_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower_le  # beyond the last finite bucket: report its bound
            span = count - lower_count
            return lower_le + (le - lower_le) * ((rank - lower_count) / span if span else 1.0)
        lower_le, lower_count = le, count
    return None


def _params(opts: BenchOptions) -> dict[str, Any]:
    if opts.quick:
        count, arrival, drain, handle = 800, 4.0, 8.0, (0.5, 1.5)
    else:
        count, arrival, drain, handle = 5000, 10.0, 45.0, (1.0, 4.0)
    count = opts.connections or count
    drain = opts.duration or drain
    return {"count": count, "arrival_s": arrival, "drain_s": drain, "handle_s": handle}


def _surge_on(
    server: ServerProc, tokens: list[str], questions: list[str], params: dict[str, Any]
) -> dict[str, Any]:
    deadline = params["arrival_s"] + params["drain_s"] + 60
    agents = start_worker(
        "surge_agents",
        url=server.ws_url,
        agent_tokens=tokens,
        seed=11,
        handle_min_s=params["handle_s"][0],
        handle_max_s=params["handle_s"][1],
        deadline_s=deadline,
    )
    workers: list[WorkerProc] = []
    try:
        agents.read(60)
        metrics_before = server.get("/metrics")
        cpu_before = server.cpu_seconds()
        spec = {
            "url": server.ws_url,
            "count": params["count"],
            "arrival_s": params["arrival_s"],
            "drain_s": params["drain_s"],
            "questions": questions,
            "human_fraction": HUMAN_FRACTION,
            "linger_s": 3.0,
            "update_interval_s": UPDATE_INTERVAL_S,
            "seed": 5,
            "offset": 0,
            "stride": 1,
        }
        workers.append(start_worker("surge_customers", **spec))
        results = [w.read(deadline + 30) for w in workers]
        load_cpu = sum(w.cpu_seconds() for w in workers)
        server_cpu = server.cpu_seconds() - cpu_before
        metrics_after = server.get("/metrics")
        rss_mb = round(server.rss_kb() / 1024, 1)
        agents.tell({"stop": True})
        agent_result = agents.read(30)
    finally:
        for w in [*workers, agents]:
            w.stop()
    bot = Stopwatch()
    for r in results:
        bot.samples += r.pop("bot_reply_samples")
    merged: dict[str, Any] = {k: sum(r[k] for r in results) for k in _SUMMED}
    errors: dict[str, int] = {}
    for r in [*results, agent_result]:
        for key, value in r["errors"].items():
            errors[key] = errors.get(key, 0) + value
    lag_p99 = histogram_quantile(metrics_before, metrics_after, 0.99)
    lag_p50 = histogram_quantile(metrics_before, metrics_after, 0.50)
    return {
        **merged,
        "bot_reply": bot.summary(),
        "assign_wait": results[0]["assign_wait"],
        "chats_closed_by_agents": agent_result["handled"],
        "loop_lag_p50_ms": None if lag_p50 is None else round(lag_p50 * 1000, 1),
        "loop_lag_p99_ms": None if lag_p99 is None else round(lag_p99 * 1000, 1),
        "errors": errors,
        "error_count": sum(errors.values()),
        "server_cpu_s": round(server_cpu, 1),
        "load_cpu_s": round(load_cpu, 1),
        "server_rss_mb_after": rss_mb,
    }


_SUMMED = (
    "customers",
    "connected",
    "queue_frames",
    "requested_human",
    "assigned",
    "closed_by_agent",
    "still_waiting",
    "waited_long",
    "waited_long_without_updates",
)


def run_surge(opts: BenchOptions) -> dict[str, Any]:
    """The surge against chatd, then the same load against the baseline."""
    params = _params(opts)
    questions = faq_questions()
    work = opts.work_dir / "surge"
    tokens = add_agents(work / CHATD_DATA, AGENTS, capacity=AGENT_CAPACITY)
    chatd = start_chatd(work, loop=opts.loop)
    try:
        ours = _surge_on(chatd, tokens, questions, params)
    finally:
        chatd.stop()
    base = start_baseline(
        opts.work_dir / "surge-baseline", loop=opts.loop, agent_capacity=AGENT_CAPACITY
    )
    try:
        theirs = _surge_on(base, ["t"] * AGENTS, questions, params)
    finally:
        base.stop()
    return {
        "scenario": "surge",
        "customers": params["count"],
        "arrival_s": params["arrival_s"],
        "agents": AGENTS,
        "agent_capacity": AGENT_CAPACITY,
        "handle_s": list(params["handle_s"]),
        "bot_reply_p50_ms": ours["bot_reply"]["p50_ms"],
        "bot_reply_p99_ms": ours["bot_reply"]["p99_ms"],
        "baseline_reply_p50_ms": theirs["bot_reply"]["p50_ms"],
        "baseline_reply_p99_ms": theirs["bot_reply"]["p99_ms"],
        "reply_p99_ratio": ratio(ours["bot_reply"]["p99_ms"], theirs["bot_reply"]["p99_ms"]),
        "loop_lag_p99_ms": ours["loop_lag_p99_ms"],
        "baseline_loop_lag_p99_ms": theirs["loop_lag_p99_ms"],
        "queue_frames": ours["queue_frames"],
        "errors": ours["error_count"],
        "baseline_errors": theirs["error_count"],
        "waiting_customers": ours["waited_long"],
        "waiting_without_updates": ours["waited_long_without_updates"],
        "every_waiting_customer_updated": ours["waited_long_without_updates"] == 0,
        "chatd": ours,
        "baseline": theirs,
    }
