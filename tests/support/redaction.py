"""Builders for the masker's tests: key-shaped strings and a message with its stored text."""

from __future__ import annotations

from dataclasses import dataclass

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58(data: bytes) -> str:
    """Base58-encode ``data`` as wallets export keys (leading zero bytes as "1")."""
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58_ALPHABET[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def groups(hex64: str, size: int, sep: str) -> str:
    """``hex64`` written in groups of ``size`` joined by ``sep`` ("a77a08bc b4a8f65f ...")."""
    return sep.join(hex64[i : i + size] for i in range(0, len(hex64), size))


@dataclass(frozen=True)
class Stored:
    """One message and exactly the text it is stored as."""

    id: str
    text: str
    stored: str
    expecting_2fa_code: bool = False
    #: The conversation's previous customer message, as stored (already masked).
    previous: str | None = None
