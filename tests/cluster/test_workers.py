"""`chatd serve --workers N`: N processes on one port, on the cluster backends."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import BinaryIO

import pytest

from chatd.client import AgentClient, CustomerClient
from tests.cluster.conftest import node_config
from tests.support.server import free_port
from tests.support.services import create_database, drop_database, flush_redis

pytestmark = pytest.mark.cluster


def test_workers_refused_without_cluster_config(tmp_path: Path) -> None:
    """More than one worker on the embedded store would split the queue: exit 2, say why."""
    out = subprocess.run(
        [sys.executable, "-m", "chatd", "serve", "--workers", "2", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "--workers > 1 needs cluster mode" in out.stderr


def _start_workers(config: Path, port: int, log: BinaryIO) -> tuple[subprocess.Popen[bytes], str]:
    """Run `chatd serve --workers 2`, wait until both workers are ready; add an agent."""
    args = [sys.executable, "-m", "chatd", "serve", "--workers", "2", "--port", str(port)]
    args += ["--config", str(config), "--data-dir", str(config.parent)]
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    # Both workers must be up before the queue test (each logs its node id: box-w0, box-w1).
    while time.monotonic() < deadline:
        text = (config.parent / "workers.log").read_text(errors="replace")
        if "box-w0" in text and "box-w1" in text and text.count('"ready"') >= 2:
            break
        time.sleep(0.2)
    out = subprocess.run(
        [sys.executable, "-m", "chatd", "agents", "add", "Wendy", "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return proc, out.split("token: ", 1)[1].strip()


async def test_two_workers_share_the_port_and_stop_on_sigterm(
    tmp_path: Path, postgres_server_url: str, redis_server_url: str
) -> None:
    """Two workers answer on one port, share one queue, and the parent exits 0 on SIGTERM."""
    flush_redis(redis_server_url)
    database = create_database(postgres_server_url)
    config = tmp_path / "config.toml"
    config.write_text(node_config(database, redis_server_url, "box"))
    port = free_port()
    log = (tmp_path / "workers.log").open("wb")
    proc: subprocess.Popen[bytes] | None = None
    try:
        proc, token = await asyncio.to_thread(_start_workers, config, port, log)
        url = f"ws://127.0.0.1:{port}"
        agent = await AgentClient.connect(url, token)
        customers = [await CustomerClient.connect(url) for _ in range(4)]
        try:
            for c in customers:
                await c.action("request_human")
            got = set()
            for _ in range(3):  # capacity 3 (the default)
                got.add((await agent.wait_for("chat_assigned"))["conversation"]["conversation_id"])
            assert got <= {c.conversation_id for c in customers}
        finally:
            for client in [agent, *customers]:
                await client.close()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        drop_database(postgres_server_url, database)
