"""The sans-IO sync core without a medium: SyncNodes over in-memory stores, wired by hand.

A test plays the radio: it takes what ``poll`` hands out of one node and feeds it
to ``receive`` of another, on a virtual clock that only moves when the test says.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay.core import frames, wire
from relay.core.airtime import LONG_FAST, MAX_APP_PAYLOAD, packet_airtime
from relay.core.compose import compose
from relay.core.frames import FRAGMENT, REQUEST, SUMMARY, Fragment, Request, Summary, Want
from relay.core.model import MAX_SEQ, Kind, Priority
from relay.core.signing import SUMMARY_CONTEXT
from relay.core.sync import SyncConfig, SyncNode, Transmission, data_rank
from relay.core.sync.freshness import clock_seconds
from relay.core.sync.queue import Answer, Queued
from relay.core.sync.state import URGENT_HUSH_S
from relay.edge import dictionaries
from relay.edge.store import Store
from relay.errors import DecodeError
from tests.helpers import AUTHORITY, SIGNERS, T0, build_roster

ROSTER = build_roster()
NOW = T0.timestamp()
CONFIG = SyncConfig()
# Long enough for any jitter (request <= 4 s, response <= 6 s), short of a re-request (60 s).
SETTLE_S = 30.0


# --- a hand-wired harness ---------------------------------------------------------


def signed(
    origin: str, seq: int, text: str = "Strømbrudd i sentrum.", priority: Priority = Priority.RUTINE
) -> wire.SignedMessage:
    msg = compose(Kind.MELDING, origin, seq, T0, text=text, priority=priority)
    return wire.encode(msg, SIGNERS[origin], dictionaries.current())


def big(origin: str, seq: int) -> wire.SignedMessage:
    """A message of five fragments or more: reference codes barely compress."""
    rng = random.Random(seq)
    text = " ".join("".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(6)) for _ in range(130))
    m = signed(origin, seq, text)
    assert frames.packets_for(len(m.wire)) >= 5
    return m


class Node:
    """One SyncNode with its own store and its own notion of now."""

    def __init__(
        self, node_id: str, seed: int = 1, now: float = NOW, config: SyncConfig = CONFIG, store: Store | None = None
    ) -> None:
        """``store``: another node's (a restart, or the other path's sync on the same Pi)."""
        self.id = node_id
        self.store = store or Store(":memory:", dictionaries.available())
        self.now = now
        self.sync = SyncNode(
            node_id,
            SIGNERS[node_id].key_id,
            self.store,
            ROSTER,
            dictionaries.available(),
            lambda n: packet_airtime(n, LONG_FAST),
            random.Random(seed),
            now,
            config,
            sign=SIGNERS[node_id].sign,
        )

    def hold(self, *messages: wire.SignedMessage) -> None:
        """Put messages in the store as if heard long ago (nothing to push)."""
        for m in messages:
            self.store.insert(m, T0 - timedelta(hours=1))

    def hear(self, frame: bytes, after: float = 0.0, hops: int = 0, hop_start: int | None = None) -> None:
        self.now += after
        self.sync.receive(frame, self.now, hops, hop_start)

    def run(self, seconds: float) -> list[Transmission]:
        """Let ``seconds`` pass, handing the radio whatever the node wants sent."""
        end = self.now + seconds
        sent = []
        for _ in range(10_000):
            t = self.sync.next_deadline(self.now)
            if t > end:
                break
            self.now = t
            tx = self.sync.poll(t)
            if tx is not None:
                sent.append(tx)
            elif self.sync.next_deadline(t) <= t:
                self.now = t + 0.001  # nothing sendable now (a budget wait): step on
        self.now = end
        return sent


def exchange(nodes: list[Node], seconds: float) -> list[tuple[float, str, bytes]]:
    """Run ``nodes`` on one clock for ``seconds``, each hearing every frame the others send.

    A lossless, collision-free broadcast: a sender is busy for the frame's airtime and
    the others hear it at once.  Returns (time, sender, frame) of everything sent.
    """
    t = max(n.now for n in nodes)
    end = t + seconds
    busy = dict.fromkeys((n.id for n in nodes), t)
    sent = []
    for _ in range(100_000):
        t, _, sender = min(
            (max(n.sync.next_deadline(max(t, busy[n.id])), busy[n.id]), i, n) for i, n in enumerate(nodes)
        )
        if t > end:
            break
        tx = sender.sync.poll(t)
        if tx is None:  # nothing sendable now (a budget wait): step on
            busy[sender.id] = t + 0.01
            continue
        busy[sender.id] = t + packet_airtime(len(tx.frame), LONG_FAST)
        sent.append((t, sender.id, tx.frame))
        for other in nodes:
            if other is not sender:
                other.sync.receive(tx.frame, t)
    for n in nodes:
        n.now = end
    return sent


def requests(sent: list[Transmission]) -> list[Request]:
    return [Request.from_bytes(tx.frame) for tx in sent if tx.frame[0] == REQUEST]


def asked(sent: list[Transmission]) -> list[Want]:
    """Every item the node asked for, in order of (origin, seq): jitter may split them over requests."""
    return sorted((w for r in requests(sent) for w in r.wants), key=lambda w: (w.origin, w.seq))


def data_frames(sent: list[Transmission]) -> list[bytes]:
    """The messages and fragments sent, a bundle's messages one by one."""
    out: list[bytes] = []
    for tx in sent:
        if tx.frame[0] == frames.BUNDLE:
            out += frames.Bundle.from_bytes(tx.frame).messages
        elif tx.frame[0] == FRAGMENT or frames.is_message_frame(tx.frame):
            out.append(tx.frame)
    return out


def rejected(node: Node) -> int:
    return sum(node.sync.stats.rejected.values())


HOL = [signed("HOL", seq, f"Situasjonsrapport nummer {seq} fra Hole.") for seq in (1, 2, 3, 4)]


# --- summaries lead to requests ---------------------------------------------------------


def test_a_summary_showing_what_we_lack_makes_us_request_exactly_that() -> None:
    a, b = Node("RIN", seed=1), Node("JEV", seed=2)
    a.hold(HOL[0], HOL[2])
    b.hold(*HOL)

    a.hear(b.sync.summary_frame())
    sent = a.run(SETTLE_S)

    assert asked(sent) == [Want("HOL", 2), Want("HOL", 4)]
    assert {r.key_id for r in requests(sent)} == {SIGNERS["RIN"].key_id}
    assert all(tx.hop_limit == 0 for tx in sent)  # repair traffic is for neighbours only


def test_a_summary_that_agrees_asks_for_nothing() -> None:
    a, b = Node("RIN", seed=1), Node("JEV", seed=2)
    a.hold(*HOL)
    b.hold(*HOL)

    a.hear(b.sync.summary_frame())

    assert requests(a.run(SETTLE_S)) == []


@pytest.mark.parametrize(
    ("overheard", "still_asked"),
    [((), [Want("HOL", 2), Want("HOL", 3)]), ((2,), [Want("HOL", 3)]), ((2, 3), [])],
    ids=["nobody-asked", "one-asked", "both-asked"],
)
def test_a_request_heard_from_another_node_suppresses_ours(overheard: tuple[int, ...], still_asked: list[Want]) -> None:
    a, b = Node("RIN", seed=1), Node("JEV", seed=2)
    a.hold(HOL[0])
    b.hold(*HOL[:3])

    a.hear(b.sync.summary_frame())
    if overheard:
        a.hear(Request(SIGNERS["SF"].key_id, tuple(Want("HOL", s) for s in overheard)).to_bytes(), after=0.1)
    sent = a.run(SETTLE_S)

    assert asked(sent) == still_asked


# --- answers and their suppression -------------------------------------------------------


@pytest.mark.parametrize("overheard", [False, True], ids=["alone", "someone-else-answers"])
def test_a_response_heard_from_another_node_suppresses_our_answer(overheard: bool) -> None:
    a = Node("RIN")
    a.hold(*HOL[:2])

    a.hear(Request(SIGNERS["SF"].key_id, (Want("HOL", 2),)).to_bytes())
    if overheard:
        a.hear(HOL[1].wire, after=0.1)  # jitter is at least 0.2 s: this arrives first
    sent = a.run(SETTLE_S)

    assert data_frames(sent) == ([] if overheard else [HOL[1].wire])
    assert a.store.count() == 2


def test_overheard_fragments_suppress_exactly_those_fragments_of_our_answer() -> None:
    m = big("HOL", 1)
    pieces = frames.split(m.wire, m.key_id, 1)
    a = Node("RIN")
    a.hold(m)

    a.hear(Request(SIGNERS["SF"].key_id, (Want("HOL", 1),)).to_bytes())
    for piece in pieces[:-1]:
        a.hear(piece, after=0.01)
    sent = a.run(SETTLE_S)

    assert data_frames(sent) == [pieces[-1]]


def test_a_request_for_some_fragments_is_answered_with_those_only() -> None:
    m = big("HOL", 1)
    pieces = frames.split(m.wire, m.key_id, 1)
    b = Node("JEV")
    b.hold(m)

    b.hear(Request(SIGNERS["RIN"].key_id, (Want("HOL", 1, 0b1010),)).to_bytes())

    assert sorted(data_frames(b.run(SETTLE_S))) == sorted([pieces[1], pieces[3]])


def test_a_forged_copy_does_not_suppress_our_answer() -> None:
    a = Node("RIN")
    a.hold(*HOL[:2])
    forged = HOL[1].wire[:-64] + bytes(64)  # HOL's header and body, a signature of zeros

    a.hear(Request(SIGNERS["SF"].key_id, (Want("HOL", 2),)).to_bytes())
    a.hear(forged, after=0.1)
    sent = a.run(SETTLE_S)

    assert a.sync.stats.rejected["bad_signature"] == 1
    assert data_frames(sent) == [HOL[1].wire]


def bundles(sent: list[Transmission]) -> list[frames.Bundle]:
    return [frames.Bundle.from_bytes(tx.frame) for tx in sent if tx.frame[0] == frames.BUNDLE]


SUMMARY_COUNT = itertools.count(1)


def summary_of(node: str, heads: dict[str, int], hears: tuple[str, ...]) -> bytes:
    """``node``'s summary: its heads, and the neighbours it says it hears (signed, and
    numbered as a node numbers its summaries: each one new)."""
    positions = tuple(sorted(ROSTER.node_ids.index(n) for n in hears))
    heads_sorted = tuple(sorted(heads.items()))
    count = next(SUMMARY_COUNT)
    clock = clock_seconds(NOW)  # its clock agrees with ours
    summary = Summary(SIGNERS[node].key_id, ROSTER.version, heads_sorted, True, (), positions, (), count, clock)
    return summary.signed(SIGNERS[node].sign)


def test_answers_to_one_request_share_one_packet_that_names_the_sender() -> None:
    a = Node("RIN")
    a.hold(*HOL[:3])

    a.hear(Request(SIGNERS["SF"].key_id, (Want("HOL", 2), Want("HOL", 3))).to_bytes())
    sent = a.run(SETTLE_S)

    assert data_frames(sent) != [] and requests(sent) == []
    (bundle,) = bundles(sent)  # every answer in one packet
    assert bundle.key_id == SIGNERS["RIN"].key_id
    assert sorted(bundle.messages) == sorted([HOL[1].wire, HOL[2].wire])
    # one packet of two messages costs less airtime than two packets
    two = sum(packet_airtime(len(m), LONG_FAST) for m in bundle.messages)
    assert packet_airtime(len(bundle.to_bytes()), LONG_FAST) < 0.9 * two


@pytest.mark.parametrize(
    ("kro_hears", "we_answer"),
    [(("RIN", "MOD"), True), (("RIN", "MOD", "SF"), False)],
    ids=["sf-unreached", "sf-reached"],
)
def test_an_answer_we_overhear_silences_ours_only_for_the_nodes_it_reached(
    kro_hears: tuple[str, ...], we_answer: bool
) -> None:
    a = Node("RIN")
    a.hold(*HOL[:2])

    a.hear(Request(SIGNERS["SF"].key_id, (Want("HOL", 2),)).to_bytes())
    a.hear(summary_of("KRO", {"HOL": 1}, kro_hears), after=0.05)
    a.hear(frames.Bundle(SIGNERS["KRO"].key_id, (HOL[1].wire,)).to_bytes(), after=0.05)
    sent = a.run(SETTLE_S)

    assert data_frames(sent) == ([HOL[1].wire] if we_answer else [])


HASTER_HOL_2 = signed("HOL", 2, "Vannverket melder trykkfall. Kok vannet.", priority=Priority.HASTER)


@pytest.mark.parametrize(
    ("jev_holds", "message", "hops", "hop_start", "age_s", "forwarded"),
    [
        (1, HOL[1], 0, 0, 0.0, True),
        (2, HOL[1], 0, 0, 0.0, False),
        (1, HASTER_HOL_2, 0, 2, 0.0, False),
        (1, HASTER_HOL_2, 1, 2, 0.0, False),
        (1, HASTER_HOL_2, 2, 2, 0.0, True),
        (1, HASTER_HOL_2, 0, 2, 3600.0, True),
    ],
    ids=[
        "jev-lacks-it",
        "jev-has-it",
        "fresh-with-hops-left-the-radios-carry-it",
        "fresh-relayed-once-with-a-hop-left",
        "fresh-at-the-end-of-its-hops-the-store-passes-it-on",
        "old-so-it-came-by-repair",
    ],
)
def test_a_message_that_came_by_repair_is_passed_on_to_neighbours_known_to_lack_it(
    jev_holds: int, message: wire.SignedMessage, hops: int, hop_start: int, age_s: float, forwarded: bool
) -> None:
    a = Node("RIN", now=NOW + age_s)
    a.hold(HOL[0])

    a.hear(summary_of("JEV", {"HOL": jev_holds}, ("RIN",)))
    a.hear(summary_of("KRO", {"HOL": 2}, ("RIN", "MOD")), after=0.05)
    a.hear(frames.Bundle(SIGNERS["KRO"].key_id, (message.wire,)).to_bytes(), 0.05, hops, hop_start)
    sent = a.run(SETTLE_S)

    assert a.store.count() == 2
    assert (message.wire in data_frames(sent)) is forwarded
    assert requests(sent) == []


def test_a_bundle_with_a_tampered_entry_keeps_the_good_one() -> None:
    a = Node("RIN")
    bad = bytearray(HOL[2].wire)
    bad[12] ^= 0x20

    a.hear(frames.Bundle(SIGNERS["KRO"].key_id, (bytes(bad), HOL[1].wire)).to_bytes())

    assert a.store.count() == 1 and a.store.wire_of("HOL", 2) == [HOL[1].wire]
    assert rejected(a) == 1


# --- whose turn it is to answer ---------------------------------------------------------


def advertise(node: Node) -> bytes:
    """``node``'s summary, as it would put it on the air now."""
    return node.sync.summary_frame(node.now)


def test_the_holder_that_reaches_most_nodes_lacking_it_answers_alone() -> None:
    # RIN and KRO both hold HOL-2 and hear SIG, which lacks it; RIN also hears JEV and
    # SF, which lack it too.  By a hash alone KRO would go first for SIG, and RIN would
    # still have to send for JEV and SF: two packets.  RIN reaches more, so RIN goes.
    rin, kro = Node("RIN", seed=1), Node("KRO", seed=2)
    for n in (rin, kro):
        n.hold(*HOL[:2])
    rin.hear(summary_of("JEV", {"HOL": 1}, ("RIN",)))
    rin.hear(summary_of("SF", {"HOL": 1}, ("RIN",)))
    for n in (rin, kro):
        n.hear(summary_of("SIG", {"HOL": 1}, ("RIN", "KRO")))
    rin.hear(advertise(kro))
    kro.hear(advertise(rin))

    sent = exchange([rin, kro], SETTLE_S)

    answers = [(sender, frame) for _, sender, frame in sent if frame[0] == frames.BUNDLE]
    assert [sender for sender, _ in answers] == ["RIN"]
    assert frames.Bundle.from_bytes(answers[0][1]).messages == (HOL[1].wire,)


def first_data_after(node: Node, seconds: float) -> float | None:
    """Seconds until ``node`` sends its first message or bundle, stepping 0.1 s at a time."""
    start = node.now
    for _ in range(int(seconds * 10)):
        if data_frames(node.run(0.1)):
            return node.now - start
    return None


def test_two_leaves_that_cannot_hear_each_other_answer_the_hub_in_different_turns() -> None:
    # JEV and SF each hold news of their own that RIN lacks, and hear only RIN.  Both
    # first in line for their own item, they answered RIN's every summary at the same
    # moment and collided there, for minutes.  A neighbour of RIN's whom a leaf never
    # hears takes a turn in its reckoning, and the hash orders all of them alike.
    jev, sf = Node("JEV", seed=1), Node("SF", seed=2)
    jev.hold(signed("JEV", 1, "Normal drift i Jevnaker."))
    sf.hold(signed("SF", 1, "Meld status innen kl 16."))
    rin = summary_of("RIN", {"HOL": 1}, ("HOL", "JEV", "SF"))
    for leaf in (jev, sf):
        leaf.hear(rin)

    at = {leaf.id: first_data_after(leaf, SETTLE_S) for leaf in (jev, sf)}

    assert None not in at.values()
    longest = max(packet_airtime(len(signed(o, 1).wire), LONG_FAST) for o in ("JEV", "SF"))
    assert abs(cast(float, at["JEV"]) - cast(float, at["SF"])) > longest + CONFIG.answer_guard_s / 2


def test_an_answer_overheard_for_the_same_peer_holds_ours_back_a_turn() -> None:
    # MOD asks for HOL-2 and HOL-3.  RIN, first in turn for MOD, answers with HOL-2 only
    # (say it holds more for MOD than one packet carries).  KRO does not step in with
    # HOL-3 at its own turn while RIN may still be sending: it waits a full turn after
    # RIN's answer, then sends what is still missing.
    kro = Node("KRO")
    kro.hold(*HOL[:3])
    kro.hear(summary_of("RIN", {"HOL": 3}, ("KRO", "MOD")))
    kro.hear(summary_of("MOD", {"HOL": 1}, ("KRO", "RIN")))
    kro.sync.summary_frame(kro.now)
    slot = packet_airtime(MAX_APP_PAYLOAD, LONG_FAST) + CONFIG.answer_guard_s

    kro.hear(Request(SIGNERS["MOD"].key_id, (Want("HOL", 2), Want("HOL", 3))).to_bytes())
    early = kro.run(slot - 0.8)
    kro.hear(frames.Bundle(SIGNERS["RIN"].key_id, (HOL[1].wire,)).to_bytes())
    held_back = kro.run(slot - 0.2)
    later = kro.run(SETTLE_S)

    assert data_frames(early) == data_frames(held_back) == []
    assert data_frames(later) == [HOL[2].wire]


# --- summaries that find a partition and a straggler ------------------------------------


def summaries(sent: list[Transmission]) -> int:
    return sum(1 for tx in sent if tx.frame[0] == SUMMARY)


def test_a_node_that_hears_nobody_summarises_every_few_minutes_until_it_does() -> None:
    alone = Node("MOD")
    alone.hold(HOL[0])

    alone.run(2 * 3600)
    lonely_hour = alone.run(3600)
    back_among_others: list[Transmission] = []
    for minute in range(0, 120, 10):  # a neighbour that agrees, heard every ten minutes
        alone.hear(summary_of("RIN", {"HOL": 1}, ("MOD",)))
        sent = alone.run(600)
        if minute >= 60:
            back_among_others += sent

    assert summaries(lonely_hour) >= 3600 / CONFIG.lonely_max_s - 2
    assert summaries(back_among_others) <= 3600 / CONFIG.lonely_max_s / 4


@pytest.mark.parametrize(
    ("keepalive_s", "expected"), [(CONFIG.keepalive_s, range(2, 5)), (1e9, range(1))], ids=["keepalive", "none"]
)
def test_a_node_whose_neighbours_always_agree_still_speaks_now_and_then(keepalive_s: float, expected: range) -> None:
    # Two agreeing neighbours every minute, who hear each other and so speak for it,
    # would keep a Trickle node silent for ever (k = 2); the others would then take it
    # for gone.
    hub = Node("RIN", config=SyncConfig(keepalive_s=keepalive_s))
    hub.hold(HOL[0])
    sent: list[Transmission] = []
    hub.run(3600)
    others = tuple(n for n in ROSTER.node_ids if n not in ("RIN", "HOL", "POL"))  # named: no store to probe for
    hub.hear(summary_of("HOL", {"HOL": 1}, ("RIN", "POL", *others)))
    hub.run(600)
    for _ in range(180):
        hub.hear(summary_of("HOL", {"HOL": 1}, ("RIN", "POL", *others)))
        hub.hear(summary_of("POL", {"HOL": 1}, ("RIN", "HOL")))
        sent += hub.run(60)

    assert summaries(sent) in expected  # three hours: one every keepalive_s plus an interval at most


def test_a_hub_speaks_for_leaves_that_do_not_hear_each_other_and_they_keep_quiet() -> None:
    # A town hall heard only by the hub says nothing to the hub's other leaves: its
    # summary must not keep the hub quiet.  The leaf, having heard the hub agree,
    # has nobody else to tell (Modum's JEV and SF hear only RIN).
    everyone = tuple(n for n in ROSTER.node_ids if n != "RIN")  # the hub hears all: no store to probe for
    hub = Node("RIN")
    hub.hold(HOL[0])
    hub.run(3600)
    leaf = Node("JEV")
    leaf.hold(HOL[0])
    leaf.hear(summary_of("RIN", {"HOL": 1}, everyone))
    leaf.run(3600)
    hub_sent: list[Transmission] = []
    leaf_sent: list[Transmission] = []
    for _ in range(180):
        hub.hear(summary_of("JEV", {"HOL": 1}, ("RIN",)))
        hub.hear(summary_of("POL", {"HOL": 1}, ("RIN", *(n for n in everyone if n not in ("JEV", "POL")))))
        hub_sent += hub.run(60)
        leaf.hear(summary_of("RIN", {"HOL": 1}, everyone))
        leaf_sent += leaf.run(60)

    assert summaries(hub_sent) >= 3 * 3600 / CONFIG.summary_max_s - 1  # one every interval
    assert summaries(leaf_sent) <= 3 * 3600 / CONFIG.keepalive_s + 1  # only its keepalives


def test_a_neighbour_known_to_lack_something_keeps_our_summary_coming() -> None:
    # JEV's summary says it lacks HOL-2; our push to it may have been lost.  Others
    # agreeing with us must not silence the summary that would show JEV what it lacks.
    rin = Node("RIN")
    rin.hold(*HOL[:2])
    rin.run(3600)
    rin.hear(summary_of("JEV", {"HOL": 1}, ("RIN",)))
    sent: list[Transmission] = []
    for _ in range(60):  # 20 minutes: Trickle's interval is 8 by then, its moment anywhere in the second half
        rin.hear(summary_of("HOL", {"HOL": 2}, ("RIN",)))
        rin.hear(summary_of("POL", {"HOL": 2}, ("RIN",)))
        sent += rin.run(20)

    assert summaries(sent) >= 2


def test_a_missing_item_is_asked_for_again_when_no_answer_comes() -> None:
    sf = Node("SF")
    sf.hold(HOL[0])

    sf.hear(summary_of("RIN", {"HOL": 2}, ("SF",)))
    sent = sf.run(4 * 60)

    assert [w for r in requests(sent) for w in r.wants] == [Want("HOL", 2)] * 3  # after ~0, 60 and 180 s


# --- a lost fragment ----------------------------------------------------------------------


def test_a_lost_fragment_is_requested_alone_and_the_message_completes() -> None:
    m = big("HOL", 1)
    pieces = frames.split(m.wire, m.key_id, 1)
    lost = 2
    a, b = Node("RIN", seed=1), Node("JEV", seed=2)
    b.hold(m)

    for index, piece in enumerate(pieces):
        if index != lost:
            a.hear(piece, after=1.5)
    assert a.store.count() == 0
    asked = requests(a.run(CONFIG.fragment_timeout_s + SETTLE_S))

    assert [r.wants for r in asked] == [(Want("HOL", 1, 1 << lost),)]
    b.now = a.now
    b.hear(asked[0].to_bytes())
    answer = data_frames(b.run(SETTLE_S))
    assert answer == [pieces[lost]]
    a.hear(answer[0])
    assert a.store.digest() == b.store.digest()
    assert a.sync.stats.stored == 1


def test_fragments_in_any_order_with_duplicates_make_one_message() -> None:
    m = big("HOL", 1)
    pieces = frames.split(m.wire, m.key_id, 1)
    shuffled = [*pieces, pieces[0], pieces[3]]
    random.Random(5).shuffle(shuffled)
    a = Node("RIN")

    for piece in shuffled:
        a.hear(piece, after=0.5)

    assert a.store.count() == 1
    assert a.sync.stats.stored == 1
    assert rejected(a) == 0


# --- two nodes on one clock -----------------------------------------------------------------


def test_a_pair_converges_and_then_goes_quiet() -> None:
    a, b = Node("RIN", seed=1), Node("JEV", seed=2)
    a.hold(*HOL[:3], big("MOD", 1))
    b.hold(HOL[3], signed("SF", 1))

    exchange([a, b], 5 * 60)
    assert a.store.digest() == b.store.digest()
    assert a.store.count() == 6
    quiet = exchange([a, b], 2 * 3600)

    assert len(quiet) < 20  # Trickle: summaries thin out to one per ~21 min each
    assert {f[0] for _, _, f in quiet} == {SUMMARY}


def stable_pair() -> tuple[Node, Node]:
    """Two nodes that have agreed for three hours: their Trickle intervals are long."""
    b, c = Node("JEV", seed=2), Node("SF", seed=3)
    exchange([b, c], 3 * 3600)
    return b, c


NOD_HOL_2 = signed("HOL", 2, "Dambrudd ved Vikerfoss. Evakuer nå.", priority=Priority.NOD)


def test_news_heard_by_one_of_a_quiet_pair_reaches_the_other() -> None:
    b, c = stable_pair()
    b.hold(HOL[0])

    b.hear(NOD_HOL_2.wire)
    exchange([b, c], 2 * 60)

    assert c.store.get("HOL", 2) != []


def test_news_held_above_a_gap_reaches_the_other_of_a_quiet_pair() -> None:
    b, c = stable_pair()  # neither holds HOL-1, and nobody in range does

    b.hear(NOD_HOL_2.wire)
    exchange([b, c], 10 * 60)

    assert c.store.get("HOL", 2) != []


def test_news_far_above_a_hole_reaches_the_other_of_a_quiet_pair() -> None:
    b, c = stable_pair()
    after_restore = signed("HOL", 40)  # HOL's store was restored and its floor raised: 1-39 never exist
    b.hold(after_restore)
    c.hold(after_restore)

    b.hear(signed("HOL", 41, "Dambrudd ved Vikerfoss. Evakuer nå.", priority=Priority.NOD).wire)
    exchange([b, c], 30 * 60)

    assert c.store.get("HOL", 41) != []


# --- pushing our own -------------------------------------------------------------------------


def build(seq: int, text: str, priority: Priority) -> wire.SignedMessage:
    return signed("RIN", seq, text, priority=priority)


def test_a_committed_message_is_pushed_and_nod_goes_first() -> None:
    a = Node("RIN")
    for text, priority in [
        ("Rutine én.", Priority.RUTINE),
        ("Rutine to.", Priority.RUTINE),
        ("Dambrudd!", Priority.NOD),
    ]:
        a.store.commit_local("RIN", partial(build, text=text, priority=priority), T0)
    a.sync.local_message()

    pushed = [wire.peek(f) for f in data_frames(a.run(SETTLE_S))]

    assert [(p.seq, p.priority) for p in pushed] == [(3, Priority.NOD), (1, Priority.RUTINE), (2, Priority.RUTINE)]
    assert a.store.outbox() == []


@pytest.mark.parametrize(("hops", "want_ack"), [(0, False), (1, True)], ids=["on-the-ground", "over-a-hill"])
def test_our_own_push_asks_the_radio_to_retry_until_relayed_only_where_a_hill_must_relay_it(
    hops: int, want_ack: bool
) -> None:
    # Over a hill the hill's rebroadcast is the radio's implicit ACK; on the ground the
    # stores' radios relay nothing, and a retry would only cost airtime.
    a = Node("RIN")
    a.hear(summary_of("KRO", {}, ("RIN",)), hops=hops, hop_start=hops)
    a.store.commit_local("RIN", partial(build, text="Rutine én.", priority=Priority.RUTINE), T0)
    a.sync.local_message()

    pushed = [tx for tx in a.run(SETTLE_S) if tx.frame[0] != SUMMARY and tx.frame[0] != frames.REQUEST]
    assert pushed and all(tx.want_ack is want_ack for tx in pushed)


@pytest.mark.parametrize(("routine_hops", "expected"), [(0, 0), (None, 2)], ids=["stores-relay-routine", "unset"])
def test_routine_hops_sets_the_hop_limit_of_fresh_prioritet_and_rutine(routine_hops: int | None, expected: int) -> None:
    # A flooded RUTINE backlog from nodes Modum cannot hear collides at Ringerike
    # with Modum's NØD: where the town halls hear each other, RUTINE goes to
    # neighbours only and the stores relay it.
    a = Node("RIN", config=SyncConfig(flood_hops=2, routine_hops=routine_hops))
    for text, priority in [("Rutine.", Priority.RUTINE), ("Status.", Priority.PRIORITET), ("Ras!", Priority.HASTER)]:
        a.store.commit_local("RIN", partial(build, text=text, priority=priority), T0)
    a.sync.local_message()

    hops = {wire.peek(tx.frame).priority: tx.hop_limit for tx in a.run(SETTLE_S) if frames.is_message_frame(tx.frame)}

    assert hops == {Priority.HASTER: 2, Priority.PRIORITET: expected, Priority.RUTINE: expected}


# --- frames on the air ----------------------------------------------------------------------

NODE_IDS = st.from_regex(r"\A[A-Z][A-Z0-9]{1,7}\Z")
KEY_IDS = st.integers(0, 0xFFFF)
SEQS = st.integers(0, MAX_SEQ)


@given(KEY_IDS, st.integers(1, 500), st.dictionaries(NODE_IDS, SEQS, max_size=8))
def test_summary_round_trips(key_id: int, version: int, heads: dict[str, int]) -> None:
    summary = Summary(key_id, version, tuple(sorted(heads.items())))
    data = summary.signed(SIGNERS["RIN"].sign)

    assert data[0] == SUMMARY
    assert len(data) <= MAX_APP_PAYLOAD
    assert Summary.from_bytes(data) == summary


@given(
    KEY_IDS,
    st.lists(
        st.builds(Want, NODE_IDS, SEQS, st.none() | st.integers(1, 0xFFFF)),
        max_size=frames.MAX_REQUEST_ITEMS,
    ),
)
def test_request_round_trips(key_id: int, wants: list[Want]) -> None:
    request = Request(key_id, tuple(wants))
    try:
        data = request.to_bytes()
    except ValueError:  # more than one packet holds: the sender splits it
        return
    assert data[0] == REQUEST
    assert len(data) <= MAX_APP_PAYLOAD
    assert Request.from_bytes(data) == request


def test_our_summary_frame_says_what_our_store_holds() -> None:
    a = Node("RIN")
    a.hold(HOL[0], HOL[1], HOL[3], signed("MOD", 1))

    summary = Summary.from_bytes(a.sync.summary_frame())

    assert summary.key_id == SIGNERS["RIN"].key_id
    assert summary.roster_version == ROSTER.version
    assert summary.heads == (("HOL", 2), ("MOD", 1))


# --- hostile input ------------------------------------------------------------------------------


def signed_summary(frame: bytes) -> None:
    summary = Summary.from_bytes(frame)
    if not summary.verify(ROSTER.entry_for_key(summary.key_id).public_key):
        raise DecodeError("not signed by its sender", "bad_signature")


def well_formed(frame: bytes) -> bool:
    """Whether ``frame`` decodes: the oracle for what SyncNode.receive must accept."""
    parsers: dict[int, Callable[[bytes], object]] = {
        SUMMARY: signed_summary,
        REQUEST: lambda f: ROSTER.entry_for_key(Request.from_bytes(f).key_id),
        FRAGMENT: lambda f: ROSTER.entry_for_key(Fragment.from_bytes(f).key.key_id),
    }
    try:
        if frames.is_message_frame(frame):
            wire.decode(frame, ROSTER, dictionaries.available())
        elif not frame or frame[0] not in parsers:
            return False
        else:
            parsers[frame[0]](frame)
    except DecodeError:
        return False
    return True


VALID_FRAMES = [
    HOL[0].wire,
    *frames.split(big("HOL", 9).wire, SIGNERS["HOL"].key_id, 9),
    Summary(SIGNERS["HOL"].key_id, ROSTER.version, (("HOL", 4), ("MOD", 2))).signed(SIGNERS["HOL"].sign),
    Request(SIGNERS["HOL"].key_id, (Want("MOD", 1), Want("HOL", 9, 0b101))).to_bytes(),
]


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    """A valid frame with some bytes changed, cut short or extended."""
    frame = bytearray(draw(st.sampled_from(VALID_FRAMES)))
    for _ in range(draw(st.integers(1, 4))):
        frame[draw(st.integers(0, len(frame) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(1, len(frame)))
    return bytes(frame[:cut]) + draw(st.binary(max_size=8))


@given(st.binary(max_size=300) | mutated_frames())
def test_arbitrary_bytes_never_raise_and_bad_ones_are_counted(frame: bytes) -> None:
    a = Node("RIN")
    a.hold(HOL[0])

    a.hear(frame)
    a.run(SETTLE_S)

    assert rejected(a) == (0 if well_formed(frame) else 1)


def test_a_summary_claiming_a_huge_head_costs_bounded_memory() -> None:
    a = Node("RIN")
    hostile = Summary(SIGNERS["HOL"].key_id, ROSTER.version, (("HOL", 300_000),)).signed(SIGNERS["HOL"].sign)
    assert len(hostile) < 18 + 64  # with its signature: a stolen key, or a node gone wrong

    tracemalloc.start()
    try:
        a.hear(hostile)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 2_000_000, f"{peak / 1e6:.1f} MB to handle a {len(hostile)}-byte frame"
    assert len(asked(a.run(SETTLE_S))) <= frames.MAX_REQUEST_ITEMS


# --- numbers that cannot be right --------------------------------------------------------


def test_our_own_origin_from_the_air_above_what_we_sent_is_refused_with_an_alarm() -> None:
    a = Node("RIN")
    mine = a.store.commit_local("RIN", lambda seq: signed("RIN", seq), T0)
    assert mine.message.seq == 1
    forged = signed("RIN", 2**32 - 1)  # a stolen key, at the last number

    got = a.sync.receive(forged.wire, a.now)

    assert (got.rejected, got.alarm) == ("own_origin", "own_origin")
    assert not a.store.wire_of("RIN", 2**32 - 1)
    # ...and it never became our head: the next message is RIN-0002.
    assert a.store.commit_local("RIN", lambda seq: signed("RIN", seq), T0).message.seq == 2


def test_our_own_history_coming_back_after_a_restore_is_taken() -> None:
    a = Node("RIN")
    a.store.raise_sequence_floor("RIN", 1000)  # hw/restore.sh: above every number we may have used
    lost = signed("RIN", 7)  # sent before the restore; a neighbour gives it back

    got = a.sync.receive(lost.wire, a.now)

    assert got.rejected is None and got.alarm is None and got.stored == ("RIN-0007",)


@pytest.mark.parametrize(("seq", "taken"), [(2 + 4096, True), (3 + 4096, False), (2**31, False)])
def test_a_number_far_above_what_we_hold_of_an_origin_is_refused(seq: int, taken: bool) -> None:
    a = Node("RIN")
    a.hold(HOL[0], HOL[1])  # HOL-0001, HOL-0002

    got = a.sync.receive(signed("HOL", seq).wire, a.now)

    assert (got.rejected is None) is taken
    assert bool(a.store.wire_of("HOL", seq)) is taken
    if not taken:
        assert got.rejected == "seq_jump"


@pytest.mark.parametrize(("age_days", "taken"), [(29, True), (31, False), (400, False)])
def test_a_message_older_than_the_accept_window_is_refused_as_a_replay(age_days: int, taken: bool) -> None:
    a = Node("RIN", now=NOW + age_days * 86400.0)

    got = a.sync.receive(HOL[0].wire, a.now)  # created at T0

    assert (got.rejected is None) is taken
    assert bool(a.store.wire_of("HOL", 1)) is taken
    if not taken:
        assert got.rejected == "too_old"


# --- conflicts: a second version of a held number ------------------------------------------


def conflicting(seq: int, n: int, created: datetime = T0) -> wire.SignedMessage:
    """A thief's NØD under HOL's key and a number HOL already used (a different text)."""
    msg = compose(Kind.MELDING, "HOL", seq, created, text=f"Falsk alarm nummer {n}.", priority=Priority.NOD)
    return wire.encode(msg, SIGNERS["HOL"], dictionaries.current())


def test_a_stolen_keys_conflicts_are_bounded_per_number_and_per_hour() -> None:
    a = Node("RIN")
    a.hold(*HOL)  # HOL-0001..0004, genuine
    got = [a.sync.receive(conflicting(1 + n % 4, n).wire, a.now).rejected for n in range(500)]

    assert a.store.count() <= 4 + CONFIG.conflicts_per_h  # 504 rows before
    assert all(len(a.store.wire_of("HOL", seq)) <= 2 for seq in range(1, 5))  # two versions at most
    assert {"conflict_bound", "conflict_rate"} >= set(got) - {None}
    a.now += 3600.0  # an hour later, a few more: never a third version of a number
    for n in range(500, 520):
        a.sync.receive(conflicting(1 + n % 4, n).wire, a.now)
    assert all(len(a.store.wire_of("HOL", seq)) <= 2 for seq in range(1, 5))


def test_both_versions_of_a_number_travel_to_a_store_that_holds_one() -> None:
    # JEV took the thief's HOL-0002 first; RIN holds both (it heard HOL's own push too).
    thief = conflicting(2, 1)
    rin, jev = Node("RIN"), Node("JEV")
    rin.hold(HOL[0], HOL[1])
    jev.hold(HOL[0], thief)
    assert rin.sync.receive(thief.wire, rin.now).rejected is None  # a conflict: RIN holds two
    assert "HOL" not in dict(Summary.from_bytes(jev.sync.summary_frame(jev.now)).doubled)
    assert Summary.from_bytes(rin.sync.summary_frame(rin.now)).doubled == (("HOL", 2),)
    for node in (rin, jev):
        node.hear(summary_of("HOL", {"HOL": 2}, ("RIN", "JEV")))  # both know the region
    exchange([rin, jev], 900.0)

    assert sorted(jev.store.wire_of("HOL", 2)) == sorted([HOL[1].wire, thief.wire])  # before: the thief's alone
    assert Summary.from_bytes(jev.sync.summary_frame(jev.now)).doubled == (("HOL", 2),)


def test_an_owner_that_hears_a_thief_under_its_own_origin_numbers_on_above_it() -> None:
    hol = Node("HOL")
    thief = conflicting(3, 1)  # HOL-0003, while Hole has committed nothing
    assert hol.sync.receive(thief.wire, hol.now).alarm == "own_origin"
    assert hol.store.local_head("HOL") == 3  # Hole's next message is HOL-0004: no conflict
    far = conflicting(CONFIG.seq_window + 10, 2)  # far above: no store takes it
    assert hol.sync.receive(far.wire, hol.now).alarm == "own_origin"
    assert hol.store.local_head("HOL") == 3


def test_the_numbers_held_twice_are_named_after_a_restart() -> None:
    rin = Node("RIN")
    rin.hold(HOL[0], HOL[1])
    rin.sync.receive(conflicting(2, 1).wire, rin.now)
    again = Node("RIN", seed=2, now=rin.now, store=rin.store)
    assert Summary.from_bytes(again.sync.summary_frame(rin.now)).doubled == (("HOL", 2),)


def test_a_thiefs_messages_under_an_origin_are_never_pushed_to_that_origin() -> None:
    # A thief signed MOD-0006..0008 with MOD's key; RIN took them.  MOD's own summary says
    # it holds up to 5: it refuses the rest as its own numbers it never used.
    rin = Node("RIN")
    rin.hold(*(signed("MOD", seq) for seq in range(1, 9)))
    rin.hear(summary_of("MOD", {"MOD": 5}, ("RIN",)))
    rin.hear(summary_of("MOD", {"MOD": 5}, ("RIN",)), after=600.0)  # and again: still not lagging
    sent = rin.run(1800.0)
    assert data_frames(sent) == [] and bundles(sent) == []
    assert rin.sync.receive(Request(SIGNERS["MOD"].key_id, (Want("MOD", 7),)).to_bytes(), rin.now).rejected is None
    assert data_frames(rin.run(60.0)) == []  # asked in MOD's name: its summary shows what it refuses


def test_a_thiefs_jumps_do_not_move_the_sequence_window_up() -> None:
    rin = Node("RIN")
    rin.hold(*(signed("MOD", seq) for seq in range(1, 6)))  # held for an hour
    taken = {seq: rin.sync.receive(signed("MOD", seq).wire, rin.now).rejected for seq in (2000, 6000, 6097)}
    assert taken == {2000: None, 6000: "seq_jump", 6097: "seq_jump"}  # before: all three taken
    rin.now += 2 * 3600.0  # an hour on, 2000 counts: one more jump, never a run of them
    assert rin.sync.receive(signed("MOD", 6000).wire, rin.now).rejected is None


def test_summaries_from_one_sender_are_checked_at_its_rate_and_replays_before_their_signature() -> None:
    a = Node("RIN")
    flood = [summary_of("HOL", {}, ("RIN",)) for _ in range(50)]
    got = [a.sync.receive(frame, a.now + i * 0.02).rejected for i, frame in enumerate(flood)]  # 50 a second
    burst = CONFIG.verify_per_s * 10.0
    assert got.count(None) <= burst + 1 and set(got) == {None, "summary_flood"}
    assert a.sync.receive(flood[0], a.now + 60.0).rejected == "replay"  # told without checking a signature


def test_a_thief_spending_an_origins_nod_quota_far_above_leaves_its_next_nod_a_path() -> None:
    rin = Node("RIN")
    rin.hold(*(signed("JEV", seq) for seq in range(1, 6)))
    flood = [signed("JEV", 1000 + n, f"Falsk NØD {n}.", Priority.NOD) for n in range(20)]
    got = [rin.sync.receive(m.wire, rin.now + n).rejected for n, m in enumerate(flood)]
    assert got.count("origin_flood") >= 20 - CONFIG.nod_per_h  # the thief spent JEV's NØD quota
    genuine = signed("JEV", 6, "Brann i skolen.", Priority.NOD)
    assert rin.sync.receive(genuine.wire, rin.now + 30.0).rejected is None  # before: origin_flood
    assert rin.store.wire_of("JEV", 6) == [genuine.wire]


def test_a_conflict_older_than_the_window_or_under_a_revoked_key_is_refused() -> None:
    a = Node("RIN")
    a.hold(*HOL)
    old = conflicting(2, 1, created=T0 - timedelta(days=400))
    assert a.sync.receive(old.wire, a.now).rejected == "too_old"

    b = Node("RIN")
    b.hold(*HOL)
    b.sync.set_roster(ROSTER.with_revoked("HOL", AUTHORITY, T0 + timedelta(hours=1), 4), b.now)
    back_dated = conflicting(3, 2, created=T0 - timedelta(minutes=5))  # before the revocation, under 4
    assert b.sync.receive(back_dated.wire, b.now).rejected == "conflict_revoked"
    assert b.store.wire_of("HOL", 3) == [HOL[2].wire]  # the genuine one stays


def test_messages_from_a_pi_whose_clock_is_40_days_behind_are_judged_by_its_own_clock() -> None:
    behind = 40 * 86400.0
    a = Node("RIN", now=NOW + behind)  # HOL's messages are dated T0, by a clock 40 days behind
    assert a.sync.receive(HOL[0].wire, a.now).rejected == "too_old"  # before HOL's summary: as before

    summary = Summary(SIGNERS["HOL"].key_id, ROSTER.version, (("HOL", 2),), counter=next(SUMMARY_COUNT))
    summary = replace(summary, clock=clock_seconds(NOW))  # HOL's clock, as it signs
    assert a.sync.receive(summary.signed(SIGNERS["HOL"].sign), a.now).rejected is None
    assert a.sync.clock_offset("HOL") == pytest.approx(-behind, abs=1.0)

    assert a.sync.receive(HOL[1].wire, a.now).rejected is None  # fresh by HOL's clock: taken
    assert a.sync.clock_skew(a.now) == (pytest.approx(behind, abs=1.0), 1)  # or ours is 40 days ahead


def test_a_node_learns_from_its_peers_that_its_own_clock_is_wrong() -> None:
    a = Node("RIN", now=NOW - 40 * 86400.0)  # booted without RTC or NTP: 40 days behind
    assert a.sync.clock_skew(a.now) is None  # nobody heard yet: nothing to say
    for peer in ("HOL", "JEV", "SF"):
        a.hear(summary_of(peer, {}, ("RIN",)))  # their clocks are right (NOW)
    skew, peers = a.sync.clock_skew(a.now) or (0.0, 0)
    assert peers == 3 and skew == pytest.approx(-40 * 86400.0, abs=5.0)


def test_forged_fragments_cannot_evict_a_genuine_partial_message() -> None:
    a = Node("RIN")
    genuine = frames.split(big("HOL", 1).wire, SIGNERS["HOL"].key_id, 1)
    for piece in genuine[:-1]:  # all but the last fragment
        a.hear(piece, after=0.1)
    for i in range(200):  # forged one-fragment partials under every other key id
        for node in ("JEV", "MOD", "SF", "HOL"):
            forged = frames.Fragment(frames.FragmentKey(SIGNERS[node].key_id, 100 + i, i), 0, 3, b"x")
            a.hear(forged.to_bytes())
    a.hear(genuine[-1], after=0.1)

    assert a.store.wire_of("HOL", 1) == [big("HOL", 1).wire]


def test_fuller_forged_partials_under_the_same_key_cannot_evict_a_genuine_one() -> None:
    a = Node("RIN")
    m = big("HOL", 1)
    genuine = frames.split(m.wire, SIGNERS["HOL"].key_id, 1)
    for piece in genuine[:-1]:
        a.hear(piece, after=0.1)
    for i in range(4):  # as full as the genuine partial, under numbers no summary names
        key = frames.FragmentKey(SIGNERS["HOL"].key_id, 100 + i, i)
        for index in range(len(genuine) - 1):
            a.hear(frames.Fragment(key, index, len(genuine), b"forged").to_bytes())
    a.hear(genuine[-1], after=0.1)

    assert a.store.wire_of("HOL", 1) == [m.wire]


def forged_piece(piece: bytes) -> bytes:
    """The same fragment key and index as ``piece``, other bytes."""
    genuine = frames.Fragment.from_bytes(piece)
    return frames.Fragment(genuine.key, genuine.index, genuine.count, bytes(len(genuine.data))).to_bytes()


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_forged_piece_before_or_after_the_genuine_one_does_not_spoil_the_message(when: str) -> None:
    a = Node("RIN")
    m = big("HOL", 1)
    genuine = frames.split(m.wire, SIGNERS["HOL"].key_id, 1)
    order = [forged_piece(genuine[2]), *genuine] if when == "before" else [*genuine[:3], forged_piece(genuine[2])]
    order += genuine[3:] if when == "after" else []
    for piece in order:
        with contextlib.suppress(DecodeError):  # the forged piece first: no combination matches yet
            a.hear(piece, after=0.1)

    assert a.store.wire_of("HOL", 1) == [m.wire]


def test_a_message_whose_pieces_do_not_match_is_asked_for_whole() -> None:
    a = Node("RIN")
    m = big("HOL", 1)
    genuine = frames.split(m.wire, SIGNERS["HOL"].key_id, 1)
    for piece in [forged_piece(genuine[0]), *genuine[1:]]:
        with contextlib.suppress(DecodeError):
            a.hear(piece, after=0.1)
    sent = a.run(SETTLE_S)

    assert Want("HOL", 1) in asked(sent)  # no fragment mask: the whole message, from any holder
    for piece in genuine[:1]:
        a.hear(piece, after=0.1)  # the answer
    assert a.store.wire_of("HOL", 1) == [m.wire]


def test_a_forged_fragment_does_not_cancel_our_answer_but_the_genuine_one_does() -> None:
    m = big("HOL", 1)
    pieces = frames.split(m.wire, m.key_id, 1)
    a = Node("RIN")
    a.hold(m)

    a.hear(Request(SIGNERS["SF"].key_id, (Want("HOL", 1),)).to_bytes())
    for piece in pieces[:2]:
        a.hear(forged_piece(piece), after=0.01)  # forged: our answer still goes
    a.hear(pieces[2], after=0.01)  # genuine: someone else sent it
    sent = a.run(SETTLE_S)

    assert sorted(data_frames(sent)) == sorted(p for i, p in enumerate(pieces) if i != 2)


def test_a_forged_fragment_costs_one_request_not_a_stream_of_them() -> None:
    a = Node("RIN")
    forged = frames.Fragment(frames.FragmentKey(SIGNERS["HOL"].key_id, 9, 1234), 0, 3, b"forged")

    a.hear(forged.to_bytes())
    sent = a.run(2 * 3600.0)

    assert len([w for r in requests(sent) for w in r.wants if w.origin == "HOL"]) == 1


@pytest.mark.parametrize(("age_s", "rank"), [(600.0, 1), (2 * 3600.0, 3)])
def test_an_answer_spends_the_urgent_rank_only_while_its_message_is_fresh(age_s: float, rank: int) -> None:
    # Requests are unsigned: anyone may ask for an old HASTER again and again.
    a = Node("RIN", now=NOW + age_s)
    a.hold(HASTER_HOL_2)

    a.hear(Request(SIGNERS["SF"].key_id, (Want("HOL", 2),)).to_bytes())
    sent = a.run(SETTLE_S)

    assert [tx.rank for tx in sent if HASTER_HOL_2.wire in data_frames([tx])] == [rank]


def test_a_stolen_key_flooding_nod_is_admitted_six_an_hour() -> None:
    a = Node("RIN")
    nod = [signed("MOD", seq, f"Falsk NØD nummer {seq}.", priority=Priority.NOD) for seq in range(1, 9)]

    got = [a.sync.receive(m.wire, a.now + i) for i, m in enumerate(nod[:7])]

    assert [g.rejected for g in got] == [None] * 6 + ["origin_flood"]
    assert got[-1].alarm == "origin_flood" and not a.store.wire_of("MOD", 7)
    later = a.sync.receive(nod[6].wire, a.now + 11 * 60)  # a sixth of an hour: one more NØD
    assert later.rejected is None and a.store.wire_of("MOD", 7)


def test_a_burst_from_one_origin_is_taken_up_to_its_size_and_the_rest_later() -> None:
    config = SyncConfig(origin_burst=5, origin_rate_per_h=60)
    a = Node("RIN", config=config)
    burst = [signed("HOL", seq, f"Melding {seq}.") for seq in range(1, 8)]

    got = [a.sync.receive(m.wire, a.now) for m in burst]

    assert [g.rejected for g in got] == [None] * 5 + ["origin_flood"] * 2
    assert a.sync.receive(burst[5].wire, a.now + 61).rejected is None  # a minute later: one more


def test_a_flood_refused_over_its_rate_is_not_asked_for_again_until_the_rate_allows() -> None:
    """A stolen key's NØD flood: what a store had to refuse it neither asks for at once
    (the answer would be refused again) nor pushes to a neighbour whose summary shows
    it lacks it (that neighbour's rate refuses it too)."""
    a = Node("RIN")
    nod = [signed("MOD", seq, f"Falsk NØD nummer {seq}.", priority=Priority.NOD) for seq in range(1, 9)]
    for m in nod[:7]:
        a.hear(m.wire)
    assert a.sync.stats.rejected["origin_flood"] == 1  # MOD-0007 refused

    a.hear(summary_of("HOL", {"MOD": 8}, ("RIN",)), after=1.0)  # HOL holds all 8: MOD-0007 is there to ask for
    a.hear(summary_of("SF", {}, ("RIN",)), after=1.0)  # SF lacks MOD's: nothing of a flooding origin is pushed
    sent = a.run(5 * 60.0)
    assert [w for r in requests(sent) for w in r.wants if w.origin == "MOD"] == []
    assert not any(m.wire in data_frames(sent) for m in nod)

    a.hear(summary_of("HOL", {"MOD": 8}, ("RIN",)), after=10 * 60.0)  # a sixth of an hour on: one fits again
    sent = a.run(60.0)
    assert sorted(w.seq for r in requests(sent) for w in r.wants if w.origin == "MOD") == [7, 8]


REVOKED = ROSTER.with_revoked("HOL", AUTHORITY, T0 - timedelta(hours=1))  # Hole's Pi was stolen: HOL[...] are void


def test_a_store_does_not_serve_messages_of_a_key_revoked_since_it_stored_them() -> None:
    a = Node("RIN")
    a.hold(HOL[0])
    a.sync.roster = REVOKED  # the new roster arrives

    a.hear(Request(SIGNERS["SF"].key_id, (Want("HOL", 1),)).to_bytes())

    assert data_frames(a.run(SETTLE_S)) == []


def test_a_message_of_a_revoked_key_is_refused_once_and_never_asked_for_again() -> None:
    a = Node("RIN")
    a.sync.roster = REVOKED
    a.hear(HOL[0].wire)
    assert a.sync.stats.rejected["revoked"] == 1

    for _ in range(3):  # a holder with the old roster keeps naming it
        a.hear(summary_of("SF", {"HOL": 1}, ("RIN",)), after=600.0)
        sent = a.run(SETTLE_S)
        assert [w for r in requests(sent) for w in r.wants if w.origin == "HOL"] == []


def test_a_request_for_what_the_requesters_own_summary_shows_it_holds_is_not_answered() -> None:
    # Requests are unsigned: a radio with the channel key asks in SF's name for
    # everything the stores hold.  SF's own summary says it holds HOL-0002.
    a = Node("RIN")
    a.hold(*HOL[:2])
    a.hear(summary_of("SF", {"HOL": 2}, ("RIN",)))
    a.run(SETTLE_S)

    a.hear(Request(SIGNERS["SF"].key_id, (Want("HOL", 1), Want("HOL", 2))).to_bytes())

    assert data_frames(a.run(SETTLE_S)) == []


def test_a_request_does_not_bring_its_claimed_sender_nearer() -> None:
    a = Node("RIN")
    a.hear(summary_of("SIG", {}, ("KRO",)), hops=2, hop_start=2)  # SIG: two hills away
    assert a.sync.peers.hops_to("SIG", a.now) == 2

    a.hear(Request(SIGNERS["SIG"].key_id, (Want("HOL", 1),)).to_bytes(), after=1.0)  # a forged one, heard directly

    assert a.sync.peers.hops_to("SIG", a.now) == 2


@given(
    frame=st.binary(max_size=300) | mutated_frames(), hops=st.integers(-3, 9), hop_start=st.integers(-3, 9) | st.none()
)
def test_any_frame_from_any_distance_is_taken_or_refused_never_raises(
    frame: bytes, hops: int, hop_start: int | None
) -> None:
    a = Node("RIN")
    a.hold(HOL[0])

    got = a.sync.receive(frame, a.now, hops, hop_start)
    a.run(SETTLE_S)

    assert (got.rejected is None) is well_formed(frame) or got.echo
    assert all(0 <= tx.hop_limit <= CONFIG.max_hops for tx in a.run(SETTLE_S))


def test_two_stores_that_differ_only_in_a_fifth_run_above_a_hole_converge() -> None:
    # A stolen key, or repeated restores, leaves runs of HOL above a hole; a summary
    # names four runs a page.  RIN also holds the fifth run, JEV does not.
    runs = [signed("HOL", seq, f"Melding {seq} fra Hole.") for seq in (1, 3, 5, 7, 9, 11)]
    a, b = Node("RIN", seed=1), Node("JEV", seed=2)
    a.hold(*runs)
    b.hold(*runs[:-1])

    exchange([a, b], 3 * 3600.0)

    assert b.store.wire_of("HOL", 11) == [runs[-1].wire]


def test_held_runs_are_named_a_page_at_a_time() -> None:
    a = Node("RIN")
    a.hold(*(signed("HOL", seq) for seq in (1, 3, 5, 7, 9, 11, 13)))  # six runs above the hole at 2

    pages = [a.store.extras(page)["HOL"] for page in range(3)]

    assert pages == [((3, 3), (5, 5), (7, 7), (9, 9)), ((11, 11), (13, 13)), ((3, 3), (5, 5), (7, 7), (9, 9))]
    assert a.store.extras(None)["HOL"] == ((3, 3), (5, 5), (7, 7), (9, 9), (11, 11), (13, 13))


# --- signed summaries -----------------------------------------------------------------------


def test_a_forged_summary_makes_no_receipt_and_no_neighbour() -> None:
    # A radio with the channel key sends Jevnaker's summary, claiming HOL-0001 and -0002.
    a = Node("RIN")
    a.hold(*HOL[:2])
    forged = Summary(SIGNERS["JEV"].key_id, ROSTER.version, (("HOL", 2),)).to_bytes() + bytes(64)
    wrong_key = Summary(SIGNERS["JEV"].key_id, ROSTER.version, (("HOL", 2),)).signed(SIGNERS["SF"].sign)

    got = [a.sync.receive(frame, a.now) for frame in (forged, wrong_key)]

    assert [g.rejected for g in got] == ["bad_signature", "bad_signature"]
    assert [r for m in HOL[:2] for r in a.store.receipts("HOL", m.message.seq)] == []
    assert a.sync.peers.hops_to("JEV", a.now) is None  # not heard: «relay status» does not say so either


def test_a_genuine_summary_makes_receipts() -> None:
    a = Node("RIN")
    a.hold(*HOL[:2])
    assert a.sync.receive(summary_of("JEV", {"HOL": 2}, ("RIN",)), a.now).rejected is None
    assert {(r.seq, r.node, r.level) for r in a.store.receipts("HOL", 1) + a.store.receipts("HOL", 2)} == {
        (1, "JEV", "MOTTATT"),
        (2, "JEV", "MOTTATT"),
    }


def test_a_summary_replayed_later_is_refused_but_its_echo_through_a_hill_is_not() -> None:
    a = Node("RIN")
    frame = summary_of("JEV", {"HOL": 1}, ("RIN",))
    assert a.sync.receive(frame, a.now).rejected is None
    assert a.sync.receive(frame, a.now + 3.0, hops=1, hop_start=1).rejected is None  # relayed by a hill
    assert a.sync.receive(frame, a.now + 3600.0).rejected == "replay"  # keeping a dark node alive


def test_an_old_summary_replayed_after_many_newer_ones_is_refused() -> None:
    a = Node("RIN")
    first = summary_of("SIG", {}, ("RIN",))
    assert a.sync.receive(first, a.now).rejected is None
    for _ in range(70):  # an hour's summaries and more: no memory of bodies holds them all
        a.now += 60.0
        assert a.sync.receive(summary_of("SIG", {}, ("RIN",)), a.now).rejected is None
    heard = a.sync.peers.hops_to("SIG", a.now)

    a.now += 3 * 3600.0  # SIG went dark; a rogue replays its first summary
    assert a.sync.receive(first, a.now).rejected == "replay"
    assert heard == 0 and a.sync.peers.hops_to("SIG", a.now) is None  # not alive again


def restarted(node: Node, now: float) -> SyncNode:
    """``node``'s sync started again over the same store, as after a daemon restart."""
    return SyncNode(
        node.id,
        SIGNERS[node.id].key_id,
        node.store,
        ROSTER,
        dictionaries.available(),
        lambda n: packet_airtime(n, LONG_FAST),
        random.Random(2),
        now,
        CONFIG,
        sign=SIGNERS[node.id].sign,
    )


def test_a_summary_replayed_after_a_restart_is_refused() -> None:
    a = Node("RIN")
    last = summary_of("SIG", {}, ("RIN",))
    assert a.sync.receive(last, a.now).rejected is None
    assert "RIN" in a.sync.peers.list_of("SIG")

    a.now += 600.0
    a.sync = restarted(a, a.now)  # the replay memory is gone; the newest counter is kept
    assert a.sync.receive(last, a.now).rejected == "replay"
    assert a.sync.peers.list_of("SIG") == {}  # SIG does not count as our neighbour again


def test_a_restarted_store_numbers_its_summaries_above_the_last_it_sent() -> None:
    sig = Node("SIG")
    sent = [sig.sync.summary_frame(sig.now) for _ in range(3)]
    sig.sync = restarted(sig, sig.now + 1.0)
    sent.append(sig.sync.summary_frame(sig.now + 1.0))
    counters = [Summary.from_bytes(frame).counter for frame in sent]
    assert counters == sorted(set(counters))
    rin = Node("RIN")  # a peer that heard the last ones before the restart takes the next
    assert [rin.sync.receive(frame, rin.now).rejected for frame in sent] == [None] * 4


# --- region-wide holdings: summaries passed on -------------------------------------------


def held(sent: list[Transmission]) -> list[frames.Held]:
    return [frames.Held.from_bytes(tx.frame) for tx in sent if tx.frame[0] == frames.HELD]


def mottatt(node: Node, origin: str, seq: int) -> set[str]:
    return {r.node for r in node.store.receipts(origin, seq) if r.level == "MOTTATT"}


def test_a_store_passes_a_far_stores_summary_on_to_an_origin_that_does_not_hear_it() -> None:
    rin = Node("RIN")
    rin.hold(*HOL[:2])
    rin.hear(summary_of("HOL", {"HOL": 2}, ("RIN",)))  # HOL hears only RIN...
    sig = summary_of("SIG", {"HOL": 2}, ("RIN",))  # ...and SIG, which holds HOL's two, only RIN
    rin.hear(sig)
    sent = rin.run(1800.0)

    (passed,) = held(sent)
    assert passed.key_id == SIGNERS["RIN"].key_id and passed.summaries == (sig,)  # SIG's own, signature and all
    hol = Node("HOL")
    hol.hold(*HOL[:2])
    assert hol.sync.receive(passed.to_bytes(), hol.now).rejected is None
    assert mottatt(hol, "HOL", 1) == mottatt(hol, "HOL", 2) == {"SIG"}  # never heard SIG, knows it holds them
    assert hol.sync.peers.hops_to("SIG", hol.now) is None  # and SIG is not "heard": it proves no liveness


def test_a_summary_the_origin_hears_itself_is_not_passed_on() -> None:
    rin = Node("RIN")
    rin.hold(*HOL[:2])
    rin.hear(summary_of("HOL", {"HOL": 2}, ("RIN", "SIG")))  # HOL hears SIG itself
    rin.hear(summary_of("SIG", {"HOL": 2}, ("RIN", "HOL")))
    assert held(rin.run(1800.0)) == []


def test_a_passed_on_summary_signed_by_another_key_makes_no_receipt() -> None:
    """A thief with a third store's key (JEV) cannot make SIG look like it holds HOL's messages."""
    hol = Node("HOL")
    hol.hold(*HOL[:2])
    claim = Summary(SIGNERS["SIG"].key_id, ROSTER.version, (("HOL", 2),), counter=next(SUMMARY_COUNT))
    forged = claim.to_bytes() + SIGNERS["JEV"].sign(SUMMARY_CONTEXT + claim.to_bytes())
    unsigned = claim.to_bytes() + bytes(64)  # a rogue with only the channel key
    got = hol.sync.receive(frames.Held(SIGNERS["JEV"].key_id, (forged, unsigned)).to_bytes(), hol.now)
    assert got.rejected is None and hol.sync.stats.rejected["bad_signature"] == 2
    assert mottatt(hol, "HOL", 1) == set()


def test_an_old_passed_on_summary_adds_nothing() -> None:
    hol = Node("HOL")
    hol.hold(*HOL[:3])
    old = summary_of("SIG", {"HOL": 1}, ("RIN",))
    new = summary_of("SIG", {"HOL": 3}, ("RIN",))
    hol.hear(frames.Held(SIGNERS["RIN"].key_id, (new,)).to_bytes())
    hol.hear(frames.Held(SIGNERS["RIN"].key_id, (old,)).to_bytes())
    assert mottatt(hol, "HOL", 3) == {"SIG"} and hol.sync.holdings.heads("SIG") == {"HOL": 3}


def test_a_fresh_nod_goes_as_far_as_the_radio_allows_other_messages_as_far_as_the_peers() -> None:
    a = Node("RIN")
    a.hear(summary_of("HOL", {}, ("RIN",)))  # one direct neighbour: 0 hops would do
    for text, priority in [("Rutine.", Priority.RUTINE), ("Brann!", Priority.NOD)]:
        a.store.commit_local("RIN", partial(build, text=text, priority=priority), T0)
    a.sync.local_message()

    hops = {wire.peek(tx.frame).priority: tx.hop_limit for tx in a.run(SETTLE_S) if frames.is_message_frame(tx.frame)}

    assert hops == {Priority.NOD: CONFIG.max_hops, Priority.RUTINE: 0}


def test_a_node_whose_view_lacks_a_store_probes_as_far_as_the_radio_allows_now_and_then() -> None:
    # Krødsherad hears Sigdal only: the store that bridged it to the rest is gone.
    a = Node("KRO")
    far: list[int] = []
    for _ in range(24):  # two hours, Sigdal heard every five minutes
        a.hear(summary_of("SIG", {}, ("KRO",)))
        far += [tx.hop_limit for tx in a.run(300) if tx.frame[0] == SUMMARY and tx.hop_limit == CONFIG.max_hops]
    assert 2 <= len(far) <= 2 * 3600 / CONFIG.probe_missing_s  # found, and not on every summary

    # Someone else's probe counts as ours.
    b = Node("KRO")
    quiet: list[int] = []
    for _ in range(24):
        b.hear(summary_of("SIG", {}, ("KRO",)))
        b.hear(summary_of("SIG", {}, ("KRO",)), after=1.0, hops=0, hop_start=CONFIG.max_hops)  # Sigdal probes
        quiet += [tx.hop_limit for tx in b.run(300) if tx.frame[0] == SUMMARY and tx.hop_limit == CONFIG.max_hops]
    assert quiet == []


def test_a_node_that_sees_every_store_does_not_probe() -> None:
    a = Node("RIN")
    stores = [n for n in ROSTER.node_ids if n != "RIN"]
    far = []
    for _ in range(24):
        a.hear(summary_of("HOL", {}, tuple(stores)))
        far += [tx for tx in a.run(300) if tx.frame[0] == SUMMARY and tx.hop_limit == CONFIG.max_hops]
    assert far == []


def test_a_request_in_the_name_of_a_node_we_know_only_from_lists_is_not_answered() -> None:
    # Ringerike's list names Sigdal; Hole never heard Sigdal itself.  A forger asks
    # in Sigdal's name for what Hole holds.
    a = Node("HOL")
    a.hold(*HOL[:2])
    a.hear(summary_of("RIN", {"HOL": 2}, ("HOL", "SIG")))
    a.run(SETTLE_S)

    a.hear(Request(SIGNERS["SIG"].key_id, (Want("HOL", 1), Want("HOL", 2))).to_bytes(), after=1.0)

    assert data_frames(a.run(SETTLE_S)) == []


def test_an_item_asked_for_that_comes_void_leaves_no_timer_due_for_ever() -> None:
    # The simulator stalled: a re-ask timer for a message that then came signed with a
    # revoked key stayed due, and poll never moved it.
    a = Node("RIN")
    a.sync.roster = REVOKED
    a.hear(summary_of("SF", {"HOL": 1}, ("RIN",)))
    assert [w.seq for w in asked(a.run(SETTLE_S))] == [1]
    a.hear(HOL[0].wire)  # void: created after the revocation

    a.run(120.0)

    assert a.sync.next_deadline(a.now) > a.now


def test_answers_of_routine_wait_for_the_hills_share_only_while_a_nod_is_fresh() -> None:
    # Paced always, the one store between two hills fell an hour behind at 60 messages
    # an hour; never paced, a NØD under load waited behind the repairs of routine.
    a = Node("RIN")
    a.hear(summary_of("KRO", {}, ("RIN",)), hops=1, hop_start=1)  # over a hill
    tx = Transmission(b"x", 1, data_rank(Priority.RUTINE.rank))
    own = Queued(tx.rank, 0, ("msg", "RIN", 1), tx)
    answer = Queued(tx.rank, 1, ("msg", "HOL", 1), tx, Answer(a.now, tx, ("HOL", 1), {"KRO"}))
    assert a.sync._paced(own, a.now) and not a.sync._paced(answer, a.now)

    a.hear(signed("HOL", 9, "Dambrudd ved Vikerfoss. Evakuer nå.", priority=Priority.NOD).wire, hops=1, hop_start=1)
    assert a.sync._paced(answer, a.now)
    assert not a.sync._paced(answer, a.now + URGENT_HUSH_S)


def test_a_thiefs_flood_of_our_next_numbers_stays_the_thiefs_below_the_floor() -> None:
    hol = Node("HOL")
    for seq in range(1, 41):  # one at a time, each above the floor the last one raised
        assert hol.sync.receive(conflicting(seq, seq).wire, hol.now).rejected == "own_origin"
    assert hol.store.local_head("HOL") == 40
    assert hol.sync.receive(conflicting(3, 99).wire, hol.now).rejected == "own_origin"  # not our history
    assert not hol.store.wire_of("HOL", 3)


def test_a_number_one_path_skipped_for_a_thief_is_the_thiefs_on_the_other_path_too() -> None:
    radio = Node("HOL")
    ip = Node("HOL", seed=3, store=radio.store)  # the one store both paths' syncs share
    assert radio.sync.receive(conflicting(5, 1).wire, radio.now).rejected == "own_origin"  # skips 1-5
    assert ip.sync.receive(conflicting(3, 2).wire, radio.now).rejected == "own_origin"
    assert not radio.store.wire_of("HOL", 3)
