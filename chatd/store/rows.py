"""Records to stored values and rows back to records, the same way for every backend.

A :class:`Rows` answers for one :class:`~chatd.store.sql.Dialect`: SQLite keeps tuples
(languages, skills, tags) as JSON text and booleans as 0/1 and returns rows as tuples in
column order; PostgreSQL binds tuples as ``TEXT[]`` and booleans as BOOLEAN and returns records
read by name. Event ``data`` comes back as JSON text from both (see ``Dialect.event_data``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chatd.store.base import AgentRecord, ConversationRecord, Event, TicketRecord
from chatd.store.sql import (
    AGENT_COLUMNS,
    CONVERSATION_READ_COLUMNS,
    EVENT_COLUMNS,
    TICKET_COLUMNS,
    Dialect,
)

__all__ = ["Rows", "dump_json"]

_TUPLE_FIELDS = frozenset({"languages", "skills", "tags"})
_BOOL_FIELDS = frozenset({"verified", "internal"})


def dump_json(value: Mapping[str, Any] | list[Any]) -> str:
    """Compact JSON that keeps non-ASCII text readable; ValueError if unencodable."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not JSON-serialisable: {exc}") from exc


class Rows:
    """Conversion between records and one dialect's stored values and rows."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect

    def to_db(self, name: str, value: Any) -> Any:
        """A field value as bound: tuples as arrays or JSON text, booleans as the dialect has
        them; ValueError for a tuple field given a string or a non-sequence."""
        if name in _TUPLE_FIELDS:
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise ValueError(f"{name} must be a sequence of strings, got {value!r}")
            return list(value) if self._dialect.native_arrays else dump_json(list(value))
        if name in _BOOL_FIELDS and not self._dialect.native_bools:
            return int(bool(value))
        return value

    def values(self, record: Any, names: Sequence[str]) -> list[Any]:
        """The stored values of ``record``'s fields ``names``, in order."""
        return [self.to_db(name, getattr(record, name)) for name in names]

    def _from_db(self, names: Sequence[str], row: Any) -> dict[str, Any]:
        """A row as dataclass keyword arguments (inverse of :meth:`to_db`)."""
        if self._dialect.rows_by_name:
            values = {name: row[name] for name in names}
        else:
            values = dict(zip(names, row, strict=True))
        for name in _TUPLE_FIELDS.intersection(values):
            raw = values[name]
            values[name] = tuple(raw) if self._dialect.native_arrays else tuple(json.loads(raw))
        if not self._dialect.native_bools:
            for name in _BOOL_FIELDS.intersection(values):
                values[name] = bool(values[name])
        return values

    def agent(self, row: Any) -> AgentRecord:
        """A row of ``Queries.select_agent``."""
        return AgentRecord(**self._from_db(AGENT_COLUMNS, row))

    def conversation(self, row: Any) -> ConversationRecord:
        """A row of ``Queries.select_conversation`` (or, read by name, any row with its columns)."""
        return ConversationRecord(**self._from_db(CONVERSATION_READ_COLUMNS, row))

    def event(self, row: Any) -> Event:
        """A row of ``Queries.select_event``."""
        values = self._from_db(EVENT_COLUMNS, row)
        values["data"] = json.loads(values["data"])
        return Event(**values)

    def ticket(self, row: Any) -> TicketRecord:
        """A row of ``Queries.select_ticket``."""
        return TicketRecord(**self._from_db(TICKET_COLUMNS, row))
