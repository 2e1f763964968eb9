"""`chatd bench relay --cluster`: the bench starts its own PostgreSQL, Redis and chatd workers.

Checks the JSON's keys and that its values are sane (no timing thresholds: the machine is shared),
and that nothing the run started outlives it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chatd.bench.services import ServiceUnavailable, find_postgres_bin
from tests.support.services import unavailable

pytestmark = pytest.mark.cluster

#: The quick run takes 30-50 s on the shared 2-core box (PostgreSQL start, two workers, the
#: baseline); the rest is slack for a loaded machine. On timeout the bench gets SIGTERM, which
#: stops its servers by PID.
_TIMEOUT_S = 110


def _require_binaries() -> None:
    """Skip (or fail under CI) when PostgreSQL or Redis is not installed."""
    import shutil

    try:
        find_postgres_bin()
        if shutil.which("redis-server") is None:
            raise ServiceUnavailable("redis-server not found: apt-get install redis-server")
    except ServiceUnavailable as exc:
        unavailable(exc)


def _processes_of(work_dir: Path) -> list[str]:
    """Command lines of live processes that mention the run's work directory."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(work_dir) in cmdline:
            alive.append(cmdline)
    return alive


def test_bench_relay_on_two_cluster_workers(tmp_path: Path) -> None:
    """--quick --json --cluster --workers 2 prints one JSON object with the cluster figures."""
    _require_binaries()
    work_dir = tmp_path / "bench"
    args = [sys.executable, "-m", "chatd", "bench", "relay", "--quick", "--json"]
    args += ["--cluster", "--workers", "2", "--work-dir", str(work_dir)]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        out, err = proc.communicate(timeout=_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the bench unwinds and stops what it started
        out, err = proc.communicate(timeout=60)
        pytest.fail(f"bench did not finish in {_TIMEOUT_S}s:\n{err[-3000:]}")
    assert proc.returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])

    assert result["scenario"] == "relay"
    assert result["backend"] == "postgresql+redis"
    assert result["workers"] == 2
    for key in (
        "msgs_per_s",
        "baseline_msgs_per_s",
        "throughput_ratio",
        "p50_ms",
        "p99_ms",
        "baseline_p99_ms",
        "half_rate_p99_ms",
        "server_cpu_us_per_msg",
        "backend_cpu_us_per_msg",
    ):
        assert isinstance(result[key], (int, float)) and result[key] > 0, key
    assert result["p50_ms"] <= result["p99_ms"]
    assert result["errors"] == 0
    # Every message is stored (a transaction, rows written) and crosses Redis at least once.
    # A message is one transaction (its checked append); PostgreSQL's counters are flushed
    # by each backend on its own schedule, so the window's count may fall a little short.
    assert result["pg_transactions_per_msg"] >= 0.9
    assert result["pg_rows_written_per_msg"] >= 1
    assert result["redis_publishes_per_msg"] >= 1
    workers_cpu = result["chatd"]["worker_cpu_s"]
    assert len(workers_cpu) == 2 and all(cpu > 0 for cpu in workers_cpu)
    assert result["machine"]["cores"] >= 1
    # The chatd workers were stopped (PostgreSQL and Redis are stopped by PID in the same
    # unwinding; their directories are outside work_dir, so they are not checked here).
    assert _processes_of(work_dir) == []
