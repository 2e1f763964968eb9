"""Processes of a bench run: servers under test and load workers, started and stopped by PID.

Servers run as ``python -m chatd.bench.serve`` (chatd) or ``python -m chatd.bench.baseline``; load
workers as ``python -m chatd.bench.worker`` and talk JSON lines over their stdin/stdout, so the
orchestrating process can, for example, read a server's RSS while a worker holds its connections.
Server memory and CPU come from ``/proc/PID`` (Linux).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BENCH_CONFIG",
    "BENCH_SECRET",
    "CHATD_DATA",
    "ServerGroup",
    "ServerProc",
    "WorkerProc",
    "add_agents",
    "cpu_seconds",
    "default_loop",
    "free_port",
    "raise_nofile",
    "rss_kb",
    "start_baseline",
    "start_chatd",
    "start_chatd_workers",
    "start_worker",
    "tree_cpu_seconds",
]

#: Limits that let one load process on 127.0.0.1 act as thousands of customers: the defaults
#: (1 message/s, 20 connections per IP) are per-user protections and would throttle the bench.
#: Ends inside ``[limits]``: chatd_under_test(limits=...) appends lines to that table.
BENCH_CONFIG = """\
[server]
allowed_origins = ["*"]
[attachments]
uploads_per_ip_per_min = 1000000
upload_burst_per_ip = 1000000
conversation_quota_bytes = 100000000000
[limits]
messages_per_s = 1000
message_burst = 1000
connections_per_ip = 100000
tcp_connections_per_ip = 100000
ip_messages_per_s = 1000000
ip_message_burst = 1000000
new_conversations_per_ip = 1000000
outbox_frames = 4096
"""
#: A fixed secret: the bench never issues tokens that outlive the run.
BENCH_SECRET = "bench-secret-0123456789abcdef0123456789"
#: The data directory of chatd under a scenario's work directory.
CHATD_DATA = "chatd-data"
#: Seconds between two event-loop lag samples in the server under test (see chatd.web.app).
LAG_PROBE_S = 0.05


def raise_nofile() -> int:
    """Raise this process's soft limit of open files to the hard limit (10k sockets need it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def default_loop() -> str:
    """uvloop when it is installed (the ``speed`` extra), else asyncio's own loop."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def install_loop(name: str) -> None:
    """Make new event loops uvloop ones when asked (and installed)."""
    if name == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kb(pid: int) -> int:
    """Resident memory of a process in KiB (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU time of ``root`` and every live descendant (PostgreSQL runs a process per connection).

    Descendants are found by scanning /proc for parent PIDs each call: backends come and go (a
    pool grows under load), and /proc/PID/task/*/children needs a kernel option.
    """
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:  # exited meanwhile
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue
        stack += children.get(pid, [])
    return total


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("CHATD_SECRET", BENCH_SECRET)
    env["CHATD_LOOP_LAG_PROBE_S"] = str(LAG_PROBE_S)
    env.update(extra or {})
    return env


def _stop(proc: subprocess.Popen[Any], timeout: float) -> int:
    """SIGTERM the process by PID, SIGKILL it if it does not exit in time; returns its status."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        return proc.wait()


@dataclass
class ServerProc:
    """A server under test; :meth:`stop` it (the scenarios do, in ``finally``)."""

    kind: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    data_dir: Path | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def pids(self) -> list[int]:
        """Every process serving the port (one here; see :class:`ServerGroup`)."""
        return [self.proc.pid]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def rss_kb(self) -> int:
        return rss_kb(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def get(self, path: str, timeout: float = 5.0) -> str:
        """GET a path of the server (e.g. /metrics) and return the body."""
        with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
            return str(resp.read().decode())

    def stop(self, timeout: float = 20.0) -> int:
        return _stop(self.proc, timeout)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _spawn(kind: str, args: list[str], work_dir: Path, port: int, timeout: float) -> ServerProc:
    log_path = work_dir / f"{kind}-{port}.log"
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT, env=_env()
        )
    server = ServerProc(kind=kind, port=port, proc=proc, log_path=log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            server.get("/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{kind} did not become ready in {timeout}s:\n{server.log_tail()}")


def start_chatd(
    work_dir: Path, *, loop: str, extra_config: str = "", timeout: float = 30.0
) -> ServerProc:
    """A chatd server on a fresh data directory under ``work_dir`` (agents added beforehand)."""
    data_dir = work_dir / CHATD_DATA
    data_dir.mkdir(parents=True, exist_ok=True)
    cfg = work_dir / "chatd-bench.toml"
    cfg.write_text(BENCH_CONFIG + extra_config)
    port = free_port()
    args = ["chatd.bench.serve", "--config", str(cfg), "--data-dir", str(data_dir)]
    args += ["--port", str(port), "--loop", loop]
    server = _spawn("chatd", args, work_dir, port, timeout)
    server.data_dir = data_dir
    return server


class ServerGroup:
    """Several chatd processes sharing one port (SO_REUSEPORT), used like one :class:`ServerProc`.

    CPU and RSS are the sums over the workers; :meth:`stop` stops every one by its PID.
    """

    def __init__(self, workers: list[ServerProc]) -> None:
        self.workers = workers
        self.kind = "chatd"
        self.port = workers[0].port
        self.data_dir = workers[0].data_dir

    @property
    def pid(self) -> int:
        return self.workers[0].pid

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    @property
    def url(self) -> str:
        return self.workers[0].url

    @property
    def ws_url(self) -> str:
        return self.workers[0].ws_url

    def rss_kb(self) -> int:
        return sum(w.rss_kb() for w in self.workers)

    def cpu_seconds(self) -> float:
        return sum(w.cpu_seconds() for w in self.workers)

    def worker_cpu_seconds(self) -> list[float]:
        """Per worker: shows how evenly the kernel spread the connections."""
        return [w.cpu_seconds() for w in self.workers]

    def get(self, path: str, timeout: float = 5.0) -> str:
        """GET a path from whichever worker the kernel picks."""
        return self.workers[0].get(path, timeout)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM all workers at once (they drain in parallel), then wait for each."""
        for worker in self.workers:
            if worker.proc.poll() is None:
                os.kill(worker.pid, signal.SIGTERM)
        return max(w.stop(timeout) for w in self.workers)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(f"[worker {i}]\n{w.log_tail(lines)}" for i, w in enumerate(self.workers))


def start_chatd_workers(
    work_dir: Path, *, loop: str, workers: int, extra_config: str, timeout: float = 60.0
) -> ServerGroup:
    """``workers`` chatd processes on one port, as ``chatd serve --workers N`` runs them.

    ``chatd serve --workers N`` starts N copies of itself with ``CHATD_WORKER=i``, which makes
    each bind with SO_REUSEPORT and take node id ``<node_id>-wi``. We start the same N copies
    ourselves (through ``chatd.bench.serve``, so they get uvloop like every other server of the
    bench and we know each PID for CPU and RSS) instead of through the supervisor.
    ``extra_config`` must configure cluster mode: N processes on SQLite would split the queue.
    """
    data_dir = work_dir / CHATD_DATA
    data_dir.mkdir(parents=True, exist_ok=True)
    cfg = work_dir / "chatd-bench.toml"
    cfg.write_text(BENCH_CONFIG + extra_config)
    port = free_port()
    args = ["chatd.bench.serve", "--config", str(cfg), "--data-dir", str(data_dir)]
    args += ["--port", str(port), "--loop", loop]
    procs: list[ServerProc] = []
    try:
        for index in range(workers):
            log_path = work_dir / f"chatd-{port}-w{index}.log"
            with log_path.open("ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", *args],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=_env({"CHATD_WORKER": str(index)}),
                )
            procs.append(ServerProc("chatd", port, proc, log_path, data_dir))
        group = ServerGroup(procs)
        deadline = time.monotonic() + timeout
        # /healthz answers from whichever worker the kernel picks, so readiness is each
        # worker's own "ready" log line (logged once its store, bus and coordinator are up).
        while time.monotonic() < deadline:
            for worker in procs:
                if worker.proc.poll() is not None:
                    raise RuntimeError(
                        f"chatd worker exited with {worker.proc.returncode}:\n{worker.log_tail()}"
                    )
            if all('"ready"' in w.log_tail(200) for w in procs):
                try:
                    group.get("/healthz", timeout=1)
                    return group
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"chatd workers not ready in {timeout}s:\n{group.log_tail()}")
    except BaseException:
        for worker in procs:  # also on Ctrl-C while waiting: nothing may outlive the run
            worker.stop()
        raise


def start_baseline(
    work_dir: Path, *, loop: str, agent_capacity: int = 3, timeout: float = 30.0
) -> ServerProc:
    """The raw aiohttp relay server (no chat logic, no storage)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = ["chatd.bench.baseline", "--port", str(port), "--loop", loop]
    args += ["--agent-capacity", str(agent_capacity)]
    return _spawn("baseline", args, work_dir, port, timeout)


def add_agents(
    data_dir: Path, count: int, *, capacity: int, storage_url: str | None = None
) -> list[str]:
    """Create ``count`` agent accounts in chatd's store (before it starts); returns their tokens.

    In-process instead of ``chatd agents add``: twenty CLI runs would cost ~20 s of startups.
    ``storage_url`` (a ``postgresql://`` URL in cluster mode) replaces the SQLite file under
    ``data_dir``; opening the store applies its migrations.
    """
    from chatd.auth import hash_token, new_agent_token
    from chatd.store import open_store
    from chatd.store.base import AgentRecord

    async def create() -> list[str]:
        store = open_store(storage_url or str(data_dir / "chatd.db"))
        await store.open()
        tokens = []
        try:
            for i in range(count):
                agent_id = "ag_" + uuid.uuid4().hex[:12]
                token = new_agent_token(agent_id)
                await store.add_agent(
                    AgentRecord(
                        agent_id=agent_id,
                        name=f"bench-agent-{i:03d}",
                        role="agent",
                        token_hash=hash_token(token),
                        languages=("en", "zh"),
                        skills=(),
                        capacity=capacity,
                        created_at=time.time(),
                    )
                )
                tokens.append(token)
        finally:
            await store.close()
        return tokens

    data_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(create())


class WorkerProc:
    """A load process: one JSON spec on its command line, JSON lines in and out."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chatd.bench.worker", json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_env(),
            text=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def read(self, timeout: float) -> dict[str, Any]:
        """The worker's next JSON line; RuntimeError when it exits or stays silent too long."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"worker {self.spec['task']} silent for {timeout:.0f}s")
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if ready:
                line = self.proc.stdout.readline()
                if not line:
                    raise RuntimeError(f"worker {self.spec['task']} exited with {self.proc.wait()}")
                return dict(json.loads(line))

    def tell(self, message: dict[str, Any]) -> None:
        """Send the worker one JSON line (e.g. "release your connections")."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        return _stop(self.proc, timeout)


def start_worker(task: str, **spec: Any) -> WorkerProc:
    """Start a load process running ``task`` (a function name of chatd.bench.worker)."""
    return WorkerProc({"task": task, **spec})
