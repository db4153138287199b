"""Where a path's own new messages come from.

The store's outbox (``Log.pending`` / ``Log.mark_transmitted``) belongs to the
radio: ``relay status`` shows what has not gone on air.  A second path (IP)
keeps its own in memory (``PathOutbox``): the daemon adds each message the CLI
commits, and the path marks it pushed.  After a restart it starts with what the
radio had not sent; what it missed, its peers' summaries show and the sync
repairs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Outbox(Protocol):
    def pending(self) -> list[tuple[str, int, int]]: ...

    def mark_transmitted(self, origin: str, seq: int, at: datetime) -> None: ...


class PathOutbox:
    """(origin, seq) -> priority rank of our messages this path has not pushed."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, int], int] = {}

    def add(self, origin: str, seq: int, rank: int) -> None:
        self._pending[(origin, seq)] = rank

    def pending(self) -> list[tuple[str, int, int]]:
        """Most urgent first, then oldest."""
        return [(o, s, r) for (o, s), r in sorted(self._pending.items(), key=lambda kv: (kv[1], kv[0][1]))]

    def mark_transmitted(self, origin: str, seq: int, at: datetime) -> None:
        del at
        self._pending.pop((origin, seq), None)
