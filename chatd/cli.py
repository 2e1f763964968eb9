"""The `chatd` command line: serve, agents, transcripts, bench, simulate.

Exit codes: 0 success, 1 a runtime failure (printed), 2 bad usage or configuration (the message
names the key).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from chatd.config import Config, ConfigError, load_config

__all__ = ["main"]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    parser.add_argument(
        "--data-dir", metavar="DIR", help="where the embedded store lives (default ./chatd-data)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatd", description=__doc__.splitlines()[0])
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
    add.add_argument("--role", choices=("agent", "operator"), default="agent")
    add.add_argument("--languages", default="en", help="comma-separated, e.g. en,zh")
    add.add_argument("--skills", default="", help="comma-separated routing skills, e.g. api,kyc")
    add.add_argument("--capacity", type=int, default=3, help="concurrent chats (default 3)")
    lst = agents_sub.add_parser("list", help="list accounts")
    _common(lst)
    rm = agents_sub.add_parser("remove", help="delete an account (its token stops working)")
    _common(rm)
    rm.add_argument("name")

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

    from chatd.bench.cli import add_bench_parser
    from chatd.sim.cli import add_simulate_parser

    add_bench_parser(sub)
    add_simulate_parser(sub)
    return parser


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status")
    parser.add_argument("--agent-id")
    parser.add_argument("--intent")
    parser.add_argument("--since", help="ISO date/time (UTC)")
    parser.add_argument("--until", help="ISO date/time (UTC)")
    parser.add_argument("--text", help="substring of any message")
    parser.add_argument("--limit", type=int, default=100)


def _config(args: argparse.Namespace, **server: Any) -> Config:
    overrides = {"server": {"data_dir": args.data_dir, **server}}
    return load_config(args.config, overrides=overrides)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            config = _config(args, host=args.host, port=args.port)
            if args.workers < 1:
                print("chatd: --workers must be at least 1", file=sys.stderr)
                return 2
            if args.workers > 1:
                if not config.clustered:
                    print(
                        "chatd: --workers > 1 needs cluster mode: the workers share state "
                        "through [cluster] redis_url and a postgresql:// [storage] url "
                        "(see README, Cluster mode)",
                        file=sys.stderr,
                    )
                    return 2
                return serve_workers(args.workers, argv)
            return serve(config, reuse_port=bool(os.environ.get("CHATD_WORKER")))
        if args.command == "bench":
            from chatd.bench.cli import run_bench

            return run_bench(args)
        if args.command == "simulate":
            from chatd.sim.cli import run_simulate

            return run_simulate(args)
        config = _config(args)
        if args.command == "agents":
            return asyncio.run(agents_command(args, config))
        return asyncio.run(transcripts_command(args, config))
    except ConfigError as exc:
        print(f"chatd: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def serve(config: Config, *, reuse_port: bool = False) -> int:
    """Run until SIGTERM/SIGINT; then close sockets with 1001, flush the store, exit 0."""
    from chatd.logs import configure_logging
    from chatd.web import make_app
    from chatd.web.serving import ListenError, serve_forever

    configure_logging(config.log.level, config.log.format)
    app = make_app(config)
    try:
        asyncio.run(serve_forever(app, config, reuse_port=reuse_port))
    except ListenError as exc:
        print(f"chatd: {exc}", file=sys.stderr)
        return 2
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


async def _store(config: Config) -> Any:
    from chatd.store import open_store

    config.data_path.mkdir(parents=True, exist_ok=True)
    store = open_store(config.storage_url(), synchronous=config.storage.synchronous)
    await store.open()
    return store


def _csv_list(raw: str) -> tuple[str, ...]:
    return tuple(sorted({part.strip().lower() for part in raw.split(",") if part.strip()}))


async def agents_command(args: argparse.Namespace, config: Config) -> int:
    from chatd.auth import hash_token, new_agent_token
    from chatd.store.base import AgentRecord, DuplicateError

    store = await _store(config)
    try:
        if args.agents_command == "add":
            if not 1 <= args.capacity <= 50:
                print("chatd: --capacity must be between 1 and 50", file=sys.stderr)
                return 2
            name = args.name.strip()
            if not name or len(name) > 64:
                print("chatd: the name must be 1-64 characters", file=sys.stderr)
                return 2
            agent_id = "ag_" + uuid.uuid4().hex[:12]
            token = new_agent_token(agent_id)
            record = AgentRecord(
                agent_id=agent_id,
                name=name,
                role=args.role,
                token_hash=hash_token(token),
                languages=_csv_list(args.languages) or ("en",),
                skills=_csv_list(args.skills),
                capacity=args.capacity,
                created_at=time.time(),
            )
            try:
                await store.add_agent(record)
            except DuplicateError:
                print(f"chatd: an account named {name!r} exists already", file=sys.stderr)
                return 1
            print(f"created {args.role} {name} ({agent_id})")
            print("The token is shown only this once; keep it like a password:")
            print(f"token: {token}")
            return 0
        if args.agents_command == "list":
            for a in await store.list_agents():
                print(
                    f"{a.agent_id}  {a.name:<20} {a.role:<8} capacity={a.capacity} "
                    f"languages={','.join(a.languages)} skills={','.join(a.skills) or '-'}"
                )
            return 0
        record = await store.get_agent_by_name(args.name)
        if record is None or not await store.remove_agent(record.agent_id):
            print(f"chatd: no account named {args.name!r}", file=sys.stderr)
            return 1
        print(f"removed {record.name} ({record.agent_id})")
        return 0
    finally:
        await store.close()


def _iso_arg(value: str | None, name: str) -> float | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--{name}: expected an ISO date/time, got {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


async def transcripts_command(args: argparse.Namespace, config: Config) -> int:
    from chatd.service.export import CSV_COLUMNS, csv_row, jsonl_line
    from chatd.store.base import ConversationFilter

    store = await _store(config)
    try:
        if args.transcripts_command == "show":
            conv = await store.get_conversation(args.conversation_id)
            if conv is None:
                print(f"chatd: no conversation {args.conversation_id}", file=sys.stderr)
                return 1
            for e in await store.events(conv.conversation_id):
                stamp = dt.datetime.fromtimestamp(e.ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
                who = e.author_name or e.author
                note = " (internal)" if e.internal else ""
                extra = f" {json.dumps(dict(e.data), ensure_ascii=False)}" if e.data else ""
                print(f"#{e.seq:<4} {stamp} {e.kind:<14} {who}{note}: {e.text or ''}{extra}")
            return 0
        flt = ConversationFilter(
            status=args.status,
            agent_id=args.agent_id,
            intent=args.intent,
            since=_iso_arg(args.since, "since"),
            until=_iso_arg(args.until, "until"),
            text=args.text,
            limit=args.limit,
        )
        found = await store.list_conversations(flt)
        if args.transcripts_command == "list":
            for c in found:
                stamp = dt.datetime.fromtimestamp(c.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M")
                print(
                    f"{c.conversation_id}  {stamp}  {c.status:<8} {c.locale}  "
                    f"intent={c.intent or '-'} agent={c.agent_id or '-'} csat={c.csat_score or '-'}"
                )
            return 0
        # A CLI writing its own output file: blocking I/O is what the user waits for anyway.
        out = open(args.output, "w", newline="") if args.output else sys.stdout  # noqa: ASYNC230
        try:
            writer = csv.writer(out) if args.format == "csv" else None
            if writer is not None:
                writer.writerow(CSV_COLUMNS)
            for c in found:
                for e in await store.events(c.conversation_id):
                    if writer is not None:
                        writer.writerow(csv_row(e))
                    else:
                        out.write(jsonl_line(e))
        finally:
            if out is not sys.stdout:
                out.close()
        return 0
    finally:
        await store.close()
