"""store.accounts on every backend: passwords, TOTP steps, sessions, the audit trail.

Same backends as the store contract (tests/integration/test_store_contract.py), PostgreSQL on a
throwaway server.
"""

from __future__ import annotations

import pytest

from chatd.store import AgentRecord, Store
from chatd.store.accounts import AuditEntry, AuditFilter, SessionRecord


@pytest.fixture
async def store(any_store: Store) -> Store:
    await any_store.add_agent(AgentRecord("ag_1", "ana", "agent", ""))
    return any_store


async def test_password_and_totp_are_kept_per_account(store: Store) -> None:
    accounts = store.accounts
    fresh = await accounts.account_secrets("ag_1")
    assert fresh is not None and fresh.password_hash is None and fresh.totp_secret is None
    assert await accounts.set_password("ag_1", "$argon2id$fake")
    assert await accounts.set_totp("ag_1", "JBSWY3DPEHPK3PXP")
    got = await accounts.account_secrets("ag_1")
    assert got is not None
    assert (got.password_hash, got.totp_secret, got.totp_step) == (
        "$argon2id$fake",
        "JBSWY3DPEHPK3PXP",
        0,
    )
    assert not await accounts.set_password("ag_nobody", "x")
    assert await accounts.account_secrets("ag_nobody") is None


async def test_a_totp_step_is_used_once_and_never_an_older_one(store: Store) -> None:
    accounts = store.accounts
    assert await accounts.use_totp_step("ag_1", 100)
    assert not await accounts.use_totp_step("ag_1", 100)  # the same code again
    assert not await accounts.use_totp_step("ag_1", 99)  # an older one
    assert await accounts.use_totp_step("ag_1", 101)
    # Enrolling again starts over (a new secret's steps are unrelated).
    await accounts.set_totp("ag_1", "NEWSECRET234567A")
    assert await accounts.use_totp_step("ag_1", 50)


async def test_sessions_are_found_by_hash_and_end(store: Store) -> None:
    accounts = store.accounts
    await accounts.create_session(SessionRecord("h1", "ag_1", 10.0, 100.0, "10.0.0.1"))
    await accounts.create_session(SessionRecord("h2", "ag_1", 10.0, 50.0))
    assert await accounts.get_session("h1") == SessionRecord("h1", "ag_1", 10.0, 100.0, "10.0.0.1")
    assert await accounts.delete_session("h1")
    assert not await accounts.delete_session("h1")
    assert await accounts.get_session("h1") is None
    assert await accounts.delete_sessions(before=60.0) == 1  # h2 expired at 50
    await accounts.create_session(SessionRecord("h3", "ag_1", 10.0, 100.0))
    assert await accounts.delete_sessions(agent_id="ag_1") == 1
    assert await accounts.get_session("h3") is None
    with pytest.raises(ValueError):
        await accounts.delete_sessions()


async def test_audit_filters_newest_first_and_counts(store: Store) -> None:
    accounts = store.accounts
    for ts, actor, action in [
        (1.0, "ana", "login"),
        (2.0, "ana", "login_failed"),
        (3.0, "bob", "login_failed"),
        (4.0, "ana", "login_failed"),
        (5.0, "ops", "transcript.read"),
    ]:
        await accounts.add_audit(AuditEntry(ts, actor, action, "c_1", "10.0.0.9"))
    everything = await accounts.list_audit(AuditFilter())
    assert [e.ts for e in everything] == [5.0, 4.0, 3.0, 2.0, 1.0]
    assert everything[0] == AuditEntry(5.0, "ops", "transcript.read", "c_1", "10.0.0.9")
    anas = await accounts.list_audit(AuditFilter(actor="ana", action="login_failed"))
    assert [e.ts for e in anas] == [4.0, 2.0]
    window = await accounts.list_audit(AuditFilter(since=2.0, until=4.0, limit=1))
    assert [e.ts for e in window] == [3.0]
    assert await accounts.count_audit(actor="ana", action="login_failed", since=3.0) == 1
    assert await accounts.count_audit(actor="ana", action="login_failed", since=0.0) == 2
    assert await accounts.delete_audit_before(3.0) == 2
    assert len(await accounts.list_audit(AuditFilter())) == 3
