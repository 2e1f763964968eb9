"""A first run by README, with the real `chatd` command, scripts and files: the data the server
uses is the data every command uses, a busy port is one line, the scripts work from anywhere."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.support.cli import ROOT, chatd_env, run_chatd
from tests.support.server import free_port, start_server


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


def test_scripts_serve_takes_paths_relative_to_the_callers_directory(tmp_path: Path) -> None:
    """`scripts/serve --config mine.toml` run from another directory reads ./mine.toml there and
    keeps its data there (it used to change to the repository first and fail)."""
    port = free_port()
    (tmp_path / "mine.toml").write_text(f'[server]\nport = {port}\ndata_dir = "mine-data"\n')
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(ROOT / "scripts" / "serve"), "--config", "mine.toml"],
            cwd=tmp_path,
            env=chatd_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120  # a first run may install chatd into .venv
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        assert proc.poll() is None, log_path.read_text()
        text = log_path.read_text()
        assert f"config: {tmp_path / 'mine.toml'} (from --config)" in text
        assert f"data: {tmp_path / 'mine-data'} (from [server] data_dir in" in text
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
    assert (tmp_path / "mine-data" / "chatd.db").is_file()


def _fake_apt(tmp_path: Path, *, lock_failures: int) -> tuple[dict[str, str], Path]:
    """A PATH whose apt-get (and sudo) record their calls; `update` finds the lists lock held
    by another process ``lock_failures`` times, as apt-get says it, then succeeds."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-calls"
    (bin_dir / "apt-get").write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> {shlex.quote(str(calls))}\n'
        'if [[ " $* " == *" update "* ]]; then\n'
        f"  n=$(grep -c ' update ' {shlex.quote(str(calls))} || true)\n"
        f'  if [ "$n" -le {lock_failures} ]; then\n'
        '    echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242'
        ' (apt-get)" >&2\n'
        '    echo "E: Unable to lock directory /var/lib/apt/lists/" >&2\n'
        "    exit 100\n"
        "  fi\n"
        "fi\n"
    )
    (bin_dir / "sudo").write_text('#!/usr/bin/env bash\nexec "$@"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CHATD_APT_RETRY_S": "0.1",
        "CHATD_APT_LOCK_WAIT_S": "30",
    }
    return env, calls


def test_apt_install_waits_for_another_apt_process(tmp_path: Path) -> None:
    """scripts/test's apt step waits while another apt process holds the lock: `apt-get update`
    is retried after lock errors, and `install` is asked to wait for the dpkg lock."""
    env, calls = _fake_apt(tmp_path, lock_failures=2)
    result = subprocess.run(
        [str(ROOT / "scripts" / "apt-install"), "chromium"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("holds the lock; waiting") == 2
    lines = calls.read_text().splitlines()
    assert [line.split()[-2] if "update" in line else "install" for line in lines] == [
        "update",
        "update",
        "update",
        "install",
    ]
    assert all("-o DPkg::Lock::Timeout=30" in line for line in lines)
    assert lines[-1].endswith("install -y -qq chromium")
    test_script = (ROOT / "scripts" / "test").read_text()
    assert re.search(r"^\[.*\] \|\| scripts/apt-install ", test_script, re.MULTILINE)


def test_apt_install_gives_up_after_the_lock_wait(tmp_path: Path) -> None:
    """A lock that is never released ends the wait with one line saying so, exit 1."""
    env, _calls = _fake_apt(tmp_path, lock_failures=10**6)
    env["CHATD_APT_LOCK_WAIT_S"] = "1"
    result = subprocess.run(
        [str(ROOT / "scripts" / "apt-install"), "chromium"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "apt-get update: another apt/dpkg process held its lock for 1 s; try again later"
    )


def test_readme_development_commands_run(tmp_path: Path) -> None:
    """README's `bot_intents` commands run as written from the repository after scripts/test
    (with .venv's Python; a bare `python` has neither the package's dependencies nor a name on
    Debian)."""
    readme = (ROOT / "README.md").read_text()
    commands = [
        line.split("#")[0].strip() for line in readme.splitlines() if "-m bot_intents" in line
    ]
    assert len(commands) >= 2
    questions = tmp_path / "questions.txt"
    questions.write_text("how do I reset my password?\n我的提现还没到账\n")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    # The PATH of a shell that has not activated .venv.
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(ROOT / ".venv"))
    )
    for command in commands:
        command = command.replace("< questions.txt", f"< {shlex.quote(str(questions))}")
        result = subprocess.run(
            ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, (command, result.stderr)
