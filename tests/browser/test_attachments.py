"""Files in Chromium: a customer attaches a real PNG in the widget (after the seed-phrase reminder,
by keyboard), the agent sees the thumbnail and opens it full size; the agent sends a PDF and an
image from the console and the customer gets them; a failed upload retries; /ops shows them."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import FileChooser, Page, expect

from tests.browser.pages import W, console_login, open_widget, ops_login, send_customer
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser

REMINDER = (
    "Reminder: our staff never need your seed phrase or private key, not even in a screenshot."
)


def _png(path: Path, color: tuple[int, int, int] = (220, 40, 40)) -> Path:
    Image.new("RGB", (120, 80), color).save(path, format="PNG")
    return path


def _handoff(server: RunningServer, new_page, agent_token: str) -> tuple[Page, Page]:
    agent = new_page()
    console_login(agent, server.url, agent_token)
    cust = new_page()
    open_widget(cust, server.url)
    send_customer(cust, "My withdrawal is stuck")
    cust.locator(f"{W} .hb").click()
    expect(cust.locator(f"{W} .sys").filter(has_text="Anna joined the chat")).to_be_visible()
    expect(agent.locator("#conv-main")).to_be_visible()
    return agent, cust


def _choosers(page: Page) -> list[FileChooser]:
    """File choosers the page opens, from now on (interception is on before the first click:
    registering it only around the click can miss a chooser that opens at once)."""
    seen: list[FileChooser] = []
    page.on("filechooser", lambda chooser: seen.append(chooser))
    page.wait_for_timeout(200)
    return seen


def _next_chooser(page: Page, seen: list[FileChooser]) -> FileChooser:
    for _ in range(100):
        if seen:
            return seen.pop(0)
        page.wait_for_timeout(100)
    raise AssertionError("no file chooser opened")


def _loaded(img) -> None:
    """The <img> really shows pixels (its signed url answered with an image)."""
    expect(img).to_be_visible()
    img.page.wait_for_function("(e) => e.complete && e.naturalWidth > 0", arg=img.element_handle())


def test_customer_attaches_a_png_and_the_agent_opens_it(
    server: RunningServer, new_page, agent_token: str, tmp_path: Path
) -> None:
    """Paperclip (keyboard) -> the reminder first -> Continue -> the file chooser: the PNG shows as
    a thumbnail in the widget and in the console, where it opens full size and closes with Esc."""
    agent, cust = _handoff(server, new_page, agent_token)
    choosers = _choosers(cust)
    clip = cust.locator(f"{W} .comp").get_by_role("button", name="Attach a file")
    clip.focus()
    cust.keyboard.press("Enter")
    reminder = cust.locator(f"{W} .fr")
    expect(reminder).to_contain_text(REMINDER)
    proceed = reminder.get_by_role("button", name="Continue")
    expect(proceed).to_be_focused()
    cust.keyboard.press("Enter")
    _next_chooser(cust, choosers).set_files(_png(tmp_path / "withdrawal.png"))
    expect(reminder).to_have_count(0)
    mine = cust.locator(f"{W} .m.me .fo img")
    _loaded(mine)
    expect(cust.locator(f"{W} .m.me .meta").last).to_contain_text("Sent")
    expect(cust.locator(f"{W} .m.me .fn").last).to_contain_text("withdrawal.png")

    thumb = agent.locator("#timeline .ev.msg.customer .att-thumb")
    _loaded(thumb)
    opener = agent.get_by_role("button", name="Open withdrawal.png full size")
    opener.click()
    viewer = agent.locator("#att-viewer")
    expect(viewer).to_be_visible()
    _loaded(viewer.locator("img.att-full"))
    agent.keyboard.press("Escape")
    expect(viewer).to_be_hidden()

    # The reminder is shown once: the next file goes straight to the chooser.
    clip.click()
    _next_chooser(cust, choosers).set_files(_png(tmp_path / "second.png", (0, 120, 0)))
    expect(cust.locator(f"{W} .m.me .fo img")).to_have_count(2)
    assert agent.js_errors == [] and cust.js_errors == []


def test_agent_sends_files_from_the_console(
    server: RunningServer, new_page, agent_token: str, operator_token: str, tmp_path: Path
) -> None:
    """The agent attaches a PNG and a PDF; the customer sees the thumbnail and a download; the
    operator's transcript in /ops lists both with their thumbnails and names."""
    agent, cust = _handoff(server, new_page, agent_token)
    pdf = tmp_path / "fees.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    agent.locator("#attach-input").set_input_files([_png(tmp_path / "howto.png"), pdf])
    expect(agent.locator("#timeline .ev.msg.agent .att")).to_have_count(2)
    _loaded(agent.locator("#timeline .att-thumb"))
    _loaded(cust.locator(f"{W} .m.agent .fo img"))
    expect(cust.locator(f"{W} .m.agent .fd")).to_have_text("fees.pdf")

    ops = new_page()
    ops_login(ops, server.url, operator_token)
    ops.get_by_role("tab", name="Conversations").click()
    ops.locator("#results tbody tr").first.click()
    transcript = ops.locator("#transcript")
    expect(transcript.locator(".att")).to_have_count(2)
    _loaded(transcript.locator(".att-thumb"))
    expect(transcript).to_contain_text("fees.pdf")
    assert agent.js_errors == [] and cust.js_errors == [] and ops.js_errors == []


def test_paste_of_an_unsupported_file_fails_and_retry_is_offered(
    server: RunningServer, new_page, tmp_path: Path
) -> None:
    """A dropped file of a refused type shows "Not sent" with the reason and a Retry button."""
    cust = new_page()
    open_widget(cust, server.url)
    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ\x90\x00" + bytes(64))
    cust.locator(f"{W} .comp").get_by_role("button", name="Attach a file").click()
    cust.locator(f"{W} .fr").get_by_role("button", name="Continue").click(no_wait_after=True)
    cust.locator(f"{W} input[type=file]").set_input_files(exe)
    failed = cust.locator(f"{W} .m.me.fail")
    expect(failed).to_contain_text("This type of file can't be sent")
    expect(failed.get_by_role("button", name="Retry")).to_be_visible()
    assert cust.js_errors == []


_DROP = """(el, [b64, name, how]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, { type: "image/png" }));
  const init = { bubbles: true, cancelable: true, composed: true };
  if (how === "paste") {
    return el.dispatchEvent(new ClipboardEvent("paste", { ...init, clipboardData: dt }));
  }
  el.dispatchEvent(new DragEvent("dragover", { ...init, dataTransfer: dt }));
  el.dispatchEvent(new DragEvent("drop", { ...init, dataTransfer: dt }));
}"""


def test_chinese_widget_takes_dropped_and_pasted_images(
    server: RunningServer, new_page, tmp_path: Path
) -> None:
    """In Chinese: the reminder is Chinese; an image dropped on the chat and one pasted into the
    message box are both sent and shown; Esc closes the full-size view, not the chat."""
    cust = new_page(locale="zh-CN")
    open_widget(cust, server.url)
    png = base64.b64encode(_png(tmp_path / "a.png").read_bytes()).decode()
    log = cust.locator(f"{W} .log")
    log.evaluate(_DROP, [png, "dropped.png", "drop"])
    reminder = cust.locator(f"{W} .fr")
    expect(reminder).to_contain_text("客服绝不会索要您的助记词或私钥")
    reminder.get_by_role("button", name="继续").click()
    _loaded(cust.locator(f"{W} .m.me .fo img").first)
    cust.locator(f"{W} .comp textarea").evaluate(_DROP, [png, "pasted.png", "paste"])
    expect(cust.locator(f"{W} .m.me .fo img")).to_have_count(2)
    expect(cust.locator(f"{W} .fr")).to_have_count(0)  # reminded once
    cust.get_by_role("button", name="查看大图：pasted.png").click()
    viewer = cust.locator(f"{W} dialog.fv")
    _loaded(viewer.locator("img"))
    cust.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    expect(cust.locator(f"{W} .panel")).to_be_visible()
    assert cust.js_errors == []


def test_widget_on_another_site_uploads_across_origins(
    server: RunningServer, new_page, host_site, tmp_path: Path
) -> None:
    """Embedded on a customer's site (another origin): the upload (a CORS preflight for the
    Authorization header) and the thumbnail (a signed chatd url) work."""
    page = new_page()
    html = (
        "<!doctype html><title>host</title><p>Host page</p>"
        f'<script src="{server.url}/widget.js" async data-server="{server.url}"></script>'
    )
    page.goto(host_site.page("/", html))
    page.locator(f"{W} .launch").click()
    expect(page.locator(f"{W} .m.bot").first).to_be_visible()
    choosers = _choosers(page)
    page.locator(f"{W} .comp").get_by_role("button", name="Attach a file").click()
    page.locator(f"{W} .fr").get_by_role("button", name="Continue").click()
    _next_chooser(page, choosers).set_files(_png(tmp_path / "receipt.png"))
    _loaded(page.locator(f"{W} .m.me .fo img"))
    assert page.locator(f"{W} .m.me .fo img").get_attribute("src").startswith(server.url)
    assert page.js_errors == []
