"""Static files through a real server: gzip-compressed when asked, strong ETags, 304s."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from tests.support.server import RunningServer, start_server

WEB = Path(__file__).resolve().parents[2] / "web_widget"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("static"))
    yield running
    running.stop()


def fetch(url: str, **headers: str) -> tuple[int, Message, bytes]:
    """GET ``url`` with exactly these headers (urllib asks for no encoding by itself)."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:  # 304 is raised as an "error" by urllib
        with exc:
            return exc.code, exc.headers, exc.read()


def test_widget_arrives_gzip_encoded_with_an_etag_and_revalidates_to_304(
    server: RunningServer,
) -> None:
    """widget.js asked for with Accept-Encoding: gzip arrives compressed (under 16 KB, the
    same bytes once decompressed), with a strong ETag, Vary and Cache-Control; sending that
    ETag back gets a 304 with no body."""
    raw = (WEB / "widget.js").read_bytes()
    status, headers, body = fetch(server.url + "/widget.js", **{"Accept-Encoding": "gzip, br"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert len(body) <= 16 * 1024 and int(headers["Content-Length"]) == len(body)
    assert gzip.decompress(body) == raw
    etag = headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert headers["Vary"] == "Accept-Encoding"
    assert headers["Cache-Control"] == "public, max-age=300"
    assert headers["Access-Control-Allow-Origin"] == "*"

    again, headers304, body304 = fetch(
        server.url + "/widget.js", **{"Accept-Encoding": "gzip", "If-None-Match": etag}
    )
    assert again == 304 and body304 == b""
    assert headers304["ETag"] == etag and headers304["Vary"] == "Accept-Encoding"


def test_without_gzip_the_bytes_are_plain_and_have_their_own_etag(server: RunningServer) -> None:
    """A client that does not accept gzip gets the file as it is, under a different ETag (the
    two encodings are different bytes), and the compressed one's ETag does not 304 it."""
    raw = (WEB / "widget.js").read_bytes()
    _status, zipped, _body = fetch(server.url + "/widget.js", **{"Accept-Encoding": "gzip"})
    status, headers, body = fetch(server.url + "/widget.js")
    assert status == 200 and body == raw
    assert "Content-Encoding" not in headers
    assert headers["ETag"] != zipped["ETag"]
    status, _headers, body = fetch(server.url + "/widget.js", **{"If-None-Match": zipped["ETag"]})
    assert status == 200 and body == raw


@pytest.mark.parametrize(
    ("path", "name", "cache"),
    [
        ("/console", "console.html", "no-cache"),
        ("/ops", "ops.html", "no-cache"),
        ("/demo", "demo.html", "no-cache"),
        ("/static/console.js", "console.js", "public, max-age=300"),
        ("/static/ops.css", "ops.css", "public, max-age=300"),
        ("/static/common.js", "common.js", "public, max-age=300"),
    ],
)
def test_console_and_ops_assets_are_compressed_too(
    server: RunningServer, path: str, name: str, cache: str
) -> None:
    """The console, /ops and demo pages and their scripts and styles are gzip-compressed with an
    ETag that revalidates to 304; pages are revalidated on every load."""
    status, headers, body = fetch(server.url + path, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == (WEB / name).read_bytes()
    assert len(body) < (WEB / name).stat().st_size
    assert headers["Cache-Control"] == cache
    status, _headers, _body = fetch(
        server.url + path, **{"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]}
    )
    assert status == 304
