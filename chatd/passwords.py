"""Staff passwords (argon2id), TOTP codes (RFC 6238) and session tokens.

Passwords are hashed with argon2id through argon2-cffi, at its RFC 9106 "low memory" profile
(3 passes over 64 MiB, 4 lanes): one hash costs a server tens of milliseconds and 64 MiB, which
is what makes an offline guess expensive. Hashing runs off the event loop (the C code releases
the GIL), at most :data:`HASH_SLOTS` at a time, so a burst of sign-ins cannot take the memory or
every core. An unknown name is checked against :data:`DUMMY_HASH` so that it takes the time a
wrong password takes.

TOTP: 6 digits, 30-second steps, HMAC-SHA1 (what every authenticator app reads from an
``otpauth://`` URI); a code of the step before or after is accepted (clock drift), and the step a
code was accepted for is stored so that the same code cannot sign in twice.

Session tokens are 256 random bits, prefixed ``cs_``; the store keeps their SHA-256 only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "API_TOKEN_PREFIX",
    "DUMMY_HASH",
    "HASH_SLOTS",
    "MAX_PASSWORD_CHARS",
    "MIN_PASSWORD_CHARS",
    "SESSION_PREFIX",
    "check_password_rules",
    "hash_password",
    "hash_password_async",
    "matching_step",
    "new_api_token",
    "new_session_token",
    "new_totp_secret",
    "token_digest",
    "totp_uri",
    "verify_password",
    "verify_password_async",
]

_HASHER = PasswordHasher()  # argon2id, time_cost=3, memory_cost=64 MiB, parallelism=4
#: Hashes computed at once per process (each takes 64 MiB while it runs).
HASH_SLOTS = 2
_SLOTS: asyncio.Semaphore | None = None
#: Verified when the name is unknown, so that answer takes as long as a wrong password's.
DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_CHARS = 12
#: argon2 takes any length, but a megabyte "password" is only a way to spend our CPU.
MAX_PASSWORD_CHARS = 1024
SESSION_PREFIX = "cs_"
TOTP_DIGITS = 6
TOTP_STEP_S = 30


def check_password_rules(password: str) -> str | None:
    """Why ``password`` is not acceptable for a staff account, or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"a password needs at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"a password has at most {MAX_PASSWORD_CHARS} characters"
    if password != password.strip():
        return "a password may not start or end with spaces (a pasted newline?)"
    return None


def hash_password(password: str) -> str:
    """The argon2id PHC string for ``password`` (blocking: tens of milliseconds)."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (None: the dummy hash is checked, False)."""
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        ok = _HASHER.verify(stored or DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored is not None


def _slots() -> asyncio.Semaphore:
    global _SLOTS
    if _SLOTS is None:
        _SLOTS = asyncio.Semaphore(HASH_SLOTS)
    return _SLOTS


async def hash_password_async(password: str) -> str:
    """:func:`hash_password` in a thread, at most :data:`HASH_SLOTS` at a time."""
    async with _slots():
        return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, stored: str | None) -> bool:
    """:func:`verify_password` in a thread, at most :data:`HASH_SLOTS` at a time."""
    async with _slots():
        return await asyncio.to_thread(verify_password, password, stored)


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, account: str, issuer: str = "chatd") -> str:
    """The ``otpauth://totp/...`` URI authenticator apps enrol from (also as a QR code)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_S).provisioning_uri(
        name=account, issuer_name=issuer
    )


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step ``code`` is valid for (this one, the one before or after), or None."""
    code = code.strip()
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_S)
    moment = time.time() if now is None else now
    step = totp.timecode(moment)
    found = None
    for candidate in (step - 1, step, step + 1):
        # Check all three every time: the time taken does not say which one matched.
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            found = candidate
    return found


#: Integration tokens (``chatd tokens create``) start with this.
API_TOKEN_PREFIX = "it_"


def new_api_token() -> str:
    """A fresh integration token: shown once, stored only as its hash."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_token() -> str:
    """A fresh session token: shown to the client once, stored only as its hash."""
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the store keeps of a session or integration token (SHA-256, hex)."""
    return hashlib.sha256(token.encode()).hexdigest()
