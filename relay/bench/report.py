"""``relay bench all``: every benchmark in one run, written as DIR/report.md, PNG plots and results.json.

Every comparison in the report is a ratio of two figures measured in the same
run: relay against LXMF and plain Meshtastic text on the same texts, the sync
against its ideal on the same simulated mesh.  The plots (``relay.bench.plots``)
need matplotlib (the ``bench`` extra); without it the report says so and has
tables only.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relay.bench import footprint as bench_footprint
from relay.bench import size as bench_size
from relay.bench import sync as bench_sync
from relay.bench.plots import make_plots, size_plot_name

Progress = Callable[[str], None]

TARGET_RATIO_VS_LXMF = 0.5
TARGET_ONE_PACKET = 0.9
TARGET_IDLE = 0.01
TARGET_LOSS = 0.4
TARGET_SCALE_RATIO = 3.0  # airtime per message against the ideal, at every size (issue 20)
TARGET_SCALE_IDLE = 0.01  # idle channel ...
TARGET_SCALE_IDLE_AT = 40  # ... at this many stores


@dataclass(frozen=True)
class Corpus:
    name: str
    texts: list[tuple[str, str]]


@dataclass(frozen=True)
class BenchConfig:
    corpora: list[Corpus]
    sync: bench_sync.SyncBenchConfig = field(default_factory=bench_sync.SyncBenchConfig)
    footprint: bench_footprint.FootprintConfig = field(default_factory=bench_footprint.FootprintConfig)
    lxmf: bool | None = None  # None: when installed


def quick(corpora: list[Corpus]) -> BenchConfig:
    """A configuration that runs in seconds: for tests and a smoke check, not for figures."""
    return BenchConfig(corpora, bench_sync.QUICK, bench_footprint.QUICK)


def default_corpora(folders: list[Path]) -> list[Corpus]:
    """The shipped sample messages, then each folder given."""
    out = [Corpus("relay/data/messages", bench_size.shipped_messages())]
    for folder in folders:
        out.append(Corpus(str(folder), bench_size.files_in([folder])))
    return out


# --- running ---------------------------------------------------------------------------------


def run(cfg: BenchConfig, progress: Progress = lambda s: None) -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {"meta": _meta(), "elapsed_s": {}}
    t = time.perf_counter()
    progress("size ...")
    results["size"] = [
        {"corpus": c.name, **bench_size.size_report(c.texts, lxmf=cfg.lxmf)} for c in cfg.corpora if c.texts
    ]
    results["elapsed_s"]["size"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    results["sync"] = bench_sync.run_all(cfg.sync, progress)
    results["elapsed_s"]["sync"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    results["footprint"] = bench_footprint.run_all(cfg.footprint, progress)
    results["elapsed_s"]["footprint"] = round(time.perf_counter() - t, 1)
    results["elapsed_s"]["total"] = round(time.perf_counter() - started, 1)
    results["targets"] = targets(results)
    return results


def _meta() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    def ver(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    commit = None
    try:
        root = Path(__file__).resolve().parents[2]  # the checkout: relay/bench/report.py
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if done.returncode == 0:
            dirty = subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
            commit = done.stdout.strip() + (" (with local changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "relay": ver("relay"),
        "commit": commit,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "lxmf": ver("lxmf"),
        "rns": ver("rns"),
        "matplotlib": ver("matplotlib"),
    }


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured figure and whether it is met."""
    rows: list[dict[str, Any]] = []
    for size in results["size"]:
        s = size["summary"]
        ratio = s["median_ratio_vs_lxmf"]
        rows.append(
            {
                "target": f"median wire bytes <= {TARGET_RATIO_VS_LXMF}x LXMF on-air bytes ({size['corpus']})",
                "measured": f"{ratio:.3f}x" if ratio is not None else "not measured: " + s["lxmf"],
                "met": None if ratio is None else ratio <= TARGET_RATIO_VS_LXMF,
            }
        )
        rows.append(
            {
                "target": f">= {TARGET_ONE_PACKET:.0%} of the corpus in one packet ({size['corpus']})",
                "measured": f"{s['one_packet_fraction']:.0%} of {s['files']}",
                "met": s["one_packet_fraction"] >= TARGET_ONE_PACKET,
            }
        )
    idle = results["sync"]["idle"]
    rows.append(
        {
            "target": f"idle utilization <= {TARGET_IDLE:.0%}, {idle['nodes']} nodes, LONG_FAST",
            "measured": f"{idle['utilization']:.2%} (median of {len(idle['runs'])}, {idle['hours']:g} h)",
            "met": idle["utilization"] is not None and idle["utilization"] <= TARGET_IDLE,
        }
    )
    at = [r for r in results["sync"]["loss"]["rows"] if r["loss"] == TARGET_LOSS]
    if at:
        row = at[0]
        rows.append(
            {
                "target": f"convergence at {TARGET_LOSS:.0%} loss",
                "measured": f"{row['converged']} of {row['runs']} runs converged, "
                f"all held after {_s(row['all_held_s'])} (median)",
                "met": row["converged"] == row["runs"],
            }
        )
    if "scaling" in results["sync"]:
        rows += _scaling_targets(results["sync"]["scaling"])
    return rows


def _scaling_targets(scaling: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 20's scaling targets, on the medians over seeds of each size."""
    rows = scaling["rows"]
    ratios = [r["ratio"] for r in rows]
    measured = ", ".join(f"{r['stores']}: {_x(r['ratio'], 1)}" for r in rows)
    out = [
        {
            "target": f"generated regions: airtime per message <= {TARGET_SCALE_RATIO:g}x the ideal at every size",
            "measured": f"{measured} ({_over_seeds(scaling)}, {scaling['hours']:g} h)",
            "met": None if not rows or None in ratios else all(x <= TARGET_SCALE_RATIO for x in ratios),
        }
    ]
    at = [r for r in rows if r["stores"] == TARGET_SCALE_IDLE_AT]
    idle = at[0]["idle_channel"] if at else None
    out.append(
        {
            "target": f"generated regions: idle channel <= {TARGET_SCALE_IDLE:.0%} at {TARGET_SCALE_IDLE_AT} stores",
            "measured": f"{_pct(idle)} ({_over_seeds(scaling)})"
            if at
            else f"not measured: no region of {TARGET_SCALE_IDLE_AT} stores in this run",
            "met": None if idle is None else idle <= TARGET_SCALE_IDLE,
        }
    )
    return out


def _over_seeds(scaling: dict[str, Any]) -> str:
    seeds = len(scaling["seeds"])
    return "one seed" if seeds == 1 else f"median of {seeds} seeds"


# --- writing ----------------------------------------------------------------------------------


def write(results: dict[str, Any], out: Path) -> list[Path]:
    """DIR/report.md, DIR/results.json and the plots; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    plots = make_plots(results, out)
    report = out / "report.md"
    report.write_text(render(results, [p.name for p in plots]), encoding="utf-8")
    data = out / "results.json"
    data.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    written += [report, data, *plots]
    return written


def _s(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f} s"


def _x(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}x"


def _pct(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}%}"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return [*lines, ""]


def render(results: dict[str, Any], plots: list[str]) -> str:
    meta = results["meta"]
    el = results["elapsed_s"]
    lines = [
        "# relay benchmarks",
        "",
        f"Generated by `relay bench all` on {meta['date']}: relay {meta['relay']}"
        + (f", commit {meta['commit']}" if meta["commit"] else "")
        + f"; Python {meta['python']}, {meta['machine']}; lxmf {meta['lxmf'] or '-'}, rns {meta['rns'] or '-'}.",
        f"Run time {el['total']:.0f} s (size {el['size']:.0f} s, sync {el['sync']:.0f} s, "
        f"footprint {el['footprint']:.0f} s).  Every ratio below compares two figures measured in this run.",
        "",
        "## Targets",
        "",
    ]
    lines += _table(
        ["target", "measured", "met"],
        [
            [t["target"], t["measured"], {True: "yes", False: "**no**", None: "not measured"}[t["met"]]]
            for t in results["targets"]
        ],
    )
    lines += _size_section(results, plots)
    lines += _sync_section(results, plots)
    lines += _footprint_section(results)
    if not plots:
        lines += ["(No plots: matplotlib is not installed; `pip install 'relay[bench]'`.)", ""]
    return "\n".join(lines)


def _size_section(results: dict[str, Any], plots: list[str]) -> list[str]:
    lines = [
        "## 1. Size and airtime per message",
        "",
        "relay: the text as a signed MELDING (wire bytes; one Meshtastic packet holds 231).  Meshtastic text: "
        "what the Meshtastic app sends, the UTF-8 text in chunks of at most 200 bytes, unsigned.  LXMF: the "
        "opportunistic single-packet form on an RNode: the RNS packet (19-byte header, 32-byte ephemeral key, "
        "IV, AES-CBC padded to 16, HMAC) in LoRa frames of at most 255 bytes with a 1-byte RNode header each; "
        "method says what LXMF itself would do (above 287 bytes of content it sets up a link first, so the "
        "single-packet form is a lower bound).  Airtime for all three at LONG_FAST.",
        "",
    ]
    for size in results["size"]:
        s = size["summary"]
        lines += [f"### Corpus `{size['corpus']}` ({s['files']} files)", ""]
        rows = []
        for f in size["files"]:
            lx = f["lxmf_bytes"]
            rows.append(
                [
                    Path(f["file"]).name,
                    str(f["text_bytes"]),
                    str(f["wire_bytes"]),
                    str(f["packets"]),
                    f"{f['airtime_s']:.2f}",
                    f"{f['meshtastic_text_bytes']} / {f['meshtastic_text_packets']}",
                    f"{f['meshtastic_text_airtime_s']:.2f}",
                    f"{lx} / {f['lxmf_frames']}" if lx else "-",
                    f"{f['lxmf_airtime_s']:.2f}" if f["lxmf_airtime_s"] else "-",
                    f["lxmf_method"] or "-",
                    _x(f["wire_bytes"] / lx) if lx else "-",
                ]
            )
        lines += _table(
            [
                "file",
                "text B",
                "relay B",
                "pkts",
                "relay s",
                "Mesh. text B / pkts",
                "Mesh. s",
                "LXMF B / frames",
                "LXMF s",
                "LXMF method",
                "relay/LXMF",
            ],
            rows,
        )
        lines += [
            f"One packet: **{s['one_packet_fraction']:.0%}**.  Median wire/text {s['median_wire_over_text']:.3f}.  "
            f"Median relay/LXMF bytes **{_x(s['median_ratio_vs_lxmf'], 3)}**, airtime "
            f"{_x(s['median_airtime_ratio_vs_lxmf'], 3)}.  Median relay/Meshtastic text bytes "
            f"{_x(s['median_ratio_vs_meshtastic_text'], 3)}, airtime "
            f"{_x(s['median_airtime_ratio_vs_meshtastic_text'], 3)} (relay signs every message, Meshtastic text "
            f"is unsigned).  LXMF: {s['lxmf']}.",
            "",
        ]
        lines += _image(plots, size_plot_name(size["corpus"]), f"Size and airtime per file, {size['corpus']}")
    return lines


def _sync_section(results: dict[str, Any], plots: list[str]) -> list[str]:
    sync = results["sync"]
    lines = ["## 2. Sync (virtual-time simulator, real SyncNodes and stores)", "", *_idle_lines(sync["idle"])]
    if "repair" in sync:
        lines += _repair_lines(sync["repair"])
        lines += _one_message_lines(sync["repair"]["one_message"])
    lines += _loss_lines(sync["loss"], plots)
    lines += _nodes_lines(sync["nodes"], plots)
    lines += _priority_lines(sync["priority"], plots)
    if "scaling" in sync:
        lines += _scaling_lines(sync["scaling"], plots)
    return lines


def _image(plots: list[str], name: str, alt: str) -> list[str]:
    """The Markdown image of plot ``name``, when it was drawn."""
    return [f"![{alt}]({name})", ""] if name in plots else []


def _idle_lines(idle: dict[str, Any]) -> list[str]:
    return [
        f"**Idle channel utilization**: {_pct(idle['utilization'])} (median over seeds, max "
        f"{_pct(idle['max'])}), the Modum region ({idle['nodes']} store nodes and a repeater, LONG_FAST), "
        f"{idle['hours']:g} h with one message.",
        "",
    ]


def _repair_lines(r: dict[str, Any]) -> list[str]:
    return [
        "**Repair after Modum's two-hour partition** (median over seeds, every frame on the air from the heal "
        f"until the stores agree): {r['missing_wire_bytes']:.0f} wire bytes were missing somewhere; the ideal (one "
        "transmission per message Modum missed, two per message of Modum's) is "
        f"{r['ideal_bytes']:.0f} bytes on air.  The repair put {r['on_air_bytes']:.0f} bytes on the air "
        f"(data {r['data_bytes']:.0f}, summaries and requests {r['control_bytes']:.0f}): "
        f"**{_x(r['ratio_vs_ideal'])}** the ideal in bytes, {_x(r['airtime_ratio_vs_ideal'])} in airtime "
        f"(data frames alone {_x(r['data_ratio_vs_ideal'])}, {_x(r['data_airtime_ratio_vs_ideal'])}); "
        f"{_x(r['ratio_vs_missing'])} the missing wire bytes.  The messages Modum itself missed "
        f"({r['mod_missed_wire_bytes']:.0f} wire bytes) took {r['mod_missed_data_bytes']:.0f} bytes of data "
        f"frames, **{_x(r['mod_missed_ratio'])}** ({_x(r['mod_missed_airtime_ratio'])} in airtime against one "
        f"packet each: answers share packets).  Against the loss floor (an omniscient scheduler over the same "
        f"lossy links, one message a packet, no control frames, no collisions: {_s(r['floor_airtime_s'])} of "
        f"airtime) the repair took {_x(r['airtime_ratio_vs_floor'])} in all, "
        f"{_x(r['data_airtime_ratio_vs_floor'])} in data frames, and Modum's part "
        f"{_x(r['mod_missed_airtime_ratio_vs_floor'])}.  Converged {_s(r['converged_after_heal_s'])} after the "
        f"heal (fresh messages go out with hop limit {r['relay_hops']}).",
        "",
    ]


def _one_message_lines(one: dict[str, Any]) -> list[str]:
    return [
        f"**One message to all 8** (MOD, after an idle hour): data airtime {_s(one['data_airtime_s'], 2)}, all "
        f"frames {_s(one['all_airtime_s'], 2)}, ideal relay tree {_s(one['ideal_airtime_s'], 2)}: "
        f"{_x(one['data_ratio_vs_ideal'])} (data), {_x(one['all_ratio_vs_ideal'])} (all); all 8 hold it after "
        f"{_s(one['all_hold_after_s'])}.",
        "",
    ]


def _loss_lines(loss: dict[str, Any], plots: list[str]) -> list[str]:
    lines = [
        f"**Time to converge against loss**: the Modum topology with every link at the given loss, "
        f"{loss['messages']} messages from different nodes 10 s apart, {loss['cap_s'] / 3600:g} h simulated per run, "
        f"fresh messages with hop limit {loss['relay_hops']} as the scenario sets it.  "
        "'all held' runs from the first send until every store holds every message; the lower bound is "
        "the farthest store's hop count times one packet's airtime (no loss, no waiting, no contention).",
        "",
    ]
    lines += _table(
        ["loss", "converged", "all held (median)", "max", "median per message", "lower bound", "vs bound", "util."],
        [
            [
                f"{r['loss']:.0%}",
                f"{r['converged']}/{r['runs']}",
                _s(r["all_held_s"]),
                _s(r["max_all_held_s"]),
                _s(r["median_latency_s"]),
                _s(r["lower_bound_s"]),
                _x(r["ratio_vs_bound"], 1),
                _pct(r["utilization"]),
            ]
            for r in loss["rows"]
        ],
    )
    return lines + _image(plots, "convergence-loss.png", "Convergence against loss")


def _nodes_lines(nodes: dict[str, Any], plots: list[str]) -> list[str]:
    lines = [
        f"**Time to converge against the number of nodes**: connected random geometric meshes (mean degree about "
        f"5, link loss 5-30 % by distance, no repeaters), {nodes['messages']} messages, "
        f"{nodes['cap_s'] / 3600:g} h per run, fresh messages with hop limit {nodes['relay_hops']} (the stores relay).",
        "",
    ]
    lines += _table(
        ["nodes", "diameter", "converged", "all held (median)", "max", "lower bound", "vs bound", "util.", "compute"],
        [
            [
                str(r["nodes"]),
                f"{r['diameter']:.0f} hops",
                f"{r['converged']}/{r['runs']}",
                _s(r["all_held_s"]),
                _s(r["max_all_held_s"]),
                _s(r["lower_bound_s"]),
                _x(r["ratio_vs_bound"], 1),
                _pct(r["utilization"]),
                _s(r["wall_s"], 1),
            ]
            for r in nodes["rows"]
        ],
    )
    return lines + _image(plots, "convergence-nodes.png", "Convergence against the number of nodes")


def _priority_lines(prio: dict[str, Any], plots: list[str]) -> list[str]:
    lines = [
        f"**Delivery time per priority under load**: the Modum topology, a backlog of {prio['backlog']} RUTINE "
        "messages from RIN, HOL and SIG, with two NØD, two HASTER and two PRIORITET sent into it a minute later; "
        "time from send until all 8 stores hold the message, pooled over seeds.",
        "",
    ]
    lines += _table(
        ["priority", "delivered", "median", "max", "target", "within target"],
        [
            [
                r["priority"],
                f"{r['delivered']}/{r['messages']}",
                _s(r["median_s"]),
                _s(r["max_s"]),
                _s(r["target_s"]),
                f"{r['within_target']}/{r['messages']}",
            ]
            for r in prio["rows"]
        ],
    )
    return lines + _image(plots, "priority.png", "Delivery time per priority")


def _scaling_lines(scaling: dict[str, Any], plots: list[str]) -> list[str]:
    lines = [
        "### Scaling",
        "",
        "Generated regions of town halls in valleys of 2-5 stores that hear each other on the ground, each "
        "valley under a radio-only hill (about one hill for every ten stores, at least two; hill-to-hill links "
        "a random tree; some valleys also reach a second hill), link losses 3-20 %, the region fixed by its "
        f"seed.  One RUTINE every {scaling['every_s'] / 60:g} minutes from a random store for "
        f"{scaling['hours']:g} h, and a twin run of the same region without messages.  Airtime per message: every "
        "radio's airtime (the hills' relays, summaries and requests included) less the twin's, per message; its "
        "ideal is the message once from its origin and once from each relay of a minimal broadcast tree.  Idle "
        "channel: the twin's channel utilization.  "
        + ("Seed " if len(scaling["seeds"]) == 1 else "Medians over seeds ")
        + ", ".join(str(s) for s in scaling["seeds"])
        + ".",
        "",
    ]
    lines += _table(
        [
            "stores",
            "hills",
            "idle channel",
            "(worst seed)",
            "airtime per message",
            "ideal",
            "vs ideal",
            "(worst seed)",
            "channel",
            "delivered to all",
            "compute",
        ],
        [
            [
                str(r["stores"]),
                f"{r['hills']:g}" if r["hills"] is not None else "-",
                _pct(r["idle_channel"]),
                _pct(r["max_idle_channel"]),
                _s(r["per_message_s"], 1),
                _s(r["ideal_s"], 1),
                _x(r["ratio"], 1),
                _x(r["max_ratio"], 1),
                _pct(r["channel"]),
                f"{r['delivered']}/{r['messages']}",
                _s(r["wall_s"], 0),
            ]
            for r in scaling["rows"]
        ],
    )
    return lines + _image(plots, "scaling.png", "Airtime per message and idle channel against the number of stores")


def _footprint_section(results: dict[str, Any]) -> list[str]:
    fp = results["footprint"]
    lines = ["## 3. Footprint", ""]
    cli = fp.get("cli", {})
    if "rows" in cli:
        lines += ["**CLI latency** (wall clock, process start to exit, a lab home):", ""]
        lines += _table(
            ["command", "median", "runs", "timed by"],
            [[r["command"], _s(r["median_s"], 3), str(r["runs"]), r["tool"]] for r in cli["rows"]],
        )
    else:
        lines += [f"CLI latency: not measured ({cli.get('reason')}).", ""]
    store = fp.get("store", {})
    if "rows" in store:
        lines += [
            f"**Store queries with {store['messages']:,} messages** (8 origins, half text messages, half "
            f"receipts; {store['db_bytes'] / 1e6:.0f} MB; built in {store['build_s']:.0f} s):",
            "",
        ]
        lines += _table(
            ["query", "what", "median", "repeats"],
            [[r["query"], r["what"], _s(r["median_s"], 4), str(r["repeats"])] for r in store["rows"]],
        )
    else:
        lines += [f"Store queries: not measured ({store.get('reason')}).", ""]
    daemon = fp.get("daemon", {})
    if daemon.get("measured"):
        rows = []
        for name, idle in daemon["idle"].items():
            busy = daemon["syncing"][name]
            rows.append(
                [
                    name,
                    f"{idle['rss_mb']:.0f} MB",
                    f"{idle['cpu_percent']:.2f} %",
                    f"{busy['rss_mb']:.0f} MB",
                    f"{busy['cpu_percent']:.2f} %",
                    f"{busy['cpu_s']:.2f} s",
                ]
            )
        lines += [
            f"**Daemon**: two `relay daemon`s on `relay hw-sim` loopback devices ({daemon['preset']}, real time); "
            f"idle for {daemon['idle_s']:g} s, then RIN sends {daemon['batch']} messages and HOL stores them "
            f"({daemon['held']}/{daemon['batch']} after {daemon['sync_wall_s']:.0f} s).",
            "",
        ]
        lines += _table(["process", "RSS idle", "CPU idle", "RSS syncing", "CPU syncing", "CPU time syncing"], rows)
    else:
        lines += [f"Daemon RSS and CPU: not measured ({daemon.get('reason')}).", ""]
    return lines


def main_config(corpora: list[Corpus], quick_run: bool, workers: int, store_messages: int | None) -> BenchConfig:
    cfg = quick(corpora) if quick_run else BenchConfig(corpora)
    sync = replace(cfg.sync, workers=workers) if not quick_run else cfg.sync
    footprint = replace(cfg.footprint, workers=workers) if not quick_run else cfg.footprint
    if store_messages is not None:
        footprint = replace(footprint, store_messages=store_messages)
    return replace(cfg, sync=sync, footprint=footprint)


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
