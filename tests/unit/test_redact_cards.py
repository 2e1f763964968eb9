"""The card-number and one-time-code detectors at their edges, and a short password.

Written from the survivors of a mutation run over ``chatd/domain/`` (issue 21): where a card
starts and ends inside a run of digit groups, which groupings are cards, how far a 2FA word
reaches, and which 2FA word an id word is counted after. Each row states the whole text a
customer's message is stored as, so a detector off by one there shows as a secret left
visible or an ordinary message mangled.
"""

from __future__ import annotations

import pytest

from chatd.domain.redact import redact
from tests.support.redaction import Stored

CARD = "[redacted:card_number]"
OTP = "[redacted:otp_code]"


CODES = [
    # A 2FA word reaches 40 characters forward: the gap from "2fa" to the code is 40, then 41.
    Stored(
        "code-40-characters-after-the-2fa-word",
        "my 2fa is on, so I opened the app and it says 654321",
        f"my 2fa is on, so I opened the app and it says {OTP}",
    ),
    Stored(
        "code-41-characters-after-the-2fa-word",
        "my 2fa is on, so I opened the app and it shows 654321",
        "my 2fa is on, so I opened the app and it shows 654321",
    ),
    # ... and 24 characters back: the gap from the code to "2fa" is 24, then 25.
    Stored(
        "code-24-characters-before-the-2fa-word",
        "654321 is the one I got as my 2fa",
        f"{OTP} is the one I got as my 2fa",
    ),
    Stored(
        "code-25-characters-before-the-2fa-word",
        "654321 is the one I got as our 2fa",
        "654321 is the one I got as our 2fa",
    ),
    # The nearest 2FA word before the code decides, not an earlier one out of reach.
    Stored(
        "nearest-2fa-word-in-reach-an-earlier-one-not",
        "I turned on 2fa on my account last year, and today the sms code is 654321",
        f"I turned on 2fa on my account last year, and today the sms code is {OTP}",
    ),
    # Masked text between an earlier 2FA word and the code does not matter when a nearer one
    # stands right before the code.
    Stored(
        "masked-password-between-two-2fa-words",
        "2fa for login, password: hunter2, sms code 654321",
        f"2fa for login, password: [redacted:password] sms code {OTP}",
    ),
    # An id word counts only after the nearest 2FA word: here "UID" comes before "code".
    Stored(
        "id-word-between-two-2fa-words",
        "2fa for my UID: code 654321",
        f"2fa for my UID: code {OTP}",
    ),
]

CARDS = [
    # A short number, or a run of groups that cannot start a card, before the card.
    Stored(
        "card-after-a-short-number",
        "I paid 20 with card 4111 1111 1111 1111",
        f"I paid 20 with card {CARD}",
    ),
    Stored(
        "card-after-a-phone-number",
        "call me on 138 0013 8000, card 4111 1111 1111 1111",
        f"call me on 138 0013 8000, card {CARD}",
    ),
    # In a run of digit groups, a card that starts after the first group (or far into it).
    Stored("unbroken-card-after-a-group", "0127 4111111111111111", f"0127 {CARD}"),
    Stored("card-after-a-10-digit-number", "1234567890 4111 1111 1111 1111", f"1234567890 {CARD}"),
    Stored(
        "card-right-after-a-masked-code",
        "otp 654321 4111 1111 1111 1111",
        f"otp {OTP} {CARD}",
    ),
    # The longest window is no card (a 2-digit group, no Luhn, part of a code): a shorter one is.
    # Last row: the code is masked first; "4111 1111 1111 1111 128" passes Luhn too, but a card
    # never takes masked text, so the 16 digits before the code are the card.
    Stored("card-then-an-expiry-date", "card 4111 1111 1111 1111 12/27", f"card {CARD} 12/27"),
    Stored("card-then-a-cvv", "card 4111 1111 1111 1111 123", f"card {CARD} 123"),
    Stored(
        "card-then-a-spaced-code",
        "4111 1111 1111 1111 128 456",
        f"{CARD} {OTP}",
        expecting_2fa_code=True,
    ),
    # Groupings: four digits first, then groups of 3 to 7, one separator throughout. A number in
    # any other grouping is shown as written, Luhn-valid or not (4111 1111 1111 1111 here).
    Stored("card-4-7-5", "card 4111 1111111 11111", f"card {CARD}"),
    Stored("groups-4-8-4", "4111 11111111 1111", "4111 11111111 1111"),
    Stored("amex-with-two-separators", "amex 3782-822463 10005", "amex 3782-822463 10005"),
    Stored(
        "card-dash-before-the-last-group", "card 4111 1111 1111-1111", "card 4111 1111 1111-1111"
    ),
    # Luhn-valid, but no card: the first group starts with 1, or the second holds 9 digits.
    Stored("luhn-valid-starting-with-1", "1234 5678 9012 3452", "1234 5678 9012 3452"),
    Stored("four-digits-then-nine", "4242 123456789", "4242 123456789"),
    # A card's 6-8 digit group near a 2FA word, or while a code is expected, is the card's: it
    # used to be masked as a code, leaving the card's other digits visible (9 of Amex's 15).
    Stored(
        "amex-near-a-2fa-word",
        "my amex is 3782 822463 10005, 2fa code not arriving",
        f"my amex is {CARD}, 2fa code not arriving",
    ),
    Stored("amex-while-a-code-is-expected", "3782 822463 10005", CARD, expecting_2fa_code=True),
    Stored(
        "diners-while-a-code-is-expected",
        "diners 3056 930902 5904",
        f"diners {CARD}",
        expecting_2fa_code=True,
    ),
    Stored(
        "code-then-a-card",
        "2fa code 482913 card 4111 1111 1111 1111",
        f"2fa code {OTP} card {CARD}",
    ),
    # A 13-digit card (the fewest digits a card has), and a code-shaped group ending the card.
    Stored(
        "visa-13-near-an-otp-word",
        "my card 4222 222222 222, otp not arriving",
        f"my card {CARD}, otp not arriving",
    ),
    Stored(
        "card-ending-in-a-code-shaped-group",
        "my card 4111 111111 111111, 2fa code not arriving",
        f"my card {CARD}, 2fa code not arriving",
    ),
    # A group inside a card is skipped, and the codes after the card are still read.
    Stored(
        "card-then-a-code",
        "card 3782 822463 10005 and 2fa code 482913",
        f"card {CARD} and 2fa code {OTP}",
    ),
]

ROWS = CODES + CARDS


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_stored_text(row: Stored) -> None:
    """The message is stored exactly as shown: its secrets masked, the rest as written."""
    result = redact(row.text, expecting_2fa_code=row.expecting_2fa_code)
    assert result.text == row.stored


def test_a_one_character_pin_after_is_is_shown_as_written() -> None:
    """A 1-character value after "pin is" is no password: the message is stored as written."""
    assert redact("my pin is 4 digits long").text == "my pin is 4 digits long"
