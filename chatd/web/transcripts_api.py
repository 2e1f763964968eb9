"""``POST /api/conversations/{conversation_id}/transcript``: the customer asks for their
transcript by email.

Auth: the customer's resume token (``Authorization: Bearer``, from ``welcome``). Body
``{"email": "me@example.com"}``. ``202 {"queued": true}``: the mail is queued durably with an
audit event in the conversation and sent by the delivery task (docs/integrations.md). At most 3
a conversation and 10 an address per hour (the mail goes to whatever address was typed).
409 ``invalid_state`` when this server sends no email (``[email] smtp_host`` empty).
"""

from __future__ import annotations

from aiohttp import web

from chatd import protocol as p
from chatd.domain.delivery import is_email_address
from chatd.web.api import json_body
from chatd.web.keys import CONFIG, LIMITS, SERVICE
from chatd.web.security import bearer_token, client_ip, refuse

__all__ = ["routes"]

routes = web.RouteTableDef()


@routes.post("/api/conversations/{conversation_id}/transcript")
async def email_transcript(request: web.Request) -> web.StreamResponse:
    service = request.app[SERVICE]
    token = bearer_token(request)
    if token is None:
        return refuse(401, "not_authenticated", "send Authorization: Bearer <resume_token>")
    try:
        conv = await service.customers.resume(token)
    except p.ProtocolError:
        return refuse(401, "not_authenticated", "the token is not valid")
    if conv.conversation_id != request.match_info["conversation_id"]:
        return refuse(403, "forbidden", "this is not your conversation")
    if not request.app[CONFIG].email.smtp_host:
        return refuse(409, "invalid_state", "this server does not send email")
    try:
        body = await json_body(request)
    except Exception:
        return refuse(400, "invalid_field", "the body must be a JSON object")
    address = body.get("email")
    if not isinstance(address, str) or len(address) > 254 or not is_email_address(address):
        return refuse(400, "invalid_field", "'email' must be an email address")
    limits, now, ip = request.app[LIMITS], service.clock(), client_ip(request)
    if not limits.transcript_mails_per_ip.try_add(ip, now) or not (
        limits.transcript_mails.try_add(conv.conversation_id, now)
    ):
        response = refuse(429, "rate_limited", "too many transcripts by email; try later")
        response.headers["Retry-After"] = "3600"
        return response
    await service.customers.email_transcript(conv.conversation_id, address.strip())
    return web.json_response({"queued": True}, status=202)
