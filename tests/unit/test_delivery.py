"""The pure side of emails and webhooks: retry delays, the webhook body and signature, which
contacts are email addresses, Message-IDs."""

from __future__ import annotations

import hashlib
import hmac
import json

from hypothesis import given
from hypothesis import strategies as st

from chatd.domain.delivery import (
    TYPE_OF_KIND,
    WEBHOOK_EVENTS,
    is_email_address,
    message_id,
    retry_delay_s,
    signature_header,
    webhook_body,
)


def test_retry_delays_double_from_one_second_up_to_the_cap() -> None:
    """1 s, 2 s, 4 s, 8 s ... then the receiver's cap."""
    assert [retry_delay_s(n, 300) for n in range(1, 11)] == [
        1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0
    ]  # fmt: skip
    assert retry_delay_s(1, 0.5) == 0.5


@given(st.integers(min_value=-5, max_value=10_000), st.floats(min_value=0.1, max_value=1e6))
def test_retry_delay_never_exceeds_the_cap_and_never_shrinks(attempts: int, cap: float) -> None:
    """However many attempts, the wait is positive, capped and non-decreasing."""
    delay = retry_delay_s(attempts, cap)
    assert 0 < delay <= cap
    assert retry_delay_s(attempts + 1, cap) >= delay


def test_the_signature_is_hmac_sha256_of_timestamp_dot_raw_body() -> None:
    """Chatd-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>."""
    body = webhook_body(
        delivery_id="d1", type="message.created", created_at=1.5, data={"text": "hé"}
    )
    assert json.loads(body) == {
        "id": "d1",
        "type": "message.created",
        "created_at": 1.5,
        "data": {"text": "hé"},
    }
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature_header("s3cret", 1700000000, body) == f"t=1700000000,v1={expected}"
    assert signature_header("other", 1700000000, body) != f"t=1700000000,v1={expected}"


def test_every_mapped_kind_has_a_contract_type() -> None:
    """Event kinds map onto the contract's webhook types only."""
    assert set(TYPE_OF_KIND.values()) <= set(WEBHOOK_EVENTS)
    assert set(WEBHOOK_EVENTS) - set(TYPE_OF_KIND.values()) == {"conversation.created"}


def test_only_single_plain_addresses_count_as_email() -> None:
    """A ticket's contact is mailed only when it is one address."""
    for good in ("ann@example.org", " bob.smith+tag@mail.example.co.uk "):
        assert is_email_address(good), good
    for bad in (
        "",
        "+1 555 0100",
        "ann@example",
        "a@b@example.org",
        "ann@example.org, eve@example.org",
        "Ann <ann@example.org>",
        "x" * 300 + "@example.org",
        "@" * 10_000,
    ):
        assert not is_email_address(bad), bad


def test_message_ids_are_stable_and_under_the_senders_domain() -> None:
    """The same queued mail always has the same Message-ID."""
    assert message_id("abc", "support@example.com") == "<abc@example.com>"
    assert message_id("abc", "support@example.com") == message_id("abc", "support@example.com")


def test_email_length_limit_and_message_id_domain() -> None:
    """An address of 254 characters is accepted and one of 255 refused; a Message-ID takes the
    domain after the sender's last ``@``, and ``chatd.invalid`` when there is none."""
    address = "a" * 60 + "@" + "b" * 189 + ".com"
    assert len(address) == 254 and is_email_address(address)
    assert not is_email_address("a" + address)
    assert message_id("d1", "a@b@example.com") == "<d1@example.com>"
    assert message_id("d1", "") == "<d1@chatd.invalid>"


def test_the_webhook_body_is_compact_utf8() -> None:
    """The body is the smallest JSON: no spaces, text as UTF-8 (a Chinese message costs 3 bytes a
    character, not the 6 of ``\\u`` escapes); these are the bytes the signature covers."""
    body = webhook_body(delivery_id="d1", type="message.created", created_at=1.5, data={"t": "币"})
    expected = '{"id":"d1","type":"message.created","created_at":1.5,"data":{"t":"币"}}'
    assert body == expected.encode()
