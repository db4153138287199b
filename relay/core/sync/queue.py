"""The transmit queue of one sync node: frames waiting for the radio, best rank first.

Ranks: NØD data 0, HASTER 1, control frames 2, PRIORITET 3, RUTINE 4 (``config``).
Within a rank, first in first out.  One entry per key (an item, a summary, one
request), so the same frame is never queued twice; an entry whose answer is
no longer needed is cancelled in place (it empties its frame) and dropped
when it reaches the head.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from relay.core.frames import Want
from relay.core.sync.config import Transmission

Key = tuple[object, ...]


@dataclass
class Answer:
    """An answer waiting for its turn: the item, and the neighbours known to lack it."""

    fire: float
    tx: Transmission
    item: tuple[str, int]
    waiting: set[str]
    deferred: int = 0  # turns it was held back for others' answers (``SyncNode._defer``)
    # The rank of the message itself: an old NØD's answer queues as PRIORITET (it must
    # not spend the urgent reserve) but is still not paced by the hill share.
    item_rank: int = 4


@dataclass(order=True)
class Queued:
    rank: int
    order: int
    key: Key = field(compare=False)
    tx: Transmission = field(compare=False)
    answer: Answer | None = field(compare=False, default=None)  # set for an answer to others
    wants: tuple[Want, ...] = field(compare=False, default=())


class TxQueue:
    def __init__(self) -> None:
        self._heap: list[Queued] = []
        self._keys: set[Key] = set()
        self._order = itertools.count()

    def next_id(self) -> int:
        """A fresh number, for keys that name no item (a request)."""
        return next(self._order)

    def __contains__(self, key: Key) -> bool:
        return key in self._keys

    def push(self, key: Key, tx: Transmission, answer: Answer | None = None, wants: tuple[Want, ...] = ()) -> None:
        """Queue ``tx`` under ``key``, unless something is queued under it already."""
        if key in self._keys:
            return
        self._keys.add(key)
        heapq.heappush(self._heap, Queued(tx.rank, next(self._order), key, tx, answer, wants))

    def head(self) -> Queued | None:
        return self._heap[0] if self._heap else None

    def pop(self) -> Queued:
        """Take the head off the queue (it is being sent, or was cancelled)."""
        queued = heapq.heappop(self._heap)
        self._keys.discard(queued.key)
        return queued

    def cancel(self, queued: Queued) -> None:
        """Empty an entry in place: it is dropped when it reaches the head."""
        self._keys.discard(queued.key)
        queued.answer = None
        queued.key = ("cancelled",)
        queued.tx = Transmission(b"", 0, queued.rank)

    def __iter__(self) -> Iterator[Queued]:
        return iter(self._heap)

    def live(self) -> list[Queued]:
        """The entries that still carry a frame."""
        return [q for q in self._heap if q.tx.frame]

    def answers(self, key: Key | None = None) -> list[Queued]:
        """Queued answers (under ``key``, or all)."""
        return [q for q in self._heap if q.answer is not None and (key is None or q.key == key)]
