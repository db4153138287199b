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


class Inserted(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"  # new, and another message already holds this id


class Log(Protocol):
    def insert(self, signed: SignedMessage, received_at: datetime, local: bool = False) -> Inserted: ...

    def summary(self) -> dict[str, int]: ...

    def missing(self, peer_summary: Mapping[str, int], limit: int = 1000) -> list[tuple[str, int]]: ...

    def offer(self, peer_summary: Mapping[str, int], limit: int = 1000) -> list[tuple[str, int]]: ...

    def wire_of(self, origin: str, seq: int) -> list[bytes]: ...

    def pending(self) -> list[tuple[str, int, int]]: ...

    def mark_transmitted(self, origin: str, seq: int, at: datetime) -> None: ...

    def add_receipts(self, origin: str, first: int, last: int, node: str, level: str, at: datetime) -> None: ...
