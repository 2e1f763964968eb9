"""``python -m chatd.bench.protocol_bench``: µs per frame, chatd's protocol code against msgspec.

Per frame: decode and validate one client frame, then encode the server frame it causes (the
``ack`` and the stored event, as chatd sends for a chat message). Two implementations:

- ``chatd``: today's ``chatd.protocol`` (json + the hand-written field specs, ``dumps``).
- ``msgspec``: a tagged union of ``msgspec.Struct`` per client message decoded by one
  ``msgspec.json.Decoder`` (limits as ``Meta`` constraints), frames encoded by a
  ``msgspec.json.Encoder``. msgspec's errors do not carry chatd's codes and messages (a
  ``null`` field, a lone surrogate, deep nesting, a blank text, the configurable text limit),
  so a rejected frame falls back to chatd's decoder for the exact error: the cost adoption
  without changing what clients see would have.

The mix is realistic (mostly chat messages and typing, some acks, resumes and agent frames)
plus a hostile share. Needs msgspec (``pip install msgspec``), which chatd itself does not use. (No
``from __future__ import annotations`` here: msgspec reads the Structs' annotations, which
name this function's locals.)
Bounded: ``--frames`` frames per round (default 20,000), best of ``--rounds`` (default 5).
"""

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any

from chatd import protocol as p
from chatd.store.base import Event

__all__ = ["main"]

#: (side, frame) in the proportions of a busy desk: per 20 frames.
REALISTIC: list[tuple[str, dict[str, Any]]] = [
    *[
        ("customer", {"type": "message", "cid": f"c-{i}", "text": "my deposit hasn't arrived"})
        for i in range(6)
    ],
    ("customer", {"type": "message", "cid": "c-9", "text": "Reset 2FA", "intent": "a.b"}),
    *[("customer", {"type": "typing", "active": True}) for _ in range(3)],
    ("customer", {"type": "hello", "resume_token": "3b37.1798216391.sZNn", "last_seq": 12}),
    ("customer", {"type": "ping"}),
    ("customer", {"type": "csat", "cid": "c-6", "score": 5, "comment": "fast"}),
    *[
        (
            "agent",
            {
                "type": "message",
                "cid": f"a-{i}",
                "conversation_id": "3b37",
                "text": "Hi, I'm looking at your deposit now.",
            },
        )
        for i in range(3)
    ],
    ("agent", {"type": "typing", "conversation_id": "3b37", "active": True}),
    ("agent", {"type": "sync", "conversation_id": "3b37", "last_seq": 20}),
    ("agent", {"type": "tag", "cid": "a-3", "conversation_id": "3b37", "tags": ["deposit"]}),
    ("agent", {"type": "ticket_reply", "cid": "a-7", "ticket_id": 42, "text": "Credited."}),
]
#: Rejected frames: each gets a specific code and message today.
HOSTILE: list[tuple[str, dict[str, Any] | str]] = [
    ("customer", {"type": "message", "cid": "c-1"}),
    ("customer", {"type": "message", "cid": None, "text": "x"}),
    ("customer", {"type": "message", "cid": "c-1", "text": "x" * 5000}),
    ("customer", {"type": "message", "cid": "c-1", "text": "   "}),
    ("customer", {"type": "csat", "cid": "c-1", "score": 9}),
    ("customer", {"type": "typing", "active": "yes"}),
    ("customer", {"type": "nope", "cid": "c-1"}),
    ("agent", {"type": "tag", "cid": "a", "conversation_id": "x", "tags": ["t"] * 30}),
    ("customer", '{"type": "message", "cid": "\\ud800", "text": "x"}'),
    ("customer", "not json"),
]

EVENT = Event(
    conversation_id="3b37d75e0c",
    seq=4,
    ts=1795624391.63,
    kind="message",
    author="customer",
    text="my deposit hasn't arrived",
    cid="c-1",
    data={"language": "en"},
)


def _raw(frame: dict[str, Any] | str) -> str:
    return frame if isinstance(frame, str) else json.dumps(frame)


def _chatd() -> Callable[[str, str], str]:
    decoders = {"customer": p.decode_customer, "agent": p.decode_agent}

    def run(side: str, raw: str) -> str:
        try:
            message = decoders[side](raw)
        except p.ProtocolError as exc:
            return p.dumps(p.frame_error(exc))
        ack = p.dumps(p.frame_ack(message.ref, seq=4))
        return ack + p.dumps(p.event_frame(EVENT, for_customer=side == "customer"))

    return run


Run = Callable[[str, str], Any]


def _msgspec() -> dict[str, Run]:  # pragma: no cover - needs msgspec
    import msgspec

    Cid = Annotated[str, msgspec.Meta(max_length=p.MAX_CID_CHARS)]
    Conv = Annotated[str, msgspec.Meta(max_length=64)]
    Text = Annotated[str, msgspec.Meta(max_length=p.DEFAULT_MAX_TEXT_CHARS)]
    Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    Seq = Annotated[int, msgspec.Meta(ge=0, le=p.MAX_ID)]

    class Frame(msgspec.Struct, tag_field="type"):
        pass

    class CHello(Frame, tag="hello"):
        locale: Annotated[str, msgspec.Meta(max_length=16)] | None = None
        resume_token: Annotated[str, msgspec.Meta(max_length=512)] | None = None
        last_seq: Seq | None = None
        user_id: Annotated[str, msgspec.Meta(max_length=128)] | None = None
        user_hash: Annotated[str, msgspec.Meta(max_length=128)] | None = None

    class CText(Frame, tag="message"):
        cid: Cid
        text: Text
        intent: Annotated[str, msgspec.Meta(max_length=64)] | None = None

    class CTyping(Frame, tag="typing"):
        active: bool

    class CCsat(Frame, tag="csat"):
        cid: Cid
        score: Annotated[int, msgspec.Meta(ge=1, le=5)]
        comment: Annotated[str, msgspec.Meta(max_length=1000)] | None = None

    class CPing(Frame, tag="ping"):
        pass

    class AText(Frame, tag="message"):
        cid: Cid
        conversation_id: Conv
        text: Text

    class ATyping(Frame, tag="typing"):
        conversation_id: Conv
        active: bool

    class ASync(Frame, tag="sync"):
        conversation_id: Conv
        last_seq: Seq

    class ATag(Frame, tag="tag"):
        cid: Cid
        conversation_id: Conv
        tags: Annotated[list[Tag], msgspec.Meta(max_length=20)]

    class AReply(Frame, tag="ticket_reply"):
        cid: Cid
        ticket_id: Annotated[int, msgspec.Meta(ge=1, le=p.MAX_ID)]
        text: Text

    decoders = {
        "customer": msgspec.json.Decoder(CHello | CText | CTyping | CCsat | CPing).decode,
        "agent": msgspec.json.Decoder(AText | ATyping | ASync | ATag | AReply).decode,
    }
    fallback = {"customer": p.decode_customer, "agent": p.decode_agent}
    encode = msgspec.json.Encoder().encode

    def run(side: str, raw: str) -> str:
        try:
            if len(raw) > p.MAX_FRAME_BYTES:
                raise ValueError
            message = decoders[side](raw)
            value = getattr(message, "text", None)
            if value is not None and not value.strip():
                raise ValueError
        except (msgspec.MsgspecError, ValueError, RecursionError):
            # The exact code and message clients see today.
            try:
                fallback[side](raw)
            except p.ProtocolError as exc:
                return encode(p.frame_error(exc)).decode()
            raise AssertionError(raw) from None
        ack = encode(p.frame_ack(getattr(message, "cid", None), seq=4)).decode()
        return ack + encode(p.event_frame(EVENT, for_customer=side == "customer")).decode()

    ack, event = p.frame_ack("c-1", seq=4), p.event_frame(EVENT, for_customer=True)
    return {
        "all": run,
        "decode": lambda side, raw: decoders[side](raw),
        "encode": lambda side, raw: encode(ack).decode() + encode(event).decode(),
    }


def _chatd_parts() -> dict[str, Run]:
    decoders = {"customer": p.decode_customer, "agent": p.decode_agent}
    ack, event = p.frame_ack("c-1", seq=4), p.event_frame(EVENT, for_customer=True)
    return {
        "decode": lambda side, raw: decoders[side](raw),
        "encode": lambda side, raw: p.dumps(ack) + p.dumps(event),
    }


#: Frames per timed chunk: the fastest round of each chunk counts, so a chunk that another
#: process preempted (a shared machine) is replaced by a clean one.
CHUNK = 500


def _time(run: Run, frames: list[tuple[str, str]], rounds: int) -> float:
    """µs per frame: per chunk of frames the best of ``rounds``, summed."""
    chunks = [frames[i : i + CHUNK] for i in range(0, len(frames), CHUNK)]
    best = [float("inf")] * len(chunks)
    for _ in range(rounds):
        for index, chunk in enumerate(chunks):
            start = time.perf_counter()
            for side, raw in chunk:
                run(side, raw)
            best[index] = min(best[index], time.perf_counter() - start)
    return sum(best) / len(frames) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatd.bench.protocol_bench")
    parser.add_argument("--frames", type=int, default=20000, help="frames per round (≤ 200,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best counts (≤ 20)")
    args = parser.parse_args(argv)
    count, rounds = min(max(args.frames, 100), 200_000), min(max(args.rounds, 1), 20)
    try:
        msgspec_runs = _msgspec()
    except ImportError:
        print("msgspec is not installed: .venv/bin/pip install msgspec", file=sys.stderr)
        return 2
    runs = {"chatd": _chatd(), "msgspec": msgspec_runs["all"]}
    mixes = {
        "realistic": [(s, _raw(f)) for s, f in REALISTIC],
        "hostile": [(s, _raw(f)) for s, f in HOSTILE],
        "message only": [(s, _raw(f)) for s, f in REALISTIC[:1]],
    }
    for name, run in runs.items():  # the same answer both ways, byte for byte
        for mix in mixes.values():
            for side, raw in mix:
                assert run(side, raw) == runs["chatd"](side, raw), (name, raw)
    print("| mix | chatd µs/frame | msgspec µs/frame | msgspec / chatd |")
    print("| --- | --- | --- | --- |")
    for mix_name, mix in mixes.items():
        frames = (mix * (count // len(mix) + 1))[:count]
        chatd_us = _time(runs["chatd"], frames, rounds)
        msgspec_us = _time(runs["msgspec"], frames, rounds)
        print(f"| {mix_name} | {chatd_us:.2f} | {msgspec_us:.2f} | {msgspec_us / chatd_us:.2f} |")
    realistic = mixes["realistic"]
    frames = (realistic * (count // len(realistic) + 1))[:count]
    chatd_parts = _chatd_parts()
    for part in ("decode", "encode"):
        chatd_us = _time(chatd_parts[part], frames, rounds)
        msgspec_us = _time(msgspec_runs[part], frames, rounds)
        label = "decode + validate only" if part == "decode" else "encode only (ack + event)"
        print(f"| {label} | {chatd_us:.2f} | {msgspec_us:.2f} | {msgspec_us / chatd_us:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
