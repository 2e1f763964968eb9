"""Staff roles: which of them take chats from the queue."""

from __future__ import annotations

from chatd.domain.roles import ROLES, serves_chats


def test_agents_and_supervisors_serve_chats_operators_do_not() -> None:
    """Agents and supervisors take chats; operators and unknown roles do not."""
    assert [role for role in ROLES if serves_chats(role)] == ["agent", "supervisor"]
    assert not serves_chats("customer")
