"""The sign-in decision (chatd.domain.signin) and the password/TOTP helpers (chatd.passwords)."""

from __future__ import annotations

import pyotp
from hypothesis import given
from hypothesis import strategies as st

from chatd.domain.signin import COUNTED_FAILURES, Attempt, decide
from chatd.passwords import (
    check_password_rules,
    hash_password,
    matching_step,
    new_totp_secret,
    totp_uri,
    verify_password,
)

attempts = st.builds(
    Attempt,
    account_known=st.booleans(),
    password_ok=st.booleans(),
    totp_enrolled=st.booleans(),
    otp_given=st.booleans(),
    otp_ok=st.booleans(),
    recent_failures=st.integers(0, 20),
)


@given(attempts, st.integers(1, 10), st.booleans())
def test_too_many_failures_refuse_even_the_right_password(
    attempt: Attempt, max_failures: int, require_totp: bool
) -> None:
    outcome = decide(attempt, max_failures=max_failures, require_totp=require_totp)
    assert (outcome == "rate_limited") == (attempt.recent_failures >= max_failures)


@given(attempts, st.booleans())
def test_an_unknown_name_answers_like_a_wrong_password(attempt: Attempt, require: bool) -> None:
    """Nothing after the password is revealed without it: no "otp_required" for a wrong one."""
    if attempt.recent_failures >= 5 or (attempt.account_known and attempt.password_ok):
        return
    assert decide(attempt, max_failures=5, require_totp=require) == "bad_credentials"


@given(attempts, st.booleans())
def test_ok_needs_the_password_and_the_code_when_enrolled(attempt: Attempt, require: bool) -> None:
    outcome = decide(attempt, max_failures=5, require_totp=require)
    if outcome == "ok":
        assert attempt.account_known and attempt.password_ok
        assert attempt.otp_ok if attempt.totp_enrolled else not require


def test_each_second_step_outcome() -> None:
    base = Attempt(True, True, True, False, False, 0)
    assert decide(base, max_failures=5, require_totp=False) == "otp_required"
    wrong = Attempt(True, True, True, True, False, 4)
    assert decide(wrong, max_failures=5, require_totp=False) == "bad_otp"
    right = Attempt(True, True, True, True, True, 4)
    assert decide(right, max_failures=5, require_totp=True) == "ok"
    bare = Attempt(True, True, False, False, False, 0)
    assert decide(bare, max_failures=5, require_totp=True) == "totp_required"
    assert decide(bare, max_failures=5, require_totp=False) == "ok"
    assert COUNTED_FAILURES == {"bad_credentials", "bad_otp"}


def test_passwords_hash_with_argon2id_and_verify() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("anything at all", None)  # unknown account: the dummy hash
    assert not verify_password("x" * 5000, stored)
    assert not verify_password("correct horse battery", "not a hash")


def test_password_rules() -> None:
    assert check_password_rules("short") is not None
    assert check_password_rules("twelve chars") is None
    assert check_password_rules(" padded password ") is not None
    assert check_password_rules("x" * 1025) is not None


def test_totp_codes_of_the_neighbouring_steps_match_and_others_do_not() -> None:
    secret = new_totp_secret()
    totp = pyotp.TOTP(secret)
    now = 1_900_000_000.0
    step = int(now) // 30
    assert matching_step(secret, totp.at(now), now=now) == step
    assert matching_step(secret, totp.at(now - 30), now=now) == step - 1
    assert matching_step(secret, totp.at(now + 30), now=now) == step + 1
    assert matching_step(secret, totp.at(now - 90), now=now) is None
    for bad in ("", "12345", "1234567", "abcdef", "１２３４５６"):
        assert matching_step(secret, bad, now=now) is None


def test_totp_uri_is_what_authenticator_apps_read() -> None:
    uri = totp_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ana lee")
    assert uri.startswith("otpauth://totp/chatd:ana%20lee?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert "issuer=chatd" in uri
