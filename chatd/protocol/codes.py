"""Limits, error codes and close codes of the chatd wire protocol, and :class:`ProtocolError`."""

from __future__ import annotations

__all__ = [
    "CLOSE_CODES",
    "DEFAULT_MAX_TEXT_CHARS",
    "ERROR_CODES",
    "MAX_CID_CHARS",
    "MAX_FRAME_BYTES",
    "MAX_ID",
    "MAX_JSON_DEPTH",
    "SUBPROTOCOL",
    "ProtocolError",
]

SUBPROTOCOL = "chatd.v1"

#: Client ids are opaque strings chosen by the client (a UUID fits); bounded so they can be indexed.
MAX_CID_CHARS = 64
#: Free text of one chat message. Long enough for a pasted error log, short enough to read.
DEFAULT_MAX_TEXT_CHARS = 4000
#: A frame is rejected before JSON parsing above this size (the server also closes with 1009).
MAX_FRAME_BYTES = 65536
#: JSON nesting is never needed beyond a few levels; deep nesting is an attack on the parser.
MAX_JSON_DEPTH = 8
#: Numeric ids and sequence numbers: exact in a JavaScript number and in a 64-bit column.
MAX_ID = 2**53

#: Stable error codes: clients switch on these, so they never change meaning.
ERROR_CODES: dict[str, str] = {
    "bad_frame": "the frame is not a JSON object with a string 'type'",
    "unknown_type": "no client message has this 'type'",
    "invalid_field": "a field is missing, has the wrong type or is out of range",
    "too_long": "the text is longer than the server allows",
    "hello_required": "the first frame must be 'hello'",
    "already_started": "'hello' was already sent on this connection",
    "bad_token": "the resume token is invalid, expired or for another conversation",
    "identity_invalid": "user_hash does not match user_id",
    "not_authenticated": "the agent token is missing or wrong",
    "forbidden": "this action is not allowed for you (not your conversation, or wrong role)",
    "not_found": "no such conversation, agent or ticket",
    "invalid_state": "the conversation is not in a state that allows this action",
    "rate_limited": "too many messages; slow down (see retry_after_s)",
    "limit_reached": "a size limit of the conversation was reached",
    "unavailable": "the server is shutting down or overloaded; retry later",
    "internal_error": "the server failed to handle this frame; it was not applied",
    "bad_credentials": "sign-in: wrong name or password (the same answer for both)",
    "otp_required": "sign-in: this account needs its 6-digit TOTP code ('otp')",
    "bad_otp": "sign-in: the TOTP code is wrong or was used already",
    "totp_required": "sign-in: the server requires TOTP and this account has none enrolled",
    "too_large": "attachments: the file is larger than the server takes",
    "unsupported_type": "attachments: the bytes are not a type the server takes",
    "quota_exceeded": "attachments: the conversation holds as many files as it may",
}

#: WebSocket close codes the server uses, with their meaning.
CLOSE_CODES: dict[int, str] = {
    1000: "normal closure (the conversation ended or the client closed)",
    1001: "going away: the server is shutting down; reconnect and resume",
    1007: "invalid frame payload: a text frame that is not UTF-8",
    1008: "policy violation: origin not allowed, authentication failed, or the session ended",
    1009: "message too big: a frame exceeded the size limit",
    1011: "internal error",
    1012: "service restart: reconnect and resume",
    4000: "hello timeout: no 'hello' within the allowed time",
    4008: "slow consumer: the client did not read its frames; reconnect and resume",
    4029: "abusive rate: repeated rate-limit violations",
}


class ProtocolError(Exception):
    """A client frame is invalid. ``code`` is a key of ERROR_CODES; ``ref`` is the frame's cid."""

    def __init__(
        self,
        code: str,
        message: str,
        ref: str | None = None,
        *,
        retry_after_s: float | None = None,
    ) -> None:
        if code not in ERROR_CODES:  # pragma: no cover - programming error
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref
        #: rate_limited: seconds until the refused frame would be accepted.
        self.retry_after_s = retry_after_s
