"""Deterministic "nothing else arrived" checks for WebSocket tests.

A test that asserts the absence of a frame must first know the server has finished with
everything the frame could have come from; a sleep only guesses. The server reads a socket's
frames one at a time and answers a ``ping`` after it has handled every frame sent before it,
and everything that handling sent to a socket (the in-process bus delivers synchronously into
that socket's outbox) is written before the ``pong``. So after a ping/pong round trip on a
socket, a frame caused by earlier input has either arrived or will never come.

For a frame one client causes on another's socket (an agent's reply reaching the customer),
pass both, the cause first: ``await barrier(agent, customer)``.

Frames the server sends on its own timers (queue updates, grace expiry) are not covered: wait
for the timer's own frame instead.
"""

from __future__ import annotations

from typing import Any

from chatd.client import ChatClient

__all__ = ["assert_nothing_more", "barrier"]


async def barrier(*clients: ChatClient, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Round-trip a ping on each client in turn: all they caused before has been delivered."""
    for client in clients:
        await client.send({"type": "ping"})
        await client.wait_for("pong", timeout=timeout)


async def assert_nothing_more(
    client: ChatClient,
    type_: str | None = None,
    *,
    after: tuple[ChatClient, ...] = (),
    **fields: Any,
) -> None:
    """After a barrier (on ``after``, then ``client``), no frame of ``type_`` with ``fields`` is
    waiting in ``client``'s inbox."""
    await barrier(*after, client)
    unwanted = [
        frame
        for frame in client.inbox
        if (type_ is None or frame.get("type") == type_)
        and all(frame.get(k) == v for k, v in fields.items())
    ]
    assert not unwanted, f"unexpected frames after the barrier: {unwanted}"
