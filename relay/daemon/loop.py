"""The daemon's loop: what the paths hear goes to their syncs, what they poll goes out.

See the package docstring for the two clocks, the paths and the journal.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relay.core import frames, wire
from relay.core.airtime import LONG_FAST, MAX_APP_PAYLOAD, packet_airtime
from relay.core.radioqueue import priority_for_rank
from relay.core.roster import Roster
from relay.core.signing import Signer
from relay.core.sync import SyncConfig, SyncNode
from relay.core.sync.config import IP_CONFIG, IP_SECONDS_PER_FRAME
from relay.core.sync.outbox import PathOutbox
from relay.edge import dictionaries
from relay.edge.store import Store, StoreError, is_full
from relay.edge.transport import Heard, Transport
from relay.errors import ConfigError
from relay.texts import Localized, node_lang

if TYPE_CHECKING:
    pass

from relay.daemon.base import NodePath
from relay.daemon.describe import describe_frame, heard_from, how_heard, speaks_for
from relay.daemon.faults import file_stamp
from relay.daemon.status import Reporting, ip_warning

log = logging.getLogger("relay.daemon")

CLOCK_STEP_S = 1.0  # the wall clock moved this much against the monotonic one: a step (slewing is far slower)

OUTBOX_POLL_S = 1.0

MAX_WAIT_S = 0.5  # the loop wakes at least this often (signals, the outbox, the link)

MAX_FRAMES_PER_STEP = 64  # a flood of received frames cannot starve sending

TX_MARGIN = 1.1  # the radio's listen-before-talk delay on top of the airtime

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


class Daemon(Reporting):
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
        self._roster_stamp = file_stamp(roster_file)
        self.url = url
        self.clock = clock
        self.wall = wall
        self.time_scale = time_scale  # the sync's timers and the airtime shrink; the clocks run at their pace
        self.ip_url = ip_url
        self.lang = node_lang()  # what the journal says to the operator about a path, in nb or en
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
                path=name,
                **kw,
            )

        self.radio: NodePath | None = None
        self.ip: NodePath | None = None
        if transport is not None:
            elsewhere = self._ip_peers if ip is not None else None
            radio_sync = sync_for(
                "radio",
                config or scaled_config(time_scale),
                self.airtime,
                elsewhere=elsewhere,
                on_holdings=partial(self._holdings_across, "ip"),
            )
            self.radio = NodePath("radio", transport, radio_sync, self._radio_pace, free_at=now, link_since=now)
        if ip is not None:
            outbox = PathOutbox() if transport is not None else None  # IP only: the store's outbox is its own
            if outbox is not None:
                for origin, seq, rank in store.pending():
                    outbox.add(origin, seq, rank)
            ip_sync = sync_for(
                "ip",
                scaled_config(time_scale, IP_CONFIG),
                self._ip_airtime,
                outbox=outbox,
                on_holdings=partial(self._holdings_across, "radio"),
            )
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

    def _holdings_across(self, to: str, frame: bytes, now: float) -> None:
        """A signed summary one path took, for the other path to pass on (self.radio and
        self.ip are set once both syncs exist: a summary cannot come before)."""
        path = self.ip if to == "ip" else self.radio
        if path is not None:
            path.sync.take_held(frame, now)

    def _ip_peers(self, now: float) -> frozenset[str]:
        """The stores the IP path reaches now: none while it is down, or while the broker
        refuses what we publish (we may hear them, but they do not hear us)."""
        if self.ip is None or not self.ip.transport.connected or getattr(self.ip.transport, "refusing", False):
            return frozenset()
        return frozenset(self.ip.sync.peers.neighbours(now))

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

    def _on_frame(self, path: NodePath, heard: Heard, now: float) -> None:
        path.frames_heard += 1
        frame = heard.frame
        if heard.publisher is not None and not speaks_for(frame, heard.publisher, self.roster):
            path.sync.stats.rejected["not_its_publisher"] += 1
            self._log_rejected("not_its_publisher", frame, now)
            return
        try:
            received = path.sync.receive(frame, now, heard.hops, heard.hop_start)
        except StoreError as exc:
            if not is_full(exc):
                raise  # the store is broken: unrecoverable, let systemd restart us
            what = describe_frame(frame, self.roster)
            self._on_store_full(
                Localized(
                    f"{exc}: mistet {what} hørt {how_heard(heard.hops, 'nb')}; ikke for godt: synkroniseringen"
                    " ber om den igjen når det er plass (sammendragene viser hva vi mangler)",
                    f"{exc}: lost {what} heard {how_heard(heard.hops)}; not lost for good: the sync asks for it"
                    " again once there is room (the summaries show what we lack)",
                ),
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
            log.debug("heard our own %s back %s", describe_frame(frame, self.roster), how_heard(received.hops))
            return
        if received.alarm is not None:
            self._alarm(received.alarm, frame, now)
        if received.voided:
            self._quarantine(list(received.voided), "revoked", now)
        if received.rejected is not None:
            self._log_rejected(received.rejected, frame, now)
            return
        source = heard_from(frame, received)
        if source is not None and path is self.radio:
            self._note_heard(source[0], source[1], received.hops, now)
        elif source is not None and source[0] != self.node_id:
            path.heard[source[0]] = now
        if log.isEnabledFor(logging.DEBUG):
            how = how_heard(received.hops) if path is self.radio else "by IP"
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

    def _check_outbox(self) -> None:
        version = self.store.data_version()
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
            if not path.transport.send(tx.frame, tx.hop_limit, priority_for_rank(tx.rank), tx.want_ack):
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
            self._on_store_full(
                Localized(
                    f"kunne ikke merke {ids} som sendt; sendt likevel, og ikke igjen av denne daemonen",
                    f"could not record {ids} as sent; sent anyway, and not again by this daemon",
                ),
                now,
            )
        self._unsaved_marks = len(marks)

    def _watch_link(self, path: NodePath, now: float) -> None:
        seen = (path.transport.connected, path.transport.link_detail)
        if seen != path.link_seen:
            if path.link_seen is None or seen[0] != path.link_seen[0]:
                path.link_since = now
            path.link_seen = seen
            self._status_dirty = True
            self._say_problem(path)

    def _say_problem(self, path: NodePath) -> None:
        """The journal says what is wrong with the IP path in the node's language (RELAY_LANG/LANG),
        once per change: the same words as ``relay status``."""
        problem = getattr(path.transport, "problem", None)
        if path is not self.ip or not isinstance(problem, dict) or problem.get("code") == "ip_connecting":
            return
        warning = ip_warning({"problem": problem}, self.radio is None, self.lang)
        log.warning("%s", warning["text"])
