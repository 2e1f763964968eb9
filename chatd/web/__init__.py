"""aiohttp adapters: customer and agent WebSockets, the HTTP API and the static pages."""

from chatd.web.app import make_app

__all__ = ["make_app"]
