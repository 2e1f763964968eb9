"""``python -m chatd.docs_gen``: write the published schemas from their Python definitions.

- ``docs/protocol.schema.json``: JSON Schema of every WebSocket frame (``chatd.protocol.schema``);
- ``docs/openapi.json``: OpenAPI 3.1 of every HTTP route (``chatd.web.openapi``).

``--check`` writes nothing and exits 1 when a committed file differs from a fresh generation
(``tests/unit/test_published_schemas.py`` does the same).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatd.protocol.schema import protocol_schema
from chatd.web.openapi import openapi_document

__all__ = ["DOCS", "main", "render"]

ROOT = Path(__file__).resolve().parents[1]
#: Each published file (relative to the checkout) and what builds it.
DOCS: dict[str, Callable[[], dict[str, Any]]] = {
    "docs/protocol.schema.json": protocol_schema,
    "docs/openapi.json": openapi_document,
}


def render(build: Callable[[], dict[str, Any]]) -> str:
    """The file's text: stable key order as built, two-space indent, UTF-8, final newline."""
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatd.docs_gen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail on a stale file; write none")
    args = parser.parse_args(argv)
    stale = []
    for name, build in DOCS.items():
        path = ROOT / name
        text = render(build)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    verb = "stale" if args.check else "written"
    for name in stale:
        print(f"{name}: {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
