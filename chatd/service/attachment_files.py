"""What an uploaded file is, decided from its bytes, and the copy of it chatd keeps.

The type is never taken from the file name or the declared Content-Type: the magic numbers
decide (PNG, JPEG, GIF, WebP, PDF), else strict UTF-8 text without control characters is plain
text, else the file is refused. A name or declared type that claims an image the bytes are not
is refused too (a "photo.png" that is a PDF).

Images are decoded and re-encoded with Pillow: what is kept is pixels, never the sender's
metadata (EXIF: GPS position, camera serial, time; XMP; comments). JPEG orientation is applied
to the pixels first, so a photo keeps its orientation once its EXIF is gone. The pixel count
(width x height x frames) is checked from the header, before anything is decoded, against
decompression bombs. :func:`prepare` is CPU-bound: the service runs it in a thread pool.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["FileRefused", "Prepared", "display_name", "prepare", "sniff"]

#: Pillow's format name -> the type chatd stores.
_IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
#: What a file name's extension claims (only image claims are held against the bytes).
_EXTENSION_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}
_TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
#: C0 controls other than tab, line feed, form feed and carriage return, and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
#: Characters a display name keeps (a name is shown in chats and sent in Content-Disposition).
NAME_CHARS = 200


class FileRefused(Exception):
    """The file may not be stored: ``status`` 413 (too big) or 415 (type), a stable ``code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True, slots=True)
class Prepared:
    """The bytes chatd keeps and their type (what downloads are served with)."""

    content: bytes
    content_type: str


def display_name(filename: str | None, content_type: str) -> str:
    """The name shown for a file: its last path component, printable, NAME_CHARS at most."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if not name:
        name = {"application/pdf": "file.pdf", "text/plain": "file.txt"}.get(
            content_type, "image." + content_type.rpartition("/")[2]
        )
    return name[-NAME_CHARS:]


def sniff(content: bytes) -> str | None:
    """The type the bytes are (their magic number, or strict UTF-8 text), else None."""
    head = content[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.strip() or _CONTROL.search(text):
        return None
    return "text/plain"


def claimed_image(filename: str | None, declared: str | None) -> str | None:
    """The image type a declared Content-Type or, failing that, a file extension claims."""
    declared = (declared or "").split(";", 1)[0].strip().lower()
    if declared == "image/jpg":
        declared = "image/jpeg"
    if declared in _IMAGE_TYPES.values():
        return declared
    _, dot, extension = (filename or "").rpartition(".")
    return _EXTENSION_TYPES.get(extension.lower()) if dot else None


def prepare(
    content: bytes,
    *,
    filename: str | None,
    declared: str | None,
    allowed: tuple[str, ...],
    max_pixels: int,
) -> Prepared:
    """The copy to store: type from the bytes, images re-encoded without metadata.

    FileRefused 415 unsupported_type for a type not in ``allowed`` (or unknown, or not what an
    image claim says), 413 too_large for an image over ``max_pixels``.
    """
    kind = sniff(content)
    claim = claimed_image(filename, declared)
    if kind is None or kind not in allowed:
        raise FileRefused(415, "unsupported_type", f"allowed types: {', '.join(sorted(allowed))}")
    if claim is not None and claim != kind:
        raise FileRefused(415, "unsupported_type", f"the file is not a {claim} image")
    if kind == "text/plain":
        return Prepared(content, _TEXT_CONTENT_TYPE)
    if kind == "application/pdf":
        return Prepared(content, kind)
    return Prepared(_reencode(content, kind, max_pixels), kind)


def _reencode(content: bytes, kind: str, max_pixels: int) -> bytes:
    too_many = f"images may have at most {max_pixels} pixels"
    try:
        with Image.open(io.BytesIO(content)) as image:
            if _IMAGE_TYPES.get(image.format or "") != kind:
                raise FileRefused(415, "unsupported_type", "the image could not be read")
            frames = getattr(image, "n_frames", 1)
            if image.width * image.height * frames > max_pixels:
                raise FileRefused(413, "too_large", too_many)
            image.load()
            return _save(image, kind, frames)
    except FileRefused:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        # Above Pillow's own limit (when warnings are errors, the warning is raised too).
        raise FileRefused(413, "too_large", too_many) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        # Truncated or corrupt data, or a format feature Pillow refuses.
        raise FileRefused(415, "unsupported_type", "the image could not be read") from exc
    except (SyntaxError, EOFError, IndexError, KeyError, TypeError) as exc:
        # Pillow's plugins raise these on malformed headers.
        raise FileRefused(415, "unsupported_type", "the image could not be read") from exc


def _save(image: Image.Image, kind: str, frames: int) -> bytes:
    out = io.BytesIO()
    if frames > 1:
        # Animations keep their frames (GIF, WebP); Pillow writes no EXIF unless given one.
        fmt = "GIF" if kind == "image/gif" else "WEBP"
        image.save(out, format=fmt, save_all=True, loop=image.info.get("loop", 0))
        return out.getvalue()
    upright = ImageOps.exif_transpose(image) or image
    icc = image.info.get("icc_profile")
    extra = {"icc_profile": icc} if icc else {}
    if kind == "image/jpeg":
        if upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        upright.save(out, format="JPEG", quality=90, **extra)
    elif kind == "image/png":
        upright.save(out, format="PNG", compress_level=6, **extra)
    elif kind == "image/webp":
        upright.save(out, format="WEBP", quality=90, **extra)
    else:
        upright.save(out, format="GIF")
    return out.getvalue()
