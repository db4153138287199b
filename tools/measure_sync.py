#!/usr/bin/env python3
"""Figures for the sync design, from the virtual-time simulator.

    python tools/measure_sync.py [SEEDS]

1. idle channel utilisation, 8 nodes, LONG_FAST, 6 h with one message;
2. airtime to deliver one single-packet message to all 8 nodes (Modum
   topology) against the ideal of one transmission per node of a minimal
   relay tree;
3. repair traffic after Modum's two-hour partition against the wire bytes of
   the messages that were missing, and the time to converge after the heal.
Medians over seeds 1-SEEDS (default 20: with 10-25 % loss per link one
seed's repair can cost twice another's, so five seeds are not enough to
compare two designs).
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.bench_sync import one_message_figures, repair_run, repair_summary  # noqa: E402
from relay.core.sync import SyncConfig  # noqa: E402
from relay.sim import scenario as sc  # noqa: E402
from relay.sim.runner import Simulation  # noqa: E402

MODUM = sc.load(ROOT / "examples" / "modum.toml")
SEEDS = range(1, int(sys.argv[1]) + 1 if len(sys.argv) > 1 else 21)


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
    sent with hop limit ``flood_hops`` after an idle hour (relay.bench_sync does the run)."""
    r = one_message_figures(seed, SyncConfig(flood_hops=flood_hops, duty_limit=0.09))
    return r["data_airtime_s"], r["all_airtime_s"], r["ideal_airtime_s"], r["all_hold_after_s"]


def main() -> None:
    util = [idle(s) for s in SEEDS]
    print(f"idle utilisation, 8 nodes LONG_FAST 6 h: median {statistics.median(util):.4%} (max {max(util):.4%})")
    for hops in (3, 1, 0):
        one = [one_message(s, hops) for s in SEEDS]
        print(
            f"one message to all 8, flood_hops={hops}: median data airtime "
            f"{statistics.median(d for d, _, _, _ in one):.2f} s, "
            f"all frames {statistics.median(e for _, e, _, _ in one):.2f} s,"
            f" ideal {one[0][2]:.2f} s -> ratio {statistics.median(d / i for d, _, i, _ in one):.2f} (data),"
            f" {statistics.median(e / i for _, e, i, _ in one):.2f} (all); all hold it after "
            f"{statistics.median(t for _, _, _, t in one):.0f} s"
        )
    r = repair_summary([repair_run(s) for s in SEEDS], [])
    print(
        f"repair after the 2 h partition (heal to convergence, every frame on the air):"
        f" {r['missing_wire_bytes']:.0f} wire bytes missing somewhere, ideal {r['ideal_bytes']:.0f} B on air;"
        f" sent {r['on_air_bytes']:.0f} B (data {r['data_bytes']:.0f}, control {r['control_bytes']:.0f})"
        f" = {r['ratio_vs_ideal']:.2f}x the ideal in bytes, {r['airtime_ratio_vs_ideal']:.2f}x in airtime"
        f" (data alone {r['data_ratio_vs_ideal']:.2f}x, {r['data_airtime_ratio_vs_ideal']:.2f}x);"
        f" {r['ratio_vs_missing']:.2f}x the missing wire bytes;"
        f" converged {r['converged_after_heal_s']:.0f} s after the heal"
    )
    print(
        f"  the messages Modum missed: {r['mod_missed_wire_bytes']:.0f} wire bytes, {r['mod_missed_data_bytes']:.0f} B"
        f" of data frames spent on them = {r['mod_missed_ratio']:.2f}x"
        f" ({r['mod_missed_airtime_ratio']:.2f}x in airtime against one packet each)"
    )


if __name__ == "__main__":
    main()
