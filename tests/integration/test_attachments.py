"""Attachments through a real server: uploads over multipart HTTP, the attachment event live
and on resume, downloads and who may make them, the refusals, EXIF removal, quotas and limits,
files on disk (embedded) and rows in PostgreSQL (cluster store), and kill -9 between the file
and its event."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from chatd.client import AgentClient, CustomerClient
from tests.support.harness import Harness
from tests.support.server import start_server


def png_bytes(
    size: tuple[int, int] = (32, 24), color: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF holds a GPS position and a camera serial number."""
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "ChatdCam"  # Make
    exif[0xA431] = "SERIAL-12345"  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 29.0)
    gps[3] = "E"
    gps[4] = (2.0, 17.0, 40.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


async def upload(
    chatd: Any,
    conversation_id: str,
    token: str | None,
    content: bytes,
    *,
    filename: str = "screenshot.png",
    content_type: str = "image/png",
    cid: str | None = None,
) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    if cid is not None:
        form.add_field("cid", cid)
    form.add_field("file", content, filename=filename, content_type=content_type)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{chatd.url}/api/conversations/{conversation_id}/attachments",
            data=form,
            headers=headers,
        ) as r:
            return r.status, await r.json()


async def download(chatd: Any, url: str, token: str | None) -> tuple[int, bytes, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http:
        async with http.get(chatd.url + url, headers=headers) as r:
            return r.status, await r.read(), dict(r.headers)


async def assigned_pair(chatd: Harness) -> tuple[CustomerClient, AgentClient, str]:
    """A customer talking to an agent; returns them and the agent's token."""
    token = await chatd.add_agent("Frank")
    agent = await chatd.agent(token)
    customer = await chatd.customer()
    await customer.action("request_human")
    await customer.wait_for("assigned")
    await agent.wait_for("chat_assigned")
    return customer, agent, token


def files_under(data_dir: Path) -> list[Path]:
    root = data_dir / "attachments"
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and ".pending" not in p.parts)


async def test_customer_upload_reaches_agent_and_downloads_intact(chatd: Harness) -> None:
    """A customer's PNG: 201 with its object, one attachment event live to both sides, the
    same bytes back (re-encoded PNG) with its type, nosniff and a Content-Disposition."""
    customer, agent, agent_token = await assigned_pair(chatd)
    conv = customer.conversation_id
    status, body = await upload(chatd, conv, customer.resume_token, png_bytes(), cid="up1")
    assert status == 201, body
    att = body["attachment"]
    assert set(att) == {"id", "name", "content_type", "size", "url"}
    assert att["name"] == "screenshot.png" and att["content_type"] == "image/png"
    assert att["url"] == f"/api/conversations/{conv}/attachments/{att['id']}"
    seen_by_customer = await customer.wait_for("attachment")
    seen_by_agent = await agent.wait_for("attachment")
    for frame in (seen_by_customer, seen_by_agent):
        assert frame["attachment"] == att
        assert frame["conversation_id"] == conv and frame["author"] == "customer"
        assert isinstance(frame["seq"], int)
    for token in (customer.resume_token, agent_token):
        status, data, headers = await download(chatd, att["url"], token)
        assert status == 200
        assert headers["Content-Type"] == "image/png"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Disposition"].startswith("inline;")
        assert len(data) == att["size"]
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG" and image.size == (32, 24)
            assert image.getpixel((0, 0)) == (200, 30, 30)
    assert len(files_under(chatd.data_dir)) == 1
    await customer.close()
    await agent.close()


async def test_agent_sends_a_file_and_resume_replays_it(chatd: Harness) -> None:
    """The assigned agent uploads a PDF; the customer gets it live, again on resume, and the
    operator's transcript and export list it."""
    customer, agent, agent_token = await assigned_pair(chatd)
    conv = customer.conversation_id
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    status, body = await upload(
        chatd, conv, agent_token, pdf, filename="fees.pdf", content_type="application/pdf"
    )
    assert status == 201, body
    att = body["attachment"]
    frame = await customer.wait_for("attachment")
    assert frame["author"] == "agent" and frame["author_name"] == "Frank"
    token = customer.resume_token
    await customer.close()
    back = await chatd.customer(resume_token=token, last_seq=frame["seq"] - 1)
    replayed = await back.wait_for("attachment")
    assert replayed["attachment"] == att and replayed["seq"] == frame["seq"]
    status, data, headers = await download(chatd, att["url"], token)
    assert status == 200 and data == pdf
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "fees.pdf" in headers["Content-Disposition"]

    op = await chatd.add_agent("Olivia", role="operator")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {op}"}) as http:
        async with http.get(f"{chatd.url}/api/conversations/{conv}") as r:
            events = (await r.json())["events"]
        listed = [e for e in events if e["type"] == "attachment"]
        assert [e["attachment"] for e in listed] == [att]
        async with http.get(f"{chatd.url}/api/export?format=jsonl") as r:
            lines = [json.loads(line) for line in (await r.text()).splitlines()]
        assert [e["attachment"] for e in lines if e["type"] == "attachment"] == [att]
        async with http.get(f"{chatd.url}/api/export?format=csv") as r:
            text = (await r.text()).lstrip("\ufeff")
        assert "fees.pdf" in text and att["url"] in text
    status, data, _ = await download(chatd, att["url"], op)
    assert status == 200 and data == pdf
    await back.close()
    await agent.close()


async def test_who_may_upload_and_download(chatd: Harness) -> None:
    """No token 401; an operator may not upload; another customer, an agent the chat is not
    assigned to: 403 both ways, and never the bytes; an unknown conversation or file 404."""
    customer, agent, _ = await assigned_pair(chatd)
    conv = customer.conversation_id
    other = await chatd.customer()
    stranger = await chatd.add_agent("Mallory")
    op = await chatd.add_agent("Olivia", role="operator")
    assert (await upload(chatd, conv, None, png_bytes()))[0] == 401
    assert (await upload(chatd, conv, "garbage.token", png_bytes()))[0] == 401
    status, body = await upload(chatd, conv, op, png_bytes())
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert (await upload(chatd, conv, other.resume_token, png_bytes()))[0] == 403
    assert (await upload(chatd, conv, stranger, png_bytes()))[0] == 403
    status, body = await upload(chatd, "nope" + conv[4:], stranger, png_bytes())
    assert status == 404 and body["error"]["code"] == "not_found"

    status, body = await upload(chatd, conv, customer.resume_token, png_bytes())
    url = body["attachment"]["url"]
    for token in (None, other.resume_token, stranger):
        status, data, _ = await download(chatd, url, token)
        assert status in (401, 403) and b"PNG" not in data
    assert (await download(chatd, url[:-4] + "0000", op))[0] == 404
    assert (await download(chatd, url + "/../../x", op))[0] == 404
    await customer.close()
    await other.close()
    await agent.close()


@pytest.mark.parametrize(
    ("content", "filename", "content_type", "status", "code"),
    [
        (
            b"MZ\x90\x00" + bytes(200),
            "setup.exe",
            "application/octet-stream",
            415,
            "unsupported_type",
        ),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>\x00",
            "a.svg",
            "image/svg+xml",
            415,
            "unsupported_type",
        ),
        (b"%PDF-1.4 but named as a picture", "photo.png", "image/png", 415, "unsupported_type"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), "broken.png", "image/png", 415, "unsupported_type"),
        (png_bytes((1200, 1000)), "big.png", "image/png", 413, "too_large"),
    ],
)
async def test_type_and_size_refusals(
    chatd: Harness,
    settings: dict[str, dict[str, Any]],
    content: bytes,
    filename: str,
    content_type: str,
    status: int,
    code: str,
) -> None:
    """The type comes from the bytes: not allowed, or not the image the name claims: 415;
    an image with too many pixels: 413. Nothing is stored."""
    customer = await chatd.customer()
    got, body = await upload(
        chatd,
        customer.conversation_id,
        customer.resume_token,
        content,
        filename=filename,
        content_type=content_type,
    )
    assert (got, body["error"]["code"]) == (status, code), body
    assert files_under(chatd.data_dir) == []
    await customer.close()


@pytest.fixture
def settings() -> dict[str, dict[str, Any]]:
    return {"attachments": {"max_pixels": 1_000_000}}


async def restart_with(chatd: Harness, attachments: dict[str, Any]) -> None:
    chatd.settings.setdefault("attachments", {}).update(attachments)
    await chatd.restart()


async def test_too_many_bytes_is_413_and_text_is_accepted(chatd: Harness) -> None:
    """Over [attachments] max_bytes: 413 too_large; UTF-8 text with any name is text/plain."""
    await restart_with(chatd, {"max_bytes": 1000})
    customer = await chatd.customer()
    conv, token = customer.conversation_id, customer.resume_token
    status, body = await upload(chatd, conv, token, b"a" * 1001, filename="log.txt")
    assert (status, body["error"]["code"]) == (413, "too_large")
    text = "提现 pending since 10:02\nTXID 0xabc\n".encode()
    status, body = await upload(chatd, conv, token, text, filename="notes.log", content_type="")
    assert status == 201, body
    assert body["attachment"]["content_type"] == "text/plain; charset=utf-8"
    status, data, headers = await download(chatd, body["attachment"]["url"], token)
    assert data == text and headers["Content-Disposition"].startswith("attachment;")
    await customer.close()


async def test_exif_gps_is_gone_from_the_stored_jpeg(chatd: Harness) -> None:
    """A JPEG with a GPS position and a camera serial is stored without any EXIF."""
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif().get_ifd(0x8825)  # the test's own precondition
    customer = await chatd.customer()
    status, body = await upload(
        chatd,
        customer.conversation_id,
        customer.resume_token,
        original,
        filename="IMG_0001.JPG",
        content_type="image/jpeg",
    )
    assert status == 201, body
    (stored,) = files_under(chatd.data_dir)
    raw = stored.read_bytes()
    assert b"SERIAL-12345" not in raw and b"ChatdCam" not in raw and b"Exif" not in raw
    with Image.open(io.BytesIO(raw)) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
        assert not image.getexif()
    await customer.close()


_PART = b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"hello"),
        ("multipart/form-data", b"no boundary"),
        ("multipart/form-data; boundary=XX", b"--XX\r\n" + _PART + b"\r\nnever ends"),
        ("multipart/form-data; boundary=XX", b"--XX\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n"),
        ("multipart/form-data; boundary=XX", b"--XX\r\n" + b"X-H: a\r\n" * 50_000),
        (
            "multipart/form-data; boundary=XX",
            b"--XX\r\nContent-Type: multipart/mixed; "
            b"boundary=YY\r\n" + _PART + b"\r\n--YY\r\n\r\nx\r\n--YY--\r\n--XX--\r\n",
        ),
        ("multipart/form-data; boundary=XX", b"--XX\r\n\r\nno name\r\n--XX--\r\n"),
        ("multipart/form-data; boundary=XX", b"--XX\r\n" + _PART + b"\r\n\r\n--XX--\r\n"),
    ],
)
async def test_malformed_bodies_are_400(chatd: Harness, content_type: str, body: bytes) -> None:
    """Not multipart, no boundary, a part that never ends, a part header of 1 MB or 50,000
    headers, nested multipart, no file part, an empty file: 400 invalid_field, nothing stored."""
    customer = await chatd.customer()
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{chatd.url}/api/conversations/{customer.conversation_id}/attachments",
            data=body,
            headers={
                "Content-Type": content_type,
                "Authorization": f"Bearer {customer.resume_token}",
            },
        ) as r:
            assert r.status == 400, await r.text()
            assert (await r.json())["error"]["code"] == "invalid_field"
    assert files_under(chatd.data_dir) == []
    await customer.close()


async def test_a_closed_chat_takes_no_files_but_keeps_them(chatd: Harness) -> None:
    """After the chat closed: an upload is 409 invalid_state; its files still download."""
    customer = await chatd.customer()
    conv, token = customer.conversation_id, customer.resume_token
    _, body = await upload(chatd, conv, token, png_bytes())
    await customer.action("close")
    await customer.wait_for("closed")
    status, refused = await upload(chatd, conv, token, png_bytes())
    assert (status, refused["error"]["code"]) == (409, "invalid_state")
    assert (await download(chatd, body["attachment"]["url"], token))[0] == 200
    await customer.close()


async def test_forgetting_a_conversation_deletes_its_files(chatd: Harness) -> None:
    """The files of a conversation being deleted go with it; another conversation's stay."""
    one, two = await chatd.customer(), await chatd.customer()
    for c in (one, two):
        assert (await upload(chatd, c.conversation_id, c.resume_token, png_bytes()))[0] == 201
    await chatd.service.attachments.forget_conversation(one.conversation_id)
    (left,) = files_under(chatd.data_dir)
    assert left.parent.name == two.conversation_id
    await one.close()
    await two.close()


async def test_cid_retry_stores_once(chatd: Harness) -> None:
    """The same cid twice: the same attachment, one event, one file."""
    customer = await chatd.customer()
    conv, token = customer.conversation_id, customer.resume_token
    first = await upload(chatd, conv, token, png_bytes(), cid="retry-1")
    second = await upload(chatd, conv, token, png_bytes(color=(0, 0, 0)), cid="retry-1")
    assert first[0] == 201 and second[0] == 200
    assert first[1]["attachment"] == second[1]["attachment"]
    events = await chatd.service.store.events(conv)
    assert [e.kind for e in events].count("attachment") == 1
    assert len(files_under(chatd.data_dir)) == 1
    await customer.close()


async def test_conversation_quota_and_upload_rate_limit(chatd: Harness) -> None:
    """Past the conversation's quota: 413 quota_exceeded; past the address's burst: 429 with
    Retry-After, before the body is read."""
    one = len(_reencoded_png())
    await restart_with(
        chatd,
        {
            "conversation_quota_bytes": one * 2,
            "upload_burst_per_ip": 4,
            "uploads_per_ip_per_min": 1.0,
        },
    )
    customer = await chatd.customer()
    conv, token = customer.conversation_id, customer.resume_token
    answers = [await upload(chatd, conv, token, png_bytes()) for _ in range(3)]
    assert [a[0] for a in answers] == [201, 201, 413]
    assert answers[2][1]["error"]["code"] == "quota_exceeded"
    status, body = await upload(chatd, conv, token, png_bytes())
    assert (status, body["error"]["code"]) == (413, "quota_exceeded")
    status, body = await upload(chatd, conv, token, png_bytes())
    assert (status, body["error"]["code"]) == (429, "rate_limited")
    assert len(files_under(chatd.data_dir)) == 2
    await customer.close()


def _reencoded_png() -> bytes:
    from chatd.service.attachment_files import prepare

    return prepare(
        png_bytes(),
        filename="a.png",
        declared="image/png",
        allowed=("image/png",),
        max_pixels=10**6,
    ).content


async def test_signed_link_serves_an_img_and_expires(chatd: Harness) -> None:
    """GET .../link gives a url that works without a header (an <img src>); a forged
    signature or an expired link is 403."""
    customer = await chatd.customer()
    conv, token = customer.conversation_id, customer.resume_token
    _, body = await upload(chatd, conv, token, png_bytes())
    url = body["attachment"]["url"]
    async with aiohttp.ClientSession() as http:
        async with http.get(chatd.url + url + "/link") as r:
            assert r.status == 401
        async with http.get(
            chatd.url + url + "/link", headers={"Authorization": f"Bearer {token}"}
        ) as r:
            signed = await r.json()
    assert signed["expires_at"] > time.time()
    status, data, _ = await download(chatd, signed["url"], None)
    assert status == 200 and data.startswith(b"\x89PNG")
    forged = signed["url"][:-3] + ("AAA" if not signed["url"].endswith("AAA") else "BBB")
    assert (await download(chatd, forged, None))[0] == 403
    past = int(time.time()) - 10
    mac = chatd.service.attachments._mac(conv, body["attachment"]["id"], past)
    assert (await download(chatd, f"{url}?exp={past}&sig={mac}", None))[0] == 403
    await customer.close()


async def test_crash_between_file_and_event_leaves_no_orphan(tmp_path: Path) -> None:
    """kill -9 right after the file is written, before its event: the restarted server
    removes the file, and the conversation has no attachment event."""
    data_dir = tmp_path / "data"
    server = start_server(data_dir, env={"CHATD_TEST_CRASH_POINT": "after_blob"})
    try:
        customer = await CustomerClient.connect(server.ws_url)
        conv = customer.conversation_id
        with pytest.raises(aiohttp.ClientError):
            await upload(server, conv, customer.resume_token, png_bytes())
        assert server.proc.wait(10) == -9
        assert len(files_under(data_dir)) == 1  # the crash left a file without an event
        customer.abort()
    finally:
        server.kill()
    server = start_server(data_dir, port=server.port)
    try:
        for _ in range(100):
            if not files_under(data_dir):
                break
            await asyncio.sleep(0.05)
        assert files_under(data_dir) == []
        assert "attachment_orphans_removed" in server.log()
        with sqlite3.connect(data_dir / "chatd.db") as db:
            kinds = [
                k
                for (k,) in db.execute("SELECT kind FROM events WHERE conversation_id = ?", (conv,))
            ]
        assert "attachment" not in kinds
        # And the server works: the same customer uploads again.
        customer = await CustomerClient.connect(server.ws_url, resume_token=customer.resume_token)
        status, _ = await upload(server, conv, customer.resume_token, png_bytes())
        assert status == 201 and len(files_under(data_dir)) == 1
        await customer.close()
    finally:
        server.stop()
