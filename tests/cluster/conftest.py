"""Fixtures: throwaway Redis and PostgreSQL, and three chatd nodes sharing them (subprocesses).

Every test gets a fresh database, an empty Redis and three fresh nodes. The timings are short
(lease 1.5 s, presence 1.5 s, agent grace 1 s) so failover tests finish in seconds; the
production defaults are in config.example.toml.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import RunningServer, start_server
from tests.support.services import (
    create_database,
    drop_database,
    flush_redis,
)

#: Shared by every node of a test cluster: resume tokens must verify on any node.
SECRET = "cluster-test-secret-0123456789abcdef"
GRACE_S = 1.0
LEASE_S = 1.5
PRESENCE_S = 1.5


def node_config(postgres_url: str, redis_url: str, node_id: str) -> str:
    """The config.toml of one test node."""
    return f"""
[storage]
url = "{postgres_url}"
[cluster]
redis_url = "{redis_url}"
node_id = "{node_id}"
lease_ttl_s = {LEASE_S}
presence_ttl_s = {PRESENCE_S}
[security]
secret = "{SECRET}"
[queue]
update_interval_s = 0.2
agent_grace_s = {GRACE_S}
[limits]
messages_per_s = 1000.0
message_burst = 1000
connections_per_ip = 1000
tcp_connections_per_ip = 100000
ip_messages_per_s = 1000000.0
ip_message_burst = 1000000
new_conversations_per_ip = 10000
"""


@dataclass
class Cluster:
    """Three running nodes on one database and one Redis."""

    nodes: list[RunningServer]
    config_paths: list[Path]
    postgres_url: str
    redis_url: str

    def add_agent(self, name: str, *, capacity: int = 3, languages: str = "en") -> str:
        """Create an agent account (through node 1's config) and return its token."""
        return add_agent(self.config_paths[0], name, capacity=capacity, languages=languages)


def add_agent(config: Path, name: str, *, capacity: int = 3, languages: str = "en") -> str:
    """Create an agent account with ``chatd agents add`` and return its token."""
    args = [sys.executable, "-m", "chatd", "agents", "add", name]
    args += ["--config", str(config), "--capacity", str(capacity), "--languages", languages]
    out = subprocess.run(
        args, capture_output=True, text=True, env=dict(os.environ), check=True
    ).stdout
    for line in out.splitlines():
        if line.startswith("token: "):
            return line.removeprefix("token: ").strip()
    raise RuntimeError(f"no token in output:\n{out}")


@contextmanager
def two_nodes(
    tmp_path: Path, postgres_url: str, redis_url: str, extra_config: str
) -> Iterator[list[RunningServer]]:
    """Two nodes (node1, node2) on a fresh database and an empty Redis, each with the test
    cluster's config plus ``extra_config`` (an ``[email]`` or ``[[webhooks]]`` section)."""
    flush_redis(redis_url)
    database = create_database(postgres_url)
    started: list[RunningServer] = []
    try:
        for i in (1, 2):
            text = node_config(database, redis_url, f"node{i}") + extra_config
            started.append(
                start_server(tmp_path / f"node{i}", config_text=text, env={"CHATD_SECRET": SECRET})
            )
        yield started
    finally:
        for node in started:
            node.kill()
        drop_database(postgres_url, database)


@pytest.fixture
def cluster(tmp_path: Path, postgres_server_url: str, redis_server_url: str) -> Iterator[Cluster]:
    """Three chatd nodes (node1..node3) on a fresh database and an empty Redis."""
    flush_redis(redis_server_url)
    database = create_database(postgres_server_url)
    configs = []
    for i in (1, 2, 3):
        path = tmp_path / f"node{i}" / "config.toml"
        path.parent.mkdir(parents=True)
        path.write_text(node_config(database, redis_server_url, f"node{i}"))
        configs.append(path)
    nodes: list[RunningServer] = []
    try:
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            futures = [
                pool.submit(
                    start_server,
                    tmp_path / f"node{i}",
                    config_text=configs[i - 1].read_text(),
                    env={"CHATD_SECRET": SECRET},
                )
                for i in (1, 2, 3)
            ]
            for future in futures:
                nodes.append(future.result())
        yield Cluster(nodes, configs, database, redis_server_url)
    finally:
        for node in nodes:
            node.kill()
        drop_database(postgres_server_url, database)
