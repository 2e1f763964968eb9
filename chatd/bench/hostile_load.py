"""The hostile load of ``chatd bench hostile``: worst-case texts and slowloris connections.

Run by :mod:`chatd.bench.worker` (task ``hostile``): ``customers`` conversations send the given
texts, each one the longest and most expensive a customer may send, at ``rate`` messages per
second in total; ``slowloris`` connections from many loopback addresses send half a request head
and nothing more, and are opened again whenever the server cuts them. It reports when it is
running ("ready"), then, when told to stop, what it sent and how the server answered.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from typing import Any

from chatd.bench.clients import Conn, Frame
from chatd.bench.pipe import emit, read_line

__all__ = ["HALF_REQUEST", "TASKS"]

#: A request head that never ends: the request line and one header, no blank line.
HALF_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: chat.example.com\r\n"
#: Loopback addresses the slowloris connections come from (127.0.9.1 ... 127.0.9.50).
_SOURCES = [f"127.0.9.{i}" for i in range(1, 51)]


class _Tally:
    def __init__(self) -> None:
        self.sent = 0
        self.acked = 0
        self.refused: dict[str, int] = {}
        self.slow_opened = 0
        self.slow_cut = 0
        self.slow_failed = 0


async def _customer(
    url: str, texts: list[str], interval: float, offset: float, stop: asyncio.Event, t: _Tally
) -> None:
    welcome: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()

    def on_frame(frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "welcome" and not welcome.done():
            welcome.set_result(frame)
        elif kind == "ack":
            t.acked += 1
        elif kind == "error":
            code = str(frame.get("code"))
            t.refused[code] = t.refused.get(code, 0) + 1

    conn = await Conn.open(url, "/ws/customer", on_frame)
    try:
        await conn.send({"type": "hello", "locale": "en"})
        await asyncio.wait_for(welcome, 30)
        await asyncio.sleep(offset)
        for n in itertools.count():
            if stop.is_set():
                return
            text = texts[n % len(texts)]
            await conn.send({"type": "message", "cid": f"h{n}", "text": text})
            t.sent += 1
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass
    finally:
        conn.abort()


async def _slowloris(host: str, port: int, source: str, stop: asyncio.Event, t: _Tally) -> None:
    """Hold one half-sent request open; open another whenever the server cuts it."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
        except OSError:
            t.slow_failed += 1
            await asyncio.sleep(0.5)
            continue
        t.slow_opened += 1
        try:
            writer.write(HALF_REQUEST)
            read = asyncio.ensure_future(reader.read(1))
            stopped = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
            for task in (read, stopped):
                task.cancel()
            if read in done:
                t.slow_cut += 1
        except OSError:
            t.slow_cut += 1
        finally:
            writer.transport.abort()


async def hostile(spec: dict[str, Any]) -> None:
    """Run the hostile customers and slowloris connections until told to stop (or deadline)."""
    url, texts = spec["url"], list(spec["texts"])
    host, port = "127.0.0.1", int(spec["url"].rsplit(":", 1)[1])
    customers, rate = int(spec["customers"]), float(spec["rate"])
    interval = customers / rate
    stop = asyncio.Event()
    tally = _Tally()
    tasks = [
        asyncio.create_task(_customer(url, texts, interval, i * interval / customers, stop, tally))
        for i in range(customers)
    ]
    tasks += [
        asyncio.create_task(_slowloris(host, port, _SOURCES[i % len(_SOURCES)], stop, tally))
        for i in range(int(spec["slowloris"]))
    ]
    started = time.monotonic()
    await asyncio.sleep(float(spec.get("warmup_s", 2.0)))
    emit({"phase": "ready", "slowloris_open": tally.slow_opened})
    await read_line(float(spec["deadline_s"]))
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
    elapsed = time.monotonic() - started
    emit(
        {
            "phase": "done",
            "sent": tally.sent,
            "acked": tally.acked,
            "refused": tally.refused,
            "msgs_per_s": round(tally.sent / elapsed, 1),
            "slowloris_opened": tally.slow_opened,
            "slowloris_cut": tally.slow_cut,
            "slowloris_failed": tally.slow_failed,
        }
    )


TASKS: dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, None]]] = {"hostile": hostile}
