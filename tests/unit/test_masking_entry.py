"""The masker's entry point, ``redact``: its default and its promise never to raise (a
detector that fails masks the whole message). The detectors' own tests are test_redact*.py."""

from __future__ import annotations

import pytest

import chatd.domain.redact as masker
from chatd.domain.redact import Redaction, redact


def test_a_bare_code_is_masked_only_when_one_was_asked_for() -> None:
    """A bare six-digit number stays visible by default and is masked when a code is expected."""
    assert redact("482913") == Redaction("482913", ())
    assert redact("482913", expecting_2fa_code=True) == Redaction(
        "[redacted:otp_code]", ("otp_code",)
    )


def test_a_failing_detector_masks_the_whole_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """If a detector raises, the message is replaced whole by ``[redacted:unknown]`` with the
    kind ``unknown``, rather than passed through or raised."""

    def broken(*args: object) -> None:
        raise RuntimeError("a detector bug")

    monkeypatch.setattr(masker, "detect_passwords", broken)
    assert redact("my password is hunter2, seed abandon ...") == Redaction(
        "[redacted:unknown]", ("unknown",)
    )
