"""What the customer sees in the widget's harder moments: refused by the new-chat limit, nobody
online, ending a chat, long replies, a ticket left, a secret masked, keyboard focus."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

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


_FOCUSED = """() => {
  const host = document.querySelector("chatd-widget");
  const el = host && document.activeElement === host && host.shadowRoot.activeElement;
  const what = el && (el.textContent || el.getAttribute("type") || "");
  return el ? el.tagName + " " + what : "";
}"""


def _focused_in_widget(page: Page, prefix: str = "") -> str:
    """The element focused inside the widget's shadow root, once it starts with ``prefix``.

    Waits (up to 5 s) rather than reading once: the widget moves focus in the frame after it
    renders, which a busy machine can delay past an immediate read. Fails with what has focus
    when focus never arrives (or left the widget: "")."""
    try:
        page.wait_for_function(
            f"() => {{ const f = ({_FOCUSED})(); return f !== '' && f.startsWith({prefix!r}); }}",
            timeout=5000,
        )
    except PlaywrightTimeout:
        pass
    return str(page.evaluate(_FOCUSED))


@pytest.fixture
def limited_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A chatd that lets one address open a single new chat per hour."""
    srv = start_server(
        tmp_path / "data", config_text=CONFIG + "[limits]\nnew_conversations_per_ip = 1\n"
    )
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def test_new_chat_limit_shows_the_reason_and_stops_reconnecting(
    limited_server: RunningServer, new_page
) -> None:
    """Past the per-address new-chat limit the widget says why and when to come back, and does
    not keep reconnecting meanwhile."""
    first = new_page()
    open_widget(first, limited_server.url)

    page = new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(limited_server.url + "/demo")
    page.locator(f"{W} .launch").click()
    banner = page.locator(f"{W} .banner")
    expect(banner).to_contain_text("Too many new chats from your network")
    expect(banner).to_contain_text(re.compile(r"try again in \d+ min"))
    expect(banner).not_to_contain_text("Reconnecting")
    page.wait_for_timeout(3000)
    expect(banner).to_contain_text("Too many new chats")
    assert len(sockets) == 1, sockets
    expect(page.get_by_role("button", name="Retry now")).to_be_hidden()
    assert page.js_errors == []


def test_nobody_online_offers_only_the_ticket_form(server: RunningServer, new_page) -> None:
    """With no agent online, "Talk to a person" shows the ticket form alone (its button in view,
    focus on its first field); the queue card with a place in line does not show, and after
    Cancel the card says nobody is online instead of counting places."""
    for viewport in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
        page = new_page(viewport=viewport)
        open_widget(page, server.url)
        page.locator(f"{W} .hb").focus()
        page.keyboard.press("Enter")
        form = page.locator(f"{W} form.card").filter(has_text="Leave a message")
        expect(form).to_be_visible()
        expect(form).to_contain_text("No one is available right now")
        assert "in line" not in page.locator(f"{W} .panel").inner_text()
        expect(page.locator(f"{W} .dock .card").filter(has_text="line for a person")).to_be_hidden()
        send = form.get_by_role("button", name="Send message")
        box = send.bounding_box()
        assert box is not None and box["y"] + box["height"] <= viewport["height"], box
        focused = _focused_in_widget(page, "INPUT")
        assert focused.startswith("INPUT"), focused

        form.get_by_role("button", name="Cancel").click()
        card = page.locator(f"{W} .dock .card").filter(has_text="line for a person")
        expect(card).to_be_visible()
        expect(card).to_contain_text("No one is online right now")
        expect(card).not_to_contain_text("number")
        expect(card).not_to_contain_text("Agents online")
        assert page.js_errors == []


def test_queue_card_shows_the_place_in_line_while_agents_are_busy(
    server: RunningServer, new_page
) -> None:
    """With the only agent busy, "Talk to a person" shows the live queue card with the place in
    line and no ticket form; "Stop waiting" hands the chat back to the bot."""
    token = add_agent(server.data_dir, "Anna", capacity=1)
    agent = new_page()
    console_login(agent, server.url, token)
    busy = new_page()
    open_widget(busy, server.url)
    busy.locator(f"{W} .hb").click()
    expect(busy.locator(f"{W} .sys").filter(has_text="Anna joined the chat")).to_be_visible()

    page = new_page()
    open_widget(page, server.url)
    page.locator(f"{W} .hb").click()
    card = page.locator(f"{W} .dock .card").filter(has_text="in line for a person")
    expect(card).to_contain_text("You are number 1 in line")
    expect(card).to_contain_text("Agents online: 1")
    expect(page.locator(f"{W} form.card").filter(has_text="Leave a message")).to_be_hidden()
    card.get_by_role("button", name="Stop waiting").click()
    expect(card).to_be_hidden()
    expect(page.locator(f"{W} .hb")).to_be_visible()


def test_end_chat_is_labelled_confirmed_and_only_handled_chats_are_rated(
    server: RunningServer, new_page
) -> None:
    """ "End chat" is a labelled button that asks first ("Keep chatting" changes nothing); a chat
    only the bot answered ends without a rating form, with "Start a new chat" focused."""
    page = new_page()
    open_widget(page, server.url)
    send_customer(page, "How do I reset my password?")
    expect(page.locator(f"{W} .m.bot")).to_have_count(2)
    end = page.locator(f"{W} .head").get_by_role("button", name="End chat")
    expect(end).to_have_text("End chat")
    end.click()
    ask = page.get_by_role("alertdialog")
    expect(ask).to_contain_text("End this chat?")
    ask.get_by_role("button", name="Keep chatting").click()
    expect(ask).to_be_hidden()
    page.wait_for_timeout(300)
    expect(page.locator(f"{W} .sys").filter(has_text="The chat has ended.")).to_have_count(0)

    end.click()
    ask.get_by_role("button", name="End chat").click()
    expect(page.locator(f"{W} .sys").filter(has_text="The chat has ended.")).to_be_visible()
    expect(page.locator(f"{W} form.card").filter(has_text="How was your chat?")).to_be_hidden()
    new_chat = page.get_by_role("button", name="Start a new chat")
    expect(new_chat).to_be_visible()
    expect(new_chat).to_be_focused()


def test_ending_while_queued_warns_about_the_place_in_line(server: RunningServer, new_page) -> None:
    """Ending a chat that waits for a person says the place in line is lost."""
    page = new_page()
    open_widget(page, server.url)
    page.locator(f"{W} .hb").click()
    expect(page.locator(f"{W} form.card").filter(has_text="Leave a message")).to_be_visible()
    page.locator(f"{W} .head").get_by_role("button", name="End chat").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("You will lose your place in line")


def test_long_agent_reply_scrolls_into_view_and_a_cue_shows_when_scrolled_up(
    server: RunningServer, new_page, agent_token: str
) -> None:
    """A reply taller than the chat is scrolled to its start; when the customer has scrolled up,
    a "New message" cue appears instead and takes them down."""
    agent = new_page()
    console_login(agent, server.url, agent_token)
    cust = new_page(viewport={"width": 1280, "height": 800})
    open_widget(cust, server.url)
    send_customer(cust, "How do I reset my password?")
    expect(cust.locator(f"{W} .m.bot")).to_have_count(2)
    cust.locator(f"{W} .hb").click()
    expect(cust.locator(f"{W} .sys").filter(has_text="Anna joined the chat")).to_be_visible()
    compose = agent.locator("#compose-text")
    long_reply = "Here is what to check first. " + "Step by step, slowly. " * 80
    compose.fill(long_reply)
    compose.press("Enter")
    bubble = cust.locator(f"{W} .m.agent .b").last
    expect(bubble).to_contain_text("Here is what to check first.")
    cust.wait_for_timeout(400)
    log_box = cust.locator(f"{W} .log").bounding_box()
    top = bubble.bounding_box()
    assert log_box and top
    assert log_box["y"] <= top["y"] < log_box["y"] + log_box["height"], (log_box, top)

    cust.locator(f"{W} .log").evaluate("e => { e.scrollTop = 0; }")
    cust.wait_for_timeout(200)
    compose.fill("One more thing")
    compose.press("Enter")
    cue = cust.get_by_role("button", name="New message")
    expect(cue).to_be_visible()
    cue.click()
    expect(cue).to_be_hidden()
    expect(cust.locator(f"{W} .m.agent .b").last).to_be_in_viewport()
    assert cust.js_errors == []


def test_after_a_ticket_the_widget_says_what_comes_next(server: RunningServer, new_page) -> None:
    """A left ticket ends in a card that says an answer comes here and offers a new chat."""
    page = new_page()
    open_widget(page, server.url)
    page.locator(f"{W} .hb").click()
    form = page.locator(f"{W} form.card").filter(has_text="Leave a message")
    form.locator("input").fill("alice@example.com")
    form.locator("textarea").fill("My withdrawal is stuck")
    form.get_by_role("button", name="Send message").click()
    created = page.locator(f"{W} .sys").filter(has_text=re.compile(r"Ticket #\d+ created"))
    expect(created).to_be_visible()
    card = page.locator(f"{W} .dock div.card").filter(has_text="We'll answer here")
    expect(card).to_be_visible()
    expect(card).to_contain_text("come back any time, or add details below")
    assert _focused_in_widget(page) != ""
    card.get_by_role("button", name="Start a new chat").click()
    expect(card).to_be_hidden()
    expect(page.locator(f"{W} .m.bot")).to_have_count(1)
    expect(page.locator(f"{W} .hb")).to_be_visible()


def test_agent_closing_keeps_focus_in_the_widget_on_the_rating(
    server: RunningServer, new_page, agent_token: str
) -> None:
    """When the agent closes the chat while the customer is typing, focus moves to the rating
    form (a person handled this chat), not to the page."""
    agent = new_page()
    console_login(agent, server.url, agent_token)
    cust = new_page()
    open_widget(cust, server.url)
    cust.locator(f"{W} .hb").click()
    expect(cust.locator(f"{W} .sys").filter(has_text="Anna joined the chat")).to_be_visible()
    cust.locator(f"{W} .comp textarea").focus()
    agent.get_by_role("button", name="Close chat").click()
    agent.get_by_role("dialog").get_by_role("button", name="Close chat").click()
    expect(cust.locator(f"{W} form.card").filter(has_text="How was your chat?")).to_be_visible()
    cust.wait_for_timeout(300)
    focused = _focused_in_widget(cust, "INPUT radio")
    assert focused.startswith("INPUT radio"), focused


def test_masked_secret_gives_one_localised_notice_and_a_chip(
    server: RunningServer, new_page
) -> None:
    """A Chinese customer pasting an English seed phrase gets one notice, in Chinese; the message
    shows a "secret hidden" chip, never the raw placeholder."""
    page = new_page(locale="zh-CN")
    open_widget(page, server.url)
    phrase = "abandon ability able about above absent absorb abstract absurd abuse access accident"
    send_customer(page, f"my seed is {phrase}")
    expect(page.locator(f"{W} .m.bot")).to_have_count(2)
    notice = page.locator(f"{W} .log .warn")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("助记词")
    expect(notice).to_contain_text(CJK)
    expect(notice).not_to_contain_text("For your safety")
    bubble = customer_bubbles(page).last
    expect(bubble.locator(".sec")).to_have_text("已隐藏的敏感信息")
    expect(page.locator(f"{W} .log")).not_to_contain_text("[redacted")
    expect(bubble).not_to_contain_text("abandon")
    assert page.js_errors == []


def test_transcript_uses_local_time_and_names_the_zone(server: RunningServer, new_page) -> None:
    """The downloaded transcript names the time zone, stamps lines in the local time the chat
    shows, and writes events such as the end of the chat as system lines, without a speaker."""
    # en-GB: the widget shows times as the browser's English does (Intl), here 24-hour
    page = new_page(locale="en-GB", timezone_id="Asia/Shanghai")
    open_widget(page, server.url)
    send_customer(page, "How do I reset my password?")
    expect(page.locator(f"{W} .m.bot")).to_have_count(2)
    shown = page.locator(f"{W} .m.me time").last.inner_text()
    end_chat(page)
    expect(page.locator(f"{W} .sys").filter(has_text="The chat has ended.")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download transcript").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert "Times are local (Asia/Shanghai, GMT+8)." in lines[:3], lines
    mine = next(line for line in lines if "You: How do I reset my password?" in line)
    assert re.match(r"^\[\d{4}-\d\d-\d\d (\d\d:\d\d):\d\d\] ", mine), mine
    assert mine[12:17] == shown, (mine, shown)
    ended = [line for line in lines if "The chat has ended." in line]
    assert len(ended) == 1 and re.match(r"^\[[-\d :]+\] — The chat has ended\.$", ended[0]), ended


def test_the_link_in_a_follow_up_email_reopens_the_conversation(
    server: RunningServer, new_page
) -> None:
    """A ticket answer's email links to `<public_url>/?chatd_resume=<token>`: opened on another
    device, the widget opens by itself on that conversation; the token leaves the address bar."""
    first = new_page()
    open_widget(first, server.url)
    send_customer(first, "my deposit from yesterday is missing")
    expect(first.locator(f"{W} .m.me").filter(has_text="deposit from yesterday")).to_be_visible()
    token = first.evaluate(
        "() => { for (const k of Object.keys(localStorage)) if (k.startsWith('chatd:'))"
        " return JSON.parse(localStorage.getItem(k)).token; }"
    )
    assert token
    phone = new_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{server.url}/?chatd_resume={token}")
    expect(phone.locator(f"{W} .m.me").filter(has_text="deposit from yesterday")).to_be_visible()
    assert "chatd_resume" not in phone.url
    assert phone.js_errors == []


def test_the_customer_emails_themselves_the_transcript(tmp_path: Path, new_page) -> None:
    """The envelope button: an address, Send, "Sent to ..."; the mail arrives at a real SMTP
    server with the conversation in it. A server without email says so."""
    import time

    from aiosmtpd.controller import Controller

    from tests.support.server import free_port

    got: list[bytes] = []

    class Inbox:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            got.append(envelope.content)  # type: ignore[attr-defined]
            return "250 OK"

    port = free_port()
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=port)
    smtp.start()
    config = CONFIG + (
        '[email]\nsmtp_host = "127.0.0.1"\n'
        f'smtp_port = {port}\nfrom_address = "support@example.com"\n'
        "max_retry_interval_s = 0.5\n"
    )
    config = config.replace("[server]\n", '[server]\npublic_url = "https://chat.example.com"\n', 1)
    server = start_server(tmp_path / "data", config_text=config)
    try:
        page = new_page(viewport={"width": 390, "height": 844})
        open_widget(page, server.url)
        send_customer(page, "where is my withdrawal W-1042?")
        expect(customer_bubbles(page).filter(has_text="W-1042")).to_be_visible()
        page.locator(W).get_by_role("button", name="Email me this chat").click()
        page.locator(W).get_by_label("Your email address").fill("me@example.com")
        page.locator(f"{W} form.mc").get_by_role("button", name="Send").click()
        expect(page.locator(f"{W} form.mc p")).to_contain_text("Sent to me@example.com")
        deadline = time.monotonic() + 20
        while not got:
            assert time.monotonic() < deadline, "no transcript mail arrived"
            time.sleep(0.1)
        assert b"W-1042" in got[0]
        assert page.js_errors == []
    finally:
        server.stop()
        smtp.stop()


def test_without_email_the_widget_says_it_cannot_send_one(server: RunningServer, new_page) -> None:
    page = new_page()
    open_widget(page, server.url)
    send_customer(page, "hello")
    expect(customer_bubbles(page).filter(has_text="hello")).to_be_visible()
    page.locator(W).get_by_role("button", name="Email me this chat").click()
    page.locator(W).get_by_label("Your email address").fill("me@example.com")
    page.locator(f"{W} form.mc").get_by_role("button", name="Send").click()
    expect(page.locator(f"{W} form.mc p")).to_have_text("Email is not available here.")
