"""The receipt lag of a simulated run: how long until the origin shows a holder as MOTTATT.

For every message and every store but its origin, the lag is the time from the
store holding the message (``delivered``) to the origin's store recording that
the store holds it (``confirmed``: a signed summary's heads, heard by the
origin).  ``Simulation`` records both instants; ``summary`` sums them up for
``relay sim run --json`` and ``tools/measure_receipts.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from relay.edge.store import Store

SETTLE_S = 30 * 60.0  # "still unconfirmed 30 minutes after the region converged"


class ReceiptStore(Store):
    """A store that tells the simulator when its sync records a MOTTATT for a peer."""

    on_receipts: Any = None  # (origin, first, last, node) -> None

    def add_receipts(self, origin: str, first: int, last: int, node: str, level: str, at: datetime) -> None:
        super().add_receipts(origin, first, last, node, level, at)
        if self.on_receipts is not None and level == "MOTTATT":
            self.on_receipts(origin, first, last, node)


@dataclass(frozen=True)
class Pair:
    """One (message, store): when the store held it, when the origin showed it as MOTTATT."""

    message: str
    store: str
    held_at: float | None
    confirmed_at: float | None

    @property
    def false(self) -> bool:
        """Shown as MOTTATT before the store held it: a receipt that was not so."""
        return self.confirmed_at is not None and (self.held_at is None or self.confirmed_at < self.held_at)

    @property
    def lag(self) -> float | None:
        if self.held_at is None or self.confirmed_at is None or self.false:
            return None
        return round(self.confirmed_at - self.held_at, 3)


def summary(pairs: Sequence[Pair], converged_at: float | None, duration: float) -> dict[str, Any]:
    """The receipt figures of a run for its JSON report: every pair counted once as
    confirmed or not; the lag's median, p90 and worst over the confirmed ones."""
    lags = sorted(lag for p in pairs if (lag := p.lag) is not None)
    unconfirmed = [p for p in pairs if p.confirmed_at is None]
    settled = converged_at + SETTLE_S if converged_at is not None else None
    late = None
    if settled is not None and settled <= duration:
        late = sum(1 for p in pairs if p.confirmed_at is None or p.confirmed_at > settled)
    return {
        "pairs": len(pairs),
        "confirmed": len(pairs) - len(unconfirmed),
        "unconfirmed": len(unconfirmed),  # at the end of the run
        "unconfirmed_held": sum(1 for p in unconfirmed if p.held_at is not None),  # held, but not shown so
        "false": sum(1 for p in pairs if p.false),
        "lag_s": {"median": percentile(lags, 0.5), "p90": percentile(lags, 0.9), "worst": lags[-1] if lags else None},
        # None: the run ended before 30 minutes after it converged, or never converged
        "unconfirmed_30min_after_convergence": late,
    }


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` quantile of an ascending list (None when empty)."""
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))], 3)


def pairs(messages: Iterable[Any], stores: Sequence[str]) -> list[Pair]:
    """Every (message, store but its origin) of a run's message records (``delivered``, ``confirmed``)."""
    out = []
    for m in messages:
        delivered: Mapping[str, float] = m.delivered
        confirmed: Mapping[str, float] = m.confirmed
        out += [Pair(m.id, s, delivered.get(s), confirmed.get(s)) for s in stores if s != m.origin]
    return out
