"""Repair: asking for what we lack, and answering what others lack, in turns."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping

from relay.core import frames, wire
from relay.core.frames import Want
from relay.core.log import Ranges, held_in
from relay.core.model import Priority
from relay.core.sync.config import Transmission, data_rank
from relay.core.sync.queue import Answer
from relay.core.sync.state import MAX_DEFERRALS, MAX_VERSIONS, Rx, SyncState
from relay.errors import DecodeError


class Answering(SyncState):
    """Requests we will send, answers we will give, and who goes first."""

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

    def _answered(self, peer: str, heads: Mapping[str, int], extras: Mapping[str, Ranges]) -> None:
        """A summary shows ``peer`` now holds items we meant to send it: when nobody
        else is known to wait for them, the answer is dropped before it goes on air."""

        def holds(answer: Answer, waiting: str) -> bool:
            origin, seq = answer.item
            held = origin in heads and held_in(heads[origin], extras.get(origin, ()), seq)
            return waiting == peer and held and not self.doubled.lacks(peer, answer.item)

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

    def _want(self, item: tuple[str, int], now: float, mask: int | None = None) -> None:
        if now - self._refused.get(item, -1e18) < self.config.refuse_hold_s or self.stolen.holds(*item):
            return  # signed with a revoked or stolen key: asking only brings it back
        if now < self._deferred.get(item, -1e18) or self._flooding(item[0], now):
            return  # over its origin's rate: it would be refused (asked again once a summary names it later)
        asked = self._asked_at.get(item)
        if item in self._requests or (asked is not None and now - asked < self.config.rerequest_s):
            return
        spread = self.config.request_jitter_s * (1 + self._control_hops(now))
        grace = self.config.elsewhere_grace_s if self._elsewhere(now) else 0.0  # the other path may bring it
        self._requests[item] = (now + grace + self.rng.uniform(0.5, spread), mask)

    def _reask_after(self, item: tuple[str, int], now: float) -> float:
        """An item a summary named and we asked for (or heard asked for) is asked for
        again if it has not come: the answer may have been lost, and the holder's next
        summary may be long in coming.  The wait doubles with each request we send, and
        grows with the repeaters between us and the holders: there every answer waits
        for the hills' share, and at 60 messages an hour on the field plan seven of ten
        requests were re-asks for answers still in a queue."""
        tries = self._asks.get(item, (0, None))[0]
        first = self.config.rerequest_s * (1 + self._control_hops(now))
        return min(first * float(2 ** min(max(tries - 1, 0), 16)), self.config.summary_max_s)

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
        if len(self._unconfirmed) > 4096:
            self._unconfirmed.clear()  # a memory bound: what we forget is asked for as usual
        self._unconfirmed.add((origin, seq))
        self._asked_at.pop((origin, seq), None)
        self._want((origin, seq), now, mask)

    def _already_held(self, origin: str, fkey: frames.FragmentKey) -> bool:
        seq = (self.log.summary().get(origin, 0) & ~0xFFFF) | fkey.seq16
        return any(frames.key_for(w, fkey.key_id, fkey.seq16) == fkey for w in self.log.wire_of(origin, seq))

    def _schedule_response(
        self, want: Want, wire_bytes: bytes, now: float, requesters: set[str], version: int = 0
    ) -> None:
        """``version``: this wire's place among the versions we hold of its number (a
        second version is an answer of its own, not a copy of the first)."""
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
            key = versioned(key, version)
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
            msg = wire.decode(wire_bytes, self.roster, self.dictionaries).message
        except DecodeError:
            return data_rank(Priority.PRIORITET.rank)
        fresh = self._age(msg, now) < self.config.urgent_answer_s
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
        # Ours counts too, as the others know it: a list we said before we heard ``peer``
        # (a hub that Trickle keeps quiet says its list seldom) leaves them ordering by
        # the hash, and we must too, or two gateways each wait for the other, then both send.
        unknown = peer not in self._advertised or any(
            not self.peers.knows_list_since(n, peer) for n in candidates if n != self.node_id
        )

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

    def _overheard(self, key: tuple[object, ...], frame: bytes, sender: str | None, radius: int) -> None:
        """``sender`` sent this item with hop limit ``radius``: whoever it reaches no
        longer waits for our answer of the same bytes (another version of the number
        is another answer).  Not knowing the sender or its neighbours, we take it that
        it reached everyone (as in SRM)."""
        known = sender is not None and self.peers.knows_list(sender)
        self._thin_same(key, frame, lambda peer: not known or self.peers.reaches(sender or "", peer, radius))

    def _thin_same(self, key: tuple[object, ...], frame: bytes, reached: Callable[[str], bool]) -> None:
        """Someone sent ``frame``: our answers of those very bytes, under any version of
        ``key``, no longer wait for the peers it ``reached``."""
        for version in range(MAX_VERSIONS):
            self._thin(versioned(key, version), lambda a, peer: a.tx.frame == frame and reached(peer))

    def _forward(self, signed: wire.SignedMessage, now: float, sender: str | None, rx: Rx) -> None:
        """Pass a message that came by repair on to the neighbours known to lack it:
        they would otherwise wait for a summary, then ask.  ``sender`` None: a bare
        frame, which is its origin's own push."""
        msg = signed.message
        sender = sender or msg.origin
        if rx.hop_start > rx.hops and self._age(msg, now) < self.config.fresh_s:
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
        if waiting and not self._over_rate(msg.origin, msg.priority, now, msg.seq):
            versions = self.log.wire_of(msg.origin, msg.seq)
            version = versions.index(signed.wire) if signed.wire in versions else 0
            self._schedule_response(Want(msg.origin, msg.seq), signed.wire, now, waiting, version)


def versioned(key: tuple[object, ...], version: int) -> tuple[object, ...]:
    """An answer's key for ``version`` of its number: a second version is an answer of its
    own (the first keeps the plain key)."""
    return (*key, version) if version else key
