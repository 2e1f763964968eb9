"""The periodic side of the queue: assignment, coalesced queue updates, grace timers, idle close.

Queue updates are coalesced: a ticker runs ``SLICES`` times per update interval and each tick
looks only at the waiting customers of one slice (by a hash of the conversation id). A customer is
sent a ``queue`` frame when their position, estimate or the number of agents changed, and at most
once per interval. So one dequeue that moves 5,000 customers up costs 5,000 frames spread over a
second, never a burst, and an unchanged queue costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib

from chatd.logs import get_logger
from chatd.service.assignments import Assignments

__all__ = ["QueueLoops"]

log = get_logger(__name__)

#: Ticks per update interval; each tick handles 1/SLICES of the waiting customers.
SLICES = 5
#: How often idle bot-only conversations are looked for (seconds).
IDLE_SWEEP_S = 30.0


def _slice_of(conversation_id: str) -> int:
    return zlib.crc32(conversation_id.encode()) % SLICES


class QueueLoops:
    """Background tasks of the queue; start() on app startup, stop() on shutdown.

    They drive :class:`~chatd.service.assignments.Assignments` (and are the coordinators'
    :class:`~chatd.service.coordinator.QueueSignals`).
    """

    def __init__(self, service: Assignments) -> None:
        self.service = service
        self._tasks: list[asyncio.Task[None]] = []
        self._grace: dict[str, asyncio.Task[None]] = {}
        #: Last queue frame sent per conversation: (values, time sent).
        self._sent: dict[str, tuple[tuple, float]] = {}
        self._overview_sent: tuple | None = None
        self.frames_sent = 0
        self._dirty = True

    def start(self) -> None:
        self.service.on_queue_changed = self._mark_dirty
        self._tasks = [
            asyncio.create_task(self._assign_loop(), name="assign"),
            asyncio.create_task(self._update_loop(), name="queue-updates"),
            asyncio.create_task(self._idle_loop(), name="idle-close"),
        ]
        for agent_id in getattr(self.service, "restored_agents", ()):
            self.start_grace(agent_id)
        self.service.wake_assigner()

    async def stop(self) -> None:
        for task in [*self._tasks, *self._grace.values()]:
            task.cancel()
        for task in [*self._tasks, *self._grace.values()]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._grace.clear()

    def _mark_dirty(self) -> None:
        self._dirty = True

    # -- assignment -----------------------------------------------------------------------------

    async def _assign_loop(self) -> None:
        while True:
            await self.service.wait_for_assign_request()
            try:
                await self.service.run_assignments()
            except Exception:
                log.exception("assign_loop_failed")

    # -- queue updates --------------------------------------------------------------------------

    async def _update_loop(self) -> None:
        interval = self.service.config.queue.update_interval_s
        tick = 0
        while True:
            await asyncio.sleep(interval / SLICES)
            if not self.service.coordinator.is_dispatching:
                tick += 1
                continue  # cluster follower: the leader sends every queue frame
            try:
                await self._send_updates(tick % SLICES, interval)
                if tick % SLICES == 0:
                    await self._send_overview()
            except Exception:
                log.exception("queue_update_failed")
            tick += 1

    async def _send_updates(self, current: int, interval: float) -> None:
        service = self.service
        now = service.clock()
        queue = service.dispatcher.queue
        for conversation_id in list(service.coordinator.status_targets()):
            if _slice_of(conversation_id) != current:
                continue
            if conversation_id not in queue:
                self._sent.pop(conversation_id, None)
                continue
            await self.push_status(conversation_id, now, interval)

    async def push_status(self, conversation_id: str, now: float, interval: float = 0.0) -> None:
        """Send the customer's queue frame if it changed and the last one is old enough."""
        status = self.service.dispatcher.queue_status(conversation_id, now)
        if status is None:
            return
        values = (
            status.position,
            _round_wait(status.estimated_wait_s),
            _round_wait(status.wait_low_s),
            _round_wait(status.wait_high_s),
            status.agents_online,
        )
        last = self._sent.get(conversation_id)
        if last is not None and (last[0] == values or now - last[1] < interval * 0.9):
            return
        self._sent[conversation_id] = (values, now)
        self.frames_sent += 1
        await self.service.log.to_customer(
            conversation_id,
            {
                "type": "queue",
                "position": values[0],
                "estimated_wait_s": values[1],
                "wait_low_s": values[2],
                "wait_high_s": values[3],
                "agents_online": values[4],
            },
        )

    async def _send_overview(self) -> None:
        overview = self.service.dispatcher.overview(self.service.clock())
        overview["oldest_wait_s"] = round(overview["oldest_wait_s"])
        key = tuple(sorted((k, str(v)) for k, v in overview.items()))
        if key == self._overview_sent:
            return
        self._overview_sent = key
        await self.service.log.to_all_agents({"type": "queue_overview", **overview})

    # -- agent grace period ---------------------------------------------------------------------

    def start_grace(self, agent_id: str) -> None:
        """The agent's last connection closed: their chats wait for them, then requeue."""
        self.cancel_grace(agent_id)
        self._grace[agent_id] = asyncio.create_task(self._grace_expiry(agent_id))

    def cancel_grace(self, agent_id: str) -> None:
        task = self._grace.pop(agent_id, None)
        if task is not None:
            task.cancel()

    def cancel_all_grace(self) -> None:
        """Cluster mode: this node stopped leading; the next leader times the grace periods."""
        for agent_id in list(self._grace):
            self.cancel_grace(agent_id)

    def forget_sent(self, conversation_id: str | None) -> None:
        """Send the next queue frame (of one conversation, or every frame and the overview) even
        if unchanged: a customer connected to another node, or a new leader took over."""
        if conversation_id is None:
            self._sent.clear()
            self._overview_sent = None
        else:
            self._sent.pop(conversation_id, None)

    async def _grace_expiry(self, agent_id: str) -> None:
        await asyncio.sleep(self.service.config.queue.agent_grace_s)
        self._grace.pop(agent_id, None)
        if self.service.coordinator.agent_present(agent_id):
            return
        chats = sorted(self.service.dispatcher.active(agent_id))
        log.info("agent_grace_expired", agent_id=agent_id, chats=len(chats))
        for conversation_id in chats:
            # The agent may come back while earlier chats are being requeued: keep the rest.
            if self.service.coordinator.agent_present(agent_id):
                log.info("agent_back_during_requeue", agent_id=agent_id)
                return
            try:
                await self.service.requeue(conversation_id, reason="agent_disconnected")
            except Exception:
                log.exception("requeue_failed", conversation_id=conversation_id)

    # -- idle bot conversations -----------------------------------------------------------------

    async def _idle_loop(self) -> None:
        while True:
            await asyncio.sleep(IDLE_SWEEP_S)
            service = self.service
            cutoff = service.clock() - service.config.bot.idle_close_s
            idle = [
                conv.conversation_id
                for conv in list(service.log.open.values())
                if conv.status == "bot"
                and conv.updated_at < cutoff
                and conv.conversation_id not in service.log.customer_connections
            ]
            for conversation_id in idle:
                try:
                    await service.close(conversation_id, by="system", ref=None)
                except Exception:
                    log.exception("idle_close_failed", conversation_id=conversation_id)


def _round_wait(seconds: float | None) -> float | None:
    """Estimates shown to customers move in steps, so tiny changes do not cost a frame."""
    if seconds is None:
        return None
    step = 5.0 if seconds < 120 else 30.0
    return round(seconds / step) * step
