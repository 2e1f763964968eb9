"""Throwaway PostgreSQL and Redis servers on free ports, for the cluster tests and the bench.

Never the machine's shared servers (5432, 6379): each context manager starts its own process on a
free port in a temporary directory, yields its URL, and stops that process by its PID.

* :func:`postgres_server` runs ``initdb`` into a temporary directory and ``postgres`` on it. As
  root it runs both as the ``postgres`` OS user (PostgreSQL refuses to run as root), with the data
  directory chowned to it. ``fsync=off``: a test database never needs to survive a power cut, and
  it makes CREATE DATABASE per test cheap. ``durable=True`` keeps PostgreSQL's own defaults
  (fsync, synchronous commit) instead: the bench compares it with SQLite at synchronous=FULL,
  so a commit must reach the disk there too.
* :func:`redis_server` runs ``redis-server`` with persistence off.

A missing binary raises :class:`ServiceUnavailable`. The tests use these through
``tests/support/services.py`` (which adds ``unavailable``: a pytest skip, or a failure under CI);
``chatd bench relay --cluster`` uses them directly, so this module must not import pytest or
anything under ``tests/``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chatd.bench.procs import free_port

__all__ = [
    "PG_SUPERUSER",
    "Service",
    "ServiceUnavailable",
    "create_database",
    "drop_database",
    "find_postgres_bin",
    "flush_redis",
    "postgres_server",
    "postgres_service",
    "redis_server",
    "redis_service",
    "stop_pid",
]

#: The OS user PostgreSQL runs as when the tests run as root.
_PG_OS_USER = "postgres"
#: The database superuser initdb creates (trust auth on 127.0.0.1 only).
PG_SUPERUSER = "chatd"
#: Settings that trade crash safety for speed: right for tests, wrong for measurements.
_FAST_UNSAFE = (
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
)
#: How long a server may take to accept connections before the fixture gives up.
_START_TIMEOUT_S = 30.0


class ServiceUnavailable(RuntimeError):
    """A binary or OS user the throwaway server needs is missing."""


def find_postgres_bin() -> Path:
    """The directory holding initdb and postgres: $CHATD_PG_BIN, PATH, or the newest Debian one."""
    explicit = os.environ.get("CHATD_PG_BIN")
    candidates: list[Path] = [Path(explicit)] if explicit else []
    on_path = shutil.which("postgres")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
    )
    candidates += [Path(p) for p in reversed(debian)]
    for directory in candidates:
        if all((directory / name).is_file() for name in ("initdb", "postgres", "pg_isready")):
            return directory
    raise ServiceUnavailable(
        "PostgreSQL server binaries (initdb, postgres, pg_isready) not found: "
        "apt-get install postgresql, or set CHATD_PG_BIN"
    )


def stop_pid(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Signal the process we started (by its PID) and wait; SIGKILL if it does not exit."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class _RunAs:
    """Popen's user/group/extra_groups that drop root to an OS user (all None: stay as is)."""

    user: int | None = None
    group: int | None = None
    extra_groups: list[int] | None = None

    @classmethod
    def named(cls, name: str | None) -> _RunAs:
        if name is None:
            return cls()
        entry = pwd.getpwnam(name)
        return cls(entry.pw_uid, entry.pw_gid, [])


@dataclass(frozen=True)
class Service:
    """A running throwaway server: its URL and the PID we stop it by (and read its CPU from)."""

    url: str
    pid: int


@contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[str]:
    """Start a throwaway PostgreSQL; yield ``postgresql://chatd@127.0.0.1:PORT/postgres``.

    The caller creates a database per test (``CREATE DATABASE`` from template0 takes a few ms).
    ``durable``: fsync and synchronous commit on (PostgreSQL's defaults), for measurements.
    """
    with postgres_service(durable=durable) as service:
        yield service.url


@contextmanager
def redis_server(port: int | None = None) -> Iterator[str]:
    """Start a throwaway Redis without persistence; yield ``redis://127.0.0.1:PORT/0``.

    ``port`` lets a test restart a server on the same address (to test reconnects).
    """
    with redis_service(port) as service:
        yield service.url


@contextmanager
def postgres_service(*, durable: bool = False) -> Iterator[Service]:
    """:func:`postgres_server`, yielding the postmaster's PID with the URL."""
    bin_dir = find_postgres_bin()
    os_user: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(_PG_OS_USER)
        except KeyError:
            raise ServiceUnavailable(
                f"running as root and there is no {_PG_OS_USER!r} OS user to run PostgreSQL as"
            ) from None
        os_user = _PG_OS_USER
    run_as = _RunAs.named(os_user)
    # Not pytest's tmp_path: its parents are 0700 root, which the postgres user cannot traverse.
    base = Path(tempfile.mkdtemp(prefix="chatd-pg-"))
    if os_user is not None:
        shutil.chown(base, user=os_user)
    data = base / "data"
    log_path = base / "postgres.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                PG_SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            cwd=base,
            user=run_as.user,
            group=run_as.group,
            extra_groups=run_as.extra_groups,
        )
        port = free_port()
        with log_path.open("ab") as log:
            # postgres itself, not pg_ctl: the Popen PID is the postmaster, so we stop it by PID.
            proc = subprocess.Popen(
                [
                    str(bin_dir / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(port),
                    "-k",
                    str(base),  # unix socket here, not in the shared /var/run/postgresql
                    "-c",
                    "listen_addresses=127.0.0.1",
                    *(() if durable else _FAST_UNSAFE),
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=base,
                user=run_as.user,
                group=run_as.group,
                extra_groups=run_as.extra_groups,
            )
        _wait_until(
            lambda: (
                subprocess.run(
                    [str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)],
                    check=False,
                ).returncode
                == 0
            ),
            proc,
            "PostgreSQL",
            log_path,
        )
        yield Service(f"postgresql://{PG_SUPERUSER}@127.0.0.1:{port}/postgres", proc.pid)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"initdb failed: {exc.stderr.decode(errors='replace')}") from exc
    finally:
        if proc is not None:
            # SIGINT is PostgreSQL's "fast shutdown": roll back sessions, exit promptly.
            stop_pid(proc, signal.SIGINT)
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def redis_service(port: int | None = None) -> Iterator[Service]:
    """:func:`redis_server`, yielding the server's PID with the URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServiceUnavailable("redis-server not found: apt-get install redis-server")
    port = port or free_port()
    base = Path(tempfile.mkdtemp(prefix="chatd-redis-"))
    log_path = base / "redis.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(base),
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=base,
            )
        _wait_until(lambda: _redis_ping(port), proc, "Redis", log_path)
        yield Service(f"redis://127.0.0.1:{port}/0", proc.pid)
    finally:
        if proc is not None:
            stop_pid(proc)
        shutil.rmtree(base, ignore_errors=True)


def create_database(admin_url: str) -> str:
    """CREATE a fresh empty database next to ``admin_url``'s; return its URL.

    Synchronous (asyncpg on a private event loop in a worker thread) so that plain fixtures, and
    fixtures looked up with ``request.getfixturevalue`` from inside a running loop, can use it.
    """
    name = f"t_{uuid.uuid4().hex[:16]}"
    # template0 is empty and nobody connects to it, so the copy cannot fail on a busy template.
    _run_admin_sql(admin_url, f"CREATE DATABASE {name} TEMPLATE template0")
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, url: str) -> None:
    """DROP the database ``url`` names, disconnecting whoever still uses it."""
    name = url.rsplit("/", 1)[1]
    _run_admin_sql(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _run_admin_sql(admin_url: str, sql: str) -> None:
    """Run one statement on ``admin_url`` from a thread with its own event loop."""
    import asyncpg  # type: ignore[import-untyped]

    async def run() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=60)


def flush_redis(url: str) -> None:
    """FLUSHALL the Redis at ``url`` (raw RESP: usable from sync fixtures)."""
    host, port = url.removeprefix("redis://").split("/", 1)[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"FLUSHALL\r\n")
        reply = sock.recv(64)
    if not reply.startswith(b"+OK"):
        raise RuntimeError(f"FLUSHALL on {url} answered {reply!r}")


def _redis_ping(port: int) -> bool:
    """True when a Redis on 127.0.0.1:port answers PING (raw RESP, no client library needed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _wait_until(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log_path: Path
) -> None:
    """Poll ``ready()`` until true; RuntimeError with the server log if it exits or times out."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = log_path.read_text(errors="replace")
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log}")
        if ready():
            return
        time.sleep(0.05)
    stop_pid(proc, signal.SIGKILL)
    raise RuntimeError(f"{what} not ready in {_START_TIMEOUT_S}s:\n{log_path.read_text()}")
