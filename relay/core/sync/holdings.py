"""Who holds what across the region, from signed summaries, and which to pass on.

A summary from N proves what N holds, so the MOTTATT receipts cost no airtime
where the origin hears N.  Where it does not (Modum: the town halls' radios
relay nothing, and a store two ground hops away is never heard; 69 % of the
pairs were still unconfirmed 30 minutes after the region converged, 10 seeds),
a store between them passes N's summary on as it is, signature and all
(``frames.Held``): only N's key makes it, so neither a rogue with the channel
key nor a thief with a third store's key can make a false MOTTATT with it.

Pure state, no I/O: the sync node decides what to pass on and when
(``Receiving._pass_on``); this keeps, per store, the heads its newest summary
showed, and the newest summary frame waiting to be passed on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass
class _Kept:
    counter: int
    frame: bytes
    due: float | None  # when we pass it on (None: passed on, or heard passed on by another)
    toward: frozenset[str] = frozenset()  # the origins it is passed on for


class Holdings:
    """Per store: the heads its newest summary shows, and its summary to pass on."""

    def __init__(self) -> None:
        self._heads: dict[str, dict[str, int]] = {}
        self._kept: dict[str, _Kept] = {}

    def news(self, node: str, heads: Mapping[str, int], complete: bool) -> dict[str, tuple[int, int]]:
        """Record ``node``'s heads; per origin, the numbers (first, last) it now shows
        held that it did not before.  A page (``complete`` False) adds to what is known."""
        before = self._heads.get(node, {})
        news = {o: (before.get(o, 0) + 1, seq) for o, seq in heads.items() if seq > before.get(o, 0)}
        self._heads[node] = {**before, **heads} if not complete else {**heads}
        return news

    def heads(self, node: str) -> dict[str, int]:
        return dict(self._heads.get(node, {}))

    def newest(self, node: str) -> int:
        """The counter of ``node``'s newest summary we keep (-1: none)."""
        kept = self._kept.get(node)
        return kept.counter if kept is not None else -1

    def keep(self, node: str, counter: int, frame: bytes, due: float | None, toward: frozenset[str]) -> None:
        """Keep ``node``'s summary (if newer), to pass on at ``due`` for the origins
        ``toward`` (None: not ours to pass on)."""
        kept = self._kept.get(node)
        if kept is not None and counter <= kept.counter:
            return
        if kept is not None and kept.due is not None:
            # A newer one takes the older one's place: its turn, and whom it was for.
            due = kept.due if due is None else min(due, kept.due)
            toward |= kept.toward
        self._kept[node] = _Kept(counter, frame, due, toward)

    def passed(self, node: str, counter: int) -> None:
        """Someone passed on ``node``'s summary numbered ``counter``: ours, if no newer, waits no more."""
        kept = self._kept.get(node)
        if kept is not None and kept.counter <= counter:
            kept.due = None

    def next_due(self) -> float | None:
        return min((k.due for k in self._kept.values() if k.due is not None), default=None)

    def take_due(self, now: float, room: int) -> tuple[list[bytes], frozenset[str]]:
        """The summaries due by ``now`` that fit ``room`` bytes (each with its length
        byte), oldest turn first, and the origins they go to; they are then passed on.
        A summary not yet due rides along where it fits: it would go soon anyway."""
        waiting = sorted((k.due, node) for node, k in self._kept.items() if k.due is not None)
        out: list[bytes] = []
        toward: frozenset[str] = frozenset()
        for due, node in waiting:
            kept = self._kept[node]
            if (due > now and not out) or len(kept.frame) + 1 > room:
                break
            room -= len(kept.frame) + 1
            out.append(kept.frame)
            toward |= kept.toward
            kept.due = None
        return out, toward
