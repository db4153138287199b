"""Store-and-forward sync between town halls: a sans-IO state machine.

One ``SyncNode`` per node.  The driver (the virtual-time simulator, or the
daemon with a radio) feeds it what the radio heard and asks it what to send;
time arrives as ``now`` (seconds), randomness as a seeded ``rng``.

How it converges (see README, "Sync"):

* **Push.**  A message committed locally is sent at once, flooded by the
  firmware with ``flood_hops``; one packet if it fits, else fragments.
* **Summaries.**  Each node broadcasts, as far as the stores it hears outside
  its direct island (``Peers.reach_hops``: 0 where the stores relay on the
  ground, over the hills where they do not), the highest contiguous sequence
  number it holds per origin, and who it hears.  Timing follows Trickle (RFC
  6206): the interval doubles from ``summary_min_s`` up to ``summary_max_s``
  while every summary heard agrees with ours, and a node keeps quiet when it
  already heard ``redundancy`` agreeing summaries in the interval.  Only what
  summaries alone settle resets the interval (a wide hole below a message, a
  revocation's voids), and a NØD or HASTER, and news from a peer just heard
  again (a heal); our own new message and an old one repaired to us ask
  for one summary soon (``_speak_soon``), spaced to the hills' budget; a
  differing summary resets nothing (requests and answers settle it).  Three
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

from dataclasses import replace

from relay.core import frames, wire
from relay.core.airtime import MAX_APP_PAYLOAD
from relay.core.frames import Bundle, Held, Request, Want
from relay.core.model import Priority
from relay.core.sync.config import RANK_CONTROL, RANK_HELD, Transmission, data_rank
from relay.core.sync.queue import Answer, Queued
from relay.core.sync.receive import Receiving
from relay.core.sync.state import URGENT_HUSH_S, Received, SyncStats
from relay.errors import DecodeError

__all__ = ["Received", "SyncNode", "SyncStats"]


class SyncNode(Receiving):
    """The sync protocol of one node over its ``Log``: the output, and when it goes."""

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
            shared = self._paced(head, now)
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
        wants = tuple(
            w
            for w in queued.wants
            if len(self.log.wire_of(w.origin, w.seq)) < self.doubled.versions_wanted((w.origin, w.seq))
        )
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
        if self._summary_due is not None:
            times.append(self._summary_due)
        if self.trickle.interval > self.config.lonely_max_s:
            times.append(self._lonely_at())
        times += [t for t, _ in self._requests.values()]
        times += [t + self._reask_after(item, now) for item, t in self._asked_at.items() if item not in self._requests]
        times += [a.fire for a in self._responses.values()]
        if (pass_on := self.holdings.next_due()) is not None:
            times.append(pass_on)
        times += [t + self.config.fragment_timeout_s for t in self._fragment_seen.values()]
        if self._poll_outbox:
            times.append(now)
        live = self.queue.live()
        if live:
            head = min(live)
            ready = self.budget.wait_for(now, self.airtime(len(head.tx.frame)), urgent=head.rank <= 1)
            shared = self._paced(head, now)
            times.append(max(ready, self._hill_until) if shared else ready)
        return max(now, min(times))

    def _paced(self, queued: Queued, now: float) -> bool:
        """Does this frame wait for the hill share (``_hill_wait``)?  Our own PRIORITET
        and RUTINE do, and answers of them while a NØD or HASTER is fresh; an old NØD's
        answer, queued as PRIORITET, does not."""
        if queued.rank <= RANK_CONTROL:
            return False
        if queued.answer is None:
            return True  # our own PRIORITET and RUTINE
        # An answer (a repair someone waits for) goes as the radio allows, except while
        # a NØD or HASTER is fresh: then the channel is theirs.  Paced always, a store
        # that alone bridged two valleys (Modum, between the hills) fell an hour behind
        # at 60 messages an hour; never paced, the NØD under load waited longer.
        return queued.answer.item_rank > 1 and now - self._urgent_at < URGENT_HUSH_S

    def _hill_wait(self, now: float, duration: float, hop_limit: int) -> float:
        """When a non-urgent frame fits our share of the repeaters' channel.

        Where the stores reach each other over radio-only repeaters, the hill hears
        every town hall, and they do not hear each other: whatever they send meets
        there, and the hill's own 10 % carries all the relays.  So the stores share
        ``hill_load`` of its hour: each its part, counting its own transmission and
        one more for each repeater that relays it.  (Per-node duty alone let eight
        town halls offer the hill 70 % of its hour, and a NØD collided there for
        a quarter of an hour.)  It covers PRIORITET and RUTINE data only (``_paced``):
        NØD, HASTER and the sync's own control frames go regardless (were they
        counted, a backlog's requests would use up the share its answers need)."""
        sharers = self._sharers(now)
        if not sharers:
            return now
        cap = self.config.hill_load * self.config.hill_window_s / sharers
        return self._hill.wait_under(now, duration * (1 + hop_limit), max(cap, duration * (1 + hop_limit)))

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
        self._pass_on_due(now)
        for key, answer in list(self._responses.items()):
            if answer.fire <= now:
                del self._responses[key]
                self.queue.push(key, answer.tx, answer=answer)
        for item, asked in list(self._asked_at.items()):
            if now >= asked + self._reask_after(item, now):
                tries, mask = self._asks.get(item, (0, None))
                unconfirmed = item in self._unconfirmed and not self._named(item)
                refused = now - self._refused.get(item, -1e18) < self.config.refuse_hold_s
                refused = refused or now < self._deferred.get(item, -1e18) or self._flooding(item[0], now)
                refused = refused or self.stolen.holds(*item)
                if tries >= self.config.reask_limit or self.log.wire_of(*item) or unconfirmed or refused:
                    del self._asked_at[item]  # the next summary that names it starts over
                    self._asks.pop(item, None)
                    self._unconfirmed.discard(item)
                else:
                    self._want(item, now, mask)
        for fkey, seen in list(self._fragment_seen.items()):
            if now - seen >= self.config.fragment_timeout_s:
                del self._fragment_seen[fkey]
                self._request_fragments(fkey, now)

    def _pass_on_due(self, now: float) -> None:
        """Other stores' summaries whose turn to be passed on came: as many as fit a packet."""
        while (due := self.holdings.next_due()) is not None and due <= now:
            summaries, toward = self.holdings.take_due(now, MAX_APP_PAYLOAD - frames.HELD_HEADER)
            if not summaries:
                break
            frame = Held(self.key_id, tuple(summaries)).to_bytes()
            hops = self.peers.hops_for(toward, now, self._control_hops(now))  # as far as they are
            tx = Transmission(frame, hops, RANK_HELD)
            self.queue.push(("held", self.queue.next_id()), tx)

    def _push_outbox(self, now: float) -> None:
        """Our new messages onto this path.  Where the other path is up and reaches every
        peer this one hears, it carries them, and only a NØD goes here too (a store that
        turns up on this path later gets the rest by repair)."""
        elsewhere = self._elsewhere(now)
        served = bool(elsewhere) and all(p in elsewhere for p in self.peers.neighbours(now))
        pushed = False
        urgent = False
        # Where our frames reach the other stores only through repeaters, a push lost at
        # the hill (two town halls that cannot hear each other sending at once) left a
        # hole that only the next summaries found, minutes later.
        reliable = self._control_hops(now) > 0
        for origin, seq, rank in self.outbox.pending():
            if served and rank != Priority.NOD.rank:
                self.outbox.mark_transmitted(origin, seq, self._date(now))
                continue
            pushed = True
            urgent = urgent or rank <= Priority.HASTER.rank
            for wire_bytes in self.log.wire_of(origin, seq):  # a damaged row is not given
                try:
                    pieces = frames.split(wire_bytes, wire.peek(wire_bytes).key_id, seq)
                except DecodeError:
                    continue  # written whole, damaged since: never on the air, never fatal
                for index, piece in enumerate(pieces):
                    key: tuple[object, ...] = (
                        ("msg", origin, seq) if len(pieces) == 1 else ("frag", origin, seq & 0xFFFF, index)
                    )
                    hops = self._flood_hops(rank, now)
                    self.queue.push(key, Transmission(piece, hops, data_rank(rank), want_ack=reliable))
            self.outbox.mark_transmitted(origin, seq, self._date(now))
        if urgent:
            self._urgent_at = now
            self._inconsistent(now)  # as a store that hears it does (``_accept_message``)
        elif pushed or not served:
            self._speak_soon(now)
