"""Numbers of our own origin that a thief signed first, and that we skipped.

A stolen key's message under our origin, above what we committed, is refused with
an alarm, and our next number goes above it (``Log.raise_sequence_floor``): else our
next message would be a second version of the thief's number.  The numbers skipped
stay the thief's: below the floor they would pass for our own history coming back
after a restore, so they are kept in the store's state (across restarts, and for
both paths' syncs), refused when heard, and never asked for.
"""

from __future__ import annotations

import json

from relay.core.sync.freshness import StateStore

STATE_KEY = "stolen_numbers"
KEPT = 16  # runs remembered (the newest)

Run = tuple[int, int]


class Stolen:
    def __init__(self, state: StateStore, origin: str) -> None:
        self._state = state
        self._origin = origin

    def skip(self, first: int, last: int) -> None:
        """Numbers ``first``..``last`` of our origin are the thief's."""
        if last < first:
            return
        runs = self._runs()
        if runs and first <= runs[-1][1] + 1 and last >= runs[-1][0]:
            runs = [*runs[:-1], (min(first, runs[-1][0]), max(last, runs[-1][1]))]  # a flood: one run
        else:
            runs = [*runs, (first, last)][-KEPT:]
        self._state.set_state(STATE_KEY, json.dumps(runs))

    def holds(self, origin: str, seq: int) -> bool:
        """Is ``origin``-``seq`` one of our numbers a thief took?"""
        return origin == self._origin and any(first <= seq <= last for first, last in self._runs())

    def _runs(self) -> list[Run]:
        """Read from the store each time: the radio's sync and the IP path's share it, and
        a number one of them skipped must be the thief's on the other too.  Only our own
        origin's numbers are looked up, and those are rare."""
        return _load(self._state.get_state(STATE_KEY))


def _load(text: str | None) -> list[Run]:
    try:
        return [(int(a), int(b)) for a, b in json.loads(text)] if text else []
    except (ValueError, TypeError):
        return []
