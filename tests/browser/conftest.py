"""Browser tests: Playwright (sync API) driving Debian's Chromium against a real chatd process.

One browser per session; every test gets a fresh server (own data dir and port) and fresh
browser contexts, so no state leaks between tests. A missing Playwright or Chromium fails, with
what to install, never a silent skip: Playwright comes with the dev extra (``pip install -e
.[dev]``), Chromium from Debian (``apt-get install chromium``); scripts/test installs both. To run
without a browser, leave the directory out: ``pytest --ignore=tests/browser``.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.server import RunningServer, add_agent, start_server

try:
    import playwright.sync_api as playwright_sync
except ImportError as exc:
    raise ImportError(
        "the browser tests need Playwright: pip install -e '.[dev]' (or run scripts/test); "
        "to run without them: pytest --ignore=tests/browser"
    ) from exc

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: Staff pages and the widget are served by chatd itself; "*" lets the tests' fake host pages in.
CONFIG = '[server]\nallowed_origins = ["*"]\nshutdown_timeout_s = 1.0\n'


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread
# while it is open, which would break every asyncio test collected after the browser tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[playwright_sync.Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM}: apt-get install chromium (scripts/test"
            " does it); to run without them: pytest --ignore=tests/browser",
            pytrace=False,
        )
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    srv = start_stopped_safely(tmp_path / "data")
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def start_stopped_safely(data_dir: Path, port: int | None = None) -> RunningServer:
    """A chatd process with the browser tests' config."""
    return start_server(data_dir, config_text=CONFIG, port=port)


NewPage = Callable[..., playwright_sync.Page]


@pytest.fixture
def new_page(browser: playwright_sync.Browser) -> Iterator[NewPage]:
    """Open pages in fresh contexts (separate storage = separate people); closed after the test."""
    contexts: list[playwright_sync.BrowserContext] = []

    def make(**context_args: object) -> playwright_sync.Page:
        context_args.setdefault("viewport", {"width": 1280, "height": 860})
        ctx = browser.new_context(**context_args)  # type: ignore[arg-type]
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors  # type: ignore[attr-defined]
        return page

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def agent_token(server: RunningServer) -> str:
    return add_agent(server.data_dir, "Anna", languages="en,zh", capacity=3)


@pytest.fixture
def operator_token(server: RunningServer) -> str:
    return add_agent(server.data_dir, "Olga", role="operator", languages="en,zh")


class HostSite:
    """A second local web site (another origin) embedding the widget like a customer's site."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def page(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.url + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def host_site() -> Iterator[HostSite]:
    site = HostSite()
    yield site
    site.close()
