"""Transcript export formats shared by the HTTP API and the CLI: JSONL and CSV rows."""

from __future__ import annotations

import datetime as dt
import json

from chatd.protocol import event_frame
from chatd.store.base import Event

__all__ = ["CSV_COLUMNS", "csv_row", "jsonl_line"]

CSV_COLUMNS = (
    "conversation_id",
    "seq",
    "time",
    "kind",
    "author",
    "author_name",
    "internal",
    "text",
    "data",
)


def jsonl_line(event: Event) -> str:
    """One event as a JSON line (the operator view: internal events and data included)."""
    return json.dumps(event_frame(event, for_customer=False), ensure_ascii=False) + "\n"


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas: customers write these cells, operators open them."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_row(event: Event) -> list[str]:
    """One event as a CSV row in CSV_COLUMNS order (text cells safe to open in a spreadsheet)."""
    return [
        event.conversation_id,
        str(event.seq),
        dt.datetime.fromtimestamp(event.ts, dt.UTC).isoformat(),
        event.kind,
        event.author,
        _cell(event.author_name or ""),
        "1" if event.internal else "0",
        _cell(event.text or ""),
        json.dumps(dict(event.data), ensure_ascii=False) if event.data else "",
    ]
