"""Attachments on the cluster store: the bytes are rows of PostgreSQL (every node reads them),
re-encoded without EXIF, a retried cid stores one row, a second server on the same database
serves the file, and the start-up sweep deletes a row whose event was never stored."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.integration.test_attachments import (
    assigned_pair,
    download,
    files_under,
    jpeg_with_gps,
    png_bytes,
    upload,
)
from tests.support.harness import Harness

asyncpg = pytest.importorskip("asyncpg")

pytestmark = pytest.mark.cluster


@pytest.fixture
def settings(postgres_url: str) -> dict[str, dict[str, Any]]:
    return {"storage": {"url": postgres_url}}


async def _rows(url: str) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        return list(
            await conn.fetch(
                "SELECT conversation_id, attachment_id, content, settled FROM attachment_blobs"
            )
        )
    finally:
        await conn.close()


async def test_bytes_live_in_postgresql_and_any_node_serves_them(
    chatd: Harness, postgres_url: str, tmp_path: Path
) -> None:
    """An upload is one settled row (no file on disk), without EXIF; a retry with the same cid
    adds nothing; another server on the same database serves the same bytes."""
    customer, agent, agent_token = await assigned_pair(chatd)
    conv, token = customer.conversation_id, customer.resume_token
    status, body = await upload(
        chatd, conv, token, jpeg_with_gps(), filename="p.jpg", content_type="image/jpeg", cid="x"
    )
    assert status == 201, body
    again = await upload(chatd, conv, token, jpeg_with_gps(), filename="p.jpg", cid="x")
    assert again[0] == 200 and again[1] == body
    frame = await agent.wait_for("attachment")
    assert frame["attachment"] == body["attachment"]
    (row,) = await _rows(postgres_url)
    assert row["settled"] and row["conversation_id"] == conv
    assert b"SERIAL-12345" not in row["content"] and b"Exif" not in row["content"]
    assert files_under(chatd.data_dir) == []

    other = Harness(tmp_path / "node2", {"storage": {"url": postgres_url}})
    await other.start()
    try:
        status, data, headers = await download(other, body["attachment"]["url"], agent_token)
        assert status == 200 and data == bytes(row["content"])
        assert headers["Content-Type"] == "image/jpeg"
        with Image.open(io.BytesIO(data)) as image:
            assert not image.getexif()
    finally:
        await other.stop()
    await customer.close()
    await agent.close()


async def test_sweep_deletes_a_row_without_its_event(chatd: Harness, postgres_url: str) -> None:
    """A row left by a crash before its event (unsettled, older than an upload in flight) is
    deleted at the next start; a settled one and an unsettled one whose event exists stay."""
    customer = await chatd.customer()
    conv, token = customer.conversation_id, customer.resume_token
    status, body = await upload(chatd, conv, token, png_bytes())
    assert status == 201
    kept = body["attachment"]["id"]
    old = time.time() - 3600
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute(
            "INSERT INTO attachment_blobs (conversation_id, attachment_id, content, created_at)"
            " VALUES ($1, 'at_orphan', $2, $3)",
            conv,
            png_bytes(),
            old,
        )
        # The crash after the event but before settling: it must stay.
        await conn.execute(
            "UPDATE attachment_blobs SET settled = FALSE, created_at = $2 WHERE attachment_id = $1",
            kept,
            old,
        )
    finally:
        await conn.close()
    await chatd.restart()
    rows = await _rows(postgres_url)
    assert [(r["attachment_id"], r["settled"]) for r in rows] == [(kept, True)]
    status, data, _ = await download(chatd, body["attachment"]["url"], token)
    assert status == 200 and data.startswith(b"\x89PNG")
    await customer.close()


async def test_rows_go_with_their_conversation(chatd: Harness, postgres_url: str) -> None:
    """Deleting a conversation (its events first, as the foreign keys ask) deletes its files."""
    customer = await chatd.customer()
    conv, token = customer.conversation_id, customer.resume_token
    assert (await upload(chatd, conv, token, png_bytes()))[0] == 201
    await customer.close()
    conn = await asyncpg.connect(postgres_url)
    try:
        async with conn.transaction():
            await conn.execute("DELETE FROM events WHERE conversation_id = $1", conv)
            await conn.execute("DELETE FROM conversations WHERE conversation_id = $1", conv)
    finally:
        await conn.close()
    assert await _rows(postgres_url) == []


async def test_a_running_node_sweeps_again(chatd: Harness, postgres_url: str) -> None:
    """On a shared store the sweep also runs while the node is up (another node's crash): an old
    orphan row goes, an upload younger than the in-flight window stays."""
    customer = await chatd.customer()
    conv = customer.conversation_id
    conn = await asyncpg.connect(postgres_url)
    try:
        for attachment_id, age in (("at_old", 3600), ("at_young", 5)):
            await conn.execute(
                "INSERT INTO attachment_blobs (conversation_id, attachment_id, content, created_at)"
                " VALUES ($1, $2, $3, $4)",
                conv,
                attachment_id,
                b"x",
                time.time() - age,
            )
    finally:
        await conn.close()
    attachments = chatd.service.attachments
    assert attachments._sweeper is not None  # scheduled every blobs.resweep_s
    assert await attachments.sweep() == 1
    assert [r["attachment_id"] for r in await _rows(postgres_url)] == ["at_young"]
    await customer.close()
