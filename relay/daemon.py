"""The radio daemon: the sync protocol on a real radio and a real clock, and its status.

``relay daemon`` runs one ``Daemon``: what the radio hears goes to
``SyncNode.receive``; when the radio is free, ``SyncNode.poll`` says what to
send next; messages the CLI commits to the store are noticed (``PRAGMA
data_version``, polled every second) and handed to the sync.  It is the
simulator's loop (``relay.sim.runner``) with a radio for the medium and
``time.monotonic`` for the virtual clock.

Two clocks: every timer (the sync's ``now``, the radio pacing, the outbox poll,
the status interval) runs on the monotonic clock, and the wall clock only dates
things (what the store records, the snapshot's times).  A step of the system
clock (an NTP or GPS correction, an RTC with a flat battery) then moves the
dates and nothing else; timers on the wall clock would silence the node for as
long as a step back.

The radio sits behind ``relay.edge.transport.Transport``:
``relay.edge.radio.MeshtasticTransport`` (imported only by ``serve``, so nothing
else pays for meshtastic), or a fake in the tests.  What it hears comes as a
``Heard``: the frame and how many repeaters it crossed, which the sync needs to
tell a neighbour from a node behind a hill.  The daemon hands the radio one frame
per airtime, so that the sync's priority order (NØD before RUTINE) holds on the
air instead of being lost in the device's 16-packet transmit queue.

Logging goes to stderr, one line per event, with sd-daemon priority prefixes
that journald understands: ``<6>relay[MOD]: stored HOL-0003 SITREP from the air``.

Status: every ``STATUS_INTERVAL_S`` and on change, the daemon writes a JSON
snapshot into the store's ``state`` table (``STATUS_KEY``).  ``relay status``
reads it back with the store (``status_report``, ``render_status``) and never
imports meshtastic.  Both ends of the snapshot format live in this file.

A full disk (SQLITE_FULL) is not fatal: a frame that cannot be stored is lost
for now (the sync asks for it again, its summaries show what we lack), the
outbox still goes out, and the condition is logged and put in the snapshot for
``relay status`` (``store_full``).  Any other store error ends the daemon.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from relay.core import frames, wire
from relay.core.airtime import HOUR_S, LONG_FAST, MAX_APP_PAYLOAD, packet_airtime
from relay.core.roster import Roster
from relay.core.signing import Signer
from relay.core.sync import Received, SyncConfig, SyncNode, Transmission
from relay.core.sync.config import IP_CONFIG, IP_SECONDS_PER_FRAME
from relay.core.sync.outbox import PathOutbox
from relay.edge import dictionaries
from relay.edge.home import Home, NodeConfig, write_roster
from relay.edge.store import Store, is_full
from relay.edge.transport import Heard, Transport
from relay.errors import ConfigError, DecodeError

if TYPE_CHECKING:
    from relay.edge.mqtt import IpSettings

log = logging.getLogger("relay.daemon")

STATUS_KEY = "daemon.status"
STATUS_FORMAT = 1
STATUS_INTERVAL_S = 10.0
STATUS_MIN_GAP_S = 1.0  # "on change" writes coalesce to at most one a second
STALE_AFTER_S = 60.0  # an older snapshot means the daemon is not running
CLOCK_STEP_S = 1.0  # the wall clock moved this much against the monotonic one: a step (slewing is far slower)
OUTBOX_POLL_S = 1.0
MAX_WAIT_S = 0.5  # the loop wakes at least this often (signals, the outbox, the link)
MAX_FRAMES_PER_STEP = 64  # a flood of received frames cannot starve sending
TX_MARGIN = 1.1  # the radio's listen-before-talk delay on top of the airtime
REJECT_LOG_GAP_S = 10.0  # per reason, at most one line this often; the rest are counted
STORE_FULL_LOG_GAP_S = 60.0  # a full disk is logged at most once a minute; the rest are counted
REJECT_MEMORY = 256  # a rejected frame heard again (rebroadcast, repeated attack) is logged once
ALARM_MEMORY = 8  # the latest alarms kept in the status snapshot
ALARM_LOG = {
    "own_origin": "signed with our own key but never sent by us",
    "origin_flood": "its origin sends more than relay admits (a stolen key?); held until the rate allows",
}
ALARM_TEXT = {
    "own_origin": "ALARM: {frame} er signert med vår nøkkel, men ble aldri sendt herfra:"
    " nøkkelen kan være stjålet (meldingen er avvist); varsle rosteransvarlig",
    "origin_flood": "MISTENKELIG: {frame}: avsenderen sender flere meldinger enn relay slipper inn"
    " (stjålet nøkkel?); de holdes tilbake til takten tillater dem",
    "quarantined_damaged": "LAGERFEIL: {count} skadet(e) melding(er) flyttet til karantene ({frame});"
    " kjør «relay doctor»",
    "quarantined_revoked": "TILBAKEKALT: {count} melding(er) signert med en tilbakekalt nøkkel er tatt ut ({frame})",
    "own_key_revoked": "ALARM: denne nodens nøkkel er tilbakekalt i rosteret: andre noder avviser det den sender;"
    " be rosterautoriteten om en ny nøkkel",
}

STORE_FULL_TEXT = "lageret er fullt: nye meldinger fra radioen kan ikke lagres; frigjør plass på disken"

RANK_LABELS = {0: "NØD", 1: "HASTER", 2: "KONTROLL", 3: "PRIORITET", 4: "RUTINE"}


# The sync's timers, scaled by ``scaled_config``.  Not ``fresh_s``: it is compared
# with the age of a message, which its created time in the store gives.
SCALED_TIMERS = (
    "summary_min_s",
    "summary_max_s",
    "request_jitter_s",
    "response_jitter_s",
    "answer_guard_s",
    "hold_down_s",
    "neighbour_ttl_s",
    "lonely_after_s",
    "lonely_max_s",
    "keepalive_s",
    "rerequest_s",
    "fragment_timeout_s",
)


def scaled_config(time_scale: float, base: SyncConfig | None = None) -> SyncConfig:
    """The sync's timers run ``time_scale`` times faster (to match ``relay hw-sim --speedup``)."""
    base = base or SyncConfig()
    if time_scale == 1.0:
        return base
    return replace(base, **{name: getattr(base, name) / time_scale for name in SCALED_TIMERS})


def describe_frame(frame: bytes, roster: Roster) -> str:
    """A frame in a few words for the log; never raises."""
    try:
        parsed = frames.parse(frame)
        if isinstance(parsed, frames.Bare):
            peek = wire.peek(parsed.data)
            return f"{_message_id(peek, roster)} {peek.kind.value} {peek.priority.value}"
        if isinstance(parsed, frames.Fragment):
            node = _node_of(parsed.key.key_id, roster)
            return f"fragment {parsed.index + 1}/{parsed.count} of {node}-{parsed.key.seq16:04d}"
        if isinstance(parsed, frames.Bundle):
            carried = ", ".join(_message_id(wire.peek(m), roster) for m in parsed.messages)
            return f"BUNDLE of {_node_of(parsed.key_id, roster)}: {carried}"
        name = "SUMMARY" if isinstance(parsed, frames.Summary) else "REQUEST"
        return f"{name} of {_node_of(parsed.key_id, roster)}"
    except DecodeError:
        return "unreadable frame"


def _message_id(peek: wire.Peek, roster: Roster) -> str:
    return f"{_node_of(peek.key_id, roster)}-{peek.seq:04d}"


def _node_of(key_id: int, roster: Roster) -> str:
    try:
        return roster.entry_for_key(key_id).node_id
    except DecodeError:
        return f"key {key_id:04x}"


def _how(hops: int) -> str:
    """How a frame reached us, for the log."""
    return "directly" if hops <= 0 else f"via {hops} repeater{'' if hops == 1 else 's'}"


VIA_OF_FRAME: dict[type, str] = {
    frames.Bare: "message",
    frames.Fragment: "fragment",
    frames.Summary: "summary",
    frames.Request: "request",
    frames.Bundle: "bundle",
}


def _speaks_for(frame: bytes, publisher: str, roster: Roster) -> bool:
    """May ``publisher`` (whose topic a frame came on) send it?  A summary, request or
    bundle names its sender, which must be the publisher: a captured site's login with
    a stolen key could otherwise sign summaries in another site's name, and every
    gateway would take that site for reachable by IP and stop serving it by radio.  A
    message or fragment names only its origin, and any store passes those on."""
    try:
        key_id = frames.sender_key(frames.parse(frame))
        return key_id is None or roster.entry_for_key(key_id).node_id == publisher
    except DecodeError:
        return True  # the sync rejects it with its own reason


def _heard_from(frame: bytes, received: Received, roster: Roster) -> tuple[str, str] | None:
    """(node, what) of the store a taken frame came from: the sender it names, or for a
    message or fragment (which name only their origin) its origin, most likely pushing
    it.  None when it cannot be told."""
    try:
        parsed = frames.parse(frame)
        if received.sender is not None:
            return received.sender, VIA_OF_FRAME[type(parsed)]
        if isinstance(parsed, frames.Bare):
            return roster.entry_for_key(wire.peek(parsed.data).key_id).node_id, "message"
        if isinstance(parsed, frames.Fragment):
            return roster.entry_for_key(parsed.key.key_id).node_id, "fragment"
    except DecodeError:
        pass
    return None


@dataclass
class NodePath:
    """One way out of the node (the radio, or IP through a broker): its transport, its
    own ``SyncNode`` over the shared store, and the frame it holds for the transport."""

    name: str  # "radio" or "ip"
    transport: Transport
    sync: SyncNode
    pace: Callable[[int], float]  # seconds the transport is busy with a frame of this length
    outbox: PathOutbox | None = None  # a second path's own outbox (None: the store's)
    held: Transmission | None = None  # polled from the sync, not yet taken by the transport
    free_at: float = 0.0
    frames_heard: int = 0
    frames_sent: int = 0
    link_seen: tuple[bool, str | None] | None = None
    link_since: float = 0.0
    heard: dict[str, float] = field(default_factory=dict)  # IP: node -> when last heard (monotonic)

    @property
    def queued(self) -> list[int]:
        """Transmit ranks of what waits for the transport."""
        return self.sync.queued_ranks() + ([self.held.rank] if self.held is not None else [])


class Daemon:
    """One node's sync over a ``Transport``, and over IP too when it has a broker.

    ``clock`` is steady and drives every timer (``time.monotonic``); ``wall`` dates
    what is stored and shown (``time.time``).  Fakes of both in the tests.  Times
    the daemon keeps (``heard``, ``started``, ``now`` arguments) are on ``clock``;
    ``wall_of`` turns them into dates.
    """

    def __init__(
        self,
        node_id: str,
        signer: Signer,
        store: Store,
        roster: Roster,
        transport: Transport | None,
        *,
        ip: Transport | None = None,
        wake: threading.Event | None = None,
        ip_url: str = "",
        url: str = "",
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        time_scale: float = 1.0,
        config: SyncConfig | None = None,
        roster_file: Path | None = None,
    ) -> None:
        self.node_id = node_id
        self.store = store
        # The roster file the daemon follows: a newer version imported while we run,
        # and revocations heard over the air written back (``_check_roster``).
        self.roster_file = roster_file
        self._roster_stamp = _stamp(roster_file)
        self.url = url
        self.clock = clock
        self.wall = wall
        self.time_scale = time_scale  # the sync's timers and the airtime shrink; the clocks run at their pace
        self.ip_url = ip_url
        self._wake = wake  # set by every transport when a frame arrives (None: one transport, wait on it)
        now = clock()
        self.started = now
        self._wall_offset = wall() - now
        if transport is None and ip is None:
            raise ConfigError("noden har verken radio eller IP-vei")
        rng = rng or random.Random()
        admission: dict[str, tuple[float, float]] = {}  # one rate per origin, whichever path brings it

        def sync_for(name: str, cfg: SyncConfig, airtime: Callable[[int], float], **kw: Any) -> SyncNode:
            return SyncNode(
                node_id,
                signer.key_id,
                store,
                roster,
                dictionaries.available(),
                airtime,
                random.Random(rng.random()),
                now,
                cfg,
                on_stored=partial(self._stored, name),
                wall=self.wall_of,
                on_roster=self._roster_changed,
                sign=signer.sign,
                admission=admission,
                **kw,
            )

        self.radio: NodePath | None = None
        self.ip: NodePath | None = None
        if transport is not None:
            elsewhere = self._ip_peers if ip is not None else None
            radio_sync = sync_for("radio", config or scaled_config(time_scale), self.airtime, elsewhere=elsewhere)
            self.radio = NodePath("radio", transport, radio_sync, self._radio_pace, free_at=now, link_since=now)
        if ip is not None:
            outbox = PathOutbox() if transport is not None else None  # IP only: the store's outbox is its own
            if outbox is not None:
                for origin, seq, rank in store.pending():
                    outbox.add(origin, seq, rank)
            ip_sync = sync_for("ip", scaled_config(time_scale, IP_CONFIG), self._ip_airtime, outbox=outbox)
            self.ip = NodePath("ip", ip, ip_sync, lambda length: 0.0, outbox, free_at=now, link_since=now)
        self.paths = [p for p in (self.radio, self.ip) if p is not None]
        self._conflicts = 0
        self.heard: dict[str, dict[str, Any]] = {}
        self.alarms: list[dict[str, Any]] = []  # what the operator must see (``_alarm``)
        self._stopping: str | None = None
        self._next_outbox = now
        self._data_version: int | None = None
        self._announced: set[tuple[str, int]] = set()
        self._next_status = now
        self._last_status = float("-inf")
        self._status_dirty = True
        self._rejected_seen: OrderedDict[bytes, None] = OrderedDict()
        self._rejected_log: dict[str, tuple[float, int]] = {}  # reason -> (last logged, suppressed since)
        self.store_full: dict[str, Any] | None = None  # since, last, errors, lost_frames (``_on_store_full``)
        self._store_full_log = (float("-inf"), 0)  # (last logged, suppressed since)
        self._unsaved_marks = 0
        self.status: dict[str, Any] | None = None  # the last snapshot, written or not (the disk may be full)
        self._seed_heard()
        self._check_store(now)

    @property
    def primary(self) -> NodePath:
        """The radio, or IP on a node without one: its sync owns the store's outbox."""
        return self.paths[0]

    @property
    def sync(self) -> SyncNode:
        return self.primary.sync

    @property
    def transport(self) -> Transport:
        return self.primary.transport

    @property
    def frames_heard(self) -> int:
        return sum(p.frames_heard for p in self.paths)

    @property
    def frames_sent(self) -> int:
        return sum(p.frames_sent for p in self.paths)

    @property
    def roster(self) -> Roster:
        return self.sync.roster

    def _ip_peers(self, now: float) -> frozenset[str]:
        """The stores the IP path reaches now: none while it is down."""
        if self.ip is None or not self.ip.transport.connected:
            return frozenset()
        return frozenset(self.ip.sync.peers.neighbours(now))

    # --- the loop ----------------------------------------------------------------------

    def run(self) -> None:
        """Run until ``stop``; the current step (and its store transaction) always finishes."""
        log.info(
            "started: node %s, radio %s, IP %s, roster v%d (%d nodes), %d messages held",
            self.node_id,
            (self.url or "?") if self.radio is not None else "none",
            (self.ip_url or "?") if self.ip is not None else "none",
            self.roster.version,
            len(self.roster.node_ids),
            self.store.count(),
        )
        while self._stopping is None:
            self.step()

    def stop(self, why: str = "stop requested") -> None:
        """Ask the loop to end after the current step (safe from a signal handler)."""
        self._stopping = self._stopping or why

    def step(self) -> None:
        """One turn: wait for a frame or the next deadline, then receive, notice, send, report."""
        now = self.clock()
        timeout = max(0.0, min(self._next_wake(now) - now, MAX_WAIT_S))
        first = self._wait(timeout)
        now = self.clock()
        self._watch_wall_clock()
        if first is not None:
            self._on_frame(*first, now)
        for path in self.paths:
            count = 0
            while count < MAX_FRAMES_PER_STEP and self._stopping is None:
                heard = path.transport.receive(0.0)
                if heard is None:
                    break
                self._on_frame(path, heard, now)
                count += 1
        for path in self.paths:
            self._watch_link(path, now)
        if now >= self._next_outbox:
            self._next_outbox = now + OUTBOX_POLL_S
            self._check_roster(now)
            self._check_outbox()
        for path in self.paths:
            self._transmit(path, now)
        if self.store.damaged:
            self._quarantine(self.store.quarantine_damaged(self._date(now)), "damaged", now)
        self._report(now)

    def _wait(self, timeout: float) -> tuple[NodePath, Heard] | None:
        """The first frame on any path within ``timeout``.  One path: its own wait.  Two:
        every transport sets ``wake`` when a frame arrives (cleared before looking, so
        none is missed)."""
        if self._wake is None or len(self.paths) == 1:
            heard = self.primary.transport.receive(timeout)
            return None if heard is None else (self.primary, heard)
        self._wake.clear()
        for path in self.paths:
            heard = path.transport.receive(0.0)
            if heard is not None:
                return path, heard
        if timeout > 0 and self._wake.wait(timeout):
            self._wake.clear()
            for path in self.paths:
                heard = path.transport.receive(0.0)
                if heard is not None:
                    return path, heard
        return None

    def shutdown(self) -> None:
        """Close the transports and leave a last snapshot saying the daemon stopped."""
        for path in self.paths:
            path.transport.close()
        self.write_status(self.clock(), stopped=self._stopping or "stopped")
        log.info("stopped (%s)", self._stopping or "stopped")

    def _date(self, t: float) -> datetime:
        return datetime.fromtimestamp(self.wall_of(t), UTC)

    def wall_of(self, t: float) -> float:
        """The wall-clock time of ``t`` on the monotonic clock, as the wall clock reads now.

        Not simply ``wall()``: a time is dated by the instant it names, so a node heard
        ten minutes ago shows as heard ten minutes ago even after the wall clock stepped.
        """
        return self.wall() + (t - self.clock())

    def _watch_wall_clock(self) -> None:
        """Log a step of the wall clock once; the next snapshot carries the new dates."""
        offset = self.wall() - self.clock()
        step = offset - self._wall_offset
        self._wall_offset = offset
        if abs(step) >= CLOCK_STEP_S:
            log.warning(
                "the system clock stepped %s by %.1f s; timers are not affected, dates follow it",
                "forward" if step > 0 else "back",
                abs(step),
            )
            self._status_dirty = True

    def _next_wake(self, now: float) -> float:
        wake = min(self._next_outbox, self._status_due())
        for path in self.paths:
            if path.transport.connected:
                if path.held is not None:
                    wake = min(wake, max(path.free_at, now + 0.1))
                else:
                    wake = min(wake, max(path.free_at, path.sync.next_deadline(now)))
        return wake

    # --- receiving ---------------------------------------------------------------------

    def _on_frame(self, path: NodePath, heard: Heard, now: float) -> None:
        path.frames_heard += 1
        frame = heard.frame
        if heard.publisher is not None and not _speaks_for(frame, heard.publisher, self.roster):
            path.sync.stats.rejected["not_its_publisher"] += 1
            self._log_rejected("not_its_publisher", frame, now)
            return
        try:
            received = path.sync.receive(frame, now, heard.hops, heard.hop_start)
        except sqlite3.Error as exc:
            if not is_full(exc):
                raise  # the store is broken: unrecoverable, let systemd restart us
            what = describe_frame(frame, self.roster)
            self._on_store_full(
                f"{exc}: lost {what} heard {_how(heard.hops)}; not lost for good: the sync asks for it"
                " again once there is room (the summaries show what we lack)",
                now,
                lost=True,
            )
            return
        except Exception as exc:  # a bug reached by bytes from the air must not take the daemon down
            path.sync.stats.rejected["internal_error"] += 1
            log.error(
                "internal error on a %d-byte frame (%s): %s: %s", len(frame), frame[:8].hex(), type(exc).__name__, exc
            )
            return
        if received.echo:
            log.debug("heard our own %s back %s", describe_frame(frame, self.roster), _how(received.hops))
            return
        if received.alarm is not None:
            self._alarm(received.alarm, frame, now)
        if received.voided:
            self._quarantine(list(received.voided), "revoked", now)
        if received.rejected is not None:
            self._log_rejected(received.rejected, frame, now)
            return
        source = _heard_from(frame, received, self.roster)
        if source is not None and path is self.radio:
            self._note_heard(source[0], source[1], received.hops, now)
        elif source is not None and source[0] != self.node_id:
            path.heard[source[0]] = now
        if log.isEnabledFor(logging.DEBUG):
            how = _how(received.hops) if path is self.radio else "by IP"
            log.debug("heard %s (%d B, %s)", describe_frame(frame, self.roster), len(frame), how)

    def _stored(self, name: str, signed: wire.SignedMessage, now: float) -> None:
        """A path stored a message: the other path learns of it (it may pass it on)."""
        msg = signed.message
        how = "by IP" if name == "ip" else "from the air"
        log.info("stored %s %s %s %s", msg.id, msg.kind.value, msg.priority.value, how)
        for path in self.paths:
            if path.name != name:
                path.sync.learned(signed, now)
        if self.store_full is not None:
            log.warning("the store has room again (%d store errors while it was full)", self.store_full["errors"])
            self.store_full = None
        conflicts = sum(p.sync.stats.conflicts for p in self.paths)
        if conflicts > self._conflicts:
            self._conflicts = conflicts
            log.warning("conflict: a second, different %s was signed by its origin; both are kept", msg.id)
        self._status_dirty = True

    # --- store faults and revocations --------------------------------------------------

    def _check_store(self, now: float) -> None:
        """At start: rows whose bytes no longer match their digest (one hash a row;
        ``relay doctor`` checks deeper), and messages a revocation made void while we
        were down, go to quarantine.  Never fatal."""
        at = self._date(now)
        try:
            for origin, seq, digest, _ in self.store.check(self.roster, deep=False):
                self.store.damaged.add((origin, seq, digest))
            self._quarantine(self.store.quarantine_damaged(at), "damaged", now)
            for entry in self.roster.entries:
                if entry.revoked is not None:
                    self._quarantine(self.store.void_revoked(entry, at), "revoked", now)
        except sqlite3.Error as exc:
            if not is_full(exc):
                raise
            self._on_store_full(f"{exc}: the start-up check of the store waits for room", now)

    def _quarantine(self, ids: list[str], reason: str, now: float) -> None:
        if not ids:
            return
        shown = ", ".join(ids[:8]) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")
        if reason == "revoked":
            log.warning("revocation: %s taken out of the store (signed with a revoked key); never served", shown)
        else:
            log.error("store: %s damaged on disk, moved to quarantine; run «relay doctor»", shown)
        code = "quarantined_" + reason
        count = len(ids) + next((a["count"] for a in self.alarms if a["code"] == code), 0)
        self.alarms = [a for a in self.alarms if a["code"] != code]
        self.alarms.append({"code": code, "frame": shown, "count": count, "at": now})
        self.alarms = self.alarms[-ALARM_MEMORY:]
        self._status_dirty = True

    def _roster_changed(self, roster: Roster) -> None:
        """A revocation heard on one path: the other path takes it up, and it goes into the
        roster file, so the CLI and the next start see it too."""
        for path in self.paths:
            if path.sync.roster is not roster:
                path.sync.set_roster(roster, self.clock())
        revoked = [e.node_id for e in roster.entries if e.revoked is not None]
        log.warning("roster: revocation heard over the air; revoked now: %s", ", ".join(revoked))
        if self.roster_file is None:
            return
        try:
            write_roster(self.roster_file, roster)
            self._roster_stamp = _stamp(self.roster_file)
        except OSError as exc:
            log.error("roster: could not write %s: %s; the revocation holds until restart", self.roster_file, exc)

    def _check_roster(self, now: float) -> None:
        """A newer roster imported while we run (``relay roster import``) is taken up
        at once, with the revocations we heard over the air kept."""
        stamp = _stamp(self.roster_file)
        if stamp == self._roster_stamp or self.roster_file is None:
            return
        self._roster_stamp = stamp
        current = self.roster
        try:
            found = Roster.from_json(self.roster_file.read_text(encoding="utf-8"), current.authority_key)
        except (OSError, UnicodeDecodeError, DecodeError) as exc:
            log.error(
                "roster: %s changed but cannot be used (%s); keeping version %d", self.roster_file, exc, current.version
            )
            return
        merged = found.newer(current) if found.supersedes(current) else current
        for notice in found.notices:
            merged = merged.with_notice(notice)
        if merged == current:
            return
        log.info("roster: version %d from %s", merged.version, self.roster_file)
        for path in self.paths:
            self._quarantine(path.sync.set_roster(merged, now), "revoked", now)

    def _alarm(self, code: str, frame: bytes, now: float) -> None:
        """Something the operator must see (``own_origin``: a message under our own
        origin that we never sent: our key is in someone else's hands)."""
        what = describe_frame(frame, self.roster)
        if not any(a["code"] == code and a["frame"] == what for a in self.alarms):
            log.error("ALARM %s: %s, %s; refused", code, what, ALARM_LOG.get(code, "suspicious"))
        self.alarms = [a for a in self.alarms if not (a["code"] == code and a["frame"] == what)]
        self.alarms.append({"code": code, "frame": what, "at": now})
        self.alarms = self.alarms[-ALARM_MEMORY:]
        self._status_dirty = True

    def _on_store_full(self, what: str, now: float, lost: bool = False) -> None:
        """The disk is full: log it at most once a minute, count it, show it in the snapshot, carry on."""
        full = self.store_full or {"since": now, "errors": 0, "lost_frames": 0}
        full["last"] = now
        full["errors"] += 1
        full["lost_frames"] += int(lost)
        self.store_full = full
        self._status_dirty = True
        last, suppressed = self._store_full_log
        if now - last < STORE_FULL_LOG_GAP_S:
            self._store_full_log = (last, suppressed + 1)
            return
        more = f" ({suppressed} more store errors since the last report)" if suppressed else ""
        log.error("store full: %s; free disk space%s", what, more)
        self._store_full_log = (now, 0)

    def _note_heard(self, node: str, via: str, hops: int, now: float) -> None:
        if node == self.node_id:
            return
        if self.heard.get(node, {}).get("hops") != hops:
            self._status_dirty = True  # someone new, or heard another way: ``relay status`` shows it soon
        self.heard[node] = {"at": now, "via": via, "hops": hops}

    def _log_rejected(self, reason: str, frame: bytes, now: float) -> None:
        digest = hashlib.sha256(frame).digest()[:12]
        if digest in self._rejected_seen:
            return
        self._rejected_seen[digest] = None
        while len(self._rejected_seen) > REJECT_MEMORY:
            self._rejected_seen.popitem(last=False)
        last, suppressed = self._rejected_log.get(reason, (float("-inf"), 0))
        if now - last < REJECT_LOG_GAP_S:
            self._rejected_log[reason] = (last, suppressed + 1)
            return
        more = f" ({suppressed} more like it since the last report)" if suppressed else ""
        log.warning("rejected a %d-byte frame: %s%s", len(frame), reason, more)
        self._rejected_log[reason] = (now, 0)
        self._status_dirty = True

    # --- the outbox --------------------------------------------------------------------

    def _check_outbox(self) -> None:
        version = self.store.db.execute("PRAGMA data_version").fetchone()[0]
        if version == self._data_version:
            return
        self._data_version = version
        pending = self.store.pending()
        for origin, seq, rank in pending:
            if (origin, seq) not in self._announced:
                self._announced.add((origin, seq))
                self._announce(origin, seq)
                for path in self.paths:
                    if path.outbox is not None:
                        path.outbox.add(origin, seq, rank)
        if pending:
            for path in self.paths:
                path.sync.local_message()
            self._status_dirty = True

    def _announce(self, origin: str, seq: int) -> None:
        wires = self.store.wire_of(origin, seq)
        if not wires:
            return
        peek = wire.peek(wires[0])
        packets = frames.packets_for(len(wires[0]))
        log.info(
            "queued %s-%04d %s %s for sending (%d B, %d packet%s)",
            origin,
            seq,
            peek.kind.value,
            peek.priority.value,
            len(wires[0]),
            packets,
            "" if packets == 1 else "s",
        )

    # --- sending -----------------------------------------------------------------------

    def airtime(self, length: int) -> float:
        """Seconds on air for a frame, for the sync's duty budget and the pacing of the radio."""
        modem = self.radio.transport.modem if self.radio is not None else None
        return packet_airtime(length, modem or LONG_FAST) / self.time_scale

    def _radio_pace(self, length: int) -> float:
        return self.airtime(length) * TX_MARGIN

    def _ip_airtime(self, length: int) -> float:
        """The IP path's cost of a frame for its flood budget (``IP_SECONDS_PER_FRAME``)."""
        del length
        return IP_SECONDS_PER_FRAME / self.time_scale

    def _transmit(self, path: NodePath, now: float) -> None:
        """Hand the path's transport its next frame(s): the radio one per airtime, IP
        as many as are due (the broker takes them at network speed)."""
        for _ in range(MAX_FRAMES_PER_STEP):
            if self._stopping is not None or not path.transport.connected or now < path.free_at:
                return
            tx = path.held
            if tx is None:
                if path.sync.next_deadline(now) > now:
                    return
                tx = path.sync.poll(now)
                self._check_unsaved_marks(now)
                if tx is None:
                    return
            if len(tx.frame) > MAX_APP_PAYLOAD:  # cannot happen: frames.split and _fitted cap it
                log.error("dropping a %d-byte frame: too large for one packet", len(tx.frame))
                path.held = None
                return
            if not path.transport.send(tx.frame, tx.hop_limit):
                path.held = tx  # not now (busy, paused, link just dropped): the same frame goes next
                return
            path.held = None
            path.frames_sent += 1
            path.free_at = now + path.pace(len(tx.frame))
            if log.isEnabledFor(logging.DEBUG):
                what = f"hop limit {tx.hop_limit}" if path is self.radio else "by IP"
                log.debug("sent %s (%d B, %s)", describe_frame(tx.frame, self.roster), len(tx.frame), what)
            if path is self.radio:
                return

    def _check_unsaved_marks(self, now: float) -> None:
        """The store could not record a message as sent (a full disk): it goes out once anyway."""
        marks = self.store.unsaved_marks
        if len(marks) > self._unsaved_marks:
            ids = ", ".join(f"{origin}-{seq:04d}" for origin, seq in marks)
            self._on_store_full(f"could not record {ids} as sent; sent anyway, and not again by this daemon", now)
        self._unsaved_marks = len(marks)

    # --- link and status ----------------------------------------------------------------

    def _watch_link(self, path: NodePath, now: float) -> None:
        seen = (path.transport.connected, path.transport.link_detail)
        if seen != path.link_seen:
            if path.link_seen is None or seen[0] != path.link_seen[0]:
                path.link_since = now
            path.link_seen = seen
            self._status_dirty = True

    def _status_due(self) -> float:
        if self._status_dirty:
            return min(self._next_status, self._last_status + STATUS_MIN_GAP_S)
        return self._next_status

    def _report(self, now: float) -> None:
        if now >= self._status_due():
            self.write_status(now)

    def write_status(self, now: float, stopped: str | None = None) -> None:
        """Write the snapshot into the store; on a full disk keep it in ``status`` and try again soon."""
        self.status = self.snapshot(now, stopped)
        try:
            self.store.set_state(STATUS_KEY, json.dumps(self.status, ensure_ascii=False))
        except sqlite3.Error as exc:
            if not is_full(exc):
                raise
            # ``relay status`` cannot know then (it shows the last snapshot that fit, or
            # none): the alarm is only in the journal until a snapshot fits again.
            self._on_store_full(f"{exc}: could not write the status snapshot for relay status", now)
            self._last_status = now
            self._next_status = now + STATUS_MIN_GAP_S  # retried soon: it is still dirty
            return
        self._last_status = now
        self._next_status = now + STATUS_INTERVAL_S
        self._status_dirty = False

    def snapshot(self, now: float, stopped: str | None = None) -> dict[str, Any]:
        """What ``relay status`` shows about the daemon (``now`` on the monotonic clock;
        the times in it are Unix seconds on the wall clock)."""
        radio = self.radio
        if radio is not None:
            connected, detail = radio.transport.connected, radio.transport.link_detail
            state = "stopped" if stopped else "connected" if connected else "down" if detail else "connecting"
            modem = radio.transport.modem
            since = radio.link_since
        else:
            state, detail, modem, since = "none", None, None, self.started
        budget = self.sync.budget
        stats = self.sync.stats
        return {
            "format": STATUS_FORMAT,
            "node": self.node_id,
            "pid": os.getpid(),
            "at": self.wall_of(now),
            "started": self.wall_of(self.started),
            "stopped": stopped,
            "link": {
                "state": state,
                "url": self.url,
                "detail": detail,
                "since": self.wall_of(since),
                "modem": modem.name if modem else None,
            },
            "ip": self._ip_snapshot(now, stopped),
            "heard": {node: {**entry, "at": self.wall_of(entry["at"])} for node, entry in sorted(self.heard.items())},
            "alarms": [{**a, "at": self.wall_of(a["at"])} for a in self.alarms],
            "store_full": self._store_full_snapshot(),
            "queue": self.queue_by_priority(),
            "airtime": {
                "used_s": round(budget.used(now), 3),
                "limit_s": round(budget.limit_s, 3),
                "reserve_s": round(budget.reserve_s, 3),
                "window_s": HOUR_S,
                "time_scale": self.time_scale,
            },
            "stats": {
                "frames_heard": self.frames_heard,
                "frames_sent": self.frames_sent,
                "stored": stats.stored,
                "duplicates_ignored": stats.duplicates_ignored,
                "conflicts": stats.conflicts,
                "rejected": dict(sorted(stats.rejected.items())),
                "airtime_s": round(stats.airtime_s, 3),
            },
        }

    def _store_full_snapshot(self) -> dict[str, Any] | None:
        full = self.store_full
        if full is None:
            return None
        return {**full, "since": self.wall_of(full["since"]), "last": self.wall_of(full["last"])}

    def _ip_snapshot(self, now: float, stopped: str | None) -> dict[str, Any] | None:
        """The IP path for ``relay status``: its state, what it carried, whom it hears."""
        ip = self.ip
        if ip is None:
            return None
        connected, detail = ip.transport.connected, ip.transport.link_detail
        counters = getattr(ip.transport, "counters", None)
        return {
            "state": "stopped" if stopped else "connected" if connected else "down" if detail else "connecting",
            "url": self.ip_url,
            "detail": detail,
            "since": self.wall_of(ip.link_since),
            "frames_heard": ip.frames_heard,
            "frames_sent": ip.frames_sent,
            "transport": counters() if callable(counters) else {},
            "heard": {node: self.wall_of(at) for node, at in sorted(ip.heard.items())},
            "queue": self._by_rank(ip.queued),
        }

    def queue_by_priority(self) -> dict[str, int]:
        """Frames waiting for the primary path (the radio), by transmit rank."""
        return self._by_rank(self.primary.queued)

    @staticmethod
    def _by_rank(ranks: list[int]) -> dict[str, int]:
        counts = dict.fromkeys(RANK_LABELS.values(), 0)
        for rank in ranks:
            counts[RANK_LABELS.get(rank, "RUTINE")] += 1
        return counts

    def _seed_heard(self) -> None:
        """Start from the last snapshot's "last heard" (a restart should not forget who is out there).

        Its times are dates: they come back onto the monotonic clock (possibly before its zero)."""
        to_clock = self.clock() - self.wall()
        try:
            previous = json.loads(self.store.get_state(STATUS_KEY) or "{}")
            for node, entry in dict(previous.get("heard", {})).items():
                if isinstance(entry, dict) and isinstance(entry.get("at"), (int, float)):
                    hops = entry.get("hops")
                    self.heard[str(node)] = {
                        "at": float(entry["at"]) + to_clock,
                        "via": str(entry.get("via", "?")),
                        "hops": hops if isinstance(hops, int) and not isinstance(hops, bool) else None,
                    }
        except (ValueError, TypeError, AttributeError):
            pass


# --- running it for real ------------------------------------------------------------------

PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


class JournalHandler(logging.Handler):
    """Log records as ``<PRIO>relay[NODE]: text`` lines (sd-daemon(3) prefixes), one per line of text."""

    def __init__(self, node_id: str, stream: TextIO) -> None:
        super().__init__()
        self.node_id = node_id
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            prio = next(p for level, p in sorted(PRIORITIES.items(), reverse=True) if record.levelno >= level)
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            source = "meshtastic: " if record.name.startswith("meshtastic") else ""
            lines = [line for line in text.splitlines() if line.strip()] or [""]
            self.stream.write("".join(f"<{prio}>relay[{self.node_id}]: {source}{line}\n" for line in lines))
            self.stream.flush()
        except Exception:
            self.handleError(record)


class LogStream(io.TextIOBase):
    """A file that turns what is written to it into log lines (the library prints)."""

    def __init__(self, logger: logging.Logger, level: int) -> None:
        self._logger = logger
        self._level = level
        self._buffer = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            if line.strip():
                self._logger.log(self._level, line.rstrip())
        return len(text)

    def writable(self) -> bool:
        return True


@contextlib.contextmanager
def journal(node_id: str, verbose: bool = False, stream: TextIO | None = None) -> Iterator[None]:
    """Route logging, the library's prints and stray stderr output to journald-style lines."""
    real_stderr = stream or sys.stderr
    handler = JournalHandler(node_id, real_stderr)
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), sys.stdout, sys.stderr)
    root.handlers = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    library = logging.getLogger("meshtastic")
    library_level = library.level
    library.setLevel(logging.WARNING)  # its INFO and DEBUG are per-packet chatter
    # The library prints errors (util.our_exit, DeferredExecution) and tracebacks (the stream reader).
    sys.stdout = LogStream(logging.getLogger("meshtastic.stdout"), logging.WARNING)
    sys.stderr = LogStream(logging.getLogger("meshtastic.stderr"), logging.ERROR)
    try:
        yield
    finally:
        root.handlers = saved[1]
        root.setLevel(saved[0])
        library.setLevel(library_level)
        sys.stdout, sys.stderr = saved[2], saved[3]


def node_sync_config(config: NodeConfig) -> SyncConfig:
    """The sync settings of relay.toml: the hop limit overrides (None: the sync chooses) and the radio's limit."""
    return SyncConfig(flood_hops=config.relay_hops, routine_hops=config.routine_hops, max_hops=config.max_hops)


def serve(
    home: Home,
    radio: str | None = None,
    *,
    broker: str | None = None,
    time_scale: float = 1.0,
    verbose: bool = False,
) -> int:
    """``relay daemon``: run until SIGTERM/SIGINT.  0 on a clean stop, 1 on a fatal error.

    ``radio`` "none": IP only.  ``broker`` overrides ``[ip] broker`` of relay.toml.
    Configuration errors (no radio, no roster, a key the roster does not list, a
    broker address or password file that cannot be used) raise ``ConfigError``
    before anything starts, so the CLI prints one line and exits 1, and systemd
    restarts the unit once they are fixed.
    """
    from relay.edge import radio as radio_mod

    config = home.config()
    radio_text = radio or config.radio
    signer = home.signer()
    roster = home.roster()
    ip_settings = _ip_settings(config, broker, roster)
    if radio_text is None and ip_settings is None:
        _no_radio()
    url = None if radio_text is None or radio_text.strip().lower() == "none" else radio_mod.parse_url(radio_text)
    if url is None and ip_settings is None:
        raise ConfigError("--radio none krever en IP-vei: oppgi --broker URL eller [ip] broker i relay.toml")
    entry = roster.active(config.node_id)
    if entry is None or entry.public_key != signer.public_key:
        raise ConfigError(
            f"rosteret (versjon {roster.version}) har ikke nøkkelen til {config.node_id}: importer et nytt"
        )
    if time_scale <= 0:
        raise ConfigError("--time-scale må være større enn 0")
    with journal(config.node_id, verbose):
        store = home.store()
        wake = threading.Event()
        transport = None if url is None else radio_mod.MeshtasticTransport(url, config.channel_index, wake=wake)
        ip = None
        if ip_settings is not None:
            from relay.edge.mqtt import MqttTransport

            ip = MqttTransport(ip_settings, config.node_id, wake)
        sync_config = scaled_config(time_scale, node_sync_config(config))
        for name in ("relay_hops", "routine_hops"):
            if getattr(config, name) is not None:
                log.warning(
                    "%s = %s in %s overrides the hop limits the sync chooses; delete it unless on purpose",
                    name,
                    getattr(config, name),
                    home.config_path,
                )
        daemon = Daemon(
            config.node_id,
            signer,
            store,
            roster,
            transport,
            ip=ip,
            wake=wake,
            ip_url=str(ip_settings.broker) if ip_settings is not None else "",
            url=str(url) if url is not None else "",
            time_scale=time_scale,
            config=sync_config,
            roster_file=home.roster_path,
        )

        def on_signal(signum: int, frame: FrameType | None) -> None:
            daemon.stop(signal.Signals(signum).name)

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        code = 0
        try:
            for started in (transport, ip):
                if started is not None:
                    started.start()
            daemon.run()
        except Exception as exc:
            log.critical("fatal: %s: %s", type(exc).__name__, exc, exc_info=True)
            daemon.stop(f"fatal: {type(exc).__name__}")
            code = 1
        finally:
            try:
                daemon.shutdown()
            except Exception as exc:
                log.error("while stopping: %s: %s", type(exc).__name__, exc)
                code = 1
            store.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    return code


def _stamp(path: Path | None) -> tuple[int, int] | None:
    """When and how big a file is: a cheap test for "it changed"."""
    try:
        st = path.stat() if path is not None else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size) if st is not None else None


def _no_radio() -> str:
    raise ConfigError(
        "ingen radio oppgitt: bruk --radio serial:///dev/ttyACM0 eller tcp://HOST:4403, eller sett radio i relay.toml"
        " (--radio none og --broker URL: bare IP)"
    )


def _ip_settings(config: NodeConfig, broker: str | None, roster: Roster) -> IpSettings | None:
    """The IP path from ``[ip]`` and ``--broker`` (which overrides its broker); None without a broker."""
    from relay.edge.mqtt import IpSettings, parse_broker, topic_of

    ip = config.ip
    url = broker or (ip.broker if ip is not None else None)
    if not url:
        return None
    password = None
    if ip is not None and ip.password_file:
        try:
            password = Path(ip.password_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"kan ikke lese passordfilen for megleren {ip.password_file}: {exc}") from None
    ca_file = ip.ca_file if ip is not None else None
    if ca_file and not Path(ca_file).is_file():
        raise ConfigError(f"fant ikke CA-filen for megleren: {ca_file}")
    return IpSettings(
        parse_broker(url),
        (ip.topic if ip is not None and ip.topic else None) or topic_of(roster.region),
        (ip.username if ip is not None and ip.username else None) or config.node_id,
        password,
        ca_file,
    )


# --- relay status ---------------------------------------------------------------------------

SENT_SHOWN = 20


def clock_synchronised(run: Callable[..., Any] = subprocess.run) -> bool | None:
    """Is the system clock NTP-synchronised?  None when this cannot be told."""
    try:
        result = run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True, timeout=3
        )
        answer = str(result.stdout).strip()
        if result.returncode == 0 and answer in ("yes", "no"):
            return answer == "yes"
    except (OSError, subprocess.SubprocessError):
        pass
    timesync = Path("/run/systemd/timesync")
    if (timesync / "synchronized").exists():
        return True
    return False if timesync.is_dir() else None


def _pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # running as another user (the service account)
    return True


def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds") if t is not None else None


def status_report(home: Home, now: float, clock_synced: bool | None) -> dict[str, Any]:
    """The JSON document of ``relay status --json``: the daemon's snapshot and the store."""
    config = home.config()
    try:
        roster: Roster | None = home.roster()
    except ConfigError:
        roster = None
    store = home.store()
    try:
        raw = store.get_state(STATUS_KEY)
        pending = store.pending()
        sent = _sent_messages(store, config.node_id, roster)
    finally:
        store.close()
    try:
        snap: dict[str, Any] | None = json.loads(raw) if raw else None
    except ValueError:
        snap = None
    warnings: list[dict[str, str]] = []
    age = now - float(snap["at"]) if snap and isinstance(snap.get("at"), (int, float)) else None
    running = bool(snap) and age is not None and age <= STALE_AFTER_S and not (snap or {}).get("stopped")
    if running and snap and snap.get("node") == config.node_id and not _pid_alive(snap.get("pid")):
        running = False
    if not running:
        warnings.append({"code": "daemon_not_running", "text": _not_running_text(snap, age)})
    link = dict(snap.get("link", {})) if snap else {}
    if running and link.get("state") not in ("connected", "none"):
        detail = f": {link['detail']}" if link.get("detail") else ""
        warnings.append({"code": "radio_down", "text": f"radioen er ikke tilkoblet{detail}"})
    ip_snap: dict[str, Any] | None = (snap or {}).get("ip") if running else None
    if ip_snap and ip_snap.get("state") != "connected":
        detail = f": {ip_snap['detail']}" if ip_snap.get("detail") else ""
        warnings.append({"code": "ip_down", "text": f"IP-veien (megleren) er nede{detail}; radioen bærer alt"})
    if (snap or {}).get("store_full"):
        # Only what the last snapshot that fit says: when even that cannot be written,
        # the condition is in the daemon's journal alone.
        warnings.append({"code": "store_full", "text": STORE_FULL_TEXT})
    for alarm in (snap or {}).get("alarms", []):
        text = ALARM_TEXT.get(str(alarm.get("code")))
        if text is not None:
            shown = text.format(frame=alarm.get("frame"), count=alarm.get("count", 1))
            warnings.append({"code": str(alarm["code"]), "text": shown})
    if roster is not None and config.node_id in roster.node_ids and roster.active(config.node_id) is None:
        warnings.append({"code": "own_key_revoked", "text": ALARM_TEXT["own_key_revoked"]})
    if clock_synced is False:
        warnings.append(
            {"code": "clock_not_synchronised", "text": "systemklokka er ikke synkronisert: tidsstempler kan være feil"}
        )
    heard_raw: dict[str, Any] = dict(snap.get("heard", {})) if snap else {}
    heard_ip: dict[str, Any] = dict((ip_snap or {}).get("heard", {}))
    nodes = [n for n in (roster.node_ids if roster else ()) if n != config.node_id and roster and roster.active(n)]
    heard = []
    for node in nodes or sorted(heard_raw):
        entry = heard_raw.get(node) or {}
        at = entry.get("at")
        row = {
            "node": node,
            "name": _name(roster, node),
            "at": _iso(at),
            "ago_s": round(now - at, 1) if isinstance(at, (int, float)) else None,
            "via": entry.get("via"),
            "hops": entry.get("hops"),
        }
        if ip_snap is not None:
            ip_at = heard_ip.get(node)
            row.update(ip_at=_iso(ip_at), ip_ago_s=round(now - ip_at, 1) if isinstance(ip_at, (int, float)) else None)
        heard.append(row)
    return {
        "node": config.node_id,
        "name": config.name,
        "now": _iso(now),
        "daemon": {
            "running": running,
            "pid": snap.get("pid") if snap else None,
            "snapshot_at": _iso(snap.get("at")) if snap else None,
            "snapshot_age_s": round(age, 1) if age is not None else None,
            "started": _iso(snap.get("started")) if snap else None,
            "stopped": snap.get("stopped") if snap else None,
        },
        "radio": {
            "state": link.get("state", "unknown") if running else "unknown",
            "url": link.get("url") or config.radio,
            "detail": link.get("detail"),
            "since": _iso(link.get("since")),
            "modem": link.get("modem"),
        },
        "ip": _ip_report(ip_snap, config),
        "clock_synchronised": clock_synced,
        "heard": heard,
        "queue": snap.get("queue") if snap else None,
        "outbox": [f"{origin}-{seq:04d}" for origin, seq, _ in pending],
        "airtime": snap.get("airtime") if snap else None,
        "stats": snap.get("stats") if snap else None,
        "sent": sent,
        "warnings": warnings,
    }


def _ip_report(ip: dict[str, Any] | None, config: NodeConfig) -> dict[str, Any] | None:
    """The IP path as ``relay status --json`` shows it (None: the node has none)."""
    if ip is None:
        return {"state": "unknown", "url": config.ip.broker, "detail": None} if config.ip is not None else None
    return {
        "state": ip.get("state", "unknown"),
        "url": ip.get("url"),
        "detail": ip.get("detail"),
        "since": _iso(ip.get("since")),
        "frames_heard": ip.get("frames_heard"),
        "frames_sent": ip.get("frames_sent"),
        "refused": (ip.get("transport") or {}).get("refused", 0),
        "queue": ip.get("queue"),
    }


def _not_running_text(snap: dict[str, Any] | None, age: float | None) -> str:
    if not snap or age is None:
        return "daemon kjører ikke: ingen statusrapport fra daemon i lageret"
    if snap.get("stopped"):
        return f"daemon kjører ikke: stoppet for {_ago(age)} siden"
    if age > STALE_AFTER_S:
        return f"daemon kjører ikke: siste statusrapport er {_ago(age)} gammel"
    return "daemon kjører ikke: prosessen som skrev siste statusrapport finnes ikke lenger"


def _name(roster: Roster | None, node: str) -> str:
    entry = roster.active(node) if roster else None
    return entry.name if entry else node


def _sent_messages(store: Store, node_id: str, roster: Roster | None) -> list[dict[str, Any]]:
    """This node's own messages, newest first, with the nodes whose summaries show they hold them."""
    rows = store.db.execute(
        "SELECT DISTINCT seq FROM messages WHERE origin=? AND local=1 ORDER BY seq DESC LIMIT ?",
        [node_id, SENT_SHOWN],
    ).fetchall()
    others = [n for n in roster.node_ids if n != node_id and roster.active(n)] if roster else []
    out = []
    for (seq,) in rows:
        held = store.get(node_id, seq)
        if not held:
            continue
        msg = held[0].message
        holders = sorted({r.node for r in store.receipts(node_id, seq)} - {node_id})
        out.append(
            {
                "id": msg.id,
                "kind": msg.kind.value,
                "priority": msg.priority.value,
                "created": msg.created.isoformat(timespec="seconds"),
                "transmitted_at": held[0].transmitted_at.isoformat(timespec="seconds")
                if held[0].transmitted_at
                else None,
                "held_by": holders,
                "missing": [n for n in others if n not in holders],
            }
        )
    return out


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} t"
    return f"{seconds / 86400:.0f} døgn"


def _clock(iso: str | None, tz: tzinfo | None, now_iso: str | None) -> str:
    if iso is None:
        return "aldri"
    t = datetime.fromisoformat(iso).astimezone(tz or UTC)
    today = now_iso is not None and datetime.fromisoformat(now_iso).astimezone(tz or UTC).date() == t.date()
    return t.strftime("%H:%M:%S" if today else "%d.%m %H:%M") + ("" if tz else " UTC")


def _number(value: float, decimals: int = 1) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


LINK_TEXT = {
    "connected": "tilkoblet",
    "down": "frakoblet",
    "connecting": "kobler til",
    "stopped": "stoppet",
    "unknown": "ukjent tilstand (daemon kjører ikke)",
    "none": "ingen (bare IP)",
}
VIA_TEXT = {
    "summary": "oppsummering",
    "request": "forespørsel",
    "message": "melding",
    "fragment": "fragment",
    "bundle": "svar",
}


def _hops_text(hops: object) -> str:
    """How a node is heard: directly, or over the hilltop repeaters (nothing for a snapshot that does not say)."""
    if not isinstance(hops, int) or isinstance(hops, bool):
        return ""
    return ", direkte" if hops <= 0 else f", via {hops} repeater{'' if hops == 1 else 'e'}"


def render_status(report: dict[str, Any], tz: tzinfo | None) -> list[str]:
    """``relay status`` as lines of Norwegian text."""
    now_iso = report["now"]
    lines = [f"Status for {report['node']} ({report['name']})"]
    lines += [f"ADVARSEL: {w['text']}" for w in report["warnings"]]
    daemon = report["daemon"]
    if daemon["running"]:
        lines.append(f"Daemon:    kjører (pid {daemon['pid']}), status {_clock(daemon['snapshot_at'], tz, now_iso)}")
    elif daemon["snapshot_at"]:
        lines.append(f"Daemon:    kjører ikke (siste status {_clock(daemon['snapshot_at'], tz, now_iso)})")
    else:
        lines.append("Daemon:    kjører ikke")
    radio = report["radio"]
    where = f", {radio['url']}" if radio["url"] else ""
    modem = f" ({radio['modem']})" if radio["modem"] and radio["state"] == "connected" else ""
    detail = f": {radio['detail']}" if radio["detail"] and radio["state"] != "unknown" else ""
    lines.append(f"Radio:     {LINK_TEXT.get(radio['state'], radio['state'])}{where}{modem}{detail}")
    ip = report.get("ip")
    if ip is not None:
        where = f", {ip['url']}" if ip.get("url") else ""
        detail = f": {ip['detail']}" if ip.get("detail") and ip["state"] != "unknown" else ""
        carried = ""
        if ip.get("frames_sent") is not None:
            carried = f" ({ip['frames_sent']} rammer sendt, {ip['frames_heard']} hørt)"
        lines.append(f"IP:        {LINK_TEXT.get(ip['state'], ip['state'])}{where}{carried}{detail}")
    clock = {True: "synkronisert", False: "IKKE synkronisert", None: "ukjent"}[report["clock_synchronised"]]
    lines.append(f"Klokke:    {clock}")
    airtime = report["airtime"]
    if airtime:
        used, limit = airtime["used_s"], airtime["limit_s"]
        share = used / limit if limit else 0.0
        lines.append(f"Sendetid:  {_number(used)} s av {_number(limit, 0)} s siste time ({_number(share * 100)} %)")
    queue = report["queue"]
    if queue:
        lines.append("Sendekø:   " + " · ".join(f"{label} {queue.get(label, 0)}" for label in RANK_LABELS.values()))
    if report["outbox"]:
        where = "IP-veien" if radio["state"] == "none" else "radioen"
        lines.append(f"Utboks:    {', '.join(report['outbox'])} (ikke gitt til {where} ennå)")
    lines += ["", "Sist hørt:"]
    if not report["heard"]:
        lines.append("  (ingen andre noder i rosteret)")
    width = max((len(h["node"]) for h in report["heard"]), default=0)
    name_width = max((len(h["name"]) for h in report["heard"]), default=0)
    for h in report["heard"]:
        when = _clock(h["at"], tz, now_iso)
        if h["ago_s"] is not None:
            how = _hops_text(h.get("hops"))
            when += f" (for {_ago(h['ago_s'])} siden, {VIA_TEXT.get(h['via'], h['via'])}{how})"
        if h.get("ip_ago_s") is not None:
            when += f"; over IP for {_ago(h['ip_ago_s'])} siden"
        lines.append(f"  {h['node']:<{width}}  {h['name']:<{name_width}}  {when}")
    lines += ["", "Sendt herfra:"]
    if not report["sent"]:
        lines.append("  (ingen meldinger sendt fra denne noden)")
    for m in report["sent"]:
        total = len(m["held_by"]) + len(m["missing"])
        holders = f"mottatt av {len(m['held_by'])} av {total}"
        if m["held_by"]:
            holders += ": " + ", ".join(m["held_by"])
        if m["transmitted_at"] is None:
            holders = "ikke sendt ennå"
        lines.append(f"  {m['id']}  {m['kind']:<12} {m['priority']:<9} {_clock(m['created'], tz, now_iso)}  {holders}")
    return lines
