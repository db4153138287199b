"""Who we hear, how far away, and how far our frames must go: the peers view.

Every frame from a store names its sender (a summary, request or bundle carries
the sender's key id) and the radio tells how far it travelled (``hops``:
hop_start - hop_limit, 0 when we heard the sender directly).  From that, and
from the neighbour lists that summaries carry (with a hop count per
neighbour), this view answers:

* who our neighbours are, and how many repeaters lie between us
  (``hops_to``);
* whether a frame from one node reaches another (``reaches``);
* which stores form our *direct island*: the stores joined to us by chains of
  direct links, which relay for each other without any repeater
  (``island``);
* how far a frame must go (``reach_hops``): as far as the stores outside our
  island that we hear, so that the sync crosses radio-only hilltop repeaters
  where it must and stays on the ground where the stores relay.  A node that
  hears nobody keeps the reach it last had, and now and then tries the
  radio's highest, to find a heal even when the path changed.

A frame from a store arrives first on the shortest path (the radio drops later
copies), so the hops of the latest frame are its distance.  The distance to a
peer is the least hops seen within ``ttl``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

NEVER = -1e18


@dataclass
class PeerInfo:
    """What we know of one peer."""

    heard: float = NEVER  # when we last heard a frame of its own
    heard_since: float = NEVER  # when we began to hear it (again)
    hops: int = 0  # the least hops seen within the TTL
    hops_at: float = NEVER  # when we last saw ``hops``
    neighbours: dict[str, int] = field(default_factory=dict)  # who it hears, and over how many hops
    neighbours_at: float = NEVER  # when it said so (NEVER: it never did)


class Peers:
    """The view of one node of the others, built from what it hears."""

    def __init__(self, node_id: str, ttl: float, max_hops: int, gone_s: float | None = None) -> None:
        self.node_id = node_id
        self.ttl = ttl
        # A peer unheard for longer than this, and heard again, is heard *again* (a heal:
        # ``heard_since``); below it, a quiet peer between its keepalives.
        self.gone_s = ttl if gone_s is None else gone_s
        self.max_hops = max_hops
        self._info: dict[str, PeerInfo] = {}
        self._changes = 0  # bumped by every input: the island is cached per (now, changes)
        self._island: tuple[float, int, frozenset[str]] = (NEVER, -1, frozenset())
        self._last_reach: int | None = None  # what reach_hops said while we heard others

    # --- inputs ----------------------------------------------------------------

    def heard(self, peer: str, hops: int, now: float) -> None:
        """A frame of ``peer``'s own reached us over ``hops`` repeaters."""
        if peer == self.node_id:
            return
        self._changes += 1
        info = self._info.setdefault(peer, PeerInfo())
        if now - info.heard > self.gone_s:
            info.heard_since = now
        info.heard = now
        hops = max(0, min(hops, self.max_hops))
        if hops <= info.hops or now - info.hops_at > self.ttl:
            info.hops, info.hops_at = hops, now

    def listed(self, peer: str, neighbours: dict[str, int], now: float) -> None:
        """``peer``'s summary names who it hears, with hops."""
        self._changes += 1
        info = self._info.setdefault(peer, PeerInfo())
        info.neighbours = {n: h for n, h in neighbours.items() if n != peer}
        info.neighbours_at = now

    # --- the view ----------------------------------------------------------------

    def neighbours(self, now: float) -> list[str]:
        """The peers we serve ourselves: those heard directly within the TTL, and
        those heard through repeaters that no store nearer to them serves: not in
        our direct island (the stores between us relay), and not heard over fewer
        hops by a direct neighbour of ours (it serves them)."""
        horizon = now - self.ttl
        return sorted(
            p for p, i in self._info.items() if i.heard >= horizon and (i.hops == 0 or not self._served(p, now))
        )

    def _served(self, peer: str, now: float) -> bool:
        """Is ``peer``, heard through repeaters, served by a store nearer to it?
        (In a chain A-B-C-D, A hears D over two hops, B over one, and C, whose list A
        never hears, directly: without this A and D kept flooding to each other; and
        a far town hall answered Modum over the hill while Ringerike beside it did.)"""
        if peer in self.island(now):
            return True
        hops = self._info[peer].hops
        horizon = now - self.ttl
        for d, info in self._info.items():
            if info.hops != 0 or info.heard < horizon:
                continue
            if info.neighbours_at >= horizon and info.neighbours.get(peer, hops) < hops:
                return True  # d hears it nearer than we do
            said = self._info[peer]
            if said.neighbours_at >= horizon and said.neighbours.get(d, hops) < hops:
                return True  # it says it hears d nearer than we hear it
        return False

    def hops_to(self, peer: str, now: float) -> int | None:
        """How many repeaters lie between us and ``peer`` (None: not heard lately)."""
        info = self._info.get(peer)
        if info is None or now - info.heard > self.ttl:
            return None
        return info.hops

    def advertised(self, now: float) -> dict[str, int]:
        """Our neighbour list as a summary says it: everyone we heard within the TTL,
        island or not, with hops (others decide from it who serves whom)."""
        horizon = now - self.ttl
        return {p: i.hops for p, i in sorted(self._info.items()) if i.heard >= horizon}

    def in_view(self, now: float) -> set[str]:
        """Every store we know to be on the air: heard within the TTL, or named in the
        list of one so heard."""
        horizon = now - self.ttl
        heard = {p for p, i in self._info.items() if i.heard >= horizon}
        return heard | {n for p in heard for n in self._info[p].neighbours}

    def named(self, peer: str) -> bool:
        """Have we heard of ``peer`` at all: a frame of its own, or in anyone's list?"""
        return peer in self._info or any(peer in i.neighbours for i in self._info.values())

    def knows_list(self, peer: str) -> bool:
        return peer in self._info and self._info[peer].neighbours_at > NEVER

    def knows_list_since(self, node: str, peer: str) -> bool:
        """Do we have ``node``'s list as said since we began to hear ``peer`` (again)?"""
        info = self._info.get(node)
        since = self._info[peer].heard_since if peer in self._info else NEVER
        return info is not None and info.neighbours_at > NEVER and info.neighbours_at >= since

    def list_of(self, peer: str) -> dict[str, int]:
        info = self._info.get(peer)
        return info.neighbours if info is not None else {}

    def listing(self, peer: str) -> list[str]:
        """The nodes whose lists name ``peer``: they hear it."""
        return [n for n, i in self._info.items() if peer in i.neighbours]

    def heard_since(self, peer: str) -> float:
        """When we began to hear ``peer`` (again): NEVER if we never did."""
        info = self._info.get(peer)
        return info.heard_since if info is not None else NEVER

    def last_heard(self) -> float:
        return max((i.heard for i in self._info.values()), default=NEVER)

    def reaches(self, sender: str, peer: str, radius: int | None = None) -> bool:
        """Does a frame from ``sender`` sent with hop limit ``radius`` (None: far
        enough) reach ``peer``?  Yes unless what we know shows otherwise: ``sender``'s
        list, said after ``peer`` (re)appeared, lacks it (or puts it further than
        ``radius``), and ``peer``'s own list lacks ``sender``."""
        if peer == sender:
            return True
        info = self._info.get(sender, PeerInfo())
        peer_since = self._info[peer].heard_since if peer in self._info else 0.0
        if info.neighbours_at < peer_since:
            return True  # its list is older than what we know of ``peer``
        listed = info.neighbours.get(peer)
        if listed is not None and (radius is None or listed <= radius):
            return True
        back = self.list_of(peer).get(sender)
        return back is not None and (radius is None or back <= radius)

    def covers(self, sender: str, radius: int, now: float) -> bool:
        """Does a frame from ``sender`` with hop limit ``radius`` reach every one of
        our neighbours (as far as we know)?  Then its summary, agreeing with ours,
        says to all who would hear ours what ours would."""
        return all(self.reaches(sender, n, radius) for n in self.neighbours(now) if n != sender)

    def island(self, now: float) -> frozenset[str]:
        """The stores joined to us by chains of direct links (hop 0), as far as the
        lists we heard within the TTL tell: they relay for each other."""
        at, changes, island = self._island
        if at != now or changes != self._changes:
            island = frozenset(self._walk_island(now))
            self._island = (now, self._changes, island)
        return island

    def _walk_island(self, now: float) -> set[str]:
        horizon = now - self.ttl
        island = {self.node_id}
        edge = [p for p, i in self._info.items() if i.heard >= horizon and i.hops == 0]
        while edge:
            node = edge.pop()
            if node in island:
                continue
            island.add(node)
            info = self._info.get(node)
            if info is not None and info.neighbours_at >= horizon:
                edge += [n for n, h in info.neighbours.items() if h == 0 and n not in island]
        return island

    def reach_hops(self, now: float, lonely: bool, probe: bool = False) -> int:
        """The hop limit that takes our frames to every store we hear outside our
        direct island (0 when they all relay for each other on the ground).  When we
        hear nobody (``lonely``): the hops we last knew, or with ``probe`` (and when
        we never knew any) the radio's highest."""
        if lonely:
            return self.max_hops if probe or self._last_reach is None else self._last_reach
        far = (self._info[p].hops for p in self.neighbours(now))
        self._last_reach = max(far, default=0)
        return self._last_reach

    def hops_for(self, peers: Iterable[str], now: float, fallback: int) -> int:
        """The hop limit that reaches every one of ``peers`` (``fallback`` for one we
        have not heard lately)."""
        hops = [self.hops_to(p, now) for p in peers]
        return max((fallback if h is None else h for h in hops), default=0)
