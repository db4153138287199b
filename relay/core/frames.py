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
import itertools
import math
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from relay.core.airtime import FRAGMENT_HEADER_BYTES, MAX_APP_PAYLOAD, MAX_FRAGMENTS
from relay.core.bits import BitReader, BitWriter
from relay.core.nodeid import read_node, write_node
from relay.core.signing import SIGNATURE_BYTES, SUMMARY_CONTEXT, verify
from relay.errors import DecodeError

FRAGMENT = 0x01
FRAGMENT_HEADER = struct.Struct(">BHHHB")
FRAGMENT_DATA = MAX_APP_PAYLOAD - FRAGMENT_HEADER_BYTES  # 223


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
    pieces: dict[int, list[bytes]] = field(default_factory=dict)  # index -> variants, the first heard first

    def add(self, index: int, data: bytes) -> bool:
        """Keep ``data`` as a variant of piece ``index``: the first heard and the newest
        others, at most ``VARIANTS``.  False if it was held already."""
        variants = self.pieces.setdefault(index, [])
        if data in variants:
            return False
        if len(variants) >= VARIANTS:
            del variants[1]  # the oldest after the first
        variants.append(data)
        return True

    def wholes(self) -> Iterator[bytes]:
        """The messages the pieces can make, the first-heard variants first, at most ``MAX_TRIES``."""
        lists = [self.pieces[i] for i in range(self.count)]
        return (b"".join(combination) for combination in itertools.islice(itertools.product(*lists), MAX_TRIES))


VARIANTS = 3  # pieces kept per fragment index
MAX_TRIES = 256  # combinations of variants tried when a partial is complete (a SHA-256 each)


class Reassembler:
    """Collects fragments in any order, with duplicates; bounded in memory.

    A fragment cannot be verified until its message is whole, so a radio with the
    channel key can forge any number of them under any key id.  So:

    * a piece is never overwritten: up to ``VARIANTS`` of each index are kept, and a
      complete partial tries their combinations against the digest and against
      ``accept`` (the signature); a forged piece timed against every answer once made
      a 5-fragment message fail for 4 hours;
    * a partial that fails stays, to be completed by the genuine pieces;
    * room is bounded per key id and in all, and when it runs out the partial with
      the fewest pieces goes (the oldest of those), but never for one that ``named``
      does not name (a summary names its number, or we asked for it): 64 forged
      one-fragment partials used to evict a genuine message that was four fifths
      there, and four fuller forged ones still did."""

    def __init__(
        self, max_partials: int = 64, per_key: int = 4, named: Callable[[FragmentKey], bool] = lambda _: False
    ) -> None:
        self._partials: dict[FragmentKey, _Partial] = {}
        self._max = max_partials
        self._per_key = per_key
        self._named = named

    def add(self, fragment: Fragment, accept: Callable[[bytes], bool] = lambda _: True) -> bytes | None:
        """Add one fragment; return the whole message once it is complete, matches its
        digest and ``accept`` takes it.  Raises ``bad_digest`` when the partial is complete
        and no combination of its pieces does (it is kept for more pieces)."""
        partial = self._partials.get(fragment.key) or self._open(fragment)
        if partial is None:
            return None  # no room but a named partial's
        if partial.count != fragment.count:
            raise DecodeError("fragment count disagrees with earlier fragments", "malformed")
        if not partial.add(fragment.index, fragment.data) or len(partial.pieces) < partial.count:
            return None
        key = fragment.key
        for wire in partial.wholes():
            if key_for(wire, key.key_id, key.seq16).digest16 == key.digest16 and accept(wire):
                del self._partials[key]
                return wire
        raise DecodeError("reassembled message does not match its digest", "bad_digest")

    def _open(self, fragment: Fragment) -> _Partial | None:
        same = [k for k in self._partials if k.key_id == fragment.key.key_id]
        full = same if len(same) >= self._per_key else list(self._partials) if len(self._partials) >= self._max else []
        if full:
            unnamed = [k for k in full if not self._named(k)]
            if not unnamed and not self._named(fragment.key):
                return None
            self._evict(unnamed or full)
        partial = self._partials[fragment.key] = _Partial(fragment.count)
        return partial

    def _evict(self, keys: list[FragmentKey]) -> None:
        """Drop the partial with the fewest pieces among ``keys`` (the oldest of a tie)."""
        del self._partials[min(keys, key=lambda k: len(self._partials[k].pieces))]

    def missing(self, key: FragmentKey) -> list[int]:
        """Indexes still missing for a message being reassembled (empty if unknown)."""
        partial = self._partials.get(key)
        if partial is None:
            return []
        return [i for i in range(partial.count) if i not in partial.pieces]


# --- control frames -------------------------------------------------------------
#
# SUMMARY byte budget: 1 type + 2 key id + ~1 roster version + ~1 count, then
# per origin ~3 bytes of node id + ~1.5 bytes of sequence: 8 origins ≈ 40 bytes,
# 0.8 s at LONG_FAST.  REQUEST: 1 type + 2 key id + ~1 count, then per item
# ~4.5 bytes (+2 with a fragment mask).  Neither is signed: 64 bytes would
# double a summary's cost, and a forged one can only cost airtime or claim a
# MOTTATT that the signed KVITTERING does not.

SUMMARY = 0x02
REQUEST = 0x03
BUNDLE = 0x04
MAX_REQUEST_ITEMS = 32
MAX_NEIGHBOURS = 64
MAX_HOPS = 7  # the firmware's highest hop limit
MAX_DOUBLED = 8  # numbers held twice that one summary names
MAX_CLOCK_LAG = 1 << 32  # a summary's clock, less its counter: a Pi that boots in 1970 still fits


def _fitted(w: BitWriter, what: str, limit: int = MAX_APP_PAYLOAD) -> bytes:
    data = w.to_bytes()
    if len(data) > limit:
        raise ValueError(f"{what} of {len(data)} bytes does not fit one packet")
    return data


@dataclass(frozen=True, slots=True)
class Summary:
    """Heads per origin.  A region with many origins pages them: ``complete`` is
    False when this frame lists only some, so a missing origin proves nothing.

    Signed by its sender (64 bytes after the body): a summary is what MOTTATT
    receipts, "last heard" and the neighbour lists are made of, and a 5-byte
    forgery made receipts for messages a node never got."""

    key_id: int
    roster_version: int
    heads: tuple[tuple[str, int], ...]  # (origin, highest contiguous seq), sorted
    complete: bool = True
    # (origin, held (first, last) runs above its head), sorted: news behind a hole
    extras: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()
    # Positions in the roster's node list of the nodes the sender hears: with them a
    # holder can tell whether someone else's answer reached every node it meant to serve.
    neighbours: tuple[int, ...] = ()
    # Hops to each of ``neighbours`` (same order; empty: all heard directly): 0 is
    # a direct neighbour, 1 heard through one repeater.  A relayed summary must not
    # make its origin look like a direct neighbour, and a holder reaches a peer
    # behind a hill only with a hop limit of at least this.  1 bit when all are
    # direct; else 1-3 bits a neighbour (0: 1 bit, 1-2: 3 bits).
    hops: tuple[int, ...] = ()
    # The sender's count of its summaries (32 bits): it only rises, and is at least the
    # sender's clock in seconds since 2025, so an older one is a replay (sync/freshness.py).
    counter: int = 0
    # The sender's clock when it signed, in seconds since 2025 (None: the counter's value,
    # as it is whenever the clock is right).  Said as its difference from the counter:
    # 1 bit unless the clock was set back.  Receivers judge the age of the sender's
    # messages by it (``SyncState._age``): a Pi that boots 40 days behind is not refused.
    clock: int | None = None
    # (origin, seq) the sender holds in two versions, the newest few, sorted: a store
    # holding one asks for the number, and both versions travel (a stolen key that
    # signed the owner's next number first kept the genuine one at its origin).
    doubled: tuple[tuple[str, int], ...] = ()
    # As heard: the signed body and its signature (``verify``); empty when built here.
    body: bytes = field(default=b"", compare=False, repr=False)
    signature: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.hops and len(self.hops) != len(self.neighbours):
            raise ValueError("summary: one hop count per neighbour")
        if not any(self.hops):
            object.__setattr__(self, "hops", ())  # all direct: said as no hop counts
        if self.clock is None:
            object.__setattr__(self, "clock", self.counter)

    @property
    def sent_at(self) -> int:
        """The sender's clock when it signed, in seconds since 2025."""
        return self.counter if self.clock is None else self.clock

    def hops_to(self) -> dict[int, int]:
        """Roster position -> hops, for every neighbour listed."""
        return dict(zip(self.neighbours, self.hops or (0,) * len(self.neighbours), strict=True))

    def to_bytes(self) -> bytes:
        w = BitWriter()
        w.write(SUMMARY, 8)
        w.write(self.key_id, 16)
        w.write(self.counter & 0xFFFFFFFF, 32)
        lag = self.sent_at - (self.counter & 0xFFFFFFFF)
        w.write_signed_golomb(max(-MAX_CLOCK_LAG, min(MAX_CLOCK_LAG, lag)), 0)
        w.write_golomb(self.roster_version, 2)
        w.write_bool(self.complete)
        w.write_golomb(len(self.heads), 3)
        for origin, seq in self.heads:
            write_node(w, origin)
            w.write_golomb(seq, 6)
        heads = dict(self.heads)
        w.write_golomb(len(self.extras), 0)
        for origin, ranges in self.extras:
            write_node(w, origin)
            w.write_golomb(len(ranges) - 1, 0)
            previous = heads.get(origin, 0)
            for first, last in ranges:  # each run: the gap before it, then its length
                w.write_golomb(first - previous - 2, 4)
                w.write_golomb(last - first, 2)
                previous = last
        width = max(self.neighbours, default=-1) + 1
        w.write_golomb(width, 2)  # a bitmap as wide as the highest position heard
        for position in range(width):
            w.write_bool(position in self.neighbours)
        w.write_bool(any(self.hops))  # then a hop count per neighbour listed
        for hops in self.hops if any(self.hops) else ():
            w.write_golomb(min(hops, MAX_HOPS), 0)
        w.write_bool(bool(self.doubled))  # 1 bit while no number is held twice
        if self.doubled:
            w.write_golomb(len(self.doubled) - 1, 0)
            for origin, seq in self.doubled:
                write_node(w, origin)
                w.write_golomb(seq, 6)
        return _fitted(w, "summary", MAX_APP_PAYLOAD - SIGNATURE_BYTES)

    def signed(self, sign: Callable[[bytes], bytes]) -> bytes:
        """The frame: the body, then the sender's signature over it."""
        body = self.to_bytes()
        return body + sign(SUMMARY_CONTEXT + body)

    def verify(self, public_key: bytes) -> bool:
        return bool(self.body) and verify(public_key, self.signature, SUMMARY_CONTEXT + self.body)

    @classmethod
    def from_bytes(cls, frame: bytes) -> Summary:
        """Parse (the signature is checked by ``verify``, with the roster's key)."""
        if len(frame) < 4 + SIGNATURE_BYTES or len(frame) > MAX_APP_PAYLOAD:
            raise DecodeError("summary too short or too long", "truncated")
        body, signature = frame[:-SIGNATURE_BYTES], frame[-SIGNATURE_BYTES:]
        summary = cls._parse_body(body)
        return cls(
            summary.key_id,
            summary.roster_version,
            summary.heads,
            summary.complete,
            summary.extras,
            summary.neighbours,
            summary.hops,
            summary.counter,
            summary.clock,
            summary.doubled,
            bytes(body),
            bytes(signature),
        )

    @classmethod
    def _parse_body(cls, frame: bytes) -> Summary:
        r = BitReader(frame)
        if r.read(8) != SUMMARY:
            raise DecodeError("not a summary", "malformed")
        kid = r.read(16)
        counter = r.read(32)
        lag = r.read_signed_golomb(0)
        if abs(lag) > MAX_CLOCK_LAG:
            raise DecodeError("summary clock out of range", "malformed")
        version = r.read_golomb(2)
        complete = r.read_bool()
        count = r.read_golomb(3)
        if count > 256:
            raise DecodeError("summary lists too many origins", "malformed")
        heads = tuple((read_node(r), r.read_golomb(6)) for _ in range(count))
        if [h[0] for h in heads] != sorted({h[0] for h in heads}):
            raise DecodeError("summary origins not sorted and unique", "malformed")
        n_extras = r.read_golomb(0)
        if n_extras > 64:
            raise DecodeError("summary lists too many extras", "malformed")
        by_origin = dict(heads)
        extras = []
        for _ in range(n_extras):
            origin = read_node(r)
            count = r.read_golomb(0) + 1
            if count > 8:
                raise DecodeError("summary lists too many ranges", "malformed")
            previous = by_origin.get(origin, 0)
            ranges = []
            for _ in range(count):
                first = previous + 2 + r.read_golomb(4)
                last = first + r.read_golomb(2)
                ranges.append((first, last))
                previous = last
            extras.append((origin, tuple(ranges)))
        if [e[0] for e in extras] != sorted({e[0] for e in extras}):
            raise DecodeError("summary extras not sorted and unique", "malformed")
        width = r.read_golomb(2)
        if width > MAX_NEIGHBOURS:
            raise DecodeError("summary lists too many neighbours", "malformed")
        neighbours = tuple(position for position in range(width) if r.read_bool())
        hop_counts: tuple[int, ...] = ()
        if r.read_bool():
            hop_counts = tuple(r.read_golomb(0) for _ in neighbours)
            if max(hop_counts, default=0) > MAX_HOPS or not any(hop_counts):
                raise DecodeError("summary neighbour hops out of range", "malformed")
        doubled: tuple[tuple[str, int], ...] = ()
        if r.read_bool():
            count = r.read_golomb(0) + 1
            if count > MAX_DOUBLED:
                raise DecodeError("summary lists too many numbers held twice", "malformed")
            doubled = tuple((read_node(r), r.read_golomb(6)) for _ in range(count))
            if list(doubled) != sorted(set(doubled)):
                raise DecodeError("summary's numbers held twice not sorted and unique", "malformed")
        return cls(
            kid, version, heads, complete, tuple(extras), neighbours, hop_counts, counter, counter + lag, doubled
        )


@dataclass(frozen=True, slots=True)
class Want:
    origin: str
    seq: int
    fragments: int | None = None  # bitmask of wanted fragment indexes; None: the whole message


@dataclass(frozen=True, slots=True)
class Request:
    key_id: int
    wants: tuple[Want, ...]

    def to_bytes(self) -> bytes:
        w = BitWriter()
        w.write(REQUEST, 8)
        w.write(self.key_id, 16)
        w.write_golomb(len(self.wants), 3)
        for want in self.wants:
            write_node(w, want.origin)
            w.write_golomb(want.seq, 6)
            w.write_bool(want.fragments is not None)
            if want.fragments is not None:
                w.write(want.fragments, MAX_FRAGMENTS)
        return _fitted(w, "request")

    @classmethod
    def from_bytes(cls, frame: bytes) -> Request:
        r = BitReader(frame[:MAX_APP_PAYLOAD])
        if r.read(8) != REQUEST:
            raise DecodeError("not a request", "malformed")
        kid = r.read(16)
        count = r.read_golomb(3)
        if count > MAX_REQUEST_ITEMS:
            raise DecodeError("request lists too many items", "malformed")
        wants = []
        for _ in range(count):
            origin, seq = read_node(r), r.read_golomb(6)
            mask = r.read(MAX_FRAGMENTS) if r.read_bool() else None
            wants.append(Want(origin, seq, mask))
        return cls(kid, tuple(wants))


# BUNDLE: whole messages sent as answers (repair and forwarding), packed to fill
# one packet, with the sender's key id so that a node which overhears it knows
# whose neighbours it reached.  1 type + 2 key id, then per message 1 length
# byte and the message (each one signed and verified on its own).  The key id is
# not authenticated: a forged one can only make a holder skip one answer, which
# the next summary asks for again.

BUNDLE_HEADER = 3


@dataclass(frozen=True, slots=True)
class Bundle:
    key_id: int
    messages: tuple[bytes, ...]

    @staticmethod
    def size_of(lengths: list[int]) -> int:
        return BUNDLE_HEADER + sum(1 + n for n in lengths)

    def to_bytes(self) -> bytes:
        if not self.messages:
            raise ValueError("an empty bundle")
        refused = "a bundle carries whole messages only"
        return _framed(BUNDLE, self.key_id, self.messages, is_message_frame, refused, "bundle")

    @classmethod
    def from_bytes(cls, frame: bytes) -> Bundle:
        if len(frame) > MAX_APP_PAYLOAD or len(frame) < BUNDLE_HEADER + 2 or frame[0] != BUNDLE:
            raise DecodeError("bundle of impossible size", "malformed")
        entries = _entries(frame, BUNDLE_HEADER, is_message_frame, "bundle entry cut short or not a message")
        return cls(int.from_bytes(frame[1:3], "big"), entries)


HELD = 0x05
HELD_HEADER = 3


def _is_summary(entry: bytes) -> bool:
    return bool(entry) and entry[0] == SUMMARY


def _framed(
    kind: int, key_id: int, entries: tuple[bytes, ...], fits: Callable[[bytes], bool], refused: str, name: str
) -> bytes:
    """A bundle or a held frame: its type, the sender's key id, then each entry after its
    length (``_entries`` reads it back); ``refused`` when an entry does not ``fit``."""
    out = bytearray((kind,)) + key_id.to_bytes(2, "big")
    for entry in entries:
        if not fits(entry) or len(entry) > 255:
            raise ValueError(refused)
        out += bytes((len(entry),)) + entry
    if len(out) > MAX_APP_PAYLOAD:
        raise ValueError(f"{name} of {len(out)} bytes does not fit one packet")
    return bytes(out)


def _entries(frame: bytes, start: int, fits: Callable[[bytes], bool], what: str) -> tuple[bytes, ...]:
    """The length-prefixed entries of a bundle or a held frame, each checked by ``fits``."""
    entries = []
    at = start
    while at < len(frame):
        length = frame[at]
        entry = frame[at + 1 : at + 1 + length]
        if length == 0 or len(entry) < length or not fits(entry):
            raise DecodeError(what, "malformed")
        entries.append(entry)
        at += 1 + length
    return tuple(entries)


@dataclass(frozen=True, slots=True)
class Held:
    """Other stores' signed summaries, passed on by ``key_id``: what a store holds,
    told to stores that never hear it (MOTTATT receipts across the region).  Each
    summary keeps its own sender's signature; the store that passes it on proves
    nothing, and a summary heard this way says nothing of whether its sender is
    alive, or near."""

    key_id: int
    summaries: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        if not self.summaries:
            raise ValueError("held: no summary")
        return _framed(HELD, self.key_id, self.summaries, _is_summary, "held carries signed summaries only", "held")

    @classmethod
    def from_bytes(cls, frame: bytes) -> Held:
        if len(frame) > MAX_APP_PAYLOAD or len(frame) < HELD_HEADER + 2 or frame[0] != HELD:
            raise DecodeError("held of impossible size", "malformed")
        entries = _entries(frame, HELD_HEADER, _is_summary, "held entry cut short or not a summary")
        return cls(int.from_bytes(frame[1:3], "big"), entries)


@dataclass(frozen=True, slots=True)
class Bare:
    """A whole message on its own (its first byte is the message format version)."""

    data: bytes


Frame = Bare | Fragment | Summary | Request | Bundle | Held


def parse(frame: bytes) -> Frame:
    """Any air frame, told apart by its first byte: the one place that dispatches on it.
    Raises ``DecodeError`` (never another exception) for anything else."""
    if not frame:
        raise DecodeError("empty frame", "malformed")
    if is_message_frame(frame):
        return Bare(frame)
    parser = _PARSERS.get(frame[0])
    if parser is None:
        raise DecodeError(f"unknown frame type {frame[0]}", "unknown_frame")
    return parser(frame)


_PARSERS: dict[int, Callable[[bytes], Frame]] = {
    FRAGMENT: Fragment.from_bytes,
    SUMMARY: Summary.from_bytes,
    REQUEST: Request.from_bytes,
    BUNDLE: Bundle.from_bytes,
    HELD: Held.from_bytes,
}


def sender_key(frame: Frame) -> int | None:
    """The key id a frame claims as its sender (unauthenticated), None for a bare
    message or a fragment, which name only their origin."""
    if isinstance(frame, Summary | Request | Bundle | Held):
        return frame.key_id
    return None
