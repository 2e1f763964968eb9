"""The published schemas stay true: docs/protocol.schema.json and docs/openapi.json equal a fresh
generation, every PROTOCOL.md example validates, every frame the decoder accepts validates, and
every route the app registers is in the OpenAPI document."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from chatd import protocol as p
from chatd.config import Config
from chatd.docs_gen import DOCS, ROOT, render
from chatd.protocol.schema import protocol_schema
from chatd.web.app import make_app
from chatd.web.openapi import openapi_document

DOC = (ROOT / "PROTOCOL.md").read_text()
BLOCKS = re.findall(r"```json( client-(?:customer|agent))?\n(.*?)```", DOC, re.S)
SCHEMA = protocol_schema()


def _validator(name: str) -> Draft202012Validator:
    """A validator for one of the schema's unions ($defs/name), resolving its references."""
    return Draft202012Validator({**SCHEMA, "anyOf": [{"$ref": f"#/$defs/{name}"}]})


SIDES = {name: _validator(name) for name in SCHEMA["$defs"] if "_to_" in name}


@pytest.mark.parametrize("name", sorted(DOCS))
def test_committed_file_is_fresh(name: str) -> None:
    """A committed schema that differs from its definitions fails, naming the command."""
    committed = (ROOT / name).read_text(encoding="utf-8")
    assert committed == render(DOCS[name]), f"{name} is stale: run python -m chatd.docs_gen"


def test_schemas_are_valid_json_schema() -> None:
    """The protocol schema, and every schema inside the OpenAPI document, are valid 2020-12."""
    Draft202012Validator.check_schema(SCHEMA)
    doc = openapi_document()
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    for ops in doc["paths"].values():
        for op in ops.values():
            for answer in op["responses"].values():
                for body in answer.get("content", {}).values():
                    Draft202012Validator.check_schema(body["schema"])


def test_every_frame_type_is_in_the_schema() -> None:
    """Each client message type of each side has its definition."""
    for side, table in (("customer", p.CUSTOMER_MESSAGES), ("agent", p.AGENT_MESSAGES)):
        assert {f"{side}.{t}" for t in table} <= set(SCHEMA["$defs"])


@pytest.mark.parametrize(("kind", "block"), BLOCKS)
def test_protocol_md_examples_validate(kind: str, block: str) -> None:
    """Every example frame of PROTOCOL.md is valid for its direction (server examples: for a
    customer or an agent)."""
    frame = json.loads(block)
    if kind:
        side = kind.removeprefix(" client-")
        SIDES[f"{side}_to_server"].validate(frame)
        return
    errors = [list(SIDES[f"server_to_{side}"].iter_errors(frame)) for side in ("customer", "agent")]
    if all(errors):
        why = best_match(errors[0] + errors[1])
        raise AssertionError(f"{frame['type']}: {why.message} at {list(why.absolute_path)}")


def test_schema_rejects_what_the_decoder_rejects_for_a_field() -> None:
    """Frames the decoder refuses with invalid_field or too_long fail the schema too."""
    for raw in (
        {"type": "message", "cid": "c-1"},
        {"type": "message", "cid": None, "text": "x"},
        {"type": "message", "cid": "c-1", "text": "x" * 4001},
        {"type": "message", "cid": "c-1", "text": " \n "},
        {"type": "csat", "cid": "c-1", "score": 6},
        {"type": "typing", "active": 1},
        {"type": "hello", "last_seq": 2**53 + 1},
    ):
        with pytest.raises(p.ProtocolError) as caught:
            p.decode_customer(json.dumps(raw))
        assert caught.value.code in ("invalid_field", "too_long")
        assert not SIDES["customer_to_server"].is_valid(raw), raw
    tags = {"type": "tag", "cid": "a", "conversation_id": "c", "tags": ["t"] * 21}
    with pytest.raises(p.ProtocolError):
        p.decode_agent(json.dumps(tags))
    assert not SIDES["agent_to_server"].is_valid(tags)


_values = st.none() | st.booleans() | st.integers() | st.text(max_size=6) | st.lists(st.text())
_NAMES = sorted(
    {f.name for m in (*p.CUSTOMER_MESSAGES.values(), *p.AGENT_MESSAGES.values()) for f in m.fields}
)


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from(["customer", "agent"]),
    type_=st.sampled_from(sorted({*p.CUSTOMER_MESSAGES, *p.AGENT_MESSAGES})),
    fields=st.dictionaries(st.sampled_from(_NAMES), _values, max_size=5),
)
def test_schema_and_decoder_agree(side: str, type_: str, fields: dict[str, Any]) -> None:
    """A frame the decoder accepts is valid in the schema; one it refuses for a field is not."""
    frame = {"type": type_, **fields}
    decode = p.decode_customer if side == "customer" else p.decode_agent
    valid = SIDES[f"{side}_to_server"].is_valid(frame)
    try:
        decode(json.dumps(frame))
    except p.ProtocolError as exc:
        if exc.code in ("invalid_field", "too_long"):
            assert not valid, (frame, exc.message)
        return
    assert valid, frame


def test_every_route_is_in_the_openapi_document(tmp_path: Path) -> None:
    """Every method and path the app registers is documented, and nothing else is."""
    config = Config()
    config = dataclasses.replace(
        config, server=dataclasses.replace(config.server, data_dir=str(tmp_path))
    )
    registered = {
        (route.resource.canonical, route.method.lower())
        for route in make_app(config).router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    documented = {
        (path, method) for path, ops in openapi_document()["paths"].items() for method in ops
    }
    assert registered - documented == set(), "add these to chatd/web/openapi.py PATHS"
    assert documented - registered == set(), "documented but not registered"
