"""The `chatd` command line against real processes: serve, agents, transcripts, signals."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
import time
from pathlib import Path

from chatd.client import CustomerClient
from chatd.store import ConversationRecord, NewEvent, SQLiteStore
from tests.support.cli import CHATD, chatd_env, run_chatd
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


def _fill_store(data_dir: Path, conversations: int, events_each: int) -> None:
    """Conversations with customer messages, written through the real SQLite store."""

    async def fill() -> None:
        store = SQLiteStore(data_dir / "chatd.db", synchronous="NORMAL")
        await store.open()
        now = time.time()

        async def one(i: int) -> None:
            cid = f"c_{i:06d}"
            await store.create_conversation(ConversationRecord(cid, now + i, now + i))
            for n in range(events_each):
                text = f"message {n} of conversation {i}: my deposit has not arrived yet " * 3
                await store.append_event(cid, NewEvent("message", now + i, "customer", text))

        await asyncio.gather(*(one(i) for i in range(conversations)))
        await store.close()

    asyncio.run(fill())


def test_export_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """`chatd transcripts export | head -1`: the reader stops after one line and chatd ends
    without a traceback (exit 141 as for SIGPIPE), its stderr only the store line."""
    _fill_store(tmp_path, conversations=30, events_each=40)  # about 1 MB of JSONL
    with subprocess.Popen(
        [str(CHATD), "transcripts", "export", "--data-dir", str(tmp_path), "--limit", "1000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=chatd_env(),
        cwd=tmp_path,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert json.loads(proc.stdout.readline())["type"] == "message"
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(60) == 141
    assert err == f"store: {tmp_path / 'chatd.db'} (data dir from --data-dir)\n"


def test_bad_filters_are_one_line_naming_the_flag(tmp_path: Path) -> None:
    """--status bogus, --since yesterday and --limit 0 exit 2 with one line that names the flag
    and what it accepts, before any store is opened."""
    cases = {
        ("--status", "bogus"): "argument --status: invalid choice: 'bogus' (choose from 'bot', "
        "'queued', 'assigned', 'closed', 'ticket')",
        ("--since", "yesterday"): "argument --since: expected an ISO 8601 date or date-time such "
        "as 2026-11-01 or 2026-11-01T08:30 (UTC unless it has an offset), got 'yesterday'",
        ("--until", "2026-13-01"): "argument --until: expected an ISO 8601 date",
        ("--limit", "0"): "argument --limit: expected a whole number from 1 to 1000000",
    }
    for (flag, value), message in cases.items():
        for command in ("list", "export"):
            result = run_chatd("transcripts", command, flag, value, cwd=tmp_path)
            assert result.returncode == 2, (flag, result.stderr)
            assert result.stderr.count("\n") == 1, result.stderr
            assert result.stderr.startswith(f"chatd transcripts {command}: {message}")
    later = run_chatd(
        "transcripts", "list", "--since", "2026-11-02", "--until", "2026-11-01", cwd=tmp_path
    )
    assert later.returncode == 2
    assert later.stderr == "chatd: --since must be earlier than --until\n"
    assert not (tmp_path / "chatd-data").exists()


def test_filters_select_and_empty_results_say_so(tmp_path: Path) -> None:
    """A valid --status/--since narrows the list; nothing matching prints nothing on stdout,
    "no conversations match" on stderr, and exits 0."""
    _fill_store(tmp_path, conversations=2, events_each=1)
    listed = run_chatd(
        "transcripts", "list", "--status", "bot", "--data-dir", tmp_path, cwd=tmp_path
    )
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 2
    for args in (("--status", "closed"), ("--since", "2999-01-01")):
        for command in ("list", "export"):
            empty = run_chatd("transcripts", command, *args, "--data-dir", tmp_path, cwd=tmp_path)
            assert empty.returncode == 0
            assert empty.stdout == ""
            assert empty.stderr.splitlines()[-1] == "no conversations match"


def test_store_files_are_private(tmp_path: Path) -> None:
    """A new data dir is 0700 and its database files (with the server's -wal and -shm) 0600, like
    secret.key; an existing world-readable database is made 0600 when opened, with a warning
    naming it."""
    data = tmp_path / "data"
    created = run_chatd("agents", "add", "alice", "--data-dir", data, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "chatd.db").stat().st_mode) == 0o600
    server = start_server(data)
    try:
        private = [p.name for p in data.iterdir() if stat.S_IMODE(p.stat().st_mode) == 0o600]
        assert {"chatd.db", "chatd.db-wal", "chatd.db-shm"} <= set(private)
    finally:
        server.stop()
    (data / "chatd.db").chmod(0o644)
    listed = run_chatd("agents", "list", "--data-dir", data, cwd=tmp_path)
    assert listed.returncode == 0 and "alice" in listed.stdout
    assert stat.S_IMODE((data / "chatd.db").stat().st_mode) == 0o600
    assert "file_mode_tightened" in listed.stderr and str(data / "chatd.db") in listed.stderr
