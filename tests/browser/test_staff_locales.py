"""The console and /ops in the staff member's language (issue 19 item 4): the browser's language
or the header's picker, Arabic right to left, dates through Intl in that locale, and customer
content never translated."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import NewPage
from tests.support.server import RunningServer

from .pages import W, open_widget, send_customer

pytestmark = pytest.mark.browser


def _sign_in(page: Page, url: str, token: str, use_token: str, sign_in: str) -> None:
    """Sign in with a token, the buttons named in the page's language."""
    page.goto(url)
    page.get_by_role("button", name=use_token).click()
    page.locator("#token").fill(token)
    page.get_by_role("button", name=sign_in).click()


def test_console_in_arabic_is_right_to_left(
    server: RunningServer, new_page: NewPage, agent_token: str, tmp_path: Path
) -> None:
    """An Arabic browser: the console in Arabic, mirrored (the chat list on the right), the
    customer's own words left as written, and the picker back to English."""
    agent = new_page(locale="ar")
    _sign_in(
        agent, server.url + "/console", agent_token, "استخدام رمز وصول بدلًا من ذلك", "تسجيل الدخول"
    )
    expect(agent.locator("#conn")).to_have_text("متصل")
    html = agent.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    expect(agent.locator("#tab-chats")).to_contain_text("المحادثات")
    expect(agent.locator("#logout")).to_have_text("تسجيل الخروج")
    assert agent.title() == "chatd · لوحة الموظفين"
    customer = new_page(locale="en-US")
    open_widget(customer, server.url)
    send_customer(customer, "Close")  # the same as a console button: still not translated
    customer.locator(f"{W} .hb").click()
    expect(agent.locator(".chat-list li")).to_have_count(1)
    agent.locator(".chat-list li button").first.click()
    bubble = agent.locator(".ev.msg.customer .bubble").filter(has_text="Close")
    expect(bubble).to_have_text("Close")
    expect(agent.locator("#close-conv")).to_have_text("إغلاق المحادثة")
    chats = agent.locator("#view-chats .list").bounding_box()
    conv = agent.locator("#conv").bounding_box()
    assert chats and conv and chats["x"] > conv["x"]  # the list is on the right
    agent.screenshot(path=str(tmp_path / "console-ar.png"))
    agent.set_viewport_size({"width": 390, "height": 760})
    agent.screenshot(path=str(tmp_path / "console-ar-phone.png"))
    agent.set_viewport_size({"width": 1280, "height": 860})
    agent.locator(".locale-pick").select_option("en")
    expect(agent.locator("#logout")).to_have_text("Sign out")
    expect(agent.locator("html")).to_have_attribute("dir", "ltr")
    assert agent.js_errors == []  # type: ignore[attr-defined]


def test_ops_in_japanese(
    server: RunningServer, new_page: NewPage, operator_token: str, tmp_path: Path
) -> None:
    """A Japanese browser: /ops in Japanese, with the conversation's date as Japanese Intl
    writes it (year/month/day)."""
    customer = new_page()
    open_widget(customer, server.url)
    send_customer(customer, "hello")
    expect(customer.locator(f"{W} .m.bot")).to_have_count(2)
    ops = new_page(locale="ja-JP")
    _sign_in(ops, server.url + "/ops", operator_token, "アクセストークンを使う", "サインイン")
    expect(ops.locator("#app")).to_be_visible()
    expect(ops.locator("html")).to_have_attribute("lang", "ja-JP")
    expect(ops.locator("#tab-dashboard")).to_have_text("ダッシュボード")
    expect(ops.locator("#logout")).to_have_text("サインアウト")
    ops.locator("#tab-conversations").click()
    expect(ops.locator("#tab-conversations")).to_have_text("会話")
    row = ops.locator("#results tbody tr").first
    expect(row).to_be_visible()
    assert ops.evaluate("() => new Intl.DateTimeFormat().resolvedOptions().locale") == "ja-JP"
    expect(row).to_contain_text("/")  # 2026/12/03 16:05, not Dec 3, 2026
    ops.screenshot(path=str(tmp_path / "ops-ja.png"))
    assert ops.js_errors == []  # type: ignore[attr-defined]
