"""Edge checks: Origin allow-list, subprotocol, JSON errors, security headers.

Cross-site WebSocket hijacking: browsers send Origin on WebSocket handshakes and cookies or not,
a hostile page could open a socket to chatd. The handshake is refused unless the Origin is the
server's own or in ``server.allowed_origins``. Clients that send no Origin (not a browser: the
Python client, curl) pass; they cannot ride on a victim's browser session.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

from chatd import protocol as p
from chatd.config import Config
from chatd.logs import get_logger
from chatd.web.keys import CONFIG

__all__ = [
    "bearer_token",
    "client_ip",
    "error_middleware",
    "metrics_refusal",
    "origin_allowed",
    "refuse",
    "security_headers_middleware",
    "websocket_refusal",
]

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def refuse(status: int, code: str, message: str) -> web.Response:
    """A JSON error response: {"error": {"code", "message"}}."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def client_ip(request: web.Request) -> str:
    """The client's address: the peer, or behind a trusted proxy the address it forwarded.

    X-Forwarded-For is read right to left, skipping trusted proxies: the first other address is
    the one the outermost trusted proxy saw connect (anything left of it the client could forge).
    """
    peer = request.remote or "unknown"
    trusted = request.app[CONFIG].server.trusted_proxies
    if not trusted or peer not in trusted:
        return peer
    forwarded = request.headers.getall("X-Forwarded-For", [])
    hops = [hop.strip() for header in forwarded for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return peer


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None without one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


@functools.lru_cache(maxsize=8)
def _networks(
    allow: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(net, strict=False) for net in allow)


def metrics_refusal(request: web.Request) -> web.Response | None:
    """None when the client may read /metrics ([metrics]: an allowed network or the token)."""
    settings = request.app[CONFIG].metrics
    if settings.token:
        token = bearer_token(request)
        if token is not None and hmac.compare_digest(token.encode(), settings.token.encode()):
            return None
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:  # "unknown" (no peer address) or a malformed forwarded hop
        address = None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    if address is not None and any(address in net for net in _networks(settings.allow)):
        return None
    how = "from an address in [metrics] allow"
    if settings.token:
        how += " or with Authorization: Bearer <metrics token>"
    return refuse(403, "forbidden", f"metrics are readable only {how}")


def origin_allowed(request: web.Request, config: Config) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    allowed = config.server.allowed_origins
    if "*" in allowed or origin in allowed:
        return True
    own = f"{request.scheme}://{request.host}"
    return origin == own


def websocket_refusal(request: web.Request, config: Config) -> web.Response | None:
    """Why this WebSocket handshake must be refused, as a response; None when it may proceed."""
    if not origin_allowed(request, config):
        log.warning("origin_refused", origin=request.headers.get("Origin", "")[:200])
        return refuse(403, "forbidden", "this origin may not open a chat connection")
    offered = [
        proto.strip()
        for proto in request.headers.get("Sec-WebSocket-Protocol", "").split(",")
        if proto.strip()
    ]
    if p.SUBPROTOCOL not in offered:
        return refuse(400, "invalid_field", f"offer the WebSocket subprotocol {p.SUBPROTOCOL!r}")
    return None


#: Pages for staff may not be framed by anyone (clickjacking); the demo page and the widget may.
_NO_FRAME_PREFIXES = ("/console", "/ops", "/api")


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if isinstance(response, web.WebSocketResponse) or response.prepared:
        return response
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.path.startswith(_NO_FRAME_PREFIXES):
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
            "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
    elif request.path.startswith("/demo"):
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'; script-src 'self'; base-uri 'none'",
        )
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every HTTP error is JSON with a stable code; no traceback ever reaches a client."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        code = {
            400: "invalid_field",
            401: "not_authenticated",
            403: "forbidden",
            404: "not_found",
            405: "invalid_state",
            413: "too_long",
            429: "rate_limited",
        }.get(exc.status, "internal_error" if exc.status >= 500 else "invalid_field")
        return refuse(exc.status, code, exc.reason)
    except Exception:
        log.exception("http_handler_failed", path=request.path)
        return refuse(500, "internal_error", "the server failed to handle this request")
