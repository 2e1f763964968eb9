"""The masker's detectors at their edges: length limits, masked neighbours, near-miss shapes.

Written from the survivors of a mutation run over ``chatd/domain/redact/`` (docs/testing.md,
"Survivors of the masker's detectors"): each test states what a customer would notice if the
detector were off by one there, a secret shown or an ordinary message mangled.
"""

from __future__ import annotations

from chatd.domain.redact import redact


def test_private_key_value_needs_32_characters() -> None:
    """After "private key:", 32 characters are a key; 31 are shown as written."""
    key = "a1" * 16
    assert redact(f"private key: {key}").text == "private key: [redacted:private_key]"
    assert redact(f"private key: {key[:31]}").text == f"private key: {key[:31]}"
