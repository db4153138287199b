"""Our clock against the region's: what the daemon's snapshot says, for status, board and send.

The sync learns from its peers' signed summaries how far our clock is from theirs
(``SyncState.clock_skew``); the daemon puts the median in its snapshot, and a
distance beyond ``CLOCK_WARN_S`` is an alarm: messages from here get the wrong
time (a Pi that boots without RTC or NTP is a normal day in a crisis).
"""

from __future__ import annotations

import json
from typing import Any

from relay.daemon.snapshot import STALE_AFTER_S, STATUS_KEY
from relay.edge.home import Home

CLOCK_WARN_S = 600.0  # a clock further than this from the region's is an alarm (status, board, send)


def clock_skew(snap: dict[str, Any] | None) -> tuple[float, int] | None:
    """Our clock's distance from the region's (s, and how many peers say so), when the
    daemon's snapshot shows it beyond ``CLOCK_WARN_S``; else None."""
    clock = (snap or {}).get("clock")
    if not isinstance(clock, dict):
        return None
    skew, peers = clock.get("skew_s"), clock.get("peers")
    if not isinstance(skew, (int, float)) or not isinstance(peers, int) or abs(skew) <= CLOCK_WARN_S:
        return None
    return float(skew), peers


def current_clock_skew(home: Home, now: float) -> tuple[float, int] | None:
    """``clock_skew`` from the running daemon's snapshot (None: no daemon, or no alarm)."""

    store = home.store()
    try:
        raw = store.get_state(STATUS_KEY)
    finally:
        store.close()
    try:
        snap = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(snap, dict) or not isinstance(snap.get("at"), (int, float)):
        return None
    return clock_skew(snap) if now - float(snap["at"]) <= STALE_AFTER_S else None


def clock_skew_text(skew: float, peers: int) -> tuple[str, str]:
    """The warning for a clock that is wrong by ``skew`` s, in nb and en."""
    hours = abs(skew) / 3600.0
    if hours >= 48:
        span_nb, span_en = f"{hours / 24:.0f} døgn", f"{hours / 24:.0f} days"
    elif hours >= 1:
        span_nb, span_en = f"{hours:.1f} timer".replace(".", ","), f"{hours:.1f} hours"
    else:
        span_nb = span_en = f"{abs(skew) / 60:.0f} min"
    way_nb, way_en = ("foran", "ahead of") if skew > 0 else ("etter", "behind")
    return (
        f"KLOKKA: klokka her går {span_nb} {way_nb} regionens ({peers} node(r) sier det): meldinger herfra"
        " får feil tid; still klokka (timedatectl set-time) eller sjekk NTP/RTC",
        f"CLOCK: this node's clock is {span_en} {way_en} the region's ({peers} node(s) say so): messages from"
        " here get the wrong time; set the clock (timedatectl set-time) or check NTP/RTC",
    )
