"""The sync's settings and what it hands the radio."""

from __future__ import annotations

from dataclasses import dataclass

RANK_CONTROL = 2  # between HASTER (1) and PRIORITET (2 -> 3)


def data_rank(priority_rank: int) -> int:
    return priority_rank if priority_rank <= 1 else priority_rank + 1


# Other stores' summaries passed on (frames.Held) go after everything else: before it,
# at RUTINE's rank, they held the data back (field plan, 60 messages an hour, 10 seeds:
# the p90 to every store 211 s, against 140 s without them; 162 s after).
RANK_HELD = 5  # after RUTINE (4): the lowest


@dataclass(frozen=True)
class SyncConfig:
    # Hop limits.  None (the default): chosen per frame from the peers view
    # (``Peers.reach_hops``): as far as the stores outside our direct island that we
    # hear, so frames cross radio-only hilltop repeaters where they must and stay on
    # the ground where the stores relay (0 in the Modum exercise).  Measured on the
    # Modum topology (tools/measure_sync.py, 100 seeds), one message to all 8 nodes
    # costs 1.5x the ideal relay tree in data airtime with 0, 2.5x with 1 and 3.5x
    # with firmware flooding at 3.  A number overrides the choice: ``flood_hops`` for
    # fresh NØD and HASTER, ``routine_hops`` for fresh PRIORITET and RUTINE (None:
    # as ``flood_hops``), ``repair_hops`` for summaries, requests and answers.
    flood_hops: int | None = None
    routine_hops: int | None = None
    repair_hops: int | None = None
    max_hops: int = 3  # the radio's highest hop limit (the firmware's default is 3)
    # A node that hears nobody sends its summaries as far as it last knew its peers;
    # every ``probe_every``-th as far as ``max_hops``, in case the path changed (30:
    # about once an hour at ``lonely_max_s``).  Each probe floods the region: every 8th
    # summary cost the Modum repair 0.12x the ideal in airtime (40 seeds).
    probe_every: int = 30
    # A node that hears others, but whose view lacks some store of the roster (an
    # island that lost the store bridging it to the rest, as Krødsherad and Sigdal
    # behind Norefjell when Modum is cut off), sends a summary as far as ``max_hops``
    # at most this often; hearing anyone's such probe counts as ours.
    probe_missing_s: float = 900.0
    # A summary that shows news for an origin that does not hear its sender is passed on
    # (``frames.Held``) after a wait drawn from this range, times (1 + hops): newer ones
    # of the same sender take its place meanwhile, and another store's pass-on cancels it.
    # Signed summaries checked per second from one sender (10 s of it at once): a genuine
    # store sends one every few seconds at most (IP) or a few a minute (radio).
    verify_per_s: float = 0.5
    conflicts_per_h: float = 3.0  # second versions of held numbers admitted per origin (burst as many)
    pass_on_s: tuple[float, float] = (30.0, 90.0)
    # A store that took a message says so in a summary within this (``_announce``).
    announce_s: tuple[float, float] = (120.0, 300.0)
    summary_min_s: float = 20.0
    summary_max_s: float = 1280.0
    # Trickle k.  One agreeing summary is enough when it counts only if it reaches all
    # who hear us and names us (``Receiving._receive_summary``): the signed summary
    # doubled what each costs, and with k = 2 and no such check every leaf of a hub
    # spoke every interval.  Idle channel, 20 seeds: Modum 0.85 % -> 0.56 %, field
    # plan 1.27 % -> 0.98 %.
    redundancy: int = 1
    request_jitter_s: float = 4.0
    # Answers are staggered, not random: the holders a node knows to reach the waiting
    # peer take turns (see ``SyncNode._turn``), each waiting its place times a full
    # packet's airtime plus ``answer_guard_s``, plus up to ``response_jitter_s``, so
    # the next in line hears the first answer and keeps quiet.  Random jitter over a
    # few seconds let two 2 s bundles overlap too often.  The first turn comes at
    # once, so NØD and HASTER lose no time by it.
    answer_guard_s: float = 1.6
    response_jitter_s: float = 0.5
    refuse_hold_s: float = 3600.0  # a number a revoked key made void is not asked for again this long
    rerequest_s: float = 60.0  # ask again for an item still missing after this long, then twice as long...
    reask_limit: int = 6  # ...up to this many requests (about an hour), until a summary names it again
    fragment_timeout_s: float = 20.0
    hold_down_s: float = 5.0  # ignore requests for an item this soon after we sent it (they crossed it)
    push_per_summary: int = 8  # items answered unasked when a neighbour's summary shows it lacks them
    neighbour_ttl_s: float = 7200.0  # a node heard within this long is a neighbour (two keepalives)
    # A node that has heard nobody for ``lonely_after_s`` (cut off, or just started)
    # keeps its summary interval at ``lonely_max_s``, so a heal is found in minutes,
    # not at the next 10-20 minute Trickle summary.  A node never stays silent longer
    # than ``keepalive_s`` (plus one interval), even when Trickle would suppress it:
    # quiet neighbours must not look like a partition, and neighbour lists stay fresh.
    # Once an hour: "last heard" is the board's, to the hour; every half hour, the
    # keepalives alone were half the idle channel.
    lonely_after_s: float = 3600.0
    lonely_max_s: float = 120.0
    keepalive_s: float = 3600.0
    # A message older than this arrived by repair, not by the firmware's flood: the
    # store passes it on at once to neighbours known to lack it.  (A fresh message
    # that came over hops is left to the flood.)
    fresh_s: float = 300.0
    # A message numbered this far above the highest we hold of its origin is refused:
    # above any restore's jump (hw/restore.sh adds 1000), far below a stolen key's.
    seq_window: int = 4096
    # Answers to others go at their message's NØD or HASTER rank only while it is
    # younger than this (by when we got or sent it); then as PRIORITET.
    urgent_answer_s: float = 3600.0
    # Admission per origin (``SyncNode._rate``): new messages of one origin that a
    # store takes at once, then an hour; and its NØD an hour.  A town hall's whole
    # 9 % carries about 240 messages an hour; a crisis staff writes far fewer.
    origin_burst: float = 40.0
    origin_rate_per_h: float = 240.0
    nod_per_h: float = 6.0
    # A message older than this is refused as a replay.  A crisis runs for days or
    # weeks and a node may be cut off for most of one; a year-old message is not news.
    max_age_s: float = 30 * 86400.0
    duty_limit: float = 0.09  # keep under the legal 10 %: firmware relays count too
    # Where stores reach each other only over repeaters: the share of a repeater's
    # hour that all stores together may load its channel with, relays and their
    # own frames counted (see ``SyncNode._hill_wait``); NØD and HASTER go regardless.
    hill_load: float = 0.18
    # ...over a rolling window this long, not the law's hour: a share spent in one
    # burst still collides at the hill.  Field plan, 10 seeds: with the hour, the
    # NØD of the load run took up to 855 s to every store; 900 s: 591 s; 300 s: 758 s
    # (and the repair after Modum's partition 394 s instead of 223 s).
    hill_window_s: float = 900.0
    duty_reserve: float = 0.25
    # The share of the repeaters' channel that the summaries news asks for may take,
    # all stores together (``SyncNode._summary_spacing``); Trickle's own stay within it.
    summary_share: float = 0.05
    # With a second path up (IP), a request on this one waits this much longer: the
    # other path most likely brings the item first, at no airtime.
    elsewhere_grace_s: float = 20.0


@dataclass(frozen=True)
class Transmission:
    frame: bytes
    hop_limit: int
    rank: int
    # Ask the radio to send it again until it hears a repeater relay it (the firmware's
    # implicit ACK on a broadcast): our own fresh messages where they must cross a hill.
    want_ack: bool = False


# The IP path's cost of one frame for the duty budget, in seconds of "airtime": no law
# limits it, but a budget bounds what one node can be made to publish (20 frames a
# second at ``IP_CONFIG.duty_limit``, NØD and HASTER first, as on the air).
IP_SECONDS_PER_FRAME = 0.01

# The sync over IP, where every node hears every other through the broker at no
# airtime and in milliseconds: hop limits 0, fast Trickle, short turns and timeouts,
# and a neighbour is gone after 90 s without its summary (then the radio serves it
# again).  Admission per origin and the age window as on the radio.
IP_CONFIG = SyncConfig(
    flood_hops=0,
    routine_hops=0,
    repair_hops=0,
    max_hops=0,
    summary_min_s=1.0,
    summary_max_s=30.0,
    pass_on_s=(0.5, 2.0),
    verify_per_s=2.0,
    announce_s=(2.0, 5.0),
    request_jitter_s=0.5,
    answer_guard_s=0.5,
    response_jitter_s=0.3,
    rerequest_s=10.0,
    fragment_timeout_s=10.0,
    hold_down_s=2.0,
    push_per_summary=32,
    neighbour_ttl_s=90.0,
    lonely_after_s=90.0,
    lonely_max_s=30.0,
    keepalive_s=30.0,
    probe_missing_s=1e9,
    duty_limit=0.2,
    hill_load=1.0,
    elsewhere_grace_s=0.0,
)
