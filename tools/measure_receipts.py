#!/usr/bin/env python3
"""The receipt lag: how long until a message's origin shows each store that holds it as MOTTATT.

    python tools/measure_receipts.py SEEDS [SCENARIO.toml ...]

Runs each scenario (default: examples/modum.toml and examples/field-plan.toml)
over seeds 1-SEEDS in the simulator and, for every (message, store but its
origin) pair of every run, takes the time from the store holding the message to
the origin's store recording that it does (from the heads of a signed summary
the origin heard; ``relay.sim.receipts``).  Prints per scenario, over the pairs
of all its runs: the lag's median, 90th percentile and worst, the share of pairs
the origin still shows as unconfirmed 30 minutes after the region converged,
and the share unconfirmed at the end of the run.  A run that ends sooner than
30 minutes after it converged is run again an hour longer.  Spread over two
processes.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.sim import scenario as sc  # noqa: E402
from relay.sim.receipts import SETTLE_S, percentile  # noqa: E402
from relay.sim.runner import Simulation  # noqa: E402

DEFAULT = (ROOT / "examples" / "modum.toml", ROOT / "examples" / "field-plan.toml")


def one(args: tuple[str, int]) -> dict[str, Any]:
    """One seed of one scenario: its receipt figures and every confirmed pair's lag."""
    path, seed = args
    s = dataclasses.replace(sc.load(Path(path)), seed=seed)
    while True:
        report = Simulation(s).run()
        settled = report["converged_at_s"]
        if settled is None or settled + SETTLE_S <= s.duration:
            break
        s = dataclasses.replace(s, duration=s.duration + 3600.0)
    lags = []
    for m in report["messages"]:  # type: ignore[attr-defined]
        for store, at in m["confirmed"].items():
            held = m["delivered"].get(store)
            if held is not None and at >= held:
                lags.append(at - held)
    return {"seed": seed, "lags": lags, **report["receipts"]}  # type: ignore[dict-item]


def main() -> None:
    if len(sys.argv) < 2 or not sys.argv[1].isdigit():
        sys.exit(__doc__)
    seeds = range(1, int(sys.argv[1]) + 1)
    paths = [Path(p) for p in sys.argv[2:]] or list(DEFAULT)
    with multiprocessing.Pool(2) as pool:
        for path in paths:
            runs = pool.map(one, [(str(path), seed) for seed in seeds])
            lags = sorted(lag for r in runs for lag in r["lags"])
            pairs = sum(r["pairs"] for r in runs)
            late = [r["unconfirmed_30min_after_convergence"] for r in runs]
            never = sum(1 for r in runs if r["unconfirmed_30min_after_convergence"] is None)
            print(f"{path.name}, {len(runs)} seeds, {pairs} (message, store) pairs:")
            print(
                f"  receipt lag: median {percentile(lags, 0.5):.0f} s, p90 {percentile(lags, 0.9):.0f} s,"
                f" worst {lags[-1]:.0f} s ({len(lags)} pairs confirmed)"
                if lags
                else "  receipt lag: no pair confirmed"
            )
            counted = [n for n in late if n is not None]
            counted_pairs = sum(r["pairs"] for r in runs if r["unconfirmed_30min_after_convergence"] is not None)
            if counted_pairs:
                print(
                    f"  unconfirmed 30 min after convergence: {sum(counted)} of {counted_pairs}"
                    f" ({sum(counted) / counted_pairs:.1%})" + (f"; {never} run(s) never converged" if never else "")
                )
            unconfirmed = sum(r["unconfirmed"] for r in runs)
            print(f"  unconfirmed at the end of the run: {unconfirmed} of {pairs} ({unconfirmed / pairs:.1%})")
            false = sum(r["false"] for r in runs)
            print(f"  shown as MOTTATT before the store held it: {false}")


if __name__ == "__main__":
    main()
