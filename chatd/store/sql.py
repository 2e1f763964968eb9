"""The SQL both backends run, written once; what differs between them is a :class:`Dialect`.

Each backend (:mod:`chatd.store.sqlite`, :mod:`chatd.store.postgres`) declares its dialect, builds
``Queries(its_dialect)`` once at import and runs the statements it gives. The queries themselves
(columns, filters, orderings, limits) are the same text for both; only these differ:

* placeholders: ``?`` (SQLite) or ``$1, $2, ...`` (PostgreSQL), see :class:`Params`;
* how a conversation's ``last_seq`` is read (SQLite derives it from the events, PostgreSQL keeps
  it in the row, the counter its appends lock);
* how ``events.data`` comes back as JSON text, how ``internal`` is tested, how a value is matched
  against a list, and the Unicode case-insensitive text search (both compare Python's
  ``str.casefold()`` of both sides, through a SQL function or a stored column).

The appends (SQLite's cid-aware insert in the group-commit writer, PostgreSQL's one-round-trip
bump-and-insert) and transactions and locking stay with their backend: they are what makes each
one fast and safe, and they are measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chatd.store.base import (
    OPEN_STATUSES,
    AgentRecord,
    ConversationFilter,
    ConversationRecord,
    Event,
    TicketRecord,
)

__all__ = [
    "AGENT_COLUMNS",
    "CONVERSATION_COLUMNS",
    "CONVERSATION_READ_COLUMNS",
    "CONVERSATION_STORED_COLUMNS",
    "EVENT_COLUMNS",
    "TICKET_COLUMNS",
    "Dialect",
    "Params",
    "Queries",
    "non_negative",
]

AGENT_COLUMNS: tuple[str, ...] = tuple(AgentRecord.__dataclass_fields__)
EVENT_COLUMNS: tuple[str, ...] = tuple(Event.__dataclass_fields__)
TICKET_COLUMNS: tuple[str, ...] = tuple(TicketRecord.__dataclass_fields__)
#: Every field of a conversation, in the dataclass's order.
CONVERSATION_COLUMNS: tuple[str, ...] = tuple(ConversationRecord.__dataclass_fields__)
#: What create_conversation writes: last_seq starts at 0 and only appends move it.
CONVERSATION_STORED_COLUMNS: tuple[str, ...] = tuple(
    name for name in CONVERSATION_COLUMNS if name != "last_seq"
)
#: The columns of :attr:`Queries.select_conversation`, in order.
CONVERSATION_READ_COLUMNS: tuple[str, ...] = (*CONVERSATION_STORED_COLUMNS, "last_seq")


@dataclass(frozen=True, slots=True)
class Dialect:
    """What one backend's SQL and driver do differently; everything else is shared."""

    name: str
    #: ``$1, $2, ...`` (PostgreSQL) instead of ``?`` (SQLite).
    numbered_params: bool
    #: Tuples bind as arrays (``TEXT[]``) rather than being stored as JSON text.
    native_arrays: bool
    #: Booleans bind as BOOLEAN rather than 0/1.
    native_bools: bool
    #: Rows are read by column name (asyncpg records) rather than by position (sqlite3 tuples).
    rows_by_name: bool
    #: The select expression giving ``events.data`` as JSON text.
    event_data: str
    #: The select expression giving a conversation ``c``'s last seq.
    last_seq: str
    #: The casefolded text of an event ``e`` (see the module docstring).
    folded_event_text: str
    #: ``{haystack}`` contains ``{needle}`` (no LIKE: % and _ in the search need no escaping).
    contains: str
    #: Only events that are not internal.
    not_internal: str
    #: ``column`` is one of a list bound as ONE parameter (``= ANY(...)``), rather than one
    #: parameter per value (``IN (?, ?)``).
    list_param: bool

    def placeholder(self, number: int) -> str:
        """The ``number``-th (from 1) parameter's placeholder."""
        return f"${number}" if self.numbered_params else "?"


class Params:
    """The parameters of one statement being built: ``params(value)`` binds and names one."""

    __slots__ = ("_numbered", "dialect", "values")

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._numbered = dialect.numbered_params
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        """Bind ``value``; its placeholder."""
        self.values.append(value)
        return f"${len(self.values)}" if self._numbered else "?"

    def one_of(self, column: str, values: Sequence[str]) -> str:
        """A condition: ``column`` is one of ``values`` (text)."""
        if self.dialect.list_param:
            return f"{column} = ANY({self(list(values))}::text[])"
        return f"{column} IN ({', '.join(self(value) for value in values)})"


def non_negative(name: str, value: int) -> int:
    """Reject negative limits and offsets (SQLite reads LIMIT -1 as 'no limit', PostgreSQL
    would raise a less helpful error)."""
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _insert(dialect: Dialect, table: str, columns: Sequence[str]) -> str:
    marks = ", ".join(dialect.placeholder(i) for i in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


class Queries:
    """Every statement the stores share, in one dialect: fixed ones as attributes (built once),
    the rest from methods that return ``(sql, params)``."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        p1, p2, p3 = (dialect.placeholder(i) for i in (1, 2, 3))
        # -- agents
        self.select_agent = f"SELECT {', '.join(AGENT_COLUMNS)} FROM agents"
        self.agent_by_id = f"{self.select_agent} WHERE agent_id = {p1}"
        self.agent_by_name = f"{self.select_agent} WHERE name = {p1}"
        self.agents_by_name = f"{self.select_agent} ORDER BY name"
        self.insert_agent = _insert(dialect, "agents", AGENT_COLUMNS)
        self.delete_agent = f"DELETE FROM agents WHERE agent_id = {p1}"
        # -- conversations
        self.select_conversation = (
            "SELECT "
            + ", ".join(f"c.{name}" for name in CONVERSATION_STORED_COLUMNS)
            + f", {dialect.last_seq} AS last_seq FROM conversations c"
        )
        self.conversation_by_id = f"{self.select_conversation} WHERE c.conversation_id = {p1}"
        self.insert_conversation = _insert(dialect, "conversations", CONVERSATION_STORED_COLUMNS)
        params = Params(dialect)
        self.open_conversations = (
            f"{self.select_conversation} WHERE {params.one_of('c.status', OPEN_STATUSES)}"
            " ORDER BY c.created_at, c.conversation_id"
        )
        self.open_conversations_params: tuple[Any, ...] = tuple(params.values)
        self.count_by_status = "SELECT status, COUNT(*) FROM conversations GROUP BY status"
        # -- events
        self.select_event = (
            "SELECT "
            + ", ".join(dialect.event_data if name == "data" else name for name in EVENT_COLUMNS)
            + " FROM events"
        )
        #: The event an author (base.cid_owner) already stored under a cid: a retry's answer.
        self.event_by_cid = (
            f"{self.select_event} WHERE conversation_id = {p1}"
            f" AND COALESCE(author_id, author) = {p2} AND cid = {p3}"
        )
        # -- tickets
        self.select_ticket = f"SELECT {', '.join(TICKET_COLUMNS)} FROM tickets"
        self.ticket_by_id = f"{self.select_ticket} WHERE ticket_id = {p1}"
        self.ticket_for_conversation = (
            f"{self.select_ticket} WHERE conversation_id = {p1} ORDER BY ticket_id DESC LIMIT 1"
        )
        self.insert_ticket = (
            "INSERT INTO tickets (conversation_id, created_at, contact, text)"
            f" VALUES ({p1}, {p2}, {p3}, {dialect.placeholder(4)}) RETURNING ticket_id"
        )

    def events(
        self, conversation_id: str, after_seq: int, include_internal: bool, limit: int | None
    ) -> tuple[str, list[Any]]:
        """Events with seq > after_seq in seq order."""
        p = Params(self.dialect)
        sql = f"{self.select_event} WHERE conversation_id = {p(conversation_id)}"
        sql += f" AND seq > {p(after_seq)}"
        if not include_internal:
            sql += f" AND {self.dialect.not_internal}"
        sql += " ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {p(non_negative('limit', limit))}"
        return sql, p.values

    def list_conversations(self, flt: ConversationFilter) -> tuple[str, list[Any]]:
        """Conversations matching every set field of ``flt``, newest first."""
        p = Params(self.dialect)
        clauses: list[str] = []
        for column, value in (
            ("status", flt.status),
            ("agent_id", flt.agent_id),
            ("intent", flt.intent),
            ("user_id", flt.user_id),
        ):
            if value is not None:
                clauses.append(f"c.{column} = {p(value)}")
        if flt.since is not None:
            clauses.append(f"c.created_at >= {p(float(flt.since))}")
        if flt.until is not None:
            clauses.append(f"c.created_at < {p(float(flt.until))}")
        if flt.text:
            # casefold in Python on both sides: SQL's lower() and LIKE fold ASCII only (SQLite,
            # a C-locale PostgreSQL), and our customers write in many scripts.
            found = self.dialect.contains.format(
                haystack=self.dialect.folded_event_text, needle=p(flt.text.casefold())
            )
            clauses.append(
                "EXISTS (SELECT 1 FROM events e WHERE e.conversation_id = c.conversation_id"
                f" AND {found})"
            )
        sql = self.select_conversation
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        limit = p(non_negative("limit", flt.limit))
        offset = p(non_negative("offset", flt.offset))
        sql += f" ORDER BY c.created_at DESC, c.conversation_id DESC LIMIT {limit} OFFSET {offset}"
        return sql, p.values

    def update_conversation(
        self,
        conversation_id: str,
        values: Mapping[str, Any],
        expect: Mapping[str, Any] | None = None,
    ) -> tuple[str, list[Any]]:
        """Set ``values`` (stored form) where the row also matches ``expect`` (stored form; None
        means IS NULL). Column names must come from CONVERSATION_FIELDS, never from input."""
        p = Params(self.dialect)
        sets = ", ".join(f"{name} = {p(value)}" for name, value in values.items())
        sql = f"UPDATE conversations SET {sets} WHERE conversation_id = {p(conversation_id)}"
        for name, value in (expect or {}).items():
            sql += f" AND {name} IS NULL" if value is None else f" AND {name} = {p(value)}"
        return sql, p.values

    def update_ticket(self, ticket_id: int, fields: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """Set ``fields`` of a ticket (names from base.TICKET_FIELDS, checked by the caller)."""
        p = Params(self.dialect)
        sets = ", ".join(f"{name} = {p(value)}" for name, value in fields.items())
        return f"UPDATE tickets SET {sets} WHERE ticket_id = {p(ticket_id)}", p.values

    def list_tickets(self, status: str | None, limit: int) -> tuple[str, list[Any]]:
        """Tickets with this status (any when None): open ones first, then oldest first."""
        p = Params(self.dialect)
        sql = self.select_ticket
        if status is not None:
            sql += f" WHERE status = {p(status)}"
        limit_mark = p(non_negative("limit", limit))
        sql += f" ORDER BY status <> 'open', created_at, ticket_id LIMIT {limit_mark}"
        return sql, p.values
