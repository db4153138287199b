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
  nodes with NØD, HASTER and PRIORITET sent into it;
* scaling: generated regions of valleys joined by radio-only hills
  (``relay.bench.capacity.valleys``: 2-5 stores a valley, about a hill for
  every ten stores, link losses 3-20 %, fixed by the seed) of several sizes,
  one RUTINE every 20 minutes: airtime per message against the ideal
  broadcast tree, and the idle channel of the same region without messages.

Runs are independent, so ``workers`` > 1 spreads them over processes.  This
module holds the configuration, runs the set and takes the medians over seeds;
one run each is in ``relay.bench.sync_runs``, the meshes in ``relay.bench.meshes``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, TypeVar

from relay.bench import capacity, meshes, sync_runs
from relay.core.model import Priority

T = TypeVar("T")
R = TypeVar("R")


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
    scale_sizes: tuple[int, ...] = (8, 20, 40, 64)  # stores in each generated region
    scale_seeds: tuple[int, ...] = (1, 2)
    scale_hours: float = 5.0  # of messages, one RUTINE every scale_every_s
    scale_every_s: float = 1200.0
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
    scale_sizes=(8,),
    scale_seeds=(1,),
    scale_hours=1.0,
    workers=1,
)


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
    runs = _map(sync_runs.idle_run, [(seed, cfg.idle_hours) for seed in cfg.seeds], cfg.workers)
    return {
        "nodes": len(meshes.modum().store_nodes),
        "hours": cfg.idle_hours,
        "utilization": _median(r["utilization"] for r in runs),
        "max": max(r["utilization"] for r in runs),
        "runs": runs,
    }


def repair_vs_ideal(cfg: SyncBenchConfig) -> dict[str, Any]:
    runs = _map(sync_runs.repair_run, list(cfg.seeds), cfg.workers)
    ones = _map(sync_runs._one_message_run, list(cfg.seeds), cfg.workers)
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
        "relay_hops": meshes.modum().relay_hops,
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
    runs = _map(sync_runs._loss_run, args, cfg.workers)
    return {
        "messages": cfg.burst,
        "cap_s": cfg.cap_s,
        "relay_hops": meshes.modum().relay_hops,
        "rows": _summarise(runs, "loss"),
        "runs": runs,
    }


def convergence_vs_nodes(cfg: SyncBenchConfig) -> dict[str, Any]:
    # largest first, so the slowest runs start at once
    args = [(n, seed, cfg.burst, cfg.node_cap_s) for n in sorted(cfg.node_counts, reverse=True) for seed in cfg.seeds]
    runs = _map(sync_runs._nodes_run, args, cfg.workers)
    return {
        "messages": cfg.burst,
        "cap_s": cfg.node_cap_s,
        "relay_hops": meshes.geometric(8, 1).relay_hops,
        "rows": _summarise(runs, "nodes"),
        "runs": runs,
    }


def delivery_by_priority(cfg: SyncBenchConfig) -> dict[str, Any]:
    runs = _map(sync_runs.load_run, [(seed, cfg.backlog_per_node, cfg.load_cap_s) for seed in cfg.seeds], cfg.workers)
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
        "relay_hops": meshes.modum().relay_hops,
        "cap_s": cfg.load_cap_s,
        "rows": rows,
        "wall_s": round(sum(r["wall_s"] for r in runs), 2),
    }


def _scaling_run(args: tuple[int, int, float, float]) -> dict[str, Any]:
    stores, seed, hours, every_s = args
    started = time.perf_counter()
    run = capacity.scaling_run(stores, seed, hours=hours, every_s=every_s)
    run["hills"] = sum(n.radio_only for n in capacity.valleys(stores, seed).nodes)
    run["wall_s"] = round(time.perf_counter() - started, 2)
    return run


def scaling(cfg: SyncBenchConfig) -> dict[str, Any]:
    """Generated valley regions of each size in ``scale_sizes``: medians over the seeds."""
    # largest first, so the slowest runs start at once
    args = [
        (n, seed, cfg.scale_hours, cfg.scale_every_s)
        for n in sorted(cfg.scale_sizes, reverse=True)
        for seed in cfg.scale_seeds
    ]
    runs = _map(_scaling_run, args, cfg.workers)
    rows = []
    for stores in sorted(cfg.scale_sizes):
        group = [r for r in runs if r["stores"] == stores]
        rows.append(
            {
                "stores": stores,
                "hills": _median(r["hills"] for r in group),
                "runs": len(group),
                "idle_channel": _median(r["idle_channel"] for r in group),
                "max_idle_channel": max(r["idle_channel"] for r in group),
                "channel": _median(r["channel"] for r in group),
                "per_message_s": _median(r["per_message_s"] for r in group),
                "ideal_s": _median(r["ideal_s"] for r in group),
                "ratio": _median(r["ratio"] for r in group),
                "max_ratio": max(r["ratio"] for r in group),
                "delivered": sum(r["delivered"] for r in group),
                "messages": sum(r["messages"] for r in group),
                "wall_s": round(sum(r["wall_s"] for r in group), 2),
            }
        )
    return {
        "hours": cfg.scale_hours,
        "every_s": cfg.scale_every_s,
        "seeds": list(cfg.scale_seeds),
        "rows": rows,
        "runs": runs,
    }


def run_all(cfg: SyncBenchConfig, progress: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[SyncBenchConfig], dict[str, Any]]]] = [
        ("idle", idle_utilization),
        ("loss", convergence_vs_loss),
        ("nodes", convergence_vs_nodes),
        ("priority", delivery_by_priority),
        ("scaling", scaling),
    ]
    if cfg.repair:
        steps.insert(1, ("repair", repair_vs_ideal))
    for name, fn in steps:
        started = time.perf_counter()
        progress(f"sync: {name} ...")
        out[name] = fn(cfg)
        out[name]["elapsed_s"] = round(time.perf_counter() - started, 1)
    return out
