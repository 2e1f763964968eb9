"""Staff sign-in over HTTP: ``POST /api/login``, ``POST /api/logout``, ``GET /api/audit``.

The session token ``/api/login`` returns is accepted wherever a static agent token is (the
``Authorization: Bearer`` header of ``/api/*``, the hello of ``/ws/agent``). Sign-in attempts are
limited per account (the store counts failures: chatd.service.staff) and per client address here
(``ConnectionLimits.logins``), so neither one address nor many can guess a password quickly.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from chatd.service.staff import SignInRefused
from chatd.store.accounts import AUDIT_ACTIONS, AuditFilter
from chatd.store.base import AgentRecord
from chatd.web.api import (
    MAX_LIMIT,
    ApiError,
    json_body,
    query_int,
    query_time,
    requires,
    service_of,
)
from chatd.web.keys import LIMITS, SERVICE
from chatd.web.security import bearer_token, client_ip, refuse

__all__ = ["routes"]

routes = web.RouteTableDef()

_FIELD_CHARS = {"name": 64, "password": 1024, "otp": 16}


def _field(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise ApiError(400, "invalid_field", f"'{name}' must be a non-empty string")
    if len(value) > _FIELD_CHARS[name]:
        raise ApiError(400, "invalid_field", f"'{name}' is longer than {_FIELD_CHARS[name]}")
    return value


@routes.post("/api/login")
async def login(request: web.Request) -> web.Response:
    """Name, password and (when enrolled) a TOTP code → a session token and its expiry."""
    service = request.app[SERVICE]
    ip = client_ip(request)
    limiter = request.app[LIMITS].logins
    now = service.clock()
    if not limiter.take(ip, now):
        retry = max(1, round(limiter.retry_after(ip, now)))
        response = refuse(429, "rate_limited", "too many sign-in attempts from this address")
        response.headers["Retry-After"] = str(retry)
        return response
    try:
        body = await json_body(request)
        name = _field(body, "name")
        password = _field(body, "password")
        otp = _field(body, "otp", required=False) or None
    except ApiError as exc:
        return refuse(exc.status, exc.code, exc.message)
    assert name is not None and password is not None
    try:
        signed_in = await service.staff.sign_in(name, password, otp, ip)
    except SignInRefused as exc:
        response = refuse(exc.status, exc.code, str(exc))
        if exc.retry_after_s is not None:
            response.headers["Retry-After"] = str(round(exc.retry_after_s))
        return response
    return web.json_response(
        {
            "token": signed_in.token,
            "expires_at": signed_in.expires_at,
            "agent": {
                "id": signed_in.agent.agent_id,
                "name": signed_in.agent.name,
                "role": signed_in.agent.role,
            },
        }
    )


@routes.post("/api/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    """End the session the bearer token names, at once and on every node (204)."""
    token = bearer_token(request)
    if token is None:
        return refuse(401, "not_authenticated", "send Authorization: Bearer <session token>")
    ended = await request.app[SERVICE].staff.sign_out(token, client_ip(request))
    if ended is None:
        return refuse(401, "not_authenticated", "not a valid session token")
    return web.Response(status=204)


@routes.get("/api/audit")
@requires("operator")
async def audit(request: web.Request, agent: AgentRecord) -> web.Response:
    """Audit entries, newest first, filtered by time, actor and action."""
    action = request.query.get("action") or None
    if action is not None and action not in AUDIT_ACTIONS:
        raise ApiError(400, "invalid_field", f"'action' must be one of {', '.join(AUDIT_ACTIONS)}")
    actor = request.query.get("actor") or None
    if actor is not None and len(actor) > 64:
        raise ApiError(400, "invalid_field", "'actor' is longer than 64 characters")
    flt = AuditFilter(
        since=query_time(request, "since"),
        until=query_time(request, "until"),
        actor=actor,
        action=action,
        limit=query_int(request, "limit", 100, 1, MAX_LIMIT),
    )
    entries = await service_of(request).store.accounts.list_audit(flt)
    return web.json_response(
        {
            "entries": [
                {"ts": e.ts, "actor": e.actor, "action": e.action, "target": e.target, "ip": e.ip}
                for e in entries
            ]
        }
    )
