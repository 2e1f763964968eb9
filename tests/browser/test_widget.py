"""The customer widget against a real chatd: bot answers, queue card, locale, safety, isolation,
earlier conversations of verified customers."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import CONFIG
from tests.browser.pages import (
    W,
    console_login,
    customer_bubbles,
    end_chat,
    open_widget,
    send_customer,
)
from tests.support.server import RunningServer, add_agent, start_server

pytestmark = pytest.mark.browser

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_faq_question_gets_a_bot_answer(server: RunningServer, new_page) -> None:
    """A known question is answered by the bot at once and the own message turns 'Sent'."""
    page: Page = new_page()
    open_widget(page, server.url)
    send_customer(page, "How do I reset my password?")
    expect(customer_bubbles(page).last).to_have_text("How do I reset my password?")
    expect(page.locator(f"{W} .m.me .meta").last).to_contain_text("Sent")
    answer = page.locator(f"{W} .m.bot .b").last
    expect(answer).to_contain_text(re.compile("password", re.I))
    expect(answer).to_contain_text("Forgot password")
    assert page.js_errors == []


def test_quick_reply_chip_sends_its_intent_and_gets_that_answer(
    server: RunningServer, new_page
) -> None:
    """Tapping a suggestion chip sends its title with the intent id; the bot answers that intent."""
    page: Page = new_page()
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f))))
    open_widget(page, server.url)
    chips = page.locator(f"{W} .chips .chip")
    expect(chips.first).to_be_visible()
    title = chips.first.inner_text()
    chips.first.click()
    expect(customer_bubbles(page).last).to_have_text(title)
    expect(page.locator(f"{W} .m.bot")).to_have_count(2)
    assert any('"intent"' in f and title in f for f in sent), sent
    expect(page.locator(f"{W} .m.me .meta").last).to_contain_text("Sent")


def test_chinese_browser_locale_gives_chinese_ui_and_answers(
    server: RunningServer, new_page
) -> None:
    """With a zh-CN browser the widget speaks Chinese and the bot answers in Chinese."""
    page: Page = new_page(locale="zh-CN")
    page.goto(server.url + "/demo")
    launcher = page.locator(f"{W} .launch")
    expect(launcher).to_have_attribute("aria-label", "打开客服聊天")
    launcher.click()
    greeting = page.locator(f"{W} .m.bot .b").first
    expect(greeting).to_contain_text(CJK)
    expect(page.locator(f"{W} .comp textarea")).to_have_attribute("placeholder", "输入消息…")
    expect(page.locator(f"{W} .hb")).to_have_text("转人工客服")
    send_customer(page, "怎么重置密码")
    expect(page.locator(f"{W} .m.bot")).to_have_count(2)
    answer = page.locator(f"{W} .m.bot .b").last.inner_text()
    assert CJK.search(answer), answer
    expect(page.locator(f"{W} .m.me .meta").last).to_contain_text("已发送")


def test_data_locale_overrides_the_browser_language(
    server: RunningServer, new_page, host_site
) -> None:
    """data-locale="zh" on the script tag wins over an English browser."""
    page: Page = new_page(locale="en-US")
    html = (
        "<!doctype html><title>host</title><p>Host page</p>"
        f'<script src="{server.url}/widget.js" async data-server="{server.url}"'
        ' data-locale="zh"></script>'
    )
    page.goto(host_site.page("/", html))
    expect(page.locator(f"{W} .launch")).to_have_attribute("aria-label", "打开客服聊天")


def test_html_and_script_payloads_are_shown_as_text(server: RunningServer, new_page) -> None:
    """Markup typed by a customer is displayed literally and never executed."""
    page: Page = new_page()
    open_widget(page, server.url)
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'
    send_customer(page, payload)
    bubble = customer_bubbles(page).last
    expect(bubble).to_have_text(payload)
    expect(page.locator(f"{W} .m.me .meta").last).to_contain_text("Sent")
    expect(page.locator(f"{W} .m.bot")).to_have_count(2)
    assert page.locator(f"{W} .m img, {W} .m script, {W} .m b").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.js_errors == []


AGGRESSIVE_CSS = """
* { all: unset; font-size: 40px !important; display: inline !important; color: red !important;
    line-height: 3 !important; position: static !important; }
div { display: none !important; }
button { width: 5px !important; height: 5px !important; background: lime !important; }
textarea, input { font-size: 2px !important; }
chatd-widget { display: none; opacity: 0.1 !important; }
"""


def _widget_geometry(page: Page) -> dict[str, object]:
    launcher = page.locator(f"{W} .launch")
    launcher.click()
    expect(page.locator(f"{W} .m.bot").first).to_be_visible()
    return {
        "launcher": launcher.bounding_box(),
        "panel": page.locator(f"{W} .panel").bounding_box(),
        "bubble_font": page.locator(f"{W} .m.bot .b").first.evaluate(
            "e => getComputedStyle(e).fontSize"
        ),
        "input": page.locator(f"{W} .comp textarea").bounding_box(),
        "chips_display": page.locator(f"{W} .chips").first.evaluate(
            "e => getComputedStyle(e).display"
        ),
    }


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 860}])
def test_aggressive_host_css_does_not_change_the_widget(
    server: RunningServer, new_page, host_site, viewport
) -> None:
    """A host page whose CSS resets and hides everything leaves the widget as on a plain page."""

    def host(css: str) -> str:
        return (
            f"<!doctype html><html><head><style>{css}</style></head><body><div>Host content</div>"
            f'<script src="{server.url}/widget.js" async data-server="{server.url}"></script>'
            "</body></html>"
        )

    plain = new_page(viewport=viewport)
    plain.goto(host_site.page("/plain", host("")))
    expected = _widget_geometry(plain)

    hostile = new_page(viewport=viewport)
    hostile.goto(host_site.page("/hostile", host(AGGRESSIVE_CSS)))
    got = _widget_geometry(hostile)
    assert got == expected
    # and it still works there
    send_customer(hostile, "withdrawal fees")
    expect(hostile.locator(f"{W} .m.bot")).to_have_count(2)


def test_failed_message_is_retried_with_the_same_cid(server: RunningServer, new_page) -> None:
    """A message the server refused shows 'Not sent' + Retry; Retry re-sends the same cid once."""
    page: Page = new_page()
    sent: list[dict[str, object]] = []

    def relay(ws) -> None:
        upstream = ws.connect_to_server()
        refused: set[str] = set()

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            sent.append(frame)
            if frame.get("text") == "please fail once" and not refused:
                refused.add(str(frame["cid"]))
                ws.send(
                    json.dumps(
                        {
                            "type": "error",
                            "code": "unavailable",
                            "message": "busy",
                            "ref": frame["cid"],
                        }
                    )
                )
                return
            upstream.send(message)

        ws.on_message(from_page)

    page.route_web_socket(re.compile(r".*/ws/customer$"), relay)
    open_widget(page, server.url)
    send_customer(page, "please fail once")
    meta = page.locator(f"{W} .m.me .meta").last
    expect(meta).to_contain_text("Not sent")
    meta.get_by_role("button", name="Retry").click()
    expect(meta).to_contain_text("Sent")
    expect(page.locator(f"{W} .m.bot")).to_have_count(2)
    cids = [f["cid"] for f in sent if f.get("type") == "message"]
    assert len(cids) == 2 and cids[0] == cids[1]
    assert customer_bubbles(page).filter(has_text="please fail once").count() == 1


IDENTITY_SECRET = "browser-identity-key"


@pytest.fixture
def identity_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A chatd that verifies customers: user_hash = HMAC-SHA256(IDENTITY_SECRET, user_id)."""
    srv = start_server(
        tmp_path / "data",
        config_text=CONFIG + f'[security]\nidentity_secret = "{IDENTITY_SECRET}"\n',
    )
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def _signed_in_page(server: RunningServer, host_site, user_id: str, user_hash: str) -> str:
    """A host page of a site that passes its signed-in user to the widget."""
    html = (
        "<!doctype html><title>host</title><p>Signed in</p>"
        f'<script src="{server.url}/widget.js" async data-server="{server.url}"'
        f' data-user-id="{user_id}" data-user-hash="{user_hash}"></script>'
    )
    return host_site.page(f"/{user_id}/{user_hash[:8]}", html)


def test_verified_customer_reads_an_earlier_conversation(
    identity_server: RunningServer, new_page, host_site
) -> None:
    """A verified customer finds an ended chat under 'Earlier conversations' and reads it
    read-only, then goes back; an unverified customer (same user id, wrong hash) sees no list."""
    user_hash = hmac.new(IDENTITY_SECRET.encode(), b"u-2001", hashlib.sha256).hexdigest()
    url = _signed_in_page(identity_server, host_site, "u-2001", user_hash)

    first: Page = new_page()
    first.goto(url)
    first.locator(f"{W} .launch").click()
    expect(first.locator(f"{W} .m.bot").first).to_be_visible()
    expect(first.locator(f"{W} .ec")).to_be_hidden()  # nothing earlier yet
    send_customer(first, "How do I reset my password?")
    expect(first.locator(f"{W} .m.bot")).to_have_count(2)
    end_chat(first)
    expect(first.locator(f"{W} .sys").filter(has_text="The chat has ended.")).to_be_visible()

    # the same person on another device: a new chat, the ended one listed as earlier
    again: Page = new_page()
    again.goto(url)
    again.locator(f"{W} .launch").click()
    expect(again.locator(f"{W} .m.bot").first).to_be_visible()
    toggle = again.get_by_role("button", name="Earlier conversations")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    earlier = again.locator(f"{W} .el button")
    expect(earlier).to_have_count(1)
    expect(earlier).to_contain_text("Ended")
    expect(earlier).to_contain_text("How do I reset my password?")  # what it was about
    earlier.click()

    past = again.locator(f"{W} .past")
    expect(past.locator(".m.me .b")).to_have_text("How do I reset my password?")
    expect(past.locator(".m.bot")).to_have_count(2)
    expect(past.locator(".m.bot .b").last).to_contain_text("Forgot password")
    expect(past.locator(".sys").last).to_have_text("The chat has ended.")
    expect(past.locator("h3")).to_contain_text("Ended")
    # read-only and separate: the live chat and its composer are out of the way meanwhile
    expect(again.locator(f"{W} .log")).to_be_hidden()
    expect(again.locator(f"{W} .comp")).to_be_hidden()
    back = again.get_by_role("button", name="Back to current chat")
    expect(back).to_be_focused()
    back.press("Enter")
    expect(past).to_be_hidden()
    expect(again.locator(f"{W} .comp textarea")).to_be_visible()
    expect(again.locator(f"{W} .log .m.bot")).to_have_count(1)
    expect(toggle).to_be_focused()
    assert again.js_errors == []

    impostor: Page = new_page()
    impostor.goto(_signed_in_page(identity_server, host_site, "u-2001", "0" * 64))
    impostor.locator(f"{W} .launch").click()
    expect(impostor.locator(f"{W} .m.bot").first).to_be_visible()
    expect(impostor.locator(f"{W} .ec")).to_be_hidden()
    expect(impostor.get_by_role("button", name="Earlier conversations")).to_have_count(0)


def test_agent_reply_while_reading_an_earlier_conversation_is_announced(
    identity_server: RunningServer, new_page, host_site
) -> None:
    """A verified customer waiting for a person reads an earlier chat meanwhile; when the agent
    writes in the current chat, a status banner says so, and Back shows the message."""
    user_hash = hmac.new(IDENTITY_SECRET.encode(), b"u-3001", hashlib.sha256).hexdigest()
    url = _signed_in_page(identity_server, host_site, "u-3001", user_hash)
    token = add_agent(identity_server.data_dir, "Anna")

    first: Page = new_page()
    first.goto(url)
    first.locator(f"{W} .launch").click()
    send_customer(first, "How do I reset my password?")
    expect(first.locator(f"{W} .m.bot")).to_have_count(2)
    end_chat(first)
    expect(first.locator(f"{W} .sys").filter(has_text="The chat has ended.")).to_be_visible()

    agent: Page = new_page()
    console_login(agent, identity_server.url, token)
    cust: Page = new_page()
    cust.goto(url)
    cust.locator(f"{W} .launch").click()
    expect(cust.locator(f"{W} .m.bot").first).to_be_visible()
    cust.locator(f"{W} .hb").click()
    expect(cust.locator(f"{W} .sys").filter(has_text="Anna joined the chat")).to_be_visible()
    expect(agent.locator("#conv-main")).to_be_visible()

    cust.get_by_role("button", name="Earlier conversations").click()
    cust.locator(f"{W} .el button").first.click()
    expect(cust.locator(f"{W} .past")).to_be_visible()
    compose = agent.locator("#compose-text")
    compose.fill("Are you still there?")
    compose.press("Enter")
    banner = cust.locator(f"{W} .banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("New message in the current chat")
    cust.get_by_role("button", name="Back to current chat").click()
    expect(cust.locator(f"{W} .m.agent .b").last).to_have_text("Are you still there?")
    assert cust.js_errors == [] and agent.js_errors == []
