"""Store-and-forward sync between town halls: a sans-IO state machine.

One ``SyncNode`` per node.  The driver (the virtual-time simulator, or the
daemon with a radio) feeds it what the radio heard and asks it what to send;
time arrives as ``now`` (seconds), randomness as a seeded ``rng``.

How it converges (see README, "Sync"):

* **Push.**  A message committed locally is sent at once, flooded by the
  firmware with ``flood_hops``; one packet if it fits, else fragments.
* **Summaries.**  Each node broadcasts, to its neighbours only (hop limit 0),
  the highest contiguous sequence number it holds per origin, and who it hears.
  Timing follows Trickle (RFC 6206): the interval doubles from
  ``summary_min_s`` up to ``summary_max_s`` while every summary heard agrees
  with ours, and a node keeps quiet when it already heard ``redundancy``
  agreeing summaries in the interval.  Anything inconsistent (a differing
  summary, a gap, new data) resets the interval to the minimum.  Three
  additions: a node that has heard nobody for an hour (cut off) keeps its
  interval at ``lonely_max_s``, so a heal is found within minutes; a node that
  knows a neighbour lacks something is not kept quiet by others agreeing; and
  nobody stays quiet past ``keepalive_s``, so neighbour lists stay true.
* **Repair.**  A node that learns, from a summary, of messages it lacks asks
  for exactly those (one REQUEST for all of them, after jitter; a request
  heard from another node for the same items suppresses ours), and asks again,
  at growing intervals, while they do not come.  Every holder that hears the
  request, or a summary showing a neighbour lacks something, answers in its
  own turn: among the holders it knows to reach the waiting node (and that
  node's neighbours it never hears, which may be answering too), the one that
  reaches the most nodes still lacking the item goes first (ties, or unknown
  neighbours, by a hash of peer and node), the next a full packet later, so it
  hears the first answer before its own turn comes.  Answers go out as BUNDLEs: as many whole
  messages as fit one packet, with the sender's key id.  Summaries carry the
  sender's neighbour list, so a holder that overhears an answer knows which of
  the nodes it meant to serve that answer reached; it stays quiet only for
  those (plain SRM suppression would leave a hidden neighbour waiting for the
  next summary), and holds its other answers for them back a turn, since the
  other holder may have more for them.  A message that arrives by repair is passed on at once
  to neighbours whose last summary shows they lack it.  An incomplete
  fragmented message is asked for by its missing fragments only.  Summaries
  and requests are built when the radio takes them, so they never ask for
  what arrived while they waited in the queue.
* **Receipts.**  A summary from node N proves N holds every message up to
  its heads: the MOTTATT receipts are derived from summaries, at no airtime.

Transmit order: NØD data, HASTER data, control frames, PRIORITET, RUTINE.
Each node keeps its own rolling-hour duty budget with a reserve for NØD and
HASTER (``airtime.DutyBudget``).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from relay.core import frames, wire
from relay.core.airtime import MAX_APP_PAYLOAD, DutyBudget
from relay.core.frames import Bare, Bundle, Fragment, Reassembler, Request, Summary, Want
from relay.core.log import MAX_RANGES, Inserted, Log, Ranges, held_in, merge_runs
from relay.core.model import Message, Priority
from relay.core.roster import Roster
from relay.core.sync import revocation
from relay.core.sync.config import RANK_CONTROL, SyncConfig, Transmission, data_rank
from relay.core.sync.outbox import Outbox
from relay.core.sync.peers import Peers
from relay.core.sync.queue import Answer, Queued, TxQueue
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
SUMMARIES_REMEMBERED = 64  # per peer, to tell a replay: hours of its summaries
SUMMARY_ECHO_S = 120.0  # the same summary again within this: heard through a relay, not replayed


class SyncNode:
    """The sync protocol of one node over its ``Log``."""

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
        # From the start time, not the rng (whose draws time everything else): a restart
        # begins elsewhere, so its summaries are not taken for replays of the last run's.
        self._summary_counter = int.from_bytes(hashlib.sha256(f"{node_id}/{now!r}".encode()).digest()[:2], "big")
        self._summaries_seen: dict[str, dict[bytes, float]] = {}  # peer -> its latest summary bodies' digests
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
        self._reassembler = Reassembler()
        self._fragment_seen: dict[frames.FragmentKey, float] = {}
        self._requests: dict[tuple[str, int], tuple[float, int | None]] = {}  # item -> (fire at, mask)
        self._asked_at: dict[tuple[str, int], float] = {}
        self._asks: dict[tuple[str, int], tuple[int, int | None]] = {}  # item -> (requests we sent, fragment mask)
        self._responses: dict[tuple[object, ...], Answer] = {}
        self._peer_heads: dict[str, dict[str, int]] = {}
        self._peer_extras: dict[str, dict[str, Ranges]] = {}
        self.peers = Peers(node_id, self.config.neighbour_ttl_s, self.config.max_hops)
        self._lonely_summaries = 0  # summaries sent while we heard nobody: every few probes far
        self._probed_at = now  # when a summary (ours or another's) last went as far as max_hops
        # Admission per origin: (tokens, when).
        self._buckets: dict[str, tuple[float, float]] = {} if admission is None else admission
        self._refused: dict[tuple[str, int], float] = {}  # items of revoked keys -> when refused
        self._from_fragment: set[tuple[str, int]] = set()  # wants only a fragment made: asked for once
        self._extras_page = 0  # which page of held runs our next summary names
        self._peer_state: dict[str, object] = {}
        self._on_air: dict[tuple[object, ...], float] = {}  # item key -> when we last sent it
        self._stored_at: dict[tuple[str, int], float] = {}  # item -> when it reached our store
        self._advertised: dict[str, int] = {}  # the neighbour list of our last summary, with hops
        self._news_at: dict[str, float] = {}  # peer -> when its last summary or request told us what it holds
        self._sends: dict[tuple[str, int], dict[str, float]] = {}  # item -> who sent it (we heard, or us), when
        self.trickle = Trickle(self.config.summary_min_s, rng, now, self.config.redundancy)
        self._summary_sent_at = now
        self._poll_outbox = True
        self._summary_page = 0

    # --- inputs --------------------------------------------------------------

    def local_message(self) -> None:
        """The store's outbox changed (the CLI committed a message)."""
        self._poll_outbox = True

    def learned(self, signed: wire.SignedMessage, now: float) -> None:
        """The other path stored ``signed``: stop asking for it, pass it on to the
        neighbours only this path serves that are known to lack it, and, if some of
        them we know nothing of, let our summaries say so soon.  Where the other
        path serves every neighbour, this one spends nothing on it."""
        msg = signed.message
        item = (msg.origin, msg.seq)
        self._requests.pop(item, None)
        self._asked_at.pop(item, None)
        self._asks.pop(item, None)
        if len(self._stored_at) > 4096:
            self._stored_at.clear()
        self._stored_at[item] = now
        elsewhere = self._elsewhere(now)
        ours = [p for p in self.peers.neighbours(now) if p not in elsewhere and p != msg.origin]
        if not ours:
            return
        self._forward(signed, now, None, _Rx(0, 0))
        if any(p not in self._peer_heads for p in ours):
            self._inconsistent(now)

    def receive(self, frame: bytes, now: float, hops: int = 0, hop_start: int | None = None) -> Received:
        """A frame heard on the air, ``hops`` repeaters away (hop_start - hop_limit of
        the packet; 0: heard directly), sent with hop limit ``hop_start`` (None:
        ``hops``, all of it spent).  Never raises: a bad frame comes back rejected."""
        rx = _Rx(max(hops, 0), max(hops, hop_start if hop_start is not None else hops))
        try:
            parsed = frames.parse(frame)
            sender = self._sender_of(parsed, now)
            if sender == self.node_id:
                return Received(sender, rx.hops, echo=True)  # our own frame, repeated by a hill
            if isinstance(parsed, Request) and sender is not None:
                # A request only refreshes a peer we know, never brings it nearer: it
                # costs others airtime, so a forged one must not also place a far
                # node at our door (its summaries will, if it is there).
                self.peers.refresh(sender, rx.hops, now)
            elif sender is not None:
                self._heard_from(sender, now, rx.hops)
            self._dispatch(parsed, now, rx, sender)
        except DecodeError as exc:
            self.stats.rejected[exc.reason] += 1
            return Received(None, rx.hops, rejected=exc.reason, stored=tuple(rx.stored), alarm=rx.alarm)
        return Received(
            sender, rx.hops, stored=tuple(rx.stored), rejected=rx.rejected, alarm=rx.alarm, voided=tuple(rx.voided)
        )

    def _sender_of(self, parsed: frames.Frame, now: float) -> str | None:
        """The node a frame names as its sender.  A summary must be signed by it:
        receipts, "last heard" and the neighbour lists are made of summaries."""
        key_id = frames.sender_key(parsed)
        if key_id is None:
            return None
        entry = self.roster.entry_for_key(key_id)
        if isinstance(parsed, Summary):
            if not parsed.verify(entry.public_key):
                raise DecodeError(f"summary from {entry.node_id} not signed by its key", "bad_signature")
            self._fresh(entry.node_id, parsed.body, now)
        return entry.node_id

    def _fresh(self, peer: str, body: bytes, now: float) -> None:
        """Refuse a summary body heard from ``peer`` minutes ago: a replay would keep a
        node that went dark looking alive (its counter makes each genuine one new).
        The same body again within ``SUMMARY_ECHO_S`` is the one transmission heard
        once more through a relaying radio, and counts as before."""
        digest = hashlib.sha256(body).digest()[:8]
        seen = self._summaries_seen.setdefault(peer, {})
        first = seen.setdefault(digest, now)
        if now - first > SUMMARY_ECHO_S:
            raise DecodeError(f"summary from {peer} heard before", "replay")
        while len(seen) > SUMMARIES_REMEMBERED:
            del seen[next(iter(seen))]

    def _dispatch(self, parsed: frames.Frame, now: float, rx: _Rx, sender: str | None) -> None:
        if isinstance(parsed, Bare):
            self._accept_message(parsed.data, now, rx)
        elif isinstance(parsed, Fragment):
            self._receive_fragment(parsed, now, rx)
        elif isinstance(parsed, Summary):
            assert sender is not None
            self._receive_summary(parsed, sender, now, rx)
        elif isinstance(parsed, Request):
            assert sender is not None
            self._receive_request(parsed, sender, now, rx)
        else:
            assert sender is not None
            self._receive_bundle(parsed, sender, now, rx)

    def _receive_bundle(self, bundle: Bundle, sender: str, now: float, rx: _Rx) -> None:
        for data in bundle.messages:
            try:
                self._accept_message(data, now, rx, sender)
            except DecodeError as exc:  # one bad entry costs only itself
                self.stats.rejected[exc.reason] += 1
                rx.rejected = rx.rejected or exc.reason
        self._defer(sender, now, rx.hop_start)

    def _defer(self, sender: str, now: float, radius: int) -> None:
        """``sender`` is answering: our answers to the peers it reaches wait until it has
        been quiet for a turn, since it may hold more for them than one packet carries
        (its next bundle would cross ours).  Only a few times: where every store hears
        every other over a hill, some bundle is always on the air, and answers held
        back at each one never went out (SIG asked for one message 40 times)."""
        if not self.peers.knows_list(sender):
            return
        slot = self._slot(radius)
        for answer in self._responses.values():
            if answer.deferred < MAX_DEFERRALS and any(self.peers.reaches(sender, p, radius) for p in answer.waiting):
                answer.deferred += 1
                answer.fire = max(answer.fire, now + slot + self.rng.uniform(0.0, self.config.response_jitter_s))

    def _date(self, now: float) -> datetime:
        return datetime.fromtimestamp(self._wall(now), UTC)

    def _slot(self, hops: int, packets: int = 1) -> float:
        """One answer's turn: its packets (full ones), once more for each repeater
        that carries them, and a guard, so the next in line hears it first."""
        return self.airtime(MAX_APP_PAYLOAD) * packets * (1 + hops) + self.config.answer_guard_s

    def _accept_message(self, data: bytes, now: float, rx: _Rx, sender: str | None = None) -> None:
        try:
            signed = wire.decode(data, self.roster, self.dictionaries)
        except DecodeError as exc:
            if exc.reason == "revoked":
                self._refuse(data, now)
            raise
        msg = signed.message
        self._admit(msg, now, rx)
        notice = revocation.notice_of(msg, self.roster)
        # Only a verified copy silences our pending answer: a forged frame naming the
        # item must not.  (A fragment cannot be verified alone; a forged fragment can
        # delay one answer until the next request, never lose it.)
        self._overheard(("msg", msg.origin, msg.seq), sender, rx.hop_start)
        result = self.log.insert(signed, self._date(now))
        item = (msg.origin, msg.seq)
        self._sent(item, sender or msg.origin, now)  # a bare frame: most likely its origin's push
        self._requests.pop(item, None)
        self._asked_at.pop(item, None)
        self._asks.pop(item, None)
        if result is Inserted.DUPLICATE:
            self.stats.duplicates_ignored += 1
            return
        self.stats.stored += 1
        if len(self._stored_at) > 4096:
            self._stored_at.clear()  # a memory bound: what we forget counts as held long
        self._stored_at[item] = now
        if result is Inserted.CONFLICT:
            self.stats.conflicts += 1
        rx.stored.append(msg.id)
        if notice is not None:
            rx.voided += self.set_roster(self.roster.with_notice(notice), now)
        if self._on_stored is not None:
            self._on_stored(signed, now)
        self._forward(signed, now, sender, rx)
        # A gap below this message is not asked for blindly: after a restore an
        # origin skips numbers that will never exist.  Summaries name what exists;
        # resetting Trickle makes them come soon.
        self._inconsistent(now)

    def _refuse(self, data: bytes, now: float) -> None:
        """Remember a void message of a revoked key, so that we do not ask for its
        number again for ``refuse_hold_s`` (a holder without the revocation served
        one 149 times in 3 hours).  Not for ever: the origin's new key may fill
        that number with a genuine message, which another holder then brings."""
        head = wire.peek(data)
        origin = next((e.node_id for e in self.roster.entries if e.key_id == head.key_id), None)
        if origin is not None:
            if len(self._refused) > 4096:
                self._refused.clear()  # a memory bound: what we forget is refused again
            item = (origin, head.seq)
            self._refused[item] = now
            self._requests.pop(item, None)
            self._asked_at.pop(item, None)  # a re-ask timer left behind would be due for ever
            self._asks.pop(item, None)

    def set_roster(self, roster: Roster, now: float) -> list[str]:
        """Use ``roster`` from now on (a newer file, or a notice heard over the air).
        Messages its revocations void are quarantined; returns their ids."""
        newly = revocation.newly_revoked(self.roster, roster)
        self.roster = roster
        voided: list[str] = []
        for entry in roster.entries:
            if entry.node_id in newly and entry.revoked is not None:
                voided += self.log.void_revoked(entry, self._date(now))
        if voided:
            self._inconsistent(now)  # our heads went back: say so soon
        if newly and self._on_roster is not None:
            self._on_roster(roster)
        return voided

    def _admit(self, msg: Message, now: float, rx: _Rx) -> None:
        """Refuse a verified message whose number cannot be right (``DecodeError``).

        Our own origin from the air above what we committed ourselves: only a stolen
        key (or a copy of our key on another node) makes one, and stored, it would
        become our head and could lock ``relay send`` out for good: refused, with an
        alarm.  (At or below it is our own history coming back after a restore.)
        Another origin far above what we hold (``seq_window``): a stolen key jumping
        to 2^31 makes every later message of that origin 6 bytes larger, and no store
        relays it blindly.  Older than ``max_age_s``: a replay (a 400-day-old message
        was stored as new), refused."""
        origin, seq = msg.origin, msg.seq
        if self.log.wire_of(origin, seq):
            return  # held already: a duplicate, or the other side of a conflict
        age = self._wall(now) - msg.created.timestamp()
        if age > self.config.max_age_s:
            raise DecodeError(f"{msg.id}: {age / 86400:.0f} days old", "too_old")
        if origin == self.node_id:
            if seq > self.log.local_head(origin):
                rx.alarm = "own_origin"
                raise DecodeError(f"{origin}-{seq:04d}: our own origin, a number we never used", "own_origin")
            return
        if seq > self.log.highest(origin) + self.config.seq_window:
            raise DecodeError(f"{origin}-{seq:04d}: far above the highest number held", "seq_jump")
        self._rate(msg, now, rx)

    def _rate(self, msg: Message, now: float, rx: _Rx) -> None:
        """Admission per origin: a valid signature does not make its sender well
        behaved (keys get stolen).  Each origin may bring ``origin_burst`` new
        messages at once and ``origin_rate_per_h`` an hour after that, and at most
        ``nod_per_h`` NØD an hour.  Over it, the message is refused now (with an
        alarm), not relayed; a summary naming it brings it in later, within the
        rate, so a genuine backlog is delayed, never lost.  (A stolen key sending a
        NØD every 10 s held a genuine NØD back for up to 48 minutes.)"""
        buckets = [(msg.origin, self.config.origin_burst, self.config.origin_rate_per_h)]
        if msg.priority is Priority.NOD:
            buckets.append((f"{msg.origin}/NØD", self.config.nod_per_h, self.config.nod_per_h))
        levels = [self._tokens(key, burst, rate, now) for key, burst, rate in buckets]
        if any(level < 1.0 for level in levels):
            rx.alarm = "origin_flood"
            raise DecodeError(f"{msg.id}: {msg.origin} sends more than its rate allows", "origin_flood")
        for (key, _, _), level in zip(buckets, levels, strict=True):
            self._buckets[key] = (level - 1.0, now)

    def _tokens(self, key: str, burst: float, rate_per_h: float, now: float) -> float:
        level, at = self._buckets.get(key, (burst, now))
        return min(burst, level + max(0.0, now - at) * rate_per_h / 3600.0)

    def _receive_fragment(self, fragment: Fragment, now: float, rx: _Rx) -> None:
        entry = self.roster.key_entry(fragment.key.key_id)  # a revoked key's older messages stay valid
        self._suppress(("frag", entry.node_id, fragment.key.seq16, fragment.index))
        if self._already_held(entry.node_id, fragment.key):
            return  # a late copy: reassembling it again would ask for a message we hold
        whole = self._reassembler.add(fragment)
        if whole is None:
            self._fragment_seen[fragment.key] = now
            return
        self._fragment_seen.pop(fragment.key, None)
        self._accept_message(whole, now, rx)

    def _receive_summary(self, summary: Summary, peer: str, now: float, rx: _Rx) -> None:
        if rx.hop_start >= self.config.max_hops:
            self._probed_at = now  # someone's probe: it finds for us too
        heads = dict(summary.heads)
        previous = self._peer_heads.get(peer, {})
        for origin, seq in heads.items():
            if seq > previous.get(origin, 0):
                self.log.add_receipts(origin, previous.get(origin, 0) + 1, seq, peer, "MOTTATT", self._date(now))
        self._peer_heads[peer] = {**previous, **heads} if not summary.complete else heads
        self._news_at[peer] = now
        theirs_extra = dict(summary.extras)
        known = self._peer_extras.get(peer, {})
        # Runs come a page at a time and stores never delete: what a page named stays true.
        self._peer_extras[peer] = {
            origin: runs
            for origin in {*known, *theirs_extra}
            if (
                runs := merge_runs(
                    known.get(origin, ()), theirs_extra.get(origin, ()), self._peer_heads[peer].get(origin, 0)
                )
            )
        }
        if summary.roster_version == self.roster.version:
            ids = self.roster.node_ids
            listed = {ids[i]: h for i, h in summary.hops_to().items() if i < len(ids)}
            self.peers.listed(peer, listed, now)
        self._answered(peer, heads, theirs_extra)
        ours = self.log.summary()
        listed = {origin: ours.get(origin, 0) for origin in heads}
        if (
            heads == listed
            and self._same_runs(theirs_extra, heads)
            and (not summary.complete or set(ours) <= set(heads))
        ):
            # It speaks for us only where it went as far as ours would go.
            if rx.hop_start >= self._control_hops(now):
                self.trickle.consistent()
            return
        if peer in self._elsewhere(now):
            return  # the other path keeps it in step with us: nothing to ask or answer here
        state = (tuple(sorted(heads.items())), summary.extras)
        if state != self._peer_state.get(peer):  # react once per state; repeats only cost airtime
            self._peer_state[peer] = state
            self._inconsistent(now)
        for item in self.log.missing(heads, limit=frames.MAX_REQUEST_ITEMS, extras=theirs_extra):
            self._want(item, now)
        # Push what the peer provably lacks: saves it a request, and the answer
        # is suppressed if another holder sends the same item first.
        for origin, seq in self.log.offer(heads, limit=self.config.push_per_summary, extras=theirs_extra):
            for wire_bytes in self.log.wire_of(origin, seq):
                self._schedule_response(Want(origin, seq), wire_bytes, now, {peer})

    def _same_runs(self, theirs: Mapping[str, Ranges], heads: Mapping[str, int]) -> bool:
        """Do the runs a summary names agree with ours?  Where we hold more runs than a
        page, it agrees if every run it named is one we hold (its other pages come
        later, and ours tell it what it lacks)."""
        ours = self.log.extras(None)
        for origin in heads:
            mine, named = ours.get(origin, ()), theirs.get(origin, ())
            if len(mine) <= MAX_RANGES:
                if tuple(named) != tuple(mine):
                    return False
            elif not named or not all(any(a <= first and last <= b for a, b in mine) for first, last in named):
                return False
        return True

    def _answered(self, peer: str, heads: Mapping[str, int], extras: Mapping[str, Ranges]) -> None:
        """A summary shows ``peer`` now holds items we meant to send it: when nobody
        else is known to wait for them, the answer is dropped before it goes on air."""

        def holds(answer: Answer, waiting: str) -> bool:
            origin, seq = answer.item
            return waiting == peer and origin in heads and held_in(heads[origin], extras.get(origin, ()), seq)

        self._thin(None, holds)

    def _thin(self, key: tuple[object, ...] | None, served: Callable[[Answer, str], bool]) -> None:
        """Take the peers ``served`` says no longer wait out of our answers (for ``key``,
        or all); an answer nobody waits for any more is dropped."""
        for pending_key, answer in list(self._responses.items()):
            if key is None or pending_key == key:
                answer.waiting = {p for p in answer.waiting if not served(answer, p)}
                if not answer.waiting:
                    del self._responses[pending_key]
        for queued in self.queue.answers(key):
            if queued.answer is not None:
                queued.answer.waiting = {p for p in queued.answer.waiting if not served(queued.answer, p)}
                if not queued.answer.waiting:
                    self.queue.cancel(queued)

    def _receive_request(self, request: Request, requester: str, now: float, rx: _Rx) -> None:
        """Answer what ``requester`` asks for, but not what its own last summary shows
        it holds: requests are unsigned, and a radio with the channel key that asks
        in a real node's name for everything it heard the stores hold made each 57-byte
        request cost the stores 35 times its airtime (examples/rogue-request-flood.toml).
        Nor do we answer a requester that a store nearer to it serves (``Peers``): a
        flooded request reached stores across the region, and each answered over hops."""
        self._news_at[requester] = now  # what it lacks now: older sends did not reach it
        # Ours to answer: a peer we serve ourselves whose signed summary we hold, and
        # then only what that summary shows it lacks; or a newcomer no store has named
        # yet, asking directly.  Not a node we know of only from others' lists: a
        # forger names nodes it cannot reach (Hole answered requests in Sigdal's name
        # 36 times in an hour, from a radio Sigdal never heard).
        known = requester in self._peer_heads
        newcomer = not known and not self.peers.named(requester) and rx.hops == 0
        ours = ((known and requester in self.peers.neighbours(now)) or newcomer) and requester not in self._elsewhere(
            now
        )
        for want in request.wants:
            item = (want.origin, want.seq)
            if item in self._requests:  # someone asked already: the answer will reach us too
                del self._requests[item]
                self._asked_at[item] = now
            if not ours:
                continue
            if known and not self._lacks(requester, want.origin, want.seq):
                continue  # its summary says it holds it: a forged request, or one that crossed our answer
            for wire_bytes in self.log.wire_of(want.origin, want.seq):
                self._schedule_response(want, wire_bytes, now, {requester})

    # --- repair --------------------------------------------------------------

    def _want(self, item: tuple[str, int], now: float, mask: int | None = None) -> None:
        if now - self._refused.get(item, -1e18) < self.config.refuse_hold_s:
            return  # signed with a revoked key: asking again soon only brings it back
        asked = self._asked_at.get(item)
        if item in self._requests or (asked is not None and now - asked < self.config.rerequest_s):
            return
        spread = self.config.request_jitter_s * (1 + self._control_hops(now))
        grace = self.config.elsewhere_grace_s if self._elsewhere(now) else 0.0  # the other path may bring it
        self._requests[item] = (now + grace + self.rng.uniform(0.5, spread), mask)

    def _schedule_response(self, want: Want, wire_bytes: bytes, now: float, requesters: set[str]) -> None:
        head = wire.peek(wire_bytes)
        if self._void(wire_bytes):
            return  # its key was revoked since we stored it: every store with the roster refuses it
        pieces = frames.split(wire_bytes, head.key_id, want.seq)
        item = (want.origin, want.seq)
        item_rank = data_rank(head.priority.rank)
        rank = self._answer_rank(wire_bytes, item_rank, now)
        for index, piece in enumerate(pieces):
            if len(pieces) > 1 and want.fragments is not None and not want.fragments >> index & 1:
                continue
            key: tuple[object, ...] = (
                ("msg", want.origin, want.seq) if len(pieces) == 1 else ("frag", want.origin, want.seq & 0xFFFF, index)
            )
            pending = self._responses.get(key)
            if pending is not None:
                pending.waiting |= requesters
                continue
            if key in self.queue:
                for queued in self.queue.answers(key):
                    if queued.answer is not None:
                        queued.answer.waiting |= requesters
                continue
            if now - self._on_air.get(key, -1e18) < self.config.hold_down_s:
                continue  # we sent it moments ago: this request crossed it (SRM hold-down)
            hops = self._answer_hops(requesters, now)
            fire = now + self._answer_delay(item, requesters, now, hops, len(pieces), again=key in self._on_air)
            tx = Transmission(piece, hops, rank)
            self._responses[key] = Answer(fire, tx, item, set(requesters), item_rank=item_rank)

    def _void(self, wire_bytes: bytes) -> bool:
        """Is a held message void by a revocation (or no longer verifiable)?"""
        try:
            entry = self.roster.key_entry(wire.peek(wire_bytes).key_id)
            if entry.revoked is None:
                return False
            wire.decode(wire_bytes, self.roster, self.dictionaries)
        except DecodeError:
            return True
        return False

    def _answer_rank(self, wire_bytes: bytes, rank: int, now: float) -> int:
        """An answer goes at its message's rank only while the message is fresh: an
        old NØD asked for again (by anyone: requests are unsigned) must not spend the
        reserve that today's NØD needs.  Older than ``urgent_answer_s``, as PRIORITET."""
        if rank > 1:
            return rank
        try:
            created = wire.decode(wire_bytes, self.roster, self.dictionaries).message.created.timestamp()
        except DecodeError:
            return data_rank(Priority.PRIORITET.rank)
        fresh = self._wall(now) - created < self.config.urgent_answer_s
        return rank if fresh else data_rank(Priority.PRIORITET.rank)

    def _answer_delay(
        self, item: tuple[str, int], waiting: set[str], now: float, hops: int, packets: int = 1, again: bool = False
    ) -> float:
        """Our turn to answer ``item`` to ``waiting``: for each waiting peer, the holders
        we know to reach it take turns (``_turn``) one full packet's airtime plus a guard
        apart; we go at our earliest.  Nodes known to hold nothing for it take no place,
        so the first turn comes at once.  A fragmented message's turn lasts all its
        packets: a holder hidden from the first would otherwise cut into them.  Asked
        again for what we sent already, in several packets or over repeaters, we add
        a random part of two turns: when two holders hidden from each other ranked
        themselves alike from what they knew, their answers collided, and would
        again on every try.  (For single packets on the ground too it cost the
        Modum repair 0.1x the ideal in airtime over 100 seeds; over the hills,
        without it, the field plan's repair cost 6.0x the loss floor, not 4.7x.)"""
        rank = min(self._turn(item, peer, now) for peer in waiting)
        slot = self._slot(hops, packets)  # answers go out in bundles
        spread = self.rng.uniform(0.0, 2.0) * slot if again and (packets > 1 or hops > 0) else 0.0
        return 0.2 + rank * slot + spread + self.rng.uniform(0.0, self.config.response_jitter_s)

    def _turn(self, item: tuple[str, int], peer: str, now: float) -> int:
        """Our place among the nodes that may answer ``peer`` now: the holders of
        ``item`` we know to reach it, and those of its neighbours we never hear (they
        may be answering it with something else, and we would not hear them: hidden
        from each other, two leaves of Ringerike that both went first collided there
        on every try).  When we know every candidate's neighbours, the one that
        reaches the most nodes not known to hold the item goes first, so a relay tree
        forms (RIN before KRO for Sigdal after Modum's push); otherwise, and for ties,
        a hash of (peer, node) decides, the same for all, and it puts one holder first
        for everything a peer misses, so one bundle carries it all.  Before all that,
        nearness: a holder that hears ``peer`` directly goes before one that hears it
        through repeaters (which would spend the repeaters' airtime too); a distance
        we do not know counts as near."""
        holders = [
            n
            for n in self.peers.neighbours(now)
            if n != peer and self._holds(n, item, now) and self.peers.reaches(n, peer)
        ]
        listed = self.peers.list_of(peer)
        served = set(self.peers.neighbours(now))  # we would hear their answers: the rest are hidden
        around = {*listed, *self.peers.listing(peer)}  # its neighbours, as it or they said
        hidden = [
            n
            for n in sorted(around)
            if n not in (peer, self.node_id) and n not in served and not self.peers.knows_list(n)
        ]
        tag = peer.encode() + b"/"

        def distance(n: str) -> int:
            if n == self.node_id:
                return self.peers.hops_to(peer, now) or 0
            return self.peers.list_of(n).get(peer, listed.get(n, 0))

        candidates = {*holders, *hidden, self.node_id}
        # Coverage only from lists said since ``peer`` (re)appeared: an older one
        # makes two holders rank each other differently, and hidden ones collide.
        unknown = any(not self.peers.knows_list_since(n, peer) for n in candidates if n != self.node_id)

        def place(n: str) -> tuple[int, int, bytes]:
            coverage = 0 if unknown else self._coverage(n, item, now)
            return (distance(n), -coverage, hashlib.blake2s(tag + n.encode(), digest_size=8).digest())

        order = sorted(candidates, key=place)
        return order.index(self.node_id)

    def _coverage(self, node: str, item: tuple[str, int], now: float) -> int:
        """How many of ``node``'s neighbours are not known to hold ``item``."""
        # Our own list as we last said it, so that every holder counts from the same lists.
        around = self._advertised if node == self.node_id else self.peers.list_of(node)
        return sum(1 for n in around if n != node and n != self.node_id and not self._holds(n, item, now))

    def _holds(self, peer: str, item: tuple[str, int], now: float) -> bool:
        """Does ``peer`` hold ``item``, as far as we know?  Yes if it is the origin, if it
        sent the item, if its last summary says so, or if a node that reaches it sent
        the item after that summary (most likely it heard); and if the other path
        reaches it (it has the item, or will before our turn comes)."""
        origin, seq = item
        sends = self._sends.get(item, {})
        if peer == origin or peer in sends or peer in self._elsewhere(now):
            return True
        if peer in self._peer_heads and not self._lacks(peer, origin, seq):
            return True
        since = self._news_at.get(peer, -1e18)
        return any(t > since and self.peers.reaches(sender, peer) for sender, t in sends.items())

    def _sent(self, item: tuple[str, int], sender: str, now: float) -> None:
        if len(self._sends) > 4096:
            self._sends.clear()  # a memory bound: what we forget only costs a turn
        self._sends.setdefault(item, {})[sender] = now

    def _overheard(self, key: tuple[object, ...], sender: str | None, radius: int) -> None:
        """``sender`` sent this item with hop limit ``radius``: whoever it reaches no
        longer waits for our answer.  Not knowing the sender or its neighbours, we take
        it that it reached everyone (as in SRM)."""
        if sender is None or not self.peers.knows_list(sender):
            self._suppress(key)
        else:
            self._thin(key, lambda _, peer: self.peers.reaches(sender, peer, radius))

    def _forward(self, signed: wire.SignedMessage, now: float, sender: str | None, rx: _Rx) -> None:
        """Pass a message that came by repair on to the neighbours known to lack it:
        they would otherwise wait for a summary, then ask.  ``sender`` None: a bare
        frame, which is its origin's own push."""
        msg = signed.message
        sender = sender or msg.origin
        if rx.hop_start > rx.hops and self._wall(now) - msg.created.timestamp() < self.config.fresh_s:
            return  # a fresh message with hops left: the radios (ours too) carry it on
        elsewhere = self._elsewhere(now)
        waiting = {
            p
            for p in self.peers.neighbours(now)
            if p not in (msg.origin, self.node_id)
            and p not in elsewhere
            and self._lacks(p, msg.origin, msg.seq)
            and not (self.peers.knows_list(sender) and self.peers.reaches(sender, p, rx.hop_start))
        }
        if waiting:
            self._schedule_response(Want(msg.origin, msg.seq), signed.wire, now, waiting)

    # --- hop limits ------------------------------------------------------------

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
        if heads is None:
            return False
        return not held_in(heads.get(origin, 0), self._peer_extras.get(peer, {}).get(origin, ()), seq)

    def _suppress(self, key: tuple[object, ...]) -> None:
        """Someone else sent this item: drop our pending answer to a request for it."""
        self._thin(key, lambda *_: True)

    # --- output -------------------------------------------------------------

    def queued_ranks(self) -> list[int]:
        """The transmit ranks of the frames waiting for the radio (for ``relay status``)."""
        return [q.rank for q in self.queue.live()]

    def poll(self, now: float) -> Transmission | None:
        """The next frame to hand to the radio now, or None."""
        self._run_timers(now)
        while (head := self.queue.head()) is not None:
            if head.key == ("summary",):
                # What we hold now, not at enqueue, and as far as our peers are now.
                hops = self.config.max_hops if self._probe_due(now) else self._control_hops(now)
                head.tx = replace(head.tx, frame=self.summary_frame(now), hop_limit=hops)
            elif head.wants:
                self._refresh_request(head)
                head.tx = replace(head.tx, hop_limit=self._control_hops(now))
            if not head.tx.frame:
                self.queue.pop()
                continue
            riders: list[Queued] = []
            pending: list[tuple[object, ...]] = []
            if head.answer is not None and head.key[0] == "msg":
                frame, riders, pending = self._bundle(head)
                waiting = set(head.answer.waiting)
                for rider in riders:
                    waiting |= rider.answer.waiting if rider.answer is not None else set()
                for key in pending:
                    waiting |= self._responses[key].waiting
                head.tx = replace(head.tx, frame=frame, hop_limit=self._answer_hops(waiting, now))
            elif head.answer is not None:
                head.tx = replace(head.tx, hop_limit=self._answer_hops(head.answer.waiting, now))
            duration = self.airtime(len(head.tx.frame))
            urgent = head.rank <= 1
            if not self.budget.allows(now, duration, urgent=urgent):
                return None
            shared = self._paced(head)
            if shared:
                self._hill_until = self._hill_wait(now, duration, head.tx.hop_limit)
                if self._hill_until > now:
                    return None
            self.queue.pop()
            for queued in riders:
                self._note_on_air(queued.key, now)
                self.queue.cancel(queued)
            for key in pending:
                del self._responses[key]
                self._note_on_air(key, now)
            self._note_on_air(head.key, now)
            if head.key == ("summary",):
                self._extras_page += 1  # the next summary names the next page of held runs
                if head.tx.hop_limit >= self.config.max_hops:
                    self._probed_at = now
                if self._lonely(now):
                    self._lonely_summaries += 1
            if head.rank == 0 and head.answer is None and head.key[0] == "msg":
                self._push_again(head, now)
            self.budget.record(now, duration)
            if shared:
                self._hill.record(now, duration * (1 + head.tx.hop_limit))
            self.stats.packets_sent += 1
            self.stats.bytes_sent += len(head.tx.frame)
            self.stats.airtime_s += duration
            return head.tx
        return None

    def _push_again(self, push: Queued, now: float) -> None:
        """A fresh NØD goes out a second time, a turn later, to the peers no summary has
        yet shown to hold it.  One lost frame must not cost a NØD a Trickle round: where
        town halls meet only at a hill, a quarter of the first pushes collided there
        under load, and the second try cut the NØD's median to every store from 170 s
        to 48 s (from Modum; 203 s to 144 s from the police contact; 10 seeds of
        tools/measure_hops.py).  An answer with its turn, so a summary or
        another holder's copy still silences it."""
        origin, seq = push.key[1], push.key[2]
        if not isinstance(origin, str) or not isinstance(seq, int) or origin != self.node_id:
            return
        waiting = {p for p in self.peers.neighbours(now) if p not in self._peer_heads or self._lacks(p, origin, seq)}
        if waiting and push.key not in self._responses:
            fire = now + self._slot(push.tx.hop_limit) + self.rng.uniform(0.0, self._slot(0))
            self._responses[push.key] = Answer(fire, push.tx, (origin, seq), waiting)

    def _bundle(self, head: Queued) -> tuple[bytes, list[Queued], list[tuple[object, ...]]]:
        """The answer at the head of the queue, with as many other answers as fit one
        packet: queued ones first, then those still waiting for their turn.  One
        packet of 200 bytes costs 1.9 s on LONG_FAST; two of 100 cost 2.3 s."""
        assert head.answer is not None
        pieces = [head.answer.tx.frame]
        size = Bundle.size_of([len(pieces[0])])
        if size > MAX_APP_PAYLOAD:
            return pieces[0], [], []  # a message that fills a packet alone goes bare

        def fits(piece: bytes) -> bool:
            nonlocal size
            if size + 1 + len(piece) > MAX_APP_PAYLOAD:
                return False
            size += 1 + len(piece)
            pieces.append(piece)
            return True

        queued = sorted(q for q in self.queue.answers() if q is not head and q.key[0] == "msg")
        riders = [q for q in queued if q.answer is not None and fits(q.answer.tx.frame)]
        waiting = sorted((a.tx.rank, a.fire, k) for k, a in self._responses.items() if k[0] == "msg")
        pending = [k for _, _, k in waiting if fits(self._responses[k].tx.frame)]
        return Bundle(self.key_id, tuple(pieces)).to_bytes(), riders, pending

    def _refresh_request(self, queued: Queued) -> None:
        """A request waiting for the radio drops the items that arrived meanwhile."""
        wants = tuple(w for w in queued.wants if not self.log.wire_of(w.origin, w.seq))
        if wants != queued.wants:
            queued.wants = wants
            frame = Request(self.key_id, wants).to_bytes() if wants else b""
            queued.tx = replace(queued.tx, frame=frame)

    def _note_on_air(self, key: tuple[object, ...], now: float) -> None:
        """Remember when we sent an item ourselves (not when we heard others: the
        requester may not hear the node we heard)."""
        if key and key[0] in ("msg", "frag"):
            if len(self._on_air) > 4096:
                horizon = now - self.config.hold_down_s
                self._on_air = {k: t for k, t in self._on_air.items() if t >= horizon}
            self._on_air[key] = now
            origin, seq = key[1], key[2]
            if key[0] == "msg" and isinstance(origin, str) and isinstance(seq, int):
                self._sent((origin, seq), self.node_id, now)

    def next_deadline(self, now: float) -> float:
        """When ``poll`` next has something to do (a timer or a budget refill)."""
        times = self.trickle.deadlines()
        if self.trickle.interval > self.config.lonely_max_s:
            times.append(self._lonely_at())
        times += [t for t, _ in self._requests.values()]
        times += [t + self._reask_after(item) for item, t in self._asked_at.items() if item not in self._requests]
        times += [a.fire for a in self._responses.values()]
        times += [t + self.config.fragment_timeout_s for t in self._fragment_seen.values()]
        if self._poll_outbox:
            times.append(now)
        live = self.queue.live()
        if live:
            head = min(live)
            ready = self.budget.wait_for(now, self.airtime(len(head.tx.frame)), urgent=head.rank <= 1)
            shared = self._paced(head)
            times.append(max(ready, self._hill_until) if shared else ready)
        return max(now, min(times))

    @staticmethod
    def _paced(queued: Queued) -> bool:
        """Does this frame wait for the hill share (``_hill_wait``)?  PRIORITET and
        RUTINE data do; an old NØD's answer, queued as PRIORITET, does not."""
        return queued.rank > RANK_CONTROL and (queued.answer is None or queued.answer.item_rank > 1)

    def _hill_wait(self, now: float, duration: float, hop_limit: int) -> float:
        """When a non-urgent frame fits our share of the repeaters' channel.

        Where the stores reach each other over radio-only repeaters, the hill hears
        every town hall, and they do not hear each other: whatever they send meets
        there, and the hill's own 10 % carries all the relays.  So the stores share
        ``hill_load`` of its hour: each its part, counting its own transmission and
        one more for each repeater that relays it.  (Per-node duty alone let eight
        town halls offer the hill 70 % of its hour, and a NØD collided there for
        a quarter of an hour.)  It covers PRIORITET and RUTINE data only: NØD,
        HASTER and the sync's own control frames go regardless (were they counted,
        a backlog's requests would use up the share its answers need)."""
        sharers = self._sharers(now)
        if not sharers:
            return now
        cap = self.config.hill_load * self.config.hill_window_s / sharers
        return self._hill.wait_under(now, duration * (1 + hop_limit), max(cap, duration * (1 + hop_limit)))

    def _sharers(self, now: float) -> int:
        """How many stores share the repeaters' channel with us (0: we need none)."""
        if self._control_hops(now) == 0:
            return 0
        return 1 + len(self.peers.neighbours(now))

    def _run_timers(self, now: float) -> None:
        if self._poll_outbox:
            self._poll_outbox = False
            self._push_outbox(now)
        self._run_trickle(now)
        if any(t <= now for t, _ in self._requests.values()):
            # One request frame for everything we miss, not one per item timer.
            due = sorted(self._requests, key=lambda item: (self._requests[item][0], item))
            wants: list[Want] = []
            frame = b""
            for item in due[: frames.MAX_REQUEST_ITEMS]:
                candidate = [*wants, Want(item[0], item[1], self._requests[item][1])]
                try:
                    frame = Request(self.key_id, tuple(candidate)).to_bytes()
                except ValueError:
                    break  # the rest waits for the next request
                wants = candidate
                mask = self._requests.pop(item)[1]
                self._asked_at[item] = now
                self._asks[item] = (self._asks.get(item, (0, None))[0] + 1, mask)
            if wants:
                tx = Transmission(frame, self._control_hops(now), RANK_CONTROL)
                self.queue.push(("req", self.queue.next_id()), tx, wants=tuple(wants))
        for key, answer in list(self._responses.items()):
            if answer.fire <= now:
                del self._responses[key]
                self.queue.push(key, answer.tx, answer=answer)
        for item, asked in list(self._asked_at.items()):
            if now >= asked + self._reask_after(item):
                tries, mask = self._asks.get(item, (0, None))
                unconfirmed = item in self._from_fragment and not self._named(item)
                refused = now - self._refused.get(item, -1e18) < self.config.refuse_hold_s
                if tries >= self.config.reask_limit or self.log.wire_of(*item) or unconfirmed or refused:
                    del self._asked_at[item]  # the next summary that names it starts over
                    self._asks.pop(item, None)
                    self._from_fragment.discard(item)
                else:
                    self._want(item, now, mask)
        for fkey, seen in list(self._fragment_seen.items()):
            if now - seen >= self.config.fragment_timeout_s:
                del self._fragment_seen[fkey]
                self._request_fragments(fkey, now)

    def _reask_after(self, item: tuple[str, int]) -> float:
        """An item a summary named and we asked for (or heard asked for) is asked for
        again if it has not come: the answer may have been lost, and the holder's next
        summary may be long in coming.  The wait doubles with each request we send."""
        tries = self._asks.get(item, (0, None))[0]
        return min(self.config.rerequest_s * float(2 ** max(tries - 1, 0)), self.config.summary_max_s)

    def _named(self, item: tuple[str, int]) -> bool:
        """Does some peer's summary say it holds ``item``?  A want that only a fragment
        made (unverifiable, perhaps forged) is asked for again only then, not again
        and again: 60 forged 9-byte fragments made a node send 167 requests.  (For
        every want, the field plan's repair tail grew from 352 s to 982 s at p90.)"""
        origin, seq = item
        return any(origin in heads and not self._lacks(peer, origin, seq) for peer, heads in self._peer_heads.items())

    def _request_fragments(self, fkey: frames.FragmentKey, now: float) -> None:
        missing = self._reassembler.missing(fkey)
        try:
            origin = self.roster.key_entry(fkey.key_id).node_id
        except DecodeError:
            return
        if not missing:
            return
        mask = sum(1 << i for i in missing)
        seq = self._full_seq(origin, fkey.seq16)
        if len(self._from_fragment) > 4096:
            self._from_fragment.clear()  # a memory bound: what we forget is asked for as usual
        self._from_fragment.add((origin, seq))
        self._asked_at.pop((origin, seq), None)
        self._want((origin, seq), now, mask)

    def _already_held(self, origin: str, fkey: frames.FragmentKey) -> bool:
        seq = (self.log.summary().get(origin, 0) & ~0xFFFF) | fkey.seq16
        return any(frames.key_for(w, fkey.key_id, fkey.seq16) == fkey for w in self.log.wire_of(origin, seq))

    def _full_seq(self, origin: str, seq16: int) -> int:
        base = self.log.summary().get(origin, 0)
        candidate = (base & ~0xFFFF) | seq16
        return candidate if candidate > base else candidate + 0x10000

    def _push_outbox(self, now: float) -> None:
        """Our new messages onto this path.  Where the other path is up and reaches every
        peer this one hears, it carries them, and only a NØD goes here too (a store that
        turns up on this path later gets the rest by repair)."""
        elsewhere = self._elsewhere(now)
        served = bool(elsewhere) and all(p in elsewhere for p in self.peers.neighbours(now))
        pushed = False
        for origin, seq, rank in self.outbox.pending():
            if served and rank != Priority.NOD.rank:
                self.outbox.mark_transmitted(origin, seq, self._date(now))
                continue
            pushed = True
            for wire_bytes in self.log.wire_of(origin, seq):  # a damaged row is not given
                try:
                    pieces = frames.split(wire_bytes, wire.peek(wire_bytes).key_id, seq)
                except DecodeError:
                    continue  # written whole, damaged since: never on the air, never fatal
                for index, piece in enumerate(pieces):
                    key: tuple[object, ...] = (
                        ("msg", origin, seq) if len(pieces) == 1 else ("frag", origin, seq & 0xFFFF, index)
                    )
                    self.queue.push(key, Transmission(piece, self._flood_hops(rank, now), data_rank(rank)))
            self.outbox.mark_transmitted(origin, seq, self._date(now))
        if pushed or not served:
            self._inconsistent(now)

    # --- Trickle ------------------------------------------------------------

    def _summary_min(self, now: float) -> float:
        """Trickle's shortest interval.  A summary that crosses repeaters costs one
        transmission more for each, on a channel every store shares through the
        hill: the interval grows with the hops, so the summaries' share of the hill
        stays what it is where the stores hear each other."""
        return self.config.summary_min_s * (1 + self._control_hops(now))

    def _inconsistent(self, now: float) -> None:
        self.trickle.reset(now, self._summary_min(now))

    def _run_trickle(self, now: float) -> None:
        if self._lonely(now):
            self.trickle.cap(now, self.config.lonely_max_s)
        if self.trickle.fire(now):
            keepalive = now - self._summary_sent_at >= self.config.keepalive_s
            if not self.trickle.suppressed or keepalive or self._lagging(now):
                self._summary_sent_at = now
                tx = Transmission(self.summary_frame(), self._control_hops(now), RANK_CONTROL)
                self.queue.push(("summary",), tx)
        ceiling = self.config.lonely_max_s if self._lonely(now) else self.config.summary_max_s
        self.trickle.expire(now, self._summary_min(now), ceiling)

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
            lacks = self.log.offer(heads, limit=self.config.push_per_summary, extras=self._peer_extras.get(peer, {}))
            if any(self._stored_at.get(item, -1e18) <= settled for item in lacks):
                return True
        return False

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
        self._summary_counter = (self._summary_counter + 1) & 0xFFFF
        count = self._summary_counter
        whole = Summary(self.key_id, self.roster.version, tuple(heads), True, extras, neighbours, hops, count)
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
                self.key_id, self.roster.version, tuple(sorted([*page, head])), False, (), neighbours, hops, count
            )
            try:
                candidate.to_bytes()
            except ValueError:
                break
            summary = candidate
            page.append(head)
        self._summary_page = start + len(page)
        return summary.signed(self._sign) if summary is not None else b""


@dataclass
class _Rx:
    """How the frame being handled reached us."""

    hops: int  # repeaters it crossed: 0 heard directly
    hop_start: int  # the hop limit its sender gave it: how far it goes
    stored: list[str] = field(default_factory=list)
    rejected: str | None = None
    alarm: str | None = None
    voided: list[str] = field(default_factory=list)
