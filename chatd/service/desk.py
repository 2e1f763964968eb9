"""The agent desk: what an agent does in the chats assigned to them.

Messages, internal notes, tags, typing, transfers (to a colleague or back to the queue), close
and catch-up after a reconnect. Every action checks that the chat is the agent's; the events go
through the :class:`~chatd.service.conversations.ConversationLog`.
"""

from __future__ import annotations

from collections.abc import Callable

from chatd.config import Config
from chatd.domain.redact import asks_for_code
from chatd.domain.roles import SUPERVISES, serves_chats
from chatd.logs import get_logger
from chatd.protocol import ProtocolError
from chatd.service.assignments import Assignments
from chatd.service.conversations import (
    ConversationLog,
    Done,
    by_agent,
    changed_meanwhile,
    owned_by,
    serialized,
)
from chatd.service.customers import CustomerFlow
from chatd.service.metrics import Metrics
from chatd.service.views import event_dict
from chatd.store.base import (
    OPEN_STATUSES,
    AgentRecord,
    ConditionFailed,
    ConversationRecord,
    Expect,
    Store,
)

__all__ = ["AgentDesk"]

log = get_logger(__name__)


class AgentDesk:
    """An agent's actions in their assigned chats."""

    def __init__(
        self,
        *,
        config: Config,
        log: ConversationLog,
        assignments: Assignments,
        customers: CustomerFlow,
        store: Store,
        metrics: Metrics,
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.log = log
        self.assignments = assignments
        self.customers = customers
        self.store = store
        self.metrics = metrics
        self.clock = clock

    async def owned(
        self, agent: AgentRecord, conversation_id: str, ref: str | None
    ) -> ConversationRecord:
        """The conversation if it is assigned to ``agent`` (read fresh in cluster mode)."""
        if self.log.shared:
            await self.log.refresh(conversation_id)
        return owned_by(agent, self.log.open.get(conversation_id), ref)

    async def _movable(
        self, agent: AgentRecord, conversation_id: str, ref: str | None
    ) -> ConversationRecord:
        """The conversation if ``agent`` may hand it on: their own, or (a supervisor) any
        assigned one."""
        if agent.role not in SUPERVISES:
            return await self.owned(agent, conversation_id, ref)
        conv = await self.log.refresh(conversation_id)
        if conv is None:
            raise ProtocolError("not_found", "no such conversation", ref)
        if conv.status != "assigned" or conv.agent_id is None:
            raise ProtocolError("invalid_state", "only an assigned chat can be moved", ref)
        return conv

    @serialized
    async def message(self, agent: AgentRecord, conversation_id: str, cid: str, text: str) -> Done:
        """A reply to the customer; the first one stamps the first-response time."""
        now = self.clock()
        try:
            event, created = await self.log.append(
                conversation_id,
                by_agent(agent, "message", now, text=text, cid=cid),
                expect=Expect(
                    statuses=("assigned",),
                    agent_id=agent.agent_id,
                    seq_below=self.config.limits.max_events_per_conversation,
                ),
            )
        except ConditionFailed as exc:
            self.log.check_size(owned_by(agent, exc.conversation, cid), cid)
            raise changed_meanwhile(cid) from exc
        if created:
            if asks_for_code(text):
                self.customers.code_requested.add(conversation_id)
            self.metrics.messages.labels("agent").inc()
            conv = self.log.open.get(conversation_id)  # as the append left it
            if conv is not None and conv.first_response_at is None:
                await self.log.update(conversation_id, first_response_at=now)
                if conv.enqueued_at is not None:
                    self.metrics.first_response.observe(max(0.0, now - conv.enqueued_at))
        return Done(event, duplicate=not created)

    async def typing(self, agent: AgentRecord, conversation_id: str, active: bool) -> None:
        """Show the customer that the agent is typing."""
        await self.owned(agent, conversation_id, None)
        await self.log.to_customer(
            conversation_id, {"type": "typing", "active": active, "author_name": agent.name}
        )

    @serialized
    async def note(self, agent: AgentRecord, conversation_id: str, cid: str, text: str) -> Done:
        """An internal note (never shown to the customer)."""
        conv = await self.owned(agent, conversation_id, cid)
        self.log.check_size(conv, cid)
        event, created = await self.log.append(
            conversation_id,
            by_agent(agent, "note", self.clock(), text=text, cid=cid, internal=True),
        )
        return Done(event, duplicate=not created)

    @serialized
    async def set_tags(
        self, agent: AgentRecord, conversation_id: str, cid: str, tags: tuple[str, ...]
    ) -> Done:
        """Replace the conversation's tags."""
        await self.owned(agent, conversation_id, cid)
        clean = tuple(sorted({t.strip().lower() for t in tags if t.strip()}))
        await self.log.update(conversation_id, tags=clean)
        event, created = await self.log.append(
            conversation_id,
            by_agent(
                agent, "tags", self.clock(), cid=cid, internal=True, data={"tags": list(clean)}
            ),
        )
        return Done(event, duplicate=not created)

    @serialized
    async def transfer(
        self, agent: AgentRecord, conversation_id: str, cid: str, to_agent_id: str | None
    ) -> Done:
        """Hand a chat to another online agent, or back to the queue at its original place."""
        retried = await self.log.retried(conversation_id, agent.agent_id, cid)
        if retried is not None:
            return retried
        conv = await self._movable(agent, conversation_id, cid)
        owner = conv.agent_id
        assert owner is not None
        now = self.clock()
        if to_agent_id is None:
            await self.assignments.requeue(conversation_id, reason="transfer")
            return Done()
        target = self.assignments.agents.get(to_agent_id) or await self.store.get_agent(to_agent_id)
        if target is None or not serves_chats(target.role):
            raise ProtocolError("not_found", f"no agent with the id {to_agent_id[:64]!r}", cid)
        await self.assignments.coordinator.transfer(owner, to_agent_id, conversation_id, now, cid)
        await self.log.update(conversation_id, agent_id=to_agent_id, assigned_at=now)
        await self.log.to_agent(
            owner,
            {"type": "unassigned", "conversation_id": conversation_id, "reason": "transferred"},
        )
        event, _ = await self.log.append(
            conversation_id,
            by_agent(
                agent,
                "transferred",
                now,
                cid=cid,
                data={
                    "agent_name": target.name,
                    "from_agent_id": owner,
                    "to_agent_id": to_agent_id,
                },
            ),
        )
        frame = await self.assignments.assigned_frame(self.log.open[conversation_id])
        await self.log.to_agent(to_agent_id, frame)
        log.info("transferred", conversation_id=conversation_id, to_agent_id=to_agent_id)
        return Done(event)

    async def close(self, agent: AgentRecord, conversation_id: str, cid: str) -> Done:
        """End the chat (a retry after the close is acknowledged, not refused)."""
        retried = await self.log.retried(conversation_id, agent.agent_id, cid)
        if retried is not None:
            return retried
        await self.owned(agent, conversation_id, cid)
        return await self.assignments.close(conversation_id, by="agent", ref=cid, agent=agent)

    async def sync(
        self, agent: AgentRecord, conversation_id: str, last_seq: int, limit: int | None = None
    ) -> list[dict]:
        """Events after ``last_seq`` (at most ``limit``) of a conversation the agent owns."""
        if agent.role == "operator":
            pass  # operators read every transcript
        elif agent.role in SUPERVISES:
            conv = await self.log.get(conversation_id)
            if conv is None or conv.status not in OPEN_STATUSES:
                raise ProtocolError("forbidden", "supervisors read live chats only", None)
        else:
            await self.owned(agent, conversation_id, None)
        events = await self.store.events(conversation_id, after_seq=last_seq, limit=limit)
        return [event_dict(e) for e in events]
