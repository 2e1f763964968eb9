"""/ops as an operator reads it: names instead of ids, the day in the operator's own zone, round
chart ticks, routing in words, CSV that spreadsheets open, one row per conversation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import urllib.error
import urllib.request
import zoneinfo
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import W, console_login, open_widget, ops_login, send_customer
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser


def _answered_chat(server: RunningServer, new_page, agent_token: str) -> None:
    """A customer asks, then gets Anna, who replies."""
    agent = new_page()
    console_login(agent, server.url, agent_token)
    cust = new_page()
    open_widget(cust, server.url)
    send_customer(cust, "How do I reset my password?")
    expect(cust.locator(f"{W} .m.bot")).to_have_count(2)
    cust.locator(f"{W} .hb").click()
    expect(cust.locator(f"{W} .sys").filter(has_text="Anna joined the chat")).to_be_visible()
    agent.locator("#compose-text").fill("Hi, Anna here")
    agent.locator("#compose-text").press("Enter")
    expect(cust.locator(f"{W} .m.agent")).to_have_count(1)


def _tick_values(page: Page, chart: str) -> list[str]:
    return page.locator(f"{chart} svg text.tick").all_text_contents()


def test_ops_shows_names_local_day_round_ticks_and_exports_per_conversation(
    server: RunningServer, new_page, agent_token: str, operator_token: str
) -> None:
    """The dashboard's day is the operator's local day (zone named), count axes have whole,
    evenly spaced ticks, conversations and transcripts name the agent (no ids), the routing
    reason reads as words, and "one row per conversation" downloads a CSV with a UTF-8 BOM."""
    _answered_chat(server, new_page, agent_token)
    ops = new_page(timezone_id="Asia/Shanghai")
    ops_login(ops, server.url, operator_token)
    expect(ops.locator("#day-zone")).to_have_text("(Asia/Shanghai)")
    today = dt.datetime.now(zoneinfo.ZoneInfo("Asia/Shanghai")).date().isoformat()
    expect(ops.locator("#day")).to_have_value(today)
    expect(ops.locator("#kpis .kpi").first).to_contain_text("1")
    for chart, unit in (("#chart-volume", ""), ("#chart-wait", "s")):
        labels = _tick_values(ops, chart)
        assert len(labels) >= 2, labels
        values = [int(v.removesuffix(unit)) for v in labels]  # whole numbers only
        steps = {b - a for a, b in itertools.pairwise(values)}
        assert values[0] == 0 and len(steps) == 1 and steps.pop() > 0, labels

    ops.get_by_role("tab", name="Conversations").click()
    row = ops.locator("#results tbody tr").first
    expect(row).to_contain_text("Anna")
    expect(ops.locator("#results")).not_to_contain_text("ag_")
    expect(ops.locator("#agent-filter option").filter(has_text="Anna")).to_have_count(1)
    expect(ops.locator("#agent-filter")).not_to_contain_text("Olga")
    ops.locator("#agent-filter").select_option(label="Anna")
    ops.get_by_role("button", name="Search").click()
    expect(ops.locator("#results tbody tr")).to_have_count(1)
    row.click()
    facts = ops.locator("#transcript-facts")
    expect(facts).to_contain_text("Anna")
    expect(facts).not_to_contain_text("ag_")
    assigned = ops.locator("#transcript-events .k-assigned .e-data")
    expect(assigned).to_contain_text("routed to Anna: speaks English")
    expect(assigned).not_to_contain_text("language=")

    with ops.expect_download() as download:
        ops.get_by_role("button", name="CSV: one row per conversation").click()
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith("\ufeff".encode()), raw[:20]
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 1 and rows[0]["agent_name"] == "Anna", rows
    created = dt.datetime.strptime(rows[0]["created"], "%Y-%m-%d %H:%M:%S")
    assert created.date().isoformat() == today
    assert ops.js_errors == []


def test_transcript_says_who_closed_the_chat(
    server: RunningServer, new_page, agent_token: str, operator_token: str
) -> None:
    """An agent-closed chat reads "Closed by Anna" in the transcript, not just "by agent"."""
    agent = new_page()
    console_login(agent, server.url, agent_token)
    cust = new_page()
    open_widget(cust, server.url)
    cust.locator(f"{W} .hb").click()
    expect(agent.locator("#conv-main")).to_be_visible()
    agent.get_by_role("button", name="Close chat").click()
    agent.get_by_role("dialog").get_by_role("button", name="Close chat").click()
    expect(agent.locator("#conv-banner")).to_contain_text("closed")
    ops = new_page()
    ops_login(ops, server.url, operator_token)
    ops.get_by_role("tab", name="Conversations").click()
    ops.locator("#results tbody tr").first.click()
    expect(ops.locator("#transcript-events .k-closed")).to_contain_text("Closed by Anna")
    expect(ops.locator("#transcript-facts")).to_contain_text("Closed by Anna")


def test_audit_page_lists_filters_and_exports(
    server: RunningServer, new_page, operator_token: str
) -> None:
    """The Audit tab shows failed sign-ins, filters by action, exports a CSV."""
    bad = urllib.request.Request(
        server.url + "/api/login",
        data=b'{"name": "Olga", "password": "not her password"}',
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        urllib.request.urlopen(bad, timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
    page = new_page(viewport={"width": 1280, "height": 800})
    ops_login(page, server.url, operator_token)
    page.get_by_role("tab", name="Audit").click()
    table = page.locator("#audit-table tbody")
    expect(table.locator("tr").filter(has_text="Failed sign-in")).to_have_count(1)
    page.locator("#audit-filters select[name=action]").select_option("login")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#audit-msg")).to_have_text("Nothing matches.")
    page.locator("#audit-filters select[name=action]").select_option("login_failed")
    page.get_by_role("button", name="Show").click()
    expect(table.locator("tr")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV of these entries").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["time", "actor", "action", "target", "ip"]
    assert [r[1:3] for r in rows[1:]] == [["Olga", "login_failed"]]
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_role("tab", name="Audit")).to_be_visible()
    assert page.js_errors == []


def _failing_deliveries(base_url: str, token: str) -> list[object]:
    import json

    request = urllib.request.Request(
        base_url + "/api/deliveries?state=failing", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return list(json.loads(r.read())["deliveries"])


def test_deliveries_page_lists_failing_webhooks_and_retries_them(tmp_path: Path, new_page) -> None:
    """A webhook receiver that refuses every call shows up on the Deliveries tab; Retry queues
    it again; Give up (after a confirmation) drops it, and the audit trail says so."""
    import socket
    import time

    from tests.browser.conftest import CONFIG
    from tests.support.server import add_agent, start_server

    with socket.socket() as s:  # a port nobody listens on: every call fails to connect
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    config = (
        CONFIG
        + f'[[webhooks]]\nurl = "http://127.0.0.1:{dead}/hook"\n'
        + 'secret = "0123456789abcdef0123"\nevents = ["conversation.created"]\n'
        + "max_retry_interval_s = 0.5\n"
    )
    server = start_server(tmp_path / "data", config_text=config)
    try:
        token = add_agent(server.data_dir, "Olga", role="operator")
        page = new_page(viewport={"width": 1280, "height": 800})
        open_widget(page, server.url)  # a conversation: one conversation.created call
        deadline = time.monotonic() + 30
        while not _failing_deliveries(server.url, token):  # failing after the third attempt
            assert time.monotonic() < deadline, "the call never counted as failing"
            time.sleep(0.3)
        ops_login(page, server.url, token)
        page.get_by_role("tab", name="Deliveries").click()
        row = page.locator("#deliveries-table tbody tr").filter(has_text="conversation.created")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(f"127.0.0.1:{dead}")
        row.get_by_role("button", name="Retry now").click()
        expect(row.get_by_role("button").first).to_have_text("Queued for a retry")
        # Giving up asks first, then the item is gone for good (and audited).
        asked: list[str] = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        row.get_by_role("button", name="Give up").click()
        expect(row.get_by_role("button").last).to_have_text("Given up")
        assert asked and f"127.0.0.1:{dead}" in asked[0]
        assert _failing_deliveries(server.url, token) == []
        page.get_by_role("tab", name="Audit").click()
        expect(page.locator("#audit-table tbody")).to_contain_text("Gave up on a delivery")
        assert page.js_errors == []
    finally:
        server.stop()
