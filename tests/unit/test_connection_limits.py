"""The limiter the server's sockets use (chatd.web.limits.ConnectionLimits): open sockets per
address, frames per conversation and per address, and the violations that close a socket."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chatd.config import load_config
from chatd.web.limits import ConnectionLimits


def limits(**values: object) -> ConnectionLimits:
    return ConnectionLimits(load_config(overrides={"limits": dict(values)}).limits)


def test_sockets_per_address_are_given_back() -> None:
    """An address gets its limit of sockets; each release makes room for one more, again and
    again, and other addresses are counted apart."""
    conns = limits(connections_per_ip=2)
    for _ in range(50):
        assert conns.acquire("10.0.0.1") and conns.acquire("10.0.0.1")
        assert not conns.acquire("10.0.0.1")
        assert conns.acquire("10.0.0.2")
        for ip in ("10.0.0.1", "10.0.0.1", "10.0.0.2"):
            conns.release(ip)
    assert len(conns.sockets) == 0


@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "b"])), max_size=100))
def test_open_sockets_follow_acquires_and_releases(ops: list[tuple[bool, str]]) -> None:
    """Whatever the order, an address is admitted exactly while fewer than the limit are open."""
    conns = limits(connections_per_ip=3)
    open_: dict[str, int] = {"a": 0, "b": 0}
    for acquire, ip in ops:
        if acquire:
            assert conns.acquire(ip) == (open_[ip] < 3)
            open_[ip] = min(3, open_[ip] + 1)
        elif open_[ip]:
            conns.release(ip)
            open_[ip] -= 1
    for ip, n in open_.items():
        assert conns.sockets.count(ip) == n


def test_a_conversation_gets_its_burst_then_refusals_count() -> None:
    """Past the burst every frame is refused and counted as a violation of the conversation."""
    conns = limits(messages_per_s=0.001, message_burst=3, violation_window_s=60.0)
    assert all(conns.take_frame("conv", "10.0.0.1", 0.0) for _ in range(3))
    for n in range(1, 6):
        assert not conns.take_frame("conv", "10.0.0.1", 0.0)
        assert conns.violations("conv", 0.0) == n
    assert conns.violations("other", 0.0) == 0
    assert conns.violations("conv", 61.0) == 0  # outside the window
    assert conns.retry_after("conv", "10.0.0.1", 0.0) > 0


def test_the_address_bucket_refuses_and_counts_against_the_conversation() -> None:
    """Many conversations of one address share its bucket; a refusal by the address counts as
    a violation of the conversation that sent the frame (that is what closes its socket)."""
    conns = limits(
        messages_per_s=0.001, message_burst=5, ip_messages_per_s=0.001, ip_message_burst=4
    )
    assert all(conns.take_frame(f"conv{i}", "10.0.0.1", 0.0) for i in range(4))
    assert not conns.take_frame("conv9", "10.0.0.1", 0.0)
    assert conns.violations("conv9", 0.0) == 1
    assert conns.retry_after("conv9", "10.0.0.1", 0.0) > 0
    assert conns.take_frame("conv9", "10.0.0.2", 0.0)  # another address has its own bucket


def test_a_conversation_at_its_limit_leaves_the_address_budget_alone() -> None:
    """A frame refused by the conversation's own bucket takes nothing from the address's."""
    conns = limits(
        messages_per_s=0.001, message_burst=1, ip_messages_per_s=0.001, ip_message_burst=2
    )
    assert conns.take_frame("noisy", "10.0.0.1", 0.0)
    for _ in range(10):
        assert not conns.take_frame("noisy", "10.0.0.1", 0.0)
    assert conns.take_frame("quiet", "10.0.0.1", 0.0)
