"""What LXMF puts on the air for a text: the comparison in ``relay bench size``.

Only imported when the optional ``bench`` extra (PyPI ``lxmf`` and ``rns``) is
installed; ``available()`` says whether it is.  Packing is offline: one
Reticulum instance with no interfaces and a temporary config directory, two
identities, an ``LXMRouter`` for the sender, and for every text a real
``LXMessage`` packed and put into a real ``RNS.Packet``.

How the bytes add up (LXMF 1.2.1, RNS 1.5.7, paths inside site-packages):

* ``LXMessage.pack()`` (LXMF/LXMessage.py:362-394): ``packed`` = destination
  hash 16 + source hash 16 + Ed25519 signature 64 + msgpack of
  ``[timestamp (float64, 9), title, content, fields]``; s01 (292 bytes of
  text): 1 + 9 + 2 + 3 + 292 + 1 = 308, so ``len(packed)`` = 404.
* Opportunistic delivery sends ``packed`` without the destination hash, which
  the packet header carries (LXMF/LXMessage.py:655-656): 388 bytes for s01.
* ``RNS.Packet.pack()`` encrypts that for the destination (RNS/Packet.py:219):
  ``Identity.encrypt`` prepends a 32-byte ephemeral X25519 public key to a
  Token (RNS/Identity.py:816-835), and the Token is IV 16 + AES-CBC with PKCS7
  padding to 16 + HMAC-SHA256 32 (RNS/Cryptography/Token.py:87-97): 388 -> 400
  -> 32 + 16 + 400 + 32 = 480.  The header is flags 1 + hops 1 + destination
  hash 16 + context 1 = 19 (RNS/Packet.py:182-234, HEADER_MINSIZE in
  RNS/Reticulum.py:150): 499 bytes, measured here as ``len(packet.raw)``.
* An RNode puts a packet on the air in LoRa frames of at most 255 bytes, each
  starting with a 1-byte header (sequence nibble and split flag); a packet of
  more than 254 bytes goes as two frames (RNode_Firmware.ino, ``transmit()``:
  ``SINGLE_MTU - HEADER_L``, ``written == 255``).  s01: frames of 255 and 246
  bytes, 501 bytes on the air.

The README figure "467 bytes in two LoRa frames" for s01 is 499 - 32: the
same packet without the ephemeral key (and without the two RNode frame
headers); the key is always there for a SINGLE destination, so 501 is what an
RNode transmits.  LXMF 1.2.1 would not even send s01 this way: its
opportunistic limit is 287 bytes of content (``ENCRYPTED_PACKET_MAX_CONTENT``
= 383 - 112 + 16, LXMF/LXMessage.py:79), so it falls back to a link (a link
request, its proof, then the message; LXMF/LXMessage.py:404-409).  The
figures here are the single-packet form all the same, a lower bound on what
LXMF sends, as the comparison asks; ``lxmf_method`` says what LXMF would
really do.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import math
import shutil
import signal
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relay.core.airtime import LONG_FAST, Preset, time_on_air

LORA_FRAME_MAX = 255  # RNode firmware SINGLE_MTU
RNODE_FRAME_HEADER = 1  # HEADER_L: sequence nibble + split flag, on every frame


def available() -> bool:
    """True when the ``bench`` extra (lxmf, rns) is installed."""
    return importlib.util.find_spec("LXMF") is not None and importlib.util.find_spec("RNS") is not None


@dataclass(frozen=True)
class LxmfSize:
    packed_bytes: int  # len(LXMessage.packed): the whole LXMF message, destination hash included
    rns_bytes: int  # the RNS packet of the opportunistic form (header + encrypted payload)
    frames: int  # LoRa frames an RNode needs for it
    on_air_bytes: int  # rns_bytes + one RNode header byte per frame
    airtime_s: float  # those frames at the preset
    method: str  # what LXMF itself would do: "opportunistic", "link" or "resource"


def lora_frames(rns_bytes: int) -> list[int]:
    """Sizes of the LoRa frames an RNode sends for a packet of ``rns_bytes``."""
    per_frame = LORA_FRAME_MAX - RNODE_FRAME_HEADER
    count = max(1, math.ceil(rns_bytes / per_frame))
    sizes = [per_frame] * (count - 1) + [rns_bytes - per_frame * (count - 1)]
    return [s + RNODE_FRAME_HEADER for s in sizes]


class Packer:
    """One offline Reticulum instance (a process may hold only one) and an LXMF sender."""

    _instance: Packer | None = None

    @classmethod
    def get(cls) -> Packer:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def __init__(self) -> None:
        self.rns: Any = importlib.import_module("RNS")
        self.lxmf: Any = importlib.import_module("LXMF")
        rns = self.rns
        tmp = Path(tempfile.mkdtemp(prefix="relay-bench-rns-"))
        # Registered before Reticulum's own exit handler, so it runs after it (atexit is LIFO):
        # that handler still writes its tables into the directory.
        atexit.register(shutil.rmtree, tmp, True)
        (tmp / "config").write_text(
            "[reticulum]\n  enable_transport = No\n  share_instance = No\n"
            "  panic_on_interface_error = No\n\n[logging]\n  loglevel = 0\n\n[interfaces]\n",
            encoding="utf-8",
        )
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        self.reticulum = rns.Reticulum(configdir=str(tmp), loglevel=rns.LOG_NONE)
        for signum, handler in handlers.items():  # Reticulum takes SIGINT/SIGTERM; give them back
            signal.signal(signum, handler)
        with warnings.catch_warnings():  # LXMRouter calls Thread.setDaemon, deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            self.router = self.lxmf.LXMRouter(storagepath=str(tmp / "lxmf"))
        self.source = self.router.register_delivery_identity(rns.Identity(), display_name=None)
        self.destination = rns.Destination(
            rns.Identity(), rns.Destination.OUT, rns.Destination.SINGLE, "lxmf", "delivery"
        )
        message_cls = self.lxmf.LXMessage
        self.opportunistic_limit = int(message_cls.ENCRYPTED_PACKET_MAX_CONTENT)
        self.link_limit = int(message_cls.LINK_PACKET_MAX_CONTENT)
        self.destination_length = int(message_cls.DESTINATION_LENGTH)

    def measure(self, text: str, preset: Preset = LONG_FAST) -> LxmfSize:
        message_cls = self.lxmf.LXMessage
        message = message_cls(self.destination, self.source, text, title="", desired_method=message_cls.OPPORTUNISTIC)
        message.pack()
        packed: bytes = message.packed
        # The opportunistic form: packed without the destination hash, in one packet to the destination.
        packet = self.rns.Packet(self.destination, packed[self.destination_length :])
        packet.MTU = 1 << 16  # measure the form even where it exceeds the 500-byte RNS MTU (then LXMF would not)
        packet.pack()
        rns_bytes = len(packet.raw)
        frames = lora_frames(rns_bytes)
        content = len(text.encode("utf-8"))
        if content <= self.opportunistic_limit:
            method = "opportunistic"
        elif content <= self.link_limit:
            method = "link"
        else:
            method = "resource"
        return LxmfSize(
            packed_bytes=len(packed),
            rns_bytes=rns_bytes,
            frames=len(frames),
            on_air_bytes=sum(frames),
            airtime_s=round(sum(time_on_air(f, preset) for f in frames), 4),
            method=method,
        )


def measure(text: str, preset: Preset = LONG_FAST) -> LxmfSize:
    return Packer.get().measure(text, preset)
