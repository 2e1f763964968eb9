"""What a person does on the three pages (Playwright CSS selectors pierce open shadow roots)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

__all__ = [
    "W",
    "console_login",
    "customer_bubbles",
    "end_chat",
    "open_widget",
    "ops_login",
    "send_customer",
    "widget_seqs",
]

#: The widget's host element; everything else is inside its shadow root.
W = "chatd-widget"


def open_widget(page: Page, base_url: str, path: str = "/demo") -> None:
    """Open the host page, click the launcher and wait for the bot's greeting."""
    page.goto(base_url + path)
    page.locator(f"{W} .launch").click()
    expect(page.locator(f"{W} .m.bot").first).to_be_visible()


def send_customer(page: Page, text: str) -> None:
    box = page.locator(f"{W} .comp textarea")
    box.fill(text)
    box.press("Enter")


def end_chat(page: Page) -> None:
    """The customer ends the chat: "End chat" in the header, then confirms."""
    page.locator(f"{W} .head").get_by_role("button", name="End chat").click()
    page.get_by_role("alertdialog").get_by_role("button", name="End chat").click()


def customer_bubbles(page: Page) -> Locator:
    return page.locator(f"{W} .m.me .b")


def widget_seqs(page: Page) -> list[int]:
    """The seq of every rendered conversation message (duplicates would show up twice)."""
    return [
        int(s)
        for s in page.locator(f"{W} .m[data-seq]").evaluate_all(
            "els => els.map(e => e.dataset.seq)"
        )
    ]


def _use_token(page: Page, token: str) -> None:
    page.get_by_role("button", name="Use an access token instead").click()
    page.locator("#token").fill(token)


def console_login(page: Page, base_url: str, token: str) -> None:
    page.goto(base_url + "/console")
    _use_token(page, token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#conn")).to_have_text("Connected")


def ops_login(page: Page, base_url: str, token: str) -> None:
    page.goto(base_url + "/ops")
    _use_token(page, token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#app")).to_be_visible()
