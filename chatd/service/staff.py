"""Staff accounts as the service sees them: who a token belongs to, sign-in, the audit trail.

Two kinds of bearer token name a staff account:

* the static token ``chatd agents add`` prints (``<agent_id>.<secret>``; a salted hash is
  stored), valid until the account is removed: what integrations and existing installs use;
* a session token (``cs_...``) from ``POST /api/login`` with name, password and (when enrolled)
  a TOTP code, valid for ``[security] session_ttl_s`` or until ``POST /api/logout``.

Sign-in answers come from :func:`chatd.domain.signin.decide`; failures are audit entries, and the
per-account limit counts them in the store, so it holds across nodes and restarts. Logging out
closes the account's open consoles on that session on every node (a bus message).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chatd.auth import parse_agent_token, verify_agent_token
from chatd.bus.base import Bus
from chatd.config import SecurityConfig
from chatd.domain.signin import COUNTED_FAILURES, Attempt, decide
from chatd.logs import get_logger
from chatd.passwords import (
    API_TOKEN_PREFIX,
    SESSION_PREFIX,
    matching_step,
    new_session_token,
    token_digest,
    verify_password_async,
)
from chatd.protocol import ProtocolError
from chatd.service.assignments import Assignments
from chatd.store.accounts import ApiToken, AuditEntry, SessionRecord
from chatd.store.base import AgentRecord, Store

__all__ = ["SESSIONS_TOPIC", "SignInRefused", "SignedIn", "Staff"]

log = get_logger(__name__)

#: Bus topic on which a node announces a session that ended (every node closes its sockets).
SESSIONS_TOPIC = "staff.sessions"
#: Longest name or one-time code read from a sign-in request.
_MAX_NAME_CHARS = 64

#: HTTP status of each refusal.
_STATUS = {
    "bad_credentials": 401,
    "otp_required": 401,
    "bad_otp": 401,
    "totp_required": 403,
    "rate_limited": 429,
}
_MESSAGES = {
    "bad_credentials": "wrong name or password",
    "otp_required": "this account needs the 6-digit code from its authenticator app",
    "bad_otp": "the code is wrong or was used already",
    "totp_required": "this server requires two-factor sign-in: ask an operator to run "
    "`chatd agents totp NAME` for your account",
    "rate_limited": "too many failed sign-ins for this account: try again later",
}


class SignInRefused(Exception):
    """A refused sign-in: ``code`` and the HTTP ``status`` to answer with."""

    def __init__(self, code: str, retry_after_s: float | None = None) -> None:
        super().__init__(_MESSAGES[code])
        self.code = code
        self.status = _STATUS[code]
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: the token (shown once) and when it expires (unix seconds)."""

    token: str
    expires_at: float
    agent: AgentRecord


class Staff:
    """Authentication of staff tokens, password sign-in, sessions and the audit trail."""

    def __init__(
        self,
        *,
        store: Store,
        assignments: Assignments,
        bus: Bus,
        security: SecurityConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.assignments = assignments
        self.bus = bus
        self.security = security
        self.clock = clock
        #: Open sockets per session token hash: what closes them when the session ends.
        self._sockets: dict[str, dict[int, Callable[[], None]]] = {}
        self._subscription = bus.subscribe(SESSIONS_TOPIC, self._on_session_ended)

    async def authenticate(self, token: str) -> AgentRecord:
        """The account a token belongs to; not_authenticated otherwise (constant-time compare)."""
        if token.startswith(SESSION_PREFIX):
            agent = await self._session_agent(token)
        else:
            agent_id = parse_agent_token(token)
            agent = await self.store.get_agent(agent_id) if agent_id else None
            if agent is not None and not verify_agent_token(token, agent.token_hash):
                agent = None
        if agent is None:
            raise ProtocolError("not_authenticated", "the token is not valid")
        self.assignments.agents[agent.agent_id] = agent
        return agent

    async def _session_agent(self, token: str) -> AgentRecord | None:
        if len(token) > 128:
            return None
        session = await self.store.accounts.get_session(token_digest(token))
        if session is None or session.expires_at <= self.clock():
            return None
        return await self.store.get_agent(session.agent_id)

    async def integration(self, token: str) -> ApiToken | None:
        """The integration token ``token`` is, or None (not one, unknown, revoked)."""
        if not token.startswith(API_TOKEN_PREFIX) or len(token) > 128:
            return None
        return await self.store.accounts.token(token_digest(token))

    async def session_valid(self, token: str) -> bool:
        """Whether a session token still signs in (False for a static token: not a session)."""
        return token.startswith(SESSION_PREFIX) and await self._session_agent(token) is not None

    # -- sign-in ----------------------------------------------------------------------------------
    async def sign_in(self, name: str, password: str, otp: str | None, ip: str | None) -> SignedIn:
        """A session for ``name``; :class:`SignInRefused` with the contract's code otherwise."""
        now = self.clock()
        name = name[:_MAX_NAME_CHARS]
        accounts = self.store.accounts
        agent = await self.store.get_agent_by_name(name)
        secrets = await accounts.account_secrets(agent.agent_id) if agent else None
        window = self.security.login_window_s
        failures = await accounts.count_audit(actor=name, action="login_failed", since=now - window)
        # Always verify a hash (the dummy one for an unknown name or a token-only account), so
        # that "no such name" takes as long as "wrong password".
        stored = secrets.password_hash if secrets is not None else None
        password_ok = await verify_password_async(password, stored)
        enrolled = bool(secrets and secrets.totp_secret)
        otp_ok = False
        if agent and secrets and secrets.totp_secret and otp and password_ok:
            step = matching_step(secrets.totp_secret, otp[:_MAX_NAME_CHARS], now=now)
            otp_ok = step is not None and await accounts.use_totp_step(agent.agent_id, step)
        outcome = decide(
            Attempt(
                account_known=agent is not None,
                password_ok=password_ok,
                totp_enrolled=enrolled,
                otp_given=bool(otp),
                otp_ok=otp_ok,
                recent_failures=failures,
            ),
            max_failures=self.security.login_failures,
            require_totp=self.security.require_totp,
        )
        if outcome != "ok" or agent is None:
            if outcome in COUNTED_FAILURES:
                await self.audit(name, "login_failed", outcome, ip)
            retry = window if outcome == "rate_limited" else None
            raise SignInRefused(outcome, retry)
        token = new_session_token()
        expires_at = now + self.security.session_ttl_s
        await accounts.create_session(
            SessionRecord(token_digest(token), agent.agent_id, now, expires_at, ip)
        )
        await self.audit(agent.name, "login", agent.agent_id, ip)
        return SignedIn(token=token, expires_at=expires_at, agent=agent)

    async def sign_out(self, token: str, ip: str | None) -> AgentRecord | None:
        """End a session now, everywhere; the account it belonged to (None: not a session)."""
        if not token.startswith(SESSION_PREFIX):
            return None
        agent = await self._session_agent(token)
        token_hash = token_digest(token)
        if not await self.store.accounts.delete_session(token_hash) or agent is None:
            return None
        await self.audit(agent.name, "logout", agent.agent_id, ip)
        await self.bus.publish(SESSIONS_TOPIC, {"ended": token_hash})
        return agent

    # -- open sockets on a session ----------------------------------------------------------------
    def watch(self, token: str, close: Callable[[], None]) -> Callable[[], None]:
        """Call ``close`` when the session ``token`` ends; returns the function that stops it."""
        if not token.startswith(SESSION_PREFIX):
            return lambda: None
        token_hash = token_digest(token)
        key = id(close)
        self._sockets.setdefault(token_hash, {})[key] = close

        def unwatch() -> None:
            closers = self._sockets.get(token_hash)
            if closers is not None:
                closers.pop(key, None)
                if not closers:
                    del self._sockets[token_hash]

        return unwatch

    def _on_session_ended(self, _topic: str, message: Mapping[str, Any]) -> None:
        token_hash = message.get("ended")
        if not isinstance(token_hash, str):
            return
        for close in list(self._sockets.pop(token_hash, {}).values()):
            close()

    # -- audit ------------------------------------------------------------------------------------
    async def audit(
        self, actor: str, action: str, target: str | None = None, ip: str | None = None
    ) -> None:
        """Record one audit entry (at the time of this node's clock)."""
        await self.store.accounts.add_audit(
            AuditEntry(ts=self.clock(), actor=actor, action=action, target=target, ip=ip)
        )
