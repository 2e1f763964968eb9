"""The TCP edge's counting (chatd.web.edge): per-address and total connection limits, and
the rate-limited warning that replaces a traceback per failed accept."""

from __future__ import annotations

import structlog

from chatd.config import load_config
from chatd.web.edge import ConnectionGuard, RateLimitedLog


def _guard(per_ip: int, total: int, trusted: tuple[str, ...] = ()) -> ConnectionGuard:
    config = load_config(
        overrides={
            "limits": {"tcp_connections_per_ip": per_ip},
            "server": {"trusted_proxies": list(trusted)},
        }
    )
    return ConnectionGuard(config, total)


def test_per_address_limit_and_release() -> None:
    """An address gets its limit of connections; closing one frees a slot for it."""
    guard = _guard(per_ip=2, total=100)
    assert guard.admit("c1", "10.0.0.1") and guard.admit("c2", "10.0.0.1")
    assert not guard.admit("c3", "10.0.0.1")
    assert guard.admit("c4", "10.0.0.2")
    guard.release("c1")
    assert guard.admit("c5", "10.0.0.1")
    assert guard.open == 3


def test_refused_and_unknown_connections_release_nothing() -> None:
    """Releasing a refused (or unknown) connection leaves every count as it was."""
    guard = _guard(per_ip=1, total=100)
    assert guard.admit("a", "10.0.0.1")
    assert not guard.admit("b", "10.0.0.1")
    guard.release("b")
    guard.release("never-seen")
    assert guard.open == 1 and not guard.admit("c", "10.0.0.1")


def test_trusted_proxies_are_exempt_but_count_in_the_total() -> None:
    """A trusted proxy carries many clients: no per-address cap, but the total still holds."""
    guard = _guard(per_ip=1, total=3, trusted=("10.0.0.9",))
    assert all(guard.admit(i, "10.0.0.9") for i in range(3))
    assert not guard.admit(99, "10.0.0.9")
    guard.release(0)
    assert guard.admit(100, "10.0.0.9")


def test_total_leaves_a_reserve_of_descriptors() -> None:
    """for_descriptors keeps a quarter of a small limit (at most 256) free for the store."""
    config = load_config()
    assert ConnectionGuard.for_descriptors(config, 256).max_connections == 192
    assert ConnectionGuard.for_descriptors(config, 20000).max_connections == 20000 - 256


def test_rate_limited_log_writes_one_line_per_interval() -> None:
    """Within the interval, repeats are counted and reported with the next line written."""
    now = [0.0]
    limited = RateLimitedLog("accept_out_of_resources", 10.0, clock=lambda: now[0])
    with structlog.testing.capture_logs() as logs:
        assert limited.warning(error="too many open files")
        for _ in range(500):
            now[0] += 0.01
            assert not limited.warning(error="too many open files")
        now[0] = 11.0
        assert limited.warning(error="too many open files")
    assert [entry["event"] for entry in logs] == ["accept_out_of_resources"] * 2
    assert logs[1]["suppressed_since_last"] == 500
