"""The queue's notices (chatd.domain.notices) and the dashboard figures (chatd.domain.stats)."""

from __future__ import annotations

import pytest

from chatd.domain.notices import NOTICE_LANGUAGES, language_fallback_notice
from chatd.domain.stats import day_stats, outcome, percentile
from chatd.store.base import ConversationRecord

DAY = 1_800_000_000.0  # a day's start (any)


def conv(n: int, **fields: object) -> ConversationRecord:
    values: dict[str, object] = {"created_at": DAY + 60.0 * n, "updated_at": DAY + 60.0 * n}
    values.update(fields)
    return ConversationRecord(conversation_id=f"c{n}", **values)  # type: ignore[arg-type]


def test_fallback_notice_in_the_customers_language_or_english() -> None:
    """A regional locale gets its language's notice; an unknown language gets English."""
    assert "английском" in language_fallback_notice("ru-RU")
    assert "英文" in language_fallback_notice("zh-Hant-TW")  # only the first subtag counts
    assert "英文" in language_fallback_notice("zh_CN")
    assert "İngilizce" in language_fallback_notice("TR")
    english = language_fallback_notice("en")
    assert "in English" in english
    assert language_fallback_notice("xx-YY") == english
    assert len({language_fallback_notice(lang) for lang in NOTICE_LANGUAGES}) == len(
        NOTICE_LANGUAGES
    )


def test_outcome_of_each_kind_of_conversation() -> None:
    """Ticket beats everything; an agent (or a first response) means 'agent'; handed off but
    never served is 'abandoned'; otherwise the bot handled it."""
    assert outcome(conv(1, status="ticket", agent_id="a", enqueued_at=DAY)) == "ticket"
    assert outcome(conv(2, status="closed", agent_id="a", enqueued_at=DAY)) == "agent"
    assert outcome(conv(3, status="closed", first_response_at=DAY + 5)) == "agent"
    assert outcome(conv(4, status="closed", enqueued_at=DAY)) == "abandoned"
    assert outcome(conv(5, status="closed")) == "bot"


def test_percentile_interpolates() -> None:
    """Linear interpolation between the ordered values; None for none."""
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == pytest.approx(2.5)
    assert percentile([0.0, 10.0], 0.9) == pytest.approx(9.0)
    assert percentile([1.0, 2.0, 3.0], 0.0) == 1.0 and percentile([1.0, 2.0, 3.0], 1.0) == 3.0


def test_day_stats_figures() -> None:
    """Volume, deflection among closed chats, waits, first response, CSAT and the hourly rows."""
    convs = [
        conv(0, status="closed", closed_at=DAY + 100),  # deflected (bot alone)
        conv(1, status="closed", closed_at=DAY + 200, enqueued_at=DAY + 60, agent_id="a",
             assigned_at=DAY + 70, first_response_at=DAY + 90, csat_score=5),
        conv(2, status="assigned", enqueued_at=DAY + 120, agent_id="b", assigned_at=DAY + 150,
             first_response_at=DAY + 160, csat_score=2),
        conv(3, status="ticket", enqueued_at=DAY + 180),
        conv(70, status="bot"),  # in the second hour
    ]  # fmt: skip
    stats = day_stats(convs, DAY)
    assert stats["conversations"] == 5
    assert stats["deflection_rate"] == 0.5  # 1 of the 2 closed
    assert stats["handed_off"] == 3 and stats["tickets"] == 1
    assert stats["wait_p50_s"] == 20.0  # waits 10 and 30
    assert stats["wait_p90_s"] == 28.0
    assert stats["first_response_p50_s"] == 35.0  # 30 and 40
    assert stats["csat_avg"] == 3.5 and stats["csat_count"] == 2
    hourly = stats["hourly"]
    assert len(hourly) == 24 and [h["hour"] for h in hourly] == list(range(24))
    assert hourly[0] == {
        "hour": 0,
        "conversations": 4,
        "deflected": 1,
        "handed_off": 3,
        "wait_p50_s": 20.0,
    }
    assert hourly[1]["conversations"] == 1 and hourly[1]["wait_p50_s"] is None
    assert sum(h["conversations"] for h in hourly) == 5


def test_day_stats_of_no_conversations() -> None:
    """An empty day has zero counts and no rates (None, not a division by zero)."""
    stats = day_stats([], DAY)
    assert stats["conversations"] == 0 and stats["deflection_rate"] is None
    assert stats["csat_avg"] is None and stats["wait_p50_s"] is None


def test_day_stats_rounding_and_hour_boundaries() -> None:
    """Rates keep three decimals, CSAT two, waits one; a chat created on the hour belongs to
    the hour it starts, counted once."""
    convs = [
        conv(0, status="closed", closed_at=DAY + 10),  # deflected
        conv(1, status="closed", closed_at=DAY + 20, enqueued_at=DAY + 60, agent_id="a",
             assigned_at=DAY + 72.34, csat_score=5),
        conv(2, status="closed", closed_at=DAY + 30, enqueued_at=DAY + 120, csat_score=4),
        conv(60, status="bot", csat_score=4),  # created at DAY + 3600 exactly
    ]  # fmt: skip
    stats = day_stats(convs, DAY)
    assert stats["deflection_rate"] == 0.333  # 1 of 3 closed
    assert stats["csat_avg"] == 4.33
    assert stats["wait_p50_s"] == 12.3
    hourly = stats["hourly"]
    assert (hourly[0]["conversations"], hourly[1]["conversations"]) == (3, 1)
    assert sum(h["conversations"] for h in hourly) == 4
