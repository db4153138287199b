"""Air frames: what one Meshtastic packet payload (at most 231 bytes) carries.

The first byte tells the frame apart.  A whole message travels bare: its first
byte already starts with the message format version (0x1_ for format 1), so a
one-packet message costs no framing at all.  Control frames use first bytes
below 0x10.

Fragment frame byte budget (8 bytes of header, 223 of data)::

    1  FRAGMENT (0x01)
    2  sender key id
    2  sequence number (u16, low bits; the digest tells wraps apart)
    2  first two bytes of SHA-256 of the whole message (tells a conflict apart)
    1  index (high nibble) and count - 1 (low nibble): at most 16 fragments
    .. data
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field

from relay.core.airtime import MAX_APP_PAYLOAD
from relay.errors import DecodeError

FRAGMENT = 0x01
FRAGMENT_HEADER = struct.Struct(">BHHHB")
FRAGMENT_DATA = MAX_APP_PAYLOAD - FRAGMENT_HEADER.size  # 223
MAX_FRAGMENTS = 16
MAX_MESSAGE_BYTES = MAX_FRAGMENTS * FRAGMENT_DATA


def is_message_frame(frame: bytes) -> bool:
    return bool(frame) and frame[0] >= 0x10


def packets_for(wire_bytes: int) -> int:
    """How many packets a message of ``wire_bytes`` needs on the air."""
    if wire_bytes <= MAX_APP_PAYLOAD:
        return 1
    return math.ceil(wire_bytes / FRAGMENT_DATA)


@dataclass(frozen=True, slots=True)
class FragmentKey:
    key_id: int
    seq16: int
    digest16: int


@dataclass(frozen=True, slots=True)
class Fragment:
    key: FragmentKey
    index: int
    count: int
    data: bytes

    def to_bytes(self) -> bytes:
        k = self.key
        head = FRAGMENT_HEADER.pack(FRAGMENT, k.key_id, k.seq16, k.digest16, (self.index << 4) | (self.count - 1))
        return head + self.data

    @classmethod
    def from_bytes(cls, frame: bytes) -> Fragment:
        if len(frame) <= FRAGMENT_HEADER.size or len(frame) > MAX_APP_PAYLOAD:
            raise DecodeError("fragment of impossible size", "malformed")
        kind, kid, seq16, digest16, packed = FRAGMENT_HEADER.unpack_from(frame)
        if kind != FRAGMENT:
            raise DecodeError("not a fragment", "malformed")
        index, count = packed >> 4, (packed & 0x0F) + 1
        if index >= count or count < 2:
            raise DecodeError("fragment index out of range", "malformed")
        return cls(FragmentKey(kid, seq16, digest16), index, count, frame[FRAGMENT_HEADER.size :])


def key_for(wire: bytes, key_id: int, seq: int) -> FragmentKey:
    return FragmentKey(key_id, seq & 0xFFFF, int.from_bytes(hashlib.sha256(wire).digest()[:2], "big"))


def split(wire: bytes, key_id: int, seq: int) -> list[bytes]:
    """The frames that carry ``wire``: itself if it fits, else its fragments."""
    if len(wire) <= MAX_APP_PAYLOAD:
        return [wire]
    count = packets_for(len(wire))
    if count > MAX_FRAGMENTS:
        raise ValueError(f"message of {len(wire)} bytes exceeds {MAX_FRAGMENTS} fragments")
    key = key_for(wire, key_id, seq)
    # Equal-sized pieces: the last fragment is not a runt that wastes a preamble.
    size = math.ceil(len(wire) / count)
    return [Fragment(key, i, count, wire[i * size : (i + 1) * size]).to_bytes() for i in range(count)]


@dataclass
class _Partial:
    count: int
    pieces: dict[int, bytes] = field(default_factory=dict)


class Reassembler:
    """Collects fragments in any order, with duplicates; bounded in memory."""

    def __init__(self, max_partials: int = 64) -> None:
        self._partials: dict[FragmentKey, _Partial] = {}
        self._max = max_partials

    def add(self, fragment: Fragment) -> bytes | None:
        """Add one fragment; return the whole message once it is complete and intact."""
        partial = self._partials.get(fragment.key)
        if partial is None:
            if len(self._partials) >= self._max:
                self._partials.pop(next(iter(self._partials)))
            partial = self._partials[fragment.key] = _Partial(fragment.count)
        if partial.count != fragment.count:
            raise DecodeError("fragment count disagrees with earlier fragments", "malformed")
        partial.pieces[fragment.index] = fragment.data
        if len(partial.pieces) < partial.count:
            return None
        del self._partials[fragment.key]
        wire = b"".join(partial.pieces[i] for i in range(partial.count))
        if key_for(wire, fragment.key.key_id, fragment.key.seq16).digest16 != fragment.key.digest16:
            raise DecodeError("reassembled message does not match its digest", "bad_digest")
        return wire

    def missing(self, key: FragmentKey) -> list[int]:
        """Indexes still missing for a message being reassembled (empty if unknown)."""
        partial = self._partials.get(key)
        if partial is None:
            return []
        return [i for i in range(partial.count) if i not in partial.pieces]
