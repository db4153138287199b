#!/usr/bin/env python3
"""Delivery under the RUTINE load run, per priority, on the field plan and Modum.

    nice python tools/measure_load.py [SEEDS] [--jobs N] [--json FILE] [--summarise FILE]

The load run is ``relay.bench.sync_runs.load_run``: 30 RUTINE from RIN, HOL
and SIG in 30 s, with NØD (MOD, POL), HASTER (JEV, KRO) and PRIORITET (SF,
MOD) sent into it; two hours of mesh time.  For seeds 1-SEEDS (default 40)
it prints, for each scenario, the median, 90th percentile and worst time
until every store holds a message, per class: NØD from Modum, NØD from the
police contact, HASTER, RUTINE; how many exceeded 600 s, and how many never
reached every store within the two hours (counted as missing, not in the
percentiles).  Runs go seed by seed, both scenarios of a seed together, and
``--json`` is rewritten after each, so an interrupted measurement still has
its first seeds; ``--summarise FILE`` prints the table from such a file (the
seeds both scenarios finished).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.bench import sync_runs  # noqa: E402

SCENARIOS = ("field-plan", "modum")
CAP_S = 2 * 3600.0
CLASSES = ("NØD from MOD", "NØD from POL", "HASTER", "RUTINE")


def run(job: tuple[str, int]) -> tuple[str, dict[str, Any]]:
    name, seed = job
    return name, sync_runs.load_run((seed, 10, CAP_S, name))


def klass(message: dict[str, Any]) -> str | None:
    prio, origin = message["priority"], message["id"].split("-")[0]
    if prio == "NØD":
        return f"NØD from {origin}"
    return prio if prio in ("HASTER", "RUTINE") else None


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))]


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in CLASSES:
        times = [m["all_s"] for r in runs for m in r["messages"] if klass(m) == name]
        done = sorted(t for t in times if t is not None)
        out[name] = {
            "n": len(times),
            "missing": len(times) - len(done),
            "median": pct(done, 0.5) if done else None,
            "p90": pct(done, 0.9) if done else None,
            "worst": done[-1] if done else None,
            "over_600": sum(t > 600 for t in done) + len(times) - len(done),
        }
    return out


def table(results: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Print and return the figures over the seeds every scenario finished."""
    done = set.intersection(*({r["seed"] for n, r in results if n == name} for name in SCENARIOS))
    report = {}
    for name in SCENARIOS:
        runs = [r for n, r in results if n == name and r["seed"] in done]
        report[name] = summarise(runs)
        print(
            f"{name}, {len(done)} seeds (up to {max(done, default=0)}), to every store (s):"
            " median / p90 / worst; over 600 s; never"
        )
        for klass_name, row in report[name].items():
            print(
                f"  {klass_name:14} {row['median']} / {row['p90']} / {row['worst']};"
                f" {row['over_600']} of {row['n']}; {row['missing']}"
            )
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("seeds", nargs="?", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--summarise", type=Path)
    args = parser.parse_args()
    if args.summarise:
        table([(str(n), r) for n, r in json.loads(args.summarise.read_text())["runs"]])
        return
    jobs = [(name, seed) for seed in range(1, args.seeds + 1) for name in SCENARIOS]
    results: list[tuple[str, dict[str, Any]]] = []
    with multiprocessing.Pool(args.jobs) as pool:
        for result in pool.imap(run, jobs, chunksize=1):
            results.append(result)
            if args.json:
                args.json.write_text(json.dumps({"seeds": args.seeds, "runs": results}, ensure_ascii=False))
    report = table(results)
    if args.json:
        args.json.write_text(json.dumps({"seeds": args.seeds, "report": report, "runs": results}, ensure_ascii=False))


if __name__ == "__main__":
    main()
