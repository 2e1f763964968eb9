"""Regenerate docs/screenshots/: widget (desktop + 360 px phone), agent console (desktop and
1,024 px with the details drawer), ops dashboard and a transcript.

Starts a fresh chatd on a free port in a temporary directory, seeds some traffic through real
WebSocket clients (deflected FAQ chats, handed-off chats closed with CSAT, a ticket), then drives
Debian's Chromium with Playwright to take the pictures.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.server import RunningServer, add_agent, start_server  # noqa: E402

CONFIG = '[server]\nallowed_origins = ["*"]\nshutdown_timeout_s = 1.0\n'
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
W = "chatd-widget"


# ---------------------------------------------------------------- seeding over real sockets
def ws(server: RunningServer, path: str) -> ClientConnection:
    return connect(
        server.ws_url + path,
        subprotocols=[Subprotocol("chatd.v1")],
        origin=Origin(server.url),
        open_timeout=5,
    )


def send(conn: ClientConnection, frame: dict[str, Any]) -> None:
    conn.send(json.dumps(frame))


def wait_for(conn: ClientConnection, pred: Any, timeout: float = 5) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while True:
        try:
            frame = json.loads(conn.recv(timeout=max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            raise TimeoutError(f"no matching frame in {timeout}s; got {seen}") from None
        if pred(frame):
            return frame
        seen.append(frame)


_cid = 0


def cid() -> str:
    global _cid
    _cid += 1
    return f"seed-{_cid}"


def customer(stack: ExitStack, server: RunningServer, locale: str = "en") -> ClientConnection:
    conn = stack.enter_context(ws(server, "/ws/customer"))
    send(conn, {"type": "hello", "locale": locale})
    wait_for(conn, lambda f: f["type"] == "welcome")
    return conn


def ask(conn: ClientConnection, text: str) -> dict[str, Any]:
    send(conn, {"type": "message", "cid": cid(), "text": text})
    return wait_for(
        conn,
        lambda f: f.get("type") == "message" and f.get("author") == "bot" and f.get("seq", 0) > 1,
    )


def seed(server: RunningServer, ben_token: str) -> None:
    with ExitStack() as stack:
        # a customer who could not wait: nobody online yet, so they leave a ticket
        c = customer(stack, server)
        ask(c, "my withdrawal is stuck")
        send(c, {"type": "request_human", "cid": cid()})
        wait_for(c, lambda f: f.get("type") == "ticket_offered")
        text = "My BTC withdrawal has been pending for 3 hours."
        send(c, {"type": "create_ticket", "cid": cid(), "contact": "mei@example.com", "text": text})
        wait_for(c, lambda f: f.get("type") == "ticket_created")

        # deflected: the bot answered and the customer ended the chat
        for text, loc in [
            ("How do I reset my password?", "en"),
            ("what are the trading fees", "en"),
            ("How long does KYC verification take?", "en"),
            ("怎么重置密码", "zh"),
            ("deposit not credited", "en"),
            ("withdrawal fee for USDT", "en"),
            ("提现手续费是多少", "zh"),
            ("is there a minimum deposit", "en"),
        ]:
            c = customer(stack, server, loc)
            ask(c, text)
            send(c, {"type": "close", "cid": cid()})
            wait_for(c, lambda f: f.get("type") == "closed")

        # two customers wait a few seconds before Ben comes online: something for the wait chart
        waiting = []
        for question in ["I lost my 2FA phone", "deposit missing after 2 hours"]:
            c = customer(stack, server)
            ask(c, question)
            send(c, {"type": "request_human", "cid": cid()})
            waiting.append(c)
        time.sleep(3)
        ben = stack.enter_context(ws(server, "/ws/agent"))
        send(ben, {"type": "hello", "token": ben_token, "status": "online"})
        wait_for(ben, lambda f: f["type"] == "welcome")
        c = customer(stack, server)
        ask(c, "my account was hacked, please help")
        send(c, {"type": "request_human", "cid": cid()})
        waiting.append(c)
        for _ in waiting:
            got = wait_for(ben, lambda f: isinstance(f.get("conversation"), dict), timeout=10)
            conv = got["conversation"]["conversation_id"]
            time.sleep(0.3)
            reply = "Hi, Ben here. I'm checking this for you now."
            send(ben, {"type": "message", "cid": cid(), "conversation_id": conv, "text": reply})
            send(ben, {"type": "close", "cid": cid(), "conversation_id": conv})
        for c, (score, comment) in zip(
            waiting, [(5, "Fast and friendly"), (3, "Took a while"), (4, None)], strict=True
        ):
            wait_for(c, lambda f: f.get("type") == "closed")
            # chatd publishes "closed" just before it stores the status; a rating sent in that gap
            # is refused with invalid_state (reported), so give it a moment like a person would
            time.sleep(0.3)
            frame: dict[str, Any] = {"type": "csat", "cid": cid(), "score": score}
            if comment:
                frame["comment"] = comment
            send(c, frame)
            wait_for(c, lambda f: f.get("type") == "csat")
        send(ben, {"type": "set_status", "status": "away"})


# ---------------------------------------------------------------- pictures
def open_widget(page: Page, server: RunningServer) -> None:
    page.goto(server.url + "/demo")
    page.locator(f"{W} .launch").click()
    expect(page.locator(f"{W} .m.bot").first).to_be_visible()


def say(page: Page, text: str) -> None:
    box = page.locator(f"{W} .comp textarea")
    box.fill(text)
    box.press("Enter")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="chatd-shots-") as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            server = start_server(Path(tmp) / "data", config_text=CONFIG)
        try:
            # capacity 3: her third chat fills her, so the phone customer after it waits in line
            anna = add_agent(server.data_dir, "Anna", languages="en,zh", capacity=3)
            ben = add_agent(server.data_dir, "Ben", languages="en", capacity=5)
            olga = add_agent(server.data_dir, "Olga", role="operator", languages="en")
            seed(server, ben)
            shoot(server, anna, olga, args.out, args.chromium)
        finally:
            server.kill()
    for png in sorted(args.out.glob("*.png")):
        print(png.relative_to(ROOT) if png.is_relative_to(ROOT) else png)


def shoot(server: RunningServer, anna: str, olga: str, out: Path, chromium: str) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        desk: dict[str, Any] = {
            "viewport": {"width": 1280, "height": 820},
            "device_scale_factor": 1,
        }

        # 1. widget on the demo page, desktop: a bot answer with quick replies
        page = browser.new_context(**desk).new_page()
        open_widget(page, server)
        say(page, "How do I reset my password?")
        expect(page.locator(f"{W} .m.bot")).to_have_count(2)
        page.wait_for_timeout(400)
        page.screenshot(path=out / "widget-desktop.png")

        # 2. the agent console with a few live chats
        console = browser.new_context(viewport={"width": 1440, "height": 860}).new_page()
        console.goto(server.url + "/console")
        console.get_by_role("button", name="Use an access token instead").click()
        console.locator("#token").fill(anna)
        console.get_by_role("button", name="Sign in").click()
        expect(console.locator("#conn")).to_have_text("Connected")

        # 3. phone width: a customer handed to Anna, chatting
        phone = browser.new_context(
            viewport={"width": 360, "height": 740},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        ).new_page()
        open_widget(phone, server)
        say(phone, "I sent USDT on the wrong network")
        expect(phone.locator(f"{W} .m.bot")).to_have_count(2)
        phone.locator(f"{W} .hb").click()
        expect(phone.locator(f"{W} .sys").filter(has_text="joined")).to_be_visible()
        compose = console.locator("#compose-text")
        expect(console.locator("#conv-main")).to_be_visible()
        compose.fill(
            "Hi, I'm Anna. Which network did you send it on, and do you have the transaction hash?"
        )
        compose.press("Enter")
        expect(phone.locator(f"{W} .m.agent")).to_have_count(1)
        phone.locator(f"{W} .comp textarea").fill("It was TRC20, hash starts with 9f3a…")
        phone.locator(f"{W} .comp textarea").press("Enter")
        expect(console.locator("#timeline .ev.msg.customer").last).to_contain_text("TRC20")
        console.locator("#mode-note").click()
        compose.fill("Recoverable: wrong-network deposit, ask finance to credit manually.")
        compose.press("Enter")
        console.locator("#mode-reply").click()
        console.locator("#tag-input").fill("wrong-network")
        console.locator("#tag-form button").click()
        compose.press_sequentially("Thanks! I've asked our fin")
        expect(phone.locator(f"{W} .typing")).to_be_visible()
        phone.wait_for_timeout(300)
        phone.screenshot(path=out / "widget-phone.png")

        # a second and third customer so the list is not lonely; one waits in the queue on a phone
        extra = browser.new_context(**desk).new_page()
        open_widget(extra, server)
        say(extra, "my account was hacked")
        extra.wait_for_timeout(500)
        if extra.locator(f"{W} .hb").is_visible():
            extra.locator(f"{W} .hb").click()
        other = browser.new_context(**desk, locale="zh-CN").new_page()
        open_widget(other, server)
        say(other, "提现一直在处理中")
        expect(other.locator(f"{W} .m.bot")).to_have_count(2)
        other.locator(f"{W} .hb").click()
        console.wait_for_timeout(800)
        console.locator("#kb-query").fill("wrong network")
        console.locator("#kb-form button").click()
        console.wait_for_timeout(500)
        console.locator("#chat-list .chat-item").first.click()
        console.wait_for_timeout(300)
        console.screenshot(path=out / "console.png")

        # 1,024 px: the customer panel is a drawer behind "Details"
        console.set_viewport_size({"width": 1024, "height": 768})
        console.get_by_role("button", name="Details", exact=True).click()
        console.get_by_role("button", name="Transfer to a colleague…").click()
        expect(console.locator("#transfer-list .pick").first).to_be_visible()
        console.wait_for_timeout(300)
        console.screenshot(path=out / "console-1024.png")
        console.keyboard.press("Escape")

        # queue card on a phone: Anna is full (capacity 3), so the customer waits in line
        waiting = browser.new_context(
            viewport={"width": 360, "height": 740},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        ).new_page()
        open_widget(waiting, server)
        say(waiting, "I want to talk to a person about my withdrawal limit")
        waiting.wait_for_timeout(500)
        if waiting.locator(f"{W} .hb").is_visible():
            waiting.locator(f"{W} .hb").click()
        expect(waiting.locator(f"{W} .qpos")).to_be_visible()
        waiting.wait_for_timeout(1200)
        waiting.screenshot(path=out / "widget-phone-queue.png")

        # 4. ops dashboard + a transcript
        ops = browser.new_context(viewport={"width": 1360, "height": 1000}).new_page()
        ops.goto(server.url + "/ops")
        ops.get_by_role("button", name="Use an access token instead").click()
        ops.locator("#token").fill(olga)
        ops.get_by_role("button", name="Sign in").click()
        expect(ops.locator("#kpis .kpi").first).to_be_visible()
        ops.wait_for_timeout(600)
        ops.screenshot(path=out / "dashboard.png", full_page=True)
        ops.get_by_role("tab", name="Conversations").click()
        row = ops.locator("#results tbody tr").filter(has_text="★").first
        row.click()
        expect(ops.locator("#transcript")).to_be_visible()
        ops.wait_for_timeout(800)
        ops.locator("#transcript").scroll_into_view_if_needed()
        ops.screenshot(path=out / "ops-transcript.png")
        browser.close()


if __name__ == "__main__":
    main()
