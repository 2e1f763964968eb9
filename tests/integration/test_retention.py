"""Retention and erasure (issue 18): the sweep deletes closed conversations by age with their
events and tickets, keeps open ones and the recent; `chatd customers erase/export` by user id or
conversation id, audited; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from chatd.client import CustomerClient
from chatd.config import RetentionConfig
from chatd.service.retention import Retention
from chatd.store import Store
from chatd.store.accounts import AuditEntry, AuditFilter, SessionRecord
from chatd.store.base import ConversationRecord, NewEvent
from chatd.store.erasure import BATCH
from tests.support.cli import CHATD, chatd_env
from tests.support.harness import Harness

DAY = 86400.0


@pytest.fixture
async def store(any_store: Store) -> Store:
    return any_store


async def _conversation(
    store: Store, cid: str, *, status: str, closed_at: float | None, user_id: str | None = None
) -> None:
    await store.create_conversation(
        ConversationRecord(conversation_id=cid, created_at=1.0, updated_at=1.0, user_id=user_id)
    )
    for text in ("hello", "my seed phrase is ..."):
        event = NewEvent(kind="message", ts=2.0, author="customer", text=text)
        await store.append_event(cid, event)
    fields: dict[str, Any] = {"status": status}
    if closed_at is not None:
        fields["closed_at"] = closed_at
    await store.update_conversation(cid, **fields)


async def test_sweep_deletes_old_closed_conversations_only(store: Store) -> None:
    now = 100 * DAY
    await _conversation(store, "old", status="closed", closed_at=now - 40 * DAY)
    await _conversation(store, "recent", status="closed", closed_at=now - 10 * DAY)
    await _conversation(store, "open", status="assigned", closed_at=None)
    await store.create_ticket("old", contact="a@example.com", text="help", now=1.0)
    await store.accounts.add_audit(AuditEntry(now - 400 * DAY, "ana", "login"))
    await store.accounts.add_audit(AuditEntry(now - 1 * DAY, "ana", "login"))
    await store.accounts.create_session(SessionRecord("h", "ag", 1.0, now - 1.0))
    retention = Retention(
        store=store,
        config=RetentionConfig(closed_conversations_days=30, audit_days=365),
        clock=lambda: now,
    )
    result = await retention.sweep_once()
    assert (result.conversations, result.events, result.audit_entries, result.sessions) == (
        1,
        2,
        1,
        1,
    )
    assert await store.get_conversation("old") is None
    assert await store.events("old") == []
    assert await store.ticket_for_conversation("old") is None
    assert await store.get_conversation("recent") is not None
    assert len(await store.events("recent")) == 2
    assert await store.get_conversation("open") is not None
    entries = await store.accounts.list_audit(AuditFilter())
    assert [(e.actor, e.action) for e in entries] == [("retention", "erasure"), ("ana", "login")]


async def test_sweep_works_through_more_than_a_batch(store: Store) -> None:
    count = BATCH + 7
    for i in range(count):
        await store.create_conversation(
            ConversationRecord(conversation_id=f"c{i}", created_at=1.0, updated_at=1.0)
        )
        await store.update_conversation(f"c{i}", status="closed", closed_at=float(i))
    retention = Retention(
        store=store, config=RetentionConfig(closed_conversations_days=1), clock=lambda: 5 * DAY
    )
    assert (await retention.sweep_once()).conversations == count
    assert await store.erasure.closed_before(10 * DAY) == []


async def test_keep_forever_by_default(store: Store) -> None:
    await _conversation(store, "old", status="closed", closed_at=1.0)
    retention = Retention(store=store, config=RetentionConfig(), clock=lambda: 1000 * DAY)
    assert (await retention.sweep_once()).conversations == 0
    assert await store.get_conversation("old") is not None


async def test_erase_by_user_leaves_open_chats_and_others(store: Store) -> None:
    await _conversation(store, "u1", status="closed", closed_at=5.0, user_id="user-7")
    await _conversation(store, "u2", status="ticket", closed_at=None, user_id="user-7")
    await _conversation(store, "u3", status="queued", closed_at=None, user_id="user-7")
    await _conversation(store, "other", status="closed", closed_at=5.0, user_id="user-8")
    retention = Retention(store=store, config=RetentionConfig())
    exported = await retention.export(user_id="user-7", actor="cli:test")
    assert [c["conversation"]["conversation_id"] for c in exported["conversations"]] == [
        "u1",
        "u2",
        "u3",
    ]
    assert [e["text"] for e in exported["conversations"][0]["events"]] == [
        "hello",
        "my seed phrase is ...",
    ]
    erased = await retention.erase(user_id="user-7", actor="cli:test")
    assert (erased.conversations, erased.events, erased.left_open) == (2, 4, ("u3",))
    assert await store.get_conversation("u1") is None
    assert await store.get_conversation("u2") is None
    assert await store.get_conversation("u3") is not None
    assert await store.get_conversation("other") is not None
    actions = [e.action for e in await store.accounts.list_audit(AuditFilter(actor="cli:test"))]
    assert actions == ["erasure", "export"]


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHATD), "customers", *args, "--data-dir", str(data)],
        env=chatd_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_exports_then_erases_a_conversation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    conversation = asyncio.run(_one_closed_chat(data))
    exported = _cli(data, "export", "--conversation-id", conversation)
    assert exported.returncode == 0, exported.stderr
    body = json.loads(exported.stdout)
    assert body["conversations"][0]["conversation"]["conversation_id"] == conversation
    assert any(e["text"] == "where is my withdrawal" for e in body["conversations"][0]["events"])
    erased = _cli(data, "erase", "--conversation-id", conversation)
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout.startswith("erased 1 conversations")
    again = _cli(data, "export", "--conversation-id", conversation)
    assert json.loads(again.stdout)["conversations"] == []
    both = _cli(data, "erase", "--user-id", "x", "--conversation-id", "y")
    assert both.returncode == 2
    neither = _cli(data, "erase")
    assert neither.returncode == 2


async def _one_closed_chat(data: Path) -> str:
    chatd = Harness(data, {})
    await chatd.start()
    try:
        customer: CustomerClient = await chatd.customer()
        await customer.say("where is my withdrawal")
        await customer.wait_for("message", author="bot")
        await customer.action("close")
        await customer.wait_for("closed")
        await customer.close()
        return customer.conversation_id
    finally:
        await chatd.stop()


@pytest.mark.parametrize(
    "settings",
    [{"retention": {"closed_conversations_days": 0.5 / DAY, "sweep_interval_s": 0.2}}],
)
async def test_the_server_sweeps_on_its_own(chatd: Harness) -> None:
    customer = await chatd.customer()
    await customer.say("hello")
    await customer.wait_for("message", author="bot")
    await customer.action("close")
    await customer.wait_for("closed")
    await customer.close()
    store = chatd.service.store
    deadline = time.monotonic() + 10
    while await store.get_conversation(customer.conversation_id) is not None:
        assert time.monotonic() < deadline, "the sweep never deleted the closed chat"
        await asyncio.sleep(0.1)
    assert await store.events(customer.conversation_id) == []
