"""The hostile scenario: ordinary chat traffic while attackers send the worst texts they can and
hold slowloris connections open, against the same traffic without them, in one run.

Phase 1 (calm): customer/agent pairs relay at a fixed rate for ``duration`` seconds. Phase 2
(hostile): the same relay rate on fresh pairs while ``HOSTILE_CUSTOMERS`` conversations send
worst-case texts (every secret detector's most expensive shape at ``limits.max_message_chars``)
and ``SLOWLORIS`` connections send half a request head each. Reported for both phases: the
server's event-loop lag p50/p99 (``chatd_event_loop_lag_seconds``, sampled every 10 ms) and the
relay's latency p50/p99; their ratios are the cost of the attack to everyone else.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from chatd.bench.procs import ServerProc, start_worker
from chatd.bench.scenarios import RELAY_AGENT_CAPACITY, BenchOptions, chatd_under_test, ratio
from chatd.bench.surge import histogram_quantile
from chatd.config import LimitsConfig

__all__ = ["hostile_texts", "run_hostile"]

HOSTILE_CUSTOMERS = 40
SLOWLORIS = 500


def hostile_texts(max_chars: int = LimitsConfig().max_message_chars) -> list[str]:
    """The most expensive customer messages we know of, each at most ``max_chars`` long.

    One per detector family of the secret masker and the bot: repeated separators after a
    trigger word (the ReDoS of issue 14), chains of words after "password for", runs of digits,
    hex and base58 with single separators, BIP39 words with typos, "code" next to numbers,
    placeholders, and plain long text for the bot's matcher.
    """

    def fill(head: str, unit: str, tail: str = "!") -> str:
        return head + unit * ((max_chars - len(head) - len(tail)) // len(unit)) + tail

    words = "abandon ability able about above absent absorb abstract absurd abuse".split()
    return [
        fill("api secret", " = "),
        fill("private key", " : "),
        fill("私钥", " 是 "),
        fill("my seed phrase is", " is "),
        fill("password for", " a"),
        fill("pin code", " 1"),
        fill("card ", "4111 "),
        fill("tx ", "a7 "),
        fill("key ", "9f"),
        fill("wallet ", "K1"),
        fill("", " ".join(words) + " abandn "),
        fill("", "code 123456 "),
        fill("", "[redacted:otp_code] "),
        fill("", "my withdrawal is pending since yesterday please help "),
    ]


def _lag(before: str, after: str) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, q in (("loop_lag_p50_ms", 0.5), ("loop_lag_p99_ms", 0.99)):
        value = histogram_quantile(before, after, q)
        out[name] = None if value is None else round(value * 1000, 2)
    return out


def _relay_phase(
    server: ServerProc, tokens: list[str], pairs: int, rate: float, duration: float
) -> dict[str, Any]:
    worker = start_worker(
        "relay",
        url=server.ws_url,
        server_pid=server.pid,
        agent_tokens=tokens,
        pairs=pairs,
        open_loop_only=True,
        phase2_rate=rate,
        phase2_duration_s=duration,
    )
    try:
        before = server.get("/metrics")
        result = worker.read(duration + 90)
        after = server.get("/metrics")
    finally:
        worker.stop()
    return {**result["half"], **_lag(before, after), "errors": result["errors"]}


def _hostile_on(opts: BenchOptions, work_dir: Path, limits: str = "") -> dict[str, Any]:
    """One chatd (SQLite): relay at a fixed rate, calm, then under attack."""
    pairs = opts.connections or (10 if opts.quick else 40)
    duration = opts.duration or (5.0 if opts.quick else 20.0)
    rate = 20.0 * pairs  # messages per second in total: each side of a pair sends 10 a second
    per_phase = math.ceil(pairs / RELAY_AGENT_CAPACITY)
    with chatd_under_test(
        opts, work_dir, agents=2 * per_phase, capacity=RELAY_AGENT_CAPACITY, limits=limits
    ) as chatd:
        server = chatd.server
        assert isinstance(server, ServerProc)
        calm = _relay_phase(server, chatd.tokens[:per_phase], pairs, rate, duration)
        attack = start_worker(
            "hostile",
            url=server.ws_url,
            texts=hostile_texts(),
            customers=HOSTILE_CUSTOMERS,
            # Each attacker at the default per-conversation limit (1 message a second).
            rate=float(HOSTILE_CUSTOMERS),
            slowloris=SLOWLORIS,
            deadline_s=duration + 120,
        )
        try:
            attack.read(60)
            cpu_before = server.cpu_seconds()
            hostile = _relay_phase(server, chatd.tokens[per_phase:], pairs, rate, duration)
            hostile["server_cpu_s"] = round(server.cpu_seconds() - cpu_before, 2)
            attack.tell({"stop": True})
            attackers = attack.read(60)
        finally:
            attack.stop()
    return {
        "pairs": pairs,
        "rate": rate,
        "duration_s": duration,
        "loop_lag_p99_ms": hostile["loop_lag_p99_ms"],
        "calm_loop_lag_p99_ms": calm["loop_lag_p99_ms"],
        "loop_lag_p99_ratio": ratio(hostile["loop_lag_p99_ms"], calm["loop_lag_p99_ms"]),
        "relay_p99_ms": hostile["p99_ms"],
        "calm_relay_p99_ms": calm["p99_ms"],
        "relay_p99_ratio": ratio(hostile["p99_ms"], calm["p99_ms"]),
        "lost": calm["lost"] + hostile["lost"],
        "hostile_sent": attackers["sent"],
        "hostile_acked": attackers["acked"],
        "slowloris_opened": attackers["slowloris_opened"],
        "slowloris_cut": attackers["slowloris_cut"],
        "calm": calm,
        "hostile": hostile,
        "attackers": attackers,
    }


def run_hostile(opts: BenchOptions) -> dict[str, Any]:
    """The attack on chatd as configured (long messages masked in a worker process), then on
    chatd masking every message inline (``mask_offload_chars = 0``), in one run."""
    texts = hostile_texts()
    worker = _hostile_on(opts, opts.work_dir / "hostile")
    inline = _hostile_on(opts, opts.work_dir / "hostile-inline", "mask_offload_chars = 0\n")
    return {
        "scenario": "hostile",
        "hostile_customers": HOSTILE_CUSTOMERS,
        "hostile_texts": len(texts),
        "hostile_text_chars": max(len(t) for t in texts),
        "slowloris": SLOWLORIS,
        **worker,
        "inline": inline,
    }
