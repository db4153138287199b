"""A frame in a few words for the journal, and who a frame says it came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relay.core import frames, wire
from relay.core.roster import Roster
from relay.core.sync import Received
from relay.errors import DecodeError

if TYPE_CHECKING:
    pass


def describe_frame(frame: bytes, roster: Roster) -> str:
    """A frame in a few words for the log; never raises."""
    try:
        parsed = frames.parse(frame)
        if isinstance(parsed, frames.Bare):
            peek = wire.peek(parsed.data)
            return f"{_message_id(peek, roster)} {peek.kind.value} {peek.priority.value}"
        if isinstance(parsed, frames.Fragment):
            node = _node_of(parsed.key.key_id, roster)
            return f"fragment {parsed.index + 1}/{parsed.count} of {node}-{parsed.key.seq16:04d}"
        if isinstance(parsed, frames.Bundle):
            carried = ", ".join(_message_id(wire.peek(m), roster) for m in parsed.messages)
            return f"BUNDLE of {_node_of(parsed.key_id, roster)}: {carried}"
        if isinstance(parsed, frames.Held):
            return f"HELD of {_node_of(parsed.key_id, roster)}: {len(parsed.summaries)} summaries passed on"
        name = "SUMMARY" if isinstance(parsed, frames.Summary) else "REQUEST"
        return f"{name} of {_node_of(parsed.key_id, roster)}"
    except DecodeError:
        return "unreadable frame"


def _message_id(peek: wire.Peek, roster: Roster) -> str:
    return f"{_node_of(peek.key_id, roster)}-{peek.seq:04d}"


def _node_of(key_id: int, roster: Roster) -> str:
    try:
        return roster.entry_for_key(key_id).node_id
    except DecodeError:
        return f"key {key_id:04x}"


def how_heard(hops: int, lang: str = "en") -> str:
    """How a frame reached us, for the log, in ``lang``."""
    if lang != "en":
        return "direkte" if hops <= 0 else f"via {hops} repeater{'' if hops == 1 else 'e'}"
    return "directly" if hops <= 0 else f"via {hops} repeater{'' if hops == 1 else 's'}"


def speaks_for(frame: bytes, publisher: str, roster: Roster) -> bool:
    """May ``publisher`` (whose topic a frame came on) send it?  A summary, request or
    bundle names its sender, which must be the publisher: a captured site's login with
    a stolen key could otherwise sign summaries in another site's name, and every
    gateway would take that site for reachable by IP and stop serving it by radio.  A
    message or fragment names only its origin, and any store passes those on."""
    try:
        key_id = frames.sender_key(frames.parse(frame))
        return key_id is None or roster.entry_for_key(key_id).node_id == publisher
    except DecodeError:
        return True  # the sync rejects it with its own reason


def heard_from(frame: bytes, received: Received) -> tuple[str, str] | None:
    """(node, what) of the store a taken frame proves on the air: a signed summary's
    sender (the sync verified it before naming it), heard over the hops it crossed.
    None for everything else (issue 22: a forged request kept a store that never ran
    "heard 3 s ago").  Not a request, a bundle or a fragment: they name a sender they
    cannot prove.  Nor a message: it proves its origin wrote it once, not that it is
    on the air now, and a store that passes it on sends it as its own packet (its
    origin looked "direkte" through a repeater)."""
    if frame[:1] == bytes([frames.SUMMARY]) and received.sender is not None:
        return received.sender, "summary"
    return None
