#!/usr/bin/env python3
"""Figures for the sync over radio-only hilltop repeaters (firmware-config's plan).

    python tools/measure_hops.py [SEEDS] [--store-hills]

On ``examples/field-plan.toml`` (town halls reach each other only over the
Gyrihaugen and Norefjell ROUTERs, Modum cut off 0:30-2:30), with the default
settings (every hop limit chosen by the sync), over seeds 1-SEEDS (default 100):

1. convergence after the heal, and the repair's airtime against the loss floor
   (an omniscient scheduler that may send from the hills too);
2. idle: channel utilisation and each radio's highest hourly duty, 6 h with
   one message;
3. the hills' highest hourly duty, idle and during the repair;
4. NØD under the RUTINE load run (30 RUTINE from RIN, HOL, SIG; NØD from MOD and
   from the police contact, the edge node): seconds until every store holds it.

``--store-hills`` plays the same with a relay store (a Pi) on each hill
instead of a bare radio.  Medians and 90th percentiles; the runs are spread
over every core.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import statistics
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.bench import meshes, sync_runs  # noqa: E402
from relay.sim import scenario as sc  # noqa: E402

HILLS = ("GYR", "NFJ")
STORE_HILLS = "--store-hills" in sys.argv
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
SEEDS = range(1, int(ARGS[0]) + 1 if ARGS else 101)
NAME = "field-plan"


def _store_hills(s: sc.Scenario) -> sc.Scenario:
    nodes = tuple(dataclasses.replace(n, radio_only=False, role="repeater") if n.id in HILLS else n for n in s.nodes)
    return dataclasses.replace(s, nodes=nodes)


def _install() -> None:
    """Point the sync benchmarks' scenario loader (relay.bench.meshes.shipped) at the store-hill variant when asked."""
    if not STORE_HILLS:
        return
    shipped = meshes.shipped

    def patched(name: str) -> sc.Scenario:
        s = shipped(name)
        return _store_hills(s) if name == NAME else s

    meshes.shipped = patched  # type: ignore[assignment]


def pct(values: Iterable[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def repair(seed: int) -> dict[str, Any]:
    _install()
    return sync_runs.repair_run(seed, NAME)


def idle(seed: int) -> dict[str, Any]:
    _install()
    return sync_runs.idle_run((seed, 6.0, NAME))


def load(seed: int) -> dict[str, Any]:
    _install()
    return sync_runs.load_run((seed, 10, 2 * 3600.0, NAME))


def main() -> None:
    label = "store hills" if STORE_HILLS else "radio-only hills"
    with multiprocessing.Pool() as pool:
        runs = pool.map(repair, SEEDS)
        idles = pool.map(idle, SEEDS)
        loads = pool.map(load, SEEDS)
    after = [r["converged_after_heal_s"] for r in runs]
    print(f"field plan, {label}, {len(SEEDS)} seeds")
    print(
        f"  repair: {sum(r['converged'] for r in runs)}/{len(runs)} converged; after the heal median"
        f" {statistics.median(after):.0f} s, p90 {pct(after, 0.9):.0f} s, worst {max(after):.0f} s"
    )
    ratio = [r["airtime_s"] / r["floor_airtime_s"] for r in runs if r["floor_airtime_s"]]
    data = [r["data_airtime_s"] / r["floor_airtime_s"] for r in runs if r["floor_airtime_s"]]
    print(
        f"  repair airtime (all radios, hills included) vs the loss floor: median {statistics.median(ratio):.2f}x,"
        f" p90 {pct(ratio, 0.9):.2f}x (data frames {statistics.median(data):.2f}x);"
        f" median {statistics.median(r['airtime_s'] for r in runs):.1f} s against"
        f" {statistics.median(r['floor_airtime_s'] for r in runs):.1f} s"
    )
    for hill in HILLS:
        if runs[0]["repeater_airtime_s"].get(hill) is None:
            continue
        spent = [r["repeater_airtime_s"][hill] for r in runs]
        duty = [r["max_hourly_duty"][hill] for r in runs]
        print(
            f"  {hill}: repair airtime median {statistics.median(spent):.1f} s; highest hourly duty over the"
            f" 4 h run median {statistics.median(duty):.2%}, worst {max(duty):.2%}"
        )
    util = [r["utilization"] for r in idles]
    print(f"  idle 6 h: channel utilisation median {statistics.median(util):.2%}, p90 {pct(util, 0.9):.2%}")
    for node in idles[0]["max_hourly_duty"]:
        duty = [r["max_hourly_duty"][node] for r in idles]
        print(f"    {node}: highest hourly duty median {statistics.median(duty):.2%}, worst {max(duty):.2%}")
    for origin in ("MOD", "POL"):
        times = [
            m["all_s"] for r in loads for m in r["messages"] if m["priority"] == "NØD" and m["id"].startswith(origin)
        ]
        done = [t for t in times if t is not None]
        print(
            f"  NØD from {origin} under the RUTINE load, to every store: {len(done)}/{len(times)} arrived;"
            f" median {statistics.median(done):.0f} s, p90 {pct(done, 0.9):.0f} s, worst {max(done):.0f} s"
        )


if __name__ == "__main__":
    main()
