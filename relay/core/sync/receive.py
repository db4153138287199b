"""What a frame heard on the path does: verification, admission, the store, and what it sets off."""

from __future__ import annotations

from collections.abc import Mapping

from relay.core import frames, wire
from relay.core.frames import Bare, Bundle, Fragment, Held, Request, Summary, Want
from relay.core.log import MAX_RANGES, Inserted, Ranges, merge_runs
from relay.core.model import Message, Priority
from relay.core.roster import Roster
from relay.core.sync import revocation
from relay.core.sync.answers import Answering
from relay.core.sync.freshness import clock_seconds
from relay.core.sync.state import (
    GAP_ASKED,
    HEAL_WINDOW_S,
    MAX_VERSIONS,
    SETTLED_S,
    VERIFY_BURST_S,
    Received,
    Rx,
)
from relay.errors import DecodeError


class Receiving(Answering):
    """The inputs: frames heard, messages committed here or stored by the other path."""

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
        self._forward(signed, now, None, Rx(0, 0))
        if any(p not in self._peer_heads for p in ours):
            self._inconsistent(now)

    def receive(self, frame: bytes, now: float, hops: int = 0, hop_start: int | None = None) -> Received:
        """A frame heard on the air, ``hops`` repeaters away (hop_start - hop_limit of
        the packet; 0: heard directly), sent with hop limit ``hop_start`` (None:
        ``hops``, all of it spent).  Never raises: a bad frame comes back rejected."""
        rx = Rx(max(hops, 0), max(hops, hop_start if hop_start is not None else hops))
        try:
            parsed = frames.parse(frame)
            sender = self._sender_of(parsed, now)
            if sender == self.node_id:
                return Received(sender, rx.hops, echo=True)  # our own frame, repeated by a hill
            if isinstance(parsed, Summary) and sender is not None:
                # Only a signed summary proves its sender on the air, and how far away.
                # A request or a bundle names a sender it cannot prove: one forged
                # 8-byte request kept a store that never ran "heard 3 s ago".
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
            self._verify_budget(entry.node_id, parsed, now)
            if not parsed.verify(entry.public_key):
                raise DecodeError(f"summary from {entry.node_id} not signed by its key", "bad_signature")
            self._fresh(entry.node_id, parsed, now)
        return entry.node_id

    def _verify_budget(self, peer: str, summary: Summary, now: float) -> None:
        """Refuse, before its signature is checked, a summary that cannot be new (numbered
        at or below the newest taken from its sender, and not its echo) or over its
        sender's ``verify_per_s``: one captured login and key sending 100 signed
        summaries a second kept a daemon's core 96 % busy verifying them."""
        if self._freshness.stale(f"{peer}:{summary.key_id}", summary.counter, summary.body, now):
            raise DecodeError(f"summary from {peer} older than its newest", "replay")
        key = f"{peer}/verify/{self._freshness.path}"
        rate = self.config.verify_per_s
        level = self._tokens(key, rate * VERIFY_BURST_S, rate * 3600.0, now)
        if level < 1.0:
            raise DecodeError(f"summaries from {peer} faster than relay checks them", "summary_flood")
        self._buckets[key] = (level - 1.0, now)

    def _fresh(self, peer: str, summary: Summary, now: float) -> None:
        """A verified summary, refused as a replay before its signature was checked if it
        was not new (``_verify_budget``): the newest from ``peer`` now, and its clock."""
        self._freshness.take(f"{peer}:{summary.key_id}", summary.counter, summary.body, now)
        self._clocks[peer] = (summary.sent_at - clock_seconds(self._wall(now)), now)

    def _dispatch(self, parsed: frames.Frame, now: float, rx: Rx, sender: str | None) -> None:
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
        elif isinstance(parsed, Held):
            self._receive_held(parsed, sender, now)
        else:
            assert sender is not None
            self._receive_bundle(parsed, sender, now, rx)

    def _receive_held(self, held: Held, via: str | None, now: float) -> None:
        """Other stores' summaries passed on: what they hold, for the receipts, and
        nothing else (not that they are alive, nor near).  Each must verify against its
        own sender's key; one that does not costs only itself."""
        for frame in held.summaries:
            try:
                summary = Summary.from_bytes(frame)
                entry = self.roster.entry_for_key(summary.key_id)
                if not summary.verify(entry.public_key):
                    raise DecodeError(f"passed-on summary of {entry.node_id} not signed by its key", "bad_signature")
            except DecodeError as exc:
                self.stats.rejected[exc.reason] += 1
                continue
            node = entry.node_id
            self.holdings.passed(node, summary.counter)
            newest = max(self._freshness.newest(f"{node}:{summary.key_id}"), self.holdings.newest(node))
            if node == self.node_id or summary.counter <= newest:
                continue  # ours, or nothing newer than what we have
            self._take_holdings(node, summary, now, via)

    def _take_holdings(self, node: str, summary: Summary, now: float, via: str | None = None) -> None:
        """MOTTATT receipts from ``node``'s signed summary, and whether to pass it on:
        when it shows an origin that we know of, and that does not hear ``node``, holding
        news of its own.  Passed on after a while (newer summaries of ``node`` take the
        older one's place), and not if another store passes it on first."""
        news = self.holdings.news(node, dict(summary.heads), summary.complete)
        for origin, (first, last) in news.items():
            self.log.add_receipts(origin, first, last, node, "MOTTATT", self._date(now))
        # To the origins of the news that we hear and that do not hear ``node`` (as its own
        # signed list, and theirs, say), nor, as far as we know, the store that passed it
        # to us.  Passing on toward origins we only know of cost more and confirmed fewer
        # (Modum, 10 seeds: 18 % of the pairs still unconfirmed 30 minutes after
        # convergence, against 12 %).
        ids = self.roster.node_ids
        hears = {ids[i] for i in summary.neighbours if i < len(ids)}
        toward = frozenset(
            origin
            for origin in news
            if origin not in (self.node_id, node, *hears)
            and node not in self.peers.list_of(origin)
            and self.peers.hops_to(origin, now) is not None
            and (via is None or not self.peers.reaches(via, origin))
        )
        due = None
        if toward:
            due = now + self.rng.uniform(*self.config.pass_on_s) * (1 + self.peers.hops_for(toward, now, 0))
        frame = summary.body + summary.signature
        self.holdings.keep(node, summary.counter, frame, due, toward)
        if news and self._on_holdings is not None:
            self._on_holdings(frame, now)  # the other path's stores may not hear it

    def take_held(self, frame: bytes, now: float) -> None:
        """A signed summary the other path took (the radio, or IP): as if passed on to us."""
        self._receive_held(Held(self.key_id, (frame,)), None, now)

    def _receive_bundle(self, bundle: Bundle, sender: str, now: float, rx: Rx) -> None:
        for data in bundle.messages:
            try:
                self._accept_message(data, now, rx, sender)
            except DecodeError as exc:  # one bad entry costs only itself
                self.stats.rejected[exc.reason] += 1
                rx.rejected = rx.rejected or exc.reason
        self._defer(sender, now, rx.hop_start)

    def _accept_message(self, data: bytes, now: float, rx: Rx, sender: str | None = None) -> None:
        try:
            signed = wire.decode(data, self.roster, self.dictionaries)
        except DecodeError as exc:
            if exc.reason == "revoked":
                self._refuse(data, now)
            raise
        msg = signed.message
        self._admit(msg, signed.wire, now, rx)
        notice = revocation.notice_of(msg, self.roster)
        # Only a verified copy silences our pending answer: a forged frame naming the
        # item must not.  (A fragment cannot be verified alone; a forged fragment can
        # delay one answer until the next request, never lose it.)
        self._overheard(("msg", msg.origin, msg.seq), signed.wire, sender, rx.hop_start)
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
            self.doubled.took(item, self._wall(now))
            self._speak_soon(now)  # the region learns of the second version from our summary
        rx.stored.append(msg.id)
        if notice is not None:
            rx.voided += self.set_roster(self.roster.with_notice(notice), now)
        if self._on_stored is not None:
            self._on_stored(signed, now)
        self._forward(signed, now, sender, rx)
        self._announce(now)
        # A fresh push that extends what we hold of its origin is no news to the
        # region: it reached the others by the same flood, and the origin's own summary
        # soon shows who missed it.  (Every store resetting Trickle on it cost the field
        # plan 16x a message's ideal airtime.)  A hole below it: ``_gap``.
        if msg.priority.rank <= Priority.HASTER.rank:
            # NØD and HASTER are rare and must reach every store: quick summaries from
            # all who hold it find the store that missed it (with one spaced summary, the
            # police's NØD in the field plan reached every store later than 120 s in 5
            # of 20 seeds, against 2).
            if self._age(msg, now) < self.config.fresh_s:
                self._urgent_at = now
            self._inconsistent(now)
        elif (head := self.log.summary().get(msg.origin, 0)) < msg.seq:
            self._gap(msg.origin, head, msg.seq, now)
        elif sender is not None and self._age(msg, now) >= self.config.fresh_s:
            # Repaired, not relayed fresh: the stores beyond us learn of it from our summary.
            self._speak_soon(now)

    def _gap(self, origin: str, head: int, seq: int, now: float) -> None:
        """We hold ``origin`` up to ``head`` and now ``seq`` above a hole.  A few
        numbers missing are most likely lost pushes: ask for them now, once (a
        restore's skipped numbers never come, and are asked again only when a
        summary names them).  A wide hole may be such a skip: summaries say what
        exists, so let ours and theirs come soon.  (Every store resetting Trickle on
        each lost push kept the field plan's summaries at their floor under load.)"""
        # One query for what we hold in between (a stolen key's jump of thousands of
        # numbers must not cost a lookup per number on every message).
        held = {n for n in self.log.held_above(origin, head, limit=seq - head) if n < seq}
        lacking = seq - head - 1 - len(held)
        if lacking <= 0 or lacking > GAP_ASKED:
            self._inconsistent(now)
            return
        for n in (n for n in range(head + 1, seq) if n not in held):
            if len(self._unconfirmed) > 4096:
                self._unconfirmed.clear()  # a memory bound: what we forget is asked for as usual
            self._unconfirmed.add((origin, n))
            self._want((origin, n), now)

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

    def _admit(self, msg: Message, data: bytes, now: float, rx: Rx) -> None:
        """Refuse a verified message whose number cannot be right (``DecodeError``).

        Our own origin from the air above what we committed ourselves: only a stolen
        key (or a copy of our key on another node) makes one, and stored, it would
        become our head and could lock ``relay send`` out for good: refused, with an
        alarm, and our next number goes above it where the stores would take it (else
        our next message would be a second version of the thief's number); the numbers
        skipped stay the thief's (``Stolen``).  At or below what we committed, and not
        skipped, it is our own history coming back after a restore.
        Another origin far above what we hold (``seq_window``): a stolen key jumping
        to 2^31 makes every later message of that origin 6 bytes larger, and no store
        relays it blindly.  Older than ``max_age_s``: a replay (a 400-day-old message
        was stored as new), refused.  A second version of a number we hold (a
        conflict) passes the same checks, and ``_admit_conflict``'s."""
        origin, seq = msg.origin, msg.seq
        held = self.log.wire_of(origin, seq)
        if data in held:
            return  # a duplicate
        age = self._age(msg, now)
        if age > self.config.max_age_s:
            raise DecodeError(f"{msg.id}: {age / 86400:.0f} days old", "too_old")
        if held:
            self._admit_conflict(msg, wire.peek(data).key_id, len(held), now, rx)
        if origin == self.node_id:
            if held:
                rx.alarm = "own_origin"  # another message under a number we used: our key is out
            elif seq > (ours := self.log.local_head(origin)) or self.stolen.holds(origin, seq):
                rx.alarm = "own_origin"
                if ours < seq <= ours + self.config.seq_window:  # the stores take it: our next goes above
                    self.stolen.skip(ours + 1, seq)
                    self.log.raise_sequence_floor(origin, seq)
                raise DecodeError(f"{origin}-{seq:04d}: our own origin, a number we never used", "own_origin")
            return
        if seq > self._window_base(origin, now) + self.config.seq_window:
            raise DecodeError(f"{origin}-{seq:04d}: far above the highest number held", "seq_jump")
        self._rate(msg, now, rx)

    def _window_base(self, origin: str, now: float) -> int:
        """Where ``seq_window`` counts from: the highest number of ``origin`` held for an
        hour, or its contiguous head.  From the highest held, a thief's jumps moved the
        window up with every one admitted (2000, then 6000, then 6097 were all taken);
        now each jump waits an hour, and a genuine origin, 240 messages an hour at most,
        never meets it."""
        settled = self.log.highest(origin, before=self._date(now - SETTLED_S))
        return max(settled, self.log.summary().get(origin, 0))

    def _admit_conflict(self, msg: Message, key_id: int, versions: int, now: float, rx: Rx) -> None:
        """A second version of a number we hold: only a stolen key, or a store restored
        from an old backup, signs one.  Unbounded, a thief stored 500 NØD under five
        numbers at Hole (12 rows became 512), back-dated past the revocation too.  So:
        two versions a number at most; none once the origin's key is revoked (the one
        we held is the genuine one); and ``conflicts_per_h`` per origin (burst as many),
        with the alarm a flood raises."""
        if versions >= MAX_VERSIONS:
            raise DecodeError(f"{msg.id}: already held in {versions} versions", "conflict_bound")
        if self.roster.key_entry(key_id).revoked is not None:
            raise DecodeError(f"{msg.id}: another version under a revoked key", "conflict_revoked")
        key = f"{msg.origin}/KONFLIKT"
        rate = self.config.conflicts_per_h
        level = self._tokens(key, rate, rate, now)
        if level < 1.0:
            rx.alarm = "origin_flood"
            raise DecodeError(f"{msg.id}: more conflicts than relay admits", "conflict_rate")
        self._buckets[key] = (level - 1.0, now)

    def _rate(self, msg: Message, now: float, rx: Rx) -> None:
        """Admission per origin: a valid signature does not make its sender well
        behaved (keys get stolen).  Each origin may bring ``origin_burst`` new
        messages at once and ``origin_rate_per_h`` an hour after that, and at most
        ``nod_per_h`` NØD an hour.  Over it, the message is refused now (with an
        alarm), not relayed; a summary naming it brings it in later, within the
        rate, so a genuine backlog is delayed, never lost.  (A stolen key sending a
        NØD every 10 s held a genuine NØD back for up to 48 minutes.)  A NØD numbered
        just above what we hold of its origin (``NEXT_NUMBERS``) has a bucket of its own:
        a thief who spent the origin's quota on numbers far above left the owner's next
        NØD waiting 505-523 s.  (A thief who takes the next numbers first makes the
        owner's NØD a conflict: ``_admit_conflict``'s bucket.)"""
        buckets = self._rate_buckets(msg.origin, msg.priority, msg.seq)
        levels = [self._tokens(key, burst, rate, now) for key, burst, rate in buckets]
        if any(level < 1.0 for level in levels):
            rx.alarm = "origin_flood"
            # Not asked for again before the rate would let it in: an answer we must refuse
            # only costs others airtime (a stolen key's flood was re-requested and
            # re-served, refused each time: 2.3x the rogue's own airtime).
            wait = max((1.0 - level) * 3600.0 / rate for (_, _, rate), level in zip(buckets, levels, strict=True))
            if len(self._deferred) > 4096:
                self._deferred.clear()  # a memory bound: what we forget is only asked for sooner
            self._deferred[(msg.origin, msg.seq)] = now + wait
            raise DecodeError(f"{msg.id}: {msg.origin} sends more than its rate allows", "origin_flood")
        for (key, _, _), level in zip(buckets, levels, strict=True):
            self._buckets[key] = (level - 1.0, now)

    def _receive_fragment(self, fragment: Fragment, now: float, rx: Rx) -> None:
        entry = self.roster.key_entry(fragment.key.key_id)  # a revoked key's older messages stay valid
        # Only the very piece we would send takes our answer's place: a forged one under
        # the same key and index, sent after every request, kept a 5-fragment message
        # from Sigdal for 4 hours.
        key = ("frag", entry.node_id, fragment.key.seq16, fragment.index)
        self._thin_same(key, fragment.to_bytes(), lambda _: True)
        if self._already_held(entry.node_id, fragment.key):
            return  # a late copy: reassembling it again would ask for a message we hold
        try:
            whole = self._reassembler.add(fragment, self._signed_by_its_key)
        except DecodeError as exc:
            if exc.reason == "bad_digest" and self._expected(fragment.key):
                # Whole, some piece being forged or damaged; at the pace of any re-ask: a forged
                # piece every 3 s must not make a request every 3 s.
                self._want((entry.node_id, self._full_seq(entry.node_id, fragment.key.seq16)), now)
            raise
        if whole is None:
            self._fragment_seen[fragment.key] = now
            return
        self._fragment_seen.pop(fragment.key, None)
        self._accept_message(whole, now, rx)

    def _signed_by_its_key(self, data: bytes) -> bool:
        """Is a reassembled message its key's (``Reassembler`` tries another combination if not)?"""
        try:
            wire.decode(data, self.roster, self.dictionaries)
        except DecodeError as exc:
            return exc.reason in _GENUINE_REFUSALS
        return True

    def _receive_summary(self, summary: Summary, peer: str, now: float, rx: Rx) -> None:
        if rx.hop_start >= self.config.max_hops:
            self._probed_at = now  # someone's probe: it finds for us too
        heads = dict(summary.heads)
        previous = self._peer_heads.get(peer, {})
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
        self._take_holdings(peer, summary, now)  # with its list: whom it reaches
        self._versions(peer, summary, now)
        self._answered(peer, heads, theirs_extra)
        ours = self.log.summary()
        listed = {origin: ours.get(origin, 0) for origin in heads}
        if (
            heads == listed
            and self._same_runs(theirs_extra, heads)
            and (not summary.complete or set(ours) <= set(heads))
        ):
            # It speaks for us only where it went as far as ours would go, to all who
            # hear us (a town hall that only its hub hears does not speak for the hub),
            # and only if it hears us: else ours tells it that we are here.
            hops = self._control_hops(now)
            knows_us = self.node_id in self.peers.list_of(peer)
            if rx.hop_start >= hops and knows_us and self.peers.covers(peer, rx.hop_start, now):
                self.trickle.consistent()
            return
        if peer in self._elsewhere(now):
            return  # the other path keeps it in step with us: nothing to ask or answer here
        # A difference only in an origin over its rate here is no news worth a reset: the
        # stores hold different parts of a stolen key's flood, and each admits it at its pace.
        calm = {origin: seq for origin, seq in heads.items() if not self._flooding(origin, now)}
        calm_extras = tuple((origin, runs) for origin, runs in summary.extras if origin in calm)
        agrees = calm == {origin: ours.get(origin, 0) for origin in calm} and self._same_runs(dict(calm_extras), calm)
        state = (tuple(sorted(calm.items())), calm_extras)
        missing = self.log.missing(heads, limit=frames.MAX_REQUEST_ITEMS, extras=theirs_extra)
        if state != self._peer_state.get(peer) and not (agrees and len(calm) < len(heads)):
            # React once per state; repeats only cost airtime.  No Trickle reset: what we
            # lack, our requests ask for; what the peer lacks, the holders' answers below
            # bring it, in turns.  Every store resetting on one differing summary made each
            # of the eight speak every interval for half an hour after every repair on the
            # field plan.
            self._peer_state[peer] = state
            # ...except at a heal: a peer heard again only lately, that holds what we lack,
            # brings a partition's worth of news, and quick summaries on both sides find
            # it all (without, the field plan's repair after Modum's partition took p90
            # 416 s to converge instead of 319 s).
            healed = now - self.peers.heard_since(peer) < HEAL_WINDOW_S
            if healed and any(origin in calm for origin, _ in missing):
                self._inconsistent(now)
        for item in missing:
            self._want(item, now)
        # Push what the peer provably lacks: saves it a request, and the answer
        # is suppressed if another holder sends the same item first.
        for origin, seq in self.log.offer(heads, limit=self.config.push_per_summary, extras=theirs_extra):
            if origin == peer:
                continue  # its own: it holds them, or refuses them (``_lacks``)
            self._offer(peer, origin, seq, now)

    def _versions(self, peer: str, summary: Summary, now: float) -> None:
        """Numbers held in two versions: we ask for those ``peer`` names that we hold
        once, and give both versions of ours that its summary does not name (once an
        hour for each: it may refuse more of an origin's conflicts than its rate)."""
        self.doubled.heard(peer, summary.doubled)
        for item in summary.doubled:
            if item[0] != self.node_id and len(self.log.wire_of(*item)) == 1:
                self.doubled.want(item)
                self._want(item, now)  # the other version: a holder answers with both
        for origin, seq in self.doubled.listed(self._wall(now)):
            if origin != peer and self._lacks(peer, origin, seq) and self.doubled.offer_due(peer, (origin, seq), now):
                self._offer(peer, origin, seq, now)

    def _offer(self, peer: str, origin: str, seq: int, now: float) -> None:
        """Answer ``peer``, which provably lacks it, with every version of a number we hold."""
        for version, wire_bytes in enumerate(self.log.wire_of(origin, seq)):
            if not self._over_rate(origin, wire.peek(wire_bytes).priority, now, seq):
                self._schedule_response(Want(origin, seq), wire_bytes, now, {peer}, version)

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

    def _receive_request(self, request: Request, requester: str, now: float, rx: Rx) -> None:
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
            for version, wire_bytes in enumerate(self.log.wire_of(want.origin, want.seq)):
                self._schedule_response(want, wire_bytes, now, {requester}, version)


# A reassembled message refused for one of these was signed by its key all the same: it is
# handed on, to be refused with its reason.  For any other, a piece was forged or damaged.
_GENUINE_REFUSALS = ("revoked", "unknown_dictionary", "unsupported_version")
