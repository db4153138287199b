#!/usr/bin/env python3
"""Figures for the sync design, from the virtual-time simulator.

    python tools/measure_sync.py [SEEDS]

1. idle channel utilisation, 8 nodes, LONG_FAST, 6 h with one message;
2. airtime to deliver one single-packet message to all 8 nodes (Modum
   topology) against the ideal of one transmission per node of a minimal
   relay tree;
3. repair traffic after Modum's two-hour partition against the wire bytes of
   the messages that were missing, and the time to converge after the heal.
Medians over seeds 1-SEEDS (default 100: with 10-25 % loss per link one
seed's repair can cost twice another's, and medians over seeds 1-20 still
moved by 0.2x between runs of two designs that 100 seeds call equal).  The
runs are spread over every core.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.bench.sync import repair_summary  # noqa: E402
from relay.bench.sync_runs import one_message_figures, repair_run  # noqa: E402
from relay.core.sync import SyncConfig  # noqa: E402
from relay.sim import scenario as sc  # noqa: E402
from relay.sim.runner import Simulation  # noqa: E402

MODUM = sc.load(ROOT / "examples" / "modum.toml")
SEEDS = range(1, int(sys.argv[1]) + 1 if len(sys.argv) > 1 else 101)


def idle(seed: int) -> float:
    s = dataclasses.replace(
        MODUM,
        seed=seed,
        duration=6 * 3600.0,
        events=(sc.Event(60.0, send=MODUM.events[0].send),),
    )
    return float(Simulation(s).run()["channel_utilization"])  # type: ignore[arg-type]


def one_message(seed: int, flood_hops: int) -> tuple[float, float, float, float]:
    """(data airtime, all airtime, ideal airtime, seconds until all 8 hold it) for one message from MOD,
    sent with hop limit ``flood_hops`` after an idle hour (relay.bench.sync_runs does the run)."""
    r = one_message_figures(seed, SyncConfig(flood_hops=flood_hops, duty_limit=0.09))
    return r["data_airtime_s"], r["all_airtime_s"], r["ideal_airtime_s"], r["all_hold_after_s"]


def one_message_row(job: tuple[int, int]) -> tuple[float, float, float, float]:
    seed, hops = job
    return one_message(seed, hops)


def main() -> None:
    with multiprocessing.Pool() as pool:
        util = pool.map(idle, SEEDS)
        print(f"idle utilisation, 8 nodes LONG_FAST 6 h: median {statistics.median(util):.4%} (max {max(util):.4%})")
        for hops in (3, 1, 0):
            one = pool.map(one_message_row, [(s, hops) for s in SEEDS])
            print(
                f"one message to all 8, flood_hops={hops}: median data airtime "
                f"{statistics.median(d for d, _, _, _ in one):.2f} s, "
                f"all frames {statistics.median(e for _, e, _, _ in one):.2f} s,"
                f" ideal {one[0][2]:.2f} s -> ratio {statistics.median(d / i for d, _, i, _ in one):.2f} (data),"
                f" {statistics.median(e / i for _, e, i, _ in one):.2f} (all); all hold it after "
                f"{statistics.median(t for _, _, _, t in one):.0f} s; means (the times are bimodal: one"
                f" relay round or two) {statistics.mean(d / i for d, _, i, _ in one):.2f},"
                f" {statistics.mean(e / i for _, e, i, _ in one):.2f}, {statistics.mean(t for _, _, _, t in one):.0f} s"
            )
        runs = pool.map(repair_run, SEEDS)
    r = repair_summary(runs, [])
    after = sorted(run["converged_after_heal_s"] for run in runs)
    print(
        f"repair after the 2 h partition (heal to convergence, every frame on the air):"
        f" {r['missing_wire_bytes']:.0f} wire bytes missing somewhere, ideal {r['ideal_bytes']:.0f} B on air;"
        f" sent {r['on_air_bytes']:.0f} B (data {r['data_bytes']:.0f}, control {r['control_bytes']:.0f})"
        f" = {r['ratio_vs_ideal']:.2f}x the ideal in bytes, {r['airtime_ratio_vs_ideal']:.2f}x in airtime"
        f" (data alone {r['data_ratio_vs_ideal']:.2f}x, {r['data_airtime_ratio_vs_ideal']:.2f}x);"
        f" {r['ratio_vs_missing']:.2f}x the missing wire bytes"
    )
    print(
        f"  against the loss floor (an omniscient scheduler over these lossy links, one message a packet,"
        f" no control, no collisions: {r['floor_airtime_s']:.1f} s against the ideal's"
        f" {statistics.median(run['ideal_airtime_s'] for run in runs):.1f} s):"
        f" all frames {r['airtime_ratio_vs_floor']:.2f}x, data {r['data_airtime_ratio_vs_floor']:.2f}x;"
        f" what Modum missed {r['mod_missed_airtime_ratio_vs_floor']:.2f}x"
    )
    print(
        f"  converged after the heal: median {r['converged_after_heal_s']:.0f} s,"
        f" 90th percentile {after[int(0.9 * (len(after) - 1))]:.0f} s, worst {after[-1]:.0f} s"
        f" ({sum(run['converged'] for run in runs)}/{len(runs)} runs converged)"
    )
    print(
        f"  the messages Modum missed: {r['mod_missed_wire_bytes']:.0f} wire bytes, {r['mod_missed_data_bytes']:.0f} B"
        f" of data frames spent on them = {r['mod_missed_ratio']:.2f}x"
        f" ({r['mod_missed_airtime_ratio']:.2f}x in airtime against one packet each)"
    )


if __name__ == "__main__":
    main()
