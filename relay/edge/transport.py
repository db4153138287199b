"""What the daemon needs of a radio, and what the radio says about a frame it heard.

``relay.edge.radio.MeshtasticTransport`` is the real one; the tests use fakes.
Nothing here imports meshtastic, so the daemon and its tests never pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from relay.core.airtime import Preset
from relay.core.radioqueue import FirmwarePriority

DEFAULT_PRIORITY = int(FirmwarePriority.DEFAULT)  # a frame sent without a rank (tests, tools)


@dataclass(frozen=True, slots=True)
class Heard:
    """One frame the radio received, and how it got here.

    ``hops`` is how many repeaters it crossed (hop_start - hop_limit of the
    MeshPacket; 0: heard from its sender directly, or old firmware that does not
    say), ``hop_start`` the hop limit its sender gave it (0: not said), and
    ``relay_node`` the last byte of the node number of the radio we heard it
    from (firmware 2.6+; None: not said)."""

    frame: bytes
    hops: int = 0
    hop_start: int = 0
    relay_node: int | None = None
    publisher: str | None = None  # IP: the node id whose topic it came on (the broker's ACL vouches for it)


class Transport(Protocol):
    """What the daemon needs of a radio."""

    @property
    def connected(self) -> bool:
        """The link to the device is up and configured."""
        ...

    @property
    def link_detail(self) -> str | None:
        """Why the link is down or sending is paused; None when all is well."""
        ...

    @property
    def modem(self) -> Preset | None:
        """The device's modem settings, once known."""
        ...

    def send(self, frame: bytes, hop_limit: int, priority: int = DEFAULT_PRIORITY, want_ack: bool = False) -> bool:
        """Hand one frame to the radio at firmware ``priority`` (its place in the radio's
        transmit queue; ``relay.core.radioqueue``); with ``want_ack`` the radio sends it
        again until it hears it relayed.  False if it cannot take it now.  Never raises."""
        ...

    def receive(self, timeout: float) -> Heard | None:
        """The next frame heard, waiting up to ``timeout`` seconds.  Never raises."""
        ...

    def close(self) -> None: ...
