"""Numbers held in two versions: which ours name, and which each peer's summary named.

A number has two versions when a stolen key signed it as well as its owner, or a
store was restored from an old backup.  Summaries name numbers, not versions, so
a store that held the thief's version looked as if it held the owner's too, and
the genuine message stayed at its origin (1 of 8 stores after an hour).  Now a
summary names the numbers its sender holds twice (the newest few, for a day); a
store that holds one version asks for the number, and a holder answers a peer
whose summary does not name it with both.  Kept in the store's state, so a
restart goes on naming them.
"""

from __future__ import annotations

import json

from relay.core.sync.freshness import StateStore

STATE_KEY = "doubled_numbers"
KEPT = 8  # numbers remembered (the newest)
LISTED = 4  # numbers one summary names (the newest)
NAMED_S = 86400.0  # how long after we took the second version our summaries name it
OFFER_EVERY_S = 3600.0  # both versions given to one peer at most this often

Item = tuple[str, int]


class Doubled:
    """Ours: the numbers we hold twice, with the wall time we took the second version.
    Theirs: per peer, the numbers its last summary named."""

    def __init__(self, state: StateStore) -> None:
        self._state = state
        self._ours: dict[Item, float] = _load(state.get_state(STATE_KEY))
        self._theirs: dict[str, frozenset[Item]] = {}
        self._offered: dict[tuple[str, Item], float] = {}  # (peer, item) -> when we gave both versions
        self._wanted: set[Item] = set()  # named by a peer, held once here: we asked for the other

    def took(self, item: Item, wall: float) -> None:
        """We now hold ``item`` in two versions."""
        self._wanted.discard(item)
        self._ours = {**_load(self._state.get_state(STATE_KEY)), **self._ours, item: wall}  # and the other path's
        newest = sorted(self._ours.items(), key=lambda kv: kv[1], reverse=True)[:KEPT]
        self._ours = dict(newest)
        self._state.set_state(STATE_KEY, json.dumps([[o, s, t] for (o, s), t in newest]))

    def refresh(self) -> None:
        """Take in what the store keeps: the other path's sync may have taken one (read as
        each summary of ours is built, not on every frame heard)."""
        merged = {**_load(self._state.get_state(STATE_KEY)), **self._ours}
        self._ours = dict(sorted(merged.items(), key=lambda kv: kv[1], reverse=True)[:KEPT])

    def listed(self, wall: float) -> tuple[Item, ...]:
        """What our next summary names: the newest few taken within a day, sorted."""
        recent = [(t, item) for item, t in self._ours.items() if wall - t < NAMED_S]
        return tuple(sorted(item for _, item in sorted(recent, reverse=True)[:LISTED]))

    def heard(self, peer: str, named: tuple[Item, ...]) -> None:
        self._theirs[peer] = frozenset(named)

    def want(self, item: Item) -> None:
        """A peer holds ``item`` twice, we once: our request for it stands until we hold two."""
        if len(self._wanted) > 1024:
            self._wanted.clear()  # a memory bound: the next summary that names it asks again
        self._wanted.add(item)

    def versions_wanted(self, item: Item) -> int:
        """How many versions of ``item`` must be held before a request for it is void."""
        return 2 if item in self._wanted else 1

    def lacks(self, peer: str, item: Item) -> bool:
        """Do we hold ``item`` twice while ``peer``'s last summary did not say it does?"""
        return item in self._ours and item not in self._theirs.get(peer, frozenset())

    def offer_due(self, peer: str, item: Item, now: float) -> bool:
        """May we give ``peer`` both versions of ``item`` now (at most once an hour)?"""
        if now - self._offered.get((peer, item), -1e18) < OFFER_EVERY_S:
            return False
        if len(self._offered) > 1024:
            self._offered.clear()  # a memory bound: what we forget is given again sooner
        self._offered[(peer, item)] = now
        return True


def _load(text: str | None) -> dict[Item, float]:
    """What the store kept; anything unreadable is forgotten (it is only a hint)."""
    try:
        rows = json.loads(text) if text else []
        return {(str(o), int(s)): float(t) for o, s, t in rows}
    except (ValueError, TypeError):
        return {}
