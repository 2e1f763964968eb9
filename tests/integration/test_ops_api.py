"""What /ops reads from the HTTP API: agent names, the dashboard day in the operator's zone, CSV
that spreadsheets open (UTF-8 BOM) and one row per conversation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from typing import Any

import aiohttp

from chatd.client import CustomerClient
from tests.support.harness import Harness

SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"


async def _get(chatd: Harness, token: str, path: str) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as http:
        async with http.get(chatd.url + path, headers={"Authorization": f"Bearer {token}"}) as r:
            body = await r.read()
            return r.status, body, r


async def _json(chatd: Harness, token: str, path: str) -> Any:
    async with aiohttp.ClientSession() as http:
        async with http.get(chatd.url + path, headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 200, (path, r.status, await r.text())
            return await r.json()


async def _handled_chat(chatd: Harness, agent_token: str) -> CustomerClient:
    """A customer whose chat an agent answered and closed; the customer rated it."""
    agent = await chatd.agent(agent_token)
    customer = await chatd.customer(locale="zh")
    await customer.say("提现一直在处理中")
    await customer.wait_for("message", author="bot")
    await customer.action("request_human")
    await customer.wait_for("assigned")
    conv = customer.conversation_id
    await agent.reply(conv, "您好，我来看看")
    await customer.wait_for("message", author="agent")
    await agent.action("tag", conversation_id=conv, tags=["提现", "=SUM(A1)"])
    await agent.action("close", conversation_id=conv)
    await customer.wait_for("closed")
    await customer.action("csat", score=4, comment="=HYPERLINK(1)")
    await customer.wait_for("csat")
    await agent.close()
    return customer


async def test_ops_sees_agent_names_not_ids(chatd: Harness) -> None:
    """The conversation search and the transcript name the agent who handled the chat."""
    op = await chatd.add_agent("Olivia", role="operator")
    customer = await _handled_chat(chatd, await chatd.add_agent("Frank"))
    listed = (await _json(chatd, op, "/api/conversations"))["conversations"]
    assert [c["agent_name"] for c in listed] == ["Frank"]
    one = await _json(chatd, op, f"/api/conversations/{customer.conversation_id}")
    assert one["conversation"]["agent_name"] == "Frank"
    assert one["conversation"]["agent_id"].startswith("ag_")
    await customer.close()


async def test_csv_exports_start_with_a_bom_and_one_row_per_conversation(chatd: Harness) -> None:
    """Both CSV exports start with a UTF-8 BOM (Excel then reads Chinese); rows=conversation gives
    one row per chat with its agent's name, wait, CSAT, tags and subject, times in `tz`, and
    formula-looking cells neutralised."""
    op = await chatd.add_agent("Olivia", role="operator")
    customer = await _handled_chat(chatd, await chatd.add_agent("Frank"))
    status, body, r = await _get(chatd, op, "/api/export?format=csv")
    assert status == 200 and body.startswith("\ufeff".encode())
    assert "charset=utf-8" in r.headers["Content-Type"]
    assert "提现一直在处理中" in body.decode("utf-8-sig")

    status, body, r = await _get(
        chatd, op, "/api/export?format=csv&rows=conversation&tz=Asia/Shanghai"
    )
    assert status == 200 and body.startswith("\ufeff".encode())
    assert "chatd-conversations-" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["conversation_id"] == customer.conversation_id
    assert row["agent_name"] == "Frank" and row["status"] == "closed"
    assert row["csat"] == "4" and row["csat_comment"] == "'=HYPERLINK(1)"
    assert row["subject"] == "提现一直在处理中"
    assert row["tags"] == "'=sum(a1), 提现"  # the server's tags, neutralised
    assert row["wait_s"].isdigit() and row["first_response_s"].isdigit()
    created = dt.datetime.strptime(row["created"], "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")
    )
    assert abs(created.timestamp() - dt.datetime.now(dt.UTC).timestamp()) < 120
    assert row["closed"] >= row["created"]

    for query in (
        "format=csv&rows=bogus",
        "format=jsonl&rows=conversation",
        "format=csv&rows=conversation&tz=Mars/Olympus",
    ):
        status, body, _ = await _get(chatd, op, f"/api/export?{query}")
        assert status == 400, (query, body)
    await customer.close()


async def test_stats_day_follows_the_operators_zone(chatd: Harness) -> None:
    """/api/stats?day=&tz= counts the day from local midnight in that zone (IANA name or minutes
    east of UTC): a chat started now is in today's local date there, in its local hour."""
    op = await chatd.add_agent("Olivia", role="operator")
    customer = await chatd.customer()
    await customer.say("How do I reset my password?")
    await customer.wait_for("message", author="bot")
    now = dt.datetime.now(dt.UTC)
    # UTC+14 and UTC-11: their dates always differ, and at least one differs from UTC's
    for tz, zone in (
        ("Pacific/Kiritimati", zoneinfo.ZoneInfo("Pacific/Kiritimati")),
        ("Pacific/Pago_Pago", zoneinfo.ZoneInfo("Pacific/Pago_Pago")),
        ("840", dt.timezone(dt.timedelta(hours=14))),
        ("-660", dt.timezone(dt.timedelta(hours=-11))),
    ):
        local = now.astimezone(zone)
        stats = await _json(chatd, op, f"/api/stats?day={local.date().isoformat()}&tz={tz}")
        assert stats["conversations"] == 1, (tz, stats)
        hour = next(h for h in stats["hourly"] if h["conversations"])
        assert hour["hour"] in (local.hour, (local.hour - 1) % 24), (tz, hour, local)
        assert stats["tz"] in (tz, "UTC+14:00", "UTC-11:00")
        other = (local - dt.timedelta(days=1)).date().isoformat()
        stats = await _json(chatd, op, f"/api/stats?day={other}&tz={tz}")
        assert stats["conversations"] == 0, (tz, stats)
    default = await _json(chatd, op, "/api/stats")
    assert default["tz"] == "UTC" and default["day"] == now.date().isoformat()
    for bad in ("Mars/Olympus", "../../etc/passwd", "900", "x" * 300):
        status, body, _ = await _get(chatd, op, f"/api/stats?tz={bad}")
        assert status == 400, (bad, body)
    await customer.close()
