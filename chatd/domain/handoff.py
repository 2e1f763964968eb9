"""When the bot hands a conversation to a person, and in which priority class.

Rules (issue "chatd end to end", flow step 2): hand off when the matched intent says
``immediate`` (support.human: the customer asked for a person; security.compromised: urgent),
or when the bot had no confident answer ``handoff_after_misses`` times in a row. An ambiguous
reply ("did you mean A or B?") is a question back, not a miss: the customer picks a chip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["HandoffDecision", "decide_handoff"]


class BotReply(Protocol):
    """The parts of a bot_intents Reply this rule reads (read-only: a Reply is frozen)."""

    @property
    def intent(self) -> str | None: ...
    @property
    def handoff(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def ambiguous(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class HandoffDecision:
    """``handoff``: go to the queue now, with ``reason`` and ``priority``; ``misses``: the new
    count of consecutive replies without a confident intent."""

    reason: str
    priority: str = "normal"
    handoff: bool = True
    misses: int = 0


def decide_handoff(reply: BotReply, *, misses: int, handoff_after_misses: int) -> HandoffDecision:
    """Decide after one bot reply, given how many misses came right before it."""
    if reply.intent is not None and reply.handoff == "immediate":
        reason = "requested" if reply.intent == "support.human" else "intent_immediate"
        priority = "urgent" if reply.priority == "urgent" else "normal"
        return HandoffDecision(reason, priority)
    if reply.intent is None and not reply.ambiguous:
        misses += 1
        if misses >= handoff_after_misses:
            return HandoffDecision("low_confidence", "normal")
        return HandoffDecision("", handoff=False, misses=misses)
    return HandoffDecision("", handoff=False, misses=0 if reply.intent else misses)
