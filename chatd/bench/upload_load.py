"""The load of ``chatd bench upload``: customers uploading files at once, closed loop.

Run by :mod:`chatd.bench.worker` (task ``upload``): ``customers`` conversations are opened over
the WebSocket (for their resume tokens), then each uploads ``image`` (a file the orchestrator
wrote) again and again, one upload in flight per customer, for ``duration_s``. Reports the
uploads' latency, their count and the bytes sent, and refusals by status.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp

from chatd.bench.clients import Conn, Frame, Stopwatch
from chatd.bench.pipe import emit

__all__ = ["TASKS"]


async def _open_customer(ws_url: str) -> tuple[Conn, str, str]:
    welcome: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()

    def on_frame(frame: Frame) -> None:
        if frame.get("type") == "welcome" and not welcome.done():
            welcome.set_result(frame)

    conn = await Conn.open(ws_url, "/ws/customer", on_frame)
    await conn.send({"type": "hello", "locale": "en"})
    frame = await asyncio.wait_for(welcome, 30)
    return conn, str(frame["conversation_id"]), str(frame["resume_token"])


async def upload(spec: dict[str, Any]) -> None:
    """``customers`` uploaders in a closed loop for ``duration_s``; one JSON result."""
    url, ws_url = spec["url"], spec["ws_url"]
    content = await asyncio.to_thread(Path(spec["image"]).read_bytes)
    customers = [await _open_customer(ws_url) for _ in range(int(spec["customers"]))]
    watch = Stopwatch()
    refused: dict[str, int] = {}
    sent_bytes = 0
    emit({"phase": "ready"})
    deadline = time.monotonic() + float(spec["duration_s"])

    async def uploader(http: aiohttp.ClientSession, conversation_id: str, token: str) -> None:
        nonlocal sent_bytes
        while time.monotonic() < deadline:
            form = aiohttp.FormData()
            form.add_field("file", content, filename="screen.png", content_type="image/png")
            start = time.monotonic()
            async with http.post(
                f"{url}/api/conversations/{conversation_id}/attachments",
                data=form,
                headers={"Authorization": f"Bearer {token}"},
            ) as r:
                await r.read()
                if r.status == 201:
                    watch.add_since(start)
                    sent_bytes += len(content)
                else:
                    refused[str(r.status)] = refused.get(str(r.status), 0) + 1
                    await asyncio.sleep(0.1)

    started = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await asyncio.gather(*(uploader(http, conv, token) for _, conv, token in customers))
    elapsed = time.monotonic() - started
    emit(
        {
            "phase": "done",
            "uploads": watch.summary(),
            "uploads_per_s": round(len(watch.samples) / elapsed, 2),
            "mb_per_s": round(sent_bytes / elapsed / 1e6, 2),
            "refused": refused,
        }
    )
    for conn, _, _ in customers:
        conn.abort()


TASKS: dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, None]]] = {"upload": upload}
