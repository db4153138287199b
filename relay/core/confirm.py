"""What is confirmed about one message, per addressee: received, read, done, or not yet.

Pure: it takes what a store knows and returns, for each node the message is
addressed to, when that node was shown to hold it (MOTTATT, from the heads of
its signed summaries, as the store's receipts record them), when it read it
(its KVITTERING LEST, or an answer) and when it reported it done (KVITTERING
UTFØRT) -- or, when none of these is known, when that node was last heard.
``relay status``, ``relay show``, ``relay inbox --json``, the board and the
desk render it; none of them works it out again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from relay.core.model import Kind, Message, ReceiptLevel

RECEIVED = ReceiptLevel.MOTTATT.value
READ = ReceiptLevel.LEST.value
DONE = ReceiptLevel.UTFORT.value


@dataclass(frozen=True, slots=True)
class Confirmation:
    """One addressee of one message, as far as this store knows."""

    node: str
    received_at: datetime | None = None  # MOTTATT: first shown to hold it (a signed summary or KVITTERING, or our row)
    read_at: datetime | None = None  # LEST: its KVITTERING LEST, or its answer, as signed
    done_at: datetime | None = None  # UTFØRT: its KVITTERING UTFØRT, as signed
    last_heard: datetime | None = None  # when nothing is confirmed: is the node out there at all?

    @property
    def level(self) -> str | None:
        """The highest level confirmed: UTFØRT, LEST, MOTTATT, or None (nothing yet)."""
        if self.done_at is not None:
            return DONE
        if self.read_at is not None:
            return READ
        return RECEIVED if self.received_at is not None else None

    @property
    def confirmed(self) -> bool:
        return self.level is not None

    @property
    def acknowledged(self) -> bool:
        """Read or done: what takes a NØD or HASTER off the banner."""
        return self.level in (READ, DONE)


def addressees(msg: Message, members: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The nodes expected to receive ``msg``: a group's members (for ALLE every store of
    the roster) or the one node it names, never its origin."""
    if msg.to.group is not None:
        return tuple(n for n in members.get(msg.to.group, ()) if n != msg.origin)
    return (str(msg.to.node),) if msg.to.node and msg.to.node != msg.origin else ()


def confirm(
    msg: Message,
    nodes: Sequence[str],
    holdings: Iterable[tuple[str, datetime]],
    replies: Iterable[Message],
    heard: Mapping[str, datetime],
) -> tuple[Confirmation, ...]:
    """Per node of ``nodes`` (in that order): what is confirmed about ``msg``.

    ``holdings`` are (node, when) this store learned the node holds ``msg`` (a
    store passes itself with the time the message entered it); ``replies`` are
    the messages that refer to ``msg`` (their signed ``created`` is when);
    ``heard`` is when each node was last heard.  The earliest of each counts."""
    received: dict[str, datetime] = {}
    for node, at in holdings:
        received[node] = min(at, received.get(node, at))
    read: dict[str, datetime] = {}
    done: dict[str, datetime] = {}
    for reply in replies:
        if reply.ref is None or str(reply.ref) != msg.id:
            continue
        level = reply.get("level") if reply.kind is Kind.KVITTERING else None
        if level is ReceiptLevel.UTFORT:
            target = done
        elif level is ReceiptLevel.MOTTATT:
            target = received  # its own signed word that it holds it
        elif level is ReceiptLevel.LEST or reply.kind is not Kind.KVITTERING:
            target = read  # an answer shows it was read
        else:
            continue
        target[reply.origin] = min(reply.created, target.get(reply.origin, reply.created))
    out = []
    for node in nodes:
        found = Confirmation(node, received.get(node), read.get(node), done.get(node))
        out.append(found if found.confirmed else Confirmation(node, last_heard=heard.get(node)))
    return tuple(out)


def waiting(confirmations: Iterable[Confirmation]) -> tuple[tuple[Confirmation, ...], tuple[Confirmation, ...]]:
    """(not received, received but not read): whom a NØD or HASTER still waits for, and for what."""
    found = tuple(confirmations)
    return tuple(c for c in found if not c.confirmed), tuple(c for c in found if c.level == RECEIVED)
