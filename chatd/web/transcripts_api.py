"""The customer's email routes, both authorised by the customer's resume token
(``Authorization: Bearer``, from ``welcome``), both 409 ``invalid_state`` when this server sends
no email (``[email] smtp_host`` empty); docs/integrations.md.

* ``POST /api/conversations/{conversation_id}/transcript`` ``{"email": "me@example.com"}``: the
  transcript by email. ``202 {"queued": true}``: the mail is queued durably with an audit event in
  the conversation and sent by the delivery task. At most 3 a conversation and 10 an address per
  hour (the mail goes to whatever address was typed).
* ``PUT /api/conversations/{conversation_id}/followup`` ``{"email": "me@example.com"}``: replies
  by email while away (chatd.service.followups): the staff's replies the customer has not seen
  ``[email] notify_after_s`` after the first are mailed in one digest. ``200 {"email": ...,
  "notify_after_s": ...}``. ``DELETE`` on the same path stops it (``200 {"email": null}``). At most
  5 changes a conversation per hour.
"""

from __future__ import annotations

from aiohttp import web

from chatd import protocol as p
from chatd.domain.delivery import is_email_address
from chatd.store.base import ConversationRecord
from chatd.web.api import json_body
from chatd.web.keys import CONFIG, LIMITS, SERVICE
from chatd.web.security import bearer_token, client_ip, refuse

__all__ = ["routes"]

routes = web.RouteTableDef()


async def _customer(request: web.Request) -> ConversationRecord | web.Response:
    """The conversation the resume token opens, when it is the one in the path and this
    server sends email; else the refusal to answer."""
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
    return conv


async def _address(request: web.Request) -> str | web.Response:
    try:
        body = await json_body(request)
    except Exception:
        return refuse(400, "invalid_field", "the body must be a JSON object")
    address = body.get("email")
    if not isinstance(address, str) or len(address) > 254 or not is_email_address(address):
        return refuse(400, "invalid_field", "'email' must be an email address")
    return address.strip()


def _too_many(what: str) -> web.Response:
    response = refuse(429, "rate_limited", f"too many {what}; try later")
    response.headers["Retry-After"] = "3600"
    return response


@routes.post("/api/conversations/{conversation_id}/transcript")
async def email_transcript(request: web.Request) -> web.StreamResponse:
    conv = await _customer(request)
    if isinstance(conv, web.Response):
        return conv
    address = await _address(request)
    if isinstance(address, web.Response):
        return address
    service = request.app[SERVICE]
    limits, now, ip = request.app[LIMITS], service.clock(), client_ip(request)
    if not limits.transcript_mails_per_ip.try_add(ip, now) or not (
        limits.transcript_mails.try_add(conv.conversation_id, now)
    ):
        return _too_many("transcripts by email")
    await service.customers.email_transcript(conv.conversation_id, address)
    return web.json_response({"queued": True}, status=202)


@routes.put("/api/conversations/{conversation_id}/followup")
@routes.delete("/api/conversations/{conversation_id}/followup")
async def email_replies(request: web.Request) -> web.StreamResponse:
    conv = await _customer(request)
    if isinstance(conv, web.Response):
        return conv
    address: str | None = None
    if request.method == "PUT":
        given = await _address(request)
        if isinstance(given, web.Response):
            return given
        address = given
    service = request.app[SERVICE]
    if not request.app[LIMITS].followup_changes.try_add(conv.conversation_id, service.clock()):
        return _too_many("changes of the address for replies")
    await service.followups.set(conv.conversation_id, address)
    answer: dict[str, object] = {"email": address}
    if address is not None:
        answer["notify_after_s"] = request.app[CONFIG].email.notify_after_s
    return web.json_response(answer)
