"""``POST /api/conversations/{conversation_id}/messages``: an integration posts a message.

Integration tokens (``chatd tokens create NAME --scope messages:write``) and operators may
call it. Body ``{"text": str, "cid": str?}``; ``201 {"event": {...}}`` (a retried cid: ``200``
with the first event); 404 for an unknown conversation, 409 once it is closed.
"""

from __future__ import annotations

from aiohttp import web

from chatd import protocol as p
from chatd.service.views import event_dict
from chatd.store.base import AgentRecord
from chatd.web.api import ApiError, json_body, requires, service_of
from chatd.web.keys import CONFIG
from chatd.web.security import client_ip

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.post("/api/conversations/{conversation_id}/messages")
@requires("operator", scope="messages:write")
async def post_message(request: web.Request, agent: AgentRecord) -> web.Response:
    body = await json_body(request)
    text, cid = body.get("text"), body.get("cid")
    limit = request.app[CONFIG].limits.max_message_chars
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "invalid_field", "'text' must be a non-empty string")
    if len(text) > limit:
        raise ApiError(400, "too_long", f"'text' is longer than {limit} characters")
    if cid is not None and (not isinstance(cid, str) or not 1 <= len(cid) <= p.MAX_CID_CHARS):
        raise ApiError(400, "invalid_field", f"'cid' must be 1-{p.MAX_CID_CHARS} characters")
    service = service_of(request)
    conversation_id = request.match_info["conversation_id"][:64]
    event, created = await service.integrations.post_message(
        conversation_id, text.strip(), by=agent.name, cid=cid
    )
    if created:
        await service.staff.audit(agent.name, "message.posted", conversation_id, client_ip(request))
    return web.json_response({"event": event_dict(event)}, status=201 if created else 200)
