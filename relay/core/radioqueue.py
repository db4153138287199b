"""The Meshtastic firmware's transmit queue and contention windows, as a pure model.

After the firmware (2.7.x and 2.8 develop): ``src/mesh/MeshPacketQueue.cpp``
(the queue, its order and its eviction), ``RadioLibInterface.cpp`` (when the
front of the queue goes out), ``RadioInterface.cpp`` (the contention windows
and the slot time).  The simulator's medium keeps one ``RadioQueue`` per
radio, and ``relay hw-sim`` runs on that medium: one model for both.  The
daemon and the simulator give their frames a firmware priority with
``priority_for_rank``.

* The queue holds ``MAX_TX_QUEUE`` = 16 packets, ordered by
  ``MeshPacket.priority`` (higher first); at equal priority a relayed packet
  goes before the node's own, and otherwise first in, first out.
* Full: a packet strictly above the last one's priority evicts it (the
  evicted packet is lost, and nobody is told); otherwise the new packet is
  refused, and its client gets a QueueStatus error (``ERRNO_UNKNOWN``).
* Priority is not on the air: a radio relays another's packet as a fresh copy
  with no priority, which ``fixPriority`` makes ``DEFAULT`` (64) for relay's
  PRIVATE_APP broadcasts.
* Whenever a packet is queued, a transmission ends or a packet is heard, the
  radio draws a new delay for the packet at the front: its own packet
  ``random(0, 2^CW)`` slots with CW = map(channel utilisation, 0..100 %,
  3..8); a relay on a ROUTER ``random(0, 2·CWsize)`` slots, on other roles
  ``2·CWmax + random(0, 2^CWsize)`` slots, with CWsize = map(SNR, -20..10 dB,
  3..8).  When the delay ends and the channel is busy, it draws again.

* A client's broadcast sent with ``want_ack`` is retransmitted (``ReliableRouter``)
  until the radio hears a neighbour rebroadcast it (the implicit ACK), at most
  ``RELIABLE_TRIES`` times in all, each try ``retransmission_s`` after the last.
Not modelled: the late rebroadcast window (``tx_after``, used by the
ROUTER_LATE role and ``clampToLateRebroadcastWindow``), which relay's plans do
not use.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from enum import IntEnum
from typing import Generic, Protocol, TypeVar

from relay.core.airtime import Preset
from relay.core.model import Priority
from relay.core.sync.config import RANK_CONTROL, data_rank

MAX_TX_QUEUE = 16  # RadioInterface.h; 16 packets of at most 255 B: 4 KiB of the radio's RAM
CW_MIN = 3  # RadioInterface.h: contention window exponents, 2^3..2^8 slots
CW_MAX = 8
SNR_MIN_DB = -20  # RadioInterface::getCWsize: the SNR range mapped onto CW_MIN..CW_MAX
SNR_MAX_DB = 10
CAD_SYMBOLS = 2.5  # computeSlotTimeMsec: SX126x channel activity detection, 2 + 0.5 symbols
TURNAROUND_MS = 0.2 + 0.4 + 7  # ...plus propagation, radio turnaround and MAC processing
UTILIZATION_WINDOW_S = 60.0  # AirTime: channel utilisation over the last minute (6 periods of 10 s)


class FirmwarePriority(IntEnum):
    """``MeshPacket.Priority`` (mesh.proto): the transmit queue's order, never sent on the air."""

    UNSET = 0
    MIN = 1
    BACKGROUND = 10
    DEFAULT = 64
    RELIABLE = 70
    RESPONSE = 80
    HIGH = 100
    ALERT = 110
    ACK = 120
    MAX = 127


RELAYED_PRIORITY = FirmwarePriority.DEFAULT  # fixPriority of a relayed PRIVATE_APP broadcast (no want_ack)

# The sync's transmit rank -> the priority its frame gets in its own radio's queue.
# NØD above everything: MAX is above the firmware's routing ACKs (120), which relay never
# asks for (its broadcasts carry no want_ack).  HASTER at HIGH, the firmware's own rank for
# text.  Summaries and requests (RANK_CONTROL) at RESPONSE: below HASTER, above the
# routine data they let the stores repair.  PRIORITET at DEFAULT, where a relay goes first
# at equal priority.  RUTINE at BACKGROUND: every relay and every other frame passes it.
RANK_PRIORITY: dict[int, FirmwarePriority] = {
    data_rank(Priority.NOD.rank): FirmwarePriority.MAX,
    data_rank(Priority.HASTER.rank): FirmwarePriority.HIGH,
    RANK_CONTROL: FirmwarePriority.RESPONSE,
    data_rank(Priority.PRIORITET.rank): FirmwarePriority.DEFAULT,
    data_rank(Priority.RUTINE.rank): FirmwarePriority.BACKGROUND,
}


def priority_for_rank(rank: int) -> FirmwarePriority:
    """The firmware priority of a frame of transmit ``rank`` (``Transmission.rank``)."""
    if rank in RANK_PRIORITY:
        return RANK_PRIORITY[rank]
    return FirmwarePriority.MAX if rank < 0 else FirmwarePriority.BACKGROUND


def fixed_priority(priority: int, want_ack: bool) -> int:
    """The priority a client's PRIVATE_APP packet gets (``fixPriority``): its own, or when
    UNSET, RELIABLE with want_ack and DEFAULT without."""
    if priority != FirmwarePriority.UNSET:
        return priority
    return FirmwarePriority.RELIABLE if want_ack else FirmwarePriority.DEFAULT


class Queued(Protocol):
    """What the queue needs of a packet."""

    @property
    def priority(self) -> int: ...

    @property
    def relayed(self) -> bool: ...


P = TypeVar("P", bound=Queued)


def goes_before(a: Queued, b: Queued) -> bool:
    """``CompareMeshPacketFunc``: higher priority first; at equal priority a relay before our own."""
    if a.priority != b.priority:
        return a.priority > b.priority
    return a.relayed and not b.relayed


class RadioQueue(Generic[P]):
    """One radio's transmit queue (``MeshPacketQueue``)."""

    def __init__(self, capacity: int = MAX_TX_QUEUE) -> None:
        self.capacity = capacity
        self._packets: list[P] = []

    def __len__(self) -> int:
        return len(self._packets)

    def __iter__(self) -> Iterator[P]:
        return iter(list(self._packets))

    @property
    def free(self) -> int:
        """Free places (``QueueStatus.free``)."""
        return self.capacity - len(self._packets)

    def front(self) -> P | None:
        return self._packets[0] if self._packets else None

    def enqueue(self, packet: P) -> tuple[bool, P | None]:
        """Queue ``packet``: (taken, the packet it evicted).  (False, None): refused, the queue
        is full of packets at its priority or above."""
        evicted = None
        if len(self._packets) >= self.capacity:
            last = self._packets[-1]
            if last.priority >= packet.priority:
                return False, None
            evicted = self._packets.pop()
        self._insert(packet)
        return True, evicted

    def _insert(self, packet: P) -> None:
        # std::upper_bound: after every packet that it does not go before (stable among equals).
        for i, other in enumerate(self._packets):
            if goes_before(packet, other):
                self._packets.insert(i, packet)
                return
        self._packets.append(packet)

    def pop(self) -> P:
        """Take the front packet for the air."""
        return self._packets.pop(0)

    def remove_if(self, predicate: Callable[[P], bool]) -> list[P]:
        """Take out every packet ``predicate`` holds for (a cancelled rebroadcast)."""
        gone = [p for p in self._packets if predicate(p)]
        if gone:
            self._packets = [p for p in self._packets if not predicate(p)]
        return gone


# --- contention windows ----------------------------------------------------------------


def slot_time_s(preset: Preset) -> float:
    """``computeSlotTimeMsec``: channel activity detection plus turnaround, whole ms (28 ms at LONG_FAST)."""
    return int(CAD_SYMBOLS * preset.symbol_s * 1000 + TURNAROUND_MS) / 1000


def _map(x: float, in_lo: int, in_hi: int, out_lo: int, out_hi: int) -> int:
    """Arduino ``map`` on whole numbers (the float is truncated), clamped to the output range."""
    value = (int(x) - in_lo) * (out_hi - out_lo) // (in_hi - in_lo) + out_lo
    return max(out_lo, min(out_hi, value))


def cw_size(snr_db: float) -> int:
    """``getCWsize``: a better SNR gives a longer window, so weaker receivers relay first."""
    return _map(snr_db, SNR_MIN_DB, SNR_MAX_DB, CW_MIN, CW_MAX)


def own_delay_s(rng: random.Random, utilization_percent: float, slot_s: float) -> float:
    """``getTxDelayMsec``: before the radio sends its own packet."""
    window = _map(utilization_percent, 0, 100, CW_MIN, CW_MAX)
    return rng.randrange(2**window) * slot_s


RELIABLE_TRIES = 3  # NUM_RELIABLE_RETX: the first transmission and two retransmissions
PROCESSING_S = 4.5  # getRetransmissionMsec's allowance for the relay's processing


def retransmission_s(airtime_s: float, utilization_percent: float, slot_s: float) -> float:
    """``getRetransmissionMsec``: how long a want_ack packet waits for its implicit ACK
    before it goes again: twice its airtime, a contention allowance and processing
    (about 7 s for a 100-byte packet at LONG_FAST)."""
    window = _map(utilization_percent, 0, 100, CW_MIN, CW_MAX)
    contention: float = (2**window + 2 ** ((CW_MIN + CW_MAX) // 2)) * slot_s
    return 2 * airtime_s + contention + PROCESSING_S


def relay_delay_s(rng: random.Random, snr_db: float, router: bool, slot_s: float) -> float:
    """``getTxDelayMsecWeighted``: before the radio relays a packet it heard at ``snr_db``."""
    size = cw_size(snr_db)
    if router:
        return rng.randrange(2 * size) * slot_s
    return (2 * CW_MAX + rng.randrange(2**size)) * slot_s
