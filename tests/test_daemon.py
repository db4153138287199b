"""The radio daemon, its transport and ``relay status``.

Unit tests run the daemon loop against a fake transport on a fake clock: the
clock moves only when the loop waits for the radio, so nothing sleeps.  The
fake is both of the daemon's clocks: a monotonic one counting from "boot", and
a wall clock at an offset from it that a test can step, as NTP does.  The
integration tests at the end run real daemons in their own processes against
``relay hw-sim`` (the loopback Meshtastic devices) on the wall clock.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from relay import daemon as daemon_mod
from relay.cli.main import cli
from relay.core import frames, wire
from relay.core.airtime import LONG_FAST, PRESETS, packet_airtime
from relay.core.compose import compose
from relay.core.model import Kind, Message, Priority
from relay.core.roster import Revocation, Roster, RosterEntry
from relay.core.signing import Signer
from relay.core.sync.freshness import clock_seconds
from relay.daemon import STATUS_KEY, Daemon
from relay.edge import dictionaries
from relay.edge.home import Home, NodeConfig
from relay.edge.outgoing import Outgoing
from relay.edge.radio import MeshtasticTransport, RadioUrl, parse_url
from relay.edge.store import Store
from relay.edge.transport import Heard
from relay.errors import ConfigError
from tests.helpers import AUTHORITY, SIGNERS, STRANGER, build_roster
from tests.test_board import board
from tests.test_board import get as board_get

ROSTER = build_roster()
SHORT_FAST = PRESETS["SHORT_FAST"]
EPOCH = datetime(2026, 5, 29, 12, 0, tzinfo=UTC).timestamp()
BOOT = 1_000.0  # the monotonic clock counts from boot: its readings are no dates
REPO = Path(__file__).resolve().parents[1]


# --- a fake radio on a fake clock ---------------------------------------------------------


class FakeClock:
    """``now`` (call it) is the monotonic clock; ``wall()`` reads ``wall`` when ``now`` reads ``now``."""

    def __init__(self, now: float = BOOT, wall: float = EPOCH) -> None:
        self.now = now
        self.offset = wall - now

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + self.offset

    def step_wall(self, seconds: float) -> None:
        """The system clock is set ``seconds`` later (earlier when negative); monotonic time goes on."""
        self.offset += seconds


class FakeTransport:
    """Frames in through ``inbox`` (``hear``), out into ``sent``; waiting for a frame moves the clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.inbox: deque[Heard] = deque()
        self.sent: list[tuple[float, bytes, int]] = []
        self.priorities: list[int] = []
        self.connected = True
        self.accepting = True
        self.link_detail: str | None = None
        self.modem = LONG_FAST
        self.closed = False
        self.waits = 0
        self.on_wait: Callable[[], None] | None = None

    def send(self, frame: bytes, hop_limit: int, priority: int = 64, want_ack: bool = False) -> bool:
        if not (self.connected and self.accepting):
            return False
        self.sent.append((self.clock.now, frame, hop_limit))
        self.priorities.append(priority)
        return True

    def hear(self, *frames: bytes, hops: int = 0, hop_start: int | None = None) -> None:
        """Frames the radio heard, over ``hops`` repeaters (sent with hop limit ``hop_start``, default ``hops``)."""
        start = hops if hop_start is None else hop_start
        self.inbox.extend(Heard(frame, hops, start) for frame in frames)

    def receive(self, timeout: float) -> Heard | None:
        if self.inbox:
            return self.inbox.popleft()
        if timeout > 0:
            self.waits += 1
            self.clock.now += timeout
            if self.on_wait is not None:
                self.on_wait()
        return None

    def close(self) -> None:
        self.closed = True

    def frames_sent(self) -> list[bytes]:
        return [frame for _, frame, _ in self.sent]


def make_daemon(tmp_path: Path, node: str = "MOD", seed: int = 1) -> tuple[Daemon, FakeTransport, FakeClock]:
    clock = FakeClock()
    transport = FakeTransport(clock)
    store = Store(tmp_path / f"{node}.db", dictionaries.available())
    d = Daemon(
        node,
        SIGNERS[node],
        store,
        ROSTER,
        transport,
        url="tcp://fake:4403",
        clock=clock,
        wall=clock.wall,
        rng=random.Random(seed),
    )
    return d, transport, clock


def run_for(d: Daemon, clock: FakeClock, seconds: float, max_steps: int = 100_000) -> None:
    """Step the loop until ``seconds`` of fake time have passed (bounded: a stall fails the test)."""
    end = clock.now + seconds
    for _ in range(max_steps):
        if clock.now >= end:
            return
        d.step()
    raise AssertionError(f"the loop stalled at {clock.now - BOOT:.3f} s")


def message(
    origin: str, seq: int, text: str = "Strømbrudd i sentrum.", priority: Priority = Priority.RUTINE
) -> wire.SignedMessage:
    created = datetime.fromtimestamp(EPOCH, UTC)
    msg = compose(Kind.SITREP, origin, seq, created, text=text, priority=priority)
    return wire.encode(msg, SIGNERS[origin], dictionaries.current())


def long_message(origin: str, seq: int, packets: int = 3, priority: Priority = Priority.RUTINE) -> wire.SignedMessage:
    """A message of at least ``packets`` fragments: reference codes barely compress."""
    rng = random.Random(seq)
    words = " ".join("".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(6)) for _ in range(200))
    for n in range(20, 200, 10):
        m = message(origin, seq, words[: n * 7], priority)
        if frames.packets_for(len(m.wire)) >= packets:
            return m
    raise AssertionError("no text long enough")


def commit(store: Store, signed: wire.SignedMessage) -> None:
    """What the CLI does: the next number, signed, committed locally."""
    origin = signed.message.origin
    store.commit_local(origin, lambda seq: signed, datetime.fromtimestamp(EPOCH, UTC))


# --- the loop ------------------------------------------------------------------------------


SUMMARY_COUNT = itertools.count(1)  # a node numbers its summaries upward: each one new


def summary_of(node: str, heads: tuple[tuple[str, int], ...] = (), clock: int | None = None) -> bytes:
    """``node``'s signed summary; its clock agrees with ours (at the tests' epoch) unless given."""
    clock = clock_seconds(EPOCH) if clock is None else clock
    summary = frames.Summary(SIGNERS[node].key_id, ROSTER.version, heads, counter=next(SUMMARY_COUNT), clock=clock)
    return summary.signed(SIGNERS[node].sign)


def test_a_committed_message_goes_out_and_frames_heard_are_stored(tmp_path: Path) -> None:
    d, radio, clock = make_daemon(tmp_path)
    radio.hear(summary_of("RIN"))  # a neighbour heard directly
    run_for(d, clock, 0.5)
    mine = message("MOD", 1, priority=Priority.HASTER)
    commit(d.store, mine)
    d.sync.local_message()  # committed on the daemon's own connection: data_version does not tell it
    run_for(d, clock, 2.0)
    assert mine.wire in radio.frames_sent()
    assert [hop for _, frame, hop in radio.sent if frame == mine.wire] == [0]  # the stores relay, not the firmware
    theirs = message("HOL", 1)
    radio.hear(theirs.wire)
    run_for(d, clock, 1.0)
    assert [s.message for s in d.store.get("HOL", 1)] == [theirs.message]
    assert "HOL" not in d.heard  # a message proves its origin wrote it, not that it is on the air
    assert d.heard["RIN"] | {"at": None} == {"at": None, "via": "summary", "hops": 0}
    assert d.sync.stats.stored == 1


def test_only_a_signed_summary_makes_a_node_heard_never_a_request_or_a_bundle_in_its_name(tmp_path: Path) -> None:
    # Issue 22: one forged 8-byte request naming SIG, which never ran, made MOD's status
    # say "SIG heard 3.3 s ago"; bundles naming SIG with a replayed message kept it so.
    d, radio, clock = make_daemon(tmp_path)
    radio.hear(summary_of("RIN"))
    run_for(d, clock, 0.5)
    mine = message("MOD", 1)
    commit(d.store, mine)
    d.sync.local_message()
    run_for(d, clock, 2.0)
    sig = SIGNERS["SIG"].key_id
    for _ in range(5):
        radio.hear(frames.Request(sig, (frames.Want("RIN", 7),)).to_bytes())
        radio.hear(frames.Bundle(sig, (mine.wire,)).to_bytes())
        run_for(d, clock, 1.0)
    assert "SIG" not in d.heard
    assert d.sync.peers.hops_to("SIG", clock.now) is None
    radio.hear(summary_of("SIG"))
    run_for(d, clock, 0.5)
    assert d.heard["SIG"]["via"] == "summary"


def test_a_node_heard_only_over_a_repeater_gets_our_messages_over_it(tmp_path: Path) -> None:
    d, radio, clock = make_daemon(tmp_path)
    radio.hear(summary_of("HOL"), hops=1, hop_start=1)  # HOL behind the hill: its summary came over the repeater
    run_for(d, clock, 0.5)
    assert d.sync.peers.hops_to("HOL", clock.now) == 1
    assert d.heard["HOL"] == {"at": pytest.approx(clock.now, abs=1.0), "via": "summary", "hops": 1}
    mine = message("MOD", 1, priority=Priority.HASTER)
    commit(d.store, mine)
    d.sync.local_message()  # committed on the daemon's own connection: data_version does not tell it
    run_for(d, clock, 2.0)
    assert [hop for _, frame, hop in radio.sent if frame == mine.wire] == [1]  # just far enough to cross the hill


def test_our_own_frame_repeated_by_a_hill_is_ignored_quietly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    d, radio, clock = make_daemon(tmp_path)
    caplog.set_level(logging.DEBUG, "relay.daemon")
    radio.hear(summary_of("MOD"), hops=1, hop_start=2)
    run_for(d, clock, 0.5)
    assert d.heard == {} and not d.sync.stats.rejected
    assert "heard our own SUMMARY of MOD back via 1 repeater" in caplog.text
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_message_under_our_own_origin_that_we_never_sent_raises_the_alarm(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d, radio, clock = make_daemon(tmp_path)
    caplog.set_level(logging.INFO, "relay.daemon")
    forged = message("MOD", 2**32 - 1)  # our key, in someone else's hands

    radio.hear(forged.wire, forged.wire)  # heard twice: one alarm in the log
    run_for(d, clock, 1.0)

    assert d.store.wire_of("MOD", 2**32 - 1) == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        "ALARM own_origin: MOD-4294967295 SITREP RUTINE, signed with our own key but never sent by us; refused"
    ]
    assert [a["code"] for a in d.snapshot(clock.now)["alarms"]] == ["own_origin"]
    # ...and our own counter did not move: the next message is MOD-0001.
    assert d.store.local_head("MOD") == 0


def revocation_message(node: str, seq: int, revoked: datetime, signer: Signer = AUTHORITY) -> wire.SignedMessage:
    """SF carries the authority's notice that ``node``'s key is revoked at ``revoked``."""
    notice = Revocation.issue(SIGNERS[node].public_key, revoked, None, signer).to_bytes()
    msg = Message.create(
        kind=Kind.ROSTER,
        origin="SF",
        seq=seq,
        created=datetime.fromtimestamp(EPOCH, UTC),
        priority=Priority.HASTER,
        fields={"notice": notice, "node": node, "reason": "Pi stjålet."},
    )
    return wire.encode(msg, SIGNERS["SF"], dictionaries.current())


def daemon_with_roster_file(tmp_path: Path) -> tuple[Daemon, FakeTransport, FakeClock, Path]:
    clock = FakeClock()
    transport = FakeTransport(clock)
    roster_file = tmp_path / "roster.json"
    roster_file.write_text(ROSTER.to_json(), encoding="utf-8")
    store = Store(tmp_path / "MOD.db", dictionaries.available())
    d = Daemon("MOD", SIGNERS["MOD"], store, ROSTER, transport, clock=clock, wall=clock.wall, roster_file=roster_file)
    return d, transport, clock, roster_file


def test_a_revocation_heard_over_the_air_voids_the_thiefs_messages_and_is_written_to_the_roster(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d, radio, clock, roster_file = daemon_with_roster_file(tmp_path)
    caplog.set_level(logging.INFO, "relay.daemon")
    before = datetime.fromtimestamp(EPOCH, UTC) - timedelta(minutes=10)
    genuine = wire.encode(
        compose(Kind.MELDING, "HOL", 1, before, text="Alt rolig."), SIGNERS["HOL"], dictionaries.current()
    )
    thief = message("HOL", 2, "Evakuer rådhuset nå.")
    radio.hear(genuine.wire, thief.wire)
    run_for(d, clock, 1.0)
    assert [s.id for s in d.store.log()] == ["HOL-0001", "HOL-0002"]

    # The authority revoked Hole's key a minute before the thief's message: SF brings it.
    stolen_at = datetime.fromtimestamp(EPOCH, UTC) - timedelta(minutes=1)
    forged = revocation_message("RIN", 1, stolen_at, signer=SIGNERS["HOL"])  # not the authority's signature
    radio.hear(forged.wire, revocation_message("HOL", 2, stolen_at).wire)
    run_for(d, clock, 1.0)

    assert d.store.wire_of("SF", 1) == []  # the forged revocation is refused, never relayed
    assert [s.id for s in d.store.log()] == ["HOL-0001", "SF-0002"]  # HOL-0001 was before: kept, marked
    assert [q.origin + str(q.seq) for q in d.store.quarantined()] == ["HOL2"]
    assert d.roster.active("HOL") is None and d.roster.active("RIN") is not None
    on_disk = Roster.from_json(roster_file.read_text(encoding="utf-8"), AUTHORITY.public_key)
    assert (on_disk.version, on_disk.active("HOL")) == (ROSTER.version, None)  # the same version, plus the notice
    assert "revocation: HOL-0002 taken out of the store (signed with a revoked key); never served" in caplog.text
    assert [a["code"] for a in d.snapshot(clock.now)["alarms"]] == ["quarantined_revoked"]

    radio.hear(message("HOL", 3, "Ny ordre.").wire)  # the thief carries on
    run_for(d, clock, 1.0)
    assert d.store.wire_of("HOL", 3) == []
    assert d.sync.stats.rejected["revoked"] == 1


def test_a_roster_imported_while_the_daemon_runs_is_taken_up(tmp_path: Path) -> None:
    d, radio, clock, roster_file = daemon_with_roster_file(tmp_path)
    radio.hear(message("HOL", 1).wire)
    run_for(d, clock, 1.0)
    newer = ROSTER.with_revoked("HOL", AUTHORITY, datetime.fromtimestamp(EPOCH, UTC) - timedelta(hours=1))
    roster_file.write_text(newer.to_json(), encoding="utf-8")  # «relay roster import» on the CLI

    run_for(d, clock, 2.0)

    assert d.roster.version == newer.version
    assert d.store.wire_of("HOL", 1) == []  # created after the revocation: void


def test_a_damaged_row_in_the_outbox_is_quarantined_at_start_not_fatal(tmp_path: Path) -> None:
    store = Store(tmp_path / "MOD.db", dictionaries.available())
    commit(store, message("MOD", 1, priority=Priority.NOD))
    store.close()
    conn = sqlite3.connect(tmp_path / "MOD.db")
    (data,) = conn.execute("SELECT wire FROM messages").fetchone()
    conn.execute("UPDATE messages SET wire=?", (data[:3] + b"\xff" + data[4:],))  # one byte of the header
    conn.commit()
    conn.close()

    d, radio, clock = make_daemon(tmp_path)  # used to crash-loop here, on every restart
    run_for(d, clock, 30.0)

    assert d.store.log() == [] and [q.reason for q in d.store.quarantined()] == ["damaged"]
    assert [a["code"] for a in d.snapshot(clock.now)["alarms"]] == ["quarantined_damaged"]
    assert radio.frames_sent()  # still on the air: summaries go out


def test_a_message_the_cli_commits_while_the_daemon_runs_is_sent_within_a_second(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d, radio, clock = make_daemon(tmp_path)
    run_for(d, clock, 30.0)
    cli_store = Store(tmp_path / "MOD.db", dictionaries.available())  # another connection, as the CLI has
    signed = message("MOD", 1, priority=Priority.NOD)
    caplog.set_level(logging.INFO, "relay.daemon")
    committed_at = clock.now
    commit(cli_store, signed)
    cli_store.close()
    run_for(d, clock, 3.0)
    sent_at = [t for t, frame, _ in radio.sent if frame == signed.wire]
    assert sent_at and sent_at[0] - committed_at <= daemon_mod.OUTBOX_POLL_S + daemon_mod.MAX_WAIT_S
    assert "queued MOD-0001 SITREP NØD for sending (" in caplog.text
    assert d.store.pending() == []


def test_frames_go_out_one_airtime_apart_and_nod_overtakes_a_routine_backlog(tmp_path: Path) -> None:
    d, radio, clock = make_daemon(tmp_path)
    routine = long_message("MOD", 1, packets=4)
    commit(d.store, routine)
    run_for(d, clock, 0.1)
    commit(d.store, message("MOD", 2, "Brann i rådhuset.", Priority.NOD))
    d.sync.local_message()
    run_for(d, clock, 30.0)
    data = [(t, f) for t, f, _ in radio.sent if f[0] != frames.SUMMARY]
    kinds = ["nød" if frames.is_message_frame(f) else "fragment" for _, f in data]
    assert kinds[0] == "fragment" and "nød" in kinds[1:3]  # overtakes the fragments still queued
    for (t1, f1), (t2, _) in itertools.pairwise(data):
        assert t2 - t1 >= packet_airtime(len(f1), LONG_FAST)  # the radio is never handed a second frame early


def test_the_airtime_follows_the_modem_the_radio_reports(tmp_path: Path) -> None:
    d, radio, _ = make_daemon(tmp_path)
    assert d.airtime(100) == packet_airtime(100, LONG_FAST)
    radio.modem = SHORT_FAST
    assert d.airtime(100) == packet_airtime(100, SHORT_FAST)
    d.time_scale = 20.0
    assert d.airtime(100) == pytest.approx(packet_airtime(100, SHORT_FAST) / 20)


def test_nothing_is_taken_from_the_sync_while_the_link_is_down(tmp_path: Path) -> None:
    d, radio, clock = make_daemon(tmp_path)
    radio.connected = False
    radio.link_detail = "ConnectionRefusedError"
    commit(d.store, message("MOD", 1))
    run_for(d, clock, 120.0)
    assert radio.sent == []
    assert d.store.pending() != []  # still in the outbox: nothing was lost to a dead link
    assert radio.waits <= 120.0 / daemon_mod.MAX_WAIT_S + 5  # waiting, not spinning
    assert d.snapshot(clock.now)["link"]["state"] == "down"
    radio.connected, radio.link_detail = True, None
    run_for(d, clock, 2.0)
    assert message("MOD", 1).wire in radio.frames_sent()


def test_a_frame_the_radio_refuses_is_kept_and_sent_first_later(tmp_path: Path) -> None:
    d, radio, clock = make_daemon(tmp_path)
    radio.accepting = False  # e.g. paused after a DUTY_CYCLE_LIMIT NAK
    signed = message("MOD", 1, priority=Priority.HASTER)
    commit(d.store, signed)
    run_for(d, clock, 60.0)
    assert radio.sent == []
    assert d.queue_by_priority()["HASTER"] == 1
    radio.accepting = True
    run_for(d, clock, 1.0)
    assert radio.frames_sent()[0] == signed.wire


def test_a_rejected_frame_is_counted_and_logged_once_with_its_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d, radio, clock = make_daemon(tmp_path)
    body = wire.encode_body(
        compose(Kind.MELDING, "HOL", 9, datetime.fromtimestamp(EPOCH, UTC), text="Evakuer."),
        SIGNERS["HOL"].key_id,
        dictionaries.current(),
    )
    forged = body + STRANGER.sign(b"relay/msg/1\x00" + body)
    caplog.set_level(logging.INFO, "relay.daemon")
    radio.hear(forged, forged, forged)  # heard again (a neighbour rebroadcast it)
    run_for(d, clock, 1.0)
    lines = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert lines == [f"rejected a {len(forged)}-byte frame: bad_signature"]
    assert d.sync.stats.rejected["bad_signature"] == 3
    assert d.store.get("HOL", 9) == []
    d.write_status(clock.now)
    snapshot = json.loads(d.store.get_state(STATUS_KEY) or "{}")
    assert snapshot["stats"]["rejected"] == {"bad_signature": 3}
    assert "HOL" not in d.heard  # a forgery does not count as hearing HOL


def test_two_different_messages_with_one_id_are_stored_and_flagged_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d, radio, clock = make_daemon(tmp_path)
    caplog.set_level(logging.INFO, "relay.daemon")
    radio.hear(message("HOL", 1, "Første versjon.").wire, message("HOL", 1, "Fra en gammel backup.").wire)
    run_for(d, clock, 1.0)
    assert len(d.store.get("HOL", 1)) == 2
    assert "conflict: a second, different HOL-0001 was signed by its origin; both are kept" in caplog.text


def test_garbage_and_truncated_frames_neither_crash_nor_stall_the_loop(tmp_path: Path) -> None:
    d, radio, clock = make_daemon(tmp_path)
    rng = random.Random(7)
    good = long_message("HOL", 1, packets=3)
    pieces = frames.split(good.wire, SIGNERS["HOL"].key_id, 1)
    junk = [bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 240))) for _ in range(300)]
    junk += [p[:cut] for p in pieces for cut in range(0, len(p), 7)]  # truncated fragments
    junk += [good.wire[:cut] for cut in range(0, len(good.wire), 11)]  # truncated messages
    junk += [
        bytes([t]) + bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 30))) for t in range(16) for _ in range(5)
    ]
    rng.shuffle(junk)
    radio.hear(*junk)
    run_for(d, clock, 5.0)
    assert not radio.inbox  # every frame was taken
    assert sum(d.sync.stats.rejected.values()) > 0
    radio.hear(*pieces)  # the loop still works: the real thing arrives and is stored
    run_for(d, clock, 5.0)
    assert [s.message for s in d.store.get("HOL", 1)] == [good.message]


def test_stop_ends_the_loop_after_the_current_step_and_leaves_a_stopped_snapshot(tmp_path: Path) -> None:
    d, radio, clock = make_daemon(tmp_path)
    radio.on_wait = lambda: d.stop("SIGTERM") if clock.now - BOOT > 5 else None
    d.run()  # returns: the stop request was honoured
    d.shutdown()
    assert radio.closed
    snapshot = json.loads(d.store.get_state(STATUS_KEY) or "{}")
    assert snapshot["stopped"] == "SIGTERM" and snapshot["link"]["state"] == "stopped"
    assert 5 < clock.now - BOOT < 6


def test_the_snapshot_says_what_status_needs(tmp_path: Path) -> None:
    d, radio, clock = make_daemon(tmp_path)
    commit(d.store, long_message("MOD", 1, packets=3, priority=Priority.PRIORITET))
    run_for(d, clock, 0.01)
    peer = summary_of("RIN", (("MOD", 0),))
    radio.hear(peer)
    run_for(d, clock, 0.5)
    snap = d.snapshot(clock.now)
    assert snap["pid"] == os.getpid() and snap["node"] == "MOD" and snap["at"] == clock.wall()
    assert snap["link"] | {"since": None} == {
        "state": "connected",
        "url": "tcp://fake:4403",
        "detail": None,
        "since": None,
        "modem": "LONG_FAST",
    }
    assert snap["heard"]["RIN"] == {"at": pytest.approx(clock.wall(), abs=0.5), "via": "summary", "hops": 0}
    assert snap["queue"]["PRIORITET"] >= 1 and snap["queue"]["NØD"] == 0
    assert 0 < snap["airtime"]["used_s"] < snap["airtime"]["limit_s"] == 324.0
    run_for(d, clock, daemon_mod.STATUS_INTERVAL_S + 1)
    written = json.loads(d.store.get_state(STATUS_KEY) or "{}")
    assert clock.wall() - written["at"] <= daemon_mod.STATUS_INTERVAL_S


def test_a_restarted_daemon_remembers_who_it_heard(tmp_path: Path) -> None:
    d, radio, clock = make_daemon(tmp_path)
    radio.hear(summary_of("RIN"), hops=2, hop_start=3)
    run_for(d, clock, 1.0)
    d.stop()
    d.shutdown()
    heard_at = json.loads(d.store.get_state(STATUS_KEY) or "{}")["heard"]["RIN"]["at"]
    rebooted = FakeClock(now=30.0, wall=clock.wall() + 60)  # the monotonic clock starts over
    again = Daemon("MOD", SIGNERS["MOD"], d.store, ROSTER, FakeTransport(rebooted), clock=rebooted, wall=rebooted.wall)
    assert (again.heard["RIN"]["via"], again.heard["RIN"]["hops"]) == ("summary", 2)
    assert again.snapshot(rebooted.now)["heard"]["RIN"]["at"] == pytest.approx(heard_at, abs=1e-3)  # the same date


def test_two_daemons_on_a_fake_air_converge(tmp_path: Path) -> None:
    clock = FakeClock()
    nodes = {}
    for i, node in enumerate(("MOD", "RIN")):
        store = Store(tmp_path / f"{node}.db", dictionaries.available())
        transport = FakeTransport(clock)
        nodes[node] = (
            Daemon(node, SIGNERS[node], store, ROSTER, transport, clock=clock, wall=clock.wall, rng=random.Random(i)),
            transport,
        )
    commit(nodes["MOD"][0].store, long_message("MOD", 1, packets=2))
    for _ in range(2000):
        for node, (d, radio) in nodes.items():
            d.step()
            for _, frame, _ in radio.sent:
                for other, (_, other_radio) in nodes.items():
                    if other != node:
                        other_radio.hear(frame)
            radio.sent.clear()
        if nodes["RIN"][0].store.get("MOD", 1):
            break
    assert nodes["RIN"][0].store.digest() == nodes["MOD"][0].store.digest()


# --- a step of the system clock --------------------------------------------------------------

HOUR = 3600.0
STEPPED_AT = 600.0  # the daemon has run ten minutes when the system clock is set


def commit_from_the_cli(path: Path, clock: FakeClock, seq: int = 1) -> wire.SignedMessage:
    """A NØD the way ``relay send`` commits it: on its own connection, dated by the wall clock."""
    created = datetime.fromtimestamp(clock.wall(), UTC)
    msg = compose(Kind.SITREP, "MOD", seq, created, text="Brann i rådhuset.", priority=Priority.NOD)
    signed = wire.encode(msg, SIGNERS["MOD"], dictionaries.current())
    cli_store = Store(path / "MOD.db", dictionaries.available())
    try:
        return cli_store.commit_local("MOD", lambda _: signed, created)
    finally:
        cli_store.close()


def run_with_a_clock_step(
    path: Path, step: float
) -> tuple[Daemon, FakeTransport, FakeClock, wire.SignedMessage, float]:
    """HOL heard behind the hill; ten minutes in, the wall clock is set ``step`` s later
    (earlier when negative) and a NØD is committed right after; then forty minutes more.
    The daemon, its radio, the clock, the NØD and when (monotonic) it was committed."""
    path.mkdir()
    d, radio, clock = make_daemon(path)
    radio.hear(summary_of("HOL"), hops=1, hop_start=1)
    run_for(d, clock, STEPPED_AT)
    clock.step_wall(step)
    committed_at = clock.now
    nod = commit_from_the_cli(path, clock)
    run_for(d, clock, 40 * 60.0)
    return d, radio, clock, nod, committed_at


def unstamped(frame: bytes) -> object:
    """A frame as compared across clocks: a summary without its counter (and signature)."""
    if frame[:1] != bytes([frames.SUMMARY]):
        return frame
    parsed = frames.Summary.from_bytes(frame)
    return (parsed.key_id, parsed.heads, parsed.extras, parsed.neighbours, parsed.hops)


@pytest.mark.parametrize("step", [-HOUR, HOUR], ids=["back", "forward"])
def test_a_step_of_the_system_clock_changes_nothing_on_the_air(tmp_path: Path, step: float) -> None:
    d, radio, clock, nod, committed_at = run_with_a_clock_step(tmp_path / "stepped", step)
    nod_at = [t for t, frame, _ in radio.sent if frame == nod.wire]
    assert nod_at and nod_at[0] - committed_at <= daemon_mod.OUTBOX_POLL_S + daemon_mod.MAX_WAIT_S  # at once
    summaries = [t for t, frame, _ in radio.sent if frame[0] == frames.SUMMARY]
    assert [t for t in summaries if t > nod_at[0]]  # they go on after the step...
    gaps = [b - a for a, b in itertools.pairwise([BOOT, *summaries, clock.now])]
    # ...on their schedule: never a silence longer than Trickle's (one moment late in an
    # interval, the next early in the next one: up to one and a half of its longest)
    assert max(gaps) <= 1.5 * d.sync.config.summary_max_s
    _, steady, _, steady_nod, _ = run_with_a_clock_step(tmp_path / "steady", 0.0)

    def air(sent: list[tuple[float, bytes, int]], nod: wire.SignedMessage) -> list[tuple[float, object, int]]:
        # The NØD is dated, and a summary's counter follows the clock (never below its
        # seconds): both differ, and nothing else may.
        return [(t, unstamped(frame.replace(nod.wire, b"<the NOD>")), hops) for t, frame, hops in sent]

    assert air(radio.sent, nod) == air(steady.sent, steady_nod)  # the same frames, moments and hop limits


@pytest.mark.parametrize("step", [-HOUR, HOUR], ids=["back", "forward"])
def test_after_a_step_of_the_system_clock_dates_follow_it(
    tmp_path: Path, step: float, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "relay.daemon")
    d, radio, clock = make_daemon(tmp_path)
    radio.hear(summary_of("HOL"), hops=1, hop_start=1)
    run_for(d, clock, STEPPED_AT)
    heard_at = d.heard["HOL"]["at"]
    clock.step_wall(step)
    stepped_at, wall = clock.now, clock.wall()
    commit_from_the_cli(tmp_path, clock)
    run_for(d, clock, 2.0)
    direction = "back" if step < 0 else "forward"
    assert f"the system clock stepped {direction} by 3600.0 s; timers are not affected, dates follow it" in caplog.text
    snap = json.loads(d.store.get_state(STATUS_KEY) or "{}")  # written at once: the step makes it due
    assert wall <= snap["at"] <= clock.wall()
    assert snap["started"] == pytest.approx(EPOCH + step, abs=1e-3)  # the start, on the clock as it now reads
    assert snap["heard"]["HOL"]["at"] == pytest.approx(wall - (stepped_at - heard_at), abs=1e-3)  # 10 min ago
    transmitted = d.store.get("MOD", 1)[0].transmitted_at
    assert transmitted is not None and transmitted.timestamp() == pytest.approx(wall, abs=2.0)
    receipt = summary_of("HOL", (("HOL", 1), ("MOD", 1)))
    radio.hear(message("HOL", 1).wire, receipt, hops=1, hop_start=1)
    run_for(d, clock, 1.0)
    assert d.store.get("HOL", 1)[0].received_at.timestamp() == pytest.approx(clock.wall(), abs=1.5)
    assert [(r.node, r.at.timestamp()) for r in d.store.receipts("MOD", 1)] == [
        ("HOL", pytest.approx(clock.wall(), abs=1.5))
    ]
    assert d.snapshot(clock.now)["at"] == clock.wall()


# --- serve(): the real entry point, with the radio faked ------------------------------------


def make_homes(base: Path, nodes: tuple[str, ...] = ("MOD", "RIN", "SIG"), radio: str | None = None) -> dict[str, Home]:
    now = datetime.now(UTC)
    authority = Signer.generate()
    roster = Roster.create("Testregionen", authority, now)
    homes = {}
    for node in nodes:
        home = Home.init(base / node, node, f"{node} kommune", radio=radio)
        homes[node] = home
        entry = RosterEntry(node, f"{node} kommune", "kommune", home.signer().public_key, now)
        roster = roster.with_entry(entry, authority, now)
    for home in homes.values():
        home.import_roster(roster.to_json())
    return homes


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = make_homes(tmp_path, ("MOD", "RIN"))["MOD"]
    clock = FakeClock(time.time())
    fake = FakeTransport(clock)
    fake.on_wait = lambda: os.kill(os.getpid(), signal.SIGTERM) if fake.waits == 3 else None
    monkeypatch.setattr("relay.edge.radio.MeshtasticTransport", lambda url, channel, **kw: _Started(fake))
    before = signal.getsignal(signal.SIGTERM)
    stream = _Capture()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setenv("RELAY_LANG", "nb")  # the journal in the node's language
    assert daemon_mod.serve(home, "tcp://127.0.0.1:1") == 0
    assert fake.closed
    assert signal.getsignal(signal.SIGTERM) is before
    text = stream.getvalue()
    assert (
        "<6>relay[MOD]: startet: node MOD, radio tcp://127.0.0.1:1, IP ingen, roster v3 (2 noder),"
        " 0 meldinger i lageret\n" in text
    )
    assert text.endswith("<6>relay[MOD]: stoppet (SIGTERM)\n")
    store = home.store()
    assert json.loads(store.get_state(STATUS_KEY) or "{}")["stopped"] == "SIGTERM"
    store.close()


def test_the_hop_settings_of_relay_toml_reach_the_sync() -> None:
    unset = daemon_mod.node_sync_config(NodeConfig("MOD", "Modum"))
    assert (unset.flood_hops, unset.routine_hops, unset.repair_hops, unset.max_hops) == (None, None, None, 3)
    fixed = daemon_mod.node_sync_config(NodeConfig("MOD", "Modum", relay_hops=2, routine_hops=0, max_hops=2))
    assert (fixed.flood_hops, fixed.routine_hops, fixed.max_hops) == (2, 0, 2)
    assert daemon_mod.scaled_config(20.0, fixed).max_hops == 2  # scaling touches the timers only


class _Started:
    """A FakeTransport with the start() of the real one."""

    def __init__(self, fake: FakeTransport) -> None:
        self._fake = fake

    def start(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fake, name)


class _Capture:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def getvalue(self) -> str:
        return "".join(self.parts)


def test_serve_exits_nonzero_after_a_fatal_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = make_homes(tmp_path, ("MOD", "RIN"))["MOD"]
    fake = FakeTransport(FakeClock(time.time()))
    fake.hear(message("MOD", 1).wire)

    def disk_error(self: Daemon, path: object, heard: Heard, now: float) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr("relay.edge.radio.MeshtasticTransport", lambda url, channel, **kw: _Started(fake))
    monkeypatch.setattr(Daemon, "_on_frame", disk_error)
    stream = _Capture()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setenv("RELAY_LANG", "en")
    assert daemon_mod.serve(home, "tcp://127.0.0.1:1") == 1  # non-zero: systemd restarts the unit
    assert "<2>relay[MOD]: fatal: OperationalError: disk I/O error\n" in stream.getvalue()
    assert fake.closed


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ("no-radio", "Feil: ingen radio oppgitt: bruk --radio serial:///dev/ttyACM0 eller tcp://HOST:4403"),
        ("no-roster", "Feil: noden har ikke noe roster: importer det med «relay roster import FIL»"),
        ("bad-url", "Feil: ugyldig radioadresse 'http://x': bruk serial:///dev/ttyACM0 eller tcp://HOST:4403"),
        ("no-home", "Feil: fant ingen node i"),
    ],
)
def test_the_daemon_refuses_to_start_without_what_it_needs(tmp_path: Path, setup: str, error: str) -> None:
    if setup == "no-roster":
        Home.init(tmp_path / "MOD", "MOD", "Modum", radio="tcp://127.0.0.1:4403")
    elif setup != "no-home":
        make_homes(tmp_path, ("MOD", "RIN"))
    args = ["--lang", "nb", "--home", str(tmp_path / "MOD"), "daemon"] + (
        ["--radio", "http://x"] if setup == "bad-url" else []
    )
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.output.startswith(error)


def test_the_daemon_refuses_a_roster_without_its_key(tmp_path: Path) -> None:
    homes = make_homes(tmp_path, ("MOD", "RIN"))
    other = Home.init(tmp_path / "MOD2", "MOD", "Modum igjen")
    other.import_roster(homes["MOD"].roster_path.read_text())
    with pytest.raises(ConfigError, match="har ikke nøkkelen til MOD"):
        daemon_mod.serve(other, "tcp://127.0.0.1:1")


def test_log_lines_carry_sd_daemon_priorities() -> None:
    stream = _Capture()
    handler = daemon_mod.JournalHandler("MOD", stream)  # type: ignore[arg-type]
    for name, level, text in [
        ("relay.daemon", logging.INFO, "stored HOL-0003 SITREP from the air"),
        ("relay.radio", logging.WARNING, "radio link lost"),
        ("meshtastic.stdout", logging.ERROR, "two\nlines"),
        ("relay.daemon", logging.DEBUG, "sent SUMMARY of MOD (8 B, hop limit 0)"),
        ("relay.daemon", logging.CRITICAL, "fatal"),
    ]:
        handler.emit(logging.LogRecord(name, level, __file__, 1, text, None, None))
    assert stream.getvalue().splitlines() == [
        "<6>relay[MOD]: stored HOL-0003 SITREP from the air",
        "<4>relay[MOD]: radio link lost",
        "<3>relay[MOD]: meshtastic: two",
        "<3>relay[MOD]: meshtastic: lines",
        "<7>relay[MOD]: sent SUMMARY of MOD (8 B, hop limit 0)",
        "<2>relay[MOD]: fatal",
    ]


def test_the_library_prints_become_log_lines() -> None:
    stream = _Capture()
    with daemon_mod.journal("MOD", stream=stream):  # type: ignore[arg-type]
        print("No Serial Meshtastic device detected", end="")
        print(", attempting TCP connection on localhost.")
        print("Traceback (most recent call last):", file=sys.stderr)
    assert stream.getvalue().splitlines() == [
        "<4>relay[MOD]: meshtastic: No Serial Meshtastic device detected, attempting TCP connection on localhost.",
        "<3>relay[MOD]: meshtastic: Traceback (most recent call last):",
    ]


# --- the transport, without a device ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("serial:///dev/ttyACM0", RadioUrl("serial", "/dev/ttyACM0")),
        ("/dev/serial/by-id/usb-RAK_4631-if00", RadioUrl("serial", "/dev/serial/by-id/usb-RAK_4631-if00")),
        ("serial:///dev/pts/3", RadioUrl("serial", "/dev/pts/3")),
        ("tcp://10.0.0.5:4403", RadioUrl("tcp", "10.0.0.5", 4403)),
        ("tcp://radio.local", RadioUrl("tcp", "radio.local", 4403)),
        ("tcp://[::1]:4404", RadioUrl("tcp", "::1", 4404)),
    ],
)
def test_radio_urls(text: str, url: RadioUrl) -> None:
    assert parse_url(text) == url
    assert parse_url(str(url)) == url


@pytest.mark.parametrize(
    "text", ["", "ttyACM0", "serial://ttyACM0", "tcp://", "tcp://h:99999", "udp://h:1", "tcp://h/x"]
)
def test_bad_radio_urls(text: str) -> None:
    with pytest.raises(ConfigError, match="ugyldig radioadresse"):
        parse_url(text)


class _Info:
    my_node_num = 0x1234


class _FakeIface:
    myInfo = _Info()


def _transport() -> tuple[MeshtasticTransport, _FakeIface]:
    transport = MeshtasticTransport(parse_url("tcp://127.0.0.1:1"))
    iface = _FakeIface()
    transport._iface = iface
    return transport, iface


def test_the_transport_takes_private_app_payloads_of_its_own_interface_only() -> None:
    transport, iface = _transport()
    packet = {"from": 0x9999, "decoded": {"portnum": "PRIVATE_APP", "payload": b"\x02abc"}}
    transport._on_receive(packet, iface)
    transport._on_receive(packet, _FakeIface())  # another interface in this process
    transport._on_receive({"from": 0x1234, "decoded": {"portnum": "PRIVATE_APP", "payload": b"mine"}}, iface)
    transport._on_receive({"from": 0x9999, "decoded": {"portnum": "TEXT_MESSAGE_APP", "payload": b"hei"}}, iface)
    transport._on_receive({"from": 0x9999, "encrypted": "AAAA"}, iface)  # not our channel key
    transport._on_receive({"from": 0x9999, "decoded": "garbage"}, iface)
    assert transport.receive(0) == Heard(b"\x02abc")
    assert transport.receive(0) is None


def test_the_transport_says_how_far_a_frame_came() -> None:
    transport, iface = _transport()
    packet = {"from": 0x9999, "decoded": {"portnum": "PRIVATE_APP", "payload": b"\x02abc"}}
    for fields in (
        {"hopStart": 3, "hopLimit": 2, "relayNode": 0x2A},  # one repeater, 0x..2a
        {"hopStart": 2, "relayNode": 0x2A},  # hop limit used up: MessageToDict leaves the 0 out
        {"hopStart": 3, "hopLimit": 3, "relayNode": 0x99},  # heard from its sender
        {"hopLimit": 3},  # firmware before 2.3 sends no hopStart: taken as heard directly
        {"hopStart": 1, "hopLimit": 3},  # nonsense from the air: never negative
    ):
        transport._on_receive(packet | fields, iface)
    assert [transport.receive(0) for _ in range(5)] == [
        Heard(b"\x02abc", hops=1, hop_start=3, relay_node=0x2A),
        Heard(b"\x02abc", hops=2, hop_start=2, relay_node=0x2A),
        Heard(b"\x02abc", hops=0, hop_start=3, relay_node=0x99),
        Heard(b"\x02abc"),
        Heard(b"\x02abc", hops=0, hop_start=1),
    ]


def test_a_duty_cycle_nak_pauses_sending_and_too_large_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    transport, iface = _transport()
    transport._sent.update({i: Outgoing(bytes(n), 0, 64) for i, n in ((1, 200), (2, 231), (3, 50))})
    transport._on_receive(
        {"from": 0x1234, "decoded": {"portnum": "ROUTING_APP", "requestId": 3, "routing": {"errorReason": "NONE"}}},
        iface,
    )
    assert transport._paused_until == 0.0
    transport._on_receive(
        {
            "from": 0x1234,
            "decoded": {"portnum": "ROUTING_APP", "requestId": 1, "routing": {"errorReason": "DUTY_CYCLE_LIMIT"}},
        },
        iface,
    )
    assert transport._paused_until > time.monotonic() + 20
    transport._on_receive(
        {
            "from": 0x1234,
            "decoded": {"portnum": "ROUTING_APP", "requestId": 2, "routing": {"errorReason": "TOO_LARGE"}},
        },
        iface,
    )
    assert "radio refused a 200-byte packet: duty cycle limit; pausing sending for 30 s" in caplog.text
    assert "radio refused a 231-byte packet as too large; dropped" in caplog.text


def test_the_firmware_says_when_sending_may_resume() -> None:
    transport, iface = _transport()

    class Note:
        message = "Duty cycle limit exceeded. You can send again in 7 mins"

    transport._on_notification(Note(), iface)
    assert 6.9 * 60 < transport._paused_until - time.monotonic() <= 7 * 60


def test_the_transport_refuses_oversized_frames_and_sends_nothing_while_down() -> None:
    transport = MeshtasticTransport(parse_url("tcp://127.0.0.1:1"))
    assert not transport.send(bytes(232), 0)
    assert not transport.send(b"\x02", 0)
    assert not transport.connected


def test_modem_settings_from_the_device_config() -> None:
    from meshtastic.protobuf import config_pb2

    from relay.edge.radio import modem_of

    lora = config_pb2.Config.LoRaConfig
    assert modem_of(lora(use_preset=True, modem_preset=lora.ModemPreset.MEDIUM_FAST)).name == "MEDIUM_FAST"
    assert modem_of(lora(use_preset=True, modem_preset=lora.ModemPreset.LONG_SLOW)).spreading_factor == 12
    custom = modem_of(lora(use_preset=False, bandwidth=62, spread_factor=10, coding_rate=5))
    assert custom is not None and custom.bandwidth_hz == 62_500 and custom.spreading_factor == 10
    assert modem_of(lora(use_preset=False)) is None


# --- relay status -------------------------------------------------------------------------------


NOW = datetime(2026, 5, 29, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def status_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    homes = make_homes(tmp_path, ("MOD", "RIN", "SIG"), radio="tcp://10.0.0.5:4403")
    monkeypatch.setattr("relay.daemon.clock_synchronised", lambda: False)
    monkeypatch.setattr(time, "time", lambda: NOW)
    monkeypatch.setattr("relay.cli.context.LOCAL_TZ", None)
    return homes["MOD"]


def status(home: Home, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--lang", "nb", "--home", str(home.path), "status", *args])


def test_status_without_a_daemon(status_home: Home) -> None:
    result = status(status_home)
    assert result.exit_code == 0
    assert result.output == (
        "Status for MOD (MOD kommune)\n"
        "ADVARSEL: daemon kjører ikke: ingen statusrapport fra daemon i lageret\n"
        "ADVARSEL: systemklokka er ikke synkronisert: tidsstempler kan være feil\n"
        "Daemon:    kjører ikke\n"
        "Radio:     ukjent tilstand (daemon kjører ikke), tcp://10.0.0.5:4403\n"
        "Klokke:    IKKE synkronisert\n"
        "\n"
        "Sist hørt:\n"
        "  RIN  RIN kommune  aldri\n"
        "  SIG  SIG kommune  aldri\n"
        "\n"
        "Sendt herfra:\n"
        "  (ingen meldinger sendt fra denne noden)\n"
    )


def _write_snapshot(home: Home, at: float, **changes: Any) -> dict[str, Any]:
    snap: dict[str, Any] = {
        "format": 1,
        "node": "MOD",
        "pid": os.getpid(),
        "at": at,
        "started": at - 3600,
        "stopped": None,
        "link": {
            "state": "connected",
            "url": "tcp://10.0.0.5:4403",
            "detail": None,
            "since": at - 3500,
            "modem": "LONG_FAST",
        },
        "heard": {
            "RIN": {"at": at - 40, "via": "summary", "hops": 1},
            "SIG": {"at": at - 6, "via": "message", "hops": 0},
        },
        "queue": {"NØD": 0, "HASTER": 1, "KONTROLL": 2, "PRIORITET": 0, "RUTINE": 3},
        "airtime": {"used_s": 12.25, "limit_s": 324.0, "reserve_s": 81.0, "window_s": 3600.0, "time_scale": 1.0},
        "stats": {
            "frames_heard": 10,
            "frames_sent": 4,
            "stored": 2,
            "duplicates_ignored": 1,
            "conflicts": 0,
            "rejected": {},
            "airtime_s": 12.25,
        },
    }
    snap.update(changes)
    store = home.store()
    store.set_state(STATUS_KEY, json.dumps(snap))
    store.close()
    return snap


def test_status_and_send_say_when_the_region_shows_our_clock_is_wrong(status_home: Home) -> None:
    # The daemon learnt from three peers' signed summaries that our clock is 40 days behind.
    _write_snapshot(status_home, NOW - 4, clock={"skew_s": -40 * 86400.0, "peers": 3})
    said = "KLOKKA: klokka her går 40 døgn etter regionens (3 node(r) sier det): meldinger herfra får feil tid"
    assert said in status(status_home).output
    report = json.loads(status(status_home, "--json").output)
    assert report["clock_skew"] == {"skew_s": -40 * 86400.0, "peers": 3}
    assert "clock_skew" in [w["code"] for w in report["warnings"]]

    result = CliRunner().invoke(
        cli, ["--lang", "nb", "--home", str(status_home.path), "send", "MELDING", "--text", "Vann.", "--yes"]
    )
    assert result.exit_code == 0, result.output
    assert said in result.output  # before it signs, where the operator looks
    store = status_home.store()
    try:
        assert store.get("MOD", 1)[0].message.clock_synced is False  # receivers show its time as unsure
    finally:
        store.close()


def test_a_daemon_learns_its_clock_is_wrong_from_its_peers(tmp_path: Path) -> None:
    d, radio, clock = make_daemon(tmp_path)
    ahead = clock_seconds(EPOCH) + 40 * 86400  # every peer's clock says 40 days later than ours
    for node in ("RIN", "HOL", "SIG"):
        radio.hear(summary_of(node, clock=ahead))
    run_for(d, clock, 1.0)
    assert d.snapshot(clock.now)["clock"] == {"skew_s": pytest.approx(-40 * 86400.0, abs=5.0), "peers": 3}


def _send_from(home: Home, seq_text: str, transmitted: bool, holders: tuple[str, ...]) -> None:
    store = home.store()
    signer = home.signer()
    created = datetime.fromtimestamp(NOW - 600, UTC)

    def build(seq: int) -> wire.SignedMessage:
        msg = compose(Kind.SITREP, "MOD", seq, created, text=seq_text, priority=Priority.HASTER)
        return wire.encode(msg, signer, dictionaries.current())

    signed = store.commit_local("MOD", build, created)
    if transmitted:
        store.mark_transmitted("MOD", signed.message.seq, created + timedelta(seconds=1))
    for node in holders:
        store.add_receipts(
            "MOD", signed.message.seq, signed.message.seq, node, "MOTTATT", created + timedelta(minutes=1)
        )
    store.close()


def test_status_with_a_running_daemon(status_home: Home) -> None:
    _write_snapshot(status_home, NOW - 4)
    _send_from(status_home, "Strømmen er tilbake i sentrum.", transmitted=True, holders=("RIN",))
    _send_from(status_home, "Vannverket går på aggregat.", transmitted=False, holders=())
    result = status(status_home)
    assert result.exit_code == 0
    assert result.output == (
        "Status for MOD (MOD kommune)\n"
        "ADVARSEL: systemklokka er ikke synkronisert: tidsstempler kan være feil\n"
        f"Daemon:    kjører (pid {os.getpid()}), status 11:59:56 UTC\n"
        "Radio:     tilkoblet, tcp://10.0.0.5:4403 (LONG_FAST)\n"
        "Klokke:    IKKE synkronisert\n"
        "Sendetid:  12,2 s av 324 s siste time (3,8 %)\n"
        "Sendekø:   NØD 0 · HASTER 1 · KONTROLL 2 · PRIORITET 0 · RUTINE 3\n"
        "Utboks:    MOD-0002 (ikke gitt til radioen ennå)\n"
        "\n"
        "Sist hørt:\n"
        "  RIN  RIN kommune  11:59:16 UTC (for 44 s siden, oppsummering, via 1 repeater)\n"
        "  SIG  SIG kommune  11:59:50 UTC (for 10 s siden, melding, direkte)\n"
        "\n"
        "Sendt herfra:\n"
        "  MOD-0002  SITREP       HASTER    11:50:00 UTC  ikke sendt ennå\n"
        "  MOD-0001  SITREP       HASTER    11:50:00 UTC  mottatt av 1 av 2\n"
        "      RIN  mottatt 11:51:00 UTC\n"
        "      SIG  ikke bekreftet ennå (sist hørt 11:59:50 UTC)\n"
    )
    _write_snapshot(status_home, NOW - 4, heard={"RIN": {"at": NOW - 44, "via": "summary"}})  # before hop counts
    assert "  RIN  RIN kommune  11:59:16 UTC (for 44 s siden, oppsummering)\n" in status(status_home).output


def test_status_warns_when_the_snapshot_is_old_or_the_daemon_stopped(status_home: Home) -> None:
    _write_snapshot(status_home, NOW - 61)
    assert "ADVARSEL: daemon kjører ikke: siste statusrapport er 61 s gammel\n" in status(status_home).output
    _write_snapshot(status_home, NOW - 300, stopped="SIGTERM")
    assert "ADVARSEL: daemon kjører ikke: stoppet for 5 min siden\n" in status(status_home).output
    _write_snapshot(status_home, NOW - 5, pid=2**22 + 12345)  # fresh, but that process is gone (kill -9)
    output = status(status_home).output
    assert "ADVARSEL: daemon kjører ikke: prosessen som skrev siste statusrapport finnes ikke lenger\n" in output
    _write_snapshot(
        status_home,
        NOW - 5,
        link={
            "state": "down",
            "url": "serial:///dev/ttyACM0",
            "detail": "FileNotFoundError: /dev/ttyACM0",
            "since": NOW - 100,
            "modem": None,
        },
    )
    output = status(status_home).output
    assert "ADVARSEL: radioen er ikke tilkoblet: FileNotFoundError: /dev/ttyACM0\n" in output
    assert "Radio:     frakoblet, serial:///dev/ttyACM0: FileNotFoundError: /dev/ttyACM0\n" in output


def test_status_json(status_home: Home) -> None:
    _write_snapshot(status_home, NOW - 4)
    _send_from(status_home, "Strømmen er tilbake i sentrum.", transmitted=True, holders=("RIN", "SIG"))
    result = status(status_home, "--json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["daemon"] == {
        "running": True,
        "pid": os.getpid(),
        "snapshot_at": "2026-05-29T11:59:56+00:00",
        "snapshot_age_s": 4.0,
        "started": "2026-05-29T10:59:56+00:00",
        "stopped": None,
    }
    assert doc["radio"]["state"] == "connected" and doc["clock_synchronised"] is False
    assert doc["heard"] == [
        {
            "node": "RIN",
            "name": "RIN kommune",
            "at": "2026-05-29T11:59:16+00:00",
            "ago_s": 44.0,
            "via": "summary",
            "hops": 1,
        },
        {
            "node": "SIG",
            "name": "SIG kommune",
            "at": "2026-05-29T11:59:50+00:00",
            "ago_s": 10.0,
            "via": "message",
            "hops": 0,
        },
    ]
    assert doc["sent"][0]["id"] == "MOD-0001" and doc["sent"][0]["held_by"] == ["RIN", "SIG"]
    assert doc["sent"][0]["missing"] == []
    assert [w["code"] for w in doc["warnings"]] == ["clock_not_synchronised"]
    assert doc["airtime"]["used_s"] == 12.25


def test_status_never_imports_meshtastic(tmp_path: Path) -> None:
    home = make_homes(tmp_path, ("MOD", "RIN"))["MOD"]
    code = (
        "import sys\n"
        "from relay.cli.main import cli\n"
        "try:\n"
        f"    cli(['--home', {str(home.path)!r}, 'status', '--json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'meshtastic' not in sys.modules, 'status imported meshtastic'\n"
        "assert 'relay.edge.radio' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, capture_output=True, timeout=60)


def test_clock_synchronisation_is_asked_of_timedatectl(tmp_path: Path) -> None:
    class Result:
        def __init__(self, out: str, code: int = 0) -> None:
            self.stdout, self.returncode = out, code

    assert daemon_mod.clock_synchronised(lambda *a, **k: Result("yes\n")) is True
    assert daemon_mod.clock_synchronised(lambda *a, **k: Result("no\n")) is False

    def missing(*args: object, **kwargs: object) -> Result:
        raise FileNotFoundError("timedatectl")

    expected = (
        True
        if Path("/run/systemd/timesync/synchronized").exists()
        else False
        if Path("/run/systemd/timesync").is_dir()
        else None
    )
    assert daemon_mod.clock_synchronised(missing) is expected


# --- integration: real daemons, the library, and relay hw-sim --------------------------------------

CHAIN = """
[mesh]
preset = "LONG_FAST"
seed = 3
hop_limit = 3
duty_cycle = 0.10
duration = "1h"

[[node]]
id = "MOD"
name = "Modum kommune"

[[node]]
id = "RIN"
name = "Ringerike kommune"

[[node]]
id = "SIG"
name = "Sigdal kommune"

[[link]]
a = "MOD"
b = "RIN"
loss = 0.0

[[link]]
a = "RIN"
b = "SIG"
loss = 0.0
"""


def _wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.02) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Lab:
    """``relay hw-sim`` and one daemon process per store node, each with its own home."""

    def __init__(self, base: Path, speedup: float, pty: bool, scenario: str = CHAIN) -> None:
        self.base = base
        self.speedup = speedup
        nodes = tomllib.loads(scenario)["node"]
        self.radios = sum(1 for n in nodes if n.get("radio", True))
        self.homes = make_homes(base / "homes", tuple(n["id"] for n in nodes if not n.get("radio_only")))
        (base / "scenario.toml").write_text(scenario)
        self.control = base / "hwsim.sock"
        self.sim_out = (base / "hwsim.out").open("w+")
        args = ["hw-sim", "--scenario", str(base / "scenario.toml"), "--speedup", str(speedup)]
        args += ["--control", str(self.control)] + (["--pty"] if pty else [])
        self.sim_err = base / "hwsim.err"
        with self.sim_err.open("wb") as err:
            self.sim = subprocess.Popen(
                [sys.executable, "-m", "relay", *args], cwd=REPO, stdout=self.sim_out, stderr=err
            )
        self.endpoints: dict[str, dict[str, Any]] = {}
        try:
            _wait_for(self._read_endpoints, 60, "hw-sim endpoints")
        except AssertionError as e:  # say why: a crashed simulator's traceback, or what it printed so far
            self.sim.kill()
            raise AssertionError(
                f"{e}; hw-sim exit {self.sim.wait()}, printed {self.endpoints}, "
                f"stderr: {self.sim_err.read_text(errors='replace')[-2000:]}"
            ) from None
        self.daemons: dict[str, subprocess.Popen[bytes]] = {}

    def _read_endpoints(self) -> bool:
        if self.sim.poll() is not None:
            raise AssertionError("hw-sim exited before it printed its endpoints")
        self.sim_out.seek(0)
        for line in self.sim_out.read().splitlines(keepends=True):
            if not line.endswith("\n"):
                break  # a line still being written
            entry = json.loads(line)
            self.endpoints[entry["node"]] = entry
        return len(self.endpoints) == self.radios

    def url(self, node: str, pty: bool = False) -> str:
        entry = self.endpoints[node]
        return f"serial://{entry['pty']}" if pty else f"tcp://{entry['tcp']}"

    def start(self, node: str, pty: bool = False, *extra: str) -> subprocess.Popen[bytes]:
        """``relay daemon`` for ``node`` on its simulated radio (``extra``: more options, such
        as ``--broker URL``; a node without a device gets ``--radio none``)."""
        log = (self.base / f"{node}.log").open("ab")
        radio = self.url(node, pty) if node in self.endpoints else "none"
        args = ["--home", str(self.homes[node].path), "daemon", "--radio", radio, *extra]
        args += ["--time-scale", str(self.speedup), "--verbose"]
        env = {**os.environ, "RELAY_LANG": "en"}  # the journal in English, which the tests read
        proc = subprocess.Popen([sys.executable, "-m", "relay", *args], cwd=REPO, stdout=log, stderr=log, env=env)
        self.daemons[node] = proc
        return proc

    def log(self, node: str) -> str:
        return (self.base / f"{node}.log").read_text(errors="replace")

    def connected(self, *nodes: str) -> None:
        for node in nodes:
            _wait_for(lambda n=node: "radio connected" in self.log(n), 30, f"{node} to connect")

    def held(self, node: str, origin: str, seq: int) -> list[Any]:
        store = self.homes[node].store()
        try:
            return store.get(origin, seq)
        finally:
            store.close()

    def stop(self) -> None:
        for proc in self.daemons.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.daemons.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.sim.send_signal(signal.SIGTERM)
        try:
            self.sim.wait(10)
        except subprocess.TimeoutExpired:
            self.sim.kill()
            self.sim.wait()
        self.sim_out.close()


@contextmanager
def lab(tmp_path: Path, speedup: float = 20.0, pty: bool = False, scenario: str = CHAIN) -> Iterator[Lab]:
    the_lab = Lab(tmp_path, speedup, pty, scenario)
    try:
        yield the_lab
    finally:
        the_lab.stop()


def send_sitrep(home: Home, text: str, priority: Priority = Priority.HASTER) -> wire.SignedMessage:
    """Commit a SITREP the way the CLI does: a store connection of its own, Store.commit_local."""
    store = home.store()
    signer = home.signer()
    now = datetime.now(UTC)

    def build(seq: int) -> wire.SignedMessage:
        msg = compose(Kind.SITREP, home.config().node_id, seq, now, text=text, priority=priority)
        return wire.encode(msg, signer, dictionaries.current())

    try:
        return store.commit_local(home.config().node_id, build, now)
    finally:
        store.close()


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_a_sitrep_from_mod_reaches_sig_two_hops_away_over_tcp(tmp_path: Path) -> None:
    with lab(tmp_path, speedup=20) as the_lab:
        for node in ("MOD", "RIN", "SIG"):
            the_lab.start(node)
        the_lab.connected("MOD", "RIN", "SIG")
        committed = time.monotonic()
        sent = send_sitrep(the_lab.homes["MOD"], "Strømbrudd i hele Vikersund. Aggregat på rådhuset.")
        seq = sent.message.seq
        for node in ("RIN", "SIG"):
            held = _wait_for(lambda n=node: the_lab.held(n, "MOD", seq), 30, f"MOD-{seq:04d} at {node}")
            assert [h.message for h in held] == [sent.message]  # verified: only verified messages enter
            print(f"\ncommit -> held at {node}: {time.monotonic() - committed:.2f} s (speedup and time scale 20)")
        for node, proc in the_lab.daemons.items():
            print(f"{node}: RSS {_rss_kb(proc.pid)} kB")
        assert "<6>relay[RIN]: stored MOD-0001 SITREP HASTER from the air" in the_lab.log("RIN")
        daemons = dict(the_lab.daemons)
    for node, proc in daemons.items():
        assert proc.returncode == 0, the_lab.log(node)  # SIGTERM: a clean stop
        assert the_lab.log(node).endswith(f"<6>relay[{node}]: stopped (SIGTERM)\n")


def test_a_daemon_on_a_serial_pty_takes_part(tmp_path: Path) -> None:
    with lab(tmp_path, speedup=20, pty=True) as the_lab:
        the_lab.start("MOD", pty=True)
        the_lab.start("RIN", pty=True)
        the_lab.start("SIG")
        the_lab.connected("MOD", "RIN", "SIG")
        assert "radio connected: serial:///dev/" in the_lab.log("MOD")
        sent = send_sitrep(the_lab.homes["MOD"], "Vannverket går på aggregat.")
        _wait_for(lambda: the_lab.held("SIG", "MOD", sent.message.seq), 30, "the SITREP at SIG")
        sig_sent = send_sitrep(the_lab.homes["SIG"], "Fylkesvei 280 stengt ved Eggedal.")
        _wait_for(lambda: the_lab.held("MOD", "SIG", sig_sent.message.seq), 30, "SIG's SITREP at MOD")


def test_a_daemon_killed_mid_transfer_finishes_the_message_after_a_restart(tmp_path: Path) -> None:
    with lab(tmp_path, speedup=4) as the_lab:
        for node in ("MOD", "RIN", "SIG"):
            the_lab.start(node)
        the_lab.connected("MOD", "RIN", "SIG")
        signer = the_lab.homes["MOD"].signer()
        text = long_message("MOD", 1, packets=4).message.main_text
        store = the_lab.homes["MOD"].store()
        now = datetime.now(UTC)
        sent = store.commit_local(
            "MOD",
            lambda seq: wire.encode(compose(Kind.SITREP, "MOD", seq, now, text=text), signer, dictionaries.current()),
            now,
        )
        store.close()
        count = frames.packets_for(len(sent.wire))
        assert count >= 4
        _wait_for(lambda: f"sent fragment 1/{count} of MOD-0001" in the_lab.log("MOD"), 30, "the first fragment")
        the_lab.daemons["MOD"].send_signal(signal.SIGKILL)
        the_lab.daemons["MOD"].wait()
        time.sleep(0.5)  # what was on the air lands
        assert the_lab.held("RIN", "MOD", 1) == []  # mid-transfer indeed
        the_lab.start("MOD")
        for node in ("RIN", "SIG"):
            _wait_for(lambda n=node: the_lab.held(n, "MOD", 1), 60, f"MOD-0001 at {node}")
        for node in ("MOD", "RIN", "SIG"):
            held = the_lab.held(node, "MOD", 1)
            assert len(held) == 1 and held[0].wire == sent.wire  # one copy, no conflict, no duplicate


def test_a_daemon_reconnects_after_the_device_is_unplugged(tmp_path: Path) -> None:
    with lab(tmp_path, speedup=20) as the_lab:
        for node in ("MOD", "RIN"):
            the_lab.start(node)
        the_lab.connected("MOD", "RIN")
        hw_control(the_lab, "unplug MOD")
        _wait_for(lambda: "radio link lost" in the_lab.log("MOD"), 20, "MOD to notice the lost link")
        sent = send_sitrep(the_lab.homes["MOD"], "Sendt mens radioen var frakoblet.")
        time.sleep(1.5)
        assert the_lab.held("RIN", "MOD", sent.message.seq) == []
        hw_control(the_lab, "replug MOD")
        _wait_for(lambda: the_lab.log("MOD").count("radio connected") >= 2, 90, "MOD to reconnect")
        _wait_for(lambda: the_lab.held("RIN", "MOD", sent.message.seq), 30, "the SITREP at RIN")
        assert the_lab.daemons["MOD"].poll() is None


def test_a_device_unplugged_for_a_minute_catches_up_both_ways(tmp_path: Path) -> None:
    """The issue's case as written: 60 s of wall-clock time without the radio, traffic on both sides."""
    with lab(tmp_path, speedup=20) as the_lab:
        for node in ("MOD", "RIN"):
            the_lab.start(node)
        the_lab.connected("MOD", "RIN")
        hw_control(the_lab, "unplug MOD")
        _wait_for(lambda: "radio link lost" in the_lab.log("MOD"), 20, "MOD to notice the lost link")
        from_mod = send_sitrep(the_lab.homes["MOD"], "Skrevet i Modum mens radioen var frakoblet.")
        from_rin = send_sitrep(the_lab.homes["RIN"], "Skrevet på Ringerike mens Modum var borte.")
        time.sleep(60.0)  # the unplugged minute itself, not a wait for an event
        assert the_lab.held("RIN", "MOD", from_mod.message.seq) == []
        hw_control(the_lab, "replug MOD")
        _wait_for(lambda: the_lab.log("MOD").count("radio connected") >= 2, 90, "MOD to reconnect")
        _wait_for(lambda: the_lab.held("RIN", "MOD", from_mod.message.seq), 60, "Modum's SITREP at RIN")
        _wait_for(lambda: the_lab.held("MOD", "RIN", from_rin.message.seq), 60, "Ringerike's SITREP at MOD")
        for node, origin, sent in (("RIN", "MOD", from_mod), ("MOD", "RIN", from_rin)):
            held = the_lab.held(node, origin, sent.message.seq)
            assert len(held) == 1 and held[0].wire == sent.wire  # nothing lost, nothing twice
        assert the_lab.daemons["MOD"].poll() is None


@pytest.mark.parametrize("pty", [False, True], ids=["tcp", "pty"])
def test_garbage_on_the_stream_neither_crashes_nor_stalls_the_daemon(tmp_path: Path, pty: bool) -> None:
    """Log text, a stray start byte, an unparsable frame, a truncated one and an oversize length on the wire."""
    with lab(tmp_path, speedup=20, pty=pty) as the_lab:
        for node in ("MOD", "RIN"):
            the_lab.start(node)
        the_lab.connected("MOD", "RIN")
        for _ in range(3):
            assert hw_control(the_lab, "noise MOD")["ok"]
        sent = send_sitrep(the_lab.homes["RIN"], "Sendt etter støy på linjen til Modum.")
        _wait_for(lambda: the_lab.held("MOD", "RIN", sent.message.seq), 90, "the SITREP at MOD after the noise")
        assert the_lab.daemons["MOD"].poll() is None
        # The library reports the unparsable frame (its own traceback, captured into our log
        # at error level); the daemon itself never hits a fatal error.
        assert "fatal:" not in the_lab.log("MOD")


def hw_control(the_lab: Lab, command: str) -> dict[str, Any]:
    """One command on relay hw-sim's control socket (unplug, replug, noise, ...)."""
    import socket

    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(the_lab.control))
        sock.sendall(command.encode() + b"\n")
        return dict(json.loads(sock.makefile().readline()))


# --- integration: two town halls that hear each other only over a radio-only hill ---------------

# Hole and Modum over the repeater, as in examples/modum.toml.
HILL = """
[mesh]
preset = "LONG_FAST"
seed = 3
hop_limit = 3
duty_cycle = 0.10
duration = "1h"

[[node]]
id = "HOL"
name = "Hole kommune"

[[node]]
id = "MOD"
name = "Modum kommune"

[[node]]
id = "REP"
name = "Repeater Gyrihaugen"
radio_only = true

[[link]]
a = "HOL"
b = "REP"
loss = 0.0

[[link]]
a = "MOD"
b = "REP"
loss = 0.0
"""

# Sigdal has a key in the roster and a radio, beside Hole here, but its daemon never
# runs: a forger uses its radio.
HILL_SIG = (
    HILL
    + """
[[node]]
id = "SIG"
name = "Sigdal kommune"

[[link]]
a = "SIG"
b = "HOL"
loss = 0.0
"""
)


@contextmanager
def hill_lab(tmp_path: Path, scenario: str = HILL) -> Iterator[Lab]:
    """HOL and MOD running, each having heard the other's summary over the repeater."""
    with lab(tmp_path, speedup=20, scenario=scenario) as the_lab:
        for node in ("HOL", "MOD"):
            the_lab.start(node)
        the_lab.connected("HOL", "MOD")
        for node, other in (("HOL", "MOD"), ("MOD", "HOL")):
            _wait_for(
                lambda n=node, o=other: (
                    f"heard SUMMARY of {o} (" in the_lab.log(n) and "via 1 repeater)" in the_lab.log(n)
                ),
                30,
                f"{node} to hear {other} over the hill",
            )
        yield the_lab


def forge_until_heard(the_lab: Lab, node: str, listener: str, forged: list[tuple[bytes, str]]) -> None:
    """Put each frame of ``forged`` on the air from ``node``'s simulated radio, as a forger
    with the channel key would (the unmodified library, no daemon, no key of the roster),
    until ``listener``'s journal shows its line once more: a frame sent while the listener
    transmits (its answer to the last one) is not heard, so it goes again."""
    from meshtastic.tcp_interface import TCPInterface

    port = int(the_lab.endpoints[node]["tcp"].rsplit(":", 1)[1])
    radio = TCPInterface(hostname="127.0.0.1", portNumber=port, timeout=30)
    try:
        for frame, line in forged:
            before = the_lab.log(listener).count(line)
            for _ in range(5):
                radio.sendData(frame, destinationId="^all", portNum=256, wantAck=False, hopLimit=0)  # PRIVATE_APP
                if _logs_again(the_lab, listener, line, before, 5.0):
                    break
            else:
                raise AssertionError(f"{listener} never heard the frame that makes it log {line!r}")
    finally:
        radio.close()


def _logs_again(the_lab: Lab, node: str, line: str, before: int, timeout: float) -> bool:
    """Whether ``node``'s journal shows ``line`` more than ``before`` times within ``timeout`` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if the_lab.log(node).count(line) > before:
            return True
        time.sleep(0.05)
    return False


def forged_in_the_name_of(home: Home, replayed: bytes) -> list[tuple[bytes, str]]:
    """What a radio with the channel key but not ``home``'s key can send in its name, with
    the line a store's journal shows on hearing it: a SUMMARY claiming it holds the
    ``replayed`` message (a signature of zeros), that summary passed on in a HELD frame, a
    BUNDLE replaying the message, and a REQUEST (last: a store may answer it)."""
    node, key_id = home.config().node_id, home.signer().key_id
    peek = wire.peek(replayed)
    origin = home.roster().entry_for_key(peek.key_id).node_id
    message_id = f"{origin}-{peek.seq:04d}"
    claim = frames.Summary(key_id, home.roster().version, ((origin, peek.seq),), counter=clock_seconds(time.time()))
    summary = claim.to_bytes() + bytes(64)
    return [
        (summary, f"rejected a {len(summary)}-byte frame: bad_signature"),
        (frames.Held(key_id, (summary,)).to_bytes(), f"heard HELD of {node}: 1 summaries passed on ("),
        (frames.Bundle(key_id, (replayed,)).to_bytes(), f"heard BUNDLE of {node}: {message_id} ("),
        (frames.Request(key_id, (frames.Want(origin, peek.seq),)).to_bytes(), f"heard REQUEST of {node} ("),
    ]


def snapshot_after(home: Home, at: float) -> bool:
    """Whether the daemon's status snapshot was written after ``at`` (Unix seconds)."""
    written = daemon_mod.status_report(home, time.time(), None)["daemon"]["snapshot_at"]
    return written is not None and datetime.fromisoformat(written).timestamp() > at


def cli_send(home: Home, *args: str) -> str:
    """``relay --home HOME send ...`` as an operator runs it; the id it committed."""
    result = CliRunner().invoke(cli, ["--lang", "nb", "--home", str(home.path), "send", *args])
    assert result.exit_code == 0, result.output
    match = re.search(r"([A-Z]+-\d{4}) lagt i utboksen", result.output)
    assert match, result.output
    return match.group(1)


def inbox(home: Home) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["--lang", "nb", "--home", str(home.path), "inbox", "--json", "--limit", "0"])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


def test_a_haster_message_reaches_a_town_hall_behind_the_hill_after_its_partition(tmp_path: Path) -> None:
    with hill_lab(tmp_path) as the_lab:
        assert hw_control(the_lab, "partition MOD")["cut"] == ["MOD"]
        started = time.monotonic()
        sent = cli_send(
            the_lab.homes["HOL"], "MELDING", "--priority", "HASTER", "--text", "Evakuer Sundvollen.", "--to", "ALLE"
        )
        assert sent == "HOL-0001"
        _wait_for(lambda: "sent HOL-0001 MELDING HASTER (" in the_lab.log("HOL"), 30, "HOL to send it")
        time.sleep(0.5)  # what was on the air lands (10 s of mesh time): the push is lost at MOD
        assert the_lab.held("MOD", "HOL", 1) == []
        healed = time.monotonic()
        assert hw_control(the_lab, "heal MOD")["cut"] == []
        _wait_for(lambda: the_lab.held("MOD", "HOL", 1), 60, "HOL-0001 at MOD after the heal")
        now = time.monotonic()
        print(f"\nheal -> held at MOD: {now - healed:.2f} s (commit -> held: {now - started:.2f} s, time scale 20)")
        assert len(the_lab.held("MOD", "HOL", 1)) == 1  # once: no duplicate, no conflict
        [doc] = [d for d in inbox(the_lab.homes["MOD"]) if d["id"] == "HOL-0001"]
        assert (doc["verified"], doc["priority"], doc["text"]) == (True, "HASTER", "Evakuer Sundvollen.")
        assert "<6>relay[MOD]: stored HOL-0001 MELDING HASTER from the air" in the_lab.log("MOD")

        def status_says_hol_is_behind_the_hill() -> bool:
            report = daemon_mod.status_report(the_lab.homes["MOD"], time.time(), None)
            return any(h["node"] == "HOL" and h["hops"] == 1 for h in report["heard"])

        _wait_for(status_says_hol_is_behind_the_hill, 10, "MOD's status to show HOL via the repeater")
        lines = daemon_mod.render_status(daemon_mod.status_report(the_lab.homes["MOD"], time.time(), None), None)
        assert any(line.startswith("  HOL  HOL kommune") and line.endswith(", via 1 repeater)") for line in lines)

        def hol_shows_mod_holding_it() -> bool:  # issue 22: MOTTATT from MOD's signed summary, at HOL
            report = daemon_mod.status_report(the_lab.homes["HOL"], time.time(), None)
            sent = [m for m in report["sent"] if m["id"] == "HOL-0001"]
            return bool(sent) and "MOD" in sent[0]["held_by"]

        # MOD says what it took within 2-5 minutes of mesh time (6-15 s here at x20), and
        # its summary crosses the hill: within the 10-minute target (30 s).
        _wait_for(hol_shows_mod_holding_it, 30, "HOL's status to show MOD holding HOL-0001", step=0.5)


def test_frames_in_the_name_of_a_store_that_never_ran_make_it_neither_heard_nor_a_holder(tmp_path: Path) -> None:
    """Issue 22: SIG never ran.  A REQUEST, a BUNDLE, a SUMMARY and a HELD in its name, from
    its radio beside HOL, make it neither heard nor a holder in HOL's status and on HOL's
    board, which show MOD holding HOL's message: only a summary signed by SIG's key could."""
    with hill_lab(tmp_path, HILL_SIG) as the_lab:
        sent = cli_send(the_lab.homes["HOL"], "MELDING", "--priority", "HASTER", "--text", "Evakuer.", "--to", "ALLE")
        _wait_for(lambda: the_lab.held("MOD", "HOL", 1), 60, f"{sent} at MOD")

        def hol_shows_mod_holding_it() -> bool:
            report = daemon_mod.status_report(the_lab.homes["HOL"], time.time(), None)
            return any(m["id"] == sent and "MOD" in m["held_by"] for m in report["sent"])

        # Generous: the 10-minute target is the test above's; here what matters is after it.
        _wait_for(hol_shows_mod_holding_it, 120, f"HOL's status to show MOD holding {sent}", step=0.5)
        [mine] = the_lab.held("HOL", "HOL", 1)
        forge_until_heard(the_lab, "SIG", "HOL", forged_in_the_name_of(the_lab.homes["SIG"], mine.wire))
        heard_at = time.time()
        # HOL's status, written after the frames in SIG's name: SIG never heard, not a holder.
        _wait_for(
            lambda: snapshot_after(the_lab.homes["HOL"], heard_at), 30, "HOL's daemon to write its status after them"
        )
        report = daemon_mod.status_report(the_lab.homes["HOL"], time.time(), None)
        [sig] = [h for h in report["heard"] if h["node"] == "SIG"]
        assert (sig["at"], sig["hops"]) == (None, None)
        [sent_doc] = [m for m in report["sent"] if m["id"] == "HOL-0001"]
        levels = {c["node"]: (c["level"], c["last_heard"]) for c in sent_doc["confirmations"]}
        assert levels["SIG"] == (None, None) and levels["MOD"][0] == "MOTTATT"
        lines = daemon_mod.render_status(report, None)
        assert "      SIG  ikke bekreftet ennå (aldri hørt)" in lines
        assert any(line.startswith("      MOD  mottatt ") for line in lines)
        assert "  SIG  SIG kommune  aldri" in lines
        # The board: MOD waits only to read it (it holds it), SIG to receive it, never heard.
        with board(the_lab.homes["HOL"].path) as url:
            status_code, html = board_get(url)
        assert status_code == 200
        assert "Venter på mottak: SIG (aldri hørt). Venter på lest: MOD" in html
        assert '<th scope="row">SIG</th><td>SIG kommune</td><td>aldri</td><td>–</td>' in html


def test_a_fresh_nod_lost_at_the_hill_is_repaired_over_it(tmp_path: Path) -> None:
    with hill_lab(tmp_path) as the_lab:
        assert hw_control(the_lab, "partition REP")["cut"] == ["REP"]  # the hill is down: nobody hears the push
        sent = cli_send(
            the_lab.homes["HOL"], "MELDING", "--priority", "NØD", "--text", "Ras over fv. 285.", "--to", "ALLE"
        )
        _wait_for(lambda: f"sent {sent} MELDING NØD (" in the_lab.log("HOL"), 30, "HOL to send it")
        time.sleep(0.5)  # what was on the air lands (10 s of mesh time)
        assert the_lab.held("MOD", "HOL", 1) == []
        healed = time.monotonic()
        assert hw_control(the_lab, "heal REP")["cut"] == []
        _wait_for(lambda: the_lab.held("MOD", "HOL", 1), 60, f"{sent} at MOD after the hill came back")
        print(f"\nheal -> held at MOD: {time.monotonic() - healed:.2f} s")
        assert len(the_lab.held("MOD", "HOL", 1)) == 1
        [doc] = [d for d in inbox(the_lab.homes["MOD"]) if d["id"] == sent]
        assert (doc["verified"], doc["priority"]) == (True, "NØD")
        # Repaired, not the push: an answer from HOL's store, over the hill.
        assert re.search(rf"heard BUNDLE of HOL: [^(]*{sent}[^(]* \(\d+ B, via 1 repeater\)", the_lab.log("MOD"))


def test_status_shows_the_alarms_the_daemon_raised(status_home: Home) -> None:
    alarms = [
        {"code": "own_origin", "frame": "MOD-4294967295 SITREP RUTINE", "at": NOW - 30},
        {"code": "origin_flood", "frame": "SIG-0180 MELDING NØD", "at": NOW - 10},
    ]
    _write_snapshot(status_home, NOW - 4, alarms=alarms)
    output = status(status_home).output
    assert (
        "ADVARSEL: ALARM: MOD-4294967295 SITREP RUTINE er signert med vår nøkkel, men ble aldri sendt herfra:"
        " nøkkelen kan være stjålet (meldingen er avvist); varsle rosteransvarlig\n"
    ) in output
    assert (
        "ADVARSEL: MISTENKELIG: SIG-0180 MELDING NØD: avsenderen sender flere meldinger enn relay slipper inn"
        " (stjålet nøkkel?); de holdes tilbake til takten tillater dem\n"
    ) in output
