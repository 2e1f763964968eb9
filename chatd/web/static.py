"""The pages and assets of web_widget/, served from the installed package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aiohttp import web

__all__ = ["static_routes"]

_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}


def widget_dir() -> Path:
    return Path(str(resources.files("web_widget")))


def _file_response(path: Path, *, cache: str) -> web.StreamResponse:
    if not path.is_file():
        raise web.HTTPNotFound(reason="no such page")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": _TYPES.get(path.suffix, "application/octet-stream") + "; charset=utf-8",
            "Cache-Control": cache,
        },
    )


def static_routes() -> list[web.RouteDef]:
    root = widget_dir()

    def page(name: str) -> web.RouteDef:
        async def handler(request: web.Request) -> web.StreamResponse:
            return _file_response(root / name, cache="no-cache")

        return handler  # type: ignore[return-value]

    async def widget(request: web.Request) -> web.StreamResponse:
        response = _file_response(root / "widget.js", cache="public, max-age=300")
        # The widget is embedded on other sites: it must be loadable cross-origin.
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        # A name longer than any file here would only reach the file system to fail there
        # (ENAMETOOLONG past 255 bytes: a 500).
        if len(name) > 64 or "/" in name or name.startswith(".") or Path(name).suffix not in _TYPES:
            raise web.HTTPNotFound(reason="no such file")
        response = _file_response(root / name, cache="public, max-age=300")
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def index(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/demo")

    return [
        web.get("/", index),
        web.get("/widget.js", widget),
        web.get("/static/{name}", asset),
        web.get("/console", page("console.html")),  # type: ignore[arg-type]
        web.get("/ops", page("ops.html")),  # type: ignore[arg-type]
        web.get("/demo", page("demo.html")),  # type: ignore[arg-type]
    ]
