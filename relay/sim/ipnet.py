"""The simulated IP path: an MQTT broker every IP node publishes to and hears from.

A frame published by a node whose path is up reaches every other node whose
path is up ``latency`` seconds later (plus a little jitter), in order per
publisher, and costs no airtime.  A node whose path is down publishes nothing
and hears nothing; what was in flight to it is lost, as a broker drops what a
disconnected clean-session client would have got.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from typing import NamedTuple


class IpDelivery(NamedTuple):
    at: float
    order: int
    node: str
    frame: bytes
    publisher: str


@dataclass
class IpFigures:
    frames_sent: int = 0
    bytes_sent: int = 0
    frames_heard: int = 0


class IpNet:
    def __init__(self, nodes: tuple[str, ...], latency: float, rng: random.Random) -> None:
        self.nodes = nodes
        self.latency = latency
        self.rng = rng
        self.up = set(nodes)
        self.figures = {n: IpFigures() for n in nodes}
        self._queue: list[IpDelivery] = []
        self._order = 0
        self._last: dict[tuple[str, str], float] = {}  # (publisher, receiver) -> latest arrival

    def set_up(self, node: str, up: bool) -> None:
        if up:
            self.up.add(node)
        else:
            self.up.discard(node)

    def is_up(self, node: str) -> bool:
        return node in self.up

    def send(self, node: str, frame: bytes, now: float) -> bool:
        """Publish; False when the node's path is down (the frame stays with its sync)."""
        if node not in self.up:
            return False
        figures = self.figures[node]
        figures.frames_sent += 1
        figures.bytes_sent += len(frame)
        for other in self.nodes:
            if other != node:
                self._order += 1
                at = max(now + self.latency * (1.0 + 0.25 * self.rng.random()), self._last.get((node, other), 0.0))
                self._last[(node, other)] = at
                heapq.heappush(self._queue, IpDelivery(at, self._order, other, frame, node))
        return True

    def next_time(self) -> float | None:
        return self._queue[0].at if self._queue else None

    def advance(self, until: float) -> list[IpDelivery]:
        """Frames due by ``until``, to nodes whose path is up (and whose publisher's was)."""
        out = []
        while self._queue and self._queue[0].at <= until:
            delivery = heapq.heappop(self._queue)
            if delivery.node in self.up:
                self.figures[delivery.node].frames_heard += 1
                out.append(delivery)
        return out
