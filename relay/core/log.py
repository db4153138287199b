"""What the sync core needs from a node's log.  ``relay.edge.store.Store`` is one.

Kept as a Protocol so the core imports no database: the simulator and the
daemon hand it a real store; a test may hand it anything with these methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Protocol

from relay.core.wire import SignedMessage

EXTRA_BITS = 16  # a summary can name held messages up to this far above a hole


def extra_held(head: int, mask: int, seq: int) -> bool:
    """Does a peer with contiguous ``head`` and extras ``mask`` hold ``seq``?"""
    offset = seq - head - 2
    return seq <= head or (0 <= offset < EXTRA_BITS and bool(mask >> offset & 1))


def extras_mask(head: int, held_above: list[int]) -> int:
    """Bit i set: the message head+2+i is held (head+1 is the hole)."""
    return sum(1 << (s - head - 2) for s in held_above if 0 <= s - head - 2 < EXTRA_BITS)


class Inserted(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"  # new, and another message already holds this id


class Log(Protocol):
    def insert(self, signed: SignedMessage, received_at: datetime, local: bool = False) -> Inserted: ...

    def summary(self) -> dict[str, int]: ...

    def extras(self) -> dict[str, int]: ...

    def missing(
        self, peer_summary: Mapping[str, int], limit: int = 1000, extras: Mapping[str, int] | None = None
    ) -> list[tuple[str, int]]: ...

    def offer(
        self, peer_summary: Mapping[str, int], limit: int = 1000, extras: Mapping[str, int] | None = None
    ) -> list[tuple[str, int]]: ...

    def wire_of(self, origin: str, seq: int) -> list[bytes]: ...

    def pending(self) -> list[tuple[str, int, int]]: ...

    def mark_transmitted(self, origin: str, seq: int, at: datetime) -> None: ...

    def add_receipts(self, origin: str, first: int, last: int, node: str, level: str, at: datetime) -> None: ...
