"""The JSON views of stored records that agents, operators and exports read, and the subject
line of a conversation: pure functions of a record, no I/O."""

from __future__ import annotations

import dataclasses

from chatd.protocol import event_frame
from chatd.store.base import SUBJECT_CHARS, ConversationRecord, Event, TicketRecord

__all__ = ["conversation_summary", "event_dict", "subject_of", "ticket_dict"]


def conversation_summary(conv: ConversationRecord, *, customer_online: bool = False) -> dict:
    """The JSON view of a conversation for agents and operators."""
    return {
        "conversation_id": conv.conversation_id,
        "status": conv.status,
        "locale": conv.locale,
        "verified": conv.verified,
        "user_id": conv.user_id if conv.verified else None,
        "priority": conv.priority,
        "intent": conv.intent,
        "skills": list(conv.skills),
        "tags": list(conv.tags),
        "last_seq": conv.last_seq,
        "created_at": conv.created_at,
        "updated_at": conv.updated_at,
        "enqueued_at": conv.enqueued_at,
        "assigned_at": conv.assigned_at,
        "agent_id": conv.agent_id,
        "first_response_at": conv.first_response_at,
        "closed_at": conv.closed_at,
        "closed_by": conv.closed_by,
        "csat_score": conv.csat_score,
        "csat_comment": conv.csat_comment,
        "handoff_reason": conv.handoff_reason,
        "subject": conv.subject,
        "customer_online": customer_online,
    }


def subject_of(text: str) -> str:
    """A conversation's subject from its first customer message: one line, SUBJECT_CHARS at most."""
    line = " ".join(text.split())
    return line if len(line) <= SUBJECT_CHARS else line[: SUBJECT_CHARS - 1] + "…"


def ticket_dict(ticket: TicketRecord) -> dict:
    """The JSON view of a ticket."""
    return dataclasses.asdict(ticket)


def event_dict(event: Event) -> dict:
    """The full (operator) JSON view of a stored event."""
    return event_frame(event, for_customer=False)
