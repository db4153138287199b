"""Capacity runs: what one message costs the region, and what rate of messages it carries.

* ``one_message_cost``: one RUTINE MELDING after an idle hour; the airtime of
  every radio (the hills' relays included) in the hour after it, less the same
  hour of a twin run without it, against the ideal (the origin once and each
  relay of a minimal broadcast tree once);
* ``rate_run``: messages from random stores spread over an hour at a given
  rate: delivery time of every (message, store) pair, channel use and the
  hills' busiest hour;
* ``valleys``: generated regions of valleys joined by radio-only hills, of any
  size, for the scaling runs (``scaling_run``: one RUTINE every 20 minutes);
* ``summary_auth``: what authenticating the summaries costs an idle region,
  under Ed25519 signatures and the alternatives the README compares.

Every run is real ``SyncNode``s and stores on the simulated medium, deterministic
for its seed.
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

from relay.bench import meshes, sync_runs
from relay.core import frames
from relay.core.airtime import packet_airtime
from relay.core.model import Priority
from relay.core.signing import SIGNATURE_BYTES
from relay.core.sync import SyncConfig
from relay.sim import scenario as sc
from relay.sim.runner import Simulation

IDLE_S = 3600.0  # the message goes after an idle hour
AFTER_S = 3600.0  # ...and its cost is counted over the hour after it


def broadcast_transmissions(s: sc.Scenario, origin: str) -> int:
    """Transmissions of a minimal broadcast tree from ``origin`` that reaches every store:
    the origin, then greedily the radio that holds the message and reaches most stores
    still lacking it (radio-only hills included), on lossless links."""
    graph = meshes.neighbour_sets([n.id for n in s.nodes], s.links)
    stores = set(s.store_nodes)
    have = {origin} | graph[origin]
    sent = {origin}
    count = 1
    while not stores <= have:
        candidates = sorted(have - sent)
        best = max(candidates, key=lambda n: (len((graph[n] - have) & stores), len(graph[n] - have), n))
        if not graph[best] - have:
            break  # the rest is unreachable
        sent.add(best)
        have |= graph[best]
        count += 1
    return count


def _airtime_in(sim: Simulation, start: float, end: float) -> float:
    preset = sim.scenario.preset
    return sum(packet_airtime(len(f), preset) for t, _, f in sim.medium.frames_log if start <= t - sim.epoch0 < end)


def _quiet(base: sc.Scenario, seed: int, duration: float) -> sc.Scenario:
    return dataclasses.replace(base, seed=seed, duration=duration, events=())


def one_message_cost(base: sc.Scenario, seed: int, origin: str | None = None) -> dict[str, Any]:
    """One RUTINE message from ``origin`` (None: a store drawn by the seed) after an idle hour."""
    rng = random.Random(f"one/{seed}")
    origin = origin or rng.choice(list(base.store_nodes))
    texts = meshes.sample_texts()
    text = texts[seed % len(texts)]
    end = IDLE_S + AFTER_S
    event = meshes.send_event(IDLE_S, origin, text, Priority.RUTINE)
    sim = Simulation(dataclasses.replace(_quiet(base, seed, end), events=(event,)))
    report = sim.run()
    twin = Simulation(_quiet(base, seed, end))
    twin.run()
    message = report["messages"][0]  # type: ignore[index]
    with_it = _airtime_in(sim, IDLE_S, end)
    without = _airtime_in(twin, IDLE_S, end)
    once = packet_airtime(int(message["wire_bytes"]), base.preset)
    ideal = once * broadcast_transmissions(base, origin)
    delivered = message["delivered"]
    return {
        "seed": seed,
        "origin": origin,
        "cost_s": round(with_it - without, 2),
        "ideal_s": round(ideal, 2),
        "ratio": round((with_it - without) / ideal, 2),
        "idle_s": round(without, 2),
        "all_hold": set(delivered) >= set(base.store_nodes),
    }


def rate_run(
    base: sc.Scenario,
    seed: int,
    per_hour: int,
    hours: float = 1.0,
    tail: float = 3600.0,
    config: SyncConfig | None = None,
) -> dict[str, Any]:
    """``per_hour`` RUTINE/PRIORITET messages from random stores, at random times over
    ``hours`` after a quiet 10 minutes: delivery of every (message, store) pair."""
    rng = random.Random(f"rate/{seed}/{per_hour}")
    texts = meshes.sample_texts()
    stores = list(base.store_nodes)
    start = 600.0
    count = round(per_hour * hours)
    times = sorted(rng.uniform(start, start + hours * 3600.0) for _ in range(count))
    prios = (Priority.RUTINE, Priority.RUTINE, Priority.PRIORITET)
    events = tuple(meshes.send_event(t, rng.choice(stores), rng.choice(texts), rng.choice(prios)) for t in times)
    duration = start + hours * 3600.0 + tail
    s = dataclasses.replace(base, seed=seed, duration=duration, events=events)
    sim = Simulation(s, config=config)
    report = sim.run()
    lags: list[float | None] = []
    for m in report["messages"]:  # type: ignore[attr-defined]
        for store in stores:
            at = m["delivered"].get(store)
            lags.append(None if at is None else at - float(m["sent_at_s"]))
    hills = [n.id for n in s.nodes if n.radio_only]
    nodes: dict[str, dict[str, Any]] = report["nodes"]  # type: ignore[assignment]
    return {
        "seed": seed,
        "per_hour": per_hour,
        "lags": lags,
        "channel": report["channel_utilization"],
        "hill_duty": max((nodes[h]["max_hourly_duty"] for h in hills), default=0.0),
        "store_duty": max(nodes[n]["max_hourly_duty"] for n in stores),
        "airtime_s": report["radio_airtime_s"],
    }


def valleys(stores: int, seed: int) -> sc.Scenario:
    """A generated region of ``stores`` town halls in valleys of 2-5, each valley's
    stores hearing each other on the ground and one radio-only hill above them; the
    hills form a random tree of hill-to-hill links, and some valleys reach a second
    hill.  About one hill for every ten stores (at least two).  Link losses 3-20 %."""
    rng = random.Random(f"valleys/{stores}/{seed}")
    hills = max(2, round(stores / 10))
    hill_ids = [f"H{i}" for i in range(1, hills + 1)]
    links: dict[frozenset[str], float] = {}
    for i in range(1, hills):
        links[frozenset((hill_ids[i], hill_ids[rng.randrange(i)]))] = round(rng.uniform(0.05, 0.15), 3)
    ids = [f"S{i:02d}" for i in range(1, stores + 1)]
    left = list(ids)
    valley = 0
    while left:
        size = min(len(left), rng.randint(2, 5))
        members, left = left[:size], left[size:]
        hill = hill_ids[valley % hills] if valley < hills else rng.choice(hill_ids)
        valley += 1
        for a_i, a in enumerate(members):
            links[frozenset((a, hill))] = round(rng.uniform(0.03, 0.2), 3)
            for b in members[a_i + 1 :]:
                links[frozenset((a, b))] = round(rng.uniform(0.03, 0.15), 3)
        if hills > 1 and rng.random() < 0.25:
            other = rng.choice([h for h in hill_ids if h != hill])
            links[frozenset((members[0], other))] = round(rng.uniform(0.1, 0.2), 3)
    nodes = tuple(sc.NodeSpec(i, f"Kommune {i}") for i in ids) + tuple(
        sc.NodeSpec(h, f"Repeater {h}", radio_only=True) for h in hill_ids
    )
    depth = _hill_depth(hill_ids, links)
    return sc.Scenario(
        preset=meshes.modum().preset,
        seed=seed,
        hop_limit=min(7, depth + 1),
        duty_cycle=0.10,
        duration=3600.0,
        nodes=nodes,
        links=links,
        name=f"valleys-{stores}",
    )


def _hill_depth(hills: list[str], links: dict[frozenset[str], float]) -> int:
    """Hills on the longest hill-to-hill path: the hop limit a frame needs to cross them."""
    best = 1
    for h in hills:
        dist = meshes.hops_from(h, hills, links)
        best = max(best, max(dist.values()) + 1)
    return best


def scaling_run(stores: int, seed: int, hours: float = 5.0, every_s: float = 1200.0) -> dict[str, Any]:
    """A generated region with one RUTINE message every ``every_s`` from random stores for
    ``hours``, and its twin without messages: airtime per message and idle channel."""
    base = valleys(stores, seed)
    rng = random.Random(f"scale/{seed}")
    texts = meshes.sample_texts()
    start = 1800.0
    count = math.floor(hours * 3600.0 / every_s)
    origins = [rng.choice(list(base.store_nodes)) for _ in range(count)]
    events = tuple(
        meshes.send_event(start + i * every_s, o, texts[i % len(texts)], Priority.RUTINE) for i, o in enumerate(origins)
    )
    duration = start + hours * 3600.0 + 1800.0
    sim = Simulation(dataclasses.replace(base, seed=seed, duration=duration, events=events))
    report = sim.run()
    twin = Simulation(dataclasses.replace(base, seed=seed, duration=duration, events=()))
    idle = twin.run()
    spent = _airtime_in(sim, start, duration) - _airtime_in(twin, start, duration)
    ideal = 0.0
    for m, o in zip(report["messages"], origins, strict=True):  # type: ignore[call-overload]
        ideal += packet_airtime(int(m["wire_bytes"]), base.preset) * broadcast_transmissions(base, o)
    delivered = sum(set(m["delivered"]) >= set(base.store_nodes) for m in report["messages"])  # type: ignore[attr-defined]
    return {
        "stores": stores,
        "seed": seed,
        "idle_channel": idle["channel_utilization"],
        "channel": report["channel_utilization"],
        "per_message_s": round(spent / count, 2),
        "ideal_s": round(ideal / count, 2),
        "ratio": round(spent / ideal, 2),
        "delivered": delivered,
        "messages": count,
    }


# --- what authenticating the summaries costs ---------------------------------------

# A summary's authentication, in bytes on the air, under each scheme the README
# compares (``summary_auth``).  Ed25519: the 64-byte signature every summary carries.
# Delayed key disclosure (µTESLA): an 8-byte MAC under a key of a hash chain and the
# 10-byte chain key it discloses for an earlier summary (the chain's anchor signed
# once a day: a few summaries a day, left out).  Sign one in four: three of four
# carry nothing.  None: the floor.
AUTH_BYTES: dict[str, float] = {"ed25519": 64.0, "delayed_key": 18.0, "one_in_four": 16.0, "none": 0.0}


def summary_auth(base: sc.Scenario, seed: int, hours: float = 6.0) -> dict[str, Any]:
    """The idle run of ``sync_runs.idle_run`` (one message a minute in, then quiet for
    ``hours``): every radio's airtime (relays included) as a share of the run, with
    each summary on the air priced under each scheme of ``AUTH_BYTES``, and how many
    summaries a store sends an hour after the first."""
    s = sync_runs.idle_scenario(base, seed, hours)
    sim = Simulation(s)
    sim.run()
    settled = sim.epoch0 + 3600.0
    stores = {n.id for n in s.nodes if not n.radio_only}
    priced = dict.fromkeys(AUTH_BYTES, 0.0)
    own = 0
    for t, node, frame in sim.medium.frames_log:
        summary = frame[:1] == bytes([frames.SUMMARY])
        own += summary and node in stores and t >= settled
        for scheme, auth in AUTH_BYTES.items():
            length = len(frame) - SIGNATURE_BYTES + auth if summary else len(frame)
            priced[scheme] += packet_airtime(math.ceil(length), s.preset)
    return {
        "seed": seed,
        "channel": {scheme: seconds / s.duration for scheme, seconds in priced.items()},
        "summaries_per_store_h": own / len(stores) / (hours - 1.0),
    }
