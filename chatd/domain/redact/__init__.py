"""Mask secrets in customer messages before they are stored, logged or shown.

Customers of an exchange who are in a panic paste whatever they think will help: seed phrases,
private keys, API secrets, passwords, 2FA codes, card numbers. None of these may reach the
database, the logs or an agent's screen, so :func:`redact` runs on every customer message first
and replaces each secret with a language-neutral placeholder such as ``[redacted:seed_phrase]``.

Seed phrases are runs of at least 12 BIP39 words (English, or Chinese characters separated by
spaces or commas); a run is masked when it holds a checksum-valid phrase, or when it is not
mostly everyday words, so a mistyped phrase is still caught while a sentence such as "you can
also use this one now, what other day will you want help" stays visible.

What support needs stays visible: transaction hashes (a 64-hex string next to "txid", "hash",
"交易哈希" or inside an explorer URL), deposit addresses (``0x`` + 40 hex, ``bc1...``, ``1...``/
``3...``, TRON ``T...``), order ids, amounts, dates and phone numbers.

Detectors run in a fixed order and the first one to claim a span wins:

1. placeholders already in the text are protected (so redaction is idempotent);
2. shape-only detectors: BIP39 seed phrases (and the start of a message that continues a
   phrase the previous message ended with), extended private keys, WIF keys;
3. keyword-triggered detectors: config / JSON / env values of secret-named keys, API secrets,
   "private key: ...", "seed phrase: ...", passwords (to the end of the sentence), 2FA codes
   (amounts and user ids excepted);
4. shape detectors with a visibility exemption (raw, grouped ("a77a08bc b4a8f65f ...") and
   base58 keys vs. transaction hashes, card numbers vs. order ids), decided left to right in
   one sweep.

Every detector is linear in the length of the message (each module says why where it is not
obvious): a message of any content up to the length limit costs milliseconds.

A keyword's context never reaches across a span that is already masked: the gap between a
keyword and its target must be untouched text. That rule is what makes
``redact(redact(x).text).text == redact(x).text`` hold, because masking only ever *adds*
barriers and never changes the text inside an unmasked gap.

One module per family of detectors: :mod:`.seeds`, :mod:`.keys`, :mod:`.passwords`,
:mod:`.codes` (cards and one-time codes), :mod:`.exempt` (the sweep of shapes with a visibility
exemption), :mod:`.warning` (the customer notice); :mod:`._spans` holds the span book-keeping
they share. This package is pure: no I/O at call time (the BIP39 word lists are read once at
import), no clock, and :func:`redact` never raises for any ``str``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._spans import KINDS, PLACEHOLDER_RE, Facts, Masks, apply_masks, placeholder
from .codes import asks_for_code, detect_otp
from .exempt import detect_exempt_shapes
from .keys import detect_config_values, detect_key_shapes, detect_triggered_values
from .passwords import detect_passwords
from .seeds import detect_continuation, detect_seed_phrases
from .warning import warning

__all__ = [
    "KINDS",
    "Redaction",
    "asks_for_code",
    "placeholder",
    "redact",
    "warning",
]


@dataclass(frozen=True, slots=True)
class Redaction:
    """The outcome of :func:`redact`: the masked text and which kinds of secret were found."""

    text: str
    kinds: tuple[str, ...]

    @property
    def masked(self) -> bool:
        """True when at least one secret was replaced."""
        return bool(self.kinds)


def _redact(text: str, expecting_2fa_code: bool, previous: str | None) -> Redaction:
    masks = Masks()
    for m in PLACEHOLDER_RE.finditer(text):
        masks.claim(m.start(), m.end(), None)
    found: set[str] = set()
    facts = Facts.of(text)
    detect_seed_phrases(text, masks, found, facts)
    if previous:
        detect_continuation(text, masks, found, previous)
    detect_key_shapes(text, masks, found)
    detect_config_values(text, masks, found, facts)
    detect_triggered_values(text, masks, found, facts)
    detect_passwords(text, masks, found, facts)
    detect_otp(text, masks, found, facts, expecting_2fa_code)
    detect_exempt_shapes(text, masks, found, facts)
    if not found:
        return Redaction(text, ())
    return Redaction(apply_masks(text, masks.spans), tuple(sorted(found)))


def redact(
    text: str, *, expecting_2fa_code: bool = False, previous: str | None = None
) -> Redaction:
    """Mask every secret in ``text``; ``expecting_2fa_code`` masks any bare 6-8 digit code.

    ``previous`` is the conversation's previous customer message as it was stored (already
    masked): when it ends with a seed phrase (masked, or visible words that this message's
    first words complete), the list words this message starts with are masked too. Only its
    last 400 characters are read.

    Never raises: a message that trips a bug in a detector is masked whole (text
    ``[redacted:unknown]``, kinds ``("unknown",)``) rather than passed through, because leaking
    a secret is worse than hiding a harmless message.
    """
    try:
        return _redact(text, expecting_2fa_code, previous)
    except Exception:  # a detector's bug (none known; test_masking_entry.py forces one)
        return Redaction(placeholder("unknown"), ("unknown",))
