"""Configuration loading: defaults, the example file, and errors that name the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from chatd.config import Config, ConfigError, WebhookConfig, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_example_file_lists_the_defaults() -> None:
    """config.example.toml loads and equals the built-in defaults, so it documents them truly."""
    assert load_config(ROOT / "config.example.toml", environ={}) == load_config(environ={})


def test_example_file_mentions_every_setting() -> None:
    """Every setting of every section appears in config.example.toml."""
    text = (ROOT / "config.example.toml").read_text()
    for setting in dataclasses.fields(WebhookConfig):
        assert f"\n# {setting.name} = " in text, f"webhooks.{setting.name}"
    for section in dataclasses.fields(Config):
        if section.name in ("canned", "webhooks"):
            continue
        assert f"[{section.name}]" in text
        for setting in dataclasses.fields(getattr(Config(), section.name)):
            assert f"\n{setting.name} = " in text, f"{section.name}.{setting.name}"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[queue]\nmax_wait_s = 'soon'\n", "queue.max_wait_s: expected a number"),
        ("[server]\nprot = 80\n", "server.prot: unknown setting"),
        ("[serverr]\nport = 80\n", "serverr: unknown setting"),
        ("[server]\nport = 70000\n", "server.port: must be <= 65535"),
        ("[limits]\nmessages_per_s = 0\n", "limits.messages_per_s: must be greater than 0"),
        ("[log]\nlevel = 'loud'\n", "log.level: must be one of"),
        ("[bot]\nkb = 'faq.toml'\n", "bot.kb: expected a list"),
        ("[bot]\nalways_handoff = 1\n", "bot.always_handoff: expected true or false"),
        ("[bot]\nidle_close_s = -5\n", "bot.idle_close_s: must be greater than 0"),
        ("[queue]\nmax_wait_s = nan\n", "queue.max_wait_s: must be a finite number"),
        ("[queue]\nurgent_boost_s = -1\n", "queue.urgent_boost_s: must be 0 or more"),
        ("[security]\nsecret = 'abc'\n", "security.secret: must be at least 16"),
        ("[metrics]\nallow = ['10.0.0.0/33']\n", "metrics.allow[0]: expected an IP network"),
        ("[metrics]\nallow = ['::1', 'office']\n", "metrics.allow[1]: expected an IP network"),
        ("[metrics]\ntoken = 'abc'\n", "metrics.token: must be at least 16"),
        ("[server\n", "not valid TOML"),
        ("[server]\npublic_url = 'chat.example.com'\n", "server.public_url: expected http"),
        ("[email]\nsmtp_host = 'mx'\nfrom_address = 'me'\n", "email.from_address: expected"),
        (
            "[email]\nsmtp_host = 'mx'\nfrom_address = 'help@example.com'\n",
            "server.public_url: needed",
        ),
        ("[email]\nmax_retry_interval_s = 0\n", "email.max_retry_interval_s: must be greater"),
        ("[[webhooks]]\nurl = 'ftp://x'\nsecret = '0123456789abcdef'\n", "webhooks[0].url"),
        ("[[webhooks]]\nurl = 'http://x'\nsecret = 'short'\n", "webhooks[0].secret: must be"),
        ("[[webhooks]]\nulr = 'http://x'\n", "webhooks[0].ulr: unknown setting"),
        (
            "[[webhooks]]\nurl = 'http://x'\nsecret = '0123456789abcdef'\nevents = ['msg']\n",
            "webhooks[0].events: unknown event type 'msg'",
        ),
        (
            "[[webhooks]]\nurl = 'http://x'\nsecret = '0123456789abcdef'\n"
            "max_retry_interval_s = -1\n",
            "webhooks[0].max_retry_interval_s: must be greater than 0",
        ),
    ],
)
def test_errors_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    """A bad value is reported with its dotted key."""
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_config(path, environ={})


def test_secrets_from_environment() -> None:
    """Secrets may come from the environment instead of the file."""
    secret = "s1-0123456789abcdef"
    config = load_config(environ={"CHATD_SECRET": secret, "CHATD_IDENTITY_SECRET": "s2"})
    assert config.security.secret == secret and config.security.identity_secret == "s2"


def test_metrics_token_from_environment() -> None:
    """The metrics token may come from CHATD_METRICS_TOKEN; a short one is refused."""
    token = "m-0123456789abcdef"
    assert load_config(environ={"CHATD_METRICS_TOKEN": token}).metrics.token == token
    with pytest.raises(ConfigError, match="CHATD_METRICS_TOKEN: must be at least 16"):
        load_config(environ={"CHATD_METRICS_TOKEN": "short"})


def test_short_secret_refused() -> None:
    """A guessable resume-token key is a configuration error naming where it came from."""
    with pytest.raises(ConfigError, match="CHATD_SECRET: must be at least 16"):
        load_config(environ={"CHATD_SECRET": "short"})


def test_command_line_overrides_win() -> None:
    """--port and --data-dir override the file."""
    config = load_config(overrides={"server": {"port": 9999, "data_dir": "/tmp/x", "host": None}})
    assert config.server.port == 9999 and config.server.data_dir == "/tmp/x"
    assert config.server.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[cluster]\nredis_url = 'redis://r:6379/0'\n", "storage.url: cluster mode"),
        (
            "[cluster]\nredis_url = 'redis://r:6379/0'\n[storage]\nurl = 'sqlite:///x.db'\n",
            "storage.url: cluster mode",
        ),
        (
            "[cluster]\nredis_url = 'redis://r/0'\n[storage]\nurl = 'postgresql://p/db'\n",
            "security.secret: cluster mode needs the same secret",
        ),
        ("[cluster]\nredis_url = 'http://r'\n", "cluster.redis_url: expected redis://"),
        ("[cluster]\nlease_ttl_s = 0\n", "cluster.lease_ttl_s: must be greater than 0"),
    ],
)
def test_cluster_mode_errors_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    """Cluster mode needs a PostgreSQL store and a secret shared by every node."""
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_config(path, environ={})


def test_cluster_mode_accepted() -> None:
    """redis_url + a postgresql:// store + a secret: cluster mode; the default stays embedded."""
    assert not load_config(environ={}).clustered
    config = load_config(
        overrides={
            "cluster": {"redis_url": "redis://127.0.0.1:6379/0"},
            "storage": {"url": "postgresql://chatd@127.0.0.1/chatd"},
        },
        environ={"CHATD_SECRET": "0123456789abcdef0123"},
    )
    assert config.clustered and config.cluster.lease_ttl_s == 5.0


def test_webhooks_and_email_are_read_per_receiver(tmp_path: Path) -> None:
    """Each [[webhooks]] table is one receiver with its own events and retry cap."""
    path = tmp_path / "c.toml"
    path.write_text(
        "[server]\npublic_url = 'https://chat.example.com'\n"
        "[email]\nsmtp_host = 'mx'\nfrom_address = 'help@example.com'\nstarttls = true\n"
        "[[webhooks]]\nurl = 'http://a'\nsecret = '0123456789abcdef'\n"
        "[[webhooks]]\nurl = 'http://b'\nsecret = '0123456789abcdef'\n"
        "events = ['ticket.created']\nmax_retry_interval_s = 5\n"
    )
    config = load_config(path, environ={})
    assert [hook.url for hook in config.webhooks] == ["http://a", "http://b"]
    assert config.webhooks[0].events == () and config.webhooks[0].max_retry_interval_s == 300.0
    assert config.webhooks[1].events == ("ticket.created",)
    assert config.webhooks[1].max_retry_interval_s == 5.0
    assert config.email.starttls and config.email.smtp_port == 25


def test_the_bench_config_ends_in_the_limits_table() -> None:
    """chatd_under_test(limits=...) appends lines to BENCH_CONFIG's last table: it must be
    [limits] (a table added after it once sent `mask_offload_chars` into [attachments])."""
    import tomllib

    from chatd.bench.procs import BENCH_CONFIG

    extra = tomllib.loads(BENCH_CONFIG + "mask_offload_chars = 0\n")
    assert extra["limits"]["mask_offload_chars"] == 0
    load_config(overrides={k: v for k, v in extra.items()})
