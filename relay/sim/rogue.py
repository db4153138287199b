"""A hostile radio in the simulator: the frames a ``[[rogue]]`` sends, built from what it heard.

It holds the channel key but is not in the roster: its unsigned frames (REQUEST,
SUMMARY, FRAGMENT) claim some roster node's key id, and its signed messages use
a stolen key.  No I/O: the runner hands it every frame its radio heard (``hear``)
and asks for the frames due (``due(now)``); ``now`` counts seconds from the
scenario's start, randomness comes from a seeded ``rng``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from relay.core import frames, wire
from relay.core.airtime import MAX_FRAGMENTS
from relay.core.compose import compose
from relay.core.frames import MAX_REQUEST_ITEMS, Fragment, FragmentKey, Held, Request, Summary, Want
from relay.core.model import MAX_SEQ, Kind, Priority
from relay.core.roster import Roster
from relay.core.signing import SIGNATURE_BYTES, Signer
from relay.core.sync.freshness import clock_seconds
from relay.edge import dictionaries
from relay.errors import DecodeError
from relay.sim.scenario import ROGUE_ATTACKS, SIGNED_ATTACKS, RogueSpec

LIE_ABOVE = 10_000  # summary-lie: heads this far above the highest number heard of each origin
LIE_AHEAD_S = 3600  # summary-lie: counters this far above the clock's, newer than any genuine summary
JUMPS = (2**31, MAX_SEQ)  # seq-jump: numbers up from 2^31 and down from 2^32-1, in turn
HELD_PER_ORIGIN = 64  # request-flood asks among the newest numbers heard held of each origin
SPAM_BYTES = 4  # fragment-spam: data bytes a fragment (8 of header: 12 bytes, 0.4 s at LONG_FAST)
JAM_KEYS = 4  # fragment-jam: the long messages it remembers, the newest last
FLOOD_TEXT = "Evakuer rådhuset straks. Møt ved brannstasjonen."


class Rogue:
    """One hostile radio's attack: one frame (or a message's fragments) every
    ``spec.every`` seconds from ``spec.start`` until ``spec.stop``."""

    def __init__(
        self,
        spec: RogueSpec,
        roster: Roster,
        rng: random.Random,
        t0: datetime,
        stolen: Signer | None = None,
        dictionary: wire.Dictionary | None = None,
    ) -> None:
        """``t0``: the wall time of the scenario's start (messages are dated from it);
        ``stolen``: the real signer of ``spec.stolen_key`` (message-flood, seq-jump,
        conflict-flood; a summary-lie signs its lies with it)."""
        if spec.attack not in ROGUE_ATTACKS:
            raise ValueError(f"unknown attack {spec.attack!r}")
        if spec.attack in SIGNED_ATTACKS and stolen is None:
            raise ValueError(f"{spec.attack} needs the stolen key's signer")
        self.spec = spec
        self.roster = roster
        self.rng = rng
        self.t0 = t0
        self.stolen = stolen
        self.dictionary = dictionary or dictionaries.current()
        self.highest: dict[str, int] = {}  # per origin, the highest number heard of (or signed)
        self.held: dict[str, set[int]] = {}  # per origin, the newest numbers heard held
        self.frames_sent = 0
        self._ticks = 0
        self._next: float | None = spec.start
        self._jumps = 0
        self._heard_fragments: dict[FragmentKey, tuple[int, dict[int, int]]] = {}  # key -> (count, index -> size)
        self._jams = 0
        self._conflicts = 0
        builders: dict[str, Callable[[float], list[bytes]]] = {
            "request-flood": self._request_flood,
            "summary-lie": self._summary_lie,
            "fragment-spam": self._fragment_spam,
            "fragment-jam": self._fragment_jam,
            "message-flood": self._message_flood,
            "seq-jump": self._seq_jump,
            "conflict-flood": self._conflict_flood,
        }
        self._build = builders[spec.attack]

    # --- what it hears ------------------------------------------------------------

    def hear(self, frame: bytes) -> None:
        """A frame its radio heard: summaries show what the stores hold, messages their numbers."""
        try:
            parsed = frames.parse(frame)
            if isinstance(parsed, Summary):
                for origin, head in parsed.heads:
                    self._note(origin, 1, head)
                for origin, ranges in parsed.extras:
                    for first, last in ranges:
                        self._note(origin, first, last)
            elif isinstance(parsed, frames.Bare):
                self._heard_message(parsed.data)
            elif isinstance(parsed, Fragment):
                self._heard_fragment(parsed)
            elif isinstance(parsed, frames.Bundle):
                for data in parsed.messages:
                    self._heard_message(data)
        except DecodeError:
            pass  # what it cannot read teaches it nothing

    def _heard_message(self, data: bytes) -> None:
        head = wire.peek(data)
        origin = self.roster.entry_for_key(head.key_id).node_id
        self._note(origin, head.seq, head.seq)

    def _heard_fragment(self, fragment: Fragment) -> None:
        """A long message on the air: fragment-jam forges pieces of it (the newest few)."""
        _, sizes = self._heard_fragments.pop(fragment.key, (fragment.count, {}))
        sizes[fragment.index] = len(fragment.data)
        self._heard_fragments[fragment.key] = (fragment.count, sizes)
        while len(self._heard_fragments) > JAM_KEYS:
            del self._heard_fragments[next(iter(self._heard_fragments))]

    def _note(self, origin: str, first: int, last: int) -> None:
        if last < first:
            return
        self.highest[origin] = max(self.highest.get(origin, 0), last)
        held = self.held.setdefault(origin, set())
        held.update(range(max(first, last - HELD_PER_ORIGIN + 1), last + 1))
        if len(held) > HELD_PER_ORIGIN:
            self.held[origin] = set(sorted(held)[-HELD_PER_ORIGIN:])

    # --- what it sends --------------------------------------------------------------

    def next_send(self) -> float | None:
        """When its next frame is due (seconds from the start), None once it has stopped."""
        return self._next

    def due(self, now: float) -> list[bytes]:
        """The frames due at ``now`` (normally one tick's), in the order to send them."""
        out: list[bytes] = []
        while self._next is not None and self._next <= now:
            out.extend(self._build(self._next))
            self._ticks += 1
            self._next = self.spec.start + self._ticks * self.spec.every  # no drift from summing
            if self._next >= self.spec.stop:
                self._next = None
        self.frames_sent += len(out)
        return out

    def _claimed_key(self) -> int:
        """The key id an unsigned frame claims: ``claims``, or a roster node drawn each
        time (never the stolen key's: a frame in its name would be signed by it)."""
        node = self.spec.claims or self.rng.choice([n for n in self.roster.node_ids if n != self.spec.stolen_key])
        entry = self.roster.active(node)
        assert entry is not None, f"{node} has no active key"
        return entry.key_id

    def _request_flood(self, now: float) -> list[bytes]:
        """One REQUEST for as many held messages as it fits: every holder answers it."""
        items = [(origin, seq) for origin, seqs in sorted(self.held.items()) for seq in sorted(seqs)]
        if not items:  # nothing heard yet: guess that every node has sent its first
            items = [(origin, 1) for origin in self.roster.node_ids]
        picked = sorted(self.rng.sample(items, min(len(items), MAX_REQUEST_ITEMS)))
        wants = [Want(origin, seq) for origin, seq in picked]
        key_id = self._claimed_key()
        while True:
            try:
                return [Request(key_id, tuple(wants)).to_bytes()]
            except ValueError:  # huge numbers: fewer fit one packet
                wants.pop()

    def _summary_lie(self, now: float) -> list[bytes]:
        """A SUMMARY with every origin's head far above anything: false MOTTATT receipts.
        Numbered above any genuine one, so that it is checked, not refused as a replay;
        every other one passed on in a HELD frame, as a store passes on a far store's."""
        heads = tuple(
            sorted((origin, min(MAX_SEQ, self.highest.get(origin, 0) + LIE_ABOVE)) for origin in self.roster.node_ids)
        )
        counter = clock_seconds((self.t0 + timedelta(seconds=now)).timestamp()) + LIE_AHEAD_S
        lie = Summary(self._claimed_key(), self.roster.version, heads, counter=counter)
        # Signed with a key that is not the claimed node's: a forger has no other, a thief a third store's.
        if self.stolen is not None:
            forged = lie.signed(self.stolen.sign)
        else:
            forged = lie.to_bytes() + bytes(self.rng.getrandbits(8) for _ in range(SIGNATURE_BYTES))
        if self._ticks % 2 == 0:
            return [forged]
        passer = self.stolen.key_id if self.stolen is not None else self._claimed_key()
        return [Held(passer, (forged,)).to_bytes()]

    def _fragment_spam(self, now: float) -> list[bytes]:
        """One fragment of a message that never was: it cannot be verified until whole."""
        count = self.rng.randint(2, MAX_FRAGMENTS)
        key = FragmentKey(self._claimed_key(), self.rng.getrandbits(16), self.rng.getrandbits(16))
        return [Fragment(key, self.rng.randrange(count), count, self.rng.randbytes(SPAM_BYTES)).to_bytes()]

    def _fragment_jam(self, now: float) -> list[bytes]:
        """Against the long message heard last: a forged piece under its very key and an
        index heard (a store that overwrote pieces never completed it), and a piece of a
        fuller forged partial under its key id (to evict the genuine partial)."""
        if not self._heard_fragments:
            return []
        key, (count, sizes) = next(reversed(self._heard_fragments.items()))
        index = self.rng.choice(sorted(sizes))
        turn, self._jams = self._jams, self._jams + 1
        decoy = FragmentKey(key.key_id, (key.seq16 + 1 + turn // count % 4) & 0xFFFF, self.rng.getrandbits(16))
        return [
            Fragment(key, index, count, self.rng.randbytes(sizes[index])).to_bytes(),
            Fragment(decoy, turn % count, count, self.rng.randbytes(SPAM_BYTES)).to_bytes(),
        ]

    def _message_flood(self, now: float) -> list[bytes]:
        """A fresh NØD signed with the stolen key, numbered on from the highest heard."""
        origin = self._stolen_origin()
        return self._signed(origin, self.highest.get(origin, 0) + 1, Priority.NOD, now)

    def _seq_jump(self, now: float) -> list[bytes]:
        """A validly signed message at 2^31 (and up) or 2^32-1 (and down), in turn."""
        turn, self._jumps = self._jumps, self._jumps + 1
        seq = JUMPS[0] + turn // 2 if turn % 2 == 0 else JUMPS[1] - turn // 2
        return self._signed(self._stolen_origin(), seq, Priority.HASTER, now)

    def _conflict_flood(self, now: float) -> list[bytes]:
        """Another NØD under a number the owner already used (one heard held; 1 if
        none was), the held numbers in turn: a conflict for every store that holds it."""
        origin = self._stolen_origin()
        held = sorted(self.held.get(origin, ())) or [1]
        turn, self._conflicts = self._conflicts, self._conflicts + 1
        text = f"{FLOOD_TEXT} ({turn + 1})"  # each version its own text: no two alike
        return self._signed(origin, held[turn % len(held)], Priority.NOD, now, text)

    def _stolen_origin(self) -> str:
        assert self.spec.stolen_key is not None
        return self.spec.stolen_key

    def _signed(self, origin: str, seq: int, priority: Priority, now: float, text: str = FLOOD_TEXT) -> list[bytes]:
        assert self.stolen is not None
        created = self.t0 + timedelta(seconds=now)
        msg = compose(Kind.MELDING, origin, seq, created, text=text, priority=priority, exercise=True)
        signed = wire.encode(msg, self.stolen, self.dictionary)
        self.highest[origin] = max(self.highest.get(origin, 0), seq)
        return frames.split(signed.wire, signed.key_id, seq)
