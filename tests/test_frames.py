"""Air frames: splitting into fragments, reassembly in any order, hostile frames."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from relay.core import frames
from relay.core.airtime import FRAGMENT_HEADER_BYTES, MAX_APP_PAYLOAD, MAX_FRAGMENTS, MAX_MESSAGE_BYTES
from relay.core.frames import (
    BUNDLE,
    FRAGMENT,
    FRAGMENT_DATA,
    FRAGMENT_HEADER,
    Bundle,
    Fragment,
    FragmentKey,
    Reassembler,
    Request,
    Summary,
    Want,
    is_message_frame,
    key_for,
    packets_for,
    split,
)
from relay.core.model import MAX_SEQ
from relay.core.signing import Signer
from relay.errors import DecodeError, LocalError

T = TypeVar("T")

KEY_ID = 0x6C74
SUMMARY_SIGNER = Signer.from_seed(bytes([7]) * 32)
SEQ = 7
# Message-like bytes: the first byte 0x11 is format 1, dictionary 1.
BIG = bytes([0x11]) + bytes((i * 131 + 7) % 256 for i in range(MAX_MESSAGE_BYTES - 1))

wires = st.binary(min_size=MAX_APP_PAYLOAD + 1, max_size=MAX_MESSAGE_BYTES).map(lambda b: b"\x11" + b[1:])
key_ids = st.integers(0, 0xFFFF)
seqs = st.integers(1, MAX_SEQ)


def test_budget_constants() -> None:
    assert FRAGMENT_HEADER.size == FRAGMENT_HEADER_BYTES == 8
    assert FRAGMENT_DATA == MAX_APP_PAYLOAD - 8 == 223
    assert MAX_MESSAGE_BYTES == MAX_FRAGMENTS * FRAGMENT_DATA == 3568


@pytest.mark.parametrize(
    ("size", "packets"),
    [(1, 1), (231, 1), (232, 2), (446, 2), (447, 3), (3345, 15), (3346, 16), (3568, 16), (3569, 17)],
)
def test_packets_for(size: int, packets: int) -> None:
    assert packets_for(size) == packets


def test_split_every_size() -> None:
    for size in range(1, MAX_MESSAGE_BYTES + 1):
        wire = BIG[:size]
        frames = split(wire, KEY_ID, SEQ)
        assert len(frames) == packets_for(size), size
        assert all(len(f) <= MAX_APP_PAYLOAD for f in frames), size
        if size <= MAX_APP_PAYLOAD:
            assert frames == [wire]
            assert is_message_frame(frames[0])
            continue
        fragments = [Fragment.from_bytes(f) for f in frames]
        assert not any(is_message_frame(f) for f in frames)
        assert [f.index for f in fragments] == list(range(len(frames)))
        assert {f.count for f in fragments} == {len(frames)}
        assert {f.key for f in fragments} == {key_for(wire, KEY_ID, SEQ)}
        assert b"".join(f.data for f in fragments) == wire
        sizes = [len(f.data) for f in fragments]
        assert len(set(sizes[:-1])) == 1 and 0 < sizes[-1] <= sizes[0], size  # no runt at the end


def test_split_refuses_more_than_sixteen_fragments() -> None:
    with pytest.raises((ValueError, LocalError)):
        split(BIG + b"x", KEY_ID, SEQ)


def test_key_for_keeps_the_low_sequence_bits() -> None:
    assert key_for(BIG, KEY_ID, 0x12345).seq16 == 0x2345


def reassemble_in_model(frames: list[bytes], count: int, wire: bytes) -> None:
    """Feed frames; check each answer against a simple model of the reassembler."""
    r = Reassembler()
    pending: set[int] = set()
    for frame in frames:
        fragment = Fragment.from_bytes(frame)
        out = r.add(fragment)
        pending.add(fragment.index)
        if len(pending) == count:
            assert out == wire
            pending = set()
        else:
            assert out is None
        assert r.missing(fragment.key) == ([i for i in range(count) if i not in pending] if pending else [])


@given(wire=wires, key_id=key_ids, seq=seqs, data=st.data())
def test_shuffled_and_duplicated_fragments_reassemble(wire: bytes, key_id: int, seq: int, data: st.DataObject) -> None:
    frames = split(wire, key_id, seq)
    duplicates = data.draw(st.lists(st.sampled_from(frames), max_size=2 * len(frames)))
    order = data.draw(st.permutations(frames + duplicates))
    reassemble_in_model(order, len(frames), wire)


@given(first=wires, second=wires, key_id=key_ids, seq=seqs, data=st.data())
def test_two_messages_interleaved(first: bytes, second: bytes, key_id: int, seq: int, data: st.DataObject) -> None:
    """Even two messages with one (sender, seq) but different content: the digest keeps them apart."""
    assume(key_for(first, key_id, seq) != key_for(second, key_id, seq))
    frames = split(first, key_id, seq) + split(second, key_id, seq)
    r = Reassembler()
    done = [out for f in data.draw(st.permutations(frames)) if (out := r.add(Fragment.from_bytes(f))) is not None]
    assert sorted(done) == sorted([first, second])


@given(wire=wires, which=st.integers(0, 15), pos=st.integers(0, 1000), flip=st.integers(1, 255), data=st.data())
def test_corrupted_fragment_data_is_a_decode_error(
    wire: bytes, which: int, pos: int, flip: int, data: st.DataObject
) -> None:
    frames = split(wire, KEY_ID, SEQ)
    which %= len(frames)
    bad = bytearray(frames[which])
    at = FRAGMENT_HEADER.size + pos % (len(bad) - FRAGMENT_HEADER.size)
    bad[at] ^= flip
    fragments = [Fragment.from_bytes(f) for f in frames]
    corrupted = Fragment.from_bytes(bytes(bad))
    whole = b"".join(corrupted.data if f.index == which else f.data for f in fragments)
    assume(key_for(whole, KEY_ID, SEQ).digest16 != corrupted.key.digest16)  # 1 in 65536 collides
    order = data.draw(st.permutations([corrupted] + [f for f in fragments if f.index != which]))
    r = Reassembler()
    for fragment in order[:-1]:
        assert r.add(fragment) is None
    with pytest.raises(DecodeError) as info:
        r.add(order[-1])
    assert info.value.reason == "bad_digest"


@given(wire=wires, which=st.integers(0, 15), pos=st.integers(0, FRAGMENT_HEADER.size - 1), value=st.integers(0, 255))
def test_corrupted_fragment_header_never_yields_wrong_bytes(wire: bytes, which: int, pos: int, value: int) -> None:
    frames = split(wire, KEY_ID, SEQ)
    which %= len(frames)
    bad = bytearray(frames[which])
    bad[pos] = value
    r = Reassembler()
    for frame in [bytes(bad), *frames[:which], *frames[which + 1 :]]:
        try:
            out = r.add(Fragment.from_bytes(frame))
        except DecodeError:
            continue
        assert out is None or out == wire


def test_count_disagreement_is_a_decode_error() -> None:
    key = key_for(BIG, KEY_ID, SEQ)
    r = Reassembler()
    assert r.add(Fragment(key, 0, 3, b"a")) is None
    with pytest.raises(DecodeError) as info:
        r.add(Fragment(key, 1, 4, b"b"))
    assert info.value.reason == "malformed"


def test_reassembler_memory_is_bounded() -> None:
    r = Reassembler(max_partials=4)
    keys = [FragmentKey(KEY_ID, seq, 0) for seq in range(10)]
    for key in keys:
        assert r.add(Fragment(key, 0, 2, b"x")) is None
    assert [r.missing(k) for k in keys] == [[]] * 6 + [[1]] * 4  # the oldest were dropped


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        bytes([FRAGMENT]) * 8,  # header only, no data
        bytes([FRAGMENT, 0, 0, 0, 0, 0, 0, 0x01]) + b"x" * (MAX_APP_PAYLOAD - 7),  # one byte too long
        bytes([0x02, 0, 0, 0, 0, 0, 0, 0x01, 0]),  # not a fragment
        bytes([FRAGMENT, 0, 0, 0, 0, 0, 0, 0x32, 0]),  # index 3 of 3
        bytes([FRAGMENT, 0, 0, 0, 0, 0, 0, 0x00, 0]),  # count 1
        bytes([0x11]) + b"x" * 40,  # a whole message
    ],
    ids=["empty", "no-data", "too-long", "other-type", "index-past-count", "count-one", "message"],
)
def test_fragment_from_bytes_rejects(frame: bytes) -> None:
    with pytest.raises(DecodeError):
        Fragment.from_bytes(frame)


def parsed_or_refused(parse: Callable[[bytes], T], frame: bytes) -> T | None:
    """``parse(frame)``, or None when it refuses with DecodeError; any other exception fails the test."""
    try:
        return parse(frame)
    except DecodeError:
        return None
    except Exception as exc:  # any other type breaks the decoding invariant
        pytest.fail(f"{parse.__qualname__} raised {type(exc).__name__}: {exc!r} on {frame.hex()}")


def arbitrary_frames(first: int) -> st.SearchStrategy[bytes]:
    """Any bytes, and any bytes behind the frame type ``first``."""
    return st.one_of(st.binary(max_size=260), st.binary(max_size=240).map(lambda b: bytes([first]) + b))


@given(frame=arbitrary_frames(FRAGMENT))
def test_fragment_from_arbitrary_bytes(frame: bytes) -> None:
    fragment = parsed_or_refused(Fragment.from_bytes, frame)
    if fragment is None:
        return
    assert fragment.to_bytes() == frame
    assert 0 <= fragment.index < fragment.count <= MAX_FRAGMENTS


# --- control frames ------------------------------------------------------------------

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
node_ids = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(LETTERS),
    st.text(alphabet=LETTERS + "0123456789", min_size=1, max_size=7),
)


@given(
    key_id=key_ids,
    version=st.integers(0, 10_000),
    heads=st.dictionaries(node_ids, seqs, max_size=20).map(lambda d: tuple(sorted(d.items()))),
    complete=st.booleans(),
    counter=st.integers(0, 2**32 - 1),
    lag=st.one_of(st.just(0), st.integers(-(2**32), 2**32)),
)
def test_summary_round_trip(
    key_id: int, version: int, heads: tuple[tuple[str, int], ...], complete: bool, counter: int, lag: int
) -> None:
    summary = Summary(key_id, version, heads, complete, counter=counter, clock=counter + lag)
    try:
        data = summary.signed(SUMMARY_SIGNER.sign)
    except ValueError:
        return  # more than one packet holds: the sender pages it (SyncNode.summary_frame)
    assert len(data) <= 231
    parsed = Summary.from_bytes(data)
    assert parsed == summary and parsed.verify(SUMMARY_SIGNER.public_key)


def test_a_summary_says_its_senders_clock_in_one_bit_when_the_clock_is_right() -> None:
    right = Summary(KEY_ID, 3, (("HOL", 4),), counter=60_000_000, clock=60_000_000)
    set_back = Summary(KEY_ID, 3, (("HOL", 4),), counter=60_000_000, clock=60_000_000 - 40 * 86400)
    assert len(right.to_bytes()) == len(Summary(KEY_ID, 3, (("HOL", 4),), counter=60_000_000).to_bytes())
    assert len(set_back.to_bytes()) - len(right.to_bytes()) <= 6  # 40 days: a few bytes, rarely
    assert Summary.from_bytes(set_back.signed(SUMMARY_SIGNER.sign)).sent_at == 60_000_000 - 40 * 86400


def test_a_summary_verifies_only_with_its_senders_key_and_unaltered() -> None:
    data = Summary(KEY_ID, 3, (("HOL", 4), ("MOD", 2))).signed(SUMMARY_SIGNER.sign)
    assert Summary.from_bytes(data).verify(SUMMARY_SIGNER.public_key)
    assert not Summary.from_bytes(data).verify(Signer.from_seed(bytes(32)).public_key)
    altered = bytearray(data)
    altered[5] ^= 0x01  # a head changed in the air
    assert not parsed_or_none(bytes(altered), SUMMARY_SIGNER.public_key)
    assert not Summary(KEY_ID, 3, ()).verify(SUMMARY_SIGNER.public_key)  # built here: nothing to verify


def parsed_or_none(frame: bytes, key: bytes) -> bool:
    try:
        return Summary.from_bytes(frame).verify(key)
    except DecodeError:
        return False


@given(
    key_id=key_ids,
    wants=st.lists(st.builds(Want, node_ids, seqs, st.none() | st.integers(0, 0xFFFF)), max_size=32),
)
def test_request_round_trip(key_id: int, wants: list[Want]) -> None:
    request = Request(key_id, tuple(wants))
    try:
        data = request.to_bytes()
    except ValueError:
        return  # too big for one packet: SyncNode sends the rest in the next request
    assert len(data) <= 231
    assert Request.from_bytes(data) == request


@given(frame=st.binary(max_size=240), first=st.sampled_from([0x02, 0x03, None]))
def test_control_frames_from_arbitrary_bytes(frame: bytes, first: int | None) -> None:
    if first is not None:
        frame = bytes([first]) + frame
    parsed_or_refused(Summary.from_bytes, frame)
    parsed_or_refused(Request.from_bytes, frame)


@given(frame=st.binary(max_size=240), first=st.sampled_from([0x01, 0x02, 0x03, 0x04, 0x11, None]))
def test_any_frame_parses_to_its_type_or_is_refused(frame: bytes, first: int | None) -> None:
    """``frames.parse``, the one dispatcher: a frame of its first byte's type, or DecodeError."""
    if first is not None:
        frame = bytes([first]) + frame
    parsed = parsed_or_refused(frames.parse, frame)
    kinds = {0x01: Fragment, 0x02: Summary, 0x03: Request, 0x04: Bundle}
    if parsed is not None:
        expected = frames.Bare if frame[0] >= 0x10 else kinds[frame[0]]
        assert isinstance(parsed, expected)


@given(
    listed=st.dictionaries(st.integers(0, 63), st.integers(0, 7), max_size=64),
    heads=st.dictionaries(st.sampled_from(["HOL", "RIN", "MOD", "SF"]), st.integers(0, 10**6), max_size=4),
)
def test_summary_with_hop_counts_round_trips(listed: dict[int, int], heads: dict[str, int]) -> None:
    positions = tuple(sorted(listed))
    summary = Summary(KEY_ID, 3, tuple(sorted(heads.items())), True, (), positions, tuple(listed[p] for p in positions))
    assert Summary.from_bytes(summary.signed(SUMMARY_SIGNER.sign)) == summary
    assert Summary.from_bytes(summary.signed(SUMMARY_SIGNER.sign)).hops_to() == listed


# --- bundles -------------------------------------------------------------------------

messages = st.binary(min_size=1, max_size=120).map(lambda b: b"\x11" + b[:-1] if b else b"\x11")


@given(key_id=key_ids, entries=st.lists(messages, min_size=1, max_size=4))
def test_bundle_round_trip_or_refused_when_too_big(key_id: int, entries: list[bytes]) -> None:
    bundle = Bundle(key_id, tuple(entries))
    if Bundle.size_of([len(e) for e in entries]) > MAX_APP_PAYLOAD:
        with pytest.raises(ValueError):
            bundle.to_bytes()
        return
    data = bundle.to_bytes()
    assert len(data) == Bundle.size_of([len(e) for e in entries])
    assert Bundle.from_bytes(data) == bundle


def test_a_bundle_carries_whole_messages_only() -> None:
    with pytest.raises(ValueError):
        Bundle(KEY_ID, (bytes([FRAGMENT, 1, 2]),)).to_bytes()
    with pytest.raises(ValueError):
        Bundle(KEY_ID, ()).to_bytes()


@given(frame=arbitrary_frames(BUNDLE))
def test_bundle_from_arbitrary_bytes(frame: bytes) -> None:
    bundle = parsed_or_refused(Bundle.from_bytes, frame)
    if bundle is None:
        return
    assert bundle.to_bytes() == frame
    assert all(is_message_frame(m) for m in bundle.messages)


@given(neighbours=st.sets(st.integers(0, 63), max_size=64).map(lambda s: tuple(sorted(s))))
def test_summary_carries_who_the_sender_hears(neighbours: tuple[int, ...]) -> None:
    summary = Summary(KEY_ID, 3, (("HOL", 4), ("RIN", 9)), True, (), neighbours)
    assert Summary.from_bytes(summary.signed(SUMMARY_SIGNER.sign)) == summary
    # eight town halls cost one byte and a few bits over a summary without the list
    plain = Summary(KEY_ID, 3, (("HOL", 4),), True)
    assert len(Summary(KEY_ID, 3, plain.heads, True, (), tuple(range(8))).to_bytes()) - len(plain.to_bytes()) <= 2


def test_held_carries_signed_summaries_as_they_are() -> None:
    one = Summary(KEY_ID, 3, (("HOL", 4),), counter=7).signed(SUMMARY_SIGNER.sign)
    two = Summary(KEY_ID, 3, (("MOD", 2),), counter=8).signed(SUMMARY_SIGNER.sign)
    frame = frames.Held(0x1234, (one, two)).to_bytes()
    assert len(frame) == frames.HELD_HEADER + 2 + len(one) + len(two)
    parsed = frames.parse(frame)
    assert isinstance(parsed, frames.Held) and parsed.summaries == (one, two) and parsed.key_id == 0x1234
    assert frames.sender_key(parsed) == 0x1234
    with pytest.raises(DecodeError):
        frames.parse(frame[:-1])  # cut short
    with pytest.raises(ValueError):
        frames.Held(0x1234, (b"\x10not a summary",)).to_bytes()


def test_a_complete_partial_tries_the_variants_of_its_pieces_until_one_verifies() -> None:
    pieces = [Fragment.from_bytes(f) for f in split(BIG, KEY_ID, SEQ)]
    forged = Fragment(pieces[1].key, 1, pieces[1].count, bytes(len(pieces[1].data)))
    r = Reassembler()
    for fragment in [pieces[0], forged, *pieces[2:]]:
        try:
            assert r.add(fragment) is None
        except DecodeError as exc:  # complete, and no combination matches: kept for more pieces
            assert exc.reason == "bad_digest"
    assert r.add(pieces[1]) == BIG
    # A combination the digest takes but the signature does not is passed over.
    r = Reassembler()
    tried: list[bytes] = []
    for fragment in pieces[:-1]:
        assert r.add(fragment) is None
    with pytest.raises(DecodeError):
        r.add(pieces[-1], accept=lambda wire: bool(tried.append(wire)))
    assert tried == [BIG]


def test_partials_nobody_expects_never_evict_one_that_is_expected() -> None:
    expected = FragmentKey(KEY_ID, 1, 7)
    r = Reassembler(max_partials=8, per_key=2, named=lambda key: key == expected)
    assert r.add(Fragment(expected, 0, 3, b"a")) is None
    for seq in range(100, 110):  # fuller, but unexpected
        key = FragmentKey(KEY_ID, seq, 0)
        for index in range(2):
            assert r.add(Fragment(key, index, 3, b"x")) is None
    assert r.missing(expected) == [1, 2]


def test_a_summary_names_the_numbers_its_sender_holds_twice() -> None:
    summary = Summary(KEY_ID, 3, (("HOL", 4),), doubled=(("HOL", 2), ("RIN", 9)), counter=7)
    frame = summary.signed(lambda body: bytes(64))
    assert Summary.from_bytes(frame).doubled == (("HOL", 2), ("RIN", 9))
    plain = Summary(KEY_ID, 3, (("HOL", 4),), counter=7)
    assert len(plain.to_bytes()) <= len(summary.to_bytes()) - 5  # one bit while none is held twice
    unsorted = Summary(KEY_ID, 3, (("HOL", 4),), doubled=(("RIN", 9), ("HOL", 2)), counter=7)
    with pytest.raises(DecodeError):
        Summary.from_bytes(unsorted.signed(lambda body: bytes(64)))
