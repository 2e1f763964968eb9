"""Attachments: files customers and agents send in a conversation.

An upload goes: who may send (the conversation's customer, or the agent it is assigned to), a
retried ``cid`` answered with the first result, the per-address rate limit, the file's type
from its bytes and images re-encoded (chatd.service.attachment_files, in a thread pool: never
on the event loop), the per-conversation quota, then the bytes written durably to the
:class:`~chatd.store.blobs.BlobStore`, then one ``attachment`` event appended through the
:class:`~chatd.service.conversations.ConversationLog` (which delivers it live), then the blob
settled. The metadata (id, name, type, size, url) lives in that event's data: downloads,
transcripts and exports read it from there; the bytes are the blob store's.

A crash between the blob and the event leaves an unsettled blob; :meth:`Attachments.start`
sweeps them (settled when their event exists, deleted otherwise).

Downloads: the conversation's customer, its assigned agent, or any operator (the web layer
says who is asking), or anyone holding a signed link (:meth:`Attachments.sign_link`), which
expires after ``[attachments] link_ttl_s``: an ``<img src>`` cannot send a header.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import functools
import hashlib
import hmac
import os
import secrets
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chatd.config import Config
from chatd.domain.ratelimit import KeyedLimiter
from chatd.logs import get_logger
from chatd.protocol import ProtocolError
from chatd.service.attachment_files import FileRefused, display_name, prepare
from chatd.service.conversations import (
    CUSTOMER_WRITABLE,
    ConversationLog,
    by_agent,
    changed_meanwhile,
    owned_by,
)
from chatd.store.base import (
    AgentRecord,
    ConditionFailed,
    ConversationRecord,
    Event,
    Expect,
    NewEvent,
    cid_owner,
)
from chatd.store.blobs import BlobStore, valid_blob_key

__all__ = ["Attachments", "Download", "UploadRefused", "attachment_url"]

log = get_logger(__name__)

#: Test-only: set to "after_blob" and the process kills itself (SIGKILL) right after a blob is
#: written and before its event is stored: the crash the start-up sweep exists for.
CRASH_POINT_ENV = "CHATD_TEST_CRASH_POINT"


class UploadRefused(Exception):
    """An upload or download refused: an HTTP ``status``, a stable ``code``, a message."""

    def __init__(
        self, status: int, code: str, message: str, *, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Download:
    """What a download serves: the attachment's public object and its bytes."""

    attachment: dict[str, Any]
    content: bytes


def attachment_url(conversation_id: str, attachment_id: str) -> str:
    """The download path of an attachment (on the same server)."""
    return f"/api/conversations/{conversation_id}/attachments/{attachment_id}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _attachment_of(event: Event) -> dict[str, Any] | None:
    value = event.data.get("attachment") if event.kind == "attachment" else None
    return dict(value) if isinstance(value, dict) else None


class Attachments:
    """Uploads into a conversation, downloads, signed links, the orphan sweep."""

    def __init__(
        self,
        *,
        config: Config,
        log: ConversationLog,
        blobs: BlobStore,
        secret: str,
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.settings = config.attachments
        self.log = log
        self.blobs = blobs
        self.secret = secret
        self.clock = clock
        self._limiter: KeyedLimiter[str] = KeyedLimiter(
            self.settings.uploads_per_ip_per_min / 60.0, self.settings.upload_burst_per_ip
        )
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._crash_point = os.environ.get(CRASH_POINT_ENV, "")
        self._sweeper: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> int:
        """Sweep blobs a crash left without their event; how many were deleted.

        A shared store (PostgreSQL: ``blobs.resweep_s``) is swept again every so often: a node
        that crashed and came back within the in-flight window left rows only a later sweep
        may take. A directory is swept at start only (its unsettled files then are this
        process's uploads in flight).
        """
        deleted = await self.sweep()
        every = getattr(self.blobs, "resweep_s", None)
        if every:
            self._sweeper = asyncio.create_task(self._sweep_every(float(every)))
        return deleted

    async def _sweep_every(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.sweep()
            except Exception:  # a database hiccup: the next round tries again
                log.exception("attachment_sweep_failed")

    async def sweep(self) -> int:
        """Settle unsettled blobs whose event exists, delete the others; how many deleted."""
        deleted = 0
        for conversation_id, attachment_id in await self.blobs.unsettled():
            if await self._event_of(conversation_id, attachment_id) is not None:
                await self.blobs.settle(conversation_id, attachment_id)
            else:
                await self.blobs.delete(conversation_id, attachment_id)
                deleted += 1
        if deleted:
            log.warning("attachment_orphans_removed", count=deleted)
        return deleted

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.settings.decode_workers, thread_name_prefix="chatd-attach"
            )
        return self._pool

    # -- uploads ------------------------------------------------------------------------------

    def take_upload(self, address: str) -> None:
        """Count one upload against the client address; UploadRefused 429 when over the rate.

        Called before the body is read, so a refused client costs no bandwidth or decoding.
        """
        now = self.clock()
        if not self._limiter.take(address, now):
            retry = self._limiter.retry_after(address, now)
            raise UploadRefused(
                429, "rate_limited", "too many uploads; wait a little", retry_after_s=retry
            )

    async def check_uploader(
        self, conversation_id: str, agent: AgentRecord | None
    ) -> ConversationRecord:
        """The conversation if this uploader may add to it now (agent None: its customer,
        already authenticated by the caller); UploadRefused otherwise."""
        conv = await self.log.get(conversation_id)
        if conv is None:
            raise UploadRefused(404, "not_found", "no such conversation")
        if agent is not None:
            try:
                owned_by(agent, conv, None)
            except ProtocolError as exc:
                raise UploadRefused(403, exc.code, exc.message) from None
        elif conv.status not in CUSTOMER_WRITABLE:
            raise UploadRefused(409, "invalid_state", "this conversation is closed")
        return conv

    async def retried(
        self, conversation_id: str, agent: AgentRecord | None, cid: str | None
    ) -> dict[str, Any] | None:
        """The attachment this uploader already stored with ``cid``, else None."""
        owner = cid_owner("agent", agent.agent_id) if agent else "customer"
        done = await self.log.retried(conversation_id, owner, cid)
        return _attachment_of(done.event) if done and done.event else None

    async def upload(
        self,
        conversation_id: str,
        agent: AgentRecord | None,
        *,
        filename: str | None,
        declared_type: str | None,
        content: bytes,
        cid: str | None,
    ) -> tuple[dict[str, Any], bool]:
        """Store a file and its event; (the attachment object, created). A retried ``cid``
        returns the first attachment with created False and stores nothing."""
        await self.check_uploader(conversation_id, agent)
        first = await self.retried(conversation_id, agent, cid)
        if first is not None:
            return first, False
        if len(content) > self.settings.max_bytes:
            raise UploadRefused(
                413, "too_large", f"files may be at most {self.settings.max_bytes} bytes"
            )
        job = functools.partial(
            prepare,
            content,
            filename=filename,
            declared=declared_type,
            allowed=self.settings.allowed_types,
            max_pixels=self.settings.max_pixels,
        )
        try:
            prepared = await asyncio.get_running_loop().run_in_executor(self._executor(), job)
        except FileRefused as exc:
            raise UploadRefused(exc.status, exc.code, exc.message) from None
        attachment_id = "at_" + secrets.token_hex(12)
        attachment = {
            "id": attachment_id,
            "name": display_name(filename, prepared.content_type.split(";")[0]),
            "content_type": prepared.content_type,
            "size": len(prepared.content),
            "url": attachment_url(conversation_id, attachment_id),
        }
        async with self.log.section(conversation_id):
            # Under the lock: two uploads at once cannot both fit into the last of the quota.
            used = sum(a["size"] for a in await self._attachments(conversation_id))
            if used + len(prepared.content) > self.settings.conversation_quota_bytes:
                raise UploadRefused(
                    413,
                    "quota_exceeded",
                    "this conversation holds as many files as it may "
                    f"({self.settings.conversation_quota_bytes} bytes)",
                )
            await self.blobs.put(conversation_id, attachment_id, prepared.content)
            if self._crash_point == "after_blob":
                os.kill(os.getpid(), signal.SIGKILL)
            try:
                event, created = await self._append(conversation_id, agent, attachment, cid)
            except BaseException:
                await asyncio.shield(self.blobs.delete(conversation_id, attachment_id))
                raise
        if not created:  # a retry raced this upload and won: keep its blob only
            await self.blobs.delete(conversation_id, attachment_id)
            return _attachment_of(event) or attachment, False
        await self.blobs.settle(conversation_id, attachment_id)
        log.info(
            "attachment_stored",
            conversation_id=conversation_id,
            attachment_id=attachment_id,
            content_type=attachment["content_type"],
            size=attachment["size"],
            author="agent" if agent else "customer",
        )
        return attachment, True

    async def _append(
        self,
        conversation_id: str,
        agent: AgentRecord | None,
        attachment: dict[str, Any],
        cid: str | None,
    ) -> tuple[Event, bool]:
        now = self.clock()
        limit = self.config.limits.max_events_per_conversation
        data = {"attachment": attachment}
        if agent is not None:
            new = by_agent(agent, "attachment", now, cid=cid, data=data)
            expect = Expect(statuses=("assigned",), agent_id=agent.agent_id, seq_below=limit)
        else:
            new = NewEvent(kind="attachment", ts=now, author="customer", cid=cid, data=data)
            expect = Expect(statuses=CUSTOMER_WRITABLE, seq_below=limit)
        try:
            return await self.log.append(conversation_id, new, expect=expect)
        except ConditionFailed as exc:
            conv = exc.conversation
            if conv is not None and conv.last_seq >= limit:
                raise UploadRefused(
                    413, "limit_reached", "this conversation is too long; start a new one"
                ) from None
            if conv is None or (agent is None and conv.status not in CUSTOMER_WRITABLE):
                raise UploadRefused(409, "invalid_state", "this conversation is closed") from None
            if agent is not None and (conv.status != "assigned" or conv.agent_id != agent.agent_id):
                raise UploadRefused(
                    403, "forbidden", "this conversation is not assigned to you"
                ) from None
            error = changed_meanwhile(cid)
            raise UploadRefused(409, error.code, error.message) from None

    # -- reads --------------------------------------------------------------------------------

    async def _attachments(self, conversation_id: str) -> list[dict[str, Any]]:
        events = await self.log.store.events(conversation_id, include_internal=False)
        return [a for a in map(_attachment_of, events) if a is not None]

    async def _event_of(self, conversation_id: str, attachment_id: str) -> dict[str, Any] | None:
        for attachment in await self._attachments(conversation_id):
            if attachment.get("id") == attachment_id:
                return attachment
        return None

    async def may_read(
        self, conversation_id: str, *, customer_of: str | None, agent: AgentRecord | None
    ) -> bool:
        """Whether this reader may download the conversation's files: its customer (the
        conversation their resume token names), its assigned agent, or an operator."""
        if customer_of is not None:
            return hmac.compare_digest(customer_of.encode(), conversation_id.encode())
        if agent is None:
            return False
        if agent.role == "operator":
            return True
        conv = await self.log.get(conversation_id)
        return conv is not None and conv.agent_id == agent.agent_id

    async def describe(self, conversation_id: str, attachment_id: str) -> dict[str, Any] | None:
        """The attachment object of a stored attachment event, or None."""
        if not valid_blob_key(conversation_id, attachment_id):
            return None
        return await self._event_of(conversation_id, attachment_id)

    async def download(self, conversation_id: str, attachment_id: str) -> Download | None:
        """The attachment and its bytes (the caller checked who asks); None when unknown."""
        attachment = await self.describe(conversation_id, attachment_id)
        if attachment is None:
            return None
        content = await self.blobs.get(conversation_id, attachment_id)
        if content is None:
            log.error(
                "attachment_blob_missing",
                conversation_id=conversation_id,
                attachment_id=attachment_id,
            )
            return None
        return Download(attachment, content)

    async def forget_conversation(self, conversation_id: str) -> None:
        """Delete every file of a conversation (it is being deleted)."""
        await self.blobs.delete_conversation(conversation_id)

    # -- signed links -------------------------------------------------------------------------

    def _mac(self, conversation_id: str, attachment_id: str, expires: int) -> str:
        message = f"attachment:{conversation_id}/{attachment_id}.{expires}"
        return _b64(hmac.new(self.secret.encode(), message.encode(), hashlib.sha256).digest())

    def sign_link(self, conversation_id: str, attachment_id: str) -> tuple[str, int]:
        """A download url anyone may use until it expires (for <img src>); (url, expires)."""
        expires = int(self.clock() + self.settings.link_ttl_s)
        mac = self._mac(conversation_id, attachment_id, expires)
        return f"{attachment_url(conversation_id, attachment_id)}?exp={expires}&sig={mac}", expires

    def link_valid(self, conversation_id: str, attachment_id: str, exp: str, sig: str) -> bool:
        """True for an unexpired link signed by :meth:`sign_link`."""
        if not exp.isdigit() or len(exp) > 12 or int(exp) < self.clock():
            return False
        expected = self._mac(conversation_id, attachment_id, int(exp))
        return hmac.compare_digest(expected.encode(), sig.encode())
