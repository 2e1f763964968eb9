"""The customer WebSocket, /ws/customer: one reader loop per connection, one writer (Outbox).

The handler only adapts: it decodes frames with chatd.protocol, calls the ChatService, and maps
ProtocolError to error frames. Bad input never closes the connection unless it is abusive.

Rate limits are keyed by the conversation and the client address (chatd.web.limits), never by
the socket: reconnecting does not refill a conversation's bucket or forget its violations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import WSMsgType, web

from chatd import protocol as p
from chatd.bus.base import Subscription
from chatd.logs import get_logger
from chatd.service.chat import ChatService
from chatd.service.conversations import Done
from chatd.service.outbox import Outbox
from chatd.service.seqgate import SeqGate
from chatd.web.keys import CONFIG, LIMITS, METRICS, SERVICE
from chatd.web.limits import ConnectionLimits
from chatd.web.security import client_ip
from chatd.web.sockets import bind, serve_socket

__all__ = ["REPLAY_PAGE", "customer_ws"]

log = get_logger(__name__)

#: Typing indicators are relayed at most this often per connection (seconds).
TYPING_MIN_INTERVAL_S = 0.5
#: Events read from the store and queued per step of a resume's replay. The replay waits for the
#: client to read each page before the next (flow control), so a customer who missed the whole
#: conversation gets every event without overflowing the bounded outbox (4008).
REPLAY_PAGE = 200
#: How long a replay waits for the client to read a page before giving up (the client resumes
#: again from the last seq it got).
REPLAY_STALL_S = 30.0
#: Frames that cost no rate-limit token: keepalives and typing (which has its own bucket).
_FREE_FRAMES = (p.Ping, p.CustomerTyping)
#: Event frames that may be a staff reply (chatd.service.followups.is_staff_reply), and by whom.
_REPLY_KINDS = ("message", "attachment")
_STAFF = ("agent", "system")


class CustomerConnection:
    """State of one customer WebSocket."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, outbox: Outbox) -> None:
        app = request.app
        self.app = app
        self.service: ChatService = app[SERVICE]
        self.config = app[CONFIG]
        self.limits: ConnectionLimits = app[LIMITS]
        self.ws = ws
        self.outbox = outbox
        self.ip = client_ip(request)
        self.conversation_id: str | None = None
        self.subscription: Subscription | None = None
        #: Highest event seq sent on this connection (live frames at or below it are repeats).
        self.delivered_seq = 0
        self.last_typing = 0.0
        self.last_typing_state = False
        #: Cluster mode: puts events published by several nodes back in seq order.
        self.gate: SeqGate | None = None
        #: Email is on: staff replies this connection delivers are seen (no digest for them).
        self.watch_replies = self.service.followups.enabled
        #: The customer left an address for replies while away.
        self.followup = False

    def send(self, frame: Mapping[str, Any]) -> None:
        self.outbox.send(frame)

    def _deliver(self, _topic: str, message: Mapping[str, Any]) -> None:
        frame = message["frame"]
        if self.watch_replies:
            self._seen(frame)
        if self.gate is not None:
            self.gate.offer(frame)
            return
        seq = frame.get("seq")
        if isinstance(seq, int):
            # An event committed before this connection read its backlog may be published
            # just after: it was in the backlog already. Live events come in seq order.
            if seq <= self.delivered_seq:
                return
            self.delivered_seq = seq
        self.outbox.send(frame)

    def _seen(self, frame: Mapping[str, Any]) -> None:
        """A staff reply reaching a customer who left an address: they saw it, no digest."""
        kind = frame.get("type")
        if kind == "followup":
            self.followup = frame.get("email") is not None
        elif (
            self.followup
            and kind in _REPLY_KINDS
            and frame.get("author") in _STAFF
            and self.conversation_id is not None
        ):
            self.service.followups.seen(self.conversation_id)

    def _admit_new_conversation(self, user_key: str | None) -> None:
        """Count a new chat against the address (or the verified user); refuse past the limit."""
        key = user_key or self.ip
        now = self.service.clock()
        counter = self.limits.new_conversations
        if counter.try_add(key, now):
            return
        retry = counter.retry_after(key, now)
        raise p.ProtocolError(
            "rate_limited",
            f"too many new chats from your network; try again in {int(retry) + 1} s",
            retry_after_s=retry,
        )

    async def hello(self, msg: p.CustomerHello) -> bool:
        """Open or resume the conversation; False when the socket is being closed instead."""
        service = self.service
        verified = False
        try:
            verified = service.customers.check_identity(msg.user_id, msg.user_hash)
        except p.ProtocolError as exc:
            # A wrong hash is reported but the chat still opens, unverified.
            self.send(p.frame_error(exc))
        resumed = False
        if msg.resume_token:
            conv = await service.customers.resume(msg.resume_token)
            resumed = True
        else:
            try:
                self._admit_new_conversation(f"user:{msg.user_id}" if verified else None)
            except p.ProtocolError as exc:
                # The widget must show why and stop reconnecting until retry_after_s: an error
                # frame, then 4029 (it would otherwise wait for a welcome that never comes).
                self.send(p.frame_error(exc))
                self.outbox.close(4029, "too many new chats")
                return False
            conv = await service.customers.start(
                locale=msg.locale, user_id=msg.user_id, verified=verified
            )
        self.conversation_id = conv.conversation_id
        bind(self.outbox, conversation_id=conv.conversation_id)
        connections = service.log.customer_connections
        connections[conv.conversation_id] = connections.get(conv.conversation_id, 0) + 1
        # Subscribe before reading the backlog, then drop live frames the backlog already holds:
        # nothing published in between is lost, nothing is delivered twice.
        pending: list[Mapping[str, Any]] = []
        self.subscription = service.bus.subscribe(
            f"conv:{conv.conversation_id}", lambda _t, m: pending.append(m["frame"])
        )
        # Cluster bus: the channel is live only once Redis confirmed it (no-op in-process).
        await service.bus.subscriptions_ready()
        welcome: dict[str, Any] = {
            "type": "welcome",
            "conversation_id": conv.conversation_id,
            "resume_token": service.customers.resume_token(conv.conversation_id),
            "status": conv.status,
            "locale": conv.locale,
            "verified": conv.verified,
            "resumed": resumed,
        }
        if conv.verified:
            welcome["earlier"] = await service.log.earlier(conv)
        hours = service.assignments.hours_now()
        if hours is not None:
            welcome["hours"] = hours
        agents = service.assignments.agents
        if conv.status == "assigned" and conv.agent_id in agents:
            welcome["agent_name"] = agents[conv.agent_id].name
        if conv.status == "ticket":
            ticket = await service.store.ticket_for_conversation(conv.conversation_id)
            if ticket is not None:
                welcome["ticket_id"] = ticket.ticket_id
        self.send(welcome)
        last_seq = await self._replay(conv.conversation_id, msg.last_seq or 0)
        if last_seq is None:
            return False
        for frame in pending:
            if "seq" not in frame or frame["seq"] > last_seq:
                self.send(frame)
        self.delivered_seq = max([last_seq, *(f["seq"] for f in pending if "seq" in f)])
        self.subscription.cancel()
        self.subscription = service.bus.subscribe(f"conv:{conv.conversation_id}", self._deliver)
        if service.log.shared:
            seen = [f["seq"] for f in pending if "seq" in f]
            self.gate = SeqGate(
                self.outbox.send,
                lambda after: service.log.customer_events(conv.conversation_id, after),
                max([last_seq, *seen]),
            )
        if self.watch_replies and await service.followups.address(conv.conversation_id):
            # back: the replay above showed what was waiting, so no digest of it
            self.followup = True
            service.followups.seen(conv.conversation_id)
        await service.coordinator.send_position_now(conv.conversation_id)
        log.info("customer_connected", resumed=resumed, status=conv.status)
        return True

    async def _replay(self, conversation_id: str, after_seq: int) -> int | None:
        """Send every public event after ``after_seq`` in pages; the last seq sent.

        None when the client stopped reading (the socket is closed as a slow consumer; it
        resumes from what it got).
        """
        last_seq = after_seq
        while True:
            page = await self.service.log.customer_events(conversation_id, last_seq, REPLAY_PAGE)
            for event in page:
                self.send(event)
                last_seq = event["seq"]
            if len(page) < REPLAY_PAGE:
                return last_seq
            if not await self.outbox.wait_for_room(REPLAY_PAGE, REPLAY_STALL_S):
                self.outbox.close(4008, "slow consumer: resume from your last seq")
                return None

    def _rate_check(self, ref: str | None) -> None:
        """Take a token for one frame of this conversation (and address); close on abuse."""
        now = self.service.clock()
        key = self.conversation_id or f"ip:{self.ip}"
        limits = self.limits
        if limits.take_frame(key, self.ip, now):
            return
        if limits.violations(key, now) >= self.config.limits.violations_before_close:
            self.outbox.close(4029, "too many messages")
        raise p.ProtocolError(
            "rate_limited",
            "you are sending messages too fast; wait a moment",
            ref,
            retry_after_s=limits.retry_after(key, self.ip, now),
        )

    def _ack(self, ref: str | None, done: Done, **extra: Any) -> None:
        self.send({**p.frame_ack(ref, seq=done.seq, duplicate=done.duplicate), **extra})

    async def handle(self, msg: p.ClientMessage) -> None:
        service = self.service
        conversation_id = self.conversation_id
        assert conversation_id is not None
        if not isinstance(msg, _FREE_FRAMES):
            self._rate_check(msg.ref)
        match msg:
            case p.Ping():
                self.send({"type": "pong"})
            case p.CustomerTyping(active=active):
                now = service.clock()
                # Relay a change of state at once, a repeat at most every half second, and
                # never more than the typing bucket allows (a flood would drown the agent).
                changed = active != self.last_typing_state
                if (
                    changed or now - self.last_typing >= TYPING_MIN_INTERVAL_S
                ) and self.limits.typing.take(conversation_id, now):
                    self.last_typing, self.last_typing_state = now, active
                    await service.customers.typing(conversation_id, active)
            case p.CustomerText(cid=cid, text=text, intent=intent):
                await service.customers.message(
                    conversation_id,
                    cid,
                    text,
                    intent,
                    on_stored=lambda e, created: self.send(
                        p.frame_ack(cid, seq=e.seq, duplicate=not created)
                    ),
                )
            case p.RequestHuman(cid=cid):
                await service.customers.request_human(conversation_id, cid)
                self.send(p.frame_ack(cid))
            case p.LeaveQueue(cid=cid):
                self._ack(cid, await service.customers.leave_queue(conversation_id, cid))
            case p.CreateTicket(cid=cid, contact=contact, text=text):
                ticket_id, done = await service.tickets.create(conversation_id, cid, contact, text)
                self._ack(cid, done, ticket_id=ticket_id)
            case p.Csat(cid=cid, score=score, comment=comment):
                self._ack(cid, await service.tickets.rate(conversation_id, cid, score, comment))
            case p.CustomerClose(cid=cid):
                closing = service.assignments.close(conversation_id, by="customer", ref=cid)
                self._ack(cid, await closing)
            case p.History(cid=cid, conversation_id=other_id):
                events = await service.customers.history(conversation_id, other_id, cid)
                self.send(
                    {"type": "history", "ref": cid, "conversation_id": other_id, "events": events}
                )
            case p.CustomerHello():
                raise p.ProtocolError("already_started", "hello was already sent")
            case _:  # pragma: no cover - every decoded type is matched above
                raise p.ProtocolError("unknown_type", f"unhandled type {msg.type}")

    def close_subscription(self) -> None:
        if self.subscription is not None:
            self.subscription.cancel()
            self.subscription = None
        if self.conversation_id is not None:
            counts = self.service.log.customer_connections
            left = counts.get(self.conversation_id, 1) - 1
            if left > 0:
                counts[self.conversation_id] = left
            else:
                counts.pop(self.conversation_id, None)


async def _receive_frames(conn: CustomerConnection, metrics: Any) -> None:
    ws = conn.ws
    max_text = conn.config.limits.max_message_chars
    clock = conn.service.clock
    # One deadline for the hello, not a timeout per frame: pings or garbage must not keep a
    # connection that never says hello alive.
    hello_deadline: float | None = clock() + conn.config.limits.hello_timeout_s
    while True:
        timeout = None if hello_deadline is None else max(0.0, hello_deadline - clock())
        try:
            message = await ws.receive(timeout=timeout)
        except TimeoutError:
            conn.outbox.close(4000, "hello timeout")
            return
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            return
        if message.type == WSMsgType.ERROR:
            return
        if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            continue
        ref = None
        try:
            try:
                msg = p.decode_customer(message.data, max_text=max_text)
            except p.ProtocolError:
                if hello_deadline is None:
                    conn._rate_check(None)  # garbage costs a token like any frame
                raise
            ref = msg.ref
            if hello_deadline is not None:
                if not isinstance(msg, p.CustomerHello):
                    raise p.ProtocolError("hello_required", "send hello first", ref)
                if not await conn.hello(msg):
                    return
                hello_deadline = None
            else:
                await conn.handle(msg)
        except p.ProtocolError as exc:
            metrics.protocol_errors.labels(exc.code).inc()
            conn.send(p.frame_error(exc))
        except Exception:
            log.exception("customer_frame_failed")
            metrics.protocol_errors.labels("internal_error").inc()
            conn.send(p.frame_error(p.ProtocolError("internal_error", "the server failed", ref)))


async def customer_ws(request: web.Request) -> web.StreamResponse:
    """GET /ws/customer: the widget's WebSocket."""
    config = request.app[CONFIG]

    async def session(ws: web.WebSocketResponse, outbox: Outbox) -> None:
        conn = CustomerConnection(request, ws, outbox)
        try:
            await _receive_frames(conn, request.app[METRICS])
        finally:
            conn.close_subscription()

    return await serve_socket(
        request,
        role="customer",
        outbox_frames=config.limits.outbox_frames,
        # No permessage-deflate for customers: a zlib context per socket costs ~100 KB (10,000
        # customers: 1 GB) and ~20 us of CPU per frame, to shrink frames of a few hundred bytes.
        # Agents (few, large chat_assigned histories) keep it. Measured by `chatd bench idle`.
        compress=False,
        session=session,
    )
