"""Every text of the widget is readable: axe-core finds no WCAG 2 AA violation (colour contrast
included) in its main states, with the default brand colour and with light or mid-grey ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import W, customer_bubbles, send_customer
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser

#: axe-core as shipped by the axe-playwright-python package (nothing vendored here).
AXE = Path(axe_playwright_python.__file__).with_name("axe.min.js")

RUN_AXE = """async () => {
  const r = await axe.run({ include: [["chatd-widget"]] },
    { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
  const show = (v) =>
    v.nodes.map((n) => `${v.id}: ${JSON.stringify(n.target)} ${n.failureSummary || ""}`);
  // contrast axe could not decide (e.g. through opacity) counts as a failure too, except text
  // that is only partly scrolled into view in the chat log (nothing to compute there)
  const partly = (n) => n.any.every((a) => a.data && a.data.messageKey === "elmPartiallyObscured");
  const undecided = r.incomplete.filter((v) => v.id === "color-contrast")
    .map((v) => ({ ...v, nodes: v.nodes.filter((n) => !partly(n)) }));
  return [...r.violations.flatMap(show), ...undecided.flatMap(show)];
}"""


def _problems(page: Page, state: str) -> list[str]:
    return [f"[{state}] {line}" for line in page.evaluate(RUN_AXE)]


@pytest.mark.parametrize("color", ["#0b5fff", "#F0B90B", "#808080"])
def test_widget_text_contrast_passes_axe(
    server: RunningServer, new_page, host_site: Any, color: str
) -> None:
    """axe-core finds no WCAG 2 AA problem in the widget (bot answer with chips, own message, a
    masked secret, the ticket form, the queue card, the end-chat question, the ended chat) with
    this brand colour; text on the brand colour switches to black when white would be faint."""
    html = (
        '<!doctype html><html lang="en"><title>Host</title><main><h1>Host</h1></main>'
        f'<script src="{server.url}/widget.js" async data-server="{server.url}"'
        f' data-color="{color}"></script></html>'
    )
    page = new_page(viewport={"width": 1280, "height": 900})
    page.goto(host_site.page("/", html))
    page.add_script_tag(path=str(AXE))
    page.locator(f"{W} .launch").click()
    expect(page.locator(f"{W} .m.bot").first).to_be_visible()
    problems = _problems(page, "greeting")
    send_customer(
        page,
        "my seed is " + "abandon ability able about above absent absorb abstract "
        "absurd abuse access accident",
    )
    expect(page.locator(f"{W} .m.bot")).to_have_count(2)
    expect(customer_bubbles(page).last).not_to_contain_text("abandon")
    send_customer(page, "How do I reset my password?")
    expect(page.locator(f"{W} .m.bot")).to_have_count(3)
    expect(page.locator(f"{W} .chips")).to_be_visible()
    problems += _problems(page, "bot answer")
    assert problems == [], "\n".join(problems)
    page.locator(f"{W} .hb").click()
    form = page.locator(f"{W} form.card").filter(has_text="Leave a message")
    expect(form).to_be_visible()
    problems += _problems(page, "ticket form")
    form.get_by_role("button", name="Cancel").click()
    expect(page.locator(f"{W} .dock .card").filter(has_text="line for a person")).to_be_visible()
    problems += _problems(page, "queue card")
    page.locator(f"{W} .head").get_by_role("button", name="End chat").click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    problems += _problems(page, "end chat?")
    page.get_by_role("alertdialog").get_by_role("button", name="End chat").click()
    expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()
    problems += _problems(page, "ended")
    assert problems == [], "\n".join(problems)
