"""The application of queue and assignment decisions: where each conversation is, who serves it.

The pure :class:`~chatd.domain.dispatch.Dispatcher` decides (the fair queue, routing, the wait
estimate); this part applies its decisions to conversations through the
:class:`~chatd.service.conversations.ConversationLog` and keeps the agents' presence: a chat
handed to the queue, assigned, requeued, or closed (which frees its agent's slot), agents going
online, away and offline. Queue changes go through a
:class:`~chatd.service.coordinator.Coordinator` (inline in one process, the fenced leader in
cluster mode); this class is the coordinators' :class:`~chatd.service.coordinator.DispatchHost`.
The periodic side (the assignment loop, queue frames, grace timers) is
:mod:`chatd.service.queueing`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

from chatd.bus.base import Bus
from chatd.config import Config
from chatd.domain.dispatch import Assignment, Dispatcher
from chatd.domain.handoff import HandoffDecision
from chatd.domain.notices import language_fallback_notice
from chatd.domain.queue import FairQueue, QueueEntry
from chatd.domain.routing import FALLBACK_LANGUAGE, AgentProfile, language_of
from chatd.domain.stats import outcome
from chatd.domain.wait import WaitEstimator
from chatd.logs import get_logger
from chatd.protocol import ProtocolError
from chatd.service.conversations import ConversationLog, Done, serialized
from chatd.service.coordinator import Coordinator, LocalCoordinator
from chatd.service.metrics import Metrics
from chatd.service.views import conversation_summary, event_dict
from chatd.store.base import AgentRecord, ConversationRecord, NewEvent, Store

__all__ = ["Assignments"]

log = get_logger(__name__)


class Assignments:
    """Queue, assignment and presence decisions applied to this node's conversations."""

    def __init__(
        self,
        *,
        config: Config,
        log: ConversationLog,
        store: Store,
        bus: Bus,
        metrics: Metrics,
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        #: Business hours ([hours]; always open unless set).
        self.hours = config.hours.schedule()
        self.log = log
        self.store = store
        self.bus = bus
        self.metrics = metrics
        self.clock = clock
        self.reset_dispatcher()
        #: Every staff account seen (by id): names for events, profiles for routing.
        self.agents: dict[str, AgentRecord] = {}
        #: Agent connections per agent id on this node (an agent may have two tabs open).
        self.agent_connections: dict[str, int] = {}
        self._assign_wanted = asyncio.Event()
        #: Set by the queueing loops (chatd.service.queueing) on start.
        self.on_queue_changed: Callable[[], None] = lambda: None
        #: Called with a conversation id when it closes (other parts drop what they keep).
        self.on_closed: list[Callable[[str], None]] = []
        self.coordinator: Coordinator = LocalCoordinator(self)

    def use(self, coordinator: Coordinator) -> None:
        """Let ``coordinator`` run the dispatcher (cluster mode swaps in its own)."""
        self.coordinator = coordinator
        self.log.shared = not coordinator.inline

    # -- DispatchHost -------------------------------------------------------------------------

    def reset_dispatcher(self) -> None:
        """An empty Dispatcher (start; in cluster mode also on winning or losing leadership)."""
        q = self.config.queue
        self.dispatcher = Dispatcher(
            queue=FairQueue({"urgent": q.urgent_boost_s, "vip": q.vip_boost_s, "normal": 0.0}),
            estimator=WaitEstimator(q.prior_handle_s),
        )
        self.restored_agents: set[str] = set()

    async def recover(self) -> None:
        """Bring back open conversations, queue order and assignments after a (re)start."""
        now = self.clock()
        for agent in await self.store.list_agents():
            self.agents[agent.agent_id] = agent
        restored_agents: set[str] = set()
        open_ = self.log.open
        for conv in await self.store.open_conversations():
            open_[conv.conversation_id] = conv
            if conv.status == "queued":
                self.dispatcher.enqueue(self.entry(conv), now)
            elif conv.status == "assigned" and conv.agent_id in self.agents:
                agent_id = conv.agent_id
                if agent_id not in restored_agents:
                    self.dispatcher.agent_online(self.profile(self.agents[agent_id]), now)
                    self.dispatcher.agent_offline(agent_id, now)
                    restored_agents.add(agent_id)
                self.dispatcher.attach(agent_id, conv.conversation_id)
            elif conv.status == "assigned":
                # Its agent account was removed while the server was down: back to the queue.
                await self.log.update(conv.conversation_id, status="queued", agent_id=None)
                self.dispatcher.enqueue(self.entry(open_[conv.conversation_id]), now)
        self.restored_agents = restored_agents
        log.info(
            "recovered",
            open_conversations=len(open_),
            queued=len(self.dispatcher.queue),
            agents_with_chats=len(restored_agents),
        )

    @staticmethod
    def profile(agent: AgentRecord) -> AgentProfile:
        """What routing knows of an account."""
        return AgentProfile(
            agent_id=agent.agent_id,
            name=agent.name,
            capacity=agent.capacity,
            languages=agent.languages,
            skills=agent.skills,
        )

    @staticmethod
    def entry(conv: ConversationRecord) -> QueueEntry:
        """What the queue knows of a waiting conversation."""
        return QueueEntry(
            conversation_id=conv.conversation_id,
            priority=conv.priority,
            enqueued_at=conv.enqueued_at if conv.enqueued_at is not None else conv.created_at,
            locale=conv.locale,
            skills=conv.skills,
        )

    async def after_enqueue(self, conversation_id: str) -> None:
        """Tell a newly queued customer what they must know: that nobody speaking their
        language is online (English help), and the leave-a-ticket offer when nobody can come
        soon. Runs where the dispatcher is (inline, or on the cluster's leader)."""
        status = self.dispatcher.queue_status(conversation_id, self.clock())
        if status is None:
            return
        hours = self.hours_now()
        if hours is not None and not hours["open"]:
            # Outside business hours: say when people are back, and offer the ticket (its
            # answer comes by email when the customer gives an address).
            await self.log.append(
                conversation_id,
                NewEvent(
                    kind="ticket_offered",
                    ts=self.clock(),
                    author="system",
                    data={"reason": "closed", "back_at": hours["back_at"]},
                ),
            )
            return
        conv = self.log.open.get(conversation_id)
        if (
            conv is not None
            and language_of(conv.locale) != FALLBACK_LANGUAGE
            and self.dispatcher.language_fallback(conv.locale)
        ):
            await self.log.append(
                conversation_id,
                NewEvent(
                    kind="message",
                    ts=self.clock(),
                    author="system",
                    text=language_fallback_notice(conv.locale),
                    data={"notice": "language_fallback", "language": FALLBACK_LANGUAGE},
                ),
            )
        if status.agents_online == 0:
            reason = "no_agents"
        elif (
            status.estimated_wait_s is not None
            and status.estimated_wait_s > self.config.queue.max_wait_s
        ):
            reason = "long_wait"
        else:
            return
        await self.log.append(
            conversation_id,
            NewEvent(
                kind="ticket_offered", ts=self.clock(), author="system", data={"reason": reason}
            ),
        )

    def hours_now(self) -> dict[str, Any] | None:
        """``{"open", "back_at"}`` by ``[hours]`` now; None when no schedule is set (24/7)."""
        if self.hours.always_open:
            return None
        now = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
        if self.hours.is_open(now):
            return {"open": True, "back_at": None}
        back = self.hours.next_open(now)
        return {"open": False, "back_at": back.timestamp() if back is not None else None}

    def queue_changed(self) -> None:
        """Queue frames may be due (the loops send them, coalesced)."""
        self.on_queue_changed()

    def wake_assigner(self) -> None:
        """Ask the assignment loop to run soon (it coalesces many wake-ups into one pass)."""
        self._assign_wanted.set()
        self.on_queue_changed()

    # -- customers in and out of the queue ----------------------------------------------------

    async def hand_off(
        self,
        conversation_id: str,
        decision: HandoffDecision,
        *,
        intent: str | None,
        skills: tuple[str, ...],
    ) -> None:
        """Put the conversation in the human queue (the caller holds its section)."""
        now = self.clock()
        conv = await self.log.update(
            conversation_id,
            status="queued",
            priority=decision.priority,
            intent=intent,
            skills=skills,
            enqueued_at=now,
            handoff_reason=decision.reason,
            bot_misses=0,
        )
        self.metrics.handoffs.labels(decision.reason).inc()
        await self.log.append(
            conversation_id,
            NewEvent(
                kind="queued",
                ts=now,
                author="system",
                data={"priority": decision.priority, "reason": decision.reason, "intent": intent},
            ),
        )
        self.coordinator.enqueue(conv, now, offer_ticket=True)
        log.info(
            "handoff",
            conversation_id=conversation_id,
            reason=decision.reason,
            priority=decision.priority,
            intent=intent,
        )
        if self.coordinator.inline:  # else the leader tells them once it queued the chat
            await self.after_enqueue(conversation_id)
        # Their place in line at once, not at the next update tick (up to an interval later).
        await self.coordinator.send_position_now(conversation_id)
        self.wake_assigner()

    def leave(self, conversation_id: str) -> None:
        """The conversation left the queue (the customer stopped waiting, or left a ticket)."""
        self.coordinator.leave(conversation_id, self.clock())
        self.on_queue_changed()

    @serialized
    async def requeue(self, conversation_id: str, *, reason: str) -> None:
        """Return an assigned chat to the queue at its original place (transfer, agent gone)."""
        conv = (
            await self.log.refresh(conversation_id)
            if self.log.shared
            else self.log.open.get(conversation_id)
        )
        if conv is None or conv.status != "assigned" or conv.agent_id is None:
            return
        now = self.clock()
        old_agent = conv.agent_id
        self.coordinator.release(old_agent, conversation_id, now)
        conv = await self.log.update(
            conversation_id, status="queued", agent_id=None, assigned_at=None
        )
        self.coordinator.enqueue(conv, now)
        await self.log.to_agent(
            old_agent,
            {"type": "unassigned", "conversation_id": conversation_id, "reason": "requeued"},
        )
        await self.log.append(
            conversation_id,
            NewEvent(
                kind="requeued",
                ts=now,
                author="system",
                data={"reason": reason, "from_agent_id": old_agent},
            ),
        )
        log.info("requeued", conversation_id=conversation_id, reason=reason, agent_id=old_agent)
        await self.coordinator.send_position_now(conversation_id)
        self.wake_assigner()

    @serialized
    async def close(
        self,
        conversation_id: str,
        *,
        by: str,
        ref: str | None,
        agent: AgentRecord | None = None,
    ) -> Done:
        """End the conversation (customer, agent or system); agents get their slot back.

        ``ref`` is the closing client's cid, stored on the ``closed`` event so that a retry is
        acknowledged as a duplicate; ``agent`` names the staff member who closed it.
        """
        conv = await self.log.get(conversation_id)
        if conv is None:
            raise ProtocolError("not_found", "no such conversation", ref)
        if conv.status == "closed" or conv.closed_at is not None:
            owner = agent.agent_id if agent is not None else by
            return await self.log.retried(conversation_id, owner, ref) or Done()
        now = self.clock()
        agent_id = conv.agent_id if conv.status == "assigned" else None
        if conv.status == "queued":
            self.leave(conversation_id)
        if agent_id is not None:
            handled = now - conv.assigned_at if conv.assigned_at else None
            self.coordinator.release(agent_id, conversation_id, now, handled_s=handled)
        ended = outcome(conv)
        for hook in self.on_closed:
            hook(conversation_id)
        # The state changes first, so a client that rates the chat the moment it sees "closed"
        # finds it closed. A ticket stays a ticket (its answer may still come): only closed_at.
        status = "ticket" if conv.status == "ticket" else "closed"
        await self.log.update(conversation_id, status=status, closed_at=now, closed_by=by)
        data: dict[str, Any] = {"by": by}
        if agent is not None:
            data.update(agent_id=agent.agent_id, agent_name=agent.name)
        event, _ = await self.log.append(
            conversation_id,
            NewEvent(
                kind="closed",
                ts=now,
                author=by,
                author_id=agent.agent_id if agent is not None else None,
                author_name=agent.name if agent is not None else None,
                cid=ref,
                data=data,
            ),
            agent_id=agent_id,
        )
        self.metrics.conversations_closed.labels(ended).inc()
        log.info("closed", conversation_id=conversation_id, by=by, outcome=ended)
        if agent_id is not None:
            await self.log.to_agent(
                agent_id,
                {"type": "unassigned", "conversation_id": conversation_id, "reason": "closed"},
            )
            self.wake_assigner()
        return Done(event)

    # -- assignment ---------------------------------------------------------------------------

    async def wait_for_assign_request(self) -> None:
        await self._assign_wanted.wait()
        self._assign_wanted.clear()

    async def run_assignments(self) -> int:
        """Assign every waiting chat that can be assigned now; returns how many were."""
        now = self.clock()
        assignments = self.dispatcher.assign_ready(now)
        for assignment in assignments:
            try:
                async with self.log.section(assignment.conversation_id):
                    await self._apply(assignment, now)
            except Exception:
                log.exception("assignment_failed", conversation_id=assignment.conversation_id)
        if assignments:
            self.on_queue_changed()
        return len(assignments)

    async def _apply(self, a: Assignment, now: float) -> None:
        agent = self.agents[a.agent_id]
        if not await self.coordinator.claim(a, now):
            return
        self.metrics.wait.labels(a.priority).observe(a.waited_s)
        log.info(
            "assigned",
            conversation_id=a.conversation_id,
            agent_id=a.agent_id,
            reason=a.reason,
            waited_s=round(a.waited_s, 1),
        )
        await self.log.append(
            a.conversation_id,
            NewEvent(
                kind="assigned",
                ts=now,
                author="system",
                author_name=agent.name,
                data={
                    "agent_name": agent.name,
                    "agent_id": a.agent_id,
                    "reason": a.reason,
                    "waited_s": round(a.waited_s, 3),
                },
            ),
        )
        await self.log.to_agent(
            a.agent_id, await self.assigned_frame(self.log.open[a.conversation_id])
        )

    async def assigned_frame(self, conv: ConversationRecord) -> dict:
        """Everything an agent needs to take over: summary, full history, earlier chats."""
        events = await self.store.events(conv.conversation_id)
        earlier = await self.log.earlier(conv)
        return {
            "type": "chat_assigned",
            "conversation": conversation_summary(
                conv, customer_online=conv.conversation_id in self.log.customer_connections
            ),
            "events": [event_dict(e) for e in events],
            "earlier": earlier,
        }

    # -- agents' presence ---------------------------------------------------------------------

    def agent_status(self, agent_id: str) -> str:
        return self.coordinator.agent_status(agent_id)

    async def agent_connected(self, agent: AgentRecord, status: str) -> None:
        """An agent (not an operator) connection opened: they take chats when online."""
        self.agent_connections[agent.agent_id] = self.agent_connections.get(agent.agent_id, 0) + 1
        self.coordinator.agent_status_changed(agent, status, connected=True)
        log.info("agent_online", agent_id=agent.agent_id, status=status)
        self.on_queue_changed()
        self.wake_assigner()

    async def set_agent_status(self, agent: AgentRecord, status: str) -> None:
        self.coordinator.agent_status_changed(agent, status, connected=False)
        if status == "online":
            self.wake_assigner()
        self.on_queue_changed()

    def agent_disconnected(self, agent: AgentRecord) -> bool:
        """Returns True when it was the agent's last connection (the grace period starts)."""
        left = self.agent_connections.get(agent.agent_id, 1) - 1
        if left > 0:
            self.agent_connections[agent.agent_id] = left
            return False
        self.agent_connections.pop(agent.agent_id, None)
        self.coordinator.agent_offline(agent.agent_id, self.clock())
        log.info("agent_offline", agent_id=agent.agent_id)
        self.on_queue_changed()
        return True

    async def agent_conversations(self, agent_id: str) -> list[ConversationRecord]:
        return await self.coordinator.conversations_of(agent_id)

    def agents_live(self) -> list[dict]:
        """Every account with its live status and load."""
        out = []
        for agent in sorted(self.agents.values(), key=lambda a: a.name):
            load = self.dispatcher.agent(agent.agent_id)
            out.append(
                {
                    "agent_id": agent.agent_id,
                    "name": agent.name,
                    "role": agent.role,
                    "status": load.status if load else "offline",
                    "active": load.active if load else 0,
                    "capacity": agent.capacity,
                    "languages": list(agent.languages),
                    "skills": list(agent.skills),
                }
            )
        return out
