"""Masking secrets without holding the event loop: long messages go to a worker process.

Every detector of :mod:`chatd.domain.redact` is linear in its input, but a 4,000-character text
shaped to be expensive still costs a few milliseconds, and the regular-expression engine holds
the GIL: masking inline, forty such messages a second took a whole core from the event loop
that serves everyone (``chatd bench hostile``). So an ordinary chat message (short: most are under
100 characters and cost tens of microseconds) is masked inline, and one of at least
``[limits] mask_offload_chars`` characters in a worker process, where it costs that process's
core and the loop only the hand-over (about 0.2 ms).

Defence in depth: a masking job that runs longer than ``[limits] mask_timeout_s`` (a detector
gone exponential in some future change) is abandoned, its worker killed and replaced, and the
message masked whole (``[redacted:unknown]``): leaking a secret is worse than hiding a message.
The pool starts at the first long message, so a server that never sees one never forks.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from chatd.config import LimitsConfig
from chatd.domain.redact import Redaction, placeholder, redact
from chatd.logs import get_logger

__all__ = ["Masker"]

log = get_logger(__name__)


def _mask(text: str, expecting_2fa_code: bool, previous: str | None) -> Redaction:
    """The job a worker runs (a module-level function: it is sent by name)."""
    return redact(text, expecting_2fa_code=expecting_2fa_code, previous=previous)


class Masker:
    """:func:`chatd.domain.redact.redact`, inline or in a worker process by length."""

    def __init__(self, limits: LimitsConfig) -> None:
        self.offload_chars = limits.mask_offload_chars
        self.workers = limits.mask_workers
        self.timeout_s = limits.mask_timeout_s
        self._pool: ProcessPoolExecutor | None = None
        #: Jobs that ran too long (their worker was killed) or lost their worker.
        self.failures = 0
        self.offloaded = 0

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver, not fork: this process has threads (the SQLite writer), and a fork
            # copies their locks in whatever state they are.
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._pool

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # ProcessPoolExecutor cannot cancel a running job; its processes are private but are
        # the only handle on a worker stuck in C code (Python 3.14 adds terminate_workers()).
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    async def redact(
        self, text: str, *, expecting_2fa_code: bool = False, previous: str | None = None
    ) -> Redaction:
        """Mask ``text`` like :func:`redact`; never raises, never holds the loop for long."""
        if self.offload_chars <= 0 or len(text) < self.offload_chars:
            return redact(text, expecting_2fa_code=expecting_2fa_code, previous=previous)
        self.offloaded += 1
        loop = asyncio.get_running_loop()
        try:
            job = loop.run_in_executor(self._executor(), _mask, text, expecting_2fa_code, previous)
            return await asyncio.wait_for(job, self.timeout_s)
        except (TimeoutError, BrokenProcessPool, OSError) as exc:
            self.failures += 1
            log.error(
                "masking_failed",
                chars=len(text),
                error=type(exc).__name__,
                timeout_s=self.timeout_s,
            )
            self._discard_pool()
            return Redaction(placeholder("unknown"), ("unknown",))

    async def close(self) -> None:
        """Stop the workers (on shutdown)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)
