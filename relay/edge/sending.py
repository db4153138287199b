"""Sign a message with the node's key and commit it to the outbox: the one way an operator sends.

``relay send`` and ``relay desk`` both call ``prepare`` (check the key, build
and measure a preview) and then ``commit`` (number, sign and store it in one
transaction).  The daemon transmits what the store holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from relay.core import wire
from relay.core.entry import Cost, cost
from relay.core.model import Address, Kind, Message, MessageRef, Priority
from relay.edge import dictionaries
from relay.edge.home import Home
from relay.errors import LocalError


@dataclass(frozen=True)
class Prepared:
    """A message checked and signed once under a placeholder number, with its cost on air."""

    preview: wire.SignedMessage
    cost: Cost
    build: Callable[[int], wire.SignedMessage]
    created: datetime

    @property
    def message(self) -> Message:
        return self.preview.message


def prepare(
    home: Home,
    kind: Kind,
    values: dict[str, object],
    *,
    to: Address,
    priority: Priority,
    exercise: bool | None,
    ref: MessageRef | None,
    when: datetime,
    synced: bool,
    incident: str | None = None,
    approved_by: str | None = None,
) -> Prepared:
    """Validate (``Message.create``), sign with the node's key and measure; raise a RelayError."""
    config = home.config()
    roster = home.roster()
    signer = home.signer()
    entry = roster.active(config.node_id)
    if entry is None or entry.public_key != signer.public_key:
        raise LocalError(code="key_not_in_roster", node=config.node_id)
    mode = config.exercise if exercise is None else exercise

    def build(seq: int) -> wire.SignedMessage:
        msg = Message.create(
            kind=kind,
            origin=config.node_id,
            seq=seq,
            created=when,
            fields=values,
            priority=priority,
            exercise=mode,
            to=to,
            ref=ref,
            incident=incident,
            approved_by=approved_by,
            clock_synced=synced,  # a receiver shows the time of a message from an unsynchronised clock as unsure
        )
        return wire.encode(msg, signer, dictionaries.current())

    preview = build(1)
    return Prepared(preview, cost(preview.wire, preview.key_id), build, when)


def commit(home: Home, prepared: Prepared) -> wire.SignedMessage:
    """Number, sign and store it in the outbox, atomically; the daemon sends it."""
    store = home.store()
    try:
        return store.commit_local(home.config().node_id, prepared.build, prepared.created)
    finally:
        store.close()
