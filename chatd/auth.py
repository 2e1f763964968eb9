"""Credentials: agent/operator tokens, customer resume tokens and identity verification.

Agent tokens are ``<agent_id>.<secret>`` with 256 random bits of secret. Only a salted hash is
stored. A slow password hash (scrypt) buys nothing for a 256-bit random secret and would cost
tens of milliseconds per API request, so the hash is HMAC-SHA256 keyed by a per-token salt.
Every comparison is constant-time (hmac.compare_digest).

Resume tokens let a customer reconnect to their conversation: ``<conversation_id>.<expiry>.<mac>``
signed with the server secret; they expire, and are bound to one conversation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = [
    "hash_token",
    "new_agent_token",
    "parse_agent_token",
    "sign_resume_token",
    "verify_agent_token",
    "verify_identity",
    "verify_resume_token",
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_agent_token(agent_id: str) -> str:
    """A fresh token for an account; shown once, never stored."""
    return f"{agent_id}.{secrets.token_urlsafe(32)}"


def parse_agent_token(token: str) -> str | None:
    """The agent id a token claims, or None when it is malformed."""
    agent_id, sep, secret = token.partition(".")
    if not sep or not agent_id or not secret or len(token) > 256:
        return None
    return agent_id


def hash_token(token: str, *, salt: str | None = None) -> str:
    """``salt$hex(HMAC-SHA256(salt, token))``: what the store keeps."""
    salt = salt if salt is not None else secrets.token_hex(16)
    digest = hmac.new(salt.encode(), token.encode(), hashlib.sha256).hexdigest()
    return f"{salt}${digest}"


def verify_agent_token(token: str, stored: str) -> bool:
    """Does ``token`` match the stored hash? Constant-time."""
    salt, sep, _digest = stored.partition("$")
    if not sep:
        return False
    return hmac.compare_digest(hash_token(token, salt=salt).encode(), stored.encode())


def _mac(secret: str, message: str) -> str:
    return _b64(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest())


def sign_resume_token(secret: str, conversation_id: str, *, now: float, ttl_s: float) -> str:
    """A token that lets its holder resume this conversation until it expires."""
    body = f"{conversation_id}.{int(now + ttl_s)}"
    return f"{body}.{_mac(secret, 'resume:' + body)}"


def verify_resume_token(secret: str, token: str, *, now: float) -> str | None:
    """The conversation id of a valid, unexpired token; None otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    conversation_id, expiry, mac = parts
    expected = _mac(secret, f"resume:{conversation_id}.{expiry}")
    if not hmac.compare_digest(expected.encode(), mac.encode()):
        return None
    if not expiry.isdigit() or int(expiry) < now:
        return None
    return conversation_id


def verify_identity(secret: str, user_id: str, user_hash: str) -> bool:
    """Check ``user_hash == hex(HMAC-SHA256(secret, user_id))`` in constant time."""
    if not secret:
        return False
    expected = hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), user_hash.strip().lower().encode())
