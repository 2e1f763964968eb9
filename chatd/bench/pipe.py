"""The channel between the bench orchestrator and its load processes: JSON lines both ways.

A worker (:mod:`chatd.bench.worker` and the task modules it runs) prints one JSON object per
line (results, or "ready" when it waits) and reads the orchestrator's lines on stdin.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["bounded_gather", "emit", "read_line"]


def emit(obj: dict[str, Any]) -> None:
    """One JSON line to the orchestrator."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def read_line(wait_s: float) -> dict[str, Any]:
    """The orchestrator's next JSON line ({} after ``wait_s`` or on EOF)."""
    loop = asyncio.get_running_loop()
    try:
        line = await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), wait_s)
    except TimeoutError:
        return {}
    return dict(json.loads(line)) if line.strip() else {}


async def bounded_gather(
    factories: list[Callable[[], Awaitable[Any]]], concurrency: int
) -> list[Any]:
    """Run coroutine factories with at most ``concurrency`` at once; exceptions are returned."""
    sem = asyncio.Semaphore(concurrency)

    async def one(factory: Callable[[], Awaitable[Any]]) -> Any:
        async with sem:
            return await factory()

    return await asyncio.gather(*(one(f) for f in factories), return_exceptions=True)
