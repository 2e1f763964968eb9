"""HTTP routes of attachments: upload, download, signed links (chatd.service.attachments).

* ``POST /api/conversations/{conversation_id}/attachments``: multipart/form-data, a part
  ``file`` (its filename is the display name) and an optional text part ``cid``. The
  conversation's customer (``Authorization: Bearer <resume_token>``) or its assigned agent
  (their token); operators may not upload. ``201 {"attachment": {...}}``; a retried cid ``200``
  with the first attachment.
* ``GET /api/conversations/{conversation_id}/attachments/{attachment_id}``: the bytes, for the
  customer, the assigned agent, any operator, or a signed link (``?exp=...&sig=...``).
* ``GET .../{attachment_id}/link``: ``{"url", "expires_at"}``, a signed link for ``<img src>``.

The body is read as a stream and cut at ``[attachments] max_bytes`` (413 at the first byte
over); the rate limit per address is taken before the body is read. Cross-origin pages allowed
by ``[server] allowed_origins`` (the widget on a customer's site) may call these routes.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from chatd import protocol as p
from chatd.service.attachments import UploadRefused
from chatd.store.base import AgentRecord
from chatd.web.api import service_of
from chatd.web.keys import CONFIG
from chatd.web.security import bearer_token, client_ip, origin_allowed, refuse

__all__ = ["routes"]

routes = web.RouteTableDef()

_COLLECTION = "/api/conversations/{conversation_id}/attachments"
_ONE = _COLLECTION + "/{attachment_id}"
#: Parts a form may have (file, cid, and room for a client's harmless extra field).
_MAX_PARTS = 4
_READ_CHUNK = 64 * 1024
#: Types a browser may show inline; everything else downloads.
_INLINE = ("image/png", "image/jpeg", "image/gif", "image/webp")
#: What aiohttp's multipart reader raises on a malformed body (bad boundary, a part header over
#: 8 KB or too many of them): a 400, never a 500.
_MALFORMED = (ValueError, AssertionError, HttpProcessingError)


class _Reader:
    """Who asks: a customer (the conversation their resume token names) or a staff account."""

    def __init__(self, customer_of: str | None = None, agent: AgentRecord | None = None) -> None:
        self.customer_of = customer_of
        self.agent = agent


def _cors(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Let an allowed page on another origin (the widget on a customer's site) read it."""
    origin = request.headers.get("Origin")
    if origin and origin_allowed(request, request.app[CONFIG]):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def _error(request: web.Request, exc: UploadRefused) -> web.StreamResponse:
    response = refuse(exc.status, exc.code, exc.message)
    if exc.retry_after_s is not None:
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
    return _cors(request, response)


async def _who(request: web.Request) -> _Reader:
    """The bearer token's owner; UploadRefused 401 without a valid one."""
    token = bearer_token(request)
    if token is None:
        raise UploadRefused(401, "not_authenticated", "send Authorization: Bearer <token>")
    service = service_of(request)
    if token.count(".") == 2:  # <conversation_id>.<expiry>.<mac>: a customer's resume token
        try:
            conv = await service.customers.resume(token)
        except p.ProtocolError:
            raise UploadRefused(401, "not_authenticated", "the token is not valid") from None
        return _Reader(customer_of=conv.conversation_id)
    try:
        return _Reader(agent=await service.staff.authenticate(token))
    except p.ProtocolError:
        raise UploadRefused(401, "not_authenticated", "the token is not valid") from None


def _guarded(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def inner(request: web.Request) -> web.StreamResponse:
        try:
            return _cors(request, await handler(request))
        except UploadRefused as exc:
            return _error(request, exc)

    return inner


@routes.post(_COLLECTION)
@_guarded
async def upload(request: web.Request) -> web.StreamResponse:
    service = service_of(request)
    conversation_id = request.match_info["conversation_id"][:64]
    who = await _who(request)
    if who.agent is not None and who.agent.role == "operator":
        raise UploadRefused(403, "forbidden", "operators may not upload; agents and customers may")
    if who.customer_of is not None and who.customer_of != conversation_id:
        raise UploadRefused(403, "forbidden", "that conversation is not yours")
    await service.attachments.check_uploader(conversation_id, who.agent)
    service.attachments.take_upload(client_ip(request))
    filename, declared, content, cid = await _read_form(request)
    attachment, created = await service.attachments.upload(
        conversation_id,
        who.agent,
        filename=filename,
        declared_type=declared,
        content=content,
        cid=cid,
    )
    return web.json_response({"attachment": attachment}, status=201 if created else 200)


async def _read_form(request: web.Request) -> tuple[str | None, str | None, bytes, str | None]:
    """(filename, declared type, bytes, cid) of the multipart body, read within the limits."""
    if not request.content_type.startswith("multipart/"):
        raise UploadRefused(400, "invalid_field", "send multipart/form-data with a part 'file'")
    limit = request.app[CONFIG].attachments.max_bytes
    try:
        reader = await request.multipart()
    except _MALFORMED:
        raise UploadRefused(400, "invalid_field", "the multipart body is malformed") from None
    filename: str | None = None
    declared: str | None = None
    content: bytes | None = None
    cid: str | None = None
    for _ in range(_MAX_PARTS + 1):
        try:
            part = await reader.next()
        except _MALFORMED:
            raise UploadRefused(400, "invalid_field", "the multipart body is malformed") from None
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise UploadRefused(400, "invalid_field", "nested multipart is not accepted")
        if part.name == "file" and content is None:
            filename = part.filename
            declared = part.headers.get("Content-Type")
            content = await _read_part(part, limit)
        elif part.name == "cid" and cid is None:
            raw = await _read_part(part, p.MAX_CID_CHARS * 4)
            try:
                cid = raw.decode("utf-8")
            except UnicodeDecodeError:
                cid = ""
            if not cid or len(cid) > p.MAX_CID_CHARS:
                raise UploadRefused(
                    400, "invalid_field", f"'cid' must be 1 to {p.MAX_CID_CHARS} characters"
                )
        else:
            await _read_part(part, 4096)  # a small extra field is ignored; a big one refused
    else:
        raise UploadRefused(400, "invalid_field", "too many parts in the form")
    if content is None:
        raise UploadRefused(400, "invalid_field", "the form has no part 'file'")
    if not content:
        raise UploadRefused(400, "invalid_field", "the file is empty")
    return filename, declared, content, cid


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    """A part's bytes as sent; UploadRefused 413 as soon as they pass ``limit``.

    Raw on purpose: a part's Content-Transfer-Encoding or Content-Encoding is not applied, so a
    small gzip part cannot inflate past the limit (and such a file is refused by its type).
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = await part.read_chunk(_READ_CHUNK)
        except _MALFORMED:
            raise UploadRefused(400, "invalid_field", "the multipart body is malformed") from None
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise UploadRefused(413, "too_large", f"at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _may_read(request: web.Request, conversation_id: str, attachment_id: str) -> None:
    """Pass a signed link, or a customer/agent/operator allowed to read; else 401/403. A staff
    member's read is audited (``attachment.read``; a signed link's, when it was handed out)."""
    service = service_of(request)
    exp, sig = request.query.get("exp"), request.query.get("sig")
    if exp is not None and sig is not None and bearer_token(request) is None:
        if service.attachments.link_valid(conversation_id, attachment_id, exp, sig):
            return
        raise UploadRefused(403, "forbidden", "this link is not valid or has expired")
    who = await _who(request)
    if not await service.attachments.may_read(
        conversation_id, customer_of=who.customer_of, agent=who.agent
    ):
        raise UploadRefused(403, "forbidden", "this file is not yours to read")
    if who.agent is not None:
        target = f"{conversation_id}/{attachment_id}"
        await service.staff.audit(who.agent.name, "attachment.read", target, client_ip(request))


def _disposition(kind: str, name: str) -> str:
    how = "inline" if kind in _INLINE else "attachment"
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name)
    quoted = urllib.parse.quote(name, safe="")
    return f"{how}; filename=\"{ascii_name}\"; filename*=UTF-8''{quoted}"


@routes.get(_ONE)
@_guarded
async def download(request: web.Request) -> web.StreamResponse:
    conversation_id = request.match_info["conversation_id"][:64]
    attachment_id = request.match_info["attachment_id"][:64]
    await _may_read(request, conversation_id, attachment_id)
    found = await service_of(request).attachments.download(conversation_id, attachment_id)
    if found is None:
        raise UploadRefused(404, "not_found", "no such file")
    kind = str(found.attachment["content_type"])
    return web.Response(
        body=found.content,
        headers={
            "Content-Type": kind,
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": _disposition(kind.split(";")[0], str(found.attachment["name"])),
            # A file is served as data, never as a page of this origin (an SVG or HTML that
            # slipped through could not run script), and private caches only.
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=300",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


@routes.get(_ONE + "/link")
@_guarded
async def link(request: web.Request) -> web.StreamResponse:
    conversation_id = request.match_info["conversation_id"][:64]
    attachment_id = request.match_info["attachment_id"][:64]
    if bearer_token(request) is None:
        raise UploadRefused(401, "not_authenticated", "send Authorization: Bearer <token>")
    await _may_read(request, conversation_id, attachment_id)
    if await service_of(request).attachments.describe(conversation_id, attachment_id) is None:
        raise UploadRefused(404, "not_found", "no such file")
    url, expires = service_of(request).attachments.sign_link(conversation_id, attachment_id)
    return web.json_response({"url": url, "expires_at": expires})


@routes.options(_COLLECTION)
@routes.options(_ONE)
@routes.options(_ONE + "/link")
async def preflight(request: web.Request) -> web.StreamResponse:
    """CORS preflight: the widget on an allowed origin sends Authorization."""
    response = web.Response(status=204)
    origin = request.headers.get("Origin")
    if origin and origin_allowed(request, request.app[CONFIG]):
        response.headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "GET, POST",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
                "Vary": "Origin",
            }
        )
    return response
