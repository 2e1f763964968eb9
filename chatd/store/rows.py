"""Records to stored values and rows back to records, the same way for every backend.

A :class:`Rows` answers for one :class:`~chatd.store.sql.Dialect`: SQLite keeps tuples
(languages, skills, tags) as JSON text and booleans as 0/1 and returns rows as tuples in
column order; PostgreSQL binds tuples as ``TEXT[]`` and booleans as BOOLEAN and returns records
read by name. Event ``data`` comes back as JSON text from both (see ``Dialect.event_data``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
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


def _json_tuple(text: str) -> tuple[Any, ...]:
    return tuple(json.loads(text))


class _Shape:
    """How one record type's rows are read: its columns and which of them need converting."""

    __slots__ = ("bools", "names", "tuples")

    def __init__(self, names: Sequence[str], dialect: Dialect) -> None:
        self.names = tuple(names)
        self.tuples = tuple(name for name in names if name in _TUPLE_FIELDS)
        self.bools = () if dialect.native_bools else tuple(n for n in names if n in _BOOL_FIELDS)


class Rows:
    """Conversion between records and one dialect's stored values and rows.

    What to convert is worked out once per record type here, not per row: a conversation is
    read at least once for every message.
    """

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._load_tuple: Callable[[Any], tuple[Any, ...]] = (
            tuple if dialect.native_arrays else _json_tuple
        )
        self._agent = _Shape(AGENT_COLUMNS, dialect)
        self._conversation = _Shape(CONVERSATION_READ_COLUMNS, dialect)
        self._event = _Shape(EVENT_COLUMNS, dialect)
        self._ticket = _Shape(TICKET_COLUMNS, dialect)

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

    def _from_db(self, shape: _Shape, row: Any) -> dict[str, Any]:
        """A row as dataclass keyword arguments (inverse of :meth:`to_db`)."""
        if self._dialect.rows_by_name:
            values = {name: row[name] for name in shape.names}
        else:
            values = dict(zip(shape.names, row, strict=True))
        for name in shape.tuples:
            values[name] = self._load_tuple(values[name])
        for name in shape.bools:
            values[name] = bool(values[name])
        return values

    def agent(self, row: Any) -> AgentRecord:
        """A row of ``Queries.select_agent``."""
        return AgentRecord(**self._from_db(self._agent, row))

    def conversation(self, row: Any) -> ConversationRecord:
        """A row of ``Queries.select_conversation`` (or, read by name, any row with its columns)."""
        return ConversationRecord(**self._from_db(self._conversation, row))

    def event(self, row: Any) -> Event:
        """A row of ``Queries.select_event``."""
        values = self._from_db(self._event, row)
        values["data"] = json.loads(values["data"])
        return Event(**values)

    def ticket(self, row: Any) -> TicketRecord:
        """A row of ``Queries.select_ticket``."""
        return TicketRecord(**self._from_db(self._ticket, row))
