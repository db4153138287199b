"""Frames handed to the radio, and the ones its full transmit queue refused (kept to send again).

``relay.edge.radio`` keeps them; nothing here touches the library or a thread.
"""

from __future__ import annotations

from dataclasses import dataclass

REFUSED_MAX = 64  # refused frames kept (four radio queues' worth); beyond, the lowest priority goes


@dataclass(frozen=True)
class Outgoing:
    """A frame handed to the radio: what it takes to send it again."""

    frame: bytes
    hop_limit: int
    priority: int
    want_ack: bool = False


class Refused:
    """Refused frames, highest priority first (first in, first out among equals)."""

    def __init__(self, limit: int = REFUSED_MAX) -> None:
        self.limit = limit
        self._frames: list[Outgoing] = []

    def __len__(self) -> int:
        return len(self._frames)

    def add(self, out: Outgoing) -> Outgoing | None:
        """Keep ``out``; returns the frame dropped to stay within the limit, if any."""
        at = next((i for i, r in enumerate(self._frames) if r.priority < out.priority), len(self._frames))
        self._frames.insert(at, out)
        return self._frames.pop() if len(self._frames) > self.limit else None

    def goes_before(self, priority: int) -> bool:
        """A kept frame of at least ``priority`` waits: it goes first."""
        return bool(self._frames) and self._frames[0].priority >= priority

    def pop(self) -> Outgoing:
        return self._frames.pop(0)
