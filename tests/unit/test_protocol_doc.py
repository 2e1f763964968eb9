"""PROTOCOL.md stays true to chatd/protocol/: every type and code is documented, and every
client example in it decodes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatd import protocol as p

DOC = (Path(__file__).resolve().parents[2] / "PROTOCOL.md").read_text()
BLOCKS = re.findall(r"```json( client-(?:customer|agent))?\n(.*?)```", DOC, re.S)


def test_every_client_message_type_is_documented() -> None:
    """Each customer and agent message type has an example block."""
    customer = {b.split('"type": "')[1].split('"')[0] for k, b in BLOCKS if k.endswith("customer")}
    agent = {b.split('"type": "')[1].split('"')[0] for k, b in BLOCKS if k.endswith("agent")}
    assert customer == set(p.CUSTOMER_MESSAGES)
    assert agent == set(p.AGENT_MESSAGES)


@pytest.mark.parametrize(("kind", "block"), [b for b in BLOCKS if b[0]])
def test_client_examples_decode(kind: str, block: str) -> None:
    """Every client example is a valid frame of its side."""
    decode = p.decode_customer if kind.endswith("customer") else p.decode_agent
    decode(block)


def test_error_and_close_codes_documented() -> None:
    """Every error code and close code appears in the document's tables."""
    for code in p.ERROR_CODES:
        assert f"| `{code}` |" in DOC
    for close in p.CLOSE_CODES:
        assert f"| {close} |" in DOC


def test_event_kinds_documented() -> None:
    """Every conversation event kind a customer can see has an example."""
    for kind in p.CUSTOMER_DATA_KEYS:
        assert f'{{"type": "{kind}", "conversation_id"' in DOC, kind
