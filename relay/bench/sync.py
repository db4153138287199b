"""Sync figures from the virtual-time simulator, for ``relay bench all``.

Every figure comes from real ``SyncNode``s and real stores on the simulated
medium (``relay.sim``), deterministic for its seed:

* idle channel utilisation: the Modum region (8 store nodes and a repeater,
  LONG_FAST) for hours with a single message;
* repair after Modum's two-hour partition against the ideal, and one message
  to all 8 against the ideal relay tree (``tools/measure_sync.py`` prints
  these alone, in seconds);
* time to converge against link loss (every link of the Modum topology at
  0-40 %) and against the number of nodes (connected random geometric
  topologies, fixed seeds), each with a burst of messages from several
  origins, beside a no-contention lower bound: every hop of the farthest
  node's shortest path is one transmission, nothing is lost and nobody waits;
* delivery time per priority under load: a backlog of RUTINE from three
  nodes with NØD, HASTER and PRIORITET sent into it.

Runs are independent, so ``workers`` > 1 spreads them over processes.
"""

from __future__ import annotations

import dataclasses
import math
import random
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import resources
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

from relay.core import frames, wire
from relay.core.airtime import packet_airtime
from relay.core.model import Address, Kind, Priority
from relay.core.sync import SyncConfig
from relay.errors import DecodeError
from relay.sim import scenario as sc
from relay.sim.runner import Simulation

T = TypeVar("T")
R = TypeVar("R")

HEAL_S = 9000.0  # Modum's partition heals at 2h30m


@dataclass(frozen=True)
class SyncBenchConfig:
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)
    idle_hours: float = 6.0
    losses: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4)
    node_counts: tuple[int, ...] = (8, 16, 32, 64)
    burst: int = 6  # messages in each convergence run
    cap_s: float = 2 * 3600.0  # simulated time of a convergence run
    node_cap_s: float = 2 * 3600.0  # ... of a node-count run
    backlog_per_node: int = 10  # RUTINE messages from each of three nodes in the load run
    load_cap_s: float = 2 * 3600.0
    repair: bool = True
    workers: int = 2


QUICK = SyncBenchConfig(
    seeds=(1,),
    idle_hours=0.5,
    losses=(0.0, 0.4),
    node_counts=(4, 6),
    burst=2,
    cap_s=1800.0,
    node_cap_s=1800.0,
    backlog_per_node=2,
    load_cap_s=1800.0,
    repair=False,
    workers=1,
)


# --- scenarios ------------------------------------------------------------------------------


def shipped(name: str) -> sc.Scenario:
    """A scenario shipped in relay/data/scenarios (``examples/``), by file stem."""
    source = resources.files("relay.data.scenarios").joinpath(f"{name}.toml")
    with resources.as_file(source) as path:
        return sc.load(Path(path))


def modum() -> sc.Scenario:
    return shipped("modum")


def field_plan() -> sc.Scenario:
    """firmware-config's plan: town halls that hear each other only over two radio-only hills."""
    return shipped("field-plan")


def sample_texts() -> list[str]:
    folder = resources.files("relay.data.messages")
    return [
        entry.read_text(encoding="utf-8").strip()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".txt")
    ]


def send_event(at: float, origin: str, text: str, priority: Priority = Priority.PRIORITET) -> sc.Event:
    spec = sc.SendSpec(
        origin=origin,
        kind=Kind.MELDING,
        priority=priority,
        to=Address.parse("ALLE"),
        text=text,
        fields={},
        exercise=True,
        ref=None,
    )
    return sc.Event(at, send=spec)


def burst(
    scenario: sc.Scenario, count: int, seed: int, start: float = 120.0, gap: float = 10.0
) -> tuple[sc.Event, ...]:
    """``count`` messages from distinct store nodes (chosen by ``seed``), ``gap`` seconds apart."""
    rng = random.Random(f"burst/{seed}")
    nodes = list(scenario.store_nodes)
    origins = rng.sample(nodes, min(count, len(nodes)))
    origins += [rng.choice(nodes) for _ in range(count - len(origins))]
    texts = sample_texts()
    return tuple(send_event(start + i * gap, o, texts[(seed + i) % len(texts)]) for i, o in enumerate(origins))


def geometric(n: int, seed: int, degree: float = 6.0) -> sc.Scenario:
    """A connected random geometric mesh of ``n`` store nodes, LONG_FAST, fixed by ``seed``.

    Nodes are uniform in a square sized for ``degree`` neighbours on average
    (range 1); a link's loss grows with distance, 5 % close by to 30 % at the
    edge of range.  Redrawn until connected.
    """
    rng = random.Random(f"geometric/{n}/{seed}")
    side = math.sqrt(n * math.pi / degree)
    ids = [f"N{i:02d}" for i in range(1, n + 1)]
    for _ in range(1000):
        pos = {i: (rng.uniform(0, side), rng.uniform(0, side)) for i in ids}
        links: dict[frozenset[str], float] = {}
        for a_i, a in enumerate(ids):
            for b in ids[a_i + 1 :]:
                d = math.dist(pos[a], pos[b])
                if d <= 1.0:
                    links[frozenset((a, b))] = round(0.05 + 0.25 * d * d, 3)
        if _connected(ids, links):
            break
    else:  # pragma: no cover - 1000 draws of a dense enough mesh
        raise RuntimeError(f"no connected mesh of {n} nodes")
    nodes = tuple(sc.NodeSpec(i, f"Node {i}") for i in ids)
    return sc.Scenario(
        preset=modum().preset,
        seed=seed,
        hop_limit=3,
        duty_cycle=0.10,
        duration=3600.0,
        nodes=nodes,
        links=links,
        name=f"geometric-{n}",
    )


def _neighbours(nodes: Iterable[str], links: Iterable[frozenset[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {n: set() for n in nodes}
    for link in links:
        a, b = tuple(link)
        if a in out and b in out:
            out[a].add(b)
            out[b].add(a)
    return out


def hops_from(origin: str, nodes: Iterable[str], links: Iterable[frozenset[str]]) -> dict[str, int]:
    graph = _neighbours(nodes, links)
    dist = {origin: 0}
    todo = deque([origin])
    while todo:
        cur = todo.popleft()
        for nxt in graph[cur]:
            if nxt not in dist:
                dist[nxt] = dist[cur] + 1
                todo.append(nxt)
    return dist


def _connected(nodes: list[str], links: Iterable[frozenset[str]]) -> bool:
    return len(hops_from(nodes[0], nodes, links)) == len(nodes)


# --- one run each ---------------------------------------------------------------------------


def _store_hops(s: sc.Scenario, origin: str) -> int:
    """Hops from ``origin`` to the farthest store node: over store nodes only when the stores
    relay everything (hop limit 0), else over every radio (a radio-only repeater relays what
    goes out with a hop limit, as the sync's own choice does where stores need it)."""
    relays = list(s.store_nodes) if s.relay_hops == 0 else [n.id for n in s.nodes]
    dist = hops_from(origin, relays, s.links)
    return max(dist.get(n, 10**6) for n in s.store_nodes)


def convergence_run(s: sc.Scenario) -> dict[str, Any]:
    """Run ``s`` (its sends are the burst) and measure how long until every store holds everything."""
    started = time.perf_counter()
    report = Simulation(s).run()
    wall = time.perf_counter() - started
    messages: list[dict[str, Any]] = report["messages"]  # type: ignore[assignment]
    stores = set(s.store_nodes)
    first = min(float(m["sent_at_s"]) for m in messages)
    complete = all(set(m["delivered"]) >= stores for m in messages)
    latency = [max(m["delivered"].values()) - float(m["sent_at_s"]) for m in messages]
    bound = max(
        float(m["sent_at_s"]) - first + _store_hops(s, m["origin"]) * packet_airtime(int(m["wire_bytes"]), s.preset)
        for m in messages
    )
    all_held = max(max(m["delivered"].values()) for m in messages) - first if complete else None
    nodes: dict[str, dict[str, Any]] = report["nodes"]  # type: ignore[assignment]
    return {
        "converged": bool(report["converged"]) and complete,
        "all_held_s": round(all_held, 1) if all_held is not None else None,
        "median_latency_s": round(statistics.median(latency), 1) if complete else None,
        "lower_bound_s": round(bound, 2),
        "utilization": float(report["channel_utilization"]),  # type: ignore[arg-type]
        "airtime_s": round(sum(float(n["airtime_s"]) for n in nodes.values()), 1),
        "wall_s": round(wall, 2),
    }


def _loss_run(args: tuple[float, int, int, float]) -> dict[str, Any]:
    loss, seed, count, cap = args
    base = modum()
    s = dataclasses.replace(base, seed=seed, duration=cap, links=dict.fromkeys(base.links, loss), events=())
    s = dataclasses.replace(s, events=burst(s, count, seed))
    return {"loss": loss, "seed": seed, **convergence_run(s)}


def _nodes_run(args: tuple[int, int, int, float]) -> dict[str, Any]:
    n, seed, count, cap = args
    base = geometric(n, seed)
    s = dataclasses.replace(base, duration=cap, events=burst(base, count, seed))
    diameter = max(max(hops_from(a, s.store_nodes, s.links).values()) for a in s.store_nodes)
    degree = 2 * len(s.links) / n
    return {"nodes": n, "seed": seed, "diameter": diameter, "mean_degree": round(degree, 2), **convergence_run(s)}


def _idle_run(args: tuple[int, float] | tuple[int, float, str]) -> dict[str, Any]:
    seed, hours = args[:2]
    base = shipped(args[2]) if len(args) > 2 else modum()
    s = dataclasses.replace(
        base, seed=seed, duration=hours * 3600.0, events=(dataclasses.replace(base.events[0], at=60.0),)
    )
    started = time.perf_counter()
    report = Simulation(s).run()
    nodes: dict[str, dict[str, Any]] = report["nodes"]  # type: ignore[assignment]
    return {
        "seed": seed,
        "utilization": float(report["channel_utilization"]),  # type: ignore[arg-type]
        "max_hourly_duty": {n: float(r["max_hourly_duty"]) for n, r in nodes.items()},
        "wall_s": round(time.perf_counter() - started, 2),
    }


def carried(frame: bytes, names: dict[int, str]) -> list[tuple[str, int]]:
    """(message id, bytes of the frame spent on it) for each message a frame carries;
    empty for a control frame.  A bundle's header is shared out by entry size."""
    try:
        parsed = frames.parse(frame)
        if isinstance(parsed, frames.Bare):
            head = wire.peek(frame)
            return [(f"{names[head.key_id]}-{head.seq:04d}", len(frame))]
        if isinstance(parsed, frames.Fragment):
            return [(f"{names[parsed.key.key_id]}-{parsed.key.seq16:04d}", len(frame))]
        if isinstance(parsed, frames.Bundle):
            entries = parsed.messages
            spare = len(frame) - sum(len(m) for m in entries)
            out = []
            for i, m in enumerate(entries):
                head = wire.peek(m)
                share = len(m) + spare // len(entries) + (1 if i < spare % len(entries) else 0)
                out.append((f"{names[head.key_id]}-{head.seq:04d}", share))
            return out
    except (DecodeError, ValueError, KeyError):
        pass
    return []


def repair_run(seed: int, scenario: str = "modum") -> dict[str, Any]:
    """Everything on the air from the heal until every store agrees again, after Modum's
    two-hour partition (the scenario's events up to the heal).

    Two yardsticks: ``ideal_bytes``, one transmission per message Modum missed and two
    per message of Modum's (MOD -> RIN/KRO -> the rest); and ``mod_missed_wire_bytes``,
    the messages Modum itself missed, against the bytes of data frames spent on them
    (``mod_missed_data_bytes``; a bundle's bytes are shared out by entry).  ``scenario``
    names a shipped scenario with the same partition (``field-plan``): where stores reach
    each other only over radio-only repeaters, the loss floor may send from them too."""
    base = shipped(scenario)
    via = any(n.radio_only for n in base.nodes) and scenario != "modum"
    s = dataclasses.replace(base, seed=seed, events=tuple(e for e in base.events if e.at <= HEAL_S))
    started = time.perf_counter()
    sim = Simulation(s)
    report = sim.run()
    messages: list[dict[str, Any]] = report["messages"]  # type: ignore[assignment]
    late = [m for m in messages if any(t > HEAL_S for t in m["delivered"].values())]
    mod_missed = {m["id"]: int(m["wire_bytes"]) for m in late if m["delivered"].get("MOD", 0.0) > HEAL_S}
    end = float(report["converged_at_s"] or s.duration)  # type: ignore[arg-type]
    names = {node.signer.key_id: node.id for node in sim.nodes.values()}
    window = [frame for t, _, frame in sim.medium.frames_log if HEAL_S <= t - sim.epoch0 <= end]
    on_air = data = mod_data = 0
    airtime = data_airtime = mod_airtime = 0.0
    for frame in window:
        seconds = packet_airtime(len(frame), s.preset)
        on_air += len(frame)
        airtime += seconds
        parts = carried(frame, names)
        if parts:
            data += len(frame)
            data_airtime += seconds
        for message_id, share in parts:
            if message_id in mod_missed:
                mod_data += share
                mod_airtime += seconds * share / len(frame)

    def once(size: int) -> float:
        return packet_airtime(size, s.preset)

    def holders(m: dict[str, Any]) -> set[str]:
        return {n for n, t in m["delivered"].items() if t <= HEAL_S}

    stores = set(s.store_nodes)
    floor = loss_floor_airtime(
        s, ((int(m["wire_bytes"]), holders(m), stores - holders(m)) for m in late), seed=seed, via_repeaters=via
    )
    mod_floor = loss_floor_airtime(
        s,
        ((int(m["wire_bytes"]), holders(m), {"MOD"}) for m in late if m["id"] in mod_missed),
        seed=seed,
        via_repeaters=via,
    )
    window_start = sim.epoch0 + HEAL_S
    hills = {
        n.id: round(_duty_in(sim.medium.radios[n.id].history, window_start, sim.epoch0 + end) / 3600.0, 5)
        for n in s.nodes
        if n.radio_only
    }

    return {
        "seed": seed,
        "converged": bool(report["converged"]),
        "missing_wire_bytes": sum(int(m["wire_bytes"]) for m in late),
        "ideal_bytes": sum(int(m["wire_bytes"]) * (2 if m["origin"] == "MOD" else 1) for m in late),
        "ideal_airtime_s": round(sum(once(m["wire_bytes"]) * (2 if m["origin"] == "MOD" else 1) for m in late), 2),
        "floor_airtime_s": round(floor, 2),
        "on_air_bytes": on_air,
        "airtime_s": round(airtime, 2),
        "data_bytes": data,
        "data_airtime_s": round(data_airtime, 2),
        "control_bytes": on_air - data,
        "frames": len(window),
        "mod_missed_wire_bytes": sum(mod_missed.values()),
        "mod_missed_ideal_airtime_s": round(sum(once(n) for n in mod_missed.values()), 2),
        "mod_missed_data_bytes": mod_data,
        "mod_missed_data_airtime_s": round(mod_airtime, 2),
        "mod_missed_floor_airtime_s": round(mod_floor, 2),
        "converged_after_heal_s": round(end - HEAL_S, 1),
        "repeater_airtime_s": {k: round(v * 3600.0, 2) for k, v in hills.items()},
        "max_hourly_duty": {n: round(sim.medium.max_hourly_duty(n), 5) for n in sim.medium.radios},
        "wall_s": round(time.perf_counter() - started, 2),
    }


def _duty_in(history: list[tuple[float, float]], start: float, end: float) -> float:
    """Seconds on the air of a radio's transmissions that started in [start, end]."""
    return sum(d for t, d in history if start <= t <= end)


def loss_floor_airtime(
    scenario: sc.Scenario,
    missing: Iterable[tuple[int, set[str], set[str]]],
    trials: int = 400,
    seed: int = 1,
    via_repeaters: bool = False,
) -> float:
    """What an omniscient scheduler would spend, in airtime, to bring each message
    (wire bytes, holders, lacking nodes) to every node that lacks it over the
    scenario's lossy links: it always picks the holder that reaches the most
    lacking nodes (expected), repeats until all hold it, sends one message per
    packet, and pays nothing for control frames or collisions.  The mean over
    ``trials`` Monte Carlo runs: a floor that loss alone sets.  With
    ``via_repeaters`` a radio-only repeater that heard the message may send it
    on too (each of its sends costs airtime like any other)."""
    rng = random.Random(seed)
    carriers = {n.id for n in scenario.nodes} if via_repeaters else set(scenario.store_nodes)
    links = {pair: loss for pair, loss in scenario.links.items() if pair <= carriers}
    repeaters = carriers - set(scenario.store_nodes)
    total = 0.0
    for size, holders, lacking in missing:
        sends = 0
        for _ in range(trials):
            have, need = set(holders), set(lacking)
            while need:
                useful = need | (repeaters - have)  # a repeater that hears it can send it on
                best = max(sorted(have), key=lambda h: sum(1 - links.get(frozenset((h, n)), 1.0) for n in useful))
                sends += 1
                got = {n for n in useful if rng.random() >= links.get(frozenset((best, n)), 1.0)}
                have |= got
                need -= got
        total += sends / trials * packet_airtime(size, scenario.preset)
    return total


def _one_message_run(seed: int) -> dict[str, Any]:
    return one_message_figures(seed)


def one_message_figures(seed: int, config: SyncConfig | None = None) -> dict[str, Any]:
    """One message from MOD to all 8 after an idle hour: airtime until all hold it against the ideal
    relay tree (MOD reaches RIN and KRO, RIN the rest: two transmissions).  ``config`` overrides
    the scenario's sync settings (tools/measure_sync.py compares hop limits with it)."""
    base = modum()
    s = dataclasses.replace(
        base, seed=seed, duration=3600.0 + 900.0, events=(dataclasses.replace(base.events[0], at=3600.0),)
    )
    sim = Simulation(s, config=config)
    report = sim.run()
    message = report["messages"][0]  # type: ignore[index]
    done = max(message["delivered"].values())
    size = int(message["wire_bytes"])
    names = {node.signer.key_id: node.id for node in sim.nodes.values()}
    data = every = 0.0
    for start, _, frame in sim.medium.frames_log:
        if 3600.0 <= start - sim.epoch0 <= done:
            airtime = packet_airtime(len(frame), s.preset)
            every += airtime
            data += airtime if carried(frame, names) else 0.0
    ideal = 2 * packet_airtime(size, s.preset)
    return {
        "seed": seed,
        "data_airtime_s": round(data, 2),
        "all_airtime_s": round(every, 2),
        "ideal_airtime_s": round(ideal, 2),
        "all_hold_after_s": round(done - 3600.0, 1),
    }


def _load_run(args: tuple[int, int, float] | tuple[int, int, float, str]) -> dict[str, Any]:
    """A RUTINE backlog from RIN, HOL and SIG, with NØD, HASTER and PRIORITET sent into it
    (on the Modum topology, or the shipped scenario named as a fourth argument)."""
    seed, per_node, cap = args[:3]
    base = shipped(args[3]) if len(args) > 3 else modum()
    texts = sample_texts()
    events: list[sc.Event] = []
    for i in range(per_node):
        for j, origin in enumerate(("RIN", "HOL", "SIG")):
            events.append(send_event(120.0 + i * 3.0 + j, origin, texts[(i * 3 + j) % len(texts)], Priority.RUTINE))
    urgent = [
        (180.0, "MOD", Priority.NOD, "Brann i Vikersund samfunnshus. Evakuering pågår, trenger ambulanse."),
        (190.0, "JEV", Priority.HASTER, "Vannverket melder trykkfall. Kok vannet inntil videre."),
        (200.0, "SF", Priority.PRIORITET, "Meld status for kritiske funksjoner innen kl 16."),
        (240.0, "POL", Priority.NOD, "Savnet person ved Tyrifjorden, be om frivillige til leteaksjon."),
        (260.0, "KRO", Priority.HASTER, "Fv 287 stengt ved Eggedal etter ras. Omkjøring via Sigdal."),
        (280.0, "MOD", Priority.PRIORITET, "Evakuerte- og pårørendesenter åpnet i Vikersund samfunnshus."),
    ]
    events += [send_event(at, origin, text, prio) for at, origin, prio, text in urgent]
    s = dataclasses.replace(base, seed=seed, duration=cap, events=tuple(sorted(events, key=lambda e: e.at)))
    started = time.perf_counter()
    report = Simulation(s).run()
    stores = set(s.store_nodes)
    out = []
    for m in report["messages"]:  # type: ignore[attr-defined]
        delivered: dict[str, float] = m["delivered"]
        full = set(delivered) >= stores
        out.append(
            {
                "id": m["id"],
                "priority": m["priority"],
                "all_s": round(max(delivered.values()) - float(m["sent_at_s"]), 1) if full else None,
            }
        )
    return {"seed": seed, "messages": out, "wall_s": round(time.perf_counter() - started, 2)}


# --- the whole set --------------------------------------------------------------------------


def _map(fn: Callable[[T], R], args: Sequence[T], workers: int) -> list[R]:
    if workers <= 1 or len(args) <= 1:
        return [fn(a) for a in args]
    # spawn, not fork: the parent may hold threads (Reticulum's, from the size benchmark)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(fn, args))


def _median(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(statistics.median(vals), 4) if vals else None


def idle_utilization(cfg: SyncBenchConfig) -> dict[str, Any]:
    runs = _map(_idle_run, [(seed, cfg.idle_hours) for seed in cfg.seeds], cfg.workers)
    return {
        "nodes": len(modum().store_nodes),
        "hours": cfg.idle_hours,
        "utilization": _median(r["utilization"] for r in runs),
        "max": max(r["utilization"] for r in runs),
        "runs": runs,
    }


def repair_vs_ideal(cfg: SyncBenchConfig) -> dict[str, Any]:
    runs = _map(repair_run, list(cfg.seeds), cfg.workers)
    ones = _map(_one_message_run, list(cfg.seeds), cfg.workers)
    return repair_summary(runs, ones)


def repair_summary(runs: list[dict[str, Any]], ones: list[dict[str, Any]]) -> dict[str, Any]:
    def med(fn: Callable[[dict[str, Any]], float], rows: list[dict[str, Any]]) -> float | None:
        return _median(fn(r) for r in rows)

    return {
        "converged": all(r["converged"] for r in runs),
        "missing_wire_bytes": med(lambda r: r["missing_wire_bytes"], runs),
        "ideal_bytes": med(lambda r: r["ideal_bytes"], runs),
        "on_air_bytes": med(lambda r: r["on_air_bytes"], runs),
        "data_bytes": med(lambda r: r["data_bytes"], runs),
        "control_bytes": med(lambda r: r["control_bytes"], runs),
        "relay_hops": modum().relay_hops,
        "ratio_vs_ideal": med(lambda r: r["on_air_bytes"] / r["ideal_bytes"], runs),
        "ratio_vs_missing": med(lambda r: r["on_air_bytes"] / r["missing_wire_bytes"], runs),
        "data_ratio_vs_ideal": med(lambda r: r["data_bytes"] / r["ideal_bytes"], runs),
        "airtime_ratio_vs_ideal": med(lambda r: r["airtime_s"] / r["ideal_airtime_s"], runs),
        "data_airtime_ratio_vs_ideal": med(lambda r: r["data_airtime_s"] / r["ideal_airtime_s"], runs),
        "floor_airtime_s": med(lambda r: r["floor_airtime_s"], runs),
        "airtime_ratio_vs_floor": med(lambda r: r["airtime_s"] / r["floor_airtime_s"], runs),
        "data_airtime_ratio_vs_floor": med(lambda r: r["data_airtime_s"] / r["floor_airtime_s"], runs),
        "mod_missed_wire_bytes": med(lambda r: r["mod_missed_wire_bytes"], runs),
        "mod_missed_data_bytes": med(lambda r: r["mod_missed_data_bytes"], runs),
        "mod_missed_ratio": med(lambda r: r["mod_missed_data_bytes"] / r["mod_missed_wire_bytes"], runs),
        "mod_missed_airtime_ratio": med(
            lambda r: r["mod_missed_data_airtime_s"] / r["mod_missed_ideal_airtime_s"], runs
        ),
        "mod_missed_airtime_ratio_vs_floor": med(
            lambda r: r["mod_missed_data_airtime_s"] / r["mod_missed_floor_airtime_s"], runs
        ),
        "converged_after_heal_s": med(lambda r: r["converged_after_heal_s"], runs),
        "one_message": {
            "data_airtime_s": med(lambda r: r["data_airtime_s"], ones),
            "all_airtime_s": med(lambda r: r["all_airtime_s"], ones),
            "ideal_airtime_s": med(lambda r: r["ideal_airtime_s"], ones),
            "data_ratio_vs_ideal": med(lambda r: r["data_airtime_s"] / r["ideal_airtime_s"], ones),
            "all_ratio_vs_ideal": med(lambda r: r["all_airtime_s"] / r["ideal_airtime_s"], ones),
            "all_hold_after_s": med(lambda r: r["all_hold_after_s"], ones),
        },
        "runs": runs,
    }


def _summarise(runs: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    rows = []
    for value in sorted({r[key] for r in runs}):
        group = [r for r in runs if r[key] == value]
        held = [r["all_held_s"] for r in group]
        row: dict[str, Any] = {
            key: value,
            "runs": len(group),
            "converged": sum(r["converged"] for r in group),
            "all_held_s": _median(held),
            "max_all_held_s": max((h for h in held if h is not None), default=None),
            "median_latency_s": _median(r["median_latency_s"] for r in group),
            "lower_bound_s": _median(r["lower_bound_s"] for r in group),
            "utilization": _median(r["utilization"] for r in group),
            "wall_s": round(sum(r["wall_s"] for r in group), 2),
        }
        row["ratio_vs_bound"] = (
            round(row["all_held_s"] / row["lower_bound_s"], 2) if row["all_held_s"] and row["lower_bound_s"] else None
        )
        for extra in ("diameter", "mean_degree"):
            if extra in group[0]:
                row[extra] = _median(r[extra] for r in group)
        rows.append(row)
    return rows


def convergence_vs_loss(cfg: SyncBenchConfig) -> dict[str, Any]:
    args = [(loss, seed, cfg.burst, cfg.cap_s) for loss in cfg.losses for seed in cfg.seeds]
    runs = _map(_loss_run, args, cfg.workers)
    return {
        "messages": cfg.burst,
        "cap_s": cfg.cap_s,
        "relay_hops": modum().relay_hops,
        "rows": _summarise(runs, "loss"),
        "runs": runs,
    }


def convergence_vs_nodes(cfg: SyncBenchConfig) -> dict[str, Any]:
    # largest first, so the slowest runs start at once
    args = [(n, seed, cfg.burst, cfg.node_cap_s) for n in sorted(cfg.node_counts, reverse=True) for seed in cfg.seeds]
    runs = _map(_nodes_run, args, cfg.workers)
    return {
        "messages": cfg.burst,
        "cap_s": cfg.node_cap_s,
        "relay_hops": geometric(8, 1).relay_hops,
        "rows": _summarise(runs, "nodes"),
        "runs": runs,
    }


def delivery_by_priority(cfg: SyncBenchConfig) -> dict[str, Any]:
    runs = _map(_load_run, [(seed, cfg.backlog_per_node, cfg.load_cap_s) for seed in cfg.seeds], cfg.workers)
    rows = []
    for prio in Priority:
        times = [m["all_s"] for r in runs for m in r["messages"] if m["priority"] == prio.value]
        if not times:
            continue
        done = [t for t in times if t is not None]
        rows.append(
            {
                "priority": prio.value,
                "messages": len(times),
                "delivered": len(done),
                "median_s": _median(done),
                "max_s": max(done) if done else None,
                "target_s": prio.target_seconds,
                "within_target": sum(t <= prio.target_seconds for t in done),
                "times": sorted(done),
            }
        )
    return {
        "backlog": 3 * cfg.backlog_per_node,
        "relay_hops": modum().relay_hops,
        "cap_s": cfg.load_cap_s,
        "rows": rows,
        "wall_s": round(sum(r["wall_s"] for r in runs), 2),
    }


def run_all(cfg: SyncBenchConfig, progress: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[SyncBenchConfig], dict[str, Any]]]] = [
        ("idle", idle_utilization),
        ("loss", convergence_vs_loss),
        ("nodes", convergence_vs_nodes),
        ("priority", delivery_by_priority),
    ]
    if cfg.repair:
        steps.insert(1, ("repair", repair_vs_ideal))
    for name, fn in steps:
        started = time.perf_counter()
        progress(f"sync: {name} ...")
        out[name] = fn(cfg)
        out[name]["elapsed_s"] = round(time.perf_counter() - started, 1)
    return out
