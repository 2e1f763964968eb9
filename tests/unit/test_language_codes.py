"""Agents' --languages: ISO 639-1 codes only, so a typo cannot silently break routing."""

from __future__ import annotations

import pytest

from chatd.domain.languages import parse_languages


def test_codes_are_normalised() -> None:
    """Case, spaces, region subtags and duplicates are folded; empty means English."""
    assert parse_languages(" EN, zh-CN,tr_TR,zh ") == ("en", "tr", "zh")
    assert parse_languages("") == ("en",)


@pytest.mark.parametrize(("raw", "meant"), [("english", "en"), ("cn", "zh"), ("jp", "ja")])
def test_names_and_look_alikes_are_refused_with_a_hint(raw: str, meant: str) -> None:
    """A language name or a country code is refused, naming the code it probably meant."""
    with pytest.raises(ValueError, match=f"did you mean '{meant}'"):
        parse_languages(f"en,{raw}")


def test_unknown_codes_are_refused() -> None:
    """A code that is no language at all is refused without a guess."""
    with pytest.raises(ValueError, match="'xx' is not an ISO 639-1") as refused:
        parse_languages("xx")
    assert "did you mean" not in str(refused.value)


def test_only_the_language_subtag_counts_and_empty_parts_are_skipped() -> None:
    """Of "zh-Hant-TW" only "zh" is kept; an empty part between commas does not end the list."""
    assert parse_languages("zh-Hant-TW") == ("zh",)
    assert parse_languages("en,,ru, ,ko") == ("en", "ko", "ru")


def test_a_refusal_without_a_guess_ends_with_the_examples() -> None:
    """Without a likely meaning the message ends after the examples, with nothing appended."""
    with pytest.raises(ValueError) as refused:
        parse_languages("qq")
    assert str(refused.value).endswith("(such as en, zh, ru, es, ko, tr, vi)")
