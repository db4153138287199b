"""The Trickle timer (RFC 6206) that times a node's summaries.

Pure state: an interval that doubles from a floor to a ceiling while all is
consistent and falls back to the floor on anything new; within each interval
one moment, picked at random in its second half, when the node speaks unless
it already heard ``redundancy`` consistent summaries.  What counts as
consistent, and the exceptions to the silence, are the sync node's to say.
"""

from __future__ import annotations

import random


class Trickle:
    def __init__(self, floor: float, rng: random.Random, now: float, redundancy: int) -> None:
        self.interval = floor
        self.redundancy = redundancy
        self._rng = rng
        self.start = now
        self.fire_at = now
        self.heard = 0  # consistent summaries heard this interval
        self.fired = False
        self._restart(now)

    def _restart(self, now: float) -> None:
        self.start = now
        self.fire_at = now + self._rng.uniform(self.interval / 2, self.interval)
        self.heard = 0
        self.fired = False

    @property
    def ends(self) -> float:
        return self.start + self.interval

    def reset(self, now: float, floor: float) -> None:
        """Something inconsistent: back to the floor (unless already there and running)."""
        if self.interval > floor or self.ends < now:
            self.interval = floor
            self._restart(now)

    def cap(self, now: float, ceiling: float) -> None:
        """Shorten a longer interval to ``ceiling`` at once (a node that turned lonely)."""
        if self.interval > ceiling:
            self.interval = ceiling
            self._restart(now)

    def consistent(self) -> None:
        """A summary that agrees with ours was heard."""
        self.heard += 1

    def fire(self, now: float) -> bool:
        """True once per interval, at its moment: time to speak (or keep quiet)."""
        if self.fired or now < self.fire_at:
            return False
        self.fired = True
        return True

    def suppressed(self, listeners: int) -> bool:
        """Enough agreeing summaries were heard this interval: ours would add nothing.
        Enough is ``redundancy``, or fewer where fewer can hear us: a town hall that
        hears only its hub, and heard the hub agree, tells nobody anything new."""
        return self.heard >= min(self.redundancy, max(listeners, 1))

    def expire(self, now: float, floor: float, ceiling: float) -> None:
        """At the end of an interval, the next one is twice as long, up to ``ceiling``."""
        if now >= self.ends:
            self.interval = min(self.interval * 2, max(ceiling, floor))
            self._restart(now)

    def deadlines(self) -> list[float]:
        """When the timer next needs to run."""
        return [self.ends] if self.fired else [self.ends, self.fire_at]
