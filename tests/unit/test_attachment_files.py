"""What an uploaded file is (chatd.service.attachment_files): the type from the bytes, images
re-encoded without metadata, and any bytes at all either prepared or refused with a stable code."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from chatd.config import ATTACHMENT_TYPES
from chatd.service.attachment_files import FileRefused, Prepared, display_name, prepare, sniff


def _image(fmt: str, size: tuple[int, int] = (20, 10), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(out, format=fmt, **save)
    return out.getvalue()


def _prepare(content: bytes, filename: str = "f", declared: str | None = None) -> Prepared:
    return prepare(
        content, filename=filename, declared=declared, allowed=ATTACHMENT_TYPES, max_pixels=10_000
    )


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_images_are_recognised_by_their_bytes_and_reencoded(fmt: str, kind: str) -> None:
    """Each allowed image type is found from its bytes (whatever the name) and comes back as a
    readable image of the same type and size."""
    content = _image(fmt)
    assert sniff(content) == kind
    prepared = _prepare(content, filename="no-extension")
    assert prepared.content_type == kind
    with Image.open(io.BytesIO(prepared.content)) as image:
        assert image.size == (20, 10)


def test_exif_is_dropped_and_orientation_applied() -> None:
    """A JPEG rotated by its EXIF orientation is stored upright, without EXIF."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "Cam"
    prepared = _prepare(_image("JPEG", exif=exif), filename="p.jpg")
    with Image.open(io.BytesIO(prepared.content)) as image:
        assert image.size == (10, 20) and not image.getexif()


@pytest.mark.parametrize(
    ("content", "filename", "declared", "code"),
    [
        (_image("PNG"), "photo.jpg", None, "unsupported_type"),  # the name claims a JPEG
        (_image("PNG"), "x", "image/gif", "unsupported_type"),  # the declared type claims a GIF
        (b"%PDF-1.7 ...", "scan.png", None, "unsupported_type"),
        (b"\x00\x01binary", "a.txt", "text/plain", "unsupported_type"),
        (b"text with a \x1b escape", "a.txt", None, "unsupported_type"),
        (_image("PNG", (200, 100)), "big.png", None, "too_large"),  # 20,000 px > 10,000
    ],
)
def test_refusals(content: bytes, filename: str, declared: str | None, code: str) -> None:
    with pytest.raises(FileRefused) as refused:
        _prepare(content, filename, declared)
    assert refused.value.code == code
    assert refused.value.status == (413 if code == "too_large" else 415)


def test_text_and_pdf_are_kept_as_sent() -> None:
    text = "提现 pending\r\n\ttab ok\n".encode()
    assert _prepare(text, "notes.log").content == text
    pdf = b"%PDF-1.4\n%%EOF\n"
    assert _prepare(pdf, "x.bin", "application/octet-stream").content == pdf


@pytest.mark.parametrize(
    ("filename", "kind", "shown"),
    [
        ("../../etc/passwd", "text/plain", "passwd"),
        ("C:\\Users\\me\\shot.png", "image/png", "shot.png"),
        ("a\u202eexe.png", "image/png", "aexe.png"),  # bidi override dropped
        ("", "application/pdf", "file.pdf"),
        (None, "image/webp", "image.webp"),
        ("x" * 300 + ".png", "image/png", "x" * 196 + ".png"),
    ],
)
def test_display_names_are_safe(filename: str | None, kind: str, shown: str) -> None:
    assert display_name(filename, kind) == shown


_PNG = _image("PNG")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=600),
        # Real headers with damaged bodies: the paths a parser bug would hide in.
        st.builds(
            lambda cut, junk: _PNG[:cut] + junk, st.integers(0, len(_PNG)), st.binary(max_size=64)
        ),
        st.builds(lambda junk: b"GIF89a" + junk, st.binary(max_size=200)),
        st.builds(lambda junk: b"RIFF\x00\x00\x00\x00WEBPVP8 " + junk, st.binary(max_size=200)),
        st.builds(lambda junk: b"\xff\xd8\xff\xe0" + junk, st.binary(max_size=200)),
    ),
    st.sampled_from(["a.png", "a.jpg", "a.txt", "a", "a.gif"]),
)
def test_any_bytes_are_prepared_or_refused_with_a_stable_code(content: bytes, name: str) -> None:
    """Whatever arrives, the answer is a stored copy or FileRefused 413/415: never another
    exception (which would be a 500)."""
    try:
        prepared = _prepare(content, name)
    except FileRefused as refused:
        assert (refused.status, refused.code) in {(413, "too_large"), (415, "unsupported_type")}
    else:
        assert prepared.content_type.split(";")[0] in ATTACHMENT_TYPES


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [20_000, 200_000])
def test_a_decompression_bomb_is_refused_before_decoding(side: int) -> None:
    """A few hundred bytes claiming 400 million (or 40 billion) pixels: 413 too_large at once,
    under our limit and above Pillow's own (whose warning is an error in this test run)."""
    bomb = _png_claiming(side, side)
    assert len(bomb) < 1000
    with pytest.raises(FileRefused) as refused:
        prepare(
            bomb, filename="b.png", declared=None, allowed=ATTACHMENT_TYPES, max_pixels=40_000_000
        )
    assert (refused.value.status, refused.value.code) == (413, "too_large")
