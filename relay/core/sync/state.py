"""The state of one node's sync, and what all its parts share: hop limits and the summary timer.

``SyncNode`` (node.py) is built in layers over this one: ``answers.Answering``
(asking for what we lack, answering others in turns), ``receive.Receiving``
(what a heard frame does), and ``SyncNode`` itself (what goes out, and when).
The protocol is described in node.py.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from relay.core import frames, wire
from relay.core.airtime import MAX_APP_PAYLOAD, DutyBudget
from relay.core.frames import Reassembler, Summary
from relay.core.log import Log, Ranges, held_in
from relay.core.model import Message, Priority
from relay.core.roster import Roster
from relay.core.sync.config import RANK_CONTROL, SyncConfig, Transmission
from relay.core.sync.doubled import Doubled
from relay.core.sync.freshness import Freshness, SummaryClock, clock_seconds
from relay.core.sync.holdings import Holdings
from relay.core.sync.outbox import Outbox
from relay.core.sync.peers import Peers
from relay.core.sync.queue import Answer, TxQueue
from relay.core.sync.stolen import Stolen
from relay.core.sync.trickle import Trickle
from relay.errors import DecodeError


@dataclass(frozen=True)
class Received:
    """What one frame from the air came to: the event the driver logs from.

    ``sender`` is the store the frame names as its sender (a summary, request or
    bundle; unauthenticated), ``rejected`` the reason it was refused (None when
    it was taken), ``stored`` the ids of the messages it added to the store, and
    ``echo`` is True for our own frame repeated back to us by a hill.  ``alarm``
    names what the operator must see (``own_origin``: a message under our own
    origin that we never sent, a stolen key)."""

    sender: str | None = None
    hops: int = 0
    rejected: str | None = None
    stored: tuple[str, ...] = ()
    echo: bool = False
    alarm: str | None = None
    voided: tuple[str, ...] = ()  # ids a revocation it carried took out of the store


@dataclass
class SyncStats:
    packets_sent: int = 0
    bytes_sent: int = 0
    airtime_s: float = 0.0
    rejected: Counter[str] = field(default_factory=Counter)
    duplicates_ignored: int = 0
    conflicts: int = 0
    stored: int = 0


MAX_DEFERRALS = 2
SUMMARY_TYPICAL_BYTES = 80  # a signed summary of eight origins: what ``_summary_spacing`` budgets for
URGENT_HUSH_S = 600.0  # after a fresh NØD or HASTER, answers of routine wait for the hills' share this long
HEAL_WINDOW_S = 600.0  # a peer heard again within this long: its news resets Trickle (a heal)
VERIFY_BURST_S = 10.0  # a sender's summaries checked at once: this many seconds' worth of its rate
NEXT_NUMBERS = 2  # a NØD this close above its origin's head has its own quota (``_rate``)
SETTLED_S = 3600.0  # a number held this long moves the sequence window (``_window_base``)
MAX_VERSIONS = 2  # versions of one number a store keeps: the first, and one conflict
GAP_ASKED = 4  # numbers missing below a fresh message that are asked for at once (``_gap``)
CLOCK_TOLERANCE_S = 600.0  # clocks this close agree: a summary's queue at a hill explains it
CLOCK_HORIZON_S = 6 * 3600.0  # our clock is judged by the peers heard within this long
SUMMARY_ECHO_S = 120.0  # the same summary again within this: heard through a relay, not replayed


@dataclass
class Rx:
    """How the frame being handled reached us."""

    hops: int  # repeaters it crossed: 0 heard directly
    hop_start: int  # the hop limit its sender gave it: how far it goes
    stored: list[str] = field(default_factory=list)
    rejected: str | None = None
    alarm: str | None = None
    voided: list[str] = field(default_factory=list)


class SyncState:
    """What one node's sync holds: its store, roster, peers, transmit queue and timers."""

    def __init__(
        self,
        node_id: str,
        key_id: int,
        log: Log,
        roster: Roster,
        dictionaries: Mapping[int, wire.Dictionary],
        airtime: Callable[[int], float],
        rng: random.Random,
        now: float,
        config: SyncConfig | None = None,
        on_stored: Callable[[wire.SignedMessage, float], None] | None = None,
        wall: Callable[[float], float] | None = None,
        on_roster: Callable[[Roster], None] | None = None,
        *,
        sign: Callable[[bytes], bytes],
        elsewhere: Callable[[float], frozenset[str]] | None = None,
        outbox: Outbox | None = None,
        admission: dict[str, tuple[float, float]] | None = None,
        path: str = "radio",
        on_holdings: Callable[[bytes, float], None] | None = None,
    ) -> None:
        self.node_id = node_id
        # Two paths (the radio, and IP through a broker): each has its own SyncNode over
        # the one store.  ``elsewhere`` names the peers the other path reaches now: this
        # path neither answers nor pushes to them, counts them as holders when taking
        # turns, and gives the other path ``elsewhere_grace_s`` to bring what it lacks.
        # ``outbox`` is where our own new messages come from (None: the store's), and
        # ``admission`` the per-origin buckets, shared by both paths: a stolen key gets
        # one rate, not one for each path.
        self._elsewhere = elsewhere or (lambda now: frozenset())
        self.outbox: Outbox = outbox or log
        self._sign = sign  # our key's signature: summaries are signed
        # Summaries are numbered upward for ever, and a peer's older than its newest is a
        # replay, across restarts (freshness.py): both kept in the store.
        self._summary_clock = SummaryClock(log)
        self.doubled = Doubled(log)  # numbers held in two versions, ours and as peers named them
        self.stolen = Stolen(log, node_id)  # our own numbers a thief signed first
        self._freshness = Freshness(log, path, SUMMARY_ECHO_S)
        self.holdings = Holdings()  # who holds what across the region, and what we pass on
        self._on_holdings = on_holdings  # a signed summary with news: the other path may pass it on
        self._clocks: dict[str, tuple[float, float]] = {}  # peer -> (its clock less ours, s; when heard)
        # ``now`` drives every timer and may be any steady clock (the daemon's is
        # monotonic, so a step of the system clock cannot silence the node); ``wall``
        # turns it into the wall-clock time that dates what we store (None: the same).
        self._wall = wall or (lambda now: now)
        self.key_id = key_id
        self.log = log
        self.roster = roster
        self.dictionaries = dictionaries
        self.airtime = airtime
        self.rng = rng
        self.config = config or SyncConfig()
        self.stats = SyncStats()
        self.budget = DutyBudget(self.config.duty_limit, self.config.duty_reserve)
        # What our frames cost a repeater's channel (``_hill_wait``), over a few minutes:
        # a share spent in one burst still collides at the hill.
        self._hill = DutyBudget(1.0, 0.0, window_s=self.config.hill_window_s)
        self._hill_until = now  # when the frame at the head of the queue last fitted that share
        self._on_stored = on_stored
        self._on_roster = on_roster
        self.queue = TxQueue()
        self._reassembler = Reassembler(named=self._expected)
        self._fragment_seen: dict[frames.FragmentKey, float] = {}
        self._requests: dict[tuple[str, int], tuple[float, int | None]] = {}  # item -> (fire at, mask)
        self._asked_at: dict[tuple[str, int], float] = {}
        self._asks: dict[tuple[str, int], tuple[int, int | None]] = {}  # item -> (requests we sent, fragment mask)
        self._responses: dict[tuple[object, ...], Answer] = {}
        self._peer_heads: dict[str, dict[str, int]] = {}
        self._peer_extras: dict[str, dict[str, Ranges]] = {}
        # A store speaks at least every keepalive, at its next Trickle moment: a longer
        # silence is a partition, and hearing it again a heal.
        gone = min(self.config.neighbour_ttl_s, self.config.keepalive_s + self.config.summary_max_s)
        self.peers = Peers(node_id, self.config.neighbour_ttl_s, self.config.max_hops, gone)
        self._lonely_summaries = 0  # summaries sent while we heard nobody: every few probes far
        self._probed_at = now  # when a summary (ours or another's) last went as far as max_hops
        # Admission per origin: (tokens, when).
        self._buckets: dict[str, tuple[float, float]] = {} if admission is None else admission
        self._refused: dict[tuple[str, int], float] = {}  # items of revoked keys -> when refused
        self._deferred: dict[tuple[str, int], float] = {}  # items over their origin's rate -> when they fit
        self._unconfirmed: set[tuple[str, int]] = set()  # wants only a fragment or a gap made: asked for once
        self._extras_page = 0  # which page of held runs our next summary names
        self._peer_state: dict[str, object] = {}
        self._on_air: dict[tuple[object, ...], float] = {}  # item key -> when we last sent it
        self._stored_at: dict[tuple[str, int], float] = {}  # item -> when it reached our store
        self._advertised: dict[str, int] = {}  # the neighbour list of our last summary, with hops
        self._news_at: dict[str, float] = {}  # peer -> when its last summary or request told us what it holds
        self._sends: dict[tuple[str, int], dict[str, float]] = {}  # item -> who sent it (we heard, or us), when
        self.trickle = Trickle(self.config.summary_min_s, rng, now, self.config.redundancy)
        self._summary_sent_at = now
        self._summary_due: float | None = None  # one summary asked for by ``_speak_soon``
        self._urgent_at = -1e18  # when we last sent or stored a fresh NØD or HASTER

        self._poll_outbox = True
        self._summary_page = 0

    def _tokens(self, key: str, burst: float, rate_per_h: float, now: float) -> float:
        level, at = self._buckets.get(key, (burst, now))
        return min(burst, level + max(0.0, now - at) * rate_per_h / 3600.0)

    def _rate_buckets(self, origin: str, priority: Priority, seq: int | None) -> list[tuple[str, float, float]]:
        """The admission buckets (key, burst, per hour) a message of ``origin`` is counted
        in: the origin's, and its NØD one; a NØD numbered at most ``NEXT_NUMBERS`` above
        what we hold of the origin only in a bucket of its own (``Receiving._rate``)."""
        nod_bucket = (self.config.nod_per_h, self.config.nod_per_h)
        if priority is Priority.NOD and seq is not None and seq <= self.log.summary().get(origin, 0) + NEXT_NUMBERS:
            return [(f"{origin}/NØD-next", *nod_bucket)]
        buckets = [(origin, self.config.origin_burst, self.config.origin_rate_per_h)]
        return buckets + ([(f"{origin}/NØD", *nod_bucket)] if priority is Priority.NOD else [])

    def _over_rate(self, origin: str, priority: Priority, now: float, seq: int | None = None) -> bool:
        """Is ``origin`` sending more than we admit (a bucket its message would be counted
        in empty)?  Then we push none of its messages unasked: a store on the same rate
        would refuse them, and each refused answer is airtime lost."""
        return any(
            self._tokens(key, burst, rate, now) < 1.0 for key, burst, rate in self._rate_buckets(origin, priority, seq)
        )

    def _date(self, now: float) -> datetime:
        return datetime.fromtimestamp(self._wall(now), UTC)

    def _age(self, msg: Message, now: float) -> float:
        """How old ``msg`` is by its origin's clock, as the origin's signed summaries
        show it: a Pi that boots 40 days behind dates its messages 40 days back, and
        judged by our clock every store refused them (``too_old``), silently."""
        return self._wall(now) + self.clock_offset(msg.origin) - msg.created.timestamp()

    def clock_offset(self, peer: str) -> float:
        """How far ``peer``'s clock is ahead of ours (s; 0 when unknown, or within what
        a summary's time on the way explains)."""
        offset = self._clocks.get(peer, (0.0, 0.0))[0]
        return offset if abs(offset) > CLOCK_TOLERANCE_S else 0.0

    def clock_skew(self, now: float) -> tuple[float, int] | None:
        """How far our clock is ahead of the region's (s; negative: behind), as the
        median of the peers heard within ``CLOCK_HORIZON_S`` says, and how many that
        is; None when we heard none."""
        offsets = sorted(-o for o, at in self._clocks.values() if now - at <= CLOCK_HORIZON_S)
        if not offsets:
            return None
        return statistics.median(offsets), len(offsets)

    def _slot(self, hops: int, packets: int = 1) -> float:
        """One answer's turn: its packets (full ones), once more for each repeater
        that carries them, and a guard, so the next in line hears it first."""
        return self.airtime(MAX_APP_PAYLOAD) * packets * (1 + hops) + self.config.answer_guard_s

    def _control_hops(self, now: float) -> int:
        """How far summaries and requests go: to every store we hear outside our
        direct island (see ``Peers.reach_hops``)."""
        if self.config.repair_hops is not None:
            return self.config.repair_hops
        lonely = self._lonely(now)
        probe = lonely and self._lonely_summaries % max(self.config.probe_every, 1) == 0
        return self.peers.reach_hops(now, lonely, probe)

    def _probe_due(self, now: float) -> bool:
        """Should this summary go as far as the radio allows, to find stores our
        view lacks?  (Not when we hear nobody: the lonely probe covers that.)"""
        if self.config.repair_hops is not None or now - self._probed_at < self.config.probe_missing_s:
            return False
        if self._lonely(now):
            return False
        stores = {n for n in self.roster.members("ALLE") if self.roster.active(n) is not None}
        return bool(stores - self.peers.in_view(now) - {self.node_id})

    def _answer_hops(self, waiting: set[str], now: float) -> int:
        """How far an answer goes: to the farthest peer that waits for it."""
        if self.config.repair_hops is not None:
            return self.config.repair_hops
        return self.peers.hops_for(waiting, now, self._control_hops(now))

    def _flood_hops(self, priority_rank: int, now: float) -> int:
        """Hop limit of a fresh message of this priority: as far as every store we
        hear outside our direct island, unless the configuration says otherwise.  A
        NØD goes as far as the radio allows: our view of the region may lack a part
        cut off from it behind a hill (in the field plan, Modum's partition left
        Krødsherad and Sigdal two hills away, unheard, and a police NØD reached
        them only at the heal, 2600 s later, in 3 of 10 seeds)."""
        if priority_rank == Priority.NOD.rank and self.config.flood_hops is None:
            return self.config.max_hops
        fixed = self.config.flood_hops
        if priority_rank > Priority.HASTER.rank and self.config.routine_hops is not None:
            fixed = self.config.routine_hops
        return self._control_hops(now) if fixed is None else fixed

    def _heard_from(self, peer: str, now: float, hops: int = 0) -> None:
        self.peers.heard(peer, hops, now)

    def _lacks(self, peer: str, origin: str, seq: int) -> bool:
        """Does what we last heard from ``peer`` show it lacks the item?  (Unknown: no.)"""
        heads = self._peer_heads.get(peer)
        if heads is None or origin == peer:
            # An origin holds its own numbers, or refuses them as a stolen key's: pushing
            # a thief's flood to its owner cost 256-635 refusals' worth of airtime.
            return False
        if not held_in(heads.get(origin, 0), self._peer_extras.get(peer, {}).get(origin, ()), seq):
            return True
        return self.doubled.lacks(peer, (origin, seq))  # one version of two

    def _expected(self, key: frames.FragmentKey) -> bool:
        """Is a partial message one we expect: asked for, named by a peer's summary, or
        within two of its origin's head here (a fresh push)?  Forged partials that are
        none of these never evict one that is (``Reassembler``)."""
        try:
            origin = self.roster.key_entry(key.key_id).node_id
        except DecodeError:
            return False
        seq = self._full_seq(origin, key.seq16)
        item = (origin, seq)
        if item in self._asks or item in self._requests or seq <= self.log.summary().get(origin, 0) + 2:
            return True
        return any(origin in heads and not self._lacks(peer, origin, seq) for peer, heads in self._peer_heads.items())

    def _full_seq(self, origin: str, seq16: int) -> int:
        """The sequence number a fragment's low 16 bits stand for: the first above our head."""
        base = self.log.summary().get(origin, 0)
        candidate = (base & ~0xFFFF) | seq16
        return candidate if candidate > base else candidate + 0x10000

    def _summary_min(self, now: float) -> float:
        """Trickle's shortest interval.  A summary that crosses repeaters costs one
        transmission more for each, on a channel every store shares through the
        hill: the interval grows with the hops, so the summaries' share of the hill
        stays what it is where the stores hear each other."""
        return self.config.summary_min_s * (1 + self._control_hops(now))

    def _inconsistent(self, now: float) -> None:
        self.trickle.reset(now, self._summary_min(now))

    def _speak_soon(self, now: float) -> None:
        """Send one summary within Trickle's shortest interval, without resetting it:
        news that one summary tells the region (our own new message, so that a store
        that missed its push asks; or an old message repaired to us, so that the stores
        beyond us learn of it).  A reset costs about five summaries, each crossing every hill."""
        floor = self._summary_min(now)
        due = max(now + self.rng.uniform(floor / 2, floor), self._summary_sent_at + self._summary_spacing(now))
        if self._summary_due is None or due < self._summary_due:
            self._summary_due = due

    def _announce(self, now: float) -> None:
        """Say within ``announce_s`` that we now hold a message: the MOTTATT its origin
        shows for us is made of our signed summary, and a store that Trickle keeps quiet
        said so only at its hourly keepalive (Modum, 10 seeds: the receipt lag's p90 was
        57 minutes; 15 minutes with this).  One summary for all that came meanwhile, and
        none of its own if another went out before (``_queue_summary``)."""
        due = max(now + self.rng.uniform(*self.config.announce_s), self._summary_sent_at + self._summary_spacing(now))
        if self._summary_due is None or due < self._summary_due:
            self._summary_due = due

    def _sharers(self, now: float) -> int:
        """How many stores share the repeaters' channel with us (0: we need none)."""
        if self._control_hops(now) == 0:
            return 0
        return 1 + len(self.peers.neighbours(now))

    def _summary_spacing(self, now: float) -> float:
        """The least time between two summaries of ours that news asks for, where the
        stores share repeaters: all of them together, each summary relayed by every
        repeater on its way, stay within ``summary_share`` of the channel.  (Field plan,
        eight stores over two hills: about 8 minutes.  At 60 messages an hour every
        store spoke every minute, and the hills hit their 10 %.)"""
        sharers = self._sharers(now)
        if not sharers:
            return 0.0
        per_summary = self.airtime(SUMMARY_TYPICAL_BYTES) * (1 + self._control_hops(now))
        return sharers * per_summary / self.config.summary_share

    def _run_trickle(self, now: float) -> None:
        if self._lonely(now):
            self.trickle.cap(now, self.config.lonely_max_s)
        if self.trickle.fire(now):
            keepalive = now - self._summary_sent_at >= self.config.keepalive_s
            # A probe for a store our view lacks is reason to speak: with one agreeing
            # summary enough to keep quiet, it no longer rides on the summaries Trickle
            # lets through.
            quiet = self.trickle.suppressed(len(self.peers.neighbours(now)))
            if not quiet or keepalive or self._probe_due(now) or self._lagging(now):
                self._queue_summary(now)
        if self._summary_due is not None and now >= self._summary_due:
            self._queue_summary(now)
        ceiling = self.config.lonely_max_s if self._lonely(now) else self.config.summary_max_s
        self.trickle.expire(now, self._summary_min(now), ceiling)

    def _queue_summary(self, now: float) -> None:
        self._summary_sent_at = now
        self._summary_due = None
        if ("summary",) not in self.queue:
            tx = Transmission(self.summary_frame(now), self._control_hops(now), RANK_CONTROL)
            self.queue.push(("summary",), tx)

    def _lagging(self, now: float) -> bool:
        """Does a neighbour's last summary show it lacks something we have held for a
        while?  Then agreeing summaries from others must not keep ours back: the
        lagging node may have missed our answer and, agreeing with everyone it hears,
        has nothing to wake it.  (Something we got moments ago does not count: a node
        that got it too says so in its own summary soon.)"""
        settled = now - 2 * self.config.summary_min_s
        for peer in self.peers.neighbours(now):
            heads = self._peer_heads.get(peer)
            if heads is None:
                continue
            offer = self.log.offer(heads, limit=self.config.push_per_summary, extras=self._peer_extras.get(peer, {}))
            lacks = [item for item in offer if item[0] != peer]  # its own: held, or refused (``_lacks``)
            # Only what it lacked when it last spoke, while we held it: a peer that kept
            # quiet since (suppressed by agreeing summaries) most likely got it by the
            # same flood, and counting it as lagging made every store speak after every
            # message.  (Not a flooding origin's: it lacks them because it refuses them.)
            told = self._news_at.get(peer, -1e18) - self.config.summary_min_s
            if any(
                self._stored_at.get(item, -1e18) <= min(settled, told) and not self._flooding(item[0], now)
                for item in lacks
            ):
                return True
        return False

    def _flooding(self, origin: str, now: float) -> bool:
        """Is ``origin`` over its rate here, in all it sends or in its NØD?"""
        next_nod = self._tokens(f"{origin}/NØD-next", self.config.nod_per_h, self.config.nod_per_h, now) < 1.0
        return next_nod or self._over_rate(origin, Priority.RUTINE, now) or self._over_rate(origin, Priority.NOD, now)

    def _lonely(self, now: float) -> bool:
        return now >= self._lonely_at()

    def _lonely_at(self) -> float:
        """When we turn lonely if we hear nobody before."""
        return self.peers.last_heard() + self.config.lonely_after_s

    def summary_frame(self, now: float | None = None) -> bytes:
        """Our heads and who we hear; with more origins than one packet holds, a rotating page of them."""
        heads = sorted(self.log.summary().items())
        extras = tuple(sorted(self.log.extras(self._extras_page).items()))
        heard = self.peers.advertised(now if now is not None else self.peers.last_heard())
        ids = self.roster.node_ids
        listed = sorted((ids.index(p), h) for p, h in heard.items() if p in ids)
        neighbours = tuple(i for i, _ in listed)
        hops = tuple(h for _, h in listed) if any(h for _, h in listed) else ()
        self._advertised = {ids[i]: h for i, h in listed}
        wall = self._wall(now if now is not None else max(self.peers.last_heard(), self._summary_sent_at))
        count = self._summary_clock.next(wall)
        clock = clock_seconds(wall)
        self.doubled.refresh()
        twice = self.doubled.listed(wall)
        whole = Summary(
            self.key_id, self.roster.version, tuple(heads), True, extras, neighbours, hops, count, clock, twice
        )
        try:
            return whole.signed(self._sign)
        except ValueError:
            pass
        start = self._summary_page % len(heads)
        rotated = heads[start:] + heads[:start]
        page: list[tuple[str, int]] = []
        summary = None
        for head in rotated:
            candidate = Summary(
                self.key_id,
                self.roster.version,
                tuple(sorted([*page, head])),
                False,
                (),
                neighbours,
                hops,
                count,
                clock,
                twice,
            )
            try:
                candidate.to_bytes()
            except ValueError:
                break
            summary = candidate
            page.append(head)
        self._summary_page = start + len(page)
        return summary.signed(self._sign) if summary is not None else b""

    def queued_ranks(self) -> list[int]:
        """The transmit ranks of the frames waiting for the radio (for ``relay status``)."""
        return [q.rank for q in self.queue.live()]
