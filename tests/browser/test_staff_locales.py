"""The console and /ops in the staff member's language (issue 19 item 4): the browser's language
or the header's picker, Arabic right to left, dates through Intl in that locale, and customer
content never translated. What the scripts assemble (toasts, event labels, the bot's and the
router's words, counts, the Audit and Deliveries tabs) is translated too: no English template
text is left on the page."""

from __future__ import annotations

import re
import socket
import time
import urllib.request
from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import CONFIG, NewPage
from tests.support.server import RunningServer, add_agent, start_server
from tests.unit.test_web_locales import staff_keys

from .pages import W, console_login, open_widget, send_customer

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


@cache
def _english_fragments() -> tuple[str, ...]:
    """The literal words of every template the scripts fill in ("Entered the queue", "joined ·
    waited", "Visitor"): one of them on a translated page means an English sentence was built."""
    keys, _ = staff_keys()
    found = set()
    for key in keys:
        if "{" not in key:
            continue
        for part in re.split(r"\{\w+\}", key):
            part = part.strip(" .,:;·()“”…–—#/")
            if len(re.sub(r"[^A-Za-z]", "", part)) >= 5:
                found.add(part)
    return tuple(sorted(found))


def _english_left(text: str) -> list[str]:
    return [f for f in _english_fragments() if f in text]


def test_console_in_arabic_assembles_its_sentences_in_arabic(
    server: RunningServer, new_page: NewPage, agent_token: str
) -> None:
    """The new-chat toast, the queue/join/bot labels in the conversation, the chat list's wait
    and the details panel read in Arabic, with the customer's own words left as written."""
    agent = new_page(locale="ar")
    _sign_in(
        agent, server.url + "/console", agent_token, "استخدام رمز وصول بدلًا من ذلك", "تسجيل الدخول"
    )
    expect(agent.locator("#conn")).to_have_text("متصل")
    customer = new_page(locale="en-US")
    open_widget(customer, server.url)
    send_customer(customer, "qwzx plover")  # nothing the bot knows
    expect(customer.locator(f"{W} .m.bot")).to_have_count(2)
    customer.locator(f"{W} .hb").click()
    toast = agent.locator("#toast")
    expect(toast).to_contain_text("أُسندت إليك محادثة جديدة: زائر ")
    timeline = agent.locator("#timeline")
    expect(timeline.locator(".ev.sys").filter(has_text="دخل قائمة الانتظار")).to_have_count(1)
    expect(timeline.locator(".ev.sys").filter(has_text="انضم Anna")).to_have_count(1)
    expect(timeline.locator(".ev.msg.bot .ev-meta").first).to_contain_text("الروبوت")
    expect(timeline.locator(".ev.msg.customer .bubble")).to_have_text("qwzx plover")
    expect(agent.locator("#chat-list .ci-meta")).to_contain_text("ينتظر منذ")
    expect(agent.locator("#facts")).to_contain_text("غير موثَّق")
    page_text = " ".join(
        agent.locator(sel).inner_text() for sel in ("#toast", "#timeline", "#chat-list", "#details")
    )
    assert _english_left(page_text) == [], page_text
    assert agent.js_errors == []  # type: ignore[attr-defined]


def test_ops_in_japanese_assembles_its_sentences_in_japanese(
    server: RunningServer, new_page: NewPage, agent_token: str, operator_token: str
) -> None:
    """/ops in Japanese: the KPIs' day and ratings count, the transcript's event labels and
    routing words, and the Audit tab's entries and count."""
    agent = new_page()
    console_login(agent, server.url, agent_token)
    customer = new_page()
    open_widget(customer, server.url)
    send_customer(customer, "hello")
    expect(customer.locator(f"{W} .m.bot")).to_have_count(2)
    customer.locator(f"{W} .hb").click()
    expect(agent.locator("#conv-main")).to_be_visible()
    ops = new_page(locale="ja-JP")
    _sign_in(ops, server.url + "/ops", operator_token, "アクセストークンを使う", "サインイン")
    kpis = ops.locator("#kpis")
    expect(kpis).to_contain_text("評価 0 件")
    expect(kpis.locator(".kpi-n").first).to_have_text(re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$"))
    ops.locator("#tab-conversations").click()
    ops.locator("#results tbody tr").first.click()
    events = ops.locator("#transcript-events")
    expect(events.locator(".k-queued")).to_contain_text("待ち行列に追加: オペレーターを希望")
    expect(events.locator(".k-assigned")).to_contain_text("Anna が参加")
    expect(events.locator(".k-assigned .e-data")).to_contain_text("Anna に割り当て: ")
    expect(events.locator(".k-assigned .e-data")).to_contain_text("英語対応")
    assert _english_left(events.inner_text()) == [], events.inner_text()
    ops.locator("#tab-audit").click()
    audit = ops.locator("#audit-table tbody")
    expect(audit.locator("tr").filter(has_text="トランスクリプトを閲覧")).to_have_count(1)
    expect(ops.locator("#audit-msg")).to_have_text(re.compile(r"^\d+ 件、新しい順。$"))
    assert _english_left(ops.locator("#view-audit").inner_text()) == []
    assert ops.js_errors == []  # type: ignore[attr-defined]


def test_deliveries_tab_in_japanese(tmp_path: Path, new_page: NewPage) -> None:
    """A webhook that keeps failing: the Deliveries tab's count, channel and Retry in Japanese."""
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
        open_widget(new_page(), server.url)  # one conversation.created call
        request = urllib.request.Request(
            server.url + "/api/deliveries?state=failing",
            headers={"Authorization": f"Bearer {token}"},
        )
        deadline = time.monotonic() + 30
        while b'"receiver"' not in urllib.request.urlopen(request, timeout=10).read():
            assert time.monotonic() < deadline, "the call never counted as failing"
            time.sleep(0.3)
        ops = new_page(locale="ja-JP")
        _sign_in(ops, server.url + "/ops", token, "アクセストークンを使う", "サインイン")
        ops.locator("#tab-deliveries").click()
        expect(ops.locator("#deliveries-msg")).to_have_text(
            "1 件の配信が失敗し続けています。受け付けられるまで間隔を空けて再試行されます。"
        )
        row = ops.locator("#deliveries-table tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Webhook")
        row.get_by_role("button", name="今すぐ再試行").click()
        expect(row.get_by_role("button").first).to_have_text("再試行を予約しました")
        # the row's event type (conversation.created) and error are data, not sentences
        said = (
            ops.locator("#deliveries-msg").inner_text()
            + row.get_by_role("button").first.inner_text()
        )
        assert _english_left(said) == [], said
        assert ops.js_errors == []  # type: ignore[attr-defined]
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("locale", "ratings"),
    [("ru-RU", "0 оценок"), ("ar", "لا تقييمات"), ("es-ES", "0 valoraciones")],
)
def test_counts_take_the_languages_plural_form(
    server: RunningServer, new_page: NewPage, operator_token: str, locale: str, ratings: str
) -> None:
    """No ratings yet: Russian's "many" form, Arabic's "zero" form, Spanish's plural, each as
    Intl.PluralRules picks it for 0."""
    ops = new_page(locale=locale)
    ops.goto(server.url + "/ops")
    ops.evaluate("(t) => sessionStorage.setItem('chatd.ops.token', t)", operator_token)
    ops.reload()
    expect(ops.locator("#kpis .kpi").last.locator(".kpi-n")).to_have_text(ratings)
    assert ops.js_errors == []  # type: ignore[attr-defined]
