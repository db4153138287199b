#!/usr/bin/env python3
"""One row per attack: what a hostile radio costs the honest ones, on the simulator.

    python tools/measure_attacks.py [SEEDS] [--code DIR] [--json FILE] [--only TEXT] [--role CLIENT]

Each attack is ``examples/rogue-request-flood.toml`` (the Modum exercise without
its partition, 1 h) with the rogue's attack and rate changed: MAL hears Ringerike
and Hole, attacks from 10 to 40 minutes, and Modum sends a NØD at 20 minutes.
Every run is paired with the same seed without the rogue.  Per attack, medians
and 90th percentiles over seeds 1-SEEDS (default 30) of:

* the rogue's airtime and duty over its 30 minutes;
* honest airtime caused: the honest radios' airtime (relays included) minus the
  same seed's without the rogue, and its ratio to the rogue's;
* NØD: seconds until every store holds Modum's NØD (every store with an active
  key: a revoked node's summaries and requests are refused until it is re-keyed);
* false receipts: MOTTATT receipts, in any store, dated more than a minute
  before the named node held the message (or for one it never held);
* the longest silence of any store during the attack (a silenced node shows as
  a gap far above Trickle's 1280 s and the 1800 s keepalive);
* what the stores refused, by reason (what the operator's log shows).

``--role CLIENT`` plays the town halls as CLIENT radios (they rebroadcast what
they hear; the shipped scenarios and region.toml use CLIENT_MUTE).
``--code DIR`` measures another checkout (``git worktree add /tmp/before REV``)
whose simulator has ``[[rogue]]``; the closing note of issue 13 compares the
tree before the hardening with this one.
"""

from __future__ import annotations

import json
import multiprocessing
import statistics
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CODE = Path(sys.argv[sys.argv.index("--code") + 1]) if "--code" in sys.argv else ROOT
sys.path.insert(0, str(CODE))

from relay.sim import scenario as sc  # noqa: E402
from relay.sim.runner import EPOCH0, Simulation  # noqa: E402

BASE = ROOT / "examples" / "rogue-request-flood.toml"
ROLE = sys.argv[sys.argv.index("--role") + 1] if "--role" in sys.argv else None  # town halls: CLIENT or CLIENT_MUTE
START_S, STOP_S, NOD_AT_S = 600.0, 2400.0, 1200.0

# (name, attack, every, extra rogue keys, extra events)
ATTACKS: list[tuple[str, str, str, dict[str, Any], list[dict[str, Any]]]] = [
    ("request-flood 30 s", "request-flood", "30s", {}, []),
    ("request-flood 6 s", "request-flood", "6s", {}, []),
    ("summary-lie 30 s", "summary-lie", "30s", {}, []),
    ("summary-lie 6 s", "summary-lie", "6s", {}, []),
    ("fragment-spam 4 s", "fragment-spam", "4s", {}, []),
    ("message-flood 10 s, stolen JEV key", "message-flood", "10s", {"stolen_key": "JEV"}, []),
    ("seq-jump 60 s, stolen JEV key", "seq-jump", "60s", {"stolen_key": "JEV"}, []),
    (
        "summary-lie 30 s in MOD's name while MOD is cut off",
        "summary-lie",
        "30s",
        # examples/modum.toml: Modum cut off 0:30-2:30; the rogue beside Ringerike
        # claims Modum holds everything; a NØD from Ringerike at 1:00.
        {"base": "modum.toml", "claims": "MOD", "start": "40m", "stop": "2h", "links": {"RIN": 0.05, "HOL": 0.05}},
        [{"at": "1h", "send": {"from": "RIN", "priority": "NØD", "text": "Brann i Hønefoss sentrum."}}],
    ),
    (
        "message-flood 10 s, JEV revoked at 15 min",
        "message-flood",
        "10s",
        {"stolen_key": "JEV"},
        [{"at": "15m", "revoke": {"node": "JEV", "from": "SF"}}],
    ),
]


def scenario_for(
    seed: int, attack: tuple[str, str, str, dict[str, Any], list[dict[str, Any]]] | None, calm: bool = False
) -> Any:
    """The row's scenario; ``calm``: its base and events without the rogue."""
    extra = dict(attack[3]) if attack is not None else {}
    base = BASE.parent / extra.pop("base", BASE.name)
    data = tomllib.loads(base.read_text(encoding="utf-8"))
    data["mesh"]["seed"] = seed
    if ROLE is not None:
        data["mesh"]["town_hall_role"] = ROLE
    rogue = data.pop("rogue", [{"id": "MAL"}])[0]
    if attack is not None:
        _, kind, every, _, events = attack
        if not calm:
            data["rogue"] = [{**rogue, "attack": kind, "every": every, **extra}]
        data["event"] = [*data["event"], *events]
    return sc.parse(data, base.parent, base.stem)


def window(attack: Any) -> tuple[float, float]:
    """When the rogue attacks (seconds from the start)."""
    extra = attack[3] if attack is not None else {}
    return sc.parse_duration(extra.get("start", START_S)), sc.parse_duration(extra.get("stop", STOP_S))


def run(seed: int, attack: Any, calm: bool = False) -> dict[str, Any] | None:
    try:
        scenario = scenario_for(seed, attack, calm)
    except Exception:  # an older checkout without this event (revoke): not measured there
        return None
    sim = Simulation(scenario)
    report = sim.run()
    nodes: dict[str, dict[str, Any]] = report["nodes"]  # type: ignore[assignment]
    honest = sum(float(n["airtime_s"]) for n in nodes.values() if not n.get("rogue"))
    rogue = next((n for n in nodes.values() if n.get("rogue")), None)
    messages: list[dict[str, Any]] = report["messages"]  # type: ignore[assignment]
    nod = next(m for m in messages if m["priority"] == "NØD" and m["kind"] != "ROSTER")  # the scenario's one NØD
    stores = {n for n in sim.nodes if sim.roster.active(n) is not None}  # a revoked node is outside until re-keyed
    if attack is not None and attack[3].get("base") == "modum.toml":
        stores.discard("MOD")  # cut off: reachable only at the heal
    reached = {n: t for n, t in nod["delivered"].items() if n in stores}
    nod_s = max(reached.values()) - nod["sent_at_s"] if set(reached) == stores else None
    got = {str(m["id"]): dict(m["delivered"]) for m in messages}  # id -> node -> when it held it
    false_receipts = 0
    for node in sim.nodes.values():
        for stored in node.store.log():
            if stored.id not in got:
                continue  # the rogue's own messages: no record of who held them when
            when = got[stored.id]
            for r in node.store.receipts(stored.message.origin, stored.message.seq):
                said = r.at.timestamp() - EPOCH0
                if r.level == "MOTTATT" and r.node in sim.nodes and when.get(r.node, float("inf")) > said + 60:
                    false_receipts += 1  # the receipt says it held it a minute before it did, or ever
    start, stop = window(attack)
    awake = {n for n in stores if n != "MOD" or "modum.toml" not in str(attack)}  # a cut-off Modum is quiet
    sends: dict[str, list[float]] = {nid: [] for nid in awake}
    for t, sender, _ in sim.medium.frames_log:
        if sender in sends and start <= t - EPOCH0 <= stop:
            sends[sender].append(t - EPOCH0)
    silence = max(max(b - a for a, b in zip([start, *ts], [*ts, stop], strict=True)) for ts in sends.values())
    refused: Counter[str] = Counter()
    for n in nodes.values():
        refused.update(n.get("rejected") or {})
    return {
        "honest_airtime_s": honest,
        "rogue_airtime_s": float(rogue["airtime_s"]) if rogue else 0.0,
        "nod_s": nod_s,
        "false_receipts": false_receipts,
        "silence_s": silence,
        "refused": dict(refused),
    }


def baseline_of(index: int) -> int:
    """The row whose scenario without the rogue is this row's yardstick: the first
    row with the same base and events (-1: the default)."""
    _, _, _, extra, events = ATTACKS[index]
    if "base" not in extra and not events:
        return -1
    return next(i for i, a in enumerate(ATTACKS) if a[3].get("base") == extra.get("base") and a[4] == events)


def job(args: tuple[int, int, bool]) -> tuple[int, int, bool, dict[str, Any] | None]:
    seed, index, calm = args
    if index < 0:
        return seed, index, calm, run(seed, None)
    return seed, index, calm, run(seed, ATTACKS[index], calm)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--code" in sys.argv:
        args.remove(str(CODE))
    out = Path(sys.argv[sys.argv.index("--json") + 1]) if "--json" in sys.argv else None
    if out is not None and str(out) in args:
        args.remove(str(out))
    seeds = range(1, int(args[0]) + 1 if args else 31)
    if ROLE is not None:
        args.remove(ROLE)
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    if only is not None:
        args.remove(only)
    wanted = [i for i, a in enumerate(ATTACKS) if only is None or only in a[0]]
    calm = sorted({baseline_of(i) for i in wanted})
    jobs = [(seed, i, True) for seed in seeds for i in calm] + [(seed, i, False) for seed in seeds for i in wanted]
    with multiprocessing.Pool() as pool:
        results = pool.map(job, jobs)
    base = {(seed, index): r for seed, index, calm, r in results if calm and r is not None}
    rows = []
    print(f"code: {CODE}  seeds: {len(seeds)}")
    for index, (name, *_) in enumerate(ATTACKS):
        if index not in wanted:
            continue
        runs = [(seed, r) for seed, i, calm, r in results if i == index and not calm and r is not None]
        if not runs:
            print(f"{name:44} not measured (this checkout has no such scenario)")
            continue
        yardstick = baseline_of(index)
        caused = [r["honest_airtime_s"] - base[(seed, yardstick)]["honest_airtime_s"] for seed, r in runs]
        rogue = [r["rogue_airtime_s"] for _, r in runs]
        ratio = [c / r if r else 0.0 for c, r in zip(caused, rogue, strict=True)]
        nods = [r["nod_s"] for _, r in runs]
        delivered = [n for n in nods if n is not None]
        refused: Counter[str] = Counter()
        for _, r in runs:
            refused.update(r["refused"])
        start, stop = window(ATTACKS[index])
        row = {
            "attack": name,
            "rogue_airtime_s": statistics.median(rogue),
            "rogue_duty": statistics.median(rogue) / (stop - start),
            "honest_caused_s": (statistics.median(caused), pct(caused, 0.9)),
            "ratio": (statistics.median(ratio), pct(ratio, 0.9)),
            "nod_s": (statistics.median(delivered), pct(delivered, 0.9), max(delivered)) if delivered else None,
            "nod_missing": len(nods) - len(delivered),
            "nod_over_600": sum(1 for n in nods if n is None or n > 600),
            "false_receipts": (
                statistics.median([r["false_receipts"] for _, r in runs]),
                max(r["false_receipts"] for _, r in runs),
            ),
            "silence_s": (statistics.median([r["silence_s"] for _, r in runs]), max(r["silence_s"] for _, r in runs)),
            "refused_per_run": {k: round(v / len(runs)) for k, v in refused.most_common(4)},
        }
        rows.append(row)
        nod = row["nod_s"]
        print(
            f"{name:44} rogue {row['rogue_airtime_s']:6.1f} s ({100 * row['rogue_duty']:4.1f} %)  "
            f"honest +{row['honest_caused_s'][0]:6.1f}/{row['honest_caused_s'][1]:6.1f} s  "
            f"x{row['ratio'][0]:4.2f}/{row['ratio'][1]:4.2f}  "
            f"NØD {'-' if nod is None else f'{nod[0]:.0f}/{nod[1]:.0f}/{nod[2]:.0f}'} s "
            f"(>600: {row['nod_over_600']})  false receipts {row['false_receipts'][0]:.0f}/{row['false_receipts'][1]}  "
            f"silence {row['silence_s'][0]:.0f}/{row['silence_s'][1]:.0f} s  refused {row['refused_per_run']}"
        )
    base_nod = [r["nod_s"] for (_, i), r in base.items() if i < 0 and r["nod_s"] is not None]
    if base_nod:
        print(f"{'no rogue':44} NØD {statistics.median(base_nod):.0f}/{pct(base_nod, 0.9):.0f} s")
    if out is not None:
        out.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
