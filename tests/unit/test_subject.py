"""A conversation's subject: the customer's first message, on one line, at most SUBJECT_CHARS."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chatd.service.views import subject_of
from chatd.store.base import SUBJECT_CHARS


def test_short_message_is_kept_on_one_line() -> None:
    assert subject_of("  where is\n my   withdrawal?\t") == "where is my withdrawal?"
    assert subject_of("我的提现还没到账") == "我的提现还没到账"


def test_long_message_is_cut_with_an_ellipsis() -> None:
    subject = subject_of("word " * 100)
    assert len(subject) == SUBJECT_CHARS and subject.endswith("…")
    assert subject.startswith("word word")


@given(st.text())
def test_subject_is_one_bounded_line_from_the_start_of_the_message(text: str) -> None:
    subject = subject_of(text)
    assert len(subject) <= SUBJECT_CHARS
    assert not any(ch.isspace() and ch != " " for ch in subject)
    words = " ".join(text.split())
    assert words.startswith(subject.removesuffix("…"))
