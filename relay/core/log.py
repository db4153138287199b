"""What the sync core needs from a node's log.  ``relay.edge.store.Store`` is one.

Kept as a Protocol so the core imports no database: the simulator and the
daemon hand it a real store; a test may hand it anything with these methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Protocol

from relay.core.roster import RosterEntry
from relay.core.wire import SignedMessage

MAX_RANGES = 4  # held ranges above a hole that one summary names per origin (a page)
MAX_HELD_RUNS = 64  # runs per origin a store pages through, and remembers of a peer
Ranges = tuple[tuple[int, int], ...]  # (first, last) inclusive, ascending, above the head


def held_in(head: int, ranges: Ranges, seq: int) -> bool:
    """Does a peer with contiguous ``head`` and these extra ranges hold ``seq``?"""
    return seq <= head or any(first <= seq <= last for first, last in ranges)


def merge_runs(a: Ranges, b: Ranges, above: int = 0, limit: int = MAX_HELD_RUNS) -> Ranges:
    """The union of two sets of runs, above ``above`` (a head), at most ``limit`` runs.
    Stores never delete messages, so runs named in older summary pages stay true."""
    spans = sorted((max(first, above + 1), last) for first, last in (*a, *b) if last > above)
    out: list[tuple[int, int]] = []
    for first, last in spans:
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return tuple(out[:limit])


def ranges_of(seqs: list[int], limit: int = MAX_RANGES) -> Ranges:
    """Ascending sequence numbers as at most ``limit`` (first, last) runs."""
    out: list[tuple[int, int]] = []
    for seq in seqs:
        if out and seq == out[-1][1] + 1:
            out[-1] = (out[-1][0], seq)
        elif len(out) < limit:
            out.append((seq, seq))
        else:
            break
    return tuple(out)


class Inserted(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"  # new, and another message already holds this id


class Log(Protocol):
    def insert(self, signed: SignedMessage, received_at: datetime, local: bool = False) -> Inserted: ...

    def summary(self) -> dict[str, int]: ...

    def extras(self, page: int | None = 0) -> dict[str, Ranges]: ...

    def missing(
        self, peer_summary: Mapping[str, int], limit: int = 1000, extras: Mapping[str, Ranges] | None = None
    ) -> list[tuple[str, int]]: ...

    def offer(
        self, peer_summary: Mapping[str, int], limit: int = 1000, extras: Mapping[str, Ranges] | None = None
    ) -> list[tuple[str, int]]: ...

    def wire_of(self, origin: str, seq: int) -> list[bytes]: ...

    def held_above(self, origin: str, seq: int, limit: int = 1000) -> list[int]: ...

    def highest(self, origin: str, before: datetime | None = None) -> int: ...

    def local_head(self, origin: str) -> int: ...

    def raise_sequence_floor(self, origin: str, floor: int) -> None: ...

    def pending(self) -> list[tuple[str, int, int]]: ...

    def mark_transmitted(self, origin: str, seq: int, at: datetime) -> None: ...

    def add_receipts(self, origin: str, first: int, last: int, node: str, level: str, at: datetime) -> None: ...

    def quarantine(self, origin: str, seq: int, digest: str, reason: str, at: datetime) -> bool: ...

    def void_revoked(self, entry: RosterEntry, at: datetime) -> list[str]: ...

    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str) -> None: ...
