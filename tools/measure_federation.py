#!/usr/bin/env python3
"""Figures for a national-size federation, from the virtual-time simulator.

    python tools/measure_federation.py [REGIONS] [--hours H] [--workers N] [--json FILE]

REGIONS regions (default 10), each of 25-40 municipalities on a connected random
geometric radio mesh (``relay.bench.meshes.geometric``), every other one also on
the region's broker, and the county governor's home for the region IP-only on
the county broker, which the region's broker bridges to (``[mesh] bridged``,
0.5 s across the bridge).  Every municipality reports a SITREP to the county
governor once and chats by radio (a MELDING to ALLE); the county governor sends
a VARSEL to all.  In region 1 the regional broker is down for an hour (every IP
path of the region and the bridge), from 30 min on.  A national region: the
county governors on their county brokers, bridged to DSB's, each reporting a
SITREP to DSB.

Reported per region: IP frames per second through its broker and across its
bridge, radio airtime, the summary of a store (bytes, and pages when one
packet does not hold every origin), when the region converged, and in region 1
how long after the broker came back.  Regions are independent in the model as
in the design: what crosses a bridge is one region's subtree, so the national
figures are the sum of the regions'.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.bench import meshes  # noqa: E402
from relay.core import frames  # noqa: E402
from relay.core.model import Address, Kind, Priority  # noqa: E402
from relay.core.sync import SyncNode  # noqa: E402
from relay.sim import scenario as sc  # noqa: E402
from relay.sim.runner import EPOCH0, Simulation  # noqa: E402

BRIDGE_LATENCY_S = 0.5
OUTAGE_FROM_S, OUTAGE_S = 1800.0, 3600.0


def send(at: float, origin: str, kind: Kind, to: str, text: str, priority: Priority) -> sc.Event:
    spec = sc.SendSpec(origin, kind, priority, Address.parse(to), text, {}, True, None)
    return sc.Event(at, send=spec)


def region(index: int, hours: float) -> sc.Scenario:
    """Region ``index``: 25-40 municipalities by radio, half of them on IP, SF bridged."""
    rng = random.Random(f"federation/{index}")
    mesh = meshes.geometric(rng.randint(25, 40), index)
    town_halls = mesh.store_nodes
    sf = sc.NodeSpec("SF", "Statsforvalteren", role="statsforvalter", radio=False)
    ip = (*town_halls[::2], "SF")
    events = [
        send(600 + 60 * i, n, Kind.SITREP, "SF", f"{n}: status.", Priority.PRIORITET) for i, n in enumerate(town_halls)
    ]
    events += [
        send(900 + 45 * i, n, Kind.MELDING, "ALLE", f"{n}: rutine.", Priority.RUTINE) for i, n in enumerate(town_halls)
    ]
    events.append(send(1200, "SF", Kind.VARSEL, "ALLE", "Statsforvalteren: varsel.", Priority.HASTER))
    if index == 1:  # the regional broker is down an hour: every IP path of the region, and its bridge
        region_ip = tuple(n for n in ip if n != "SF")
        events += [sc.Event(OUTAGE_FROM_S, ip_down=region_ip), sc.Event(OUTAGE_FROM_S, bridge=False)]
        events += [sc.Event(OUTAGE_FROM_S + OUTAGE_S, ip_up=region_ip), sc.Event(OUTAGE_FROM_S + OUTAGE_S, bridge=True)]
    return dataclasses.replace(
        mesh,
        nodes=(*mesh.nodes, sf),
        events=tuple(sorted(events, key=lambda e: e.at)),
        duration=hours * 3600.0,
        ip=ip,
        bridged=("SF",),
        bridge_latency=BRIDGE_LATENCY_S,
        name=f"region-{index}",
    )


def national(regions: int, hours: float) -> sc.Scenario:
    """The county governors and DSB, all on IP; DSB's broker bridged to the county brokers."""
    governors = [f"SF{i:02d}" for i in range(1, regions + 1)]
    nodes = tuple(sc.NodeSpec(g, f"Statsforvalter {g}", role="statsforvalter", radio=False) for g in governors)
    nodes += (sc.NodeSpec("DSB", "DSB", role="annet", radio=False),)
    events = tuple(
        send(600 + 30 * i, g, Kind.SITREP, "DSB", f"{g}: samlet status.", Priority.PRIORITET)
        for i, g in enumerate(governors)
    )
    return sc.Scenario(
        preset=meshes.modum().preset,
        seed=1,
        hop_limit=3,
        duty_cycle=0.10,
        duration=hours * 3600.0,
        nodes=nodes,
        links={},
        events=events,
        name="national",
        ip=(*governors, "DSB"),
        bridged=("DSB",),
        bridge_latency=BRIDGE_LATENCY_S,
    )


def run(job: tuple[str, int, float, int]) -> dict[str, Any]:
    kind, index, hours, regions = job
    scenario = region(index, hours) if kind == "region" else national(regions, hours)
    sim = Simulation(scenario)
    report = sim.run()
    duration = scenario.duration
    # A store's summary at the end: a SyncNode over the first store (the run retired its own).
    node = next(iter(sim.nodes.values()))
    sync = SyncNode(
        node.id,
        node.signer.key_id,
        node.store,
        node.roster,
        sim.dicts,
        sim.medium.airtime_of_length,
        random.Random(1),
        EPOCH0 + duration,
        sim.config,
        sign=node.signer.sign,
    )
    frame = sync.summary_frame(EPOCH0 + duration)
    origins = len(sync.log.summary())
    parsed = frames.parse(frame)
    assert isinstance(parsed, frames.Summary)
    pages = 1 if parsed.complete else -(-origins // len(parsed.heads))
    messages = report["messages"]
    to_top = [m for m in messages if m["to"] in ("SF", "DSB")]  # type: ignore[index]
    latencies = sorted(max(0.0, m["delivered"].get(m["to"], float("inf")) - m["sent_at_s"]) for m in to_top)  # type: ignore[index]
    converged_at = report["converged_at_s"]
    return {
        "name": scenario.name,
        "stores": len(scenario.store_nodes),
        "origins_in_a_store": origins,
        "broker_frames_in_per_s": round(report["ip_frames"] / duration, 3),  # type: ignore[operator]
        "broker_frames_out_per_s": round(
            sum(n.get("ip_frames_heard", 0) for n in report["nodes"].values()) / duration,  # type: ignore[attr-defined]
            3,
        ),
        "bridge_frames_per_s": round(report["bridge_frames"] / duration, 3),  # type: ignore[operator]
        "radio_airtime_s": report["radio_airtime_s"],
        "summary_bytes": len(frame),
        "summary_pages": pages,
        "converged": report["converged"],
        "converged_at_s": converged_at,
        "after_broker_back_s": round(converged_at - OUTAGE_FROM_S - OUTAGE_S, 1)
        if index == 1 and kind == "region" and converged_at is not None
        else None,
        "reports_to_top_median_s": round(latencies[len(latencies) // 2], 1) if latencies else None,
        "reports_to_top_worst_s": round(latencies[-1], 1) if latencies else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("regions", type=int, nargs="?", default=10)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    jobs = [("region", i, args.hours, args.regions) for i in range(1, args.regions + 1)]
    jobs.append(("national", 0, args.hours, args.regions))
    with multiprocessing.Pool(args.workers) as pool:
        rows = []
        for row in pool.imap(run, jobs):
            rows.append(row)
            print(json.dumps(row), flush=True)
    regional = [r for r in rows if r["name"] != "national"]
    total = {
        "regions": len(regional),
        "stores": sum(r["stores"] for r in rows),
        "all_converged": all(r["converged"] for r in rows),
        "broker_frames_in_per_s_max": max(r["broker_frames_in_per_s"] for r in regional),
        "broker_frames_out_per_s_max": max(r["broker_frames_out_per_s"] for r in regional),
        "bridge_frames_per_s_max": max(r["bridge_frames_per_s"] for r in regional),
        "county_brokers_in_frames_per_s": round(sum(r["bridge_frames_per_s"] for r in regional), 3),
    }
    print(json.dumps(total))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "total": total}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
