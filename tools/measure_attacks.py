#!/usr/bin/env python3
"""One row per attack: what a hostile radio costs the honest ones, on the simulator.

    python tools/measure_attacks.py [SEEDS] [--topology modum|field|geo16|all] [--code DIR]
                                    [--json FILE] [--only TEXT] [--role CLIENT]

Each attack is played on a topology of tools/attack_topologies.py (default
``modum``: ``examples/rogue-request-flood.toml``, the Modum exercise without its
partition, 1 h; ``field``: the field plan's two hills; ``geo16``: a random
geometric mesh of 16 stores; that module says where the rogue, the NØD and the
stolen key are on each, and why) with the rogue's attack and rate changed: MAL
attacks from 10 to 40 minutes and a NØD is sent at 20 minutes.  Every run is
paired with the same seed without the rogue.  Per attack, medians and 90th
percentiles over seeds 1-SEEDS (default 30) of:

* the rogue's airtime and duty over its attack;
* honest airtime caused: the honest radios' airtime (relays included) minus the
  same seed's without the rogue, and its ratio to the rogue's;
* NØD: seconds until every store holds the NØD (every store with an active
  key: a revoked node's summaries and requests are refused until it is re-keyed);
* false receipts: MOTTATT receipts, in any store, dated more than a minute
  before the named node held the message (or for one it never held);
* lost: honest messages (store, message) not held at the end of the run;
* the longest silence of any store during the attack (a silenced node shows as
  a gap far above Trickle's 1280 s and the 1800 s keepalive);
* what the stores refused, by reason (what the operator's log shows).

The conflict-flood row floods for an hour (10 to 70 minutes of an 80-minute run)
with the key of a store that sent seven messages, and the tool prints each
store's row count (``Store.count``: every version of every number) at the
flood's first frame and at the end of the run.

``--role CLIENT`` plays the town halls as CLIENT radios (they rebroadcast what
they hear; the shipped scenarios and region.toml use CLIENT_MUTE).
``--code DIR`` measures another checkout (``git worktree add /tmp/before REV``)
whose simulator has ``[[rogue]]``; a row it cannot parse is "not measured".
"""

from __future__ import annotations

import argparse
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

from attack_topologies import EXAMPLES, TOPOLOGIES, placed, topology  # noqa: E402

from relay.sim import scenario as sc  # noqa: E402
from relay.sim.runner import EPOCH0, Simulation  # noqa: E402

START_S, STOP_S = 600.0, 2400.0
ROLE: str | None = None  # town halls: CLIENT or CLIENT_MUTE (--role)
MODUM_ONLY = "base"  # a row on another scenario file: only on the modum topology
OWNER_SENDS = [{"at": f"{420 + 15 * i}s", "send": {"from": "OWNER", "text": f"Statuspunkt {i + 2}."}} for i in range(6)]

Attack = tuple[str, str, str, dict[str, Any], list[dict[str, Any]]]

# (name, attack, every, extra rogue keys, extra events); STOLEN, OWNER and
# AUTHORITY are the topology's stores (attack_topologies.Placement).
ATTACKS: list[Attack] = [
    ("request-flood 30 s", "request-flood", "30s", {}, []),
    ("request-flood 6 s", "request-flood", "6s", {}, []),
    ("summary-lie 30 s", "summary-lie", "30s", {}, []),
    ("summary-lie 6 s", "summary-lie", "6s", {}, []),
    ("fragment-spam 4 s", "fragment-spam", "4s", {}, []),
    ("message-flood 10 s, stolen key", "message-flood", "10s", {"stolen_key": "STOLEN"}, []),
    ("seq-jump 60 s, stolen key", "seq-jump", "60s", {"stolen_key": "STOLEN"}, []),
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
        "message-flood 10 s, stolen key revoked at 15 min",
        "message-flood",
        "10s",
        {"stolen_key": "STOLEN"},
        [{"at": "15m", "revoke": {"node": "STOLEN", "from": "AUTHORITY"}}],
    ),
    (
        "conflict-flood 10 s for 1 h, key of 7 numbers",
        "conflict-flood",
        "10s",
        {"stolen_key": "OWNER", "stop": "70m", "duration": "80m"},
        OWNER_SENDS,
    ),
]


def scenario_for(topo: str, seed: int, attack: Attack | None, calm: bool = False) -> Any:
    """The row's scenario on ``topo``; ``calm``: its base and events without the rogue."""
    data, placement = topology(topo, seed)
    extra = placed(dict(attack[3]), placement) if attack is not None else {}
    base = extra.pop(MODUM_ONLY, None)
    if base is not None:
        data = tomllib.loads((EXAMPLES / base).read_text(encoding="utf-8"))
        data["mesh"]["seed"] = seed
    if "duration" in extra:
        data["mesh"]["duration"] = extra.pop("duration")
    if ROLE is not None:
        data["mesh"]["town_hall_role"] = ROLE
    if attack is not None:
        _, kind, every, _, events = attack
        if not calm:
            data["rogue"] = [{"id": "MAL", "links": placement.rogue_links, "start": START_S, "stop": STOP_S}]
            data["rogue"][0] |= {"attack": kind, "every": every, **extra}
        data["event"] = [*data["event"], *placed(events, placement)]
    return sc.parse(data, EXAMPLES, base or topo)


def window(attack: Attack | None) -> tuple[float, float]:
    """When the rogue attacks (seconds from the start)."""
    extra = attack[3] if attack is not None else {}
    return sc.parse_duration(extra.get("start", START_S)), sc.parse_duration(extra.get("stop", STOP_S))


def run(topo: str, seed: int, attack: Attack | None, calm: bool = False) -> dict[str, Any] | None:
    try:
        scenario = scenario_for(topo, seed, attack, calm)
    except Exception:  # an older checkout without this attack or event: not measured there
        return None
    rows: dict[str, list[int]] = {}

    def count_rows(t: float, text: str) -> None:
        if text.startswith("MAL (fiendtlig radio) begynner"):
            rows.update({n: [node.store.count()] for n, node in sim.nodes.items()})

    sim = Simulation(scenario, timeline=count_rows)
    report = sim.run()
    for n, node in sim.nodes.items():
        log = node.store.log()
        extra_versions = len(log) - len({s.id for s in log})  # conflict rows: a number's second version
        rows.setdefault(n, [0]).extend([node.store.count(), extra_versions])
    nodes: dict[str, dict[str, Any]] = report["nodes"]  # type: ignore[assignment]
    rogue = next((n for n in nodes.values() if n.get("rogue")), None)
    messages: list[dict[str, Any]] = report["messages"]  # type: ignore[assignment]
    cut_off = attack is not None and MODUM_ONLY in attack[3]
    stores = {n for n in sim.nodes if sim.roster.active(n) is not None}  # a revoked node is outside until re-keyed
    awake = stores - {"MOD"} if cut_off else stores  # a cut-off Modum is quiet and reachable only at the heal
    return {
        "honest_airtime_s": sum(float(n["airtime_s"]) for n in nodes.values() if not n.get("rogue")),
        "rogue_airtime_s": float(rogue["airtime_s"]) if rogue else 0.0,
        "nod_s": nod_seconds(messages, awake),
        "false_receipts": false_receipts(sim, messages),
        "lost": sum(1 for m in messages for n in stores if n not in m["delivered"]),
        "silence_s": silence(sim, awake, *window(attack)),
        "refused": dict(sum((Counter(n.get("rejected") or {}) for n in nodes.values()), Counter())),
        "rows": rows,
    }


def nod_seconds(messages: list[dict[str, Any]], stores: set[str]) -> float | None:
    """Seconds until every store held the scenario's one NØD (None: some never did)."""
    nod = next(m for m in messages if m["priority"] == "NØD" and m["kind"] != "ROSTER")
    reached = {n: t for n, t in nod["delivered"].items() if n in stores}
    return max(reached.values()) - nod["sent_at_s"] if set(reached) == stores else None


def false_receipts(sim: Any, messages: list[dict[str, Any]]) -> int:
    got = {str(m["id"]): dict(m["delivered"]) for m in messages}  # id -> node -> when it held it
    count = 0
    for node in sim.nodes.values():
        for stored in node.store.log():
            if stored.id not in got:
                continue  # the rogue's own messages: no record of who held them when
            when = got[stored.id]
            for r in node.store.receipts(stored.message.origin, stored.message.seq):
                said = r.at.timestamp() - EPOCH0
                if r.level == "MOTTATT" and r.node in sim.nodes and when.get(r.node, float("inf")) > said + 60:
                    count += 1  # the receipt says it held it a minute before it did, or ever
    return count


def silence(sim: Any, stores: set[str], start: float, stop: float) -> float:
    """The longest gap between two frames of any store during the attack."""
    sends: dict[str, list[float]] = {nid: [] for nid in stores}
    for t, sender, _ in sim.medium.frames_log:
        if sender in sends and start <= t - EPOCH0 <= stop:
            sends[sender].append(t - EPOCH0)
    return max(max(b - a for a, b in zip([start, *ts], [*ts, stop], strict=True)) for ts in sends.values())


def baseline_of(index: int) -> int:
    """The row whose scenario without the rogue is this row's yardstick: the first
    row with the same base, duration and events (-1: the default)."""
    _, _, _, extra, events = ATTACKS[index]
    key = (extra.get(MODUM_ONLY), extra.get("duration"), events)
    if key == (None, None, []):
        return -1
    return next(i for i, a in enumerate(ATTACKS) if (a[3].get(MODUM_ONLY), a[3].get("duration"), a[4]) == key)


def job(args: tuple[str, int, int, bool]) -> tuple[str, int, int, bool, dict[str, Any] | None]:
    topo, seed, index, calm = args
    return topo, seed, index, calm, run(topo, seed, ATTACKS[index] if index >= 0 else None, calm)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(index: int, runs: list[tuple[int, dict[str, Any]]], base: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One row of the table from its runs (seed, result) and their yardsticks (seed -> result)."""
    caused = [r["honest_airtime_s"] - base[seed]["honest_airtime_s"] for seed, r in runs]
    rogue = [r["rogue_airtime_s"] for _, r in runs]
    ratio = [c / r if r else 0.0 for c, r in zip(caused, rogue, strict=True)]
    nods = [r["nod_s"] for _, r in runs]
    delivered = [n for n in nods if n is not None]
    refused: Counter[str] = Counter()
    for _, r in runs:
        refused.update(r["refused"])
    start, stop = window(ATTACKS[index])
    return {
        "attack": ATTACKS[index][0],
        "rogue_airtime_s": statistics.median(rogue),
        "rogue_duty": statistics.median(rogue) / (stop - start),
        "honest_caused_s": (statistics.median(caused), pct(caused, 0.9)),
        "ratio": (statistics.median(ratio), pct(ratio, 0.9)),
        "nod_s": (statistics.median(delivered), pct(delivered, 0.9), max(delivered)) if delivered else None,
        "nod_over_600": sum(1 for n in nods if n is None or n > 600),
        "false_receipts": (
            statistics.median([r["false_receipts"] for _, r in runs]),
            max(r["false_receipts"] for _, r in runs),
        ),
        "lost": (statistics.median([r["lost"] for _, r in runs]), max(r["lost"] for _, r in runs)),
        "silence_s": (statistics.median([r["silence_s"] for _, r in runs]), max(r["silence_s"] for _, r in runs)),
        "refused_per_run": {k: round(v / len(runs)) for k, v in refused.most_common(4)},
        "rows": row_counts(runs) if ATTACKS[index][1] == "conflict-flood" else None,
    }


def row_counts(runs: list[tuple[int, dict[str, Any]]]) -> dict[str, tuple[float, float, int, int]]:
    """Per store: median rows at the flood's first frame and at the end, the most any run
    grew, and the most conflict rows (second versions) any run ended with.
    (On geo16 the stores are N01-N16 on every seed, in different places.)"""
    out = {}
    for store in sorted(runs[0][1]["rows"]):
        counts = [r["rows"][store] for _, r in runs if store in r["rows"]]
        out[store] = (
            statistics.median(c[0] for c in counts),
            statistics.median(c[1] for c in counts),
            max(c[1] - c[0] for c in counts),
            max(c[2] for c in counts),
        )
    return out


def line(row: dict[str, Any]) -> str:
    nod = row["nod_s"]
    return (
        f"{row['attack']:48} rogue {row['rogue_airtime_s']:6.1f} s ({100 * row['rogue_duty']:4.1f} %)  "
        f"honest +{row['honest_caused_s'][0]:6.1f}/{row['honest_caused_s'][1]:6.1f} s  "
        f"x{row['ratio'][0]:4.2f}/{row['ratio'][1]:4.2f}  "
        f"NØD {'-' if nod is None else f'{nod[0]:.0f}/{nod[1]:.0f}/{nod[2]:.0f}'} s "
        f"(>600: {row['nod_over_600']})  false receipts {row['false_receipts'][0]:.0f}/{row['false_receipts'][1]}  "
        f"lost {row['lost'][0]:.0f}/{row['lost'][1]}  "
        f"silence {row['silence_s'][0]:.0f}/{row['silence_s'][1]:.0f} s  refused {row['refused_per_run']}"
    )


def report(
    topo: str, wanted: list[int], results: list[tuple[str, int, int, bool, dict[str, Any] | None]]
) -> list[dict[str, Any]]:
    """Print one topology's table; return its rows."""
    mine = [(seed, i, calm, r) for t, seed, i, calm, r in results if t == topo]
    base = {(seed, i): r for seed, i, calm, r in mine if calm and r is not None}
    print(f"\ntopology: {topo} ({topology(topo, 1)[1].describe() if topo != 'geo16' else 'placed per seed'})")
    rows = []
    for index in wanted:
        name = ATTACKS[index][0]
        if topo != "modum" and MODUM_ONLY in ATTACKS[index][3]:
            print(f"{name:48} n/a (Modum only)")
            continue
        runs = [(seed, r) for seed, i, calm, r in mine if i == index and not calm and r is not None]
        yardstick = baseline_of(index)
        runs = [(seed, r) for seed, r in runs if (seed, yardstick) in base]
        if not runs:
            print(f"{name:48} not measured (this checkout cannot play it)")
            continue
        row = summarise(index, runs, {seed: base[(seed, yardstick)] for seed, _ in runs})
        rows.append(row)
        print(line(row))
        for store, (first, last, grew, versions) in (row["rows"] or {}).items():
            print(f"{'':4}{store:4} rows {first:5.1f} at the flood's start, {last:5.1f} at the end", end="")
            print(f" (most grown {grew}, most conflict rows {versions})")
    base_nod = [r["nod_s"] for (_, i), r in base.items() if i < 0 and r["nod_s"] is not None]
    if base_nod:
        print(f"{'no rogue':48} NØD {statistics.median(base_nod):.0f}/{pct(base_nod, 0.9):.0f} s")
    return rows


def main() -> None:
    global ROLE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", nargs="?", type=int, default=30)
    parser.add_argument("--topology", default="modum", choices=[*TOPOLOGIES, "all"])
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only")
    parser.add_argument("--role")
    args = parser.parse_args()
    ROLE = args.role
    topologies = TOPOLOGIES if args.topology == "all" else (args.topology,)
    seeds = range(1, args.seeds + 1)
    wanted = [i for i, a in enumerate(ATTACKS) if args.only is None or args.only in a[0]]
    calm = sorted({baseline_of(i) for i in wanted})
    jobs = [
        (t, seed, i, c)
        for t in topologies
        for seed in seeds
        for i, c in [*((i, True) for i in calm), *((i, False) for i in wanted)]
    ]
    with multiprocessing.Pool() as pool:
        results = pool.map(job, jobs, chunksize=1)
    print(f"code: {CODE}  seeds: {len(seeds)}")
    tables = {t: report(t, wanted, results) for t in topologies}
    if args.json is not None:
        args.json.write_text(json.dumps(tables, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
