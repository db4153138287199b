#!/usr/bin/env python3
"""Issue 20's figures: what a message costs the region, and the rate it carries.

    python tools/measure_capacity.py one [SEEDS] [SCENARIO]     # one message after an idle hour
    python tools/measure_capacity.py rate [SEEDS] [RATES...]     # field plan at N messages an hour
    python tools/measure_capacity.py scale [SEEDS] [SIZES...]    # generated regions of N stores
    python tools/measure_capacity.py guard [SEEDS]               # what must not regress: repair, idle, load
    python tools/measure_capacity.py auth [SEEDS]                # idle airtime per summary authentication

SCENARIO is a shipped scenario's stem (field-plan, modum) or ``geometric-16``.
Medians and p90 over seeds 1-SEEDS, spread over every core (relay.bench.capacity
does the runs).
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.bench import capacity, meshes, sync_runs  # noqa: E402
from relay.sim import scenario as sc  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def scenario(name: str, seed: int) -> sc.Scenario:
    if name.startswith("geometric-"):
        return meshes.geometric(int(name.split("-")[1]), seed)
    return meshes.shipped(name)


def one_job(job: tuple[str, int]) -> dict[str, Any]:
    name, seed = job
    return capacity.one_message_cost(scenario(name, seed), seed)


def rate_job(job: tuple[int, int]) -> dict[str, Any]:
    seed, rate = job
    return capacity.rate_run(meshes.field_plan(), seed, rate)


def scale_job(job: tuple[int, int]) -> dict[str, Any]:
    seed, stores = job
    return capacity.scaling_run(stores, seed)


def guard_job(job: tuple[str, str, int]) -> dict[str, Any]:
    what, name, seed = job
    if what == "repair":
        return sync_runs.repair_run(seed, name)
    if what == "idle":
        return sync_runs.idle_run((seed, 6.0, name))
    return sync_runs.load_run((seed, 10, 2 * 3600.0, name))


def auth_job(job: tuple[str, int]) -> dict[str, Any]:
    name, seed = job
    return capacity.summary_auth(meshes.shipped(name), seed)


def auth(pool: Any, seeds: range) -> None:
    """Idle airtime (all radios, relays included, as a share of the hour) with the
    summaries authenticated each way ``capacity.AUTH_BYTES`` names."""
    for name in ("modum", "field-plan"):
        rows = pool.map(auth_job, [(name, s) for s in seeds])
        per_store = statistics.median(r["summaries_per_store_h"] for r in rows)
        cells = []
        for scheme in capacity.AUTH_BYTES:
            shares = [r["channel"][scheme] for r in rows]
            cells.append(f"{scheme} {statistics.median(shares):.2%} (p90 {pct(shares, 0.9):.2%})")
        print(f"{name}: {per_store:.2f} summaries a store an hour; airtime " + ", ".join(cells))


def guard(pool: Any, seeds: range) -> None:
    """The figures the capacity work must not make worse, for Modum and the field plan."""
    for name in ("modum", "field-plan"):
        runs = pool.map(guard_job, [("repair", name, s) for s in seeds])
        after = [r["converged_after_heal_s"] for r in runs]
        air = [r["airtime_s"] for r in runs]
        print(
            f"{name} repair: {sum(r['converged'] for r in runs)}/{len(runs)} converged, after the heal median "
            f"{statistics.median(after):.0f} s p90 {pct(after, 0.9):.0f} s; "
            f"airtime median {statistics.median(air):.1f} s p90 {pct(air, 0.9):.1f} s"
        )
        idles = pool.map(guard_job, [("idle", name, s) for s in seeds])
        util = [r["utilization"] for r in idles]
        print(f"{name} idle 6 h: channel median {statistics.median(util):.2%}, p90 {pct(util, 0.9):.2%}")
        loads = pool.map(guard_job, [("load", name, s) for s in seeds])
        for label, prio, origin in (
            ("NØD MOD", "NØD", "MOD"),
            ("NØD POL", "NØD", "POL"),
            ("HASTER", "HASTER", ""),
            ("PRIORITET", "PRIORITET", ""),
            ("RUTINE", "RUTINE", ""),
        ):
            times = [
                m["all_s"] if m["all_s"] is not None else 1e9
                for r in loads
                for m in r["messages"]
                if m["priority"] == prio and m["id"].startswith(origin)
            ]
            print(
                f"{name} load {label}: median {statistics.median(times):.0f} s, p90 {pct(times, 0.9):.0f} s, "
                f"worst {max(times):.0f} s"
            )


def main() -> None:
    what = sys.argv[1]
    seeds = range(1, int(sys.argv[2]) + 1 if len(sys.argv) > 2 else 101)
    rest = sys.argv[3:]
    with multiprocessing.Pool() as pool:
        if what == "guard":
            guard(pool, seeds)
        elif what == "auth":
            auth(pool, seeds)
        elif what == "one":
            name = rest[0] if rest else "field-plan"
            rows = pool.map(one_job, [(name, s) for s in seeds])
            ratios = [r["ratio"] for r in rows]
            costs = [r["cost_s"] for r in rows]
            print(
                f"{name}: one message costs {statistics.median(costs):.1f} s (p90 {pct(costs, 0.9):.1f}), "
                f"{statistics.median(ratios):.2f}x ideal (p90 {pct(ratios, 0.9):.2f}x), "
                f"ideal {statistics.median(r['ideal_s'] for r in rows):.1f} s, "
                f"idle hour {statistics.median(r['idle_s'] for r in rows):.1f} s, "
                f"delivered {sum(r['all_hold'] for r in rows)}/{len(rows)}"
            )
        elif what == "rate":
            for rate in [int(r) for r in rest] or [20, 40, 60, 120]:
                rows = pool.map(rate_job, [(s, rate) for s in seeds])
                lags = [x for r in rows for x in r["lags"]]
                got = [x for x in lags if x is not None]
                every = [x if x is not None else 1e9 for x in lags]  # undelivered counts as never
                print(
                    f"{rate}/h: lag median {statistics.median(every):.0f} s, p90 {pct(every, 0.9):.0f} s, "
                    f"worst {max(got):.0f} s, undelivered {len(lags) - len(got)}/{len(lags)}; "
                    f"channel {100 * statistics.median(r['channel'] for r in rows):.1f} % "
                    f"(p90 {100 * pct([r['channel'] for r in rows], 0.9):.1f}); "
                    f"hills' busiest hour {100 * statistics.median(r['hill_duty'] for r in rows):.1f} % "
                    f"(worst {100 * max(r['hill_duty'] for r in rows):.1f}); "
                    f"stores' {100 * max(r['store_duty'] for r in rows):.1f} %"
                )
        elif what == "scale":
            for stores in [int(n) for n in rest] or [8, 20, 40, 64]:
                rows = pool.map(scale_job, [(s, stores) for s in seeds])
                ratios = [r["ratio"] for r in rows]
                print(
                    f"{stores} stores: idle channel {100 * statistics.median(r['idle_channel'] for r in rows):.2f} % "
                    f"(p90 {100 * pct([r['idle_channel'] for r in rows], 0.9):.2f}), "
                    f"per message {statistics.median(r['per_message_s'] for r in rows):.1f} s, "
                    f"{statistics.median(ratios):.2f}x ideal (p90 {pct(ratios, 0.9):.2f}x), "
                    f"channel {100 * statistics.median(r['channel'] for r in rows):.1f} %, "
                    f"delivered {sum(r['delivered'] for r in rows)}/{sum(r['messages'] for r in rows)}"
                )


if __name__ == "__main__":
    main()
