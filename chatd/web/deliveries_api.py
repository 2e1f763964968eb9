"""Operators' view of outgoing emails and webhooks: ``GET /api/deliveries?state=failing``,
``POST /api/deliveries/{id}/retry`` and ``DELETE /api/deliveries/{id}`` (give up on one; in the
staff audit trail) (chatd/service/deliveries.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from chatd.store.base import AgentRecord
from chatd.store.outbox import CHANNELS, Delivery
from chatd.web.api import MAX_LIMIT, ApiError, query_int, requires, service_of
from chatd.web.security import client_ip

__all__ = ["DELIVERY_SCHEMA", "DELIVERY_STATES", "delivery_dict", "routes"]

routes = web.RouteTableDef()

#: What the listing can show: deliveries that failed FAILING_AFTER times or more (still retried).
DELIVERY_STATES = ("failing",)
#: Item ids are positive 63-bit integers (SQLite rowid, PostgreSQL bigserial).
_MAX_ID = 2**63 - 1


#: A delivery in the OpenAPI document (chatd/web/openapi.py).
DELIVERY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "channel": {"enum": list(CHANNELS)},
        "receiver": {"type": "string", "description": "the webhook url or the email address"},
        "type": {"type": "string", "description": "the event type, e.g. message.created"},
        "delivery_id": {"type": "string", "description": "Chatd-Delivery / the Message-ID"},
        "conversation_id": {"type": ["string", "null"]},
        "seq": {"type": ["integer", "null"]},
        "created_at": {"type": "number"},
        "attempts": {"type": "integer"},
        "next_attempt_at": {"type": "number"},
        "last_error": {"type": ["string", "null"]},
    },
    "required": ["id", "channel", "receiver", "type", "attempts", "last_error"],
}


def delivery_dict(item: Delivery) -> dict[str, Any]:
    """A queued delivery as the API shows it."""
    return {
        "id": item.id,
        "channel": item.channel,
        "receiver": item.receiver,
        "type": item.type,
        "delivery_id": item.delivery_id,
        "conversation_id": item.conversation_id,
        "seq": item.seq,
        "created_at": item.created_at,
        "attempts": item.attempts,
        "next_attempt_at": item.due_at,
        "last_error": item.last_error,
    }


@routes.get("/api/deliveries")
@requires("operator")
async def list_deliveries(request: web.Request, agent: AgentRecord) -> web.Response:
    """Deliveries that keep failing, oldest first."""
    state = request.query.get("state", "failing")
    if state not in DELIVERY_STATES:
        raise ApiError(400, "invalid_field", f"'state' must be one of {', '.join(DELIVERY_STATES)}")
    limit = query_int(request, "limit", 100, 1, MAX_LIMIT)
    items = await service_of(request).deliveries.failing(limit)
    return web.json_response({"deliveries": [delivery_dict(item) for item in items]})


@routes.post("/api/deliveries/{delivery}/retry")
@requires("operator")
async def retry_delivery(request: web.Request, agent: AgentRecord) -> web.Response:
    """Try a queued delivery again now (its backoff starts over only if it fails again)."""
    raw = _item_id(request)
    service = service_of(request)
    if not await service.deliveries.retry(int(raw)):
        raise ApiError(404, "not_found", f"no queued delivery {raw} (delivered already?)")
    await service.staff.audit(agent.name, "delivery.retried", raw, client_ip(request))
    item = await service.store.outbox.get(int(raw))
    if item is None:  # delivered in between: what the operator wanted
        return web.json_response({"delivery": None})
    return web.json_response({"delivery": delivery_dict(item)})


@routes.delete("/api/deliveries/{delivery}")
@requires("operator")
async def drop_delivery(request: web.Request, agent: AgentRecord) -> web.Response:
    """Give up on a queued delivery (a receiver removed from the configuration, an address that
    will never accept): it is deleted and no longer retried; the staff audit trail records it."""
    raw = _item_id(request)
    service = service_of(request)
    item = await service.store.outbox.get(int(raw))
    if item is None or not await service.store.outbox.drop(int(raw)):
        raise ApiError(404, "not_found", f"no queued delivery {raw} (delivered already?)")
    target = f"{item.channel} {item.type} to {item.receiver}"
    await service.staff.audit(agent.name, "delivery.dropped", target, client_ip(request))
    return web.json_response({"dropped": delivery_dict(item)})


def _item_id(request: web.Request) -> str:
    raw = request.match_info["delivery"]
    if not raw.isdigit() or not 0 < int(raw) <= _MAX_ID:
        raise ApiError(400, "invalid_field", "the delivery id must be a positive integer")
    return raw
