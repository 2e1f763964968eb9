"""The dispatcher: the whole queue + agents + wait-estimator state, driven by events.

Both the asyncio service and the discrete-event simulator (``chatd simulate``) drive this one
object, so what the simulator measures is what production does. Every method is synchronous,
takes time as ``now`` and returns decisions (:class:`Assignment`, :class:`QueueStatus`); the
caller persists and announces them.

State rules the methods keep (and ``tests/unit/test_dispatch.py`` checks with a state machine):
a conversation is either queued or held by one agent, never both and never two agents;
``assign_ready`` never pushes an agent over capacity and never leaves an online agent with free
capacity idle while an entry it may take is waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from chatd.domain.queue import FairQueue, QueueEntry
from chatd.domain.routing import (
    AgentLoad,
    AgentProfile,
    choose_agent,
    eligible_agents,
    language_of,
    serving_pool,
)
from chatd.domain.wait import WaitEstimator

#: queue_status looks at the customers ahead (their languages) only this close to the head: that
#: costs a pass over the queue, which for thousands of waiting customers updated every second
#: must stay rare, and deeper in the queue the language mix ahead averages out anyway.
_AHEAD_SCAN_MAX = 32

__all__ = [
    "Assignment",
    "Dispatcher",
    "QueueStatus",
]


@dataclass(frozen=True, slots=True)
class Assignment:
    """A decision: ``conversation_id`` goes to ``agent_id``.

    ``waited_s`` is measured from the entry's ``enqueued_at``, i.e. from the *original* enqueue
    for a chat that came back to the queue.
    """

    conversation_id: str
    agent_id: str
    reason: str
    waited_s: float
    priority: str


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """What a waiting customer is told. The estimate fields are None when no agent is online."""

    position: int
    estimated_wait_s: float | None
    wait_low_s: float | None
    wait_high_s: float | None
    agents_online: int


@dataclass(slots=True)
class _AgentState:
    profile: AgentProfile
    status: str
    active: set[str]
    last_assigned_at: float | None = None

    def load(self) -> AgentLoad:
        return AgentLoad(
            profile=self.profile,
            status=self.status,
            active=len(self.active),
            last_assigned_at=self.last_assigned_at,
        )


class Dispatcher:
    """Queue, agents and wait estimator in one synchronous state machine."""

    __slots__ = (
        "_agents",
        "_assigned",
        "_estimator",
        "_head",
        "_online_loads",
        "_pools",
        "_queue",
    )

    def __init__(
        self, *, queue: FairQueue | None = None, estimator: WaitEstimator | None = None
    ) -> None:
        """Create a dispatcher with an empty (or the given) queue and estimator."""
        self._queue = queue if queue is not None else FairQueue()
        self._estimator = estimator if estimator is not None else WaitEstimator()
        self._agents: dict[str, _AgentState] = {}
        self._assigned: dict[str, str] = {}  # conversation id -> agent id
        # Snapshot of online agents for routing and estimates; rebuilt after any agent change,
        # so that queue_status for thousands of waiting customers does not rebuild it each time.
        self._online_loads: list[AgentLoad] | None = None
        # Also derived once per state for queue_status, which runs for every waiting customer
        # about once a second: per language (slots, free seats it may take, its pool's slots),
        # and the head of the queue that the language scan reads.
        self._pools: dict[str, tuple[int, int, int]] = {}
        self._head: list[QueueEntry] | None = None

    # -- read access -------------------------------------------------------------------------

    @property
    def queue(self) -> FairQueue:
        """The queue (read it; change it only through the dispatcher)."""
        return self._queue

    @property
    def estimator(self) -> WaitEstimator:
        """The wait estimator."""
        return self._estimator

    @property
    def agents_online(self) -> int:
        """Number of agents whose status is ``online``."""
        return len(self._loads())

    def slots(self) -> int:
        """Total chat capacity of online agents."""
        return sum(load.profile.capacity for load in self._loads())

    def free_slots(self) -> int:
        """Chat capacity of online agents not in use."""
        return sum(load.free for load in self._loads())

    def language_fallback(self, locale: str) -> bool:
        """True when agents are online but none speaks ``locale``'s language (they answer in
        routing's fallback language instead; the customer should be told)."""
        loads = self._loads()
        return bool(loads) and serving_pool(language_of(locale), loads)[1]

    def agent(self, agent_id: str) -> AgentLoad | None:
        """Return a snapshot of a known agent (any status), or None."""
        state = self._agents.get(agent_id)
        return None if state is None else state.load()

    def agents(self) -> list[AgentLoad]:
        """Return snapshots of every known agent, sorted by id."""
        return [self._agents[agent_id].load() for agent_id in sorted(self._agents)]

    def active(self, agent_id: str) -> frozenset[str]:
        """Return the conversation ids ``agent_id`` holds (empty for an unknown agent)."""
        state = self._agents.get(agent_id)
        return frozenset() if state is None else frozenset(state.active)

    def assigned_agent(self, conversation_id: str) -> str | None:
        """Return the agent holding ``conversation_id``, or None."""
        return self._assigned.get(conversation_id)

    # -- agents ------------------------------------------------------------------------------

    def agent_online(self, profile: AgentProfile, now: float) -> None:
        """Mark an agent online (available); re-calling updates the profile, keeps its chats."""
        state = self._agents.get(profile.agent_id)
        if state is None:
            self._agents[profile.agent_id] = _AgentState(profile, "online", set())
        else:
            state.profile = profile
            state.status = "online"
        self._changed()

    def agent_away(self, agent_id: str, now: float) -> None:
        """Mark an agent away: connected, keeps current chats, takes no new ones.

        KeyError for an agent never seen online (its profile is unknown).
        """
        self._require_agent(agent_id).status = "away"
        self._changed()

    def agent_offline(self, agent_id: str, now: float) -> None:
        """Mark an agent offline; it keeps its chats (the service decides when they requeue).

        Unknown agents are ignored, so a disconnect reported twice is harmless.
        """
        state = self._agents.get(agent_id)
        if state is not None:
            state.status = "offline"
            self._changed()

    def attach(self, agent_id: str, conversation_id: str, *, now: float | None = None) -> None:
        """Record that ``agent_id`` holds ``conversation_id`` without going through the queue.

        For restoring assignments after a restart and for direct transfers. It counts toward the
        agent's active chats even beyond capacity (a restart must not fail because capacity was
        lowered meanwhile). Passing ``now`` also counts as an assignment for idle-time fairness.
        KeyError for an unknown agent; ValueError if the conversation is queued or held by
        another agent. Attaching again to the same agent is a no-op.
        """
        state = self._require_agent(agent_id)
        holder = self._assigned.get(conversation_id)
        if holder == agent_id:
            return
        if holder is not None:
            raise ValueError(f"conversation {conversation_id!r} is held by agent {holder!r}")
        if conversation_id in self._queue:
            raise ValueError(f"conversation {conversation_id!r} is queued; leave() it first")
        state.active.add(conversation_id)
        self._assigned[conversation_id] = agent_id
        if now is not None:
            state.last_assigned_at = now
        self._changed()

    def release(
        self, agent_id: str, conversation_id: str, now: float, *, handled_s: float | None = None
    ) -> None:
        """Record that ``agent_id`` no longer holds ``conversation_id`` (closed, transferred).

        ``handled_s`` (assignment to close) feeds the wait estimator. Releasing a chat the agent
        does not hold is a no-op, and then ``handled_s`` is ignored so nothing is counted twice.
        """
        state = self._agents.get(agent_id)
        if state is None or conversation_id not in state.active:
            return
        state.active.discard(conversation_id)
        del self._assigned[conversation_id]
        self._changed()
        if handled_s is not None:
            self._estimator.observe_handling(handled_s, now)

    # -- conversations -----------------------------------------------------------------------

    def enqueue(self, entry: QueueEntry, now: float) -> None:
        """Put a conversation in the queue at the place its ``enqueued_at`` gives it.

        ValueError if it is already queued or held by an agent (release it first).
        """
        holder = self._assigned.get(entry.conversation_id)
        if holder is not None:
            raise ValueError(
                f"conversation {entry.conversation_id!r} is held by agent {holder!r}; "
                "release it first"
            )
        self._queue.push(entry)
        self._head = None
        self._estimator.observe_enqueue(entry.priority, now)

    def leave(self, conversation_id: str, now: float) -> QueueEntry | None:
        """Take a conversation out of the queue (customer left, chose a ticket, abandoned).

        Every such exit counts as an abandonment for the estimator: either way the customer
        stops being ahead of anyone.
        """
        entry = self._queue.remove(conversation_id)
        if entry is not None:
            self._head = None
            self._estimator.observe_dequeue(now, abandoned=True)
        return entry

    def assign_ready(self, now: float) -> list[Assignment]:
        """Assign every waiting conversation that can be assigned now, in service order.

        Walks the queue in order, applies :func:`~chatd.domain.routing.choose_agent` and applies
        each decision at once (removes the entry from the queue, counts the chat as active, sets
        the agent's last-assigned time), so that the next entry sees the updated loads.
        """
        loads = {load.agent_id: load for load in self._loads()}
        free = sum(load.free for load in loads.values())
        if free == 0 or not self._queue:
            return []
        assignments: list[Assignment] = []
        # Whether an entry can be served depends only on its language (skills just rank), and
        # capacity only shrinks during the walk: once a language finds no agent, every later
        # entry in it would not either, so the walk skips them without routing each one.
        blocked_languages: set[str] = set()
        for entry in self._queue.ordered():
            language = language_of(entry.locale)
            if language in blocked_languages:
                continue
            choice = choose_agent(entry, loads.values(), now)
            if choice is None:
                blocked_languages.add(language)
                continue
            agent_id, reason = choice
            self._queue.remove(entry.conversation_id)
            self._estimator.observe_dequeue(now, abandoned=False)
            state = self._agents[agent_id]
            state.active.add(entry.conversation_id)
            state.last_assigned_at = now
            self._assigned[entry.conversation_id] = agent_id
            loads[agent_id] = replace(
                loads[agent_id], active=len(state.active), last_assigned_at=now
            )
            assignments.append(
                Assignment(
                    conversation_id=entry.conversation_id,
                    agent_id=agent_id,
                    reason=reason,
                    waited_s=max(0.0, now - entry.enqueued_at),
                    priority=entry.priority,
                )
            )
            free -= 1
            if free == 0:
                break
        if assignments:
            self._changed()
        return assignments

    def queue_status(self, conversation_id: str, now: float) -> QueueStatus | None:
        """Return what the waiting customer should see, or None if the conversation is not queued.

        The estimate uses the global position, the slots of online agents, the free slots this
        customer could actually take (a Chinese speaker's free seat does not shorten an English
        customer's wait when Chinese speakers are online and busy), so after ``assign_ready``
        nobody still waiting is told "about zero"; the capacity of the agents who may serve
        this customer at all (their last step waits for one of those seats); and, for each
        higher class, how much longer its new arrivals will still rank ahead (the queue's head
        starts minus what this customer has already waited).
        """
        entry = self._queue.get(conversation_id)
        if entry is None:
            return None
        position = self._queue.position(conversation_id)
        assert position is not None  # the entry is queued
        loads = self._loads()
        language = language_of(entry.locale)
        slots, free_for_entry, pool_slots = self._pool_figures(entry, language, loads)
        boosts = self._queue.boosts
        waited = max(0.0, now - entry.enqueued_at)
        head_starts = {
            priority: boost - boosts[entry.priority] - waited
            for priority, boost in boosts.items()
            if boost - boosts[entry.priority] - waited > 0.0
        }
        pool_ahead, passable_ahead = (
            self._language_ahead(language, position, loads, slots)
            if position <= _AHEAD_SCAN_MAX
            else (0, 0)
        )
        estimate = self._estimator.estimate(
            position,
            slots=slots,
            free_slots=free_for_entry,
            now=now,
            pool_slots=pool_slots,
            head_starts=head_starts,
            pool_ahead=pool_ahead,
            passable_ahead=passable_ahead,
        )
        if estimate is None:
            return QueueStatus(position, None, None, None, len(loads))
        return QueueStatus(
            position, estimate.expected_s, estimate.low_s, estimate.high_s, len(loads)
        )

    def _language_ahead(
        self, language: str, position: int, loads: list[AgentLoad], slots: int
    ) -> tuple[int, int]:
        """Count the customers ahead who need this customer's seats, and those it can pass.

        A customer is *restricted* when some but not all online capacity speaks their language.
        Restricted customers ahead in the same language wait for the same few seats (each takes
        one of them first); restricted customers ahead in another language are passed by this
        customer on seats they cannot take, so they do not delay it.
        """
        pool_by_language: dict[str, int] = {}

        def pool_of(lang: str) -> int:
            if lang not in pool_by_language:
                pool, _fallback = serving_pool(lang, loads)
                pool_by_language[lang] = sum(a.profile.capacity for a in pool)
            return pool_by_language[lang]

        if self._head is None:
            self._head = self._queue.ordered()[: _AHEAD_SCAN_MAX - 1]
        same = passable = 0
        for ahead in self._head[: position - 1]:
            ahead_language = language_of(ahead.locale)
            if pool_of(ahead_language) >= slots:
                continue  # anyone may take it: an ordinary customer ahead
            if ahead_language == language:
                same += 1
            else:
                passable += 1
        return same, passable

    def overview(self, now: float) -> dict[str, Any]:
        """Return the live figures operators and metrics show."""
        oldest = self._queue.oldest_enqueued_at()
        loads = self._loads()
        return {
            "waiting": len(self._queue),
            "waiting_by_class": self._queue.waiting_by_class(),
            "oldest_wait_s": 0.0 if oldest is None else max(0.0, now - oldest),
            "agents_online": len(loads),
            "slots": sum(load.profile.capacity for load in loads),
            "free_slots": sum(load.free for load in loads),
        }

    # -- internals ---------------------------------------------------------------------------

    def _require_agent(self, agent_id: str) -> _AgentState:
        state = self._agents.get(agent_id)
        if state is None:
            raise KeyError(f"unknown agent {agent_id!r}")
        return state

    def _changed(self) -> None:
        """Forget what was derived from the agents, their chats and the queue."""
        self._online_loads = None
        self._pools.clear()
        self._head = None

    def _pool_figures(
        self, entry: QueueEntry, language: str, loads: list[AgentLoad]
    ) -> tuple[int, int, int]:
        """Return (online slots, free seats ``entry`` may take, its language pool's slots)."""
        figures = self._pools.get(language)
        if figures is None:
            slots = sum(load.profile.capacity for load in loads)
            # Which seats an entry may take depends on its language only (routing's rule).
            free_for_entry = sum(load.free for load in eligible_agents(entry, loads))
            # Same rule as routing: with no speaker online, English speakers (else anyone).
            pool, _fallback = serving_pool(language, loads)
            pool_slots = sum(load.profile.capacity for load in pool)
            figures = self._pools[language] = (slots, free_for_entry, pool_slots)
        return figures

    def _loads(self) -> list[AgentLoad]:
        if self._online_loads is None:
            self._online_loads = [
                state.load() for state in self._agents.values() if state.status == "online"
            ]
        return self._online_loads

    def __repr__(self) -> str:
        return (
            f"Dispatcher(waiting={len(self._queue)}, agents_online={self.agents_online}, "
            f"assigned={len(self._assigned)})"
        )
