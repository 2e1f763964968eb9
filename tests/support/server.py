"""Start a real chatd server process on a free port for integration and browser tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["RunningServer", "add_agent", "free_port", "start_server"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    """A chatd process started by a test; stop() or kill() it (the fixture does)."""

    port: int
    data_dir: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self) -> None:
        """SIGKILL: the crash case."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    # The test names its data dir and config file; a developer's CHATD_CONFIG/CHATD_DATA_DIR
    # (or a ./config.toml, hence cwd=data_dir below) must not change what a test runs against.
    env = {k: v for k, v in os.environ.items() if k not in ("CHATD_CONFIG", "CHATD_DATA_DIR")}
    env.setdefault("CHATD_SECRET", "test-secret-0123456789abcdef0123456789")
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


def start_server(
    data_dir: Path,
    *,
    config_text: str | None = None,
    port: int | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
    preexec_fn: Callable[[], None] | None = None,
) -> RunningServer:
    """Run `python -m chatd serve` on 127.0.0.1 and wait until /healthz answers 200.

    ``preexec_fn`` runs in the child before chatd starts (e.g. to lower its resource limits).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        sys.executable,
        "-m",
        "chatd",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    if config_text is not None:
        cfg = data_dir / "config.toml"
        cfg.write_text(config_text)
        args += ["--config", str(cfg)]
    log_path = data_dir / f"server-{port}.log"
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(env),
            cwd=data_dir,
            preexec_fn=preexec_fn,
        )
    server = RunningServer(port=port, data_dir=data_dir, proc=proc, log_path=log_path, args=args)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chatd exited with {proc.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"chatd did not become ready in {timeout}s:\n{server.log()}")


def add_agent(
    data_dir: Path,
    name: str,
    *,
    role: str = "agent",
    languages: str = "en",
    skills: str = "",
    capacity: int = 3,
) -> str:
    """Create an account with the CLI and return its token (the CLI prints it once)."""
    args = [sys.executable, "-m", "chatd", "agents", "add", name, "--data-dir", str(data_dir)]
    args += ["--role", role, "--languages", languages, "--capacity", str(capacity)]
    if skills:
        args += ["--skills", skills]
    out = subprocess.run(
        args, capture_output=True, text=True, env=_env(None), check=True, cwd=data_dir
    ).stdout
    for line in out.splitlines():
        if line.startswith("token: "):
            return line.removeprefix("token: ").strip()
    raise RuntimeError(f"no token in output:\n{out}")
