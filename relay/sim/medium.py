"""The shared radio medium: LoRa airtime, loss, collisions, managed flooding, duty cycle.

Clock-agnostic discrete-event model: the driver calls ``send`` when a client
hands a packet to its radio and ``advance(until)`` to let time pass; it gets
back the packets each radio delivered to its client.  The virtual-time
simulator jumps from event to event; a real-time driver sleeps in between.

What it models, after the Meshtastic firmware:

* time on air per preset (Semtech formula, ``relay.core.airtime``);
* listen-before-talk: a radio that hears the channel busy backs off a random
  number of slots; hidden terminals still collide;
* a collision at a receiver when two transmissions it can hear overlap (no
  capture effect), and half duplex (a transmitting radio hears nothing);
* independent loss per link and packet;
* managed flooding: a radio rebroadcasts a packet with hop limit > 0 after a
  random contention delay unless it first hears another radio rebroadcast it;
  a ``radio_only`` router always rebroadcasts, and sooner;
* the firmware's duty-cycle limit per radio over a rolling hour: a client
  packet over the limit is refused (DUTY_CYCLE_LIMIT), a relay is dropped;
  a ``lawless`` radio (a hostile one) is not bound by it.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from functools import partial

from relay.core.airtime import MAX_APP_PAYLOAD, DutyBudget, Preset, packet_airtime

RADIO_QUEUE = 16
CSMA_SLOTS = 8
REBROADCAST_SLOTS = 32
ROUTER_SLOTS = 4


class SendResult(Enum):
    QUEUED = "QUEUED"
    DUTY_CYCLE_LIMIT = "DUTY_CYCLE_LIMIT"
    TOO_LARGE = "TOO_LARGE"
    QUEUE_FULL = "QUEUE_FULL"


@dataclass(frozen=True)
class Delivery:
    """A packet a radio heard and hands to its client."""

    node: str
    frame: bytes
    sender: str  # the radio whose transmission this was (may be a relay)
    origin: str  # the radio that first sent the packet
    packet_id: int
    hop_limit: int  # what was left of the hop limit when it reached us
    time: float
    hop_start: int = 0  # the hop limit its first sender gave it

    @property
    def hops(self) -> int:
        """Repeaters it crossed on its way: 0 when heard from its first sender."""
        return self.hop_start - self.hop_limit


@dataclass
class _Packet:
    id: int
    origin: str
    frame: bytes
    hop_limit: int
    hop_start: int


@dataclass
class _Transmission:
    sender: str
    packet: _Packet
    start: float
    end: float


@dataclass
class _Radio:
    node: str
    router: bool
    mute: bool  # CLIENT_MUTE: never rebroadcasts others' packets (the store relays instead)
    budget: DutyBudget
    lawless: bool = False  # ignores the duty-cycle limit (a hostile radio)
    queue: list[_Packet] = field(default_factory=list)
    busy_until: float = 0.0
    attempt_pending: bool = False
    seen: set[int] = field(default_factory=set)
    pending_relays: dict[int, _Packet] = field(default_factory=dict)
    client_attached: bool = True
    airtime_s: float = 0.0
    packets_sent: int = 0
    bytes_sent: int = 0
    relays_sent: int = 0
    history: list[tuple[float, float]] = field(default_factory=list)


class Medium:
    def __init__(
        self,
        nodes: Iterable[str],
        links: dict[frozenset[str], float],
        preset: Preset,
        rng: random.Random,
        duty_cycle: float = 0.10,
        routers: Iterable[str] = (),
        mute: Iterable[str] = (),
        lawless: Iterable[str] = (),
    ) -> None:
        """``routers`` rebroadcast sooner and always; ``mute`` radios never rebroadcast;
        ``lawless`` radios transmit regardless of the duty-cycle limit."""
        routers = set(routers)
        muted = set(mute)
        unbound = set(lawless)
        self.preset = preset
        self.rng = rng
        self.links = dict(links)
        self.radios = {
            n: _Radio(n, n in routers, n in muted, DutyBudget(duty_cycle, reserve=0.0), n in unbound) for n in nodes
        }
        self.cut: set[str] = set()
        self._events: list[tuple[float, int, Callable[[float], list[Delivery] | None]]] = []
        self._order = itertools.count()
        self._ids = itertools.count(1)
        self._active: list[_Transmission] = []
        self._busy_intervals: list[tuple[float, float]] = []
        self.slot_s = 8.5 * preset.symbol_s
        self.frame_counts: dict[int, int] = {}  # frame length -> transmissions (relays included)
        self.bytes_log: list[tuple[float, int]] = []  # (start, frame bytes) of every transmission
        self.frames_log: list[tuple[float, str, bytes]] = []  # (start, sender, frame) of every transmission
        self.last_packet_id = 0  # id of the packet the last QUEUED send created (its Delivery.packet_id)

    # --- topology ------------------------------------------------------------

    def hears(self, a: str, b: str) -> bool:
        return a != b and frozenset((a, b)) in self.links and a not in self.cut and b not in self.cut

    def neighbours(self, node: str) -> list[str]:
        return [n for n in self.radios if self.hears(node, n)]

    def partition(self, nodes: Iterable[str]) -> None:
        self.cut.update(nodes)

    def heal(self, nodes: Iterable[str]) -> None:
        self.cut.difference_update(nodes)

    def set_attached(self, node: str, attached: bool) -> None:
        """A radio without its client (daemon down, USB unplugged) still relays."""
        self.radios[node].client_attached = attached

    # --- clients -------------------------------------------------------------

    def send(self, node: str, frame: bytes, hop_limit: int, now: float) -> SendResult:
        radio = self.radios[node]
        if len(frame) > MAX_APP_PAYLOAD:
            return SendResult.TOO_LARGE
        if len(radio.queue) >= RADIO_QUEUE:
            return SendResult.QUEUE_FULL
        if not radio.lawless and not radio.budget.allows(now, self.airtime(frame), urgent=True):
            return SendResult.DUTY_CYCLE_LIMIT
        packet = _Packet(next(self._ids), node, frame, hop_limit, hop_limit)
        radio.seen.add(packet.id)
        radio.queue.append(packet)
        self.last_packet_id = packet.id
        self._kick(radio, now)
        return SendResult.QUEUED

    def queue_free(self, node: str) -> int:
        """Free places in the radio's transmit queue (the firmware's QueueStatus.free)."""
        return RADIO_QUEUE - len(self.radios[node].queue)

    def idle(self, node: str, now: float) -> bool:
        """True when the radio has nothing queued or on the air."""
        radio = self.radios[node]
        return not radio.queue and radio.busy_until <= now

    def airtime(self, frame: bytes) -> float:
        return packet_airtime(len(frame), self.preset)

    def airtime_of_length(self, length: int) -> float:
        return packet_airtime(length, self.preset)

    # --- time ----------------------------------------------------------------

    def next_time(self) -> float | None:
        return self._events[0][0] if self._events else None

    def advance(self, until: float) -> list[Delivery]:
        out: list[Delivery] = []
        while self._events and self._events[0][0] <= until:
            t, _, action = heapq.heappop(self._events)
            out.extend(action(t) or ())
        return out

    def _at(self, t: float, action: Callable[[float], list[Delivery] | None]) -> None:
        heapq.heappush(self._events, (t, next(self._order), action))

    def _kick(self, radio: _Radio, now: float) -> None:
        if radio.queue and not radio.attempt_pending:
            radio.attempt_pending = True
            self._at(
                max(now, radio.busy_until) + self.rng.uniform(0, CSMA_SLOTS) * self.slot_s,
                partial(self._attempt, radio),
            )

    def _channel_busy_until(self, node: str, now: float) -> float:
        ends = [tx.end for tx in self._active if tx.end > now and (tx.sender == node or self.hears(tx.sender, node))]
        return max(ends) if ends else now

    def _attempt(self, radio: _Radio, now: float) -> None:
        radio.attempt_pending = False
        if not radio.queue:
            return
        busy = self._channel_busy_until(radio.node, now)
        if busy > now:
            radio.attempt_pending = True
            self._at(busy + self.rng.uniform(1, CSMA_SLOTS) * self.slot_s, partial(self._attempt, radio))
            return
        packet = radio.queue.pop(0)
        duration = self.airtime(packet.frame)
        tx = _Transmission(radio.node, packet, now, now + duration)
        self._active.append(tx)
        self._busy_intervals.append((now, tx.end))
        radio.busy_until = tx.end
        radio.budget.record(now, duration)
        radio.airtime_s += duration
        radio.packets_sent += 1
        radio.bytes_sent += len(packet.frame)
        radio.history.append((now, duration))
        self.frame_counts[len(packet.frame)] = self.frame_counts.get(len(packet.frame), 0) + 1
        self.bytes_log.append((now, len(packet.frame)))
        self.frames_log.append((now, radio.node, packet.frame))
        self._at(tx.end, partial(self._end, tx))

    def _end(self, tx: _Transmission, now: float) -> list[Delivery]:
        out = []
        for node, radio in self.radios.items():
            if not self.hears(tx.sender, node):
                continue
            if self.rng.random() < self.links[frozenset((tx.sender, node))]:
                continue
            if self._collided(tx, node):
                continue
            delivery = self._receive(radio, tx, now)
            if delivery is not None:
                out.append(delivery)
        self._active = [a for a in self._active if a.end > now - 60.0]
        self._kick(self.radios[tx.sender], now)
        return out

    def _collided(self, tx: _Transmission, node: str) -> bool:
        for other in self._active:
            if other is tx or other.end <= tx.start or other.start >= tx.end:
                continue
            if other.sender == node or self.hears(other.sender, node):
                return True
        return False

    def _receive(self, radio: _Radio, tx: _Transmission, now: float) -> Delivery | None:
        packet = tx.packet
        if packet.id in radio.seen:
            # Managed flooding: someone else already relayed it; ours is redundant,
            # whether it still waits for its slot or sits in the radio's queue.
            if not radio.router:
                radio.pending_relays.pop(packet.id, None)
                radio.queue = [p for p in radio.queue if p.id != packet.id or p.origin == radio.node]
            return None
        radio.seen.add(packet.id)
        if packet.hop_limit > 0 and not radio.mute:
            relay = _Packet(packet.id, packet.origin, packet.frame, packet.hop_limit - 1, packet.hop_start)
            radio.pending_relays[packet.id] = relay
            slots = ROUTER_SLOTS if radio.router else REBROADCAST_SLOTS
            self._at(now + self.rng.uniform(0, slots) * self.slot_s, partial(self._relay, radio, packet.id))
        if not radio.client_attached or radio.router:
            return None
        return Delivery(
            radio.node, packet.frame, tx.sender, packet.origin, packet.id, packet.hop_limit, now, packet.hop_start
        )

    def _relay(self, radio: _Radio, packet_id: int, now: float) -> None:
        packet = radio.pending_relays.pop(packet_id, None)
        if packet is None or len(radio.queue) >= RADIO_QUEUE:
            return
        if not radio.lawless and not radio.budget.allows(now, self.airtime(packet.frame), urgent=True):
            return  # the firmware drops a relay over its duty cycle
        radio.relays_sent += 1
        radio.queue.append(packet)
        self._kick(radio, now)

    # --- figures ---------------------------------------------------------------

    def utilization(self, duration: float) -> float:
        """Share of ``duration`` during which some transmission was on the air."""
        busy = 0.0
        cur_start = cur_end = -1.0
        for start, end in sorted(self._busy_intervals):
            if start > cur_end:
                busy += cur_end - cur_start
                cur_start, cur_end = start, end
            else:
                cur_end = max(cur_end, end)
        busy += cur_end - cur_start
        return busy / duration if duration > 0 else 0.0

    def max_hourly_duty(self, node: str) -> float:
        """Highest share of any rolling hour this radio spent transmitting."""
        history = self.radios[node].history
        best = 0.0
        lo = 0
        window = 0.0
        for start, dur in history:
            window += dur
            while history[lo][0] + history[lo][1] <= start + dur - 3600.0:
                window -= history[lo][1]
                lo += 1
            best = max(best, window)
        return best / 3600.0
