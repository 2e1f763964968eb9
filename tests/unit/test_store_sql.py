"""The SQL both stores share (chatd.store.sql) binds exactly the parameters it names, in each
backend's dialect: a builder that drifts out of step with its placeholders would bind a value to
the wrong column or fail only for some filter combinations."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from chatd.store.base import ConversationFilter
from chatd.store.postgres import DIALECT as POSTGRES
from chatd.store.sql import Dialect, Queries
from chatd.store.sqlite import DIALECT as SQLITE

DIALECTS = (SQLITE, POSTGRES)
_text = st.none() | st.text(max_size=5)
_time = st.none() | st.floats(allow_nan=False, allow_infinity=False)


def _bound(dialect: Dialect, sql: str) -> int:
    """How many parameters ``sql`` takes, checking numbered placeholders count up from 1."""
    if not dialect.numbered_params:
        return sql.count("?")
    numbers = [int(n) for n in re.findall(r"\$(\d+)", sql)]
    assert sorted(set(numbers)) == list(range(1, len(set(numbers)) + 1)), sql
    return len(set(numbers))


@given(
    st.builds(
        ConversationFilter,
        status=_text,
        agent_id=_text,
        intent=_text,
        user_id=_text,
        since=_time,
        until=_time,
        text=_text,
        limit=st.integers(0, 1000),
        offset=st.integers(0, 1000),
    )
)
def test_every_conversation_filter_binds_what_it_names(flt: ConversationFilter) -> None:
    """Any combination of filter fields yields as many placeholders as parameters."""
    for dialect in DIALECTS:
        sql, params = Queries(dialect).list_conversations(flt)
        assert _bound(dialect, sql) == len(params)


@given(
    st.dictionaries(st.sampled_from(["status", "agent_id", "tags", "updated_at"]), _text),
    st.dictionaries(st.sampled_from(["status", "agent_id"]), _text),
    st.sampled_from([None, "open"]),
    st.none() | st.integers(0, 10),
    st.booleans(),
)
def test_updates_events_and_tickets_bind_what_they_name(
    values: dict[str, object],
    expect: dict[str, object],
    status: str | None,
    limit: int | None,
    internal: bool,
) -> None:
    """Updates (with IS NULL conditions), event pages and ticket lists bind every parameter."""
    for dialect in DIALECTS:
        queries = Queries(dialect)
        built = [
            queries.events("c1", 0, internal, limit),
            queries.list_tickets(status, limit or 0),
            queries.update_ticket(7, {"status": "answered"}),
        ]
        if values:
            built.append(queries.update_conversation("c1", values, expect))
        for sql, params in built:
            assert _bound(dialect, sql) == len(params), sql
        assert _bound(dialect, queries.open_conversations) == len(queries.open_conversations_params)


def test_the_dialects_differ_only_where_declared() -> None:
    """The same query in both dialects is the same text once placeholders and the declared
    expressions are normalised: the SQL is written once."""
    flt = ConversationFilter(status="queued", since=1.0, text="Straße", limit=5)
    texts = []
    for dialect in DIALECTS:
        sql, _params = Queries(dialect).list_conversations(flt)
        sql = re.sub(r"\$\d+", "?", sql)
        for declared in (
            dialect.last_seq,
            dialect.contains.format(haystack=dialect.folded_event_text, needle="?"),
        ):
            sql = sql.replace(declared, "<dialect>")
        texts.append(sql)
    assert texts[0] == texts[1]
    assert "<dialect>" in texts[0]
