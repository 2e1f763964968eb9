"""The hand-off rule (chatd.domain.handoff): when the bot gives a conversation to a person."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot_intents import Reply
from chatd.domain.handoff import decide_handoff


def reply(
    intent: str | None,
    *,
    handoff: str = "never",
    priority: str = "normal",
    ambiguous: bool = False,
) -> Reply:
    """A bot reply as bot_intents builds it (only the fields the rule reads matter)."""
    return Reply(
        intent=intent,
        confidence=0.9 if intent else 0.1,
        answer="...",
        suggestions=[],
        handoff=handoff,  # type: ignore[arg-type]
        priority=priority,  # type: ignore[arg-type]
        skills=(),
        locale="en",
        runner_up=[],
        ambiguous=ambiguous,
    )


MISS = reply(None)


def test_one_miss_is_not_a_handoff_two_are() -> None:
    """With the default of two, the first miss is counted and the second hands off."""
    first = decide_handoff(MISS, misses=0, handoff_after_misses=2)
    assert first.handoff is False and first.misses == 1
    second = decide_handoff(MISS, misses=first.misses, handoff_after_misses=2)
    assert second.handoff
    assert (second.reason, second.priority) == ("low_confidence", "normal")


def test_a_confident_answer_resets_the_count() -> None:
    """A miss, an answer, a miss: still no hand-off (the misses must come in a row)."""
    answered = decide_handoff(reply("deposit.how"), misses=1, handoff_after_misses=2)
    assert answered.handoff is False and answered.misses == 0
    again = decide_handoff(MISS, misses=answered.misses, handoff_after_misses=2)
    assert not again.handoff and again.misses == 1


def test_ambiguous_reply_is_a_question_not_a_miss() -> None:
    """An ambiguous reply ("did you mean A or B?") neither counts nor resets a miss."""
    unsure = reply(None, ambiguous=True)
    decision = decide_handoff(unsure, misses=1, handoff_after_misses=2)
    assert not decision.handoff and decision.misses == 1
    guess = reply("deposit.how", ambiguous=True)
    decision = decide_handoff(guess, misses=1, handoff_after_misses=2)
    assert not decision.handoff and decision.misses == 0


def test_immediate_intents_hand_off_at_once_with_their_priority() -> None:
    """Asking for a person is 'requested'; a compromised account goes in the urgent class."""
    human = decide_handoff(
        reply("support.human", handoff="immediate"), misses=0, handoff_after_misses=2
    )
    assert human.handoff and (human.reason, human.priority) == ("requested", "normal")
    hacked = reply("security.compromised", handoff="immediate", priority="urgent")
    urgent = decide_handoff(hacked, misses=0, handoff_after_misses=2)
    assert urgent.handoff and (urgent.reason, urgent.priority) == ("intent_immediate", "urgent")


def test_an_intent_that_never_hands_off_stays_with_the_bot() -> None:
    """A confident answer whose intent does not ask for a person keeps the chat with the bot."""
    decision = decide_handoff(
        reply("fees.trading", priority="urgent"), misses=0, handoff_after_misses=1
    )
    assert not decision.handoff and decision.misses == 0


@given(st.integers(min_value=1, max_value=10), st.integers(min_value=0, max_value=12))
def test_exactly_the_configured_number_of_misses_hands_off(limit: int, before: int) -> None:
    """From ``before`` misses, one more hands off exactly when it reaches the limit."""
    decision = decide_handoff(MISS, misses=before, handoff_after_misses=limit)
    assert decision.handoff == (before + 1 >= limit)
    if not decision.handoff:
        assert decision.misses == before + 1
