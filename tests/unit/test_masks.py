"""The masker's span index (chatd.domain.redact._spans.Masks) against a brute-force model."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chatd.domain.redact._spans import Masks

spans = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 12)), max_size=25)
probes = st.lists(st.tuples(st.integers(-2, 75), st.integers(0, 15)), min_size=1, max_size=20)


@given(spans, probes)
def test_masks_answer_like_a_list_scan(claims: list[tuple[int, int]], queries: list) -> None:
    """Claims are kept disjoint; every query agrees with a scan over the claimed spans."""
    masks = Masks()
    model: list[tuple[int, int]] = []
    for start, length in claims:
        end = start + length
        free = length > 0 and not any(s < end and start < e for s, e in model)
        assert masks.claim(start, end, "password") == free
        if free:
            model.append((start, end))
    model.sort()
    assert [(s, e) for s, e, _ in masks.spans] == model
    for start, length in queries:
        end = start + length
        hit = [(s, e) for s, e in model if s < end and start < e]
        assert masks.overlaps(start, end) == bool(hit)
        assert masks.crosses(start, end) == bool(hit)
        after = [s for s, _ in model if s >= start]
        assert masks.first_start_after(start) == (min(after) if after else None)
        before = [e for _, e in model if e <= start]
        assert masks.last_end_before(start) == (max(before) if before else 0)
        if length > 0:
            assert masks.end_of_first_overlap(start, end) == (hit[0][1] if hit else start)
