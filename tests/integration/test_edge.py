"""The TCP edge of a real chatd process: slowloris clients are cut, connections are counted per
address before any HTTP is parsed, and running out of descriptors neither kills the server nor
floods its log (issue 14, item 2)."""

from __future__ import annotations

import json
import resource
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.server import RunningServer, start_server

#: A half-sent request head: the request line and one header, never the blank line.
HALF_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: chat.example.com\r\n"
HALF_HANDSHAKE = (
    b"GET /ws/customer HTTP/1.1\r\nHost: chat.example.com\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
)


def half_open(port: int, source: str = "127.0.0.1", data: bytes = HALF_REQUEST) -> socket.socket:
    """A connection from ``source`` that sends ``data`` and then nothing."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    if data:
        sock.sendall(data)
    return sock


def cut_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes (or resets) ``sock`` within ``seconds``."""
    sock.settimeout(seconds)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except TimeoutError:
        return False
    except ConnectionError:
        return True


def healthy(server: RunningServer, source: str = "127.0.0.1") -> bool:
    """/healthz answers 200 on a fresh connection from ``source``."""
    sock = half_open(server.port, source, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.settimeout(5)
    try:
        return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
    finally:
        sock.close()


def _limit_descriptors(soft: int, hard: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return apply


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def test_incomplete_request_heads_are_cut_after_the_timeout(
    tmp_path: Path, sockets: list[socket.socket]
) -> None:
    """Half a request head, half a WebSocket handshake and a silent connection are all closed
    after [limits] request_timeout_s (before, they were kept for as long as the client liked)."""
    server = start_server(tmp_path, config_text="[limits]\nrequest_timeout_s = 1.0\n")
    try:
        sockets += [
            half_open(server.port),
            half_open(server.port, data=HALF_HANDSHAKE),
            half_open(server.port, data=b""),
        ]
        started = time.monotonic()
        assert all(cut_within(sock, 5.0) for sock in sockets)
        assert time.monotonic() - started < 5.0
        assert healthy(server)
    finally:
        server.stop()


def test_connections_are_counted_per_address_before_parsing(
    tmp_path: Path, sockets: list[socket.socket]
) -> None:
    """Past [limits] tcp_connections_per_ip an address's next connection is cut at once, before
    it sends a byte of HTTP; other addresses are served meanwhile."""
    config = "[limits]\nrequest_timeout_s = 30.0\ntcp_connections_per_ip = 10\n"
    server = start_server(tmp_path, config_text=config)
    try:
        sockets += [half_open(server.port, "127.0.0.2") for _ in range(10)]
        assert not any(cut_within(sock, 0.2) for sock in sockets)
        extra = half_open(server.port, "127.0.0.2", data=b"")
        sockets.append(extra)
        assert cut_within(extra, 2.0)
        assert healthy(server, "127.0.0.3")
        refusals = [
            json.loads(line)
            for line in server.log().splitlines()
            if '"connections_refused"' in line
        ]
        assert refusals and refusals[0]["ip"] == "127.0.0.2"
        assert refusals[0]["reason"] == "per_ip"
    finally:
        server.stop()


def test_the_descriptor_limit_is_raised_at_start_and_said(tmp_path: Path) -> None:
    """A soft RLIMIT_NOFILE below the hard one is raised at start, and the log says so."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 512:  # pragma: no cover - depends on the host
        pytest.fail(f"this test needs a hard descriptor limit above 512, the host has {hard}")
    server = start_server(tmp_path, preexec_fn=_limit_descriptors(512, hard))
    try:
        raised = [
            json.loads(line)
            for line in server.log().splitlines()
            if '"descriptor_limit_raised"' in line
        ]
        assert raised and raised[0]["soft_before"] == 512 and raised[0]["soft"] > 512
    finally:
        server.stop()


def test_more_slow_clients_than_descriptors_neither_kill_nor_flood(
    tmp_path: Path, sockets: list[socket.socket]
) -> None:
    """400 slowloris connections from 40 addresses against a 256-descriptor process: the server
    stays up, writes a few log lines (not a traceback per accept), and serves again once the
    request timeout has cut them."""
    config = "[limits]\nrequest_timeout_s = 1.5\n"
    server = start_server(tmp_path, config_text=config, preexec_fn=_limit_descriptors(256, 256))
    try:
        for host in range(40):
            for _ in range(10):
                try:
                    sockets.append(half_open(server.port, f"127.0.2.{host + 1}"))
                except OSError:
                    pass  # a connect refused or reset while the server is full is fine
        time.sleep(0.5)
        assert server.proc.poll() is None
        deadline = time.monotonic() + 8
        while not healthy(server, "127.0.3.1"):
            assert time.monotonic() < deadline, "not serving again after the request timeout"
            time.sleep(0.2)
        with urllib.request.urlopen(server.url + "/healthz", timeout=5) as resp:
            assert resp.status == 200
        log = server.log()
        assert "Traceback" not in log
        assert log.count('"accept_out_of_resources"') + log.count('"connections_refused"') <= 10
        assert len(log) < 100_000
    finally:
        server.stop()
