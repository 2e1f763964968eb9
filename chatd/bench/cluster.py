"""``chatd bench ... --cluster``: chatd on its cluster backends, started and stopped by the run.

The run starts its own throwaway PostgreSQL and Redis (:mod:`chatd.bench.services`: free ports,
127.0.0.1, temporary directories), a fresh database, and N chatd workers sharing one port with
SO_REUSEPORT, the kernel spreading the load generator's connections over them. So a customer and
their agent often sit on different workers and every message crosses Redis, as in a real cluster.

PostgreSQL runs with its durable defaults (fsync, synchronous commit): the embedded default it is
compared with commits with SQLite synchronous=FULL, so both acknowledge a message only once it is
on disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from chatd.bench.procs import (
    BENCH_SECRET,
    CHATD_DATA,
    ServerGroup,
    add_agents,
    start_chatd_workers,
)
from chatd.bench.services import (
    Service,
    create_database,
    flush_redis,
    postgres_service,
    redis_service,
)

__all__ = ["BACKEND", "Backends", "cluster_backends", "cluster_config", "start_cluster"]

#: The ``backend`` a cluster run reports (the embedded default reports "sqlite").
BACKEND = "postgresql+redis"


@dataclass(frozen=True)
class Backends:
    """The throwaway PostgreSQL (admin URL) and Redis of one bench run."""

    postgres: Service
    redis: Service

    @property
    def pids(self) -> list[int]:
        """Roots of the backend process trees (the postmaster forks a backend per connection)."""
        return [self.postgres.pid, self.redis.pid]


@contextmanager
def cluster_backends() -> Iterator[Backends]:
    """Start PostgreSQL and Redis; stop both by PID on exit, also on error or Ctrl-C.

    ServiceUnavailable (a RuntimeError) names the missing binary and the apt-get to run.
    """
    with ExitStack() as stack:
        postgres = stack.enter_context(postgres_service(durable=True))
        redis = stack.enter_context(redis_service())
        yield Backends(postgres, redis)


def cluster_config(database_url: str, redis_url: str) -> str:
    """The config.toml fragment of every worker: shared store, bus and secret."""
    return f"""
[storage]
url = "{database_url}"
[cluster]
redis_url = "{redis_url}"
node_id = "bench"
[security]
secret = "{BENCH_SECRET}"
[log]
format = "json"
"""


def start_cluster(
    work_dir: Path,
    backends: Backends,
    *,
    loop: str,
    workers: int,
    agents: int,
    capacity: int,
) -> tuple[ServerGroup, list[str], str]:
    """A fresh database and empty Redis, ``agents`` accounts, then ``workers`` chatd processes.

    Returns the running group (the caller stops it before the backends), the agents' tokens and
    the database's URL.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    # A fresh database per run: nothing left over from an earlier scenario skews the figures.
    database = create_database(backends.postgres.url)
    flush_redis(backends.redis.url)
    # Before the workers start, so the first dispatcher leader sees every agent's account.
    tokens = (
        add_agents(work_dir / CHATD_DATA, agents, capacity=capacity, storage_url=database)
        if agents
        else []
    )
    group = start_chatd_workers(
        work_dir,
        loop=loop,
        workers=workers,
        extra_config=cluster_config(database, backends.redis.url),
    )
    return group, tokens, database
