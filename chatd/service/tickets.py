"""Tickets and satisfaction ratings: the written follow-up when nobody can chat, and CSAT.

A customer leaves a ticket instead of waiting (or while nobody is online); staff answer it in
writing (the customer sees the answer live or when they come back) and close it. After a chat
ends the customer may rate it once.
"""

from __future__ import annotations

from collections.abc import Callable

from chatd.domain.redact import redact
from chatd.logs import get_logger
from chatd.protocol import ProtocolError
from chatd.service.assignments import Assignments
from chatd.service.conversations import ConversationLog, Done, by_agent, serialized
from chatd.service.masking import Masker
from chatd.service.metrics import Metrics
from chatd.service.views import ticket_dict
from chatd.store.base import AgentRecord, NewEvent, Store, TicketRecord

__all__ = ["Tickets"]

log = get_logger(__name__)


class Tickets:
    """Tickets (create, answer, close) and CSAT."""

    def __init__(
        self,
        *,
        log: ConversationLog,
        assignments: Assignments,
        store: Store,
        masker: Masker,
        metrics: Metrics,
        clock: Callable[[], float],
    ) -> None:
        self.log = log
        self.assignments = assignments
        self.store = store
        self.masker = masker
        self.metrics = metrics
        self.clock = clock

    @serialized
    async def create(
        self, conversation_id: str, cid: str, contact: str, text: str
    ) -> tuple[int, Done]:
        """Turn the conversation into a ticket answered in writing later; (ticket id, done)."""
        conv = await self.log.get(conversation_id)
        if conv is None:
            raise ProtocolError("not_found", "no such conversation", cid)
        retried = await self.log.retried(conversation_id, "customer", cid)
        if retried is not None and retried.event is not None:
            return int(retried.event.data.get("ticket_id", 0)), retried
        existing = await self.store.ticket_for_conversation(conversation_id)
        if existing is not None:
            return existing.ticket_id, Done()
        if conv.status not in ("bot", "queued"):
            raise ProtocolError("invalid_state", f"the conversation is {conv.status}", cid)
        now = self.clock()
        if conv.status == "queued":
            self.assignments.leave(conversation_id)
        masked = await self.masker.redact(text)
        contact_masked = redact(contact).text  # at most 200 characters: inline
        ticket = await self.store.create_ticket(
            conversation_id, contact=contact_masked, text=masked.text, now=now
        )
        await self.log.update(conversation_id, status="ticket")
        event, _ = await self.log.append(
            conversation_id,
            NewEvent(
                kind="ticket_created",
                ts=now,
                author="customer",
                text=masked.text,
                cid=cid,
                data={"ticket_id": ticket.ticket_id, "contact": contact_masked},
            ),
        )
        self.metrics.tickets.inc()
        log.info("ticket_created", conversation_id=conversation_id, ticket_id=ticket.ticket_id)
        await self.log.to_all_agents({"type": "ticket", "ticket": ticket_dict(ticket)})
        return ticket.ticket_id, Done(event)

    async def reply(
        self, agent: AgentRecord, ticket_id: int, cid: str | None, text: str
    ) -> tuple[TicketRecord, Done]:
        """Answer a ticket; the customer sees it live or when they come back."""
        ticket = await self.store.get_ticket(ticket_id)
        if ticket is None:
            raise ProtocolError("not_found", f"no ticket {ticket_id}", cid)
        now = self.clock()
        event, created = await self.log.append(
            ticket.conversation_id,
            by_agent(agent, "ticket_reply", now, text=text, cid=cid),
        )
        if not created:
            return ticket, Done(event, duplicate=True)
        await self.store.update_ticket(
            ticket_id, status="answered", answered_at=now, answered_by=agent.agent_id
        )
        conv = await self.store.get_conversation(ticket.conversation_id)
        if conv is not None and conv.first_response_at is None:
            await self.store.update_conversation(ticket.conversation_id, first_response_at=now)
        updated = await self.store.get_ticket(ticket_id)
        assert updated is not None
        return updated, Done(event)

    async def close(self, agent: AgentRecord, ticket_id: int) -> TicketRecord:
        """Mark a ticket done; its conversation ends too (closing twice changes nothing)."""
        ticket = await self.store.get_ticket(ticket_id)
        if ticket is None:
            raise ProtocolError("not_found", f"no ticket {ticket_id}")
        if ticket.status != "closed":
            await self.store.update_ticket(ticket_id, status="closed")
            log.info("ticket_closed", ticket_id=ticket_id, agent_id=agent.agent_id)
        await self.assignments.close(ticket.conversation_id, by="agent", ref=None, agent=agent)
        updated = await self.store.get_ticket(ticket_id)
        assert updated is not None
        await self.log.to_all_agents({"type": "ticket", "ticket": ticket_dict(updated)})
        return updated

    @serialized
    async def rate(self, conversation_id: str, cid: str, score: int, comment: str | None) -> Done:
        """Rate a closed conversation, once (a retry of the rating is acknowledged again)."""
        conv = await self.log.get(conversation_id)
        if conv is None:
            raise ProtocolError("not_found", "no such conversation", cid)
        if conv.status not in ("closed", "ticket"):
            raise ProtocolError("invalid_state", "rate the chat after it has ended", cid)
        if conv.csat_score is not None:
            retried = await self.log.retried(conversation_id, "customer", cid)
            if retried is not None:
                return retried
            raise ProtocolError("invalid_state", "this chat was already rated", cid)
        comment = (await self.masker.redact(comment)).text if comment else None
        await self.store.update_conversation(
            conversation_id, csat_score=score, csat_comment=comment
        )
        self.metrics.csat.observe(score)
        event, _ = await self.log.append(
            conversation_id,
            NewEvent(
                kind="csat",
                ts=self.clock(),
                author="customer",
                cid=cid,
                data={"score": score, "comment": comment},
            ),
        )
        return Done(event)
