"""The HTTP API for agents and operators (Authorization: Bearer TOKEN), health and metrics.

Every route states the roles it admits; every malformed parameter is a 400 with a JSON error,
never a 500.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from chatd import protocol as p
from chatd.domain.roles import STAFF
from chatd.domain.stats import day_stats
from chatd.service.chat import ChatService
from chatd.service.export import CSV_COLUMNS, csv_row, jsonl_line
from chatd.service.views import conversation_summary, event_dict, ticket_dict
from chatd.store.base import STATUSES, AgentRecord, ConversationFilter, ConversationRecord
from chatd.web.keys import CONFIG, METRICS, SERVICE
from chatd.web.security import bearer_token, client_ip, metrics_refusal, refuse

__all__ = [
    "ApiError",
    "json_body",
    "query_int",
    "query_time",
    "requires",
    "routes",
    "service_of",
]

routes = web.RouteTableDef()

Handler = Callable[[web.Request, AgentRecord], Awaitable[web.StreamResponse]]

MAX_LIMIT = 1000
EXPORT_MAX_CONVERSATIONS = 10000
#: Excel reads a CSV as UTF-8 only when it starts with a byte order mark (else Chinese is garbled).
CSV_BOM = "\ufeff"
#: One row per conversation (`/api/export?format=csv&rows=conversation`), times in `tz`.
CONVERSATION_CSV_COLUMNS = (
    "conversation_id",
    "created",
    "closed",
    "status",
    "intent",
    "agent_name",
    "wait_s",
    "first_response_s",
    "csat",
    "csat_comment",
    "tags",
    "subject",
)
#: An IANA zone name as browsers report it ("Europe/Berlin", "America/Argentina/Buenos_Aires").
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]{0,30}(?:/[A-Za-z0-9_+\-]{1,30}){0,2}")
#: Minutes east of UTC: real zones span UTC-12:00 to UTC+14:00.
_MAX_OFFSET_MIN = 14 * 60


class ApiError(Exception):
    """Raised by parameter parsing; answered as a JSON 4xx."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def requires(
    *roles: str, scope: str | None = None
) -> Callable[[Handler], Callable[[web.Request], Awaitable[Any]]]:
    """Authenticate the bearer token and admit only the given roles, and integration tokens
    (``chatd tokens create``) that hold ``scope``. An integration token reaches the handler as
    an account named ``token:<name>`` with the role ``integration``."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[Any]]:
        async def inner(request: web.Request) -> web.StreamResponse:
            token = bearer_token(request)
            if token is None:
                return refuse(401, "not_authenticated", "send Authorization: Bearer <token>")
            staff = request.app[SERVICE].staff
            integration = await staff.integration(token)
            if integration is not None:
                if scope is None or scope not in integration.scopes:
                    needs = f"the scope {scope}" if scope else "a staff account"
                    return refuse(403, "forbidden", f"this route needs {needs}")
                agent = AgentRecord(
                    f"token:{integration.name}", f"token:{integration.name}", "integration", ""
                )
            else:
                try:
                    agent = await staff.authenticate(token)
                except p.ProtocolError:
                    return refuse(401, "not_authenticated", "the token is not valid")
            if agent.role not in roles and agent.role != "integration":
                return refuse(403, "forbidden", f"this route is for: {', '.join(roles)}")
            try:
                return await handler(request, agent)
            except ApiError as exc:
                return refuse(exc.status, exc.code, exc.message)
            except p.ProtocolError as exc:
                status = {"not_found": 404, "forbidden": 403, "invalid_state": 409}.get(
                    exc.code, 400
                )
                return refuse(status, exc.code, exc.message)

        return inner

    return wrap


def query_int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_field", f"'{name}' must be an integer") from None
    if not lo <= value <= hi:
        raise ApiError(400, "invalid_field", f"'{name}' must be between {lo} and {hi}")
    return value


def query_time(request: web.Request, name: str) -> float | None:
    """A time parameter: Unix seconds or an ISO 8601 date/time (UTC when no zone is given)."""
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(
            400, "invalid_field", f"'{name}' must be Unix seconds or an ISO 8601 date"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def _zone(request: web.Request) -> dt.tzinfo:
    """The `tz` parameter: an IANA zone name or minutes east of UTC ("480": UTC+8); default UTC."""
    raw = request.query.get("tz") or ""
    if not raw:
        return dt.UTC
    if re.fullmatch(r"[+-]?\d{1,4}", raw):
        minutes = int(raw)
        if abs(minutes) > _MAX_OFFSET_MIN:
            raise ApiError(400, "invalid_field", "'tz' minutes must be between -840 and 840")
        return dt.timezone(dt.timedelta(minutes=minutes))
    if _ZONE_NAME.fullmatch(raw):
        try:
            return zoneinfo.ZoneInfo(raw)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise ApiError(400, "invalid_field", "'tz' must be an IANA zone name or minutes east of UTC")


def _zone_name(zone: dt.tzinfo) -> str:
    """ "Europe/Berlin" for a named zone, "UTC+08:00" for an offset."""
    key = getattr(zone, "key", None)
    if key:
        return str(key)
    minutes = int((dt.datetime.now(zone).utcoffset() or dt.timedelta()).total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


async def _agent_names(request: web.Request) -> dict[str, str]:
    """agent_id -> name of every account (the few there are), to show names instead of ids."""
    return {a.agent_id: a.name for a in await service_of(request).store.list_agents()}


def _with_agent_name(conv: ConversationRecord, names: dict[str, str]) -> dict[str, Any]:
    view = conversation_summary(conv)
    view["agent_name"] = names.get(conv.agent_id, conv.agent_id) if conv.agent_id else None
    return view


def conversation_filter(request: web.Request, *, max_limit: int = MAX_LIMIT) -> ConversationFilter:
    """Parse the operator search parameters."""
    status = request.query.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, "invalid_field", f"'status' must be one of {', '.join(STATUSES)}")
    text = request.query.get("q") or None
    if text is not None and len(text) > 200:
        raise ApiError(400, "invalid_field", "'q' is longer than 200 characters")
    return ConversationFilter(
        status=status,
        agent_id=request.query.get("agent_id") or None,
        intent=request.query.get("intent") or None,
        since=query_time(request, "since"),
        until=query_time(request, "until"),
        text=text,
        limit=query_int(request, "limit", 100, 1, max_limit),
        offset=query_int(request, "offset", 0, 0, 10**9),
    )


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, checked like a WebSocket frame (depth, UTF-8)."""
    try:
        raw = await request.text()
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_field", "the body must be UTF-8 JSON") from None
    try:
        return p.parse_json_object(raw, what="the body", too_deep="invalid_field")
    except p.ProtocolError as exc:
        raise ApiError(400, exc.code, exc.message) from None


def service_of(request: web.Request) -> ChatService:
    return request.app[SERVICE]


# -- health and metrics -------------------------------------------------------------------------


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    service = service_of(request)
    if not service.accepting:
        return web.json_response({"status": "shutting_down"}, status=503)
    return web.json_response({"status": "ok"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    refusal = metrics_refusal(request)
    if refusal is not None:
        return refusal
    service = service_of(request)
    m = request.app[METRICS]
    overview = service.coordinator.overview()
    for priority, count in overview["waiting_by_class"].items():
        m.queue_length.labels(priority).set(count)
    m.agents_online.set(overview["agents_online"])
    for state, count in (await service.store.count_by_status()).items():
        m.conversations_by_state.labels(state).set(count)
    body = generate_latest(m.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


# -- agents and operators -----------------------------------------------------------------------


@routes.get("/api/me")
@requires(*STAFF)
async def me(request: web.Request, agent: AgentRecord) -> web.Response:
    return web.json_response(
        {
            "agent_id": agent.agent_id,
            "name": agent.name,
            "role": agent.role,
            "capacity": agent.capacity,
            "languages": list(agent.languages),
            "skills": list(agent.skills),
            "status": service_of(request).assignments.agent_status(agent.agent_id),
        }
    )


@routes.get("/api/queue")
@requires(*STAFF)
async def queue(request: web.Request, agent: AgentRecord) -> web.Response:
    service = service_of(request)
    return web.json_response(service.coordinator.overview())


@routes.get("/api/canned")
@requires(*STAFF)
async def canned(request: web.Request, agent: AgentRecord) -> web.Response:
    replies = request.app[CONFIG].canned
    return web.json_response(
        {"canned": [{"shortcut": c.shortcut, "text": c.text} for c in replies]}
    )


@routes.get("/api/kb/search")
@requires(*STAFF)
async def kb_search(request: web.Request, agent: AgentRecord) -> web.Response:
    query = request.query.get("q", "")
    if len(query) > 200:
        raise ApiError(400, "invalid_field", "'q' is longer than 200 characters")
    locale = request.query.get("locale") or None
    languages = service_of(request).bot.languages
    if locale is not None and locale not in languages:
        raise ApiError(400, "invalid_field", f"'locale' must be one of {', '.join(languages)}")
    hits = service_of(request).bot.search(
        query, locale=locale, limit=query_int(request, "limit", 5, 1, 20)
    )
    return web.json_response(
        {
            "results": [
                {"intent": h.intent, "title": h.title, "answer": h.answer, "score": h.score}
                for h in hits
            ]
        }
    )


@routes.get("/api/tickets")
@requires(*STAFF, scope="tickets:read")
async def tickets(request: web.Request, agent: AgentRecord) -> web.Response:
    status = request.query.get("status") or None
    if status not in (None, "open", "answered", "closed"):
        raise ApiError(400, "invalid_field", "'status' must be open, answered or closed")
    found = await service_of(request).store.list_tickets(
        status, limit=query_int(request, "limit", 100, 1, MAX_LIMIT)
    )
    return web.json_response({"tickets": [ticket_dict(t) for t in found]})


def _ticket_id(request: web.Request) -> int:
    raw = request.match_info["ticket_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise ApiError(400, "invalid_field", "the ticket id must be a number")
    return int(raw)


@routes.get("/api/tickets/{ticket_id}")
@requires(*STAFF, scope="tickets:read")
async def ticket(request: web.Request, agent: AgentRecord) -> web.Response:
    service = service_of(request)
    found = await service.store.get_ticket(_ticket_id(request))
    if found is None:
        raise ApiError(404, "not_found", "no such ticket")
    conv = await service.log.get(found.conversation_id)
    events = await service.store.events(found.conversation_id)
    return web.json_response(
        {
            "ticket": ticket_dict(found),
            "conversation": conversation_summary(conv) if conv else None,
            "events": [event_dict(e) for e in events],
        }
    )


@routes.post("/api/tickets/{ticket_id}/reply")
@requires(*STAFF)
async def ticket_reply(request: web.Request, agent: AgentRecord) -> web.Response:
    body = await json_body(request)
    text = body.get("text")
    limit = request.app[CONFIG].limits.max_message_chars
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "invalid_field", "'text' must be a non-empty string")
    if len(text) > limit:
        raise ApiError(400, "too_long", f"'text' is longer than {limit} characters")
    cid = body.get("cid")
    if cid is not None and (not isinstance(cid, str) or len(cid) > p.MAX_CID_CHARS):
        raise ApiError(400, "invalid_field", "'cid' must be a short string")
    updated, _done = await service_of(request).tickets.reply(agent, _ticket_id(request), cid, text)
    return web.json_response({"ticket": ticket_dict(updated)})


@routes.post("/api/tickets/{ticket_id}/close")
@requires(*STAFF)
async def ticket_close(request: web.Request, agent: AgentRecord) -> web.Response:
    """Mark a ticket done (its conversation ends too); closing a closed ticket is fine."""
    closed = await service_of(request).tickets.close(agent, _ticket_id(request))
    return web.json_response({"ticket": ticket_dict(closed)})


# -- operators only -----------------------------------------------------------------------------


@routes.get("/api/agents")
@requires(*STAFF)
async def agents(request: web.Request, agent: AgentRecord) -> web.Response:
    service = service_of(request)
    for record in await service.store.list_agents():
        service.assignments.agents.setdefault(record.agent_id, record)
    return web.json_response({"agents": service.assignments.agents_live()})


@routes.get("/api/live")
@requires("supervisor", "operator")
async def live(request: web.Request, agent: AgentRecord) -> web.Response:
    """Every open conversation (bot, queued, assigned), oldest first, with its agent's name:
    what a supervisor watches (each one readable with the agent socket's `sync`)."""
    names = await _agent_names(request)
    found = await service_of(request).store.open_conversations()
    return web.json_response({"conversations": [_with_agent_name(c, names) for c in found]})


@routes.get("/api/conversations")
@requires("operator", scope="conversations:read")
async def conversations(request: web.Request, agent: AgentRecord) -> web.Response:
    found = await service_of(request).store.list_conversations(conversation_filter(request))
    names = await _agent_names(request)
    return web.json_response({"conversations": [_with_agent_name(c, names) for c in found]})


@routes.get("/api/conversations/{conversation_id}")
@requires("operator", scope="conversations:read")
async def conversation(request: web.Request, agent: AgentRecord) -> web.Response:
    service = service_of(request)
    conversation_id = request.match_info["conversation_id"]
    conv = await service.log.get(conversation_id[:64])
    if conv is None:
        raise ApiError(404, "not_found", "no such conversation")
    events = await service.store.events(conv.conversation_id)
    ticket_record = await service.store.ticket_for_conversation(conv.conversation_id)
    await service.staff.audit(
        agent.name, "transcript.read", conv.conversation_id, client_ip(request)
    )
    return web.json_response(
        {
            "conversation": _with_agent_name(conv, await _agent_names(request)),
            "ticket": ticket_dict(ticket_record) if ticket_record else None,
            "events": [event_dict(e) for e in events],
        }
    )


def _safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas: customers write these cells, operators open them."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _local(ts: float | None, zone: dt.tzinfo) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M:%S")


def _seconds(start: float | None, end: float | None) -> str:
    return "" if start is None or end is None else f"{max(0.0, end - start):.0f}"


def conversation_rows(
    found: Iterable[ConversationRecord], names: dict[str, str], zone: dt.tzinfo
) -> Iterable[list[str]]:
    """One CSV row per conversation, in CONVERSATION_CSV_COLUMNS order."""
    for c in found:
        yield [
            c.conversation_id,
            _local(c.created_at, zone),
            _local(c.closed_at, zone),
            c.status,
            c.intent or "",
            _safe_cell(names.get(c.agent_id, c.agent_id) if c.agent_id else ""),
            _seconds(c.enqueued_at, c.assigned_at),
            _seconds(c.enqueued_at, c.first_response_at),
            str(c.csat_score) if c.csat_score is not None else "",
            _safe_cell(c.csat_comment or ""),
            _safe_cell(", ".join(c.tags)),
            _safe_cell(c.subject or ""),
        ]


@routes.get("/api/export")
@requires("operator", scope="conversations:read")
async def export(request: web.Request, agent: AgentRecord) -> web.StreamResponse:
    """The matching conversations, streamed: every event as JSONL or CSV, or (`rows=conversation`,
    CSV only) one row per conversation with times in `tz`. CSV starts with a UTF-8 BOM."""
    fmt = request.query.get("format", "jsonl")
    if fmt not in ("jsonl", "csv"):
        raise ApiError(400, "invalid_field", "'format' must be jsonl or csv")
    rows = request.query.get("rows", "event")
    if rows not in ("event", "conversation") or (rows == "conversation" and fmt != "csv"):
        raise ApiError(400, "invalid_field", "'rows' must be event, or conversation with csv")
    zone = _zone(request)
    flt = conversation_filter(request, max_limit=EXPORT_MAX_CONVERSATIONS)
    service = service_of(request)
    found = await service.store.list_conversations(flt)
    await service.staff.audit(
        agent.name, "export", f"{len(found)} conversations ({fmt}, {rows})", client_ip(request)
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    name = f"chatd-{'conversations' if rows == 'conversation' else 'export'}-{stamp}.{fmt}"
    response = web.StreamResponse(
        headers={
            "Content-Type": (
                "application/x-ndjson" if fmt == "jsonl" else "text/csv; charset=utf-8"
            ),
            "Content-Disposition": f'attachment; filename="{name}"',
        }
    )
    await response.prepare(request)
    if rows == "conversation":
        buf = io.StringIO()
        buf.write(CSV_BOM)
        writer = csv.writer(buf)
        writer.writerow(CONVERSATION_CSV_COLUMNS)
        writer.writerows(conversation_rows(found, await _agent_names(request), zone))
        await response.write(buf.getvalue().encode())
        await response.write_eof()
        return response
    if fmt == "csv":
        buf = io.StringIO()
        buf.write(CSV_BOM)
        csv.writer(buf).writerow(CSV_COLUMNS)
        await response.write(buf.getvalue().encode())
    for conv in found:
        events = await service.store.events(conv.conversation_id)
        buf = io.StringIO()
        if fmt == "jsonl":
            for e in events:
                buf.write(jsonl_line(e))
        else:
            writer = csv.writer(buf)
            for e in events:
                writer.writerow(csv_row(e))
        await response.write(buf.getvalue().encode())
    await response.write_eof()
    return response


@routes.get("/api/stats")
@requires("operator", scope="stats:read")
async def stats(request: web.Request, agent: AgentRecord) -> web.Response:
    """The figures of one day from local midnight in `tz` (IANA name or minutes east of UTC;
    UTC by default) to the next; `hourly` counts hours from that midnight."""
    zone = _zone(request)
    raw = request.query.get("day")
    try:
        day = dt.date.fromisoformat(raw) if raw else dt.datetime.now(zone).date()
    except ValueError:
        raise ApiError(400, "invalid_field", "'day' must be YYYY-MM-DD") from None
    start = dt.datetime.combine(day, dt.time(), zone).timestamp()
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).timestamp()
    found = await service_of(request).store.list_conversations(
        ConversationFilter(since=start, until=end, limit=100000)
    )
    return web.json_response(
        {"day": day.isoformat(), "tz": _zone_name(zone), **day_stats(found, start)}
    )
