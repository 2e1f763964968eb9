"""What the exchange's own systems do in a chat through an integration token: post a message.

``POST /api/conversations/{id}/messages`` (scope ``messages:write``) puts a message from the
system into an open conversation ("your withdrawal W-1042 was processed"), shown to the customer
and the assigned agent like any message, with the token's name as its author name. A retry
with the same ``cid`` is stored once. The text is masked like a customer's: an exchange's
template that interpolates a secret by mistake does not put it in the transcript.
"""

from __future__ import annotations

from collections.abc import Callable

from chatd.protocol import ProtocolError
from chatd.service.conversations import ConversationLog
from chatd.service.masking import Masker
from chatd.store.base import ConditionFailed, Event, Expect, NewEvent

__all__ = ["Integrations"]

#: A conversation takes a posted message while it is open.
_OPEN = Expect(statuses=("bot", "queued", "assigned"))


class Integrations:
    """Messages posted by integrations."""

    def __init__(self, *, log: ConversationLog, masker: Masker, clock: Callable[[], float]) -> None:
        self.log = log
        self.masker = masker
        self.clock = clock

    async def post_message(
        self, conversation_id: str, text: str, *, by: str, cid: str | None
    ) -> tuple[Event, bool]:
        """Store and deliver the message; (event, created). ProtocolError not_found /
        invalid_state when the conversation is missing or closed."""
        masked = await self.masker.redact(text)
        data = {"posted_by": by, **({"masked": list(masked.kinds)} if masked.masked else {})}
        new = NewEvent(
            kind="message",
            ts=self.clock(),
            author="system",
            author_id=by,  # the cid namespace: one integration's retries, not another's
            author_name=by,
            text=masked.text,
            cid=cid,
            data=data,
        )
        try:
            return await self.log.append(conversation_id, new, expect=_OPEN)
        except ConditionFailed as exc:
            if exc.conversation is None:
                raise ProtocolError("not_found", "no such conversation") from exc
            raise ProtocolError("invalid_state", "the conversation is closed") from exc
