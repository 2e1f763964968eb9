"""Replies by email from the widget: "Email me the reply" on the queue card, then the customer
leaves and the answer arrives at a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from tests.browser.conftest import CONFIG
from tests.browser.pages import W, console_login, open_widget
from tests.support.server import RunningServer, add_agent, free_port, start_server


class _Inbox:
    def __init__(self) -> None:
        self.got: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.got.append(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def mailing(tmp_path: Path) -> Iterator[tuple[RunningServer, _Inbox]]:
    inbox = _Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    config = CONFIG + (
        f'[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\n'
        'from_address = "support@example.com"\nmax_retry_interval_s = 0.5\n'
        "notify_after_s = 1.0\n"
    )
    config = config.replace("[server]\n", '[server]\npublic_url = "https://chat.example.com"\n', 1)
    server = start_server(tmp_path / "data", config_text=config)
    try:
        yield server, inbox
    finally:
        server.stop()
        smtp.stop()


def _post_as_integration(server: RunningServer, conversation_id: str, text: str) -> None:
    """A message from the exchange's own systems (an integration token), as staff replies do."""
    args = [sys.executable, "-m", "chatd", "tokens", "create", "crm", "--scope", "messages:write"]
    out = subprocess.run(
        [*args, "--data-dir", str(server.data_dir)], capture_output=True, text=True, check=True
    ).stdout
    token = next(line.removeprefix("token: ") for line in out.splitlines() if "token: " in line)
    request = urllib.request.Request(
        f"{server.url}/api/conversations/{conversation_id}/messages",
        data=json.dumps({"text": text}).encode(),
        headers={"Authorization": f"Bearer {token.strip()}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def test_a_waiting_customer_leaves_an_address_and_gets_the_reply_by_email(
    mailing: tuple[RunningServer, _Inbox], new_page
) -> None:
    server, inbox = mailing
    token = add_agent(server.data_dir, "Anna", capacity=1)
    console_login(new_page(), server.url, token)
    busy = new_page()
    open_widget(busy, server.url)
    busy.locator(f"{W} .hb").click()
    expect(busy.locator(f"{W} .sys").filter(has_text="Anna joined the chat")).to_be_visible()

    page = new_page(viewport={"width": 390, "height": 844})
    open_widget(page, server.url)
    page.locator(f"{W} .hb").click()
    card = page.locator(f"{W} .dock .card").filter(has_text="in line for a person")
    card.get_by_role("button", name="Email me the reply").click()
    form = page.locator(f"{W} form.mc")
    expect(form.get_by_label("Email me new replies if I leave")).to_be_checked()
    expect(form.get_by_label("Email me this chat now")).not_to_be_checked()
    form.get_by_label("Your email address").fill("me@example.com")
    form.get_by_role("button", name="Send").click()
    expect(form.locator("p")).to_have_text("If you leave, new replies go to me@example.com.")
    page.screenshot(path=str(server.data_dir.parent / "widget-email-replies-390.png"))
    conversation_id = page.evaluate(
        "() => { for (const k of Object.keys(localStorage)) if (k.startsWith('chatd:'))"
        " return JSON.parse(localStorage.getItem(k)).conv; }"
    )
    assert conversation_id and page.js_errors == []
    page.context.close()  # the customer leaves

    _post_as_integration(server, conversation_id, "Your withdrawal W-1042 was processed.")
    deadline = time.monotonic() + 20
    while not inbox.got:
        assert time.monotonic() < deadline, "no reply by email arrived"
        time.sleep(0.1)
    assert b"W-1042 was processed" in inbox.got[0] and b"To: me@example.com" in inbox.got[0]
