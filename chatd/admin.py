"""`chatd agents ...` and `chatd transcripts ...`: the admin commands, on the server's store.

Every command finds its store by the same rule as ``chatd serve``
(:func:`chatd.config.locate_config`) and says on stderr which store it opened, so stdout stays
the data (``chatd transcripts export | gzip``). A command never creates an empty store where the
user expected the server's: ``agents list``/``remove`` and every ``transcripts`` command refuse
(exit 2, one line) when there is none; ``agents add`` creates one only in a data directory the
user named (flag, file or variable), not at the default, where a missing store almost always
means "the server runs with another --data-dir".
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import getpass
import json
import shlex
import sys
import time
import uuid
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

from chatd.config import Config, Origins
from chatd.domain.languages import parse_languages
from chatd.passwords import MAX_PASSWORD_CHARS, check_password_rules
from chatd.store.base import ConversationFilter, ConversationRecord, Store

__all__ = [
    "MAX_LIMIT",
    "MAX_TEXT_CHARS",
    "StoreMissing",
    "agents_command",
    "bounded_limit",
    "customers_command",
    "iso_time",
    "open_admin_store",
    "store_description",
    "tokens_command",
    "transcripts_command",
]

#: `--limit` accepts 1..MAX_LIMIT conversations (the records are held in memory at once).
MAX_LIMIT = 1_000_000
#: `--text` is matched against every message: as bounded as the HTTP API's ``q``.
MAX_TEXT_CHARS = 200
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_SQLITE_PREFIX = "sqlite:///"
_ISO_EXAMPLE = "an ISO 8601 date or date-time such as 2026-11-01 or 2026-11-01T08:30"


class StoreMissing(Exception):
    """The command would create an empty store where the server's was expected (one line)."""


def iso_time(value: str) -> float:
    """argparse type of --since/--until: an ISO 8601 date or date-time, UTC unless it says."""
    # fromisoformat is linear in its input; the bound keeps a pasted novel out of the message.
    if len(value) > 40:
        raise argparse.ArgumentTypeError(f"expected {_ISO_EXAMPLE}, got a {len(value)}-char text")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {_ISO_EXAMPLE} (UTC unless it has an offset), got {value!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def bounded_limit(value: str) -> int:
    """argparse type of --limit: a whole number of conversations, 1..MAX_LIMIT."""
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {MAX_LIMIT}")
    return limit


def _sqlite_path(config: Config) -> Path | None:
    """The SQLite file the configuration names, or None for PostgreSQL."""
    url = config.storage_url()
    if url.startswith(_POSTGRES_SCHEMES):
        return None
    return Path(url.removeprefix(_SQLITE_PREFIX)).absolute()


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def store_description(config: Config, origins: Origins) -> str:
    """Which store and why, e.g. ``/srv/chatd/chatd.db (data dir from --data-dir)``."""
    path = _sqlite_path(config)
    if config.storage.url:
        where = f"in {origins.config_file}" if origins.config_file else "from the command line"
        return f"{_without_password(str(path or config.storage.url))} ([storage] url {where})"
    return f"{path} (data dir {origins.data_from})"


async def open_admin_store(config: Config, origins: Origins, *, create: bool) -> Store:
    """Open the store the server uses, saying which on stderr; StoreMissing rather than
    creating an empty one, unless ``create`` and the user named where the data lives."""
    from chatd.store import open_store

    path = _sqlite_path(config)
    new = path is not None and not path.exists()
    if path is not None and new:
        named = bool(config.storage.url) or not origins.data_dir_is_default
        if not (create and named):
            hint = "point --data-dir or --config at the server's data (chatd serve prints it)"
            if create:
                hint += f", or pass --data-dir {path.parent} to start a new store there"
            raise StoreMissing(f"no store at {store_description(config, origins)}; {hint}")
    print(f"store: {'new, ' if new else ''}{store_description(config, origins)}", file=sys.stderr)
    store = open_store(config.storage_url(), synchronous=config.storage.synchronous)
    await store.open()
    return store


def _csv_list(raw: str) -> tuple[str, ...]:
    return tuple(sorted({part.strip().lower() for part in raw.split(",") if part.strip()}))


async def agents_command(args: argparse.Namespace, config: Config, origins: Origins) -> int:
    """`chatd agents add|list|remove|password|totp`."""
    from chatd.auth import hash_token, new_agent_token
    from chatd.passwords import hash_password, new_totp_secret, totp_uri
    from chatd.store.base import AgentRecord, DuplicateError

    adding = args.agents_command == "add"
    if adding:
        # Checked before the store is opened (or created) for nothing.
        if not 1 <= args.capacity <= 50:
            print("chatd: --capacity must be between 1 and 50", file=sys.stderr)
            return 2
        name = args.name.strip()
        if not name or len(name) > 64:
            print("chatd: the name must be 1-64 characters", file=sys.stderr)
            return 2
        try:
            languages = parse_languages(args.languages)
        except ValueError as exc:
            print(f"chatd: --languages: {exc}", file=sys.stderr)
            return 2
    password: str | None = None
    if getattr(args, "password_stdin", False):
        password = _read_password()
        if password is None:
            return 2
    store = await open_admin_store(config, origins, create=adding)
    try:
        if adding:
            agent_id = "ag_" + uuid.uuid4().hex[:12]
            token = new_agent_token(agent_id)
            record = AgentRecord(
                agent_id=agent_id,
                name=name,
                role=args.role,
                # A password account has no static token ("" matches no token).
                token_hash=hash_token(token) if password is None else "",
                languages=languages,
                skills=_csv_list(args.skills),
                capacity=args.capacity,
                created_at=time.time(),
            )
            try:
                await store.add_agent(record)
            except DuplicateError:
                print(f"chatd: an account named {name!r} exists already", file=sys.stderr)
                return 1
            await _audit(store, "account.created", agent_id)
            print(f"created {args.role} {name} ({agent_id})")
            if password is not None:
                await store.accounts.set_password(agent_id, hash_password(password))
                print("It signs in with its name and password at /console or /ops.")
                print(f"Two-factor sign-in: chatd agents totp {shlex.quote(name)}")
                return 0
            print("The token is shown only this once; keep it like a password:")
            print(f"token: {token}")
            return 0
        if args.agents_command == "list":
            agents = await store.list_agents()
            if not agents:
                print("no accounts yet: chatd agents add NAME --role operator", file=sys.stderr)
            for a in agents:
                print(
                    f"{a.agent_id}  {a.name:<20} {a.role:<8} capacity={a.capacity} "
                    f"languages={','.join(a.languages)} skills={','.join(a.skills) or '-'}"
                )
            return 0
        found = await store.get_agent_by_name(args.name)
        if found is None:
            print(f"chatd: no account named {args.name!r}", file=sys.stderr)
            return 1
        if args.agents_command == "password":
            assert password is not None  # --password-stdin is required by the parser
            await store.accounts.set_password(found.agent_id, hash_password(password))
            await store.accounts.delete_sessions(agent_id=found.agent_id)
            await _audit(store, "password.set", found.agent_id)
            print(f"password set for {found.name}; its earlier sign-ins are ended")
            return 0
        if args.agents_command == "totp":
            secret = new_totp_secret()
            await store.accounts.set_totp(found.agent_id, secret)
            await _audit(store, "totp.enrolled", found.agent_id)
            print(f"TOTP enrolled for {found.name}; from now on its sign-in needs the code.")
            print("Add this to an authenticator app (shown only this once; a QR code of it works):")
            print(totp_uri(secret, found.name))
            return 0
        if not await store.remove_agent(found.agent_id):
            print(f"chatd: no account named {args.name!r}", file=sys.stderr)
            return 1
        await store.accounts.delete_sessions(agent_id=found.agent_id)
        await _audit(store, "account.removed", found.agent_id)
        print(f"removed {found.name} ({found.agent_id})")
        return 0
    finally:
        await store.close()


async def customers_command(args: argparse.Namespace, config: Config, origins: Origins) -> int:
    """`chatd customers erase|export --user-id ID | --conversation-id ID` (both audited)."""
    from chatd.service.chat import blob_store_for
    from chatd.service.retention import Retention

    for flag, value in (("--user-id", args.user_id), ("--conversation-id", args.conversation_id)):
        if value is not None and not 1 <= len(value) <= 128:
            print(f"chatd: {flag} must be 1-128 characters", file=sys.stderr)
            return 2
    store = await open_admin_store(config, origins, create=False)
    try:
        retention = Retention(
            store=store, config=config.retention, blobs=blob_store_for(config, store)
        )
        who = {"user_id": args.user_id, "conversation_id": args.conversation_id}
        actor = f"cli:{getpass.getuser()}"
        if args.customers_command == "export":
            data = await retention.export(**who, actor=actor)
            if not data["conversations"]:
                print("chatd: no conversations match", file=sys.stderr)
            print(json.dumps(data, ensure_ascii=False, indent=1))
            return 0
        erased = await retention.erase(**who, actor=actor)
        print(f"erased {erased.conversations} conversations ({erased.events} events)")
        if erased.left_open:
            print(
                f"chatd: {len(erased.left_open)} still open, not erased (close them, then run "
                f"this again): {', '.join(erased.left_open)}",
                file=sys.stderr,
            )
            return 1
        return 0
    finally:
        await store.close()


async def tokens_command(args: argparse.Namespace, config: Config, origins: Origins) -> int:
    """`chatd tokens create NAME --scope ...|list|revoke NAME` (create and revoke audited)."""
    from chatd.domain.roles import SCOPES
    from chatd.passwords import new_api_token, token_digest
    from chatd.store.accounts import ApiToken

    creating = args.tokens_command == "create"
    if creating:
        name = args.name.strip()
        scopes = tuple(sorted({s.strip() for s in args.scope.split(",") if s.strip()}))
        unknown = [s for s in scopes if s not in SCOPES]
        if not 1 <= len(name) <= 64 or not name.replace("-", "").replace("_", "").isalnum():
            print("chatd: a token name is 1-64 letters, digits, - or _", file=sys.stderr)
            return 2
        if unknown or not scopes:
            print(f"chatd: --scope: use {', '.join(SCOPES)}", file=sys.stderr)
            return 2
    store = await open_admin_store(config, origins, create=False)
    try:
        if creating:
            token = new_api_token()
            record = ApiToken(name=name, scopes=scopes, created_at=time.time())
            if not await store.accounts.add_token(token_digest(token), record):
                print(f"chatd: a token named {name!r} exists already", file=sys.stderr)
                return 1
            await _audit(store, "token.created", f"{name} ({','.join(scopes)})")
            print(f"created token {name} with {', '.join(scopes)}")
            print("The token is shown only this once; keep it like a password:")
            print(f"token: {token}")
            return 0
        if args.tokens_command == "list":
            found = await store.accounts.tokens()
            if not found:
                print("no tokens yet: chatd tokens create NAME --scope ...", file=sys.stderr)
            for t in found:
                print(f"{t.name:<24} {','.join(t.scopes)}")
            return 0
        if not await store.accounts.remove_token(args.name):
            print(f"chatd: no token named {args.name!r}", file=sys.stderr)
            return 1
        await _audit(store, "token.revoked", args.name)
        print(f"revoked {args.name}")
        return 0
    finally:
        await store.close()


def _read_password() -> str | None:
    """One line of standard input as a password (its line ending dropped), or None after
    saying why it is not acceptable."""
    line = sys.stdin.readline(MAX_PASSWORD_CHARS + 2)
    password = line[:-1] if line.endswith("\n") else line
    password = password[:-1] if password.endswith("\r") else password
    problem = check_password_rules(password)
    if problem is not None:
        print(f"chatd: --password-stdin: {problem}", file=sys.stderr)
        return None
    return password


async def _audit(store: Store, action: str, target: str) -> None:
    """An audit entry for an admin command, by the operating-system user who ran it."""
    from chatd.store.accounts import AuditEntry

    actor = f"cli:{getpass.getuser()}"
    await store.accounts.add_audit(
        AuditEntry(ts=time.time(), actor=actor, action=action, target=target)
    )


def _filter(args: argparse.Namespace) -> ConversationFilter | str:
    """The search the flags describe, or a one-line complaint about them."""
    if args.text is not None and len(args.text) > MAX_TEXT_CHARS:
        return f"--text: at most {MAX_TEXT_CHARS} characters"
    if args.since is not None and args.until is not None and args.since >= args.until:
        return "--since must be earlier than --until"
    return ConversationFilter(
        status=args.status,
        agent_id=args.agent_id,
        intent=args.intent,
        since=args.since,
        until=args.until,
        text=args.text,
        limit=args.limit,
    )


async def transcripts_command(args: argparse.Namespace, config: Config, origins: Origins) -> int:
    """`chatd transcripts list|show|export`."""
    flt = _filter(args) if args.transcripts_command != "show" else None
    if isinstance(flt, str):
        print(f"chatd: {flt}", file=sys.stderr)
        return 2
    store = await open_admin_store(config, origins, create=False)
    try:
        if flt is None:
            return await _show(store, args.conversation_id)
        found = await store.list_conversations(flt)
        if not found:
            print("no conversations match", file=sys.stderr)
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
            await _export(store, found, args.format, out)
        finally:
            if out is not sys.stdout:
                out.close()
        return 0
    finally:
        await store.close()


async def _show(store: Store, conversation_id: str) -> int:
    conv = await store.get_conversation(conversation_id)
    if conv is None:
        print(f"chatd: no conversation {conversation_id}", file=sys.stderr)
        return 1
    for e in await store.events(conv.conversation_id):
        stamp = dt.datetime.fromtimestamp(e.ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        who = e.author_name or e.author
        note = " (internal)" if e.internal else ""
        extra = f" {json.dumps(dict(e.data), ensure_ascii=False)}" if e.data else ""
        print(f"#{e.seq:<4} {stamp} {e.kind:<14} {who}{note}: {e.text or ''}{extra}")
    return 0


async def _export(store: Store, found: list[ConversationRecord], fmt: str, out: TextIO) -> None:
    from chatd.service.export import CSV_COLUMNS, csv_row, jsonl_line

    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    for c in found:
        for e in await store.events(c.conversation_id):
            if writer is not None:
                writer.writerow(csv_row(e))
            else:
                out.write(jsonl_line(e))
