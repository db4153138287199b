#!/usr/bin/env python3
"""Figures for the sync design, from the virtual-time simulator.

    python tools/measure_sync.py

1. idle channel utilisation, 8 nodes, LONG_FAST, 6 h with one message;
2. airtime to deliver one single-packet message to all 8 nodes (Modum
   topology) against the ideal of one transmission per node of a minimal
   relay tree;
3. repair traffic after Modum's two-hour partition against the wire bytes of
   the messages that were missing, and the time to converge after the heal.
Medians over seeds 1-5.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from typing import Any  # noqa: E402

from relay.bench_sync import one_message_figures  # noqa: E402
from relay.core import wire  # noqa: E402
from relay.core.sync import SyncConfig  # noqa: E402
from relay.sim import scenario as sc  # noqa: E402
from relay.sim.runner import Simulation  # noqa: E402

MODUM = sc.load(ROOT / "examples" / "modum.toml")
SEEDS = range(1, 6)


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


def repair(seed: int) -> dict[str, float]:
    """Traffic from the heal until every store agrees again, after Modum's two-hour partition.

    ``all``/``data``: bytes on air in all and in data frames; ``missing``: wire bytes of
    every message some store lacked at the heal; ``ideal``: one packet per message Modum
    missed and two per message of Modum's (MOD -> RIN/KRO -> the rest); ``mod_data`` and
    ``mod_missing``: data frames carrying the messages Modum itself missed, and their wire
    bytes (the issue's "repair versus the messages it missed").
    """
    s = dataclasses.replace(MODUM, seed=seed, events=tuple(e for e in MODUM.events if e.at <= 9000.0))
    sim = Simulation(s)
    heal = 9000.0
    sent: list[tuple[float, bytes]] = []
    attempt = sim.medium._attempt

    def spy(radio: Any, now: float) -> None:
        queued = list(radio.queue)
        attempt(radio, now)
        if len(radio.queue) < len(queued):
            sent.append((now - sim.epoch0, queued[0].frame))

    sim.medium._attempt = spy  # type: ignore[method-assign]
    report = sim.run()
    messages = report["messages"]  # type: ignore[assignment]
    late = [m for m in messages if any(t > heal for t in m["delivered"].values())]  # type: ignore[union-attr]
    mod_missed = {m["id"]: m["wire_bytes"] for m in late if m["delivered"].get("MOD", 0) > heal}  # type: ignore[index, union-attr]
    keys = {node.signer.key_id: node.id for node in sim.nodes.values()}
    end = float(report["converged_at_s"])  # type: ignore[arg-type]
    window = [(t, f) for t, f in sent if heal <= t <= end]
    data = [f for _, f in window if f[0] >= 0x10]
    mod_data = 0
    for frame in data:
        head = wire.peek(frame)
        if f"{keys[head.key_id]}-{head.seq:04d}" in mod_missed:
            mod_data += len(frame)
    return {
        "all": float(sum(len(f) for _, f in window)),
        "data": float(sum(len(f) for f in data)),
        "missing": float(sum(m["wire_bytes"] for m in late)),  # type: ignore[misc]
        "ideal": float(sum(m["wire_bytes"] * (2 if m["origin"] == "MOD" else 1) for m in late)),  # type: ignore[misc]
        "mod_data": float(mod_data),
        "mod_missing": float(sum(mod_missed.values())),  # type: ignore[arg-type]
        "converge": end - heal,
    }


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
    rep = [repair(s) for s in SEEDS]
    med = statistics.median
    print(
        f"repair after the 2 h partition: {med(r['missing'] for r in rep):.0f} wire bytes missing somewhere "
        f"(ideal on air {med(r['ideal'] for r in rep):.0f}); on air {med(r['all'] for r in rep):.0f} bytes in all = "
        f"{med(r['all'] / r['missing'] for r in rep):.2f}x, data frames {med(r['data'] for r in rep):.0f} = "
        f"{med(r['data'] / r['missing'] for r in rep):.2f}x; converged {med(r['converge'] for r in rep):.0f} s "
        f"after the heal"
    )
    print(
        f"  of which the messages Modum missed: {med(r['mod_missing'] for r in rep):.0f} wire bytes, carried in "
        f"{med(r['mod_data'] for r in rep):.0f} bytes of data frames = "
        f"{med(r['mod_data'] / r['mod_missing'] for r in rep):.2f}x"
    )


if __name__ == "__main__":
    main()
