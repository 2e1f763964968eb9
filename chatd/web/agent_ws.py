"""The agent/operator WebSocket, /ws/agent: the console's live channel.

Agents authenticate with their token in the first frame (not the URL, which proxies log). An
agent connection makes the agent available (or away); operators may connect to watch the queue
but are never assigned chats. When an agent's last connection closes, their chats wait for the
grace period (chatd.service.queueing) before returning to the queue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import WSMsgType, web

from chatd import protocol as p
from chatd.bus.base import Subscription
from chatd.domain.roles import serves_chats
from chatd.logs import get_logger
from chatd.passwords import SESSION_PREFIX
from chatd.service.chat import ChatService
from chatd.service.conversations import Done
from chatd.service.outbox import Outbox
from chatd.service.views import conversation_summary
from chatd.store.base import AgentRecord
from chatd.web.customer_ws import REPLAY_PAGE, REPLAY_STALL_S
from chatd.web.keys import CONFIG, LIMITS, LOOPS, METRICS, SERVICE
from chatd.web.limits import ConnectionLimits
from chatd.web.sockets import bind, serve_socket

__all__ = ["agent_ws"]

log = get_logger(__name__)

#: How often (seconds) a live agent connection re-reads its account; a removed agent's socket
#: is closed (1008) at its next action after at most this long.
ACCOUNT_RECHECK_S = 10.0


class AgentConnection:
    """State of one agent or operator WebSocket."""

    def __init__(self, request: web.Request, outbox: Outbox) -> None:
        self.app = request.app
        self.service: ChatService = self.app[SERVICE]
        self.outbox = outbox
        self.agent: AgentRecord | None = None
        self.subscriptions: list[Subscription] = []
        self.limits: ConnectionLimits = self.app[LIMITS]
        self.checked_at = 0.0
        #: The sign-in session this socket rides on ("" for a static token).
        self.session_token = ""
        self.unwatch: Callable[[], None] = lambda: None

    def send(self, frame: Mapping[str, Any]) -> None:
        self.outbox.send(frame)

    def _deliver(self, _topic: str, message: Mapping[str, Any]) -> None:
        self.outbox.send(message["frame"])

    async def hello(self, msg: p.AgentHello) -> None:
        service = self.service
        agent = await service.staff.authenticate(msg.token)
        self.agent = agent
        self.checked_at = service.clock()
        if msg.token.startswith(SESSION_PREFIX):
            self.session_token = msg.token
            # Signing out (on any node) ends this console at once.
            self.unwatch = service.staff.watch(
                msg.token, lambda: self.outbox.close(1008, "signed out")
            )
        bind(self.outbox, agent_id=agent.agent_id)
        self.subscriptions = [
            service.bus.subscribe(f"agent:{agent.agent_id}", self._deliver),
            service.bus.subscribe("agents", self._deliver),
        ]
        await service.bus.subscriptions_ready()  # before reading chats from the store
        status = msg.status or "online"
        if serves_chats(agent.role):
            self.app[LOOPS].cancel_grace(agent.agent_id)
            await service.assignments.agent_connected(agent, status)
        conversations = await service.assignments.agent_conversations(agent.agent_id)
        self.send(
            {
                "type": "welcome",
                "agent": {
                    "agent_id": agent.agent_id,
                    "name": agent.name,
                    "role": agent.role,
                    "capacity": agent.capacity,
                    "languages": list(agent.languages),
                    "skills": list(agent.skills),
                    "status": service.assignments.agent_status(agent.agent_id)
                    if serves_chats(agent.role)
                    else "online",
                },
                "conversations": [
                    conversation_summary(
                        c, customer_online=c.conversation_id in service.log.customer_connections
                    )
                    for c in conversations
                ],
            }
        )
        for conv in conversations:
            self.send(await service.assignments.assigned_frame(conv))
        self.send({"type": "queue_overview", **service.coordinator.overview()})
        log.info("agent_connected", role=agent.role, status=status)

    def _rate_check(self, ref: str | None) -> None:
        """Expensive frames (ticket replies, KB searches) are limited per account."""
        assert self.agent is not None
        now = self.service.clock()
        key = f"agent:{self.agent.agent_id}"
        if not self.limits.take_frame(key, None, now):
            wait = self.limits.retry_after(key, None, now)
            raise p.ProtocolError("rate_limited", "slow down", ref, retry_after_s=wait)

    def _ack(self, ref: str | None, done: Done) -> None:
        self.send(p.frame_ack(ref, seq=done.seq, duplicate=done.duplicate))

    async def _sync(self, conversation_id: str, last_seq: int) -> None:
        """Send the events after ``last_seq`` in pages, waiting for the console to read each."""
        assert self.agent is not None
        while True:
            page = await self.service.desk.sync(self.agent, conversation_id, last_seq, REPLAY_PAGE)
            for frame in page:
                self.send(frame)
                last_seq = frame["seq"]
            if len(page) < REPLAY_PAGE:
                return
            if not await self.outbox.wait_for_room(REPLAY_PAGE, REPLAY_STALL_S):
                self.outbox.close(4008, "slow consumer: sync again from your last seq")
                return

    async def _still_valid(self) -> bool:
        """Re-check the account now and then: `chatd agents remove` must end live sessions too."""
        assert self.agent is not None
        now = self.service.clock()
        if now - self.checked_at < ACCOUNT_RECHECK_S:
            return True
        self.checked_at = now
        record = await self.service.store.get_agent(self.agent.agent_id)
        if record is None or record.token_hash != self.agent.token_hash:
            return False
        return not self.session_token or await self.service.staff.session_valid(self.session_token)

    async def handle(self, msg: p.ClientMessage) -> None:
        service = self.service
        agent = self.agent
        assert agent is not None
        if not await self._still_valid():
            error = p.ProtocolError(
                "not_authenticated", "this account or sign-in no longer exists", msg.ref
            )
            self.send(p.frame_error(error))
            self.outbox.close(1008, "account removed")
            return
        match msg:
            case p.Ping():
                self.send({"type": "pong"})
            case p.AgentHello():
                raise p.ProtocolError("already_started", "hello was already sent")
            case p.SetStatus(status=status):
                if not serves_chats(agent.role):
                    raise p.ProtocolError("forbidden", "operators do not take chats")
                await service.assignments.set_agent_status(agent, status)
                self.send({"type": "status", "status": status})
            case p.AgentText(cid=cid, conversation_id=conversation_id, text=text):
                self._ack(cid, await service.desk.message(agent, conversation_id, cid, text))
            case p.AgentTyping(conversation_id=conversation_id, active=active):
                if self.limits.typing.take(f"agent:{agent.agent_id}", service.clock()):
                    await service.desk.typing(agent, conversation_id, active)
            case p.Note(cid=cid, conversation_id=conversation_id, text=text):
                self._ack(cid, await service.desk.note(agent, conversation_id, cid, text))
            case p.SetTags(cid=cid, conversation_id=conversation_id, tags=tags):
                self._ack(cid, await service.desk.set_tags(agent, conversation_id, cid, tags))
            case p.Transfer(cid=cid, conversation_id=conversation_id, to_agent_id=to_agent_id):
                self._ack(
                    cid, await service.desk.transfer(agent, conversation_id, cid, to_agent_id)
                )
            case p.AgentClose(cid=cid, conversation_id=conversation_id):
                self._ack(cid, await service.desk.close(agent, conversation_id, cid))
            case p.Sync(conversation_id=conversation_id, last_seq=last_seq):
                await self._sync(conversation_id, last_seq)
            case p.TicketReply(cid=cid, ticket_id=ticket_id, text=text):
                self._rate_check(cid)
                _ticket, done = await service.tickets.reply(agent, ticket_id, cid, text)
                self._ack(cid, done)
            case p.KbSearch(cid=cid, query=query, locale=locale):
                self._rate_check(cid)  # matching runs on the event loop
                if locale is not None and locale not in service.bot.languages:
                    known = ", ".join(service.bot.languages)
                    raise p.ProtocolError("invalid_field", f"'locale' must be one of {known}", cid)
                hits = service.bot.search(query, locale=locale, limit=5)
                self.send(
                    {
                        "type": "kb_results",
                        "ref": cid,
                        "results": [
                            {
                                "intent": h.intent,
                                "title": h.title,
                                "answer": h.answer,
                                "score": round(h.score, 3),
                            }
                            for h in hits
                        ],
                    }
                )
            case _:  # pragma: no cover - every decoded type is matched above
                raise p.ProtocolError("unknown_type", f"unhandled type {msg.type}")

    def closed(self) -> bool:
        """Clean up; True when this was the agent's last connection."""
        for sub in self.subscriptions:
            sub.cancel()
        self.subscriptions.clear()
        self.unwatch()
        if self.agent is not None and serves_chats(self.agent.role):
            return self.service.assignments.agent_disconnected(self.agent)
        return False


async def _receive_frames(conn: AgentConnection, ws: web.WebSocketResponse, config: Any) -> None:
    metrics = conn.app[METRICS]
    max_text = config.limits.max_message_chars
    clock = conn.service.clock
    # One deadline for the hello, not a timeout per frame (pings must not extend it).
    hello_deadline = clock() + config.limits.hello_timeout_s
    while True:
        timeout = None if conn.agent else max(0.0, hello_deadline - clock())
        try:
            message = await ws.receive(timeout=timeout)
        except TimeoutError:
            conn.outbox.close(4000, "hello timeout")
            return
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return
        if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            continue
        ref = None
        try:
            msg = p.decode_agent(message.data, max_text=max_text)
            ref = msg.ref
            if conn.agent is None:
                if not isinstance(msg, p.AgentHello):
                    raise p.ProtocolError("hello_required", "send hello with your token first", ref)
                try:
                    await conn.hello(msg)
                except p.ProtocolError as exc:
                    conn.send(p.frame_error(exc))
                    conn.outbox.close(1008, "authentication failed")
                    return
            else:
                await conn.handle(msg)
        except p.ProtocolError as exc:
            metrics.protocol_errors.labels(exc.code).inc()
            conn.send(p.frame_error(exc))
        except Exception:
            log.exception("agent_frame_failed")
            conn.send(p.frame_error(p.ProtocolError("internal_error", "the server failed", ref)))


async def agent_ws(request: web.Request) -> web.StreamResponse:
    """GET /ws/agent: the agent console's WebSocket."""
    app = request.app
    config = app[CONFIG]

    async def session(ws: web.WebSocketResponse, outbox: Outbox) -> None:
        conn = AgentConnection(request, outbox)
        try:
            await _receive_frames(conn, ws, config)
        finally:
            if conn.closed() and conn.agent is not None:
                app[LOOPS].start_grace(conn.agent.agent_id)

    return await serve_socket(
        request,
        role="agent",
        # Agents receive every event of several chats plus queue overviews: more headroom.
        outbox_frames=config.limits.outbox_frames * 4,
        compress=True,
        session=session,
    )
