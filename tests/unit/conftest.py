"""Unit-test fixtures: each test starts with the pure core's memo caches empty."""

from __future__ import annotations

import pytest

from chatd.domain import routing, wait


@pytest.fixture(autouse=True)
def _empty_domain_caches() -> None:
    """A cache filled by an earlier test would hide the code behind it from this one. Under
    mutmut, which forks each mutant from a process that ran the tests once, a full cache of
    ``wait._unit_erlang_quantile`` let every mutant of ``_erlang_survival`` survive unseen."""
    wait._unit_erlang_quantile.cache_clear()
    routing.language_of.cache_clear()
