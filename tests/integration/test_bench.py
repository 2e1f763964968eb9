"""`chatd bench` as a user runs it: real server and load processes, one JSON object out.

These check that the tool works and reports sane figures, never how fast chatd is: the machine
running the tests may be busy, so there is no timing threshold here (BENCHMARKS.md has figures).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = "import sys; from chatd.bench.cli import main; sys.exit(main())"


def bench(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", BENCH, *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout[-3000:]  # exactly one JSON object
    return dict(json.loads(lines[0]))


def test_relay_quick_reports_chatd_beside_the_baseline() -> None:
    """relay --quick: throughput, latency and their ratio to the raw relay, without errors."""
    out = bench("relay", "--quick")
    for key in ("msgs_per_s", "baseline_msgs_per_s", "throughput_ratio", "p99_ms"):
        assert isinstance(out[key], int | float) and out[key] > 0, key
    assert out["baseline_p99_ms"] > 0
    assert out["p50_ms"] <= out["p99_ms"]
    assert out["throughput_ratio"] == round(out["msgs_per_s"] / out["baseline_msgs_per_s"], 3)
    assert out["half_rate_p99_ms"] > 0 and out["baseline_half_rate_p99_ms"] > 0
    assert out["errors"] == 0
    assert out["chatd"]["half"]["lost"] == 0
    assert out["machine"]["cores"] >= 1 and out["machine"]["python"]


def test_idle_quick_holds_every_connection() -> None:
    """idle --connections 200: every customer opened and held; memory per connection measured."""
    out = bench("idle", "--quick", "--connections", "200")
    assert out["connections"] == 200
    assert out["held"] == 200 and out["baseline_held"] == 200
    assert out["chatd"]["failed"] == 0
    assert out["open_rate"] > 0 and out["baseline_open_rate"] > 0
    # RSS deltas of a few hundred sockets are noisy, but a connection cannot cost nothing or 1 MB.
    assert 0 < out["kb_per_connection"] < 1024


def test_upload_quick_measures_loop_lag_while_images_are_reencoded() -> None:
    """upload --connections 4 --duration 2: every upload stored (none refused), the loop lag of
    both phases and the CPU an inline re-encode would cost are reported."""
    out = bench("upload", "--quick", "--connections", "4", "--duration", "2")
    assert out["uploaders"] == 4 and out["refused"] == {}
    assert out["uploads"] > 0 and out["upload_p50_ms"] <= out["upload_p99_ms"]
    assert out["image_bytes"] > 4_000_000
    assert out["loop_lag_p99_ms"] is not None and out["calm_loop_lag_p99_ms"] is not None
    assert out["inline_stall_ms"] > 0


def test_webhooks_reports_latency_and_cpu_with_and_without() -> None:
    """webhooks --connections 100: every message's call arrives; CPU per message both ways."""
    out = bench("webhooks", "--connections", "100")
    assert out["messages"] == 100 and out["delivered"] == 100
    assert 0 < out["latency_p50_ms"] <= out["latency_p99_ms"]
    assert out["server_cpu_us_per_msg_off"] > 0 and out["server_cpu_us_per_msg_on"] > 0
    assert out["cpu_per_msg_ratio"] == round(
        out["server_cpu_us_per_msg_on"] / out["server_cpu_us_per_msg_off"], 2
    )


def test_relay_floor_script_relays_through_the_real_service() -> None:
    """scripts/relay_floor.py (the service's cost without sockets) runs the real message path:
    every message stored and both views of it (customer's, agent's) encoded for delivery."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "relay_floor.py"
    result = subprocess.run(
        [sys.executable, str(script), "--json", "--pairs", "4", "--window", "2", "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    assert out["synchronous"] == "full" and out["messages"] > 0
    assert out["cpu_us_per_msg"] > 0
    # Two frames per relayed message (the warm-up second relays some too), none lost.
    assert out["frames_encoded"] >= 2 * out["messages"]
