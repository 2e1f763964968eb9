"""Configuration: a TOML file into frozen dataclasses with defaults.

Every key is optional; config.example.toml lists them all with their defaults. Unknown keys and
wrong types are errors that name the dotted key (``ConfigError``); ``chatd serve`` prints the
message and exits with status 2. Secrets may come from the environment (CHATD_SECRET,
CHATD_IDENTITY_SECRET, CHATD_METRICS_TOKEN) so they stay out of files.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatd.domain.hours import DAYS, Schedule, schedule

__all__ = [
    "ATTACHMENT_TYPES",
    "DEFAULT_DATA_DIR",
    "AttachmentsConfig",
    "ClusterConfig",
    "Config",
    "ConfigError",
    "EmailConfig",
    "HoursConfig",
    "MetricsConfig",
    "Origins",
    "WebhookConfig",
    "load_config",
    "locate_config",
]

#: The data directory when nothing names one, relative to the current directory.
DEFAULT_DATA_DIR = "./chatd-data"


class ConfigError(Exception):
    """The configuration is invalid; the message names the dotted key and the bad value."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = DEFAULT_DATA_DIR
    #: Origins allowed to open WebSockets (cross-site WebSocket hijacking defence). Empty: same
    #: origin as the server only (requests without an Origin header, i.e. non-browser clients,
    #: pass).
    #: "*" allows every origin.
    allowed_origins: tuple[str, ...] = ()
    #: Addresses of reverse proxies / load balancers in front of chatd. A request from one of
    #: them is attributed to the client address it appends to X-Forwarded-For, so per-IP limits
    #: count customers, not the proxy. Empty: X-Forwarded-For is ignored (it can be forged).
    trusted_proxies: tuple[str, ...] = ()
    #: Seconds a shutdown waits for pending writes before exiting.
    shutdown_timeout_s: float = 10.0
    #: Where customers reach chatd (``https://chat.example.com``): the base of links in emails.
    public_url: str = ""


@dataclass(frozen=True, slots=True)
class StorageConfig:
    #: Empty: SQLite file chatd.db under data_dir. Or "sqlite:///path" / "postgresql://...".
    url: str = ""
    #: SQLite only. "full": a message is acknowledged once its commit is fsynced (survives a
    #: power loss). "normal": once the commit is in the OS (survives a crash or kill -9 of
    #: chatd, not of the machine); no fsync per commit, and the commit runs on the event loop.
    synchronous: str = "full"


@dataclass(frozen=True, slots=True)
class BotConfig:
    #: Knowledge-base TOML files or directories; empty: the bundled crypto-exchange FAQ.
    kb: tuple[str, ...] = ()
    #: Hand off after this many consecutive replies without a confident intent.
    handoff_after_misses: int = 2
    #: Skip the bot's answers: every conversation goes to the queue at its first message.
    always_handoff: bool = False
    #: A conversation that only talked to the bot closes after this much silence (seconds).
    idle_close_s: float = 1800.0
    #: Where the fitted bot is kept between starts (fitting the shipped KB costs ~4 s of CPU,
    #: loading it a few ms). Empty: $CHATD_CACHE_DIR, else $XDG_CACHE_HOME/chatd, else
    #: ~/.cache/chatd. A directory that cannot be written only costs the fit at each start.
    cache_dir: str = ""
    #: The exchange's own bot, asked before the built-in one (chatd.service.external_bot);
    #: empty: off.
    webhook_url: str = ""
    #: Signs those requests (Chatd-Signature, as webhooks); empty: unsigned.
    webhook_secret: str = ""
    #: Past this many seconds the built-in bot answers instead.
    webhook_timeout_s: float = 2.0

    def cache_path(self, environ: typing.Mapping[str, str] | None = None) -> Path:
        """The directory :attr:`cache_dir` names (see there)."""
        env = os.environ if environ is None else environ
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        if env.get("CHATD_CACHE_DIR"):
            return Path(env["CHATD_CACHE_DIR"]).expanduser()
        base = env.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
        return Path(base) / "chatd"


@dataclass(frozen=True, slots=True)
class QueueConfig:
    #: Offer a ticket when the estimated wait exceeds this (seconds).
    max_wait_s: float = 900.0
    #: An agent who disconnects keeps their chats this long before they return to the queue.
    agent_grace_s: float = 60.0
    #: Minimum interval between two queue updates to one customer (seconds).
    update_interval_s: float = 1.0
    #: Ageing head start of each priority class over "normal", in seconds of waiting.
    urgent_boost_s: float = 600.0
    vip_boost_s: float = 180.0
    #: Mean handling time assumed before any chat has been observed (seconds).
    prior_handle_s: float = 300.0


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    #: Signs resume tokens. Empty: taken from CHATD_SECRET, else generated once into data_dir.
    secret: str = ""
    resume_token_ttl_s: float = 30 * 86400.0
    #: HMAC key for identity verification (user_hash = HMAC-SHA256(key, user_id)); empty: off.
    identity_secret: str = ""
    #: Staff sign-in (POST /api/login): a session lasts this long (seconds).
    session_ttl_s: float = 12 * 3600.0
    #: Refuse password sign-in to accounts without TOTP enrolled (`chatd agents totp NAME`).
    require_totp: bool = False
    #: Failed sign-ins of one account within login_window_s before it is refused (429).
    login_failures: int = 5
    login_window_s: float = 900.0


@dataclass(frozen=True, slots=True)
class HoursConfig:
    """When people answer chats (chatd.domain.hours). No ranges on any day: always open."""

    #: IANA zone of the ranges and holidays, e.g. "Europe/Berlin"; empty: UTC.
    timezone: str = ""
    #: Opening ranges per weekday, local time: ["09:00-18:00"] or ["22:00-06:00"] (past
    #: midnight) or ["00:00-24:00"] (all day); a day left out is closed.
    monday: tuple[str, ...] = ()
    tuesday: tuple[str, ...] = ()
    wednesday: tuple[str, ...] = ()
    thursday: tuple[str, ...] = ()
    friday: tuple[str, ...] = ()
    saturday: tuple[str, ...] = ()
    sunday: tuple[str, ...] = ()
    #: Closed days, "YYYY-MM-DD" (local).
    holidays: tuple[str, ...] = ()

    def schedule(self) -> Schedule:
        """The schedule these settings describe (ValueError when one is malformed)."""
        days = {name: getattr(self, name) for name in DAYS}
        return schedule(self.timezone, days, self.holidays)


@dataclass(frozen=True, slots=True)
class RetentionConfig:
    #: Closed conversations (their events, tickets, attachments) are deleted this many days
    #: after they closed; 0 keeps them forever.
    closed_conversations_days: float = 0.0
    #: Audit entries older than this many days are deleted; 0 keeps them forever.
    audit_days: float = 365.0
    #: How often each node sweeps (seconds).
    sweep_interval_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    max_message_chars: int = 4000
    #: Frames above this many bytes close the connection with 1009 (a frame of exactly this
    #: size is accepted).
    max_frame_bytes: int = 65536
    #: Token bucket per conversation (customers) or per account (staff): sustained frames per
    #: second and burst. Keyed by conversation, not by socket: reconnecting or opening more
    #: sockets to one conversation does not add to its rate.
    messages_per_s: float = 1.0
    message_burst: int = 8
    #: Token bucket per client address over all its conversations (several people behind
    #: one office NAT share it, so it is wider than one conversation's).
    ip_messages_per_s: float = 10.0
    ip_message_burst: int = 40
    #: Rate-limit refusals of one conversation within violation_window_s before its socket is
    #: closed (4029); a socket that reconnects keeps the count.
    violations_before_close: int = 20
    violation_window_s: float = 60.0
    #: Open WebSockets per client address (after X-Forwarded-For from a trusted proxy).
    connections_per_ip: int = 20
    #: Open TCP connections per peer address, counted at accept, before any HTTP is parsed
    #: (trusted proxies are exempt: their clients are counted per address after parsing). A
    #: browser holds one WebSocket and a few HTTP connections; an office NAT many of those.
    tcp_connections_per_ip: int = 256
    #: Seconds a connection may take to send a complete request head (a WebSocket handshake
    #: included), and an idle keep-alive connection stays open; slow or stalled clients are cut.
    request_timeout_s: float = 10.0
    #: New conversations per client address (per user id for verified customers) per window.
    #: A mobile carrier's or an office's NAT puts many customers behind one address, and in a
    #: market crash they all open the chat within minutes: 120 per hour still stops one host
    #: from flooding the queue (Chatwoot allows 6 per 12 h, which a NAT reaches at once).
    new_conversations_per_ip: int = 120
    new_conversations_window_s: float = 3600.0
    max_events_per_conversation: int = 5000
    #: Messages at least this long are masked in a worker process, not on the event loop
    #: (chatd.service.masking); 0 masks every message inline.
    mask_offload_chars: int = 500
    #: Worker processes for that (started at the first long message).
    mask_workers: int = 1
    #: A masking job running longer than this is abandoned and the message masked whole.
    mask_timeout_s: float = 2.0
    #: Frames queued for one slow client before it is disconnected (4008).
    outbox_frames: int = 512
    hello_timeout_s: float = 15.0


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """Cluster mode (docs/cluster.md): several nodes sharing PostgreSQL and Redis.

    Off while ``redis_url`` is empty: one process, embedded storage, nothing else to run.
    """

    #: "redis://host:6379/0" turns cluster mode on (then [storage] url must be postgresql://).
    redis_url: str = ""
    #: This node's name, unique in the cluster. Empty: "<hostname>-<pid>".
    node_id: str = ""
    #: The dispatcher leader's lease (seconds). A dead leader is replaced after at most this long;
    #: it is renewed every third of it, so one slow renewal never loses it.
    lease_ttl_s: float = 5.0
    #: An agent whose node stops heartbeating is offline after this long (seconds); then the
    #: agent grace period ([queue] agent_grace_s) starts.
    presence_ttl_s: float = 15.0


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """Who may read GET /metrics (Prometheus). It shares the public port with the widget, and
    every scrape counts conversations in the store: not for anyone on the internet."""

    #: Client networks that may scrape without a token (the client address as
    #: ``server.trusted_proxies`` resolves it). Default: this machine only.
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    #: A scraper sending ``Authorization: Bearer <token>`` is let in from anywhere. Empty: taken
    #: from CHATD_METRICS_TOKEN, else no token (only ``allow`` applies).
    token: str = ""


#: What an upload may be, decided from its bytes (chatd.service.attachments).
ATTACHMENT_TYPES = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "application/pdf",
    "text/plain",
)


@dataclass(frozen=True, slots=True)
class AttachmentsConfig:
    """Files customers and agents send in a conversation (chatd.service.attachments)."""

    #: Largest upload in bytes (the part as sent, before re-encoding): larger is 413 too_large.
    max_bytes: int = 10 * 1024 * 1024
    #: Types accepted (a subset of ATTACHMENT_TYPES); anything else is 415 unsupported_type.
    allowed_types: tuple[str, ...] = ATTACHMENT_TYPES
    #: Images with more pixels (width x height x frames) are refused before they are decoded:
    #: a 50 KB PNG can claim 30,000 x 30,000 pixels and need gigabytes once decoded.
    max_pixels: int = 40_000_000
    #: Bytes of attachments one conversation may hold in all.
    conversation_quota_bytes: int = 50 * 1024 * 1024
    #: Uploads per client address: sustained per minute, and at once.
    uploads_per_ip_per_min: float = 20.0
    upload_burst_per_ip: int = 10
    #: Threads decoding and re-encoding images off the event loop (Pillow releases the GIL
    #: while it decodes and encodes, so threads use the cores; each holds one decoded image).
    decode_workers: int = 2
    #: Lifetime of a signed download link (for <img src>, which cannot send a header).
    link_ttl_s: float = 600.0


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = "info"
    #: "auto": console renderer on a TTY, JSON otherwise.
    format: str = "auto"


@dataclass(frozen=True, slots=True)
class EmailConfig:
    """Email follow-up of ticket answers (off while ``smtp_host`` is empty). The SMTP password
    comes from the CHATD_SMTP_PASSWORD environment variable only."""

    smtp_host: str = ""
    smtp_port: int = 25
    from_address: str = ""
    starttls: bool = False
    username: str = ""
    #: The longest wait between two attempts at a mail the SMTP server did not accept.
    max_retry_interval_s: float = 300.0
    #: A staff reply a customer who left an address has not seen this long is mailed (one
    #: digest for every reply meanwhile).
    notify_after_s: float = 300.0


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """One ``[[webhooks]]`` receiver."""

    url: str = ""
    #: Signs every call (``Chatd-Signature``); at least 16 characters.
    secret: str = ""
    #: Event types sent to this receiver; empty: all of them.
    events: tuple[str, ...] = ()
    #: The longest wait between two attempts at a call the receiver did not answer with 2xx.
    max_retry_interval_s: float = 300.0


@dataclass(frozen=True, slots=True)
class CannedReply:
    shortcut: str
    text: str


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    hours: HoursConfig = field(default_factory=HoursConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    log: LogConfig = field(default_factory=LogConfig)
    attachments: AttachmentsConfig = field(default_factory=AttachmentsConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    webhooks: tuple[WebhookConfig, ...] = ()
    canned: tuple[CannedReply, ...] = (
        CannedReply("hello", "Hi, thanks for waiting. I'm looking at your question now."),
        CannedReply("moment", "Thanks, give me a moment to check that for you."),
        CannedReply(
            "secrets",
            "Please never share your password, 2FA code, private key or seed phrase "
            "with anyone, including us.",
        ),
        CannedReply("bye", "Is there anything else I can help you with today?"),
    )

    @property
    def data_path(self) -> Path:
        return Path(self.server.data_dir)

    def storage_url(self) -> str:
        return self.storage.url or str(self.data_path / "chatd.db")

    @property
    def clustered(self) -> bool:
        """True in cluster mode ([cluster] redis_url set)."""
        return bool(self.cluster.redis_url)


_CHOICES: dict[str, tuple[str, ...]] = {
    "log.level": ("debug", "info", "warning", "error"),
    "log.format": ("auto", "json", "console"),
    "storage.synchronous": ("full", "normal"),
}
_POSITIVE = {
    "server.port",
    "limits.max_message_chars",
    "limits.max_frame_bytes",
    "limits.messages_per_s",
    "limits.message_burst",
    "limits.ip_messages_per_s",
    "limits.ip_message_burst",
    "limits.violation_window_s",
    "limits.tcp_connections_per_ip",
    "limits.request_timeout_s",
    "limits.mask_workers",
    "limits.mask_timeout_s",
    "limits.connections_per_ip",
    "limits.new_conversations_per_ip",
    "limits.new_conversations_window_s",
    "limits.max_events_per_conversation",
    "limits.outbox_frames",
    "bot.handoff_after_misses",
    "bot.webhook_timeout_s",
    "queue.update_interval_s",
    "queue.prior_handle_s",
    "security.resume_token_ttl_s",
    "security.session_ttl_s",
    "retention.sweep_interval_s",
    "security.login_failures",
    "security.login_window_s",
    "cluster.lease_ttl_s",
    "cluster.presence_ttl_s",
    "queue.max_wait_s",
    "queue.agent_grace_s",
    "bot.idle_close_s",
    "limits.hello_timeout_s",
    "limits.violations_before_close",
    "server.shutdown_timeout_s",
    "attachments.max_bytes",
    "attachments.max_pixels",
    "attachments.conversation_quota_bytes",
    "attachments.uploads_per_ip_per_min",
    "attachments.upload_burst_per_ip",
    "attachments.decode_workers",
    "attachments.link_ttl_s",
    "email.smtp_port",
    "email.max_retry_interval_s",
    "email.notify_after_s",
}
#: Ageing head starts may be zero (no boost) but not negative.
_NON_NEGATIVE = {
    "queue.urgent_boost_s",
    "queue.vip_boost_s",
    "limits.mask_offload_chars",
    "retention.closed_conversations_days",
    "retention.audit_days",
}
#: A resume-token key shorter than this could be guessed offline from one token.
MIN_SECRET_CHARS = 16


def _coerce(key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        (item_hint, *_rest) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return tuple(_coerce(f"{key}[{i}]", v, item_hint) for i, v in enumerate(value))
    if isinstance(origin, type) and issubclass(origin, types.UnionType):  # pragma: no cover
        raise ConfigError(f"{key}: unsupported type")
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {value!r}")
        return _build(hint, value, key)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{key}: must be a finite number, got {value!r}")
    elif hint is str and not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(f"{key}: must be one of {', '.join(_CHOICES[key])}, got {value!r}")
    if key in _NON_NEGATIVE and value < 0:
        raise ConfigError(f"{key}: must be 0 or more, got {value!r}")
    if key in _POSITIVE and value <= 0:
        raise ConfigError(f"{key}: must be greater than 0, got {value!r}")
    if key == "server.port" and value > 65535:
        raise ConfigError(f"{key}: must be <= 65535, got {value!r}")
    if key.startswith("attachments.allowed_types[") and value not in ATTACHMENT_TYPES:
        raise ConfigError(f"{key}: must be one of {', '.join(ATTACHMENT_TYPES)}, got {value!r}")
    if key.startswith("metrics.allow["):
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ConfigError(
                f"{key}: expected an IP network such as 10.0.0.0/8 or ::1, got {value!r}"
            ) from None
    return value


def _build(cls: Any, table: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in names:
            raise ConfigError(f"{dotted}: unknown setting")
        kwargs[key] = _coerce(dotted, value, hints[key])
    return cls(**kwargs)


def load_config(
    path: str | Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    environ: typing.Mapping[str, str] | None = None,
) -> Config:
    """Read a TOML file (or defaults), apply command-line overrides and environment secrets."""
    table = _read_toml(path) if path is not None else {}
    return _assemble(table, overrides, os.environ if environ is None else environ)


def _read_toml(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file is a directory: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _assemble(
    table: dict[str, Any],
    overrides: dict[str, Any] | None,
    env: typing.Mapping[str, str],
) -> Config:
    for section, values in (overrides or {}).items():
        if isinstance(values, list):  # an array of tables ([[webhooks]]) replaces the file's
            table[section] = values
            continue
        table.setdefault(section, {})
        if not isinstance(table[section], dict):
            raise ConfigError(f"{section}: expected a table")
        table[section].update({k: v for k, v in values.items() if v is not None})
    config: Config = _build(Config, table, "")
    secret = _guessproof(config.security.secret, "security.secret", env, "CHATD_SECRET")
    identity = config.security.identity_secret or env.get("CHATD_IDENTITY_SECRET", "")
    security = dataclasses.replace(config.security, secret=secret, identity_secret=identity)
    token = _guessproof(config.metrics.token, "metrics.token", env, "CHATD_METRICS_TOKEN")
    metrics = dataclasses.replace(config.metrics, token=token)
    config = dataclasses.replace(config, security=security, metrics=metrics)
    _check_cluster(config)
    try:
        config.hours.schedule()
    except ValueError as exc:
        raise ConfigError(f"hours: {exc}") from None
    _check_integrations(config)
    return config


@dataclass(frozen=True, slots=True)
class Origins:
    """Where :func:`locate_config` found the configuration file and the data directory."""

    #: The configuration file read (absolute), or None: defaults only.
    config_file: Path | None
    #: How it was chosen: "--config", "CHATD_CONFIG", "./config.toml", or "" (none).
    config_from: str
    #: How the data directory was chosen, in words: "from --data-dir",
    #: "from [server] data_dir in /etc/chatd/config.toml", "from CHATD_DATA_DIR",
    #: "default: ./chatd-data in the current directory".
    data_from: str

    @property
    def data_dir_is_default(self) -> bool:
        """True when nothing named the data directory (flag, file or variable)."""
        return self.data_from.startswith("default")


def locate_config(
    config_flag: str | None,
    data_dir_flag: str | None,
    *,
    overrides: dict[str, Any] | None = None,
    environ: typing.Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[Config, Origins]:
    """The one rule every ``chatd`` command uses to find its configuration and its data.

    The configuration file: ``--config FILE``, else ``$CHATD_CONFIG``, else ``./config.toml``
    when it exists, else none (defaults). The data directory: ``--data-dir DIR``, else the
    file's ``[server] data_dir`` (relative to the file's own directory, so the same file names
    the same data from anywhere), else ``$CHATD_DATA_DIR``, else ``./chatd-data``; flag,
    variable and default are relative to the current directory. The returned config's
    ``server.data_dir`` is absolute. ``overrides`` are further ``[server]`` settings from the
    command line (None values are ignored).
    """
    env = os.environ if environ is None else environ
    here = Path.cwd() if cwd is None else cwd

    def absolute(raw: str, base: Path) -> Path:
        return Path(os.path.normpath(base / Path(raw).expanduser()))

    config_file: Path | None = None
    config_from = ""
    if config_flag:
        config_file, config_from = absolute(config_flag, here), "--config"
    elif env.get("CHATD_CONFIG"):
        config_file, config_from = absolute(env["CHATD_CONFIG"], here), "CHATD_CONFIG"
    elif (here / "config.toml").is_file():
        config_file, config_from = here / "config.toml", "./config.toml"
    table = _read_toml(config_file) if config_file is not None else {}
    server_table = table.get("server")
    in_file = server_table.get("data_dir") if isinstance(server_table, dict) else None
    if data_dir_flag:
        data_dir, data_from = absolute(data_dir_flag, here), "from --data-dir"
    elif isinstance(in_file, str) and in_file and config_file is not None:
        data_dir = absolute(in_file, config_file.parent)
        data_from = f"from [server] data_dir in {config_file}"
    elif env.get("CHATD_DATA_DIR"):
        data_dir, data_from = absolute(env["CHATD_DATA_DIR"], here), "from CHATD_DATA_DIR"
    else:
        data_dir = absolute(DEFAULT_DATA_DIR, here)
        data_from = f"default: {DEFAULT_DATA_DIR} in the current directory"
    # A data_dir of the wrong type in the file stays in place for _build to report by its key.
    if in_file is None or isinstance(in_file, str) or data_dir_flag:
        overrides = {**(overrides or {}), "data_dir": str(data_dir)}
    config = _assemble(table, {"server": overrides or {}}, env)
    return config, Origins(config_file, config_from, data_from)


def _guessproof(value: str, key: str, env: typing.Mapping[str, str], variable: str) -> str:
    """A secret from the file, else from the environment; one too short to resist guessing is
    a configuration error naming where it came from (empty: not set)."""
    secret = value or env.get(variable, "")
    if secret and len(secret) < MIN_SECRET_CHARS:
        raise ConfigError(
            f"{key if value else variable}: must be at least {MIN_SECRET_CHARS} characters"
        )
    return secret


def _check_cluster(config: Config) -> None:
    """Cluster mode shares state through Redis and PostgreSQL: a node-local store cannot work."""
    redis_url = config.cluster.redis_url
    if not redis_url:
        return
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"cluster.redis_url: expected redis://..., got {redis_url!r}")
    if not config.storage.url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            "storage.url: cluster mode ([cluster] redis_url is set) needs a shared "
            f"postgresql://... store, got {config.storage.url or '(embedded SQLite)'!r}"
        )
    if not config.security.secret:
        # A per-node generated secret would make a resume token from one node useless on the
        # next: a customer whose node died could not come back.
        raise ConfigError(
            "security.secret: cluster mode needs the same secret on every node "
            "(set it, or the CHATD_SECRET environment variable)"
        )


def _check_integrations(config: Config) -> None:
    """Email needs a sender and a base for its links; each webhook a url, a secret and known
    event types."""
    from chatd.domain.delivery import WEBHOOK_EVENTS, is_email_address

    public_url = config.server.public_url
    if public_url and not public_url.startswith(("http://", "https://")):
        raise ConfigError(f"server.public_url: expected http(s)://..., got {public_url!r}")
    email = config.email
    if email.smtp_host:
        if not is_email_address(email.from_address):
            raise ConfigError(
                f"email.from_address: expected an email address, got {email.from_address!r}"
            )
        if not public_url:
            raise ConfigError("server.public_url: needed for the links in emails ([email])")
    for i, hook in enumerate(config.webhooks):
        key = f"webhooks[{i}]"
        if not hook.url.startswith(("http://", "https://")):
            raise ConfigError(f"{key}.url: expected http(s)://..., got {hook.url!r}")
        if len(hook.secret) < MIN_SECRET_CHARS:
            raise ConfigError(f"{key}.secret: must be at least {MIN_SECRET_CHARS} characters")
        for event in hook.events:
            if event not in WEBHOOK_EVENTS:
                raise ConfigError(
                    f"{key}.events: unknown event type {event!r} "
                    f"(one of {', '.join(WEBHOOK_EVENTS)})"
                )
        if not hook.max_retry_interval_s > 0:
            raise ConfigError(
                f"{key}.max_retry_interval_s: must be greater than 0, "
                f"got {hook.max_retry_interval_s!r}"
            )
    urls = [hook.url for hook in config.webhooks]
    if len(set(urls)) != len(urls):
        raise ConfigError("webhooks: each receiver's url must be listed once")
