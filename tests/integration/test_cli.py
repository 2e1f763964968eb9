"""The `chatd` command line against real processes: serve, agents, transcripts, signals."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from chatd.client import CustomerClient
from tests.support.server import add_agent, start_server


def chatd(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatd", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    """A config error is printed with its dotted key and the exit code is 2."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[queue]\nagent_grace_s = 'a minute'\n")
    result = subprocess.run(
        [sys.executable, "-m", "chatd", "serve", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "queue.agent_grace_s" in result.stderr


def test_agents_add_list_remove(tmp_path: Path) -> None:
    """An account is created with a one-time token, listed, and removed."""
    token = add_agent(tmp_path, "alice", languages="en,zh", skills="kyc,api", capacity=2)
    assert token.startswith("ag_") and "." in token
    listed = chatd("agents", "list", data_dir=tmp_path)
    assert "alice" in listed.stdout and "languages=en,zh" in listed.stdout
    assert token.split(".")[1] not in listed.stdout
    again = chatd("agents", "add", "alice", data_dir=tmp_path)
    assert again.returncode == 1 and "exists" in again.stderr
    removed = chatd("agents", "remove", "alice", data_dir=tmp_path)
    assert removed.returncode == 0
    assert "alice" not in chatd("agents", "list", data_dir=tmp_path).stdout


def test_sigterm_closes_clients_with_1001_and_exits_0(tmp_path: Path) -> None:
    """SIGTERM: connected clients get close 1001 with a reason; the server exits 0; the
    conversation is still there after a restart (transcripts CLI)."""
    server = start_server(tmp_path, config_text='[server]\nallowed_origins = ["*"]\n')
    try:
        assert "no_operator" in server.log()

        async def talk() -> tuple[str, tuple[int | None, str]]:
            customer = await CustomerClient.connect(server.ws_url)
            await customer.say("how do I reset my password?")
            await customer.wait_for("message", author="bot", where=lambda f: f["seq"] > 1)
            server.proc.terminate()
            closed = await asyncio.wait_for(customer.closed, 15)
            return customer.conversation_id, closed

        conversation_id, (code, reason) = asyncio.run(talk())
        assert code == 1001 and "shutting down" in reason
        assert server.proc.wait(15) == 0
    finally:
        server.kill()
    listed = chatd("transcripts", "list", data_dir=tmp_path)
    assert conversation_id in listed.stdout
    shown = chatd("transcripts", "show", conversation_id, data_dir=tmp_path)
    assert "how do I reset my password?" in shown.stdout
    assert "account.password_reset" in shown.stdout
    exported = chatd("transcripts", "export", "--format", "jsonl", data_dir=tmp_path)
    kinds = [json.loads(line)["type"] for line in exported.stdout.splitlines()]
    assert kinds.count("message") == 3
    csv_out = chatd("transcripts", "export", "--format", "csv", data_dir=tmp_path)
    assert csv_out.stdout.splitlines()[0].startswith("conversation_id,seq,time")
