"""One simulated run each, for the sync benchmarks (``relay.bench.sync`` spreads them over seeds).

* ``convergence_run``: a scenario's burst of sends, until every store holds
  everything, beside a no-contention lower bound; ``_loss_run`` and
  ``_nodes_run`` set it up against link loss and against mesh size;
* ``idle_run``: channel utilisation with a single message;
* ``load_run``: a RUTINE backlog with NØD, HASTER and PRIORITET sent into it;
* ``repair_run``: everything on the air from the heal of Modum's two-hour
  partition until the stores agree, against the ideal and against
  ``loss_floor_airtime`` (what an omniscient scheduler would spend);
* ``one_message_figures``: one message from MOD to all 8 against the ideal
  relay tree.

Every run is real ``SyncNode``s and real stores on the simulated medium
(``relay.sim``), deterministic for its seed.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import time
from collections.abc import Iterable
from typing import Any

from relay.bench import meshes
from relay.core import frames, wire
from relay.core.airtime import packet_airtime
from relay.core.model import Priority
from relay.core.sync import SyncConfig
from relay.errors import DecodeError
from relay.sim import scenario as sc
from relay.sim.runner import Simulation

HEAL_S = 9000.0  # Modum's partition heals at 2h30m


def _store_hops(s: sc.Scenario, origin: str) -> int:
    """Hops from ``origin`` to the farthest store node: over store nodes only when the stores
    relay everything (hop limit 0), else over every radio (a radio-only repeater relays what
    goes out with a hop limit, as the sync's own choice does where stores need it)."""
    relays = list(s.store_nodes) if s.relay_hops == 0 else [n.id for n in s.nodes]
    dist = meshes.hops_from(origin, relays, s.links)
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
    base = meshes.modum()
    s = dataclasses.replace(base, seed=seed, duration=cap, links=dict.fromkeys(base.links, loss), events=())
    s = dataclasses.replace(s, events=meshes.burst(s, count, seed))
    return {"loss": loss, "seed": seed, **convergence_run(s)}


def _nodes_run(args: tuple[int, int, int, float]) -> dict[str, Any]:
    n, seed, count, cap = args
    base = meshes.geometric(n, seed)
    s = dataclasses.replace(base, duration=cap, events=meshes.burst(base, count, seed))
    diameter = max(max(meshes.hops_from(a, s.store_nodes, s.links).values()) for a in s.store_nodes)
    degree = 2 * len(s.links) / n
    return {"nodes": n, "seed": seed, "diameter": diameter, "mean_degree": round(degree, 2), **convergence_run(s)}


def idle_scenario(base: sc.Scenario, seed: int, hours: float) -> sc.Scenario:
    """``base`` for ``hours`` with only its first event, a minute in: then quiet."""
    return dataclasses.replace(
        base, seed=seed, duration=hours * 3600.0, events=(dataclasses.replace(base.events[0], at=60.0),)
    )


def idle_run(args: tuple[int, float] | tuple[int, float, str]) -> dict[str, Any]:
    seed, hours = args[:2]
    base = meshes.shipped(args[2]) if len(args) > 2 else meshes.modum()
    s = idle_scenario(base, seed, hours)
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
    base = meshes.shipped(scenario)
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
    base = meshes.modum()
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


def load_run(args: tuple[int, int, float] | tuple[int, int, float, str]) -> dict[str, Any]:
    """A RUTINE backlog from RIN, HOL and SIG, with NØD, HASTER and PRIORITET sent into it
    (on the Modum topology, or the shipped scenario named as a fourth argument)."""
    seed, per_node, cap = args[:3]
    base = meshes.shipped(args[3]) if len(args) > 3 else meshes.modum()
    texts = meshes.sample_texts()
    events: list[sc.Event] = []
    for i in range(per_node):
        for j, origin in enumerate(("RIN", "HOL", "SIG")):
            events.append(
                meshes.send_event(120.0 + i * 3.0 + j, origin, texts[(i * 3 + j) % len(texts)], Priority.RUTINE)
            )
    urgent = [
        (180.0, "MOD", Priority.NOD, "Brann i Vikersund samfunnshus. Evakuering pågår, trenger ambulanse."),
        (190.0, "JEV", Priority.HASTER, "Vannverket melder trykkfall. Kok vannet inntil videre."),
        (200.0, "SF", Priority.PRIORITET, "Meld status for kritiske funksjoner innen kl 16."),
        (240.0, "POL", Priority.NOD, "Savnet person ved Tyrifjorden, be om frivillige til leteaksjon."),
        (260.0, "KRO", Priority.HASTER, "Fv 287 stengt ved Eggedal etter ras. Omkjøring via Sigdal."),
        (280.0, "MOD", Priority.PRIORITET, "Evakuerte- og pårørendesenter åpnet i Vikersund samfunnshus."),
    ]
    events += [meshes.send_event(at, origin, text, prio) for at, origin, prio, text in urgent]
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
