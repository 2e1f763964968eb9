"""Outgoing deliveries decided without I/O: webhook types and bodies, signatures, retry delays.

The service (chatd/service/deliveries.py) queues and sends; what a webhook call looks like, how
it is signed, when a failed one is tried again and what counts as an email address is decided
here, with the clock passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "BACKOFF_BASE_S",
    "TYPE_OF_KIND",
    "WEBHOOK_EVENTS",
    "is_email_address",
    "message_id",
    "retry_delay_s",
    "signature_header",
    "webhook_body",
]

#: Every webhook event type, in the contract's words.
WEBHOOK_EVENTS = (
    "conversation.created",
    "message.created",
    "conversation.handoff",
    "conversation.assigned",
    "conversation.closed",
    "csat.submitted",
    "ticket.created",
    "ticket.replied",
    "attachment.created",
)
#: The webhook type of a conversation event kind (``conversation.created`` is the first
#: event of a conversation, whatever its kind).
TYPE_OF_KIND: Mapping[str, str] = {
    "message": "message.created",
    "queued": "conversation.handoff",
    "assigned": "conversation.assigned",
    "closed": "conversation.closed",
    "csat": "csat.submitted",
    "ticket_created": "ticket.created",
    "ticket_reply": "ticket.replied",
    "attachment": "attachment.created",
}
#: The first retry waits this long; each next one twice as long, up to the receiver's cap.
BACKOFF_BASE_S = 1.0
#: An address as a ticket's contact field holds it: one @, a dot in the domain, no spaces.
#: Bounded (RFC 5321 allows 254 characters) and linear: no nested quantifiers.
_EMAIL = re.compile(r"[^@\s<>\"',;]{1,64}@[^@\s<>\"',;]{1,251}\.[A-Za-z]{2,63}")


def retry_delay_s(attempts: int, cap_s: float) -> float:
    """How long to wait after the ``attempts``-th failure: 1 s, 2 s, 4 s ... at most ``cap_s``."""
    if attempts <= 1:
        return min(BACKOFF_BASE_S, cap_s)
    # 2**60 s is far beyond any cap; the bound keeps the power from growing without limit.
    return min(cap_s, BACKOFF_BASE_S * 2.0 ** min(attempts - 1, 60))


def webhook_body(
    *, delivery_id: str, type: str, created_at: float, data: Mapping[str, Any]
) -> bytes:
    """The JSON body of one webhook call (the same bytes on every retry)."""
    payload = {"id": delivery_id, "type": type, "created_at": created_at, "data": dict(data)}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """``Chatd-Signature``: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def is_email_address(contact: str) -> bool:
    """Does a ticket's contact field hold exactly one email address?"""
    return len(contact) <= 254 and _EMAIL.fullmatch(contact.strip()) is not None


def message_id(delivery_id: str, from_address: str) -> str:
    """A stable Message-ID for a queued mail: the same on every retry, so a receiver that got it
    twice (at least once) can tell."""
    domain = from_address.rpartition("@")[2] or "chatd.invalid"
    return f"<{delivery_id}@{domain}>"
