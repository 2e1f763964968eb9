"""The cluster's coordinator: a fenced leader runs the Dispatcher for every node.

The embedded :class:`~chatd.service.coordinator.LocalCoordinator` calls the Dispatcher inline;
in cluster mode the service's parts call the same methods here instead
(:class:`~chatd.service.coordinator.Coordinator`):

* :class:`ClusterCoordinator`: one node at a time holds a Redis lease with a fencing number
  (``INCR``) and runs the *same* pure Dispatcher (docs/cluster.md, option c). Every node sends its
  changes (enqueue, leave, release, agent online/away/offline) as *ops* on the bus topic
  ``dispatch``; only the leader subscribes and applies them, in arrival order, on one worker
  task. The leader persists assignments with a conditional UPDATE that checks the fence in
  PostgreSQL (``PostgresStore.fenced_update_conversation``), so a deposed leader that wakes from
  a pause writes nothing. A node that wins the lease rebuilds the Dispatcher from PostgreSQL
  (``DispatchHost.recover``, the restart recovery) plus agent presence, then takes ops.

Ops are fire-and-forget on an at-most-once bus: one lost during a leader change is harmless
because each describes a state change already persisted (the conversation's status in
PostgreSQL, the agent's key in presence) and the rebuild reads that state. Only a transfer to a
named agent needs an answer (capacity is known only to the leader); it is a request/reply with a
timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from chatd.domain.dispatch import Assignment, Dispatcher
from chatd.domain.queue import QueueEntry
from chatd.domain.roles import serves_chats
from chatd.logs import get_logger
from chatd.protocol import ProtocolError
from chatd.service.coordinator import DispatchHost, QueueSignals, check_transfer_target
from chatd.store.base import AgentRecord, ConversationRecord, StoreError

try:
    from redis.exceptions import RedisError
except ModuleNotFoundError:  # pragma: no cover - embedded installs need not have redis
    RedisError = OSError  # type: ignore[assignment,misc]

if TYPE_CHECKING:  # the redis package is imported only in cluster mode
    import redis.asyncio as aioredis

__all__ = ["ClusterCoordinator"]

log = get_logger(__name__)

#: Redis keys, beside the bus channels and presence keys of chatd.bus.
LEASE_KEY = "chatd:dispatcher:lease"
EPOCH_KEY = "chatd:dispatcher:epoch"
#: agent id -> "online" | "away" as last chosen by the agent (presence only says "connected").
STATUS_KEY = "chatd:agent-status"
#: The bus topic ops travel on, and the per-node topic of replies.
OPS_TOPIC = "dispatch"
_REPLY_TOPIC = "dispatch-reply:"
#: How long a node waits for the leader's answer to a request (a transfer), seconds. Longer
#: than a lease, so a request made during a leader change is answered by the next leader.
_REQUEST_TIMEOUT_S = 8.0

#: KEYS[1] lease, KEYS[2] epoch counter; ARGV[1] node id, ARGV[2] ttl ms. Take the free lease and
#: a new fencing number in one step (a number is never handed out without a lease).
_ACQUIRE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. epoch, 'PX', ARGV[2])
return epoch
"""
#: KEYS[1] lease; ARGV[1] "node:epoch", ARGV[2] ttl ms. Extend only our own lease.
_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
#: KEYS[1] lease; ARGV[1] "node:epoch". Give the lease up (clean shutdown) if still ours.
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class ClusterCoordinator:
    """Cluster mode: a fenced dispatcher leader; see the module docstring."""

    inline = False

    def __init__(
        self,
        service: DispatchHost,
        *,
        redis_url: str,
        node_id: str,
        lease_ttl_s: float,
        presence_ttl_s: float,
    ) -> None:
        self.service = service
        self.node_id = node_id
        self.loops: QueueSignals | None = None
        # Imported here: the embedded default must not need the cluster extra (redis).
        from chatd.bus.presence import PresenceRegistry

        self.presence = PresenceRegistry(redis_url, node_id, ttl=presence_ttl_s)
        self._redis_url = redis_url
        self._lease_ttl_ms = max(100, round(lease_ttl_s * 1000))
        self._redis: aioredis.Redis | None = None
        #: The fencing number of our lease while we lead, else None.
        self.epoch: int | None = None
        self._leading = asyncio.Event()
        self._renewed_at = 0.0
        self._ops_subscription: Any = None
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        #: Ops to send, in call order (the ChatService calls are synchronous).
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscriptions: list[Any] = []
        self._requests: dict[str, asyncio.Future[dict[str, Any]]] = {}
        #: Statuses of the agents connected to this node (what their console shows).
        self._local_status: dict[str, str] = {}
        #: The last queue_overview the leader published (what followers show).
        self._overview: dict[str, Any] = Dispatcher().overview(time.time())
        self.leaderships = 0

    @property
    def is_dispatching(self) -> bool:
        return self._leading.is_set()

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect, load accounts, and start the lease, op sender and op worker tasks."""
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(self._redis_url, decode_responses=True)
        self._acquire = self._redis.register_script(_ACQUIRE_LUA)
        self._renew = self._redis.register_script(_RENEW_LUA)
        self._release = self._redis.register_script(_RELEASE_LUA)
        await self.presence.start()
        for agent in await self.service.store.list_agents():
            self.service.agents[agent.agent_id] = agent
        bus = self.service.bus
        self._subscriptions = [
            bus.subscribe(_REPLY_TOPIC + self.node_id, self._on_reply),
            bus.subscribe("agents", self._on_agents_frame),
        ]
        self._tasks = [
            asyncio.create_task(self._send_ops(), name="cluster-send-ops"),
            asyncio.create_task(self._work(), name="cluster-apply-ops"),
            asyncio.create_task(self._lease_loop(), name="cluster-lease"),
        ]
        # A follower that starts late asks the leader to republish the overview it shows.
        self._send({"op": "overview_wanted"})

    async def stop(self) -> None:
        """Hand the lease over at once (the next node need not wait for it to expire)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for sub in self._subscriptions:
            sub.cancel()
        if self.epoch is not None and self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._release(keys=[LEASE_KEY], args=[self._lease_value()])
        self._leading.clear()
        await self.presence.stop()
        if self._redis is not None:
            await self._redis.aclose()

    def attach_loops(self, loops: QueueSignals) -> None:
        self.loops = loops

    # -- the ChatService's calls: sent to the leader as ops -------------------------------------
    def _send(self, op: dict[str, Any]) -> None:
        self._outbox.put_nowait(op)

    def enqueue(self, conv: ConversationRecord, now: float, *, offer_ticket: bool = False) -> None:
        entry = self.service.entry(conv)
        self._send(
            {
                "op": "enqueue",
                "conversation_id": entry.conversation_id,
                "priority": entry.priority,
                "enqueued_at": entry.enqueued_at,
                "locale": entry.locale,
                "skills": list(entry.skills),
                "offer_ticket": offer_ticket,
            }
        )

    def leave(self, conversation_id: str, now: float) -> None:
        self._send({"op": "leave", "conversation_id": conversation_id})

    def release(
        self, agent_id: str, conversation_id: str, now: float, *, handled_s: float | None = None
    ) -> None:
        self._send(
            {
                "op": "release",
                "agent_id": agent_id,
                "conversation_id": conversation_id,
                "handled_s": handled_s,
            }
        )

    def agent_status_changed(self, agent: AgentRecord, status: str, *, connected: bool) -> None:
        self._local_status[agent.agent_id] = status
        self._send({"op": "agent", "agent_id": agent.agent_id, "status": status, "online": True})

    def agent_offline(self, agent_id: str, now: float) -> None:
        self._local_status.pop(agent_id, None)
        self._send({"op": "agent", "agent_id": agent_id, "online": False})

    async def _send_ops(self) -> None:
        """Publish ops in call order; presence is written first so a rebuild agrees with ops."""
        while True:
            op = await self._outbox.get()
            try:
                if op["op"] == "agent":
                    await self._record_presence(op)
                await self.service.bus.publish(OPS_TOPIC, op)
            except (RedisError, OSError) as exc:
                # The state is in presence/PostgreSQL; the next leader's rebuild reads it.
                log.warning("cluster_op_not_sent", op=op["op"], error=str(exc))

    async def _record_presence(self, op: Mapping[str, Any]) -> None:
        assert self._redis is not None
        agent_id = op["agent_id"]
        if op["online"]:
            await self.presence.set_online(agent_id)
            await self._redis.hset(STATUS_KEY, agent_id, op["status"])
        else:
            await self.presence.set_offline(agent_id)

    async def transfer(
        self, from_agent: str, to_agent: str, conversation_id: str, now: float, ref: str | None
    ) -> None:
        request = uuid.uuid4().hex
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._requests[request] = answer
        self._send(
            {
                "op": "transfer",
                "from_agent": from_agent,
                "to_agent": to_agent,
                "conversation_id": conversation_id,
                "reply_to": self.node_id,
                "request": request,
            }
        )
        try:
            reply = await asyncio.wait_for(answer, _REQUEST_TIMEOUT_S)
        except TimeoutError:
            raise ProtocolError(
                "unavailable", "the queue is being taken over; retry", ref
            ) from None
        finally:
            self._requests.pop(request, None)
        if reply.get("error"):
            raise ProtocolError("invalid_state", reply["error"], ref)

    def _on_reply(self, _topic: str, message: Mapping[str, Any]) -> None:
        answer = self._requests.get(message.get("request", ""))
        if answer is not None and not answer.done():
            answer.set_result(dict(message))

    def _on_agents_frame(self, _topic: str, message: Mapping[str, Any]) -> None:
        frame = message.get("frame") or {}
        if frame.get("type") == "queue_overview":
            self._overview = {k: v for k, v in frame.items() if k != "type"}

    # -- reads ----------------------------------------------------------------------------------
    def agent_status(self, agent_id: str) -> str:
        if self.is_dispatching:
            load = self.service.dispatcher.agent(agent_id)
            if load is not None:
                return load.status
        return self._local_status.get(agent_id, "offline")

    def agent_present(self, agent_id: str) -> bool:
        load = self.service.dispatcher.agent(agent_id)
        return load is not None and load.status != "offline"

    def overview(self) -> dict[str, Any]:
        if self.is_dispatching:
            return self.service.dispatcher.overview(self.service.clock())
        return dict(self._overview)

    def status_targets(self) -> Iterable[str]:
        # The leader cannot see which node holds which customer: every waiting customer gets
        # frames on their topic (a PUBLISH nobody listens to costs Redis next to nothing).
        return [entry.conversation_id for entry in self.service.dispatcher.queue]

    async def send_position_now(self, conversation_id: str) -> None:
        self._send({"op": "status_wanted", "conversation_id": conversation_id})

    async def conversations_of(self, agent_id: str) -> list[ConversationRecord]:
        from chatd.store.base import ConversationFilter

        found = await self.service.store.list_conversations(
            ConversationFilter(status="assigned", agent_id=agent_id, limit=1000)
        )
        return sorted(found, key=lambda c: c.assigned_at or 0.0)

    # -- persistence of decisions (leader) ------------------------------------------------------
    async def claim(self, assignment: Assignment, now: float) -> bool:
        service = self.service
        epoch = self.epoch
        ok = epoch is not None and await self._fenced(
            assignment.conversation_id,
            epoch,
            {"status": "queued"},
            status="assigned",
            agent_id=assignment.agent_id,
            assigned_at=now,
            updated_at=now,
        )
        if not ok:
            # Closed, left or taken elsewhere meanwhile (its op is on the way), or we were
            # deposed: undo, so the agent's slot is free again.
            service.dispatcher.release(assignment.agent_id, assignment.conversation_id, now)
            log.info("assignment_refused", conversation_id=assignment.conversation_id, epoch=epoch)
            return False
        await service.log.refresh(assignment.conversation_id)
        return True

    async def _fenced(
        self, conversation_id: str, epoch: int, expect: Mapping[str, Any], **fields: Any
    ) -> bool:
        store: Any = self.service.store
        ok = bool(await store.fenced_update_conversation(conversation_id, epoch, expect, **fields))
        if not ok and await self._fence_moved(epoch):
            await self._step_down("fenced out")
        return ok

    async def _fence_moved(self, epoch: int) -> bool:
        store: Any = self.service.store
        return int(await store.raise_fence(0)) > epoch

    # -- the leader's worker --------------------------------------------------------------------
    def _on_op(self, _topic: str, message: Mapping[str, Any]) -> None:
        self._inbox.put_nowait(dict(message))

    async def _work(self) -> None:
        """Apply ops one at a time, in arrival order, while leading."""
        while True:
            op = await self._inbox.get()
            await self._leading.wait()
            try:
                await self._apply(op)
            except Exception:
                log.exception("cluster_op_failed", op=op.get("op"))

    async def _apply(self, op: Mapping[str, Any]) -> None:
        service = self.service
        dispatcher = service.dispatcher
        now = service.clock()
        kind = op.get("op")
        if kind == "enqueue":
            conversation_id = op["conversation_id"]
            if conversation_id in dispatcher.queue or dispatcher.assigned_agent(conversation_id):
                return  # a rebuild already saw it
            dispatcher.enqueue(
                QueueEntry(
                    conversation_id=conversation_id,
                    priority=op["priority"],
                    enqueued_at=op["enqueued_at"],
                    locale=op["locale"],
                    skills=tuple(op["skills"]),
                ),
                now,
            )
            if op.get("offer_ticket"):
                await service.after_enqueue(conversation_id)
        elif kind == "leave":
            dispatcher.leave(op["conversation_id"], now)
        elif kind == "release":
            dispatcher.release(
                op["agent_id"], op["conversation_id"], now, handled_s=op["handled_s"]
            )
        elif kind == "agent":
            await self._apply_agent(op, now)
        elif kind == "status_wanted" and self.loops is not None:
            self.loops.forget_sent(op["conversation_id"])
            await self.loops.push_status(op["conversation_id"], now)
            return
        elif kind == "overview_wanted" and self.loops is not None:
            self.loops.forget_sent(None)
            return
        elif kind == "transfer":
            await self._apply_transfer(op, now)
        elif kind == "presence_check":
            await self._check_presence(now)
        service.queue_changed()
        service.wake_assigner()

    async def _apply_agent(self, op: Mapping[str, Any], now: float) -> None:
        service, dispatcher = self.service, self.service.dispatcher
        agent_id = op["agent_id"]
        if not op["online"]:
            dispatcher.agent_offline(agent_id, now)
            if self.loops is not None:
                self.loops.start_grace(agent_id)
            return
        agent = service.agents.get(agent_id) or await service.store.get_agent(agent_id)
        if agent is None:
            return
        service.agents[agent_id] = agent
        if self.loops is not None:
            self.loops.cancel_grace(agent_id)
        dispatcher.agent_online(service.profile(agent), now)
        if op["status"] == "away":
            dispatcher.agent_away(agent_id, now)

    async def _apply_transfer(self, op: Mapping[str, Any], now: float) -> None:
        dispatcher = self.service.dispatcher
        from_agent, to_agent = op["from_agent"], op["to_agent"]
        conversation_id = op["conversation_id"]
        error = None
        try:
            check_transfer_target(dispatcher, from_agent, to_agent, None)
        except ProtocolError as exc:
            error = exc.message
        if error is None and self.epoch is not None:
            dispatcher.release(from_agent, conversation_id, now)
            dispatcher.attach(to_agent, conversation_id, now=now)
            if not await self._fenced(
                conversation_id,
                self.epoch,
                {"status": "assigned", "agent_id": from_agent},
                agent_id=to_agent,
                assigned_at=now,
                updated_at=now,
            ):
                dispatcher.release(to_agent, conversation_id, now)
                error = "the conversation changed meanwhile"
        await self.service.bus.publish(
            _REPLY_TOPIC + op["reply_to"], {"request": op["request"], "error": error}
        )

    async def _check_presence(self, now: float) -> None:
        """Agents whose node died: presence expired, so they go offline and their grace starts.

        Runs on the worker, between ops, so it never races an op of the same agent.
        """
        online = await self.presence.online()
        for load in self.service.dispatcher.agents():
            if load.status != "offline" and load.agent_id not in online:
                log.info("agent_presence_expired", agent_id=load.agent_id)
                self.service.dispatcher.agent_offline(load.agent_id, now)
                if self.loops is not None:
                    self.loops.start_grace(load.agent_id)

    # -- the lease ------------------------------------------------------------------------------
    def _lease_value(self) -> str:
        return f"{self.node_id}:{self.epoch}"

    async def _lease_loop(self) -> None:
        """Renew our lease (or try to take a free one) every third of its lifetime."""
        interval = self._lease_ttl_ms / 3000
        presence_every = max(1, round(self.presence.interval / interval))
        tick = 0
        while True:
            try:
                if self.epoch is not None:
                    assert self._redis is not None
                    renewed = await self._renew(
                        keys=[LEASE_KEY], args=[self._lease_value(), self._lease_ttl_ms]
                    )
                    if renewed:
                        self._renewed_at = time.monotonic()
                        if tick % presence_every == 0:
                            self._inbox.put_nowait({"op": "presence_check"})
                    else:
                        await self._step_down("lease lost")
                else:
                    epoch = await self._acquire(
                        keys=[LEASE_KEY, EPOCH_KEY], args=[self.node_id, self._lease_ttl_ms]
                    )
                    if epoch:
                        await self._take_over(int(epoch))
            except (RedisError, OSError, StoreError) as exc:
                log.warning("cluster_lease_error", error=str(exc))
                lease_s = self._lease_ttl_ms / 1000
                if self.epoch is not None and time.monotonic() - self._renewed_at > lease_s:
                    await self._step_down("lease expired")
            tick += 1
            await asyncio.sleep(interval)

    async def _take_over(self, epoch: int) -> None:
        """Become the leader: fence older leaders out, rebuild the Dispatcher, take ops."""
        service = self.service
        self.epoch = epoch
        self._renewed_at = time.monotonic()
        started = time.monotonic()
        await service.store.raise_fence(epoch)  # type: ignore[attr-defined]
        # Subscribe first: ops sent while we rebuild wait in the inbox (applying one the rebuild
        # already saw is harmless: every op is idempotent against the rebuilt state).
        self._ops_subscription = service.bus.subscribe(OPS_TOPIC, self._on_op)
        await service.bus.subscriptions_ready()
        service.reset_dispatcher()
        await service.recover()
        online = await self.presence.online()
        assert self._redis is not None
        statuses = await self._redis.hgetall(STATUS_KEY)
        now = service.clock()
        for agent_id in online:
            agent = service.agents.get(agent_id) or await service.store.get_agent(agent_id)
            if agent is None or not serves_chats(agent.role):
                continue
            service.agents[agent_id] = agent
            service.dispatcher.agent_online(service.profile(agent), now)
            if statuses.get(agent_id) == "away":
                service.dispatcher.agent_away(agent_id, now)
        orphaned = {a for a in service.restored_agents if a not in online}
        service.restored_agents = orphaned
        if self.loops is not None:
            self.loops.forget_sent(None)
            for agent_id in orphaned:
                self.loops.start_grace(agent_id)
        self.leaderships += 1
        self._leading.set()
        log.info(
            "dispatcher_leader",
            node_id=self.node_id,
            epoch=epoch,
            queued=len(service.dispatcher.queue),
            agents_online=len(online),
            rebuild_ms=round((time.monotonic() - started) * 1000, 1),
        )
        service.wake_assigner()

    async def _step_down(self, reason: str) -> None:
        """Stop deciding: drop the Dispatcher and the ops subscription, cancel grace timers."""
        if self.epoch is None:
            return
        log.warning("dispatcher_leader_lost", node_id=self.node_id, epoch=self.epoch, reason=reason)
        self._leading.clear()
        self.epoch = None
        if self._ops_subscription is not None:
            self._ops_subscription.cancel()
            self._ops_subscription = None
        while not self._inbox.empty():
            self._inbox.get_nowait()
        if self.loops is not None:
            self.loops.cancel_all_grace()
        self.service.reset_dispatcher()
