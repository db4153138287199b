#!/usr/bin/env python3
"""Figures for the IP path, from the virtual-time simulator.

    python tools/measure_ip.py [SEEDS] [--json FILE]

For the Modum table-top and the field plan (relay/data/scenarios/), over seeds
1-SEEDS (default 100), three set-ups of the same traffic:

* ``radio``: every site by radio only (what relay did before the IP path);
* ``ip``: the seven sites other than Modum also reach the broker (Modum, under
  cyber attack, has only its radio);
* ``ip, SF IP-only``: as ``ip``, but Statsforvalteren has no radio at all
  (``relay daemon --radio none``), so everything it gets from Modum crosses a
  gateway.

Reported: radio airtime of all radios over the run (relays included), IP frames,
whether and when the stores converged, and how long each of Modum's messages
took to reach SF.  Medians and p90 over the seeds; the runs are spread over
every core.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.sim import scenario as sc  # noqa: E402
from relay.sim.runner import Simulation  # noqa: E402

SCENARIOS = ROOT / "relay" / "data" / "scenarios"
IP_SITES = ["RIN", "HOL", "JEV", "KRO", "SIG", "SF", "POL"]
SETUPS = ("radio", "ip", "ip, SF IP-only")


def scenario_for(name: str, setup: str, seed: int) -> sc.Scenario:
    data: dict[str, Any] = tomllib.loads((SCENARIOS / f"{name}.toml").read_text(encoding="utf-8"))
    data["mesh"]["seed"] = seed
    if setup != "radio":
        data["mesh"]["ip"] = IP_SITES
    if setup == "ip, SF IP-only":
        for node in data["node"]:
            if node["id"] == "SF":
                node["radio"] = False
        data["link"] = [link for link in data["link"] if "SF" not in (link["a"], link["b"])]
    return sc.parse(data, SCENARIOS, name)


def cut_off(scenario: sc.Scenario) -> tuple[float, float]:
    """When Modum's radio is cut off (its partition) and when it heals."""
    start = next(e.at for e in scenario.events if "MOD" in e.partition)
    end = next(e.at for e in scenario.events if "MOD" in e.heal)
    return start, end


def run(job: tuple[str, str, int]) -> dict[str, Any]:
    name, setup, seed = job
    scenario = scenario_for(name, setup, seed)
    report = Simulation(scenario).run()
    start, heal = cut_off(scenario)
    to_sf, after_heal = [], []
    for m in report["messages"]:  # type: ignore[attr-defined]
        if m["origin"] != "MOD" or "SF" not in m["delivered"]:
            continue
        if start <= m["sent_at_s"] < heal:
            after_heal.append(m["delivered"]["SF"] - heal)  # written while cut off: from the heal
        else:
            to_sf.append(m["delivered"]["SF"] - m["sent_at_s"])
    missing_at_sf = sum(
        1
        for m in report["messages"]  # type: ignore[attr-defined]
        if m["origin"] == "MOD" and "SF" not in m["delivered"]
    )
    return {
        "scenario": name,
        "setup": setup,
        "seed": seed,
        "converged": report["converged"],
        "converged_at_s": report["converged_at_s"],
        "radio_airtime_s": report["radio_airtime_s"],
        "ip_frames": report["ip_frames"],
        "mod_to_sf_s": to_sf,
        "mod_to_sf_after_heal_s": after_heal,
        "mod_missing_at_sf": missing_at_sf,
    }


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def summarise(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for name in ("modum", "field-plan"):
        base = [r["radio_airtime_s"] for r in rows if r["scenario"] == name and r["setup"] == "radio"]
        lines.append(f"{name}:")
        for setup in SETUPS:
            mine = [r for r in rows if r["scenario"] == name and r["setup"] == setup]
            air = [r["radio_airtime_s"] for r in mine]
            conv = [r["converged_at_s"] for r in mine if r["converged"]]
            to_sf = [t for r in mine for t in r["mod_to_sf_s"]]
            healed = [t for r in mine for t in r["mod_to_sf_after_heal_s"]]
            ratio = statistics.median(air) / statistics.median(base)
            lines.append(
                f"  {setup:<15} radio airtime {statistics.median(air):7.1f} s (p90 {p90(air):7.1f}, "
                f"x{ratio:.2f} of radio only), IP frames {statistics.median([r['ip_frames'] for r in mine]):6.0f}, "
                f"converged {len(conv)}/{len(mine)}"
                + (f" at {statistics.median(conv):.0f} s (p90 {p90(conv):.0f})" if conv else "")
                + f", MOD->SF {statistics.median(to_sf):.1f} s (p90 {p90(to_sf):.1f}, max {max(to_sf):.1f})"
                + f", backlog after heal {statistics.median(healed):.0f} s (p90 {p90(healed):.0f})"
                + f", MOD messages SF never got: {sum(r['mod_missing_at_sf'] for r in mine)}"
            )
    return lines


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    seeds = range(1, int(args[0]) + 1 if args else 101)
    jobs = [(name, setup, seed) for name in ("modum", "field-plan") for setup in SETUPS for seed in seeds]
    with multiprocessing.Pool() as pool:
        rows = pool.map(run, jobs, chunksize=1)
    for line in summarise(rows):
        print(line)
    if "--json" in sys.argv:
        out = Path(sys.argv[sys.argv.index("--json") + 1])
        out.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
