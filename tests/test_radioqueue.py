"""The firmware's transmit queue (relay.core.radioqueue): the model, the medium on it, and
real daemons on ``relay hw-sim`` through the unmodified meshtastic library.

The hw-sim tests run daemons for MOD and RIN on test_daemon's chain (SIG's radio
is on the air without one).  They jam one radio (a carrier only it hears, from the control socket) so
that what its daemon hands it waits in its queue, and fill that queue with relays of
packets nobody's client hears, as a busy neighbourhood's rebroadcasts would.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from relay.core.airtime import LONG_FAST, PRESETS
from relay.core.model import Priority
from relay.core.radioqueue import (
    CW_MAX,
    MAX_TX_QUEUE,
    PROCESSING_S,
    RELIABLE_TRIES,
    FirmwarePriority,
    RadioQueue,
    cw_size,
    fixed_priority,
    own_delay_s,
    priority_for_rank,
    relay_delay_s,
    retransmission_s,
    slot_time_s,
)
from relay.core.sync import RANK_CONTROL, data_rank
from relay.edge.outgoing import Outgoing, Refused
from relay.sim.medium import Medium, SendResult
from tests.test_daemon import CHAIN, _wait_for, hw_control, lab, send_sitrep

BG, DEFAULT, MAX = FirmwarePriority.BACKGROUND, FirmwarePriority.DEFAULT, FirmwarePriority.MAX


@dataclass
class P:
    name: str
    priority: int
    relayed: bool = False


def names(queue: RadioQueue[P]) -> list[str]:
    return [p.name for p in queue]


# --- the model ------------------------------------------------------------------------


def test_higher_priority_first_and_first_in_first_out_among_equals() -> None:
    queue: RadioQueue[P] = RadioQueue()
    for packet in (P("bg1", BG), P("def1", DEFAULT), P("max", MAX), P("bg2", BG), P("def2", DEFAULT)):
        assert queue.enqueue(packet) == (True, None)
    assert names(queue) == ["max", "def1", "def2", "bg1", "bg2"]
    assert queue.pop().name == "max" and queue.free == MAX_TX_QUEUE - 4


def test_at_equal_priority_a_relay_goes_before_our_own() -> None:
    queue: RadioQueue[P] = RadioQueue()
    queue.enqueue(P("own1", DEFAULT))
    queue.enqueue(P("own2", DEFAULT))
    queue.enqueue(P("relay1", DEFAULT, relayed=True))
    queue.enqueue(P("relay2", DEFAULT, relayed=True))
    queue.enqueue(P("high", FirmwarePriority.HIGH))
    assert names(queue) == ["high", "relay1", "relay2", "own1", "own2"]


def test_a_full_queue_evicts_the_last_lower_priority_packet_or_refuses() -> None:
    queue: RadioQueue[P] = RadioQueue()
    for i in range(MAX_TX_QUEUE - 1):
        queue.enqueue(P(f"relay{i}", DEFAULT, relayed=True))
    queue.enqueue(P("rutine", BG))
    assert queue.free == 0
    taken, evicted = queue.enqueue(P("control", FirmwarePriority.RESPONSE))
    assert taken and evicted is not None and evicted.name == "rutine"
    assert queue.enqueue(P("another rutine", BG)) == (False, None)  # nothing below it: refused
    assert queue.enqueue(P("another relay", DEFAULT, relayed=True)) == (False, None)  # equal is not lower
    taken, evicted = queue.enqueue(P("nød", MAX))
    assert taken and evicted is not None and evicted.name == f"relay{MAX_TX_QUEUE - 2}"
    assert names(queue)[:2] == ["nød", "control"] and len(queue) == MAX_TX_QUEUE


def test_rank_to_priority_nod_above_all_control_between_haster_and_data_rutine_lowest() -> None:
    ranks = [data_rank(p.rank) for p in Priority]
    nod, haster, prioritet, rutine = (priority_for_rank(r) for r in ranks)
    control = priority_for_rank(RANK_CONTROL)
    assert nod == FirmwarePriority.MAX > FirmwarePriority.ACK
    assert nod > haster > control > prioritet > rutine == FirmwarePriority.BACKGROUND
    assert prioritet == DEFAULT  # beside the relays, which go first at equal priority
    assert fixed_priority(0, want_ack=False) == DEFAULT and fixed_priority(0, want_ack=True) == 70
    assert fixed_priority(BG, want_ack=True) == BG


def test_slot_time_and_contention_windows_as_the_firmware_computes_them() -> None:
    assert slot_time_s(LONG_FAST) == 0.028  # 2.5 symbols of 8.192 ms + 7.6 ms, whole ms
    assert slot_time_s(PRESETS["SHORT_FAST"]) == 0.008
    assert [cw_size(snr) for snr in (-30, -20, -5, 7, 10, 20)] == [3, 3, 5, 7, 8, 8]
    rng = random.Random(1)
    slot = 0.028
    router = [relay_delay_s(rng, 10.0, True, slot) for _ in range(2000)]
    assert min(router) == 0 and max(router) == pytest.approx(15 * slot)  # random(0, 2*8) slots
    client = [relay_delay_s(rng, 10.0, False, slot) for _ in range(2000)]
    assert min(client) == pytest.approx(2 * CW_MAX * slot) and max(client) == pytest.approx((16 + 255) * slot)
    own_calm = [own_delay_s(rng, 5.0, slot) for _ in range(2000)]
    own_busy = [own_delay_s(rng, 100.0, slot) for _ in range(2000)]
    assert max(own_calm) == pytest.approx(7 * slot) and max(own_busy) == pytest.approx(255 * slot)


def test_the_transport_keeps_refused_frames_highest_priority_first_and_bounded() -> None:
    refused = Refused(limit=3)
    for name, priority in (("r1", BG), ("n", MAX), ("r2", BG)):
        assert refused.add(Outgoing(name.encode(), 0, priority)) is None
    assert refused.goes_before(MAX) and not refused.goes_before(FirmwarePriority.ACK + 10)
    dropped = refused.add(Outgoing(b"d", 0, DEFAULT))
    assert dropped is not None and dropped.frame == b"r2"  # the newest of the lowest goes
    assert [refused.pop().frame for _ in range(len(refused))] == [b"n", b"d", b"r1"]


# --- the medium on it -------------------------------------------------------------------


def star(router: bool) -> Medium:
    """A hill H heard by A and B, who do not hear each other."""
    links = {frozenset(("A", "H")): 0.0, frozenset(("B", "H")): 0.0}
    return Medium(["A", "B", "H"], links, LONG_FAST, random.Random(3), routers=["H"] if router else [])


def test_a_hill_relays_at_default_whatever_priority_the_sender_gave() -> None:
    medium = star(router=True)
    assert medium.send("A", b"n" * 50, 1, 0.0, MAX) is SendResult.QUEUED
    delivered = medium.advance(30.0)
    assert [(d.node, d.hops) for d in delivered] == [("B", 1)]  # a ROUTER hands its client nothing
    sent = {s.sender: s for s in medium.sent_log}
    assert sent["A"].priority == MAX and not sent["A"].relayed
    assert sent["H"].priority == DEFAULT and sent["H"].relayed
    assert sent["H"].start - (sent["A"].start + medium.airtime(b"n" * 50)) < 16 * medium.slot_s  # a ROUTER's window


def test_a_full_radio_queue_refuses_an_own_packet_and_a_higher_one_evicts() -> None:
    medium = star(router=True)
    medium.jam("A", 0.0, 100.0)
    assert medium.occupy("A", MAX_TX_QUEUE, 0.0) == MAX_TX_QUEUE
    assert medium.send("A", b"r" * 50, 0, 1.0, BG) is SendResult.QUEUE_FULL
    assert medium.send("A", b"n" * 50, 0, 1.0, MAX) is SendResult.QUEUED  # evicts a relay
    assert medium.radios["A"].evicted == 1 and medium.radios["A"].refused == 1
    medium.advance(200.0)
    order = [s.priority for s in medium.sent_log if s.sender == "A"]
    assert order == [MAX] + [DEFAULT] * (MAX_TX_QUEUE - 1)
    assert min(s.start for s in medium.sent_log) >= 100.0  # nothing went out while jammed


def test_channel_utilisation_counts_overlapping_transmissions_once() -> None:
    medium = star(router=False)  # A and B do not hear each other: both send at once, H hears both
    medium.send("A", b"a" * 100, 0, 0.0, BG)
    medium.send("B", b"b" * 100, 0, 0.0, BG)
    medium.advance(10.0)
    [a, b] = [s for s in medium.sent_log]
    union = max(a.start, b.start) + medium.airtime(b"a" * 100) - min(a.start, b.start)
    assert medium.radios["H"].utilization_percent(10.0) == pytest.approx(100 * union / 60)
    assert medium.radios["H"].utilization_percent(100.0) == 0.0  # a minute later: forgotten


def test_under_a_queue_of_routine_a_nod_goes_first() -> None:
    medium = star(router=True)
    medium.jam("A", 0.0, 50.0)
    for i in range(5):
        assert medium.send("A", bytes([i]) * 100, 0, float(i), BG) is SendResult.QUEUED
    medium.send("A", b"n" * 60, 0, 10.0, MAX)
    medium.advance(200.0)
    assert [s.priority for s in medium.sent_log if s.sender == "A"] == [MAX] + [BG] * 5


def test_a_want_ack_broadcast_goes_again_until_the_hill_is_heard_relaying_it() -> None:
    # Heard relayed: sent once.
    medium = star(router=True)
    medium.send("A", b"n" * 80, 1, 0.0, MAX, want_ack=True)
    medium.advance(120.0)
    assert [s.sender for s in medium.sent_log] == ["A", "H"] and medium.radios["A"].retransmissions == 0

    # Lost at the hill (B sends over it, hidden from A): A sends it again, and H relays
    # that copy; B, who got neither the first nor a relay, gets it once.
    medium = star(router=True)
    medium.send("B", b"b" * 200, 0, 0.0, BG)
    medium.send("A", b"n" * 80, 1, 0.0, MAX, want_ack=True)
    delivered = medium.advance(120.0)
    own = [s for s in medium.sent_log if s.sender == "A"]
    assert len(own) == 2 and medium.radios["A"].retransmissions == 1
    assert own[1].start - own[0].start >= 2 * medium.airtime(b"n" * 80) + PROCESSING_S
    assert [d.node for d in delivered if d.frame == b"n" * 80] == ["B"]

    # Nobody relays (no hill in range): RELIABLE_TRIES transmissions, then it gives up.
    medium = Medium(["A", "B"], {frozenset(("A", "B")): 0.0}, LONG_FAST, random.Random(3), mute=["B"])
    medium.send("A", b"n" * 80, 1, 0.0, MAX, want_ack=True)
    medium.advance(600.0)
    assert len([s for s in medium.sent_log if s.sender == "A"]) == RELIABLE_TRIES
    assert medium.radios["A"].unacked == {}


def test_the_retransmission_wait_follows_the_firmware() -> None:
    slot = slot_time_s(LONG_FAST)
    quiet = retransmission_s(1.0, 0.0, slot)
    assert quiet == pytest.approx(2.0 + (2**3 + 2**5) * slot + PROCESSING_S)  # about 7.6 s
    assert retransmission_s(1.0, 100.0, slot) == pytest.approx(2.0 + (2**8 + 2**5) * slot + PROCESSING_S)


# --- real daemons on hw-sim ---------------------------------------------------------------

SPEEDUP = 20.0
REFUSED = "the radio's transmit queue was full: it refused"
AGAIN = "sending again a"


def test_hw_sim_a_full_radio_queue_refuses_and_the_daemon_sends_the_frame_again(tmp_path: Path) -> None:
    """The queue is filled with relayed routing ACKs (priority 120, which nothing of relay's
    but a NØD may evict), so whichever frame MOD hands over next is refused: the SITREP, or a
    summary (after which the radio says it has no room and the daemon waits)."""
    with lab(tmp_path, speedup=SPEEDUP, scenario=CHAIN) as the_lab:
        the_lab.start("MOD")
        the_lab.start("RIN")
        the_lab.connected("MOD", "RIN")
        _wait_for(lambda: "of RIN (" in the_lab.log("MOD"), 30, "MOD to hear RIN")  # else it keeps news to itself
        assert hw_control(the_lab, "jam MOD 3000")["ok"]  # until "jam MOD 0": the queue stays full
        assert hw_control(the_lab, f"fill MOD 16 {FirmwarePriority.ACK}")["free"] == 0
        sent = send_sitrep(the_lab.homes["MOD"], "Strømbrudd i Vikersund.", Priority.RUTINE)
        seq = sent.message.seq
        _wait_for(lambda: REFUSED in the_lab.log("MOD"), 30, "the refusal in MOD's journal")
        assert not the_lab.held("RIN", "MOD", seq)
        assert hw_control(the_lab, "jam MOD 0")["ok"]
        held = _wait_for(lambda: the_lab.held("RIN", "MOD", seq), 30, f"MOD-{seq:04d} at RIN")
        assert [h.message for h in held] == [sent.message]  # nothing lost
        _wait_for(lambda: the_lab.log("MOD").count(AGAIN) >= the_lab.log("MOD").count(REFUSED), 30, "all sent again")
        on_air = hw_control(the_lab, "sent MOD")["sent"]
        log = the_lab.log("MOD")
    refused = [(int(n), int(p)) for n, p in re.findall(rf"{REFUSED} a (\d+)-byte frame \(priority (\d+)\)", log)]
    assert refused and log.count(AGAIN) == len(refused)
    # Each frame the radio refused went on the air later, as it was (the sync's repair sends bundles):
    own = [(s["length"], s["priority"]) for s in on_air if not s["relayed"]]
    assert all(frame in own for frame in refused), (refused, own)
    assert log.count(f"sent MOD-{seq:04d} SITREP RUTINE (") == 1  # the daemon handed the SITREP over once


def test_hw_sim_under_a_routine_burst_a_nod_leaves_the_radio_first(tmp_path: Path) -> None:
    with lab(tmp_path, speedup=SPEEDUP, scenario=CHAIN) as the_lab:
        the_lab.start("MOD")
        the_lab.start("RIN")
        the_lab.connected("MOD", "RIN")
        _wait_for(lambda: "of RIN (" in the_lab.log("MOD"), 30, "MOD to hear RIN")  # else it keeps news to itself
        assert hw_control(the_lab, "jam MOD 3000")["ok"]  # until "jam MOD 0"
        home = the_lab.homes["MOD"]
        for i in range(6):
            send_sitrep(home, f"Rutinemelding {i}: vannverket går normalt, aggregat i beredskap.", Priority.RUTINE)

        def routine_waiting() -> bool:
            return hw_control(the_lab, "sent MOD")["waiting"].count(BG) >= 2

        _wait_for(routine_waiting, 30, "RUTINE frames waiting in MOD's radio")
        nod = send_sitrep(home, "Dambrudd ved Vikerfoss. Evakuer nedstrøms nå.", Priority.NOD)
        _wait_for(lambda: MAX in hw_control(the_lab, "sent MOD")["waiting"], 30, "the NØD in MOD's radio")
        waiting = hw_control(the_lab, "sent MOD")["waiting"]
        assert waiting[0] == MAX and waiting.count(BG) >= 2  # at the front, ahead of the RUTINE
        assert hw_control(the_lab, "jam MOD 0")["ok"]
        _wait_for(lambda: the_lab.held("RIN", "MOD", nod.message.seq), 30, "the NØD at RIN")

        def routine_out() -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
            """The NØD's first transmission and the RUTINE queued before it, once they are all out."""
            sent = hw_control(the_lab, "sent MOD")["sent"]
            nods = [s for s in sent if s["priority"] == MAX]  # a NØD may go twice: the first
            nod_tx = min(nods, key=lambda s: s["start"]) if nods else None
            before = [s for s in sent if nod_tx and s["priority"] == BG and s["queued"] <= nod_tx["queued"]]
            return (nod_tx, before) if nod_tx and len(before) >= waiting.count(BG) else None

        nod_tx, routine_before = _wait_for(routine_out, 30, "the RUTINE queued before the NØD on the air")
    assert all(s["start"] > nod_tx["start"] for s in routine_before)
