"""Business hours in the chat (issue 17): outside them the welcome says when people are back,
the bot still answers, and "talk to a person" offers the ticket with that time."""

from __future__ import annotations

import datetime as dt

import pytest

from chatd.domain.hours import DAYS
from tests.support.harness import Harness

TODAY = dt.datetime.now(dt.UTC).date()
TOMORROW = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
ALL_DAY = {day: ["00:00-24:00"] for day in DAYS}


@pytest.mark.parametrize(
    "settings", [{"hours": {"timezone": "UTC", "holidays": [TODAY.isoformat()], **ALL_DAY}}]
)
async def test_closed_today_says_when_people_are_back(chatd: Harness) -> None:
    customer = await chatd.customer(locale="en")
    assert customer.welcome["hours"] == {"open": False, "back_at": TOMORROW.timestamp()}
    await customer.wait_for("message", author="bot")
    await customer.say("how do I reset my password?")
    answer = await customer.wait_for("message", author="bot", where=lambda f: f["seq"] > 1)
    assert answer["data"]["intent"] == "account.password_reset"  # the bot still answers
    await customer.action("request_human")
    offer = await customer.wait_for("ticket_offered")
    assert offer["data"] == {"reason": "closed", "back_at": TOMORROW.timestamp()}
    await customer.action("create_ticket", contact="me@example.com", text="please call back")
    assert (await customer.wait_for("ticket_created"))["data"]["ticket_id"] >= 1


@pytest.mark.parametrize(
    "settings", [{"hours": {"timezone": "UTC", "holidays": [TODAY.isoformat()], **ALL_DAY}}]
)
async def test_an_agent_online_outside_hours_still_takes_the_chat(chatd: Harness) -> None:
    """The schedule tells customers what to expect; it does not turn away someone on shift."""
    agent = await chatd.agent(await chatd.add_agent("Night owl"))
    customer = await chatd.customer()
    await customer.action("request_human")
    await customer.wait_for("assigned")
    await agent.wait_for("chat_assigned")


@pytest.mark.parametrize("settings", [{"hours": {"timezone": "Asia/Shanghai", **ALL_DAY}}])
async def test_open_hours_are_announced_as_open(chatd: Harness) -> None:
    customer = await chatd.customer()
    assert customer.welcome["hours"] == {"open": True, "back_at": None}


async def test_without_a_schedule_nothing_changes(chatd: Harness) -> None:
    customer = await chatd.customer()
    assert "hours" not in customer.welcome
    await customer.action("request_human")
    offer = await customer.wait_for("ticket_offered")
    assert offer["data"] == {"reason": "no_agents"}
