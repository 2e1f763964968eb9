"""Customer, agent and operator together in real pages: handoff, reload, restart, CSAT, tickets."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import CONFIG
from tests.browser.pages import (
    W,
    console_login,
    customer_bubbles,
    open_widget,
    ops_login,
    send_customer,
    widget_seqs,
)
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.browser


def _handoff(server: RunningServer, new_page, agent_token: str) -> tuple[Page, Page]:
    """Agent online in the console; a customer asks the bot, then a person; the agent gets it."""
    agent = new_page()
    console_login(agent, server.url, agent_token)
    cust = new_page()
    open_widget(cust, server.url)
    send_customer(cust, "How do I reset my password?")
    expect(cust.locator(f"{W} .m.bot")).to_have_count(2)
    cust.locator(f"{W} .hb").click()
    expect(cust.locator(f"{W} .sys").filter(has_text="Anna joined the chat")).to_be_visible()
    expect(agent.locator("#chat-list .chat-item")).to_have_count(1)
    expect(agent.locator("#conv-main")).to_be_visible()
    return agent, cust


def test_agent_gets_the_chat_and_messages_flow_both_ways(
    server: RunningServer, new_page, agent_token: str
) -> None:
    """The console shows the bot history; replies, typing indicators and messages flow both ways."""
    agent, cust = _handoff(server, new_page, agent_token)
    timeline = agent.locator("#timeline")
    expect(timeline.locator(".ev.msg.customer .bubble").first).to_have_text(
        "How do I reset my password?"
    )
    expect(timeline.locator(".ev.msg.bot").first).to_be_visible()
    expect(agent.locator("#conv-sub")).to_contain_text("EN")

    compose = agent.locator("#compose-text")
    compose.press_sequentially("Hi")
    expect(cust.locator(f"{W} .typing")).to_contain_text("Anna is typing")
    compose.fill("Hi, I'm Anna. How can I help?")
    compose.press("Enter")
    expect(cust.locator(f"{W} .m.agent .b").last).to_have_text("Hi, I'm Anna. How can I help?")
    expect(cust.locator(f"{W} .head p")).to_have_text("Anna")

    cust.locator(f"{W} .comp textarea").press_sequentially("My dep")
    expect(agent.locator("#cust-typing")).to_be_visible()
    send_customer(cust, "My deposit is missing")
    expect(timeline.locator(".ev.msg.customer .bubble").last).to_have_text("My deposit is missing")
    expect(cust.locator(f"{W} .m.me .meta").last).to_contain_text("Sent")
    assert agent.js_errors == [] and cust.js_errors == []


def test_downloaded_transcript_lists_what_the_chat_showed(
    server: RunningServer, new_page, agent_token: str
) -> None:
    """The "Download transcript" button saves a text file with every line the chat showed: the bot's
    answer, the agent joining, both sides' messages, and the transfer back to the queue."""
    agent, cust = _handoff(server, new_page, agent_token)
    compose = agent.locator("#compose-text")
    compose.fill("Hi, I'm Anna. Let me get a colleague.")
    compose.press("Enter")
    expect(cust.locator(f"{W} .m.agent .b").last).to_have_text(
        "Hi, I'm Anna. Let me get a colleague."
    )
    agent.locator("#to-queue").click()
    transferring = "Transferring you to another person…"
    expect(cust.locator(f"{W} .sys").filter(has_text=transferring)).to_be_visible()
    with cust.expect_download() as download:
        cust.get_by_role("button", name="Download transcript").click()
    assert download.value.suggested_filename.startswith("chat-transcript-")
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    body = "\n".join(lines)
    for expected in (
        "You: How do I reset my password?",
        "Forgot password",
        "Anna joined the chat",
        "Anna: Hi, I'm Anna. Let me get a colleague.",
        transferring,
    ):
        assert expected in body, (expected, lines)
    # in the order the chat showed them
    order = [next(i for i, line in enumerate(lines) if "Anna joined" in line)]
    order.append(next(i for i, line in enumerate(lines) if "Let me get a colleague" in line))
    order.append(next(i for i, line in enumerate(lines) if transferring in line))
    assert order == sorted(order), lines
    assert cust.js_errors == []


def test_console_canned_reply_kb_note_and_tag(
    server: RunningServer, new_page, agent_token: str
) -> None:
    """/shortcut inserts canned text, a KB answer gets inserted, notes stay internal, tags stick."""
    agent, cust = _handoff(server, new_page, agent_token)
    compose = agent.locator("#compose-text")
    compose.press_sequentially("/")
    pop = agent.locator("#canned-pop")
    expect(pop).to_be_visible()
    first = pop.locator("li").first.locator("span").inner_text()
    compose.press("Enter")
    expect(compose).to_have_value(first)
    compose.press("Enter")
    expect(cust.locator(f"{W} .m.agent .b").last).to_have_text(first)

    agent.locator("#kb-query").fill("withdrawal fee")
    agent.locator("#kb-form button").click()
    result = agent.locator("#kb-results .kb-item").first
    expect(result).to_be_visible()
    answer = result.locator(".kb-answer").inner_text()
    result.get_by_role("button", name="Insert").click()
    expect(compose).to_have_value(answer)
    compose.fill("")

    agent.locator("#mode-note").click()
    compose.fill("customer seems legit")
    compose.press("Enter")
    expect(agent.locator("#timeline .ev.note .bubble").last).to_have_text("customer seems legit")
    agent.locator("#tag-input").fill("deposit")
    agent.locator("#tag-form button").click()
    expect(agent.locator("#tags .tag")).to_contain_text("deposit")
    expect(agent.locator("#timeline")).to_contain_text("Tags: deposit")
    cust.wait_for_timeout(300)
    expect(cust.locator(f"{W} .log")).not_to_contain_text("customer seems legit")


def test_reload_mid_chat_keeps_history_without_duplicates(
    server: RunningServer, new_page, agent_token: str
) -> None:
    """Reloading (and missing messages while away) restores the whole chat once, nothing doubled."""
    agent, cust = _handoff(server, new_page, agent_token)
    compose = agent.locator("#compose-text")
    compose.fill("First answer from Anna")
    compose.press("Enter")
    expect(cust.locator(f"{W} .m.agent .b").last).to_have_text("First answer from Anna")
    before = widget_seqs(cust)
    texts_before = cust.locator(f"{W} .log .b").all_inner_texts()

    cust.reload()
    expect(cust.locator(f"{W} .panel")).to_be_visible()
    expect(cust.locator(f"{W} .m.agent .b").last).to_have_text("First answer from Anna")
    cust.wait_for_timeout(500)  # the resume replay has arrived by now
    assert widget_seqs(cust) == before
    assert cust.locator(f"{W} .log .b").all_inner_texts() == texts_before

    # away while the agent writes: the missed message arrives exactly once on return
    cust.goto("about:blank")
    compose.fill("Written while you were away")
    compose.press("Enter")
    expect(agent.locator("#timeline .ev.msg.agent .bubble").last).to_have_text(
        "Written while you were away"
    )
    cust.goto(server.url + "/demo")
    expect(cust.locator(f"{W} .m.agent .b").last).to_have_text("Written while you were away")
    cust.wait_for_timeout(500)
    seqs = widget_seqs(cust)
    assert len(seqs) == len(set(seqs)) == len(before) + 1
    assert (
        cust.locator(f"{W} .m.agent .b").filter(has_text="Written while you were away").count() == 1
    )

    send_customer(cust, "Thanks, got it")
    expect(agent.locator("#timeline .ev.msg.customer .bubble").last).to_have_text("Thanks, got it")
    assert customer_bubbles(cust).filter(has_text="Thanks, got it").count() == 1


def test_server_restart_while_connected_reconnects_and_continues(
    server: RunningServer, new_page
) -> None:
    """The widget shows a reconnecting banner, resumes on the restarted server, loses nothing."""
    cust = new_page()
    open_widget(cust, server.url)
    send_customer(cust, "What are the trading fees?")
    expect(cust.locator(f"{W} .m.bot")).to_have_count(2)
    before = widget_seqs(cust)

    server.stop()
    banner = cust.locator(f"{W} .banner")
    expect(banner).to_contain_text("Reconnecting")
    # written while the server is down: kept as "sending" and delivered after the resume
    send_customer(cust, "Are you there?")
    expect(cust.locator(f"{W} .m.me .meta").last).to_contain_text("Sending")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        restarted = start_server(server.data_dir, config_text=CONFIG, port=server.port)
    try:
        expect(banner).to_be_hidden(timeout=20_000)
        expect(cust.locator(f"{W} .m.me .meta").last).to_contain_text("Sent")
        expect(cust.locator(f"{W} .m.bot")).to_have_count(3)
        send_customer(cust, "How long does KYC take?")
        expect(cust.locator(f"{W} .m.bot")).to_have_count(4)
        seqs = widget_seqs(cust)
        assert seqs[: len(before)] == before
        assert len(seqs) == len(set(seqs)) == len(before) + 4
        assert customer_bubbles(cust).filter(has_text="Are you there?").count() == 1
    finally:
        restarted.stop()


def test_agent_closes_customer_rates_and_ops_sees_csat(
    server: RunningServer, new_page, agent_token: str, operator_token: str
) -> None:
    """Closing shows CSAT stars + comment; the rating appears in the /ops search and transcript."""
    agent, cust = _handoff(server, new_page, agent_token)
    agent.locator("#compose-text").fill("Done, anything else?")
    agent.locator("#compose-text").press("Enter")
    expect(cust.locator(f"{W} .m.agent")).to_have_count(1)
    agent.get_by_role("button", name="Close chat").click()
    agent.get_by_role("dialog").get_by_role("button", name="Close chat").click()
    expect(agent.locator("#conv-banner")).to_contain_text("closed")

    csat = cust.locator(f"{W} form.card").filter(has_text="How was your chat?")
    expect(csat).to_be_visible()
    csat.locator(".stars label").nth(3).click()
    csat.locator("textarea").fill("Quick and kind")
    csat.get_by_role("button", name="Send rating").click()
    expect(csat).to_be_hidden()
    expect(cust.locator(f"{W} .dock")).to_contain_text("Thanks for your feedback!")
    expect(cust.get_by_role("button", name="Start a new chat")).to_be_visible()

    ops = new_page()
    ops_login(ops, server.url, operator_token)
    ops.get_by_role("tab", name="Conversations").click()
    row = ops.locator("#results tbody tr").first
    expect(row.locator("td.csat")).to_have_text("★★★★☆")
    row.click()
    transcript = ops.locator("#transcript")
    expect(transcript).to_be_visible()
    expect(transcript.locator("#transcript-facts")).to_contain_text("4/5 “Quick and kind”")
    events = transcript.locator("#transcript-events")
    expect(events.locator(".k-csat")).to_contain_text("Quick and kind")
    expect(events.locator(".k-message.bot .e-data").first).to_contain_text(
        re.compile(r"intent: .* confidence: ")
    )
    expect(events.locator(".k-assigned .e-data")).to_contain_text("routed to Anna: speaks")
    expect(events.locator(".k-queued")).to_be_visible()

    ops.get_by_role("tab", name="Dashboard").click()
    expect(ops.locator("#kpis")).to_contain_text("CSAT")
    expect(ops.locator("#kpis .kpi").filter(has_text="CSAT")).to_contain_text("4.00")
    assert ops.js_errors == []


def test_offline_ticket_is_answered_in_console_and_customer_sees_it(
    server: RunningServer, new_page, agent_token: str
) -> None:
    """Nobody online: the customer leaves a ticket; an agent answers later; the widget shows it."""
    cust = new_page()
    open_widget(cust, server.url)
    cust.locator(f"{W} .hb").click()
    form = cust.locator(f"{W} form.card").filter(has_text="Leave a message")
    expect(form).to_contain_text("No one is available right now")
    form.locator("input").fill("alice@example.com")
    form.locator("textarea").fill("My withdrawal is stuck since yesterday")
    form.get_by_role("button", name="Send message").click()
    created = cust.locator(f"{W} .sys").filter(has_text=re.compile(r"Ticket #\d+ created"))
    expect(created).to_be_visible()
    expect(form).to_be_hidden()

    agent = new_page()
    console_login(agent, server.url, agent_token)
    agent.get_by_role("tab", name="Tickets").click()
    item = agent.locator("#ticket-list .chat-item").first
    expect(item).to_contain_text("alice@example.com")
    item.click()
    expect(agent.locator("#ticket-timeline")).to_contain_text(
        "My withdrawal is stuck since yesterday"
    )
    agent.locator("#ticket-text").fill(
        "We released your withdrawal; it should arrive within an hour."
    )
    agent.get_by_role("button", name="Send answer").click()
    expect(agent.locator("#ticket-msg")).to_contain_text("Answer sent")

    reply = cust.locator(f"{W} .m.agent").last
    expect(reply).to_contain_text("We released your withdrawal")
    expect(reply).to_contain_text("Answer to your ticket")
    # and it is still there when the customer comes back later
    cust.reload()
    expect(cust.locator(f"{W} .m.agent .b").last).to_contain_text("We released your withdrawal")
    assert cust.locator(f"{W} .m.agent").count() == 1


def test_console_renders_customer_markup_as_text(
    server: RunningServer, new_page, agent_token: str
) -> None:
    """Customer HTML is plain text in the console; agent markup is plain text in the widget."""
    agent, cust = _handoff(server, new_page, agent_token)
    payload = '<img src=x onerror="window.__pwned=1"><b>hi</b>'
    send_customer(cust, payload)
    expect(agent.locator("#timeline .ev.msg.customer .bubble").last).to_have_text(payload)
    agent.locator("#compose-text").fill("<script>window.__pwned=2</script><i>x</i>")
    agent.locator("#compose-text").press("Enter")
    expect(cust.locator(f"{W} .m.agent .b").last).to_have_text(
        "<script>window.__pwned=2</script><i>x</i>"
    )
    assert agent.locator("#timeline img, #timeline b").count() == 0
    assert agent.evaluate("window.__pwned") is None and cust.evaluate("window.__pwned") is None
