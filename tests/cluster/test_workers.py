"""`chatd serve --workers N`: N processes on one port, on the cluster backends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import BinaryIO

import pytest

from chatd.client import AgentClient, ChatClient, CustomerClient
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


def _worker_pids(parent: int) -> set[int]:
    """The processes whose parent is ``parent`` (from /proc: Linux only, like the cluster)."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == parent:
            pids.add(int(stat.parent.name))
    return pids


def _serving_worker(client: ChatClient, server_port: int, workers: set[int]) -> int:
    """The worker holding the server side of ``client``'s TCP connection (by socket inode)."""
    client_port = client.ws.transport.get_extra_info("sockname")[1]
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                inodes.add(f"socket:[{fields[9]}]")
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) in inodes:
                    return pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


async def test_two_workers_share_the_port_and_stop_on_sigterm(
    tmp_path: Path, postgres_server_url: str, redis_server_url: str
) -> None:
    """Two workers answer on one port and share one queue: a customer connected to the other
    worker than the agent's is assigned to that agent. The parent exits 0 on SIGTERM."""
    flush_redis(redis_server_url)
    database = create_database(postgres_server_url)
    config = tmp_path / "config.toml"
    config.write_text(node_config(database, redis_server_url, "box"))
    port = free_port()
    log = (tmp_path / "workers.log").open("wb")
    proc: subprocess.Popen[bytes] | None = None
    try:
        proc, token = await asyncio.to_thread(_start_workers, config, port, log)
        workers = _worker_pids(proc.pid)
        assert len(workers) == 2
        url = f"ws://127.0.0.1:{port}"
        agent = await AgentClient.connect(url, token)
        agent_worker = _serving_worker(agent, port, workers)
        # The kernel spreads connections over the workers; keep one customer on each.
        on: dict[int, CustomerClient] = {}
        extra: list[CustomerClient] = []
        for _ in range(40):
            customer = await CustomerClient.connect(url)
            worker = _serving_worker(customer, port, workers)
            if worker in on:
                extra.append(customer)
            else:
                on[worker] = customer
            if len(on) == 2:
                break
        assert set(on) == workers, "40 connections all went to one worker"
        try:
            for c in on.values():
                await c.action("request_human")
            got = set()
            for _ in range(2):
                got.add((await agent.wait_for("chat_assigned"))["conversation"]["conversation_id"])
            assert got == {c.conversation_id for c in on.values()}
            other = next(c for w, c in on.items() if w != agent_worker)
            joined = await other.wait_for("assigned")
            assert joined["data"]["agent_name"] == "Wendy"
        finally:
            for client in [agent, *on.values(), *extra]:
                await client.close()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        drop_database(postgres_server_url, database)
