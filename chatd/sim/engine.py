"""The discrete-event engine: a virtual clock and a heap of events driving the real Dispatcher.

No asyncio and no wall clock: time jumps from one event to the next. The engine calls the
:class:`~chatd.domain.dispatch.Dispatcher` the way :mod:`chatd.service.chat` does -- enqueue then
``assign_ready`` on a hand-off, ``release`` (with the handling time) then ``assign_ready`` on a
close, ``leave`` when a waiting customer gives up, ``agent_online`` / ``agent_offline`` at shift
edges -- and shows each customer ``queue_status`` right after they join, as the service's first
queue frame does. So the figures describe the code that runs in production, not a model of it.

Randomness comes from one :class:`random.Random` per purpose (arrivals, handling, patience, mix),
all derived from the seed: a change in the order the dispatcher serves customers does not shift
the draws of the workload, so two estimator variants are compared on the very same customers.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from typing import cast

from chatd.config import QueueConfig
from chatd.domain.dispatch import Assignment, Dispatcher
from chatd.domain.queue import PRIORITIES, FairQueue, QueueEntry
from chatd.domain.routing import AgentProfile, eligible_agents
from chatd.domain.wait import WaitEstimator
from chatd.sim.scenario import AgentSpec, Scenario

__all__ = ["CustomerRecord", "SimResult", "Simulation", "make_dispatcher", "simulate"]

# Event kinds. Ties at the same instant are broken by the kind first: an agent who comes online
# at t is there for a customer arriving at t, and a chat that closes at t frees its slot for them.
_SHIFT_START, _DEPARTURE, _ABANDON, _ARRIVAL, _SHIFT_END, _SAMPLE = range(6)


@dataclass(slots=True)
class CustomerRecord:
    """One customer's life in the queue and what they were told on joining."""

    arrived_at: float
    priority: str
    locale: str
    handle_s: float
    measured: bool
    position: int = 0
    estimate_s: float | None = None
    low_s: float | None = None
    high_s: float | None = None
    naive_s: float | None = None
    rocketchat_s: float | None = None
    assigned_at: float | None = None
    abandoned_at: float | None = None

    @property
    def wait_s(self) -> float | None:
        """Time from joining to an agent, or None for a customer who gave up."""
        return None if self.assigned_at is None else self.assigned_at - self.arrived_at


@dataclass(slots=True)
class SimResult:
    """The raw outcome of a run; :mod:`chatd.sim.report` turns it into figures."""

    scenario: Scenario
    seed: int
    customers: list[CustomerRecord] = field(default_factory=list)
    #: (time, waiting customers) every ``sample_every_s``.
    queue_samples: list[tuple[float, int]] = field(default_factory=list)
    #: agent id -> chats taken, and seconds online (for chats per online hour).
    chats_by_agent: dict[str, int] = field(default_factory=dict)
    online_s_by_agent: dict[str, float] = field(default_factory=dict)
    busy_slot_s: float = 0.0
    online_slot_s: float = 0.0
    #: Times an online agent with a free slot sat next to a waiting customer it could take.
    idle_while_waiting: int = 0
    #: Times an agent held more chats than its capacity.
    over_capacity: int = 0
    end_s: float = 0.0


def make_dispatcher(config: QueueConfig | None = None) -> Dispatcher:
    """Build the dispatcher exactly as :class:`chatd.service.chat.ChatService` does."""
    q = config if config is not None else QueueConfig()
    return Dispatcher(
        queue=FairQueue({"urgent": q.urgent_boost_s, "vip": q.vip_boost_s, "normal": 0.0}),
        estimator=WaitEstimator(q.prior_handle_s),
    )


class Simulation:
    """One seeded run of a scenario; call :meth:`run` once."""

    def __init__(self, scenario: Scenario, seed: int, dispatcher: Dispatcher | None = None) -> None:
        """Prepare the run; ``dispatcher`` defaults to the service's configuration."""
        self.scenario = scenario
        self.seed = seed
        self.dispatcher = dispatcher if dispatcher is not None else make_dispatcher()
        self.result = SimResult(scenario, seed)
        self._rng = {
            name: random.Random(f"{seed}:{name}")
            for name in ("arrivals", "handling", "patience", "mix")
        }
        self._events: list[tuple[float, int, int, object]] = []
        self._seq = 0
        self._now = 0.0
        self._busy = 0  # chats in progress, all agents
        self._online_slots = 0
        self._online_since: dict[str, float] = {}
        self._records: dict[str, CustomerRecord] = {}
        self._arrived = 0
        self._arrivals_end = math.inf
        self._priorities = [(p, scenario.priority_mix.get(p, 0.0)) for p in PRIORITIES[:-1]]
        self._locales = list(scenario.language_mix.items())

    # -- event plumbing ------------------------------------------------------------------------

    def _schedule(self, at: float, kind: int, payload: object = None) -> None:
        self._seq += 1
        heapq.heappush(self._events, (at, kind, self._seq, payload))

    def _advance(self, to: float) -> None:
        """Move the clock, integrating busy and online slot-seconds for utilisation.

        Only the measured part counts: after the warm-up and while customers still arrive (the
        drain at the end, agents finishing the last chats, would dilute utilisation).
        """
        start = max(self._now, self.scenario.warmup_s)
        end = min(to, self._arrivals_end)
        if end > start:
            self.result.busy_slot_s += self._busy * (end - start)
            self.result.online_slot_s += self._online_slots * (end - start)
        self._now = max(self._now, to)

    def run(self) -> SimResult:
        """Run until arrivals stop and every customer is served or gone; return the result."""
        scenario = self.scenario
        for spec in scenario.agents:
            self._schedule(spec.start_s, _SHIFT_START, spec)
            if math.isfinite(spec.end_s):
                self._schedule(spec.end_s, _SHIFT_END, spec)
        self._schedule_next_arrival(0.0)
        if scenario.detailed:
            self._schedule(0.0, _SAMPLE)
        handlers = {
            _SHIFT_START: self._on_shift_start,
            _SHIFT_END: self._on_shift_end,
            _ARRIVAL: self._on_arrival,
            _DEPARTURE: self._on_departure,
            _ABANDON: self._on_abandon,
            _SAMPLE: self._on_sample,
        }
        while self._events:
            at, kind, _, payload = heapq.heappop(self._events)
            if kind == _SAMPLE and not self._work_left():
                continue  # only the sampler is left: the run is over
            self._advance(at)
            handlers[kind](payload)
        self._close_shifts()
        return self.result

    def _work_left(self) -> bool:
        return any(kind != _SAMPLE for _, kind, _, _ in self._events) or bool(self.dispatcher.queue)

    # -- handlers ------------------------------------------------------------------------------

    def _schedule_next_arrival(self, after: float) -> None:
        scenario = self.scenario
        if scenario.customers is not None and self._arrived >= scenario.customers:
            self._arrivals_end = after
            return
        at = scenario.arrivals.next_arrival(after, self._rng["arrivals"])
        if at < scenario.duration_s:
            self._schedule(at, _ARRIVAL)
        else:
            self._arrivals_end = scenario.duration_s

    def _on_arrival(self, _: object) -> None:
        now = self._now
        scenario = self.scenario
        self._arrived += 1
        cid = f"c{self._arrived:07d}"
        record = CustomerRecord(
            arrived_at=now,
            priority=self._draw_priority(),
            locale=self._draw_locale(),
            handle_s=scenario.handling.sample(self._rng["handling"]),
            measured=now >= scenario.warmup_s,
        )
        self._records[cid] = record
        self.result.customers.append(record)
        dispatcher = self.dispatcher
        dispatcher.enqueue(QueueEntry(cid, record.priority, now, record.locale), now)
        self._apply(dispatcher.assign_ready(now))
        if scenario.detailed:
            self._show_estimate(cid, record)
        if scenario.patience_mean_s is not None and record.assigned_at is None:
            patience = self._rng["patience"].expovariate(1.0 / scenario.patience_mean_s)
            self._schedule(now + patience, _ABANDON, cid)
        self._schedule_next_arrival(now)

    def _show_estimate(self, cid: str, record: CustomerRecord) -> None:
        """Record what the customer is told on joining, and what the baselines would say."""
        dispatcher = self.dispatcher
        status = dispatcher.queue_status(cid, self._now)
        if status is None:  # assigned at once
            return
        record.position = status.position
        record.estimate_s = status.estimated_wait_s
        record.low_s = status.wait_low_s
        record.high_s = status.wait_high_s
        slots = dispatcher.slots()
        if slots:
            handle_s = dispatcher.estimator.mean_handle_s()
            record.naive_s = status.position * handle_s / slots
            # Rocket.Chat: ((position - 1) / 100 + 1) x average chat duration.
            record.rocketchat_s = ((status.position - 1) / 100 + 1) * handle_s

    def _on_departure(self, payload: object) -> None:
        agent_id, cid, assigned_at = cast(tuple[str, str, float], payload)
        self._busy -= 1
        self.result.end_s = self._now  # the last close ends the run (stale timers do not)
        self.dispatcher.release(agent_id, cid, self._now, handled_s=self._now - assigned_at)
        self._apply(self.dispatcher.assign_ready(self._now))

    def _on_abandon(self, cid: object) -> None:
        assert isinstance(cid, str)
        record = self._records.get(cid)
        if record is None:  # served before their patience ran out
            return
        entry = self.dispatcher.leave(cid, self._now)
        assert entry is not None, cid
        record.abandoned_at = self._now
        del self._records[cid]
        # The service asks for an assignment round after any close; harmless here, kept alike.
        self._apply(self.dispatcher.assign_ready(self._now))

    def _on_shift_start(self, spec: object) -> None:
        assert isinstance(spec, AgentSpec)
        profile = AgentProfile(spec.agent_id, spec.agent_id, spec.capacity, spec.languages)
        self.dispatcher.agent_online(profile, self._now)
        self._online_slots += spec.capacity
        self._online_since[spec.agent_id] = self._now
        self.result.chats_by_agent.setdefault(spec.agent_id, 0)
        self._apply(self.dispatcher.assign_ready(self._now))

    def _on_shift_end(self, spec: object) -> None:
        assert isinstance(spec, AgentSpec)
        # The agent stops taking chats and finishes the ones they hold (their releases follow).
        self.dispatcher.agent_offline(spec.agent_id, self._now)
        self._online_slots -= spec.capacity
        self._close_shift(spec.agent_id)

    def _on_sample(self, _: object) -> None:
        self.result.queue_samples.append((self._now, len(self.dispatcher.queue)))
        self._schedule(self._now + self.scenario.sample_every_s, _SAMPLE)

    # -- helpers -------------------------------------------------------------------------------

    def _apply(self, assignments: list[Assignment]) -> None:
        """Start every assigned chat: schedule its close, record the wait, check fairness."""
        now = self._now
        dispatcher = self.dispatcher
        for assignment in assignments:
            record = self._records.pop(assignment.conversation_id)
            record.assigned_at = now
            self._busy += 1
            self.result.chats_by_agent[assignment.agent_id] += 1
            self._schedule(
                now + record.handle_s,
                _DEPARTURE,
                (assignment.agent_id, assignment.conversation_id, now),
            )
            if self.scenario.detailed:
                load = dispatcher.agent(assignment.agent_id)
                if load is not None and load.active > load.profile.capacity:
                    self.result.over_capacity += 1
        if self.scenario.detailed and dispatcher.queue and dispatcher.free_slots():
            # Free capacity and a waiting queue: legitimate only if no free agent may take
            # any waiting customer (language), which is what this checks.
            loads = dispatcher.agents()
            if any(eligible_agents(entry, loads) for entry in dispatcher.queue.ordered()):
                self.result.idle_while_waiting += 1

    def _draw_priority(self) -> str:
        draw = self._rng["mix"].random()
        for priority, share in self._priorities:
            if draw < share:
                return priority
            draw -= share
        return PRIORITIES[-1]

    def _draw_locale(self) -> str:
        draw = self._rng["mix"].random()
        for locale, share in self._locales:
            if draw < share:
                return locale
            draw -= share
        return self._locales[-1][0]

    def _close_shift(self, agent_id: str) -> None:
        since = self._online_since.pop(agent_id, None)
        if since is not None:
            online = self.result.online_s_by_agent
            online[agent_id] = online.get(agent_id, 0.0) + self._now - since

    def _close_shifts(self) -> None:
        for agent_id in list(self._online_since):
            self._close_shift(agent_id)


def simulate(scenario: Scenario, seed: int) -> SimResult:
    """Run ``scenario`` under ``seed`` with the service's dispatcher configuration."""
    return Simulation(scenario, seed).run()
