"""Which signed summaries are new: each store numbers its summaries upward, for ever.

A summary is what MOTTATT receipts, "last heard" and the neighbour lists are made
of.  Signed, it cannot be forged, but it can be replayed: SIG's first summary,
replayed after seventy newer ones, kept SIG "heard 0 s ago" while it was dark, and
after a restart the replay memory was empty.  So:

* a store numbers its summaries with a 32-bit counter that only rises: at least
  one above the last it sent, and at least its clock's seconds since 2025
  (``COUNTER_EPOCH``).  The last is kept in the store, so a restart goes on
  above it; the clock's part carries a store restored from an old backup above
  what it sent before the loss, as long as its clock is right;
* a receiver keeps the newest counter it took from each sender, per path, in the
  store: a summary numbered below it is stale, whoever sends it and however long
  after.  The same summary again within ``echo_s`` is one transmission heard once
  more through a relaying radio, and counts as before.

Per path (the radio, IP), because a store sends its own summaries on each: the IP
path's are newer most of the time, and one newest across both would refuse every
summary the radio brings.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

COUNTER_EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z: a summary's counter is at least the seconds since
COUNTER_MAX = 0xFFFF_FFFF
OWN_KEY = "summary_counter"


class StateStore(Protocol):
    """Small named values kept across restarts (the store's ``state`` table)."""

    def get_state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str) -> None: ...


def clock_seconds(wall_s: float) -> int:
    """A wall-clock time as a summary says it: whole seconds since 2025."""
    return int(wall_s) - COUNTER_EPOCH


def next_counter(last: int, wall_s: float) -> int:
    """The counter of our next summary: above ``last``, and not below the clock's."""
    return min(COUNTER_MAX, max(last + 1, clock_seconds(wall_s)))


class SummaryClock:
    """Our own summaries' counter, kept in the store (shared by both paths' syncs)."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    def next(self, wall_s: float) -> int:
        last = _int(self._state.get_state(OWN_KEY))
        counter = next_counter(last, wall_s)
        self._state.set_state(OWN_KEY, str(counter))
        return counter


class Freshness:
    """The newest summary taken from each sender on one path."""

    def __init__(self, state: StateStore, path: str, echo_s: float) -> None:
        self._state = state
        self._path = path
        self._echo_s = echo_s
        self._newest: dict[str, tuple[int, bytes, float]] = {}  # peer -> (counter, body digest, first heard)

    def take(self, peer: str, counter: int, body: bytes, now: float) -> None:
        """A verified summary that ``stale`` let through: newer than the newest, it is the newest."""
        if counter > self._newest_of(peer)[0]:
            self._newest[peer] = (counter, _digest(body), now)
            self._state.set_state(self._key(peer), str(counter))

    def stale(self, peer: str, counter: int, body: bytes, now: float) -> bool:
        """Is it no newer than the newest taken, and not that one relayed?  (Cheap: asked
        before the signature is checked.)"""
        newest, newest_digest, first = self._newest_of(peer)
        if counter > newest:
            return False
        return counter < newest or _digest(body) != newest_digest or now - first > self._echo_s

    @property
    def path(self) -> str:
        return self._path

    def newest(self, peer: str) -> int:
        return self._newest_of(peer)[0]

    def _newest_of(self, peer: str) -> tuple[int, bytes, float]:
        known = self._newest.get(peer)
        if known is None:
            known = (_int(self._state.get_state(self._key(peer)), -1), b"", float("-inf"))
            self._newest[peer] = known
        return known

    def _key(self, peer: str) -> str:
        return f"summary_newest:{self._path}:{peer}"


def _digest(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()[:8]


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default  # a damaged value: start over (a replay of old summaries may pass once)
