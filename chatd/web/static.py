"""The pages and assets of web_widget/, served from the installed package, gzip-compressed once.

Every host page that embeds the widget downloads widget.js, so what travels is what counts:
each file is read and compressed (gzip level 9) the first time it is asked for and kept in
memory, and again only when its size or modification time changes (an editable install during
development). A client that sends ``Accept-Encoding: gzip`` gets the compressed bytes. Every
response carries a strong ETag (a hash of the bytes sent, so each encoding has its own) and
``Vary: Accept-Encoding``; a revalidation whose If-None-Match matches is a 304 with no body.
"""

from __future__ import annotations

import gzip
import hashlib
import stat
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from aiohttp import web

__all__ = ["accepts_gzip", "compress", "etag_matches", "static_routes", "widget_dir"]

_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}
#: Pages are revalidated on every load (cheap with the ETag: a 304), so a deploy shows at once.
PAGE_CACHE = "no-cache"
#: The widget and assets are fetched on every host page view: five minutes fresh, then a 304.
ASSET_CACHE = "public, max-age=300"


def widget_dir() -> Path:
    """The installed web_widget package: the pages, scripts and styles chatd serves."""
    return Path(str(resources.files("web_widget")))


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header admits gzip (``gzip;q=0`` refuses it; ``*`` admits).

    One pass over the comma-separated codings; aiohttp bounds the header's length.
    """
    explicit: float | None = None
    wildcard: float | None = None
    for item in header.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if coding == "*":
            wildcard = quality
        else:
            explicit = quality
    chosen = explicit if explicit is not None else wildcard
    # "not > 0" also refuses a NaN quality.
    return chosen is not None and chosen > 0


def etag_matches(header: str, etag: str) -> bool:
    """If-None-Match: ``*`` or any listed tag equal to ``etag`` (weak comparison, RFC 9110)."""
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Encoded:
    """One file's bytes in both encodings, with their ETags."""

    stamp: tuple[int, int]  # (mtime_ns, size) of the file these were made from
    identity: bytes
    identity_etag: str
    gzipped: bytes
    gzip_etag: str


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def compress(data: bytes) -> bytes:
    """The gzip bytes chatd sends for ``data`` (level 9: compressed once, sent many times)."""
    # mtime=0: the same file always compresses to the same bytes, so its ETag survives restarts
    # and is the same on every node behind a load balancer.
    return gzip.compress(data, compresslevel=9, mtime=0)


def _encode(data: bytes, stamp: tuple[int, int]) -> _Encoded:
    gzipped = compress(data)
    return _Encoded(stamp, data, _etag(data), gzipped, _etag(gzipped))


class _Files:
    """The files of one directory, encoded once each (at most one entry per file on disk)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._cache: dict[str, _Encoded] = {}

    def get(self, name: str) -> _Encoded:
        """The encoded file ``name`` (already checked to be a plain name); 404 when missing."""
        path = self._root / name
        try:
            st = path.stat()
        except (OSError, ValueError):  # ValueError: a NUL in the name
            raise web.HTTPNotFound(reason="no such file") from None
        if not stat.S_ISREG(st.st_mode):
            raise web.HTTPNotFound(reason="no such file")
        stamp = (st.st_mtime_ns, st.st_size)
        entry = self._cache.get(name)
        if entry is None or entry.stamp != stamp:
            # Reading and compressing a 40 KB file takes a few milliseconds, once per version.
            entry = _encode(path.read_bytes(), stamp)
            self._cache[name] = entry
        return entry


def _respond(
    request: web.Request, files: _Files, name: str, *, cache: str, cross_origin: bool
) -> web.Response:
    encoded = files.get(name)
    use_gzip = accepts_gzip(request.headers.get("Accept-Encoding", ""))
    etag = encoded.gzip_etag if use_gzip else encoded.identity_etag
    headers = {
        "Content-Type": _TYPES.get(Path(name).suffix, "application/octet-stream")
        + "; charset=utf-8",
        "Cache-Control": cache,
        "ETag": etag,
        "Vary": "Accept-Encoding",
    }
    if cross_origin:
        # The widget is embedded on other sites: it must be loadable cross-origin.
        headers["Access-Control-Allow-Origin"] = "*"
    if etag_matches(request.headers.get("If-None-Match", ""), etag):
        del headers["Content-Type"]
        return web.Response(status=304, headers=headers)
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=encoded.gzipped if use_gzip else encoded.identity, headers=headers)


def static_routes() -> list[web.RouteDef]:
    """GET routes for /, /widget.js, /static/{name}, /console, /ops and /demo."""
    files = _Files(widget_dir())

    def page(name: str) -> web.RouteDef:
        async def handler(request: web.Request) -> web.StreamResponse:
            return _respond(request, files, name, cache=PAGE_CACHE, cross_origin=False)

        return handler  # type: ignore[return-value]

    async def widget(request: web.Request) -> web.StreamResponse:
        return _respond(request, files, "widget.js", cache=ASSET_CACHE, cross_origin=True)

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        # A name longer than any file here would only reach the file system to fail there
        # (ENAMETOOLONG past 255 bytes: a 500).
        if len(name) > 64 or "/" in name or name.startswith(".") or Path(name).suffix not in _TYPES:
            raise web.HTTPNotFound(reason="no such file")
        return _respond(request, files, name, cache=ASSET_CACHE, cross_origin=True)

    async def index(request: web.Request) -> web.StreamResponse:
        # The query goes along: a follow-up email's ?chatd_resume= link opens the demo's widget.
        raise web.HTTPFound("/demo" + (f"?{request.query_string}" if request.query_string else ""))

    return [
        web.get("/", index),
        web.get("/widget.js", widget),
        web.get("/static/{name}", asset),
        web.get("/console", page("console.html")),  # type: ignore[arg-type]
        web.get("/ops", page("ops.html")),  # type: ignore[arg-type]
        web.get("/demo", page("demo.html")),  # type: ignore[arg-type]
    ]
