"""Staff sign-in and the audit trail in the store: passwords, TOTP, sessions, audit entries.

The SQL is written once, with ``?`` placeholders, in :class:`Accounts`; each backend hands it a
:class:`SQLRunner` (its own read and write paths; PostgreSQL numbers the placeholders with
:func:`numbered`) and exposes it as ``store.accounts``.

What is kept:

* ``agents.password_hash``: an argon2id PHC string (chatd.passwords), NULL for token-only accounts;
  ``agents.totp_secret`` (base32, NULL until enrolled) and ``agents.totp_step`` (the last time step
  a code was accepted for, so a code works once).
* ``sessions``: SHA-256 of the session token (never the token), its account, creation and expiry.
* ``audit``: who did what to what, from where, when. Sign-in throttling counts ``login_failed``
  entries, so it holds across nodes and restarts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "AUDIT_ACTIONS",
    "AccountSecrets",
    "AccountStore",
    "Accounts",
    "ApiToken",
    "AuditEntry",
    "AuditFilter",
    "SQLRunner",
    "SessionRecord",
    "affected_rows",
    "numbered",
]

#: Every action the audit trail records (the contract's list, plus sign-in housekeeping).
AUDIT_ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "transcript.read",
    "export",
    "account.created",
    "account.removed",
    "password.set",
    "totp.enrolled",
    "token.created",
    "token.revoked",
    "message.posted",
    "attachment.read",
    "erasure",
    "delivery.retried",
    "delivery.dropped",
)


@dataclass(frozen=True, slots=True)
class AccountSecrets:
    """What signing in with a password checks. Never leaves the staff part of the service."""

    password_hash: str | None
    totp_secret: str | None
    totp_step: int


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A signed-in session; ``token_hash`` is SHA-256 of the token, hex."""

    token_hash: str
    agent_id: str
    created_at: float
    expires_at: float
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit trail."""

    ts: float
    actor: str
    action: str
    target: str | None = None
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An integration token (``chatd tokens create``): a name and what it may do."""

    name: str
    scopes: tuple[str, ...]
    created_at: float


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """An audit search; None means any. Newest first."""

    since: float | None = None
    until: float | None = None
    actor: str | None = None
    action: str | None = None
    limit: int = 100


class AccountStore(Protocol):
    """``store.accounts``: what staff sign-in and the audit trail keep."""

    async def set_password(self, agent_id: str, password_hash: str | None) -> bool:
        """Set (or clear) an account's password hash; False when there is no such account."""
        ...

    async def set_totp(self, agent_id: str, secret: str | None) -> bool:
        """Enrol (or remove) TOTP; resets the last used step. False when no such account."""
        ...

    async def account_secrets(self, agent_id: str) -> AccountSecrets | None: ...

    async def use_totp_step(self, agent_id: str, step: int) -> bool:
        """Record that a code for ``step`` was accepted; False when that step (or a later one)
        was used already: the one atomic check that makes a code work once."""
        ...

    async def create_session(self, session: SessionRecord) -> None: ...

    async def get_session(self, token_hash: str) -> SessionRecord | None: ...

    async def delete_session(self, token_hash: str) -> bool: ...

    async def delete_sessions(
        self, *, agent_id: str | None = None, before: float | None = None
    ) -> int:
        """End an account's sessions, or every session that expired before ``before``."""
        ...

    async def add_audit(self, entry: AuditEntry) -> None: ...

    async def list_audit(self, flt: AuditFilter) -> list[AuditEntry]: ...

    async def count_audit(self, *, actor: str, action: str, since: float) -> int: ...

    async def delete_audit_before(self, ts: float) -> int: ...

    async def add_token(self, token_hash: str, token: ApiToken) -> bool:
        """Store an integration token; False when the name is taken."""
        ...

    async def token(self, token_hash: str) -> ApiToken | None: ...

    async def tokens(self) -> list[ApiToken]: ...

    async def remove_token(self, name: str) -> bool: ...


_PLACEHOLDER = re.compile(r"\?")


def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, ...`` (our SQL has no other question marks)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)


_SET_PASSWORD = "UPDATE agents SET password_hash = ? WHERE agent_id = ?"
_SET_TOTP = "UPDATE agents SET totp_secret = ?, totp_step = 0 WHERE agent_id = ?"
_SECRETS = "SELECT password_hash, totp_secret, totp_step FROM agents WHERE agent_id = ?"
_USE_STEP = "UPDATE agents SET totp_step = ? WHERE agent_id = ? AND totp_step < ?"
_INSERT_SESSION = (
    "INSERT INTO sessions (token_hash, agent_id, created_at, expires_at, ip) VALUES (?, ?, ?, ?, ?)"
)
_GET_SESSION = (
    "SELECT token_hash, agent_id, created_at, expires_at, ip FROM sessions WHERE token_hash = ?"
)
_DELETE_SESSION = "DELETE FROM sessions WHERE token_hash = ?"
_INSERT_AUDIT = "INSERT INTO audit (ts, actor, action, target, ip) VALUES (?, ?, ?, ?, ?)"
_COUNT_AUDIT = "SELECT COUNT(*) FROM audit WHERE actor = ? AND action = ? AND ts >= ?"
_DELETE_AUDIT = "DELETE FROM audit WHERE ts < ?"
_TOKEN_NAME_TAKEN = "SELECT 1 FROM api_tokens WHERE name = ?"
_INSERT_TOKEN = "INSERT INTO api_tokens (token_hash, name, scopes, created_at) VALUES (?, ?, ?, ?)"
_GET_TOKEN = "SELECT name, scopes, created_at FROM api_tokens WHERE token_hash = ?"
_LIST_TOKENS = "SELECT name, scopes, created_at FROM api_tokens ORDER BY name"
_DELETE_TOKEN = "DELETE FROM api_tokens WHERE name = ?"


def _delete_sessions(agent_id: str | None, before: float | None) -> tuple[str, list[Any]]:
    if (agent_id is None) == (before is None):
        raise ValueError("delete_sessions: give agent_id or before, not both")
    if agent_id is not None:
        return "DELETE FROM sessions WHERE agent_id = ?", [agent_id]
    return "DELETE FROM sessions WHERE expires_at < ?", [before]


def _audit_query(flt: AuditFilter) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for clause, value in (
        ("ts >= ?", flt.since),
        ("ts < ?", flt.until),
        ("actor = ?", flt.actor),
        ("action = ?", flt.action),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    sql = "SELECT ts, actor, action, target, ip FROM audit"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY ts DESC, id DESC LIMIT ?"
    params.append(max(0, flt.limit))
    return sql, params


def _token(row: Sequence[Any]) -> ApiToken:
    scopes = tuple(s for s in str(row[1]).split(",") if s)
    return ApiToken(name=str(row[0]), scopes=scopes, created_at=float(row[2]))


def _secrets(row: Sequence[Any]) -> AccountSecrets:
    return AccountSecrets(password_hash=row[0], totp_secret=row[1], totp_step=int(row[2]))


def _session(row: Sequence[Any]) -> SessionRecord:
    return SessionRecord(
        token_hash=row[0],
        agent_id=row[1],
        created_at=float(row[2]),
        expires_at=float(row[3]),
        ip=row[4],
    )


def _audit(row: Sequence[Any]) -> AuditEntry:
    return AuditEntry(ts=float(row[0]), actor=row[1], action=row[2], target=row[3], ip=row[4])


def _session_params(s: SessionRecord) -> list[Any]:
    return [s.token_hash, s.agent_id, s.created_at, s.expires_at, s.ip]


def _audit_params(e: AuditEntry) -> list[Any]:
    return [e.ts, e.actor, e.action, e.target, e.ip]


class SQLRunner(Protocol):
    """How :class:`Accounts` reaches a backend: SQL with ``?`` placeholders, parameters."""

    async def read(self, what: str, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]: ...

    async def write(self, what: str, sql: str, params: Sequence[Any]) -> int:
        """Run one statement in its own committed transaction; the number of rows it touched."""
        ...

    async def transaction(
        self, what: str, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[int]:
        """Run the statements in one committed transaction (all or none); rows each touched."""
        ...


class Accounts:
    """:class:`AccountStore` over any backend's :class:`SQLRunner`."""

    def __init__(self, run: SQLRunner) -> None:
        self._run = run

    async def set_password(self, agent_id: str, password_hash: str | None) -> bool:
        return await self._run.write("set_password", _SET_PASSWORD, (password_hash, agent_id)) > 0

    async def set_totp(self, agent_id: str, secret: str | None) -> bool:
        return await self._run.write("set_totp", _SET_TOTP, (secret, agent_id)) > 0

    async def account_secrets(self, agent_id: str) -> AccountSecrets | None:
        rows = await self._run.read("account_secrets", _SECRETS, (agent_id,))
        return _secrets(rows[0]) if rows else None

    async def use_totp_step(self, agent_id: str, step: int) -> bool:
        return await self._run.write("use_totp_step", _USE_STEP, (step, agent_id, step)) > 0

    async def create_session(self, session: SessionRecord) -> None:
        await self._run.write("create_session", _INSERT_SESSION, _session_params(session))

    async def get_session(self, token_hash: str) -> SessionRecord | None:
        rows = await self._run.read("get_session", _GET_SESSION, (token_hash,))
        return _session(rows[0]) if rows else None

    async def delete_session(self, token_hash: str) -> bool:
        return await self._run.write("delete_session", _DELETE_SESSION, (token_hash,)) > 0

    async def delete_sessions(
        self, *, agent_id: str | None = None, before: float | None = None
    ) -> int:
        sql, params = _delete_sessions(agent_id, before)
        return await self._run.write("delete_sessions", sql, params)

    async def add_audit(self, entry: AuditEntry) -> None:
        await self._run.write("add_audit", _INSERT_AUDIT, _audit_params(entry))

    async def list_audit(self, flt: AuditFilter) -> list[AuditEntry]:
        sql, params = _audit_query(flt)
        return [_audit(row) for row in await self._run.read("list_audit", sql, params)]

    async def count_audit(self, *, actor: str, action: str, since: float) -> int:
        rows = await self._run.read("count_audit", _COUNT_AUDIT, (actor, action, since))
        return int(rows[0][0])

    async def delete_audit_before(self, ts: float) -> int:
        return await self._run.write("delete_audit_before", _DELETE_AUDIT, (ts,))

    async def add_token(self, token_hash: str, token: ApiToken) -> bool:
        if await self._run.read("token_name", _TOKEN_NAME_TAKEN, (token.name,)):
            return False
        params = (token_hash, token.name, ",".join(token.scopes), token.created_at)
        await self._run.write("add_token", _INSERT_TOKEN, params)
        return True

    async def token(self, token_hash: str) -> ApiToken | None:
        rows = await self._run.read("token", _GET_TOKEN, (token_hash,))
        return _token(rows[0]) if rows else None

    async def tokens(self) -> list[ApiToken]:
        return [_token(row) for row in await self._run.read("tokens", _LIST_TOKENS, ())]

    async def remove_token(self, name: str) -> bool:
        return await self._run.write("remove_token", _DELETE_TOKEN, (name,)) > 0


def affected_rows(status: str) -> int:
    """Rows touched, from asyncpg's status string (``"UPDATE 1"``, ``"DELETE 3"``)."""
    count = status.rsplit(" ", 1)[-1]
    return int(count) if count.isdigit() else 0
