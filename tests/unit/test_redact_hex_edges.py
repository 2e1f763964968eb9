"""The sweep of key and card shapes at its edges: pre-check limits and neighbouring candidates.

Written from the survivors of a mutation run over ``chatd/domain/redact/exempt.py`` (issue 21).
Each test states the whole text a customer's message is stored as. The last three are bugs the
same triage found, fixed since (each failed before its fix).
"""

from __future__ import annotations

import hashlib

import pytest

from chatd.domain.redact import redact
from tests.support.redaction import B58_ALPHABET, b58, groups


def _keep_digits(hex64: str, count: int) -> str:
    """``hex64`` with every decimal digit after the first ``count`` turned into a hex letter."""
    out = []
    for ch in hex64:
        if ch.isdigit():
            count -= 1
            if count < 0:
                ch = "abcdefabcd"[int(ch)]
        out.append(ch)
    return "".join(out)


# Secrets (made up) and what support needs to see.
KEY_HEX = "c1e3844824dc34aee0c8de1e492b68c326065b8c8e5a636e60d0eec9d0bc9e2a"
TX_HEX = "d27a041fdb86426c8abbace6619aa2266024cb387729ee2bd84bbfad5322de2b"
# A 64-byte keypair whose first byte is 0 and second small: base58 gives 86 characters, the
# shortest a 64-byte value has ("1" for the zero byte, then 85).
SOL_KEY_86 = b58(bytes([0, 2]) + hashlib.sha512(b"chatd solana key").digest()[2:])
# An 88-character keypair export whose characters happen to spell an explorer's name.
SOL_KEY_SPELLING = b58(hashlib.sha512(b"chatd solana key").digest())
SOL_KEY_SPELLING = SOL_KEY_SPELLING[:2] + "bscscan" + SOL_KEY_SPELLING[9:]
# A key in sixteen groups of four whose groups 5-8 are all digits and pass the Luhn check
# ("4111 1111 1111 1111"): the sweep sees a card number inside the key.
KEY_WITH_CARD_INSIDE = groups(KEY_HEX[:16] + "4111111111111111" + KEY_HEX[32:], 4, " ")


def test_shapes_of_the_constants() -> None:
    """The made-up secrets have the shapes the tests below rely on."""
    assert len(SOL_KEY_86) == 86
    assert len(SOL_KEY_SPELLING) == 88 and set(SOL_KEY_SPELLING) <= set(B58_ALPHABET)
    assert len(KEY_WITH_CARD_INSIDE) == 79
    assert sum(ch.isdigit() for ch in _keep_digits(KEY_HEX, 8)) == 8


def test_a_base58_keypair_of_86_characters_is_masked() -> None:
    """A Solana keypair export of 86 characters, the shortest there is, pasted alone is masked."""
    assert redact(SOL_KEY_86).text == "[redacted:private_key]"


def test_a_key_in_two_groups_of_32_alone_is_masked() -> None:
    """A hex key pasted as two halves of 32 (65 characters in all) is masked whole."""
    text = f"{KEY_HEX[:32]} {KEY_HEX[32:]}"
    assert len(text) == 65
    assert redact(text).text == "[redacted:private_key]"


def test_a_grouped_key_in_a_message_with_exactly_8_digits_is_masked() -> None:
    """A key in groups of eight whose only digits are its 8 decimal digits is masked."""
    text = "my key " + groups(_keep_digits(KEY_HEX, 8), 8, " ")
    assert redact(text).text == "my key [redacted:private_key]"


def test_an_uppercase_grouped_key_is_masked() -> None:
    """A key written in upper-case hex groups is masked like a lower-case one."""
    text = "my key " + groups(KEY_HEX.upper(), 8, " ")
    assert redact(text).text == "my key [redacted:private_key]"


def test_a_transaction_word_after_a_card_belongs_to_the_card() -> None:
    """A key followed by a card number and then "tx" stays masked: the word is the card's.

    Looking ahead for a transaction word stops where the next key or card starts, so the key
    is not shown as a transaction hash because of a word said about the next item.
    """
    text = f"here it is {KEY_HEX} 4111 1111 1111 1111 tx failed"
    stored = "here it is [redacted:private_key] [redacted:card_number] tx failed"
    assert redact(text).text == stored


def test_a_key_followed_by_a_key_spelling_an_explorer_name_is_masked() -> None:
    """Two keys pasted together stay masked when the second one's letters spell "bscscan".

    The first key's look-ahead for a transaction word ends where the second key starts; it
    does not read into the second key's characters.
    """
    text = f"{KEY_HEX} {SOL_KEY_SPELLING}"
    assert redact(text).text == "[redacted:private_key] [redacted:private_key]"


def test_a_grouped_key_with_card_like_digits_inside_is_masked_whole() -> None:
    """A grouped key whose middle groups look like a card number is masked whole, as a key."""
    assert redact(f"my key {KEY_WITH_CARD_INSIDE} ok").text == "my key [redacted:private_key] ok"


def test_a_card_after_a_grouped_key_with_card_like_digits_is_masked() -> None:
    """After a grouped key holding card-like digits, a card number on the next line is masked too.

    The card-like digits inside the key are passed over; neither they nor the "tx" after the
    card make the key a transaction hash.
    """
    text = f"{KEY_WITH_CARD_INSIDE}\n5555 5555 5555 4444 tx failed"
    stored = "[redacted:private_key]\n[redacted:card_number] tx failed"
    assert redact(text).text == stored


def test_a_card_after_a_transaction_hash_is_masked() -> None:
    """A card number after a visible transaction hash is still masked."""
    text = f"txid {TX_HEX} never arrived, I paid with card 4111 1111 1111 1111"
    stored = f"txid {TX_HEX} never arrived, I paid with card [redacted:card_number]"
    assert redact(text).text == stored


def test_a_card_after_an_order_number_is_masked() -> None:
    """A card number after an order number that passes the Luhn check is still masked."""
    text = "order 4111111111111111 not filled, my card 5555 5555 5555 4444"
    stored = "order 4111111111111111 not filled, my card [redacted:card_number]"
    assert redact(text).text == stored


# Bugs found by the triage, fixed in chatd/domain/redact/exempt.py.


@pytest.mark.parametrize("size", [4, 16])
def test_a_grouped_key_starting_with_card_like_digits_is_masked_whole(size: int) -> None:
    """A grouped key whose first 16 digits look like a card number is masked whole.

    The card number used to be masked and the key's other 48 hex digits shown.
    """
    key = groups("4111111111111111" + KEY_HEX[16:], size, " ")
    assert redact(f"my key {key}").text == "my key [redacted:private_key]"


def test_a_grouped_transaction_hash_with_card_like_digits_stays_visible() -> None:
    """A transaction hash in groups stays visible even where four groups look like a card."""
    tx = groups(TX_HEX[:48] + "4111111111111111", 4, " ")
    assert redact(f"txid: {tx}").text == f"txid: {tx}"


def test_a_grouped_key_with_few_decimal_digits_is_masked() -> None:
    """A grouped key with only 3 decimal digits is masked, as the same key unbroken is."""
    key = _keep_digits(KEY_HEX, 3)
    assert redact(key).text == "[redacted:private_key]"
    assert redact(groups(key, 8, " ")).text == "[redacted:private_key]"
    # One digit is enough.
    assert redact(groups(_keep_digits(KEY_HEX, 1), 8, " ")).text == "[redacted:private_key]"
