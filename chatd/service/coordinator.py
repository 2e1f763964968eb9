"""Who runs the Dispatcher, and what it needs from the service: the embedded coordinator.

The service's parts never change queue and agent state directly; they call a
:class:`Coordinator`, the same methods in both modes:

* :class:`LocalCoordinator` (no ``[cluster] redis_url``): the in-process
  :class:`~chatd.domain.dispatch.Dispatcher`, called inline.
* :class:`chatd.service.cluster.ClusterCoordinator`: the same pure Dispatcher run by one fenced
  leader of the cluster (docs/cluster.md).

Coordinators depend on the service only through :class:`DispatchHost` (implemented by
:class:`chatd.service.assignments.Assignments`) and on the periodic loops only through
:class:`QueueSignals` (implemented by :class:`chatd.service.queueing.QueueLoops`): nothing here
imports a module above it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from chatd.bus.base import Bus
from chatd.domain.dispatch import Assignment, Dispatcher
from chatd.domain.queue import QueueEntry
from chatd.domain.routing import AgentProfile
from chatd.protocol import ProtocolError
from chatd.service.conversations import ConversationLog
from chatd.store.base import AgentRecord, ConversationRecord, Store

__all__ = [
    "Coordinator",
    "DispatchHost",
    "LocalCoordinator",
    "QueueSignals",
    "check_transfer_target",
    "default_node_id",
]


def default_node_id() -> str:
    """``<hostname>-<pid>``: unique per process, readable in logs."""
    return f"{socket.gethostname()}-{os.getpid()}"


class QueueSignals(Protocol):
    """What a coordinator tells the periodic loops (chatd.service.queueing.QueueLoops)."""

    def forget_sent(self, conversation_id: str | None) -> None: ...

    async def push_status(
        self, conversation_id: str, now: float, interval: float = 0.0
    ) -> None: ...

    def start_grace(self, agent_id: str) -> None: ...

    def cancel_grace(self, agent_id: str) -> None: ...

    def cancel_all_grace(self) -> None: ...


class DispatchHost(Protocol):
    """What a coordinator needs of the service (chatd.service.assignments.Assignments)."""

    dispatcher: Dispatcher
    #: Agents who held chats at a (re)start; their grace periods start with the loops.
    restored_agents: set[str]
    #: Every staff account seen, by id.
    agents: dict[str, AgentRecord]
    #: Open agent connections on this node, by agent id.
    agent_connections: dict[str, int]
    log: ConversationLog
    store: Store
    bus: Bus
    clock: Callable[[], float]

    def reset_dispatcher(self) -> None: ...

    async def recover(self) -> None: ...

    def entry(self, conv: ConversationRecord) -> QueueEntry: ...

    def profile(self, agent: AgentRecord) -> AgentProfile: ...

    async def after_enqueue(self, conversation_id: str) -> None:
        """Tell a newly queued customer what they should know (no agents, language, wait)."""

    def queue_changed(self) -> None: ...

    def wake_assigner(self) -> None: ...


class Coordinator(Protocol):
    """What the service's parts and its loops ask of whoever runs the Dispatcher."""

    #: True when decisions are applied inside the calling coroutine (embedded mode).
    inline: bool

    @property
    def is_dispatching(self) -> bool:
        """This process holds the authoritative Dispatcher (assigns, sends queue frames)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def attach_loops(self, loops: QueueSignals) -> None: ...

    def enqueue(self, conv: ConversationRecord, now: float, *, offer_ticket: bool = False) -> None:
        """Put the conversation in the queue at the place its ``enqueued_at`` gives it."""

    def leave(self, conversation_id: str, now: float) -> None: ...

    def release(
        self, agent_id: str, conversation_id: str, now: float, *, handled_s: float | None = None
    ) -> None: ...

    def agent_status_changed(self, agent: AgentRecord, status: str, *, connected: bool) -> None:
        """The agent connected (``connected``) or chose ``status`` (online | away)."""

    def agent_offline(self, agent_id: str, now: float) -> None: ...

    async def claim(self, assignment: Assignment, now: float) -> bool:
        """Persist an assignment; False (and undone) when it may not happen any more."""

    async def transfer(
        self, from_agent: str, to_agent: str, conversation_id: str, now: float, ref: str | None
    ) -> None:
        """Move a held chat to another agent; ProtocolError when that agent cannot take it."""

    def agent_status(self, agent_id: str) -> str: ...

    def agent_present(self, agent_id: str) -> bool:
        """The agent is connected somewhere (their grace period must not requeue)."""

    def overview(self) -> dict[str, Any]: ...

    def status_targets(self) -> Iterable[str]:
        """Conversations that get coalesced queue frames."""

    async def send_position_now(self, conversation_id: str) -> None:
        """Send the customer their queue frame now if they wait (not at the next update tick):
        their connection just opened, or they were just queued."""

    async def conversations_of(self, agent_id: str) -> list[ConversationRecord]: ...


class LocalCoordinator:
    """Embedded mode: the host's own Dispatcher, called inline."""

    inline = True

    def __init__(self, service: DispatchHost) -> None:
        self.service = service
        self.loops: QueueSignals | None = None

    @property
    def is_dispatching(self) -> bool:
        return True

    async def start(self) -> None:
        await self.service.recover()

    async def stop(self) -> None:
        return None

    def attach_loops(self, loops: QueueSignals) -> None:
        self.loops = loops

    def enqueue(self, conv: ConversationRecord, now: float, *, offer_ticket: bool = False) -> None:
        self.service.dispatcher.enqueue(self.service.entry(conv), now)

    def leave(self, conversation_id: str, now: float) -> None:
        self.service.dispatcher.leave(conversation_id, now)

    def release(
        self, agent_id: str, conversation_id: str, now: float, *, handled_s: float | None = None
    ) -> None:
        self.service.dispatcher.release(agent_id, conversation_id, now, handled_s=handled_s)

    def agent_status_changed(self, agent: AgentRecord, status: str, *, connected: bool) -> None:
        dispatcher = self.service.dispatcher
        if connected or status == "online":
            dispatcher.agent_online(self.service.profile(agent), self.service.clock())
        if status == "away":
            dispatcher.agent_away(agent.agent_id, self.service.clock())

    def agent_offline(self, agent_id: str, now: float) -> None:
        self.service.dispatcher.agent_offline(agent_id, now)

    async def claim(self, assignment: Assignment, now: float) -> bool:
        # Under the conversation's lock: a close, ticket or leave that won the race since the
        # dispatcher chose this chat means the agent's slot goes back.
        conv = self.service.log.open.get(assignment.conversation_id)
        if conv is None or conv.status != "queued":
            self.service.dispatcher.release(assignment.agent_id, assignment.conversation_id, now)
            return False
        await self.service.log.update(
            assignment.conversation_id,
            status="assigned",
            agent_id=assignment.agent_id,
            assigned_at=now,
        )
        return True

    async def transfer(
        self, from_agent: str, to_agent: str, conversation_id: str, now: float, ref: str | None
    ) -> None:
        dispatcher = self.service.dispatcher
        check_transfer_target(dispatcher, from_agent, to_agent, ref)
        dispatcher.release(from_agent, conversation_id, now)
        dispatcher.attach(to_agent, conversation_id, now=now)

    def agent_status(self, agent_id: str) -> str:
        load = self.service.dispatcher.agent(agent_id)
        return load.status if load is not None else "offline"

    def agent_present(self, agent_id: str) -> bool:
        return bool(self.service.agent_connections.get(agent_id))

    def overview(self) -> dict[str, Any]:
        return self.service.dispatcher.overview(self.service.clock())

    def status_targets(self) -> Iterable[str]:
        return self.service.log.customer_connections

    async def send_position_now(self, conversation_id: str) -> None:
        service = self.service
        if (
            self.loops is not None
            and service.dispatcher.queue_status(conversation_id, service.clock()) is not None
        ):
            # A (re)connecting customer always gets their position at once, even if it is the
            # same as the last frame sent to their previous connection.
            self.loops.forget_sent(conversation_id)
            await self.loops.push_status(conversation_id, service.clock())

    async def conversations_of(self, agent_id: str) -> list[ConversationRecord]:
        service = self.service
        return [
            c for cid in service.dispatcher.active(agent_id) if (c := service.log.open.get(cid))
        ]


def check_transfer_target(
    dispatcher: Dispatcher, from_agent: str, to_agent: str, ref: str | None
) -> None:
    """ProtocolError unless ``to_agent`` may take a chat from ``from_agent`` now."""
    target = dispatcher.agent(to_agent)
    if target is None or target.status != "online" or to_agent == from_agent:
        raise ProtocolError("invalid_state", "that agent is not online", ref)
    if target.free <= 0:
        raise ProtocolError("invalid_state", "that agent has no free capacity", ref)
