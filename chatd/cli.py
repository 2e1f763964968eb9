"""The `chatd` command line: serve, agents, transcripts, bench, simulate.

Every command finds its configuration and data by one rule (:func:`chatd.config.locate_config`):
``--config``, else ``$CHATD_CONFIG``, else ``./config.toml``; ``--data-dir``, else the file's
``[server] data_dir``, else ``$CHATD_DATA_DIR``, else ``./chatd-data``. ``serve`` prints what it
found at start; the admin commands (:mod:`chatd.admin`) print which store they opened.

Exit codes: 0 success, 1 a runtime failure (printed), 2 bad usage or configuration (one line
naming the flag or key), 141 when the reader of our output went away (``| head``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from chatd.admin import (
    StoreMissing,
    agents_command,
    bounded_limit,
    customers_command,
    iso_time,
    store_description,
    tokens_command,
    transcripts_command,
)
from chatd.config import Config, ConfigError, Origins, locate_config
from chatd.domain.roles import ROLES, SCOPES
from chatd.store.base import STATUSES, StoreError

__all__ = ["main", "serve"]

#: What a shell reports for a writer killed by SIGPIPE (128 + 13): `chatd ... | head` exits so.
EXIT_BROKEN_PIPE = 141


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line naming the flag (no usage dump above it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}; see {self.prog} --help\n")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TOML configuration file (default: $CHATD_CONFIG, else ./config.toml if present)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the embedded store lives (default: the config file's [server] data_dir, "
        "else $CHATD_DATA_DIR, else ./chatd-data)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="chatd", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the chat server")
    _common(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run N server processes sharing the port (needs [cluster] configuration)",
    )

    agents = sub.add_parser("agents", help="manage agent and operator accounts")
    agents_sub = agents.add_subparsers(dest="agents_command", required=True)
    add = agents_sub.add_parser("add", help="create an account and print its token once")
    _common(add)
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--languages", default="en", help="comma-separated, e.g. en,zh")
    add.add_argument("--skills", default="", help="comma-separated routing skills, e.g. api,kyc")
    add.add_argument("--capacity", type=int, default=3, help="concurrent chats (default 3)")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="sign in with a password read as one line from standard input (no token printed)",
    )
    lst = agents_sub.add_parser("list", help="list accounts")
    _common(lst)
    rm = agents_sub.add_parser("remove", help="delete an account (its token stops working)")
    _common(rm)
    rm.add_argument("name")
    pw = agents_sub.add_parser(
        "password", help="set an account's password (one line on standard input)"
    )
    _common(pw)
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true", required=True)
    totp = agents_sub.add_parser(
        "totp", help="enrol two-factor sign-in (TOTP) and print its otpauth:// URI once"
    )
    _common(totp)
    totp.add_argument("name")

    tr = sub.add_parser("transcripts", help="read conversations")
    tr_sub = tr.add_subparsers(dest="transcripts_command", required=True)
    tl = tr_sub.add_parser("list", help="list conversations, newest first")
    _common(tl)
    _filters(tl)
    show = tr_sub.add_parser("show", help="print one conversation's events")
    _common(show)
    show.add_argument("conversation_id")
    exp = tr_sub.add_parser("export", help="export events of conversations as JSONL or CSV")
    _common(exp)
    _filters(exp)
    exp.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    exp.add_argument("--output", "-o", help="file to write (default stdout)")

    tk = sub.add_parser("tokens", help="integration tokens for the exchange's own systems")
    tk_sub = tk.add_subparsers(dest="tokens_command", required=True)
    tc = tk_sub.add_parser("create", help="create a token and print it once")
    _common(tc)
    tc.add_argument("name")
    tc.add_argument(
        "--scope",
        required=True,
        help=f"comma-separated: {', '.join(SCOPES)}",
    )
    tl = tk_sub.add_parser("list", help="list tokens (names and scopes)")
    _common(tl)
    tr_ = tk_sub.add_parser("revoke", help="revoke a token (it stops working at once)")
    _common(tr_)
    tr_.add_argument("name")

    cu = sub.add_parser("customers", help="erase or export one customer's data (audited)")
    cu_sub = cu.add_subparsers(dest="customers_command", required=True)
    for verb, what in (
        ("erase", "delete a customer's conversations, events, tickets and attachments"),
        ("export", "print a customer's conversations with every event as JSON"),
    ):
        cmd = cu_sub.add_parser(verb, help=what)
        _common(cmd)
        who = cmd.add_mutually_exclusive_group(required=True)
        who.add_argument("--user-id", help="the verified user id the host site passed")
        who.add_argument("--conversation-id", help="one conversation")

    from chatd.bench.cli import add_bench_parser
    from chatd.sim.cli import add_simulate_parser

    add_bench_parser(sub)
    add_simulate_parser(sub)
    return parser


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=STATUSES)
    parser.add_argument("--agent-id")
    parser.add_argument("--intent")
    when = "ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T08:30 (UTC unless it says)"
    parser.add_argument(
        "--since", type=iso_time, metavar="WHEN", help=f"created at or after: {when}"
    )
    parser.add_argument("--until", type=iso_time, metavar="WHEN", help=f"created before: {when}")
    parser.add_argument("--text", help="substring of any message")
    parser.add_argument("--limit", type=bounded_limit, default=100, help="at most (default 100)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `chatd` command line; returns the exit code (see the module docstring)."""
    args = build_parser().parse_args(argv)
    try:
        code = _run(args, argv)
        # Our output may sit in the buffer: a reader that went away must surface here, not as
        # "Exception ignored" at interpreter exit.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # `chatd transcripts export | head`: the reader has what it wanted. Stop without a
        # traceback, like other Unix tools, and keep the exit-time flush from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    try:
        if args.command == "bench":
            from chatd.bench.cli import run_bench

            return run_bench(args)
        if args.command == "simulate":
            from chatd.sim.cli import run_simulate

            return run_simulate(args)
        server = {"host": args.host, "port": args.port} if args.command == "serve" else {}
        config, origins = locate_config(args.config, args.data_dir, overrides=server)
        if args.command == "serve":
            return _serve_command(args, argv, config, origins)
        from chatd.logs import configure_logging

        # Warnings only (a store file's mode tightened), on stderr: stdout is the command's data.
        configure_logging("warning", config.log.format)
        if args.command == "agents":
            return asyncio.run(agents_command(args, config, origins))
        if args.command == "customers":
            return asyncio.run(customers_command(args, config, origins))
        if args.command == "tokens":
            return asyncio.run(tokens_command(args, config, origins))
        return asyncio.run(transcripts_command(args, config, origins))
    except ConfigError as exc:
        print(f"chatd: configuration error: {exc}", file=sys.stderr)
        return 2
    except StoreMissing as exc:
        print(f"chatd: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"chatd: store error: {exc}", file=sys.stderr)
        return 1


def _serve_command(
    args: argparse.Namespace, argv: Sequence[str] | None, config: Config, origins: Origins
) -> int:
    worker = bool(os.environ.get("CHATD_WORKER"))
    if args.workers < 1:
        print("chatd: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers == 1:
        # The parent of --workers said where the data is; its workers need not repeat it.
        return serve(config, reuse_port=worker, origins=None if worker else origins)
    if not config.clustered:
        print(
            "chatd: --workers > 1 needs cluster mode: the workers share state "
            "through [cluster] redis_url and a postgresql:// [storage] url "
            "(see README, Cluster mode)",
            file=sys.stderr,
        )
        return 2
    from chatd.web.serving import listen_sockets

    try:
        # The workers bind with SO_REUSEPORT; a port held by anything else fails here, once.
        for sock in listen_sockets(config.server.host, config.server.port, reuse_port=True):
            sock.close()
    except OSError as exc:
        print(_cannot_listen(config, exc), file=sys.stderr)
        return 2
    _print_origins(config, origins)
    return serve_workers(args.workers, argv)


def _cannot_listen(config: Config, exc: OSError) -> str:
    host, port = config.server.host, config.server.port
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    reason = (exc.strerror or str(exc)).lower()
    return f"chatd: cannot listen on {where}: {reason}"


def _print_origins(config: Config, origins: Origins) -> None:
    """The first lines of `chatd serve`: which configuration file and which data it uses."""
    if origins.config_file is not None:
        print(f"config: {origins.config_file} (from {origins.config_from})", file=sys.stderr)
    else:
        print(
            "config: none, defaults (no --config, CHATD_CONFIG or ./config.toml)", file=sys.stderr
        )
    print(f"data: {config.server.data_dir} ({origins.data_from})", file=sys.stderr)
    if config.storage.url:
        print(f"store: {store_description(config, origins)}", file=sys.stderr)


def serve(config: Config, *, reuse_port: bool = False, origins: Origins | None = None) -> int:
    """Run until SIGTERM/SIGINT; then close sockets with 1001, flush the store, exit 0.

    A port that cannot be bound is one line on stderr and exit 2, before anything starts.
    ``origins``: print where the configuration and the data come from first.
    """
    from chatd.logs import configure_logging
    from chatd.web import make_app
    from chatd.web.serving import listen_sockets, serve_forever

    try:
        sockets = listen_sockets(config.server.host, config.server.port, reuse_port=reuse_port)
    except OSError as exc:
        print(_cannot_listen(config, exc), file=sys.stderr)
        return 2
    if origins is not None:
        _print_origins(config, origins)
    configure_logging(config.log.level, config.log.format)
    app = make_app(config)
    asyncio.run(serve_forever(app, config, sockets))
    return 0


def serve_workers(workers: int, argv: Sequence[str] | None) -> int:
    """Start ``workers`` copies of this command sharing the port (SO_REUSEPORT); supervise them.

    SIGTERM/SIGINT are forwarded to every worker; the parent exits 0 once all exited 0. A worker
    that dies on its own stops the others and the parent exits 1, so the service manager
    restarts the whole set (a half-sized cluster node is worse than a restart).
    """
    import signal
    import subprocess

    args = list(sys.argv[1:] if argv is None else argv)
    child_args = _without_workers(args)
    procs = []
    for index in range(workers):
        env = {**os.environ, "CHATD_WORKER": str(index)}
        procs.append(subprocess.Popen([sys.executable, "-m", "chatd", *child_args], env=env))
    stopping = False

    def forward(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    failed = False
    while any(proc.poll() is None for proc in procs):
        time.sleep(0.2)
        if not stopping and any(proc.returncode not in (None, 0) for proc in procs):
            failed = True
            print("chatd: a worker died; stopping the others", file=sys.stderr)
            forward(signal.SIGTERM, None)
    codes = [proc.returncode for proc in procs]
    return 0 if not failed and all(code == 0 for code in codes) else 1


def _without_workers(args: list[str]) -> list[str]:
    """The command line minus ``--workers N`` / ``--workers=N`` (for the worker processes)."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return out
