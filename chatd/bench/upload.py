"""The upload scenario: customers sending 5 MB images at once, and what it costs everyone else.

Phase 1 (calm): chatd idles for ``duration`` seconds while its event-loop lag is sampled.
Phase 2 (uploads): ``UPLOADERS`` customers upload a 5 MB PNG each, again and again (one in
flight per customer), for ``duration`` seconds. chatd decodes and re-encodes every image in its
thread pool (``[attachments] decode_workers``), off the event loop. Reported for both phases:
the event-loop lag p50/p99 (``chatd_event_loop_lag_seconds``); for phase 2 the uploads' latency
and rate. Also measured in this process: the CPU one :func:`prepare` of that image costs, i.e.
how long every other customer of the server would wait per upload were it done on the loop.
"""

from __future__ import annotations

import io
import random
import time
from typing import Any

from chatd.bench.procs import ServerProc, start_worker
from chatd.bench.scenarios import BenchOptions, chatd_under_test
from chatd.bench.surge import histogram_quantile
from chatd.config import AttachmentsConfig

__all__ = ["UPLOADERS", "run_upload", "upload_image"]

#: Customers uploading at once (the issue's "20 concurrent 5 MB uploads").
UPLOADERS = 20
#: Size of the image they upload.
IMAGE_BYTES = 5 * 1000 * 1000


def upload_image(target_bytes: int = IMAGE_BYTES) -> bytes:
    """A PNG of about ``target_bytes``: random pixels (no compression helps), seeded."""
    from PIL import Image

    side = int((target_bytes / 3) ** 0.5)
    rng = random.Random(16)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _lag(before: str, after: str) -> dict[str, float | None]:
    """Event-loop lag p50/p99 in ms between two /metrics scrapes."""
    out: dict[str, float | None] = {}
    for name, q in (("loop_lag_p50_ms", 0.5), ("loop_lag_p99_ms", 0.99)):
        value = histogram_quantile(before, after, q)
        out[name] = None if value is None else round(value * 1000, 2)
    return out


def _prepare_cost(content: bytes, rounds: int = 3) -> float:
    """Milliseconds of CPU one re-encode of ``content`` costs (the best of ``rounds``)."""
    from chatd.service.attachment_files import prepare

    settings = AttachmentsConfig()
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        prepare(
            content,
            filename="screen.png",
            declared="image/png",
            allowed=settings.allowed_types,
            max_pixels=settings.max_pixels,
        )
        best = min(best, time.process_time() - start)
    return round(best * 1000, 1)


def run_upload(opts: BenchOptions) -> dict[str, Any]:
    """Calm, then 20 customers uploading 5 MB images, on one chatd (SQLite, files on disk)."""
    uploaders = opts.connections or UPLOADERS
    duration = opts.duration or (8.0 if opts.quick else 20.0)
    work_dir = opts.work_dir / "upload"
    work_dir.mkdir(parents=True, exist_ok=True)
    image = work_dir / "screen.png"
    content = upload_image()
    image.write_bytes(content)
    with chatd_under_test(opts, work_dir) as chatd:
        server = chatd.server
        assert isinstance(server, ServerProc)
        before = server.get("/metrics")
        time.sleep(duration)
        calm = _lag(before, server.get("/metrics"))
        worker = start_worker(
            "upload",
            url=server.url,
            ws_url=server.ws_url,
            image=str(image),
            customers=uploaders,
            duration_s=duration,
        )
        try:
            worker.read(120)  # ready: the customers are connected
            before = server.get("/metrics")
            cpu_before = server.cpu_seconds()
            result = worker.read(duration + 180)
            busy = _lag(before, server.get("/metrics"))
            server_cpu = server.cpu_seconds() - cpu_before
        finally:
            worker.stop()
    uploads = result["uploads"]
    return {
        "scenario": "upload",
        "uploaders": uploaders,
        "image_bytes": len(content),
        "duration_s": duration,
        "decode_workers": AttachmentsConfig().decode_workers,
        "uploads": uploads["count"],
        "uploads_per_s": result["uploads_per_s"],
        "mb_per_s": result["mb_per_s"],
        "upload_p50_ms": uploads["p50_ms"],
        "upload_p99_ms": uploads["p99_ms"],
        "loop_lag_p50_ms": busy["loop_lag_p50_ms"],
        "loop_lag_p99_ms": busy["loop_lag_p99_ms"],
        "calm_loop_lag_p99_ms": calm["loop_lag_p99_ms"],
        "inline_stall_ms": _prepare_cost(content),
        "server_cpu_s": round(server_cpu, 2),
        "refused": result["refused"],
    }
