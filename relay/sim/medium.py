"""The shared radio medium: LoRa airtime, loss, collisions, managed flooding, duty cycle.

Clock-agnostic discrete-event model: the driver calls ``send`` when a client
hands a packet to its radio and ``advance(until)`` to let time pass; it gets
back the packets each radio delivered to its client.  The virtual-time
simulator jumps from event to event; a real-time driver sleeps in between.

What it models, after the Meshtastic firmware:

* time on air per preset (Semtech formula, ``relay.core.airtime``);
* the firmware's transmit queue and contention windows
  (``relay.core.radioqueue``, one model shared with ``relay hw-sim``): 16
  packets by priority, eviction and refusal; a radio that hears the channel
  busy when its delay ends draws a new one; hidden terminals still collide;
* a collision at a receiver when two transmissions it can hear overlap (no
  capture effect), and half duplex (a transmitting radio hears nothing);
* independent loss per link and packet;
* managed flooding: a radio queues a packet with hop limit > 0 for relaying
  at DEFAULT priority (priority is not on the air); a CLIENT drops its queued
  relay when it first hears another radio relay it, a ``radio_only`` ROUTER
  never does and waits a shorter window;
* the firmware's duty-cycle limit per radio over a rolling hour: a client
  packet over the limit is refused (DUTY_CYCLE_LIMIT), a relay is dropped;
  a ``lawless`` radio (a hostile one) is not bound by it.

The scenarios give each link a loss, not an SNR.  The contention windows
need the SNR a packet was heard at: the model reads it from the link's loss,
``link_snr`` (0 % loss 10 dB, the top of the firmware's range; 50 % loss
-5 dB), as ``relay hw-sim`` reports it to clients.  Own packets wait by the
channel utilisation this radio saw over the last minute (its own and every
transmission in its range).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import partial

from relay.core.airtime import MAX_APP_PAYLOAD, DutyBudget, Preset, packet_airtime
from relay.core.radioqueue import (
    MAX_TX_QUEUE,
    RELAYED_PRIORITY,
    RELIABLE_TRIES,
    UTILIZATION_WINDOW_S,
    FirmwarePriority,
    RadioQueue,
    own_delay_s,
    relay_delay_s,
    retransmission_s,
    slot_time_s,
)

RADIO_QUEUE = MAX_TX_QUEUE


def link_snr(loss: float) -> float:
    """The SNR (dB) a packet is heard at over a link of ``loss``: worse links read weaker."""
    return round(10.0 - 30.0 * loss, 2)


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
    priority: int = FirmwarePriority.DEFAULT
    relayed: bool = False
    snr: float = 0.0  # what a relay was heard at (its contention window)
    queued_at: float = 0.0
    want_ack: bool = False  # a client's broadcast it wants to see rebroadcast (``ReliableRouter``)


@dataclass(frozen=True)
class Sent:
    """One transmission, for the figures and the tests: when its packet was queued and went out."""

    queued: float
    start: float
    sender: str
    priority: int
    relayed: bool
    length: int


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
    queue: RadioQueue[_Packet] = field(default_factory=RadioQueue)
    busy_until: float = 0.0
    timer: int = 0  # the generation of its transmit timer: a newer draw voids the older
    jammed_until: float = 0.0
    seen: set[int] = field(default_factory=set)
    heard: deque[tuple[float, float]] = field(default_factory=deque)  # (end, seconds) on the channel, last minute
    heard_s: float = 0.0
    heard_until: float = 0.0  # the end of the last transmission counted
    client_attached: bool = True
    airtime_s: float = 0.0
    packets_sent: int = 0
    bytes_sent: int = 0
    relays_sent: int = 0
    evicted: int = 0  # packets its queue dropped for a higher-priority one
    refused: int = 0  # packets its full queue could not take (relays dropped, own refused)
    history: list[tuple[float, float]] = field(default_factory=list)
    # want_ack packets not yet heard rebroadcast: packet id -> tries left
    unacked: dict[int, int] = field(default_factory=dict)
    retransmissions: int = 0

    def utilization_percent(self, now: float) -> float:
        """Channel utilisation this radio saw over the last minute (``AirTime``)."""
        while self.heard and self.heard[0][0] <= now - UTILIZATION_WINDOW_S:
            self.heard_s -= self.heard.popleft()[1]
        return min(100.0, max(0.0, 100.0 * self.heard_s / UTILIZATION_WINDOW_S))

    def log_channel(self, end: float, seconds: float) -> None:
        """A transmission it sent or heard ended: the part not already counted (a radio receives
        one packet at a time, so overlapping ones count once)."""
        self.utilization_percent(end)  # forget what left the window
        covered = end - max(end - seconds, self.heard_until)
        self.heard_until = max(self.heard_until, end)
        if covered > 0:
            self.heard.append((end, covered))
            self.heard_s += covered


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
        self.slot_s = slot_time_s(preset)
        self.frame_counts: dict[int, int] = {}  # frame length -> transmissions (relays included)
        self.bytes_log: list[tuple[float, int]] = []  # (start, frame bytes) of every transmission
        self.frames_log: list[tuple[float, str, bytes]] = []  # (start, sender, frame) of every transmission
        self.sent_log: list[Sent] = []  # every transmission: queued when, priority
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

    def jam(self, node: str, now: float, seconds: float) -> None:
        """A carrier only ``node`` hears for ``seconds`` from ``now`` (0: none): it finds the
        channel busy and hears nothing."""
        radio = self.radios[node]
        radio.jammed_until = now + seconds
        self._arm(radio, now)

    def occupy(self, node: str, count: int, now: float, priority: int = RELAYED_PRIORITY, length: int = 200) -> int:
        """Queue ``count`` relays of packets nobody's client hears on ``node``'s radio, as a
        busy neighbourhood's rebroadcasts would fill it (at DEFAULT; others' routing ACKs are
        relayed at ACK); returns how many it took."""
        radio = self.radios[node]
        taken = 0
        for _ in range(count):
            packet = _Packet(next(self._ids), f"{node}/occupied", bytes(length), 0, 0, priority, True)
            packet.queued_at = now
            if self._enqueue(radio, packet):
                radio.seen.add(packet.id)
                taken += 1
        self._arm(radio, now)
        return taken

    # --- clients -------------------------------------------------------------

    def send(
        self,
        node: str,
        frame: bytes,
        hop_limit: int,
        now: float,
        priority: int = FirmwarePriority.DEFAULT,
        want_ack: bool = False,
    ) -> SendResult:
        """A client hands its radio a packet of ``priority`` (``MeshPacket.priority``);
        with ``want_ack`` the radio sends it again until it hears it relayed."""
        radio = self.radios[node]
        if len(frame) > MAX_APP_PAYLOAD:
            return SendResult.TOO_LARGE
        if not radio.lawless and not radio.budget.allows(now, self.airtime(frame), urgent=True):
            return SendResult.DUTY_CYCLE_LIMIT
        if want_ack:
            hop_limit = max(hop_limit, 1)  # ReliableRouter::send: someone must rebroadcast it
        packet = _Packet(next(self._ids), node, frame, hop_limit, hop_limit, priority, queued_at=now)
        packet.want_ack = want_ack
        if not self._enqueue(radio, packet):
            return SendResult.QUEUE_FULL
        radio.seen.add(packet.id)
        if want_ack:
            radio.unacked[packet.id] = RELIABLE_TRIES - 1
        self.last_packet_id = packet.id
        self._arm(radio, now)
        return SendResult.QUEUED

    def queue_free(self, node: str) -> int:
        """Free places in the radio's transmit queue (the firmware's QueueStatus.free)."""
        return self.radios[node].queue.free

    def queue_priorities(self, node: str) -> list[int]:
        """The priorities waiting in the radio's transmit queue, front first."""
        return [p.priority for p in self.radios[node].queue]

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

    def _enqueue(self, radio: _Radio, packet: _Packet) -> bool:
        taken, evicted = radio.queue.enqueue(packet)
        if not taken:
            radio.refused += 1
        elif evicted is not None:
            radio.evicted += 1
        return taken

    def _arm(self, radio: _Radio, at: float) -> None:
        """``setTransmitDelay``: a fresh delay for the packet at the front of the queue, from ``at``."""
        front = radio.queue.front()
        if front is None or radio.busy_until > at:
            return  # nothing to send, or on the air: the end of the transmission arms it
        if front.relayed:
            delay = relay_delay_s(self.rng, front.snr, radio.router, self.slot_s)
        else:
            delay = own_delay_s(self.rng, radio.utilization_percent(at), self.slot_s)
        radio.timer += 1
        self._at(at + delay, partial(self._attempt, radio, radio.timer))

    def _channel_busy_until(self, node: str, now: float) -> float:
        ends = [tx.end for tx in self._active if tx.end > now and (tx.sender == node or self.hears(tx.sender, node))]
        jammed = self.radios[node].jammed_until
        return max([*ends, jammed]) if ends or jammed > now else now

    def _attempt(self, radio: _Radio, timer: int, now: float) -> None:
        if timer != radio.timer or not radio.queue or radio.busy_until > now:
            return
        busy = self._channel_busy_until(radio.node, now)
        if busy > now:
            self._arm(radio, busy)  # it hears the channel busy: it draws again once it is clear
            return
        self._transmit(radio, radio.queue.pop(), now)

    def _transmit(self, radio: _Radio, packet: _Packet, now: float) -> None:
        duration = self.airtime(packet.frame)
        tx = _Transmission(radio.node, packet, now, now + duration)
        self._active.append(tx)
        self._busy_intervals.append((now, tx.end))
        radio.busy_until = tx.end
        radio.budget.record(now, duration)
        radio.airtime_s += duration
        radio.packets_sent += 1
        radio.relays_sent += packet.relayed
        radio.bytes_sent += len(packet.frame)
        radio.history.append((now, duration))
        radio.log_channel(tx.end, duration)
        self.frame_counts[len(packet.frame)] = self.frame_counts.get(len(packet.frame), 0) + 1
        self.bytes_log.append((now, len(packet.frame)))
        self.frames_log.append((now, radio.node, packet.frame))
        self.sent_log.append(
            Sent(packet.queued_at, now, radio.node, packet.priority, packet.relayed, len(packet.frame))
        )
        self._at(tx.end, partial(self._end, tx))
        if packet.want_ack and not packet.relayed and packet.id in radio.unacked:
            wait = retransmission_s(duration, radio.utilization_percent(now), self.slot_s)
            self._at(tx.end + wait, partial(self._retransmit, radio, packet))

    def _retransmit(self, radio: _Radio, packet: _Packet, now: float) -> None:
        """No neighbour was heard relaying it: the radio queues it again, or gives up."""
        left = radio.unacked.get(packet.id)
        if left is None:
            return  # acknowledged
        if left <= 0:
            del radio.unacked[packet.id]  # the client gets a NAK (MAX_RETRANSMIT)
            return
        radio.unacked[packet.id] = left - 1
        again = replace(packet, queued_at=now)
        if self._enqueue(radio, again):
            radio.retransmissions += 1
            self._arm(radio, now)

    def _end(self, tx: _Transmission, now: float) -> list[Delivery]:
        out = []
        duration = tx.end - tx.start
        for node, radio in self.radios.items():
            if not self.hears(tx.sender, node):
                continue
            radio.log_channel(tx.end, duration)
            delivery = self._hear(radio, tx, now)
            if delivery is not None:
                out.append(delivery)
            self._arm(radio, now)  # ISR_RX: whatever it heard, the front packet's delay starts again
        self._active = [a for a in self._active if a.end > now - 60.0]
        self._arm(self.radios[tx.sender], now)
        return out

    def _hear(self, radio: _Radio, tx: _Transmission, now: float) -> Delivery | None:
        if self.rng.random() < self.links[frozenset((tx.sender, radio.node))]:
            return None
        if self._collided(tx, radio.node) or radio.jammed_until > tx.start:
            return None
        return self._receive(radio, tx, now)

    def _collided(self, tx: _Transmission, node: str) -> bool:
        for other in self._active:
            if other is tx or other.end <= tx.start or other.start >= tx.end:
                continue
            if other.sender == node or self.hears(other.sender, node):
                return True
        return False

    def _receive(self, radio: _Radio, tx: _Transmission, now: float) -> Delivery | None:
        packet = tx.packet
        if packet.origin == radio.node and tx.sender != radio.node:
            radio.unacked.pop(packet.id, None)  # our own packet, relayed: the implicit ACK
        if packet.id in radio.seen:
            # Managed flooding: someone else already relayed it; a CLIENT's own relay, still
            # waiting in its queue, is redundant.  A ROUTER never cancels.
            if not radio.router:
                radio.queue.remove_if(lambda p: p.id == packet.id and p.relayed)
            return None
        radio.seen.add(packet.id)
        if packet.hop_limit > 0 and not radio.mute:
            self._queue_relay(radio, tx, now)
        if not radio.client_attached or radio.router:
            return None
        return Delivery(
            radio.node, packet.frame, tx.sender, packet.origin, packet.id, packet.hop_limit, now, packet.hop_start
        )

    def _queue_relay(self, radio: _Radio, tx: _Transmission, now: float) -> None:
        """A fresh copy at DEFAULT priority (priority is not on the air), one hop less."""
        packet = tx.packet
        if not radio.lawless and not radio.budget.allows(now, self.airtime(packet.frame), urgent=True):
            return  # the firmware drops a relay over its duty cycle
        snr = link_snr(self.links[frozenset((tx.sender, radio.node))])
        relay = _Packet(
            packet.id, packet.origin, packet.frame, packet.hop_limit - 1, packet.hop_start, RELAYED_PRIORITY, True, snr
        )
        relay.queued_at = now
        self._enqueue(radio, relay)

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
