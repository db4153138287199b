"""The simulated IP path: an MQTT broker every IP node publishes to and hears from.

A frame published by a node whose path is up reaches every other node whose
path is up ``latency`` seconds later (plus a little jitter), in order per
publisher, and costs no airtime.  A node whose path is down publishes nothing
and hears nothing; what was in flight to it is lost, as a broker drops what a
disconnected clean-session client would have got.

A federation: the ``bridged`` nodes (the county governor's home for this
region) sit on another broker that this region's broker bridges to
(``hw/mosquitto/README.md``).  A frame between the two sides crosses the
bridge: ``bridge_latency`` more, and lost while the bridge is cut (a bridge
with a clean session keeps nothing); each side still hears its own.
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
    def __init__(
        self,
        nodes: tuple[str, ...],
        latency: float,
        rng: random.Random,
        bridged: tuple[str, ...] = (),
        bridge_latency: float = 0.0,
    ) -> None:
        self.nodes = nodes
        self.latency = latency
        self.rng = rng
        self.bridged = frozenset(bridged)
        self.bridge_latency = bridge_latency
        self.bridge_up = True
        self.bridge_frames = 0  # frames that crossed the bridge (once each, as a bridge forwards them)
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
        crossed = False
        for other in self.nodes:
            if other != node:
                crossing = self._crosses(node, other)
                if crossing and not self.bridge_up:
                    continue
                crossed |= crossing
                self._order += 1
                delay = self.latency * (1.0 + 0.25 * self.rng.random()) + (self.bridge_latency if crossing else 0.0)
                at = max(now + delay, self._last.get((node, other), 0.0))
                self._last[(node, other)] = at
                heapq.heappush(self._queue, IpDelivery(at, self._order, other, frame, node))
        self.bridge_frames += crossed
        return True

    def _crosses(self, a: str, b: str) -> bool:
        return (a in self.bridged) != (b in self.bridged)

    def set_bridge(self, up: bool) -> None:
        self.bridge_up = up

    def next_time(self) -> float | None:
        return self._queue[0].at if self._queue else None

    def advance(self, until: float) -> list[IpDelivery]:
        """Frames due by ``until``, to nodes whose path is up (and whose publisher's was)."""
        out = []
        while self._queue and self._queue[0].at <= until:
            delivery = heapq.heappop(self._queue)
            crossing = self._crosses(delivery.publisher, delivery.node)
            if crossing and not self.bridge_up:
                continue  # in flight on the bridge when it was cut
            if delivery.node in self.up:
                self.figures[delivery.node].frames_heard += 1
                out.append(delivery)
        return out
