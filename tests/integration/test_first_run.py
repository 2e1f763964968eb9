"""A first run by README, with the real `chatd` command, scripts and files: the data the server
uses is the data every command uses, a busy port is one line, the scripts work from anywhere."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

from tests.support.cli import run_chatd
from tests.support.server import start_server


def _token(stdout: str) -> str:
    return stdout.split("token: ", 1)[1].strip()


def _me(url: str, token: str) -> dict[str, object]:
    request = urllib.request.Request(url + "/api/me", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return dict(json.loads(resp.read()))


def test_admin_commands_use_the_servers_data_or_refuse(tmp_path: Path) -> None:
    """`serve` prints where its data is; `agents add` run elsewhere without naming that data
    refuses in one line (exit 2, no token, nothing created) instead of writing to a store the
    server never reads; named by CHATD_DATA_DIR or a config file, its token works on the server."""
    data = tmp_path / "srv"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    server = start_server(data)
    try:
        assert f"data: {data} (from --data-dir)" in server.log()

        lost = run_chatd("agents", "add", "olivia", "--role", "operator", cwd=elsewhere)
        assert lost.returncode == 2, lost.stdout + lost.stderr
        assert "token" not in lost.stdout
        assert lost.stderr.count("\n") == 1
        assert f"no store at {elsewhere / 'chatd-data' / 'chatd.db'}" in lost.stderr
        assert not (elsewhere / "chatd-data").exists()

        found = run_chatd(
            "agents", "add", "olivia", "--role", "operator", cwd=elsewhere,
            env={"CHATD_DATA_DIR": str(data)},
        )  # fmt: skip
        assert found.returncode == 0, found.stderr
        assert f"store: {data / 'chatd.db'} (data dir from CHATD_DATA_DIR)" in found.stderr
        assert _me(server.url, _token(found.stdout))["name"] == "olivia"

        # A config file's data_dir is relative to the file, wherever the command runs.
        (elsewhere / "config.toml").write_text('[server]\ndata_dir = "../srv"\n')
        by_file = run_chatd("agents", "add", "alice", cwd=elsewhere)  # picks up ./config.toml
        config_file = elsewhere / "config.toml"
        assert f"(data dir from [server] data_dir in {config_file})" in by_file.stderr
        assert _me(server.url, _token(by_file.stdout))["name"] == "alice"
        listed = run_chatd("agents", "list", "--config", config_file, cwd=tmp_path)
        assert "olivia" in listed.stdout and "alice" in listed.stdout
    finally:
        server.stop()


def test_reading_commands_refuse_a_missing_store(tmp_path: Path) -> None:
    """`agents list`/`remove` and `transcripts list` on a data dir with no store exit 2 with
    one line naming the store they looked for, and create nothing."""
    missing = tmp_path / "typo"
    for args in (
        ("agents", "list"),
        ("agents", "remove", "alice"),
        ("transcripts", "list"),
        ("transcripts", "export"),
    ):
        result = run_chatd(*args, "--data-dir", missing, cwd=tmp_path)
        assert result.returncode == 2, args
        assert result.stderr.count("\n") == 1, result.stderr
        assert f"no store at {missing / 'chatd.db'} (data dir from --data-dir)" in result.stderr
        assert result.stdout == ""
    assert not missing.exists()


def test_data_dir_rule_flag_file_variable_default(tmp_path: Path) -> None:
    """--data-dir beats the config file's data_dir, which beats CHATD_DATA_DIR, which beats
    ./chatd-data; CHATD_CONFIG names the file when --config does not; each command says so."""
    for name in ("flag", "file", "variable", "chatd-data"):
        created = run_chatd("agents", "add", name, "--data-dir", tmp_path / name, cwd=tmp_path)
        assert created.returncode == 0, created.stderr
    config = tmp_path / "conf" / "chatd.toml"
    config.parent.mkdir()
    config.write_text('[server]\ndata_dir = "../file"\n')
    variable = {"CHATD_DATA_DIR": str(tmp_path / "variable")}
    cases = [
        (["--data-dir", "flag", "--config", config], variable, "flag"),
        (["--config", config], variable, "file"),
        ([], {**variable, "CHATD_CONFIG": str(config)}, "file"),
        ([], variable, "variable"),
        ([], {}, "chatd-data"),
    ]
    for args, env, expected in cases:
        listed = run_chatd("agents", "list", *args, cwd=tmp_path, env=env)
        assert listed.returncode == 0, listed.stderr
        names = [line.split()[1] for line in listed.stdout.splitlines()]
        assert names == [expected], (args, env, listed.stderr)
        assert f"store: {tmp_path / expected / 'chatd.db'}" in listed.stderr


def test_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A port another process listens on: `chatd serve` prints one line naming the address and
    the reason and exits 2, before logging "listening" or "ready" (no traceback)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_chatd(
            "serve", "--port", str(port), "--data-dir", tmp_path / "data", cwd=tmp_path
        )
    assert result.returncode == 2
    assert result.stderr == f"chatd: cannot listen on 127.0.0.1:{port}: address already in use\n"
    assert result.stdout == ""
