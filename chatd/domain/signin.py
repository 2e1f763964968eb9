"""The sign-in decision for staff accounts: which answer a login attempt gets (no I/O).

:func:`decide` is given what the web and store layers found out (does the account exist, did the
password match, is TOTP enrolled and did the code match, how many failures the account had in
the window) and returns the one outcome. The order is the security property:

1. an account with ``max_failures`` recent failures is refused (``rate_limited``) whatever is
   sent, the right password included, until the window passes: guessing stops;
2. an unknown name and a wrong password give the same answer (``bad_credentials``), and the
   caller spends the same time on both (it verifies a dummy hash): names cannot be probed;
3. only after the password: a missing code (``otp_required``, the console then asks for it) or
   a wrong or replayed one (``bad_otp``), or an account without TOTP where it is required
   (``totp_required``).

Failures that count towards the limit are the wrong passwords and the wrong codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["COUNTED_FAILURES", "Attempt", "Outcome", "decide"]

Outcome = Literal[
    "ok", "rate_limited", "bad_credentials", "otp_required", "bad_otp", "totp_required"
]
#: Outcomes recorded as ``login_failed`` (what the rate limit counts).
COUNTED_FAILURES: frozenset[Outcome] = frozenset({"bad_credentials", "bad_otp"})


@dataclass(frozen=True, slots=True)
class Attempt:
    """What is known about one sign-in attempt."""

    account_known: bool
    password_ok: bool
    totp_enrolled: bool
    otp_given: bool
    otp_ok: bool
    recent_failures: int


def decide(attempt: Attempt, *, max_failures: int, require_totp: bool) -> Outcome:
    """The answer to one sign-in attempt (see the module docstring for the order)."""
    if attempt.recent_failures >= max_failures:
        return "rate_limited"
    if not (attempt.account_known and attempt.password_ok):
        return "bad_credentials"
    if attempt.totp_enrolled:
        if not attempt.otp_given:
            return "otp_required"
        return "ok" if attempt.otp_ok else "bad_otp"
    return "totp_required" if require_totp else "ok"
