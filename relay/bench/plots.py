"""The plots of ``relay bench all``'s report, as PNG files: size per message for each corpus,
convergence against loss and against mesh size, delivery time per priority, and airtime per
message and idle channel against the number of stores in generated valley regions.

They need matplotlib (the ``bench`` extra); it is imported only when
``make_plots`` runs, and without it ``make_plots`` writes nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any


def size_plot_name(corpus: str) -> str:
    """The file name of a corpus' size plot, as the report links it."""
    return f"size-{_slug(corpus)}.png"


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-").lower()


def matplotlib_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def make_plots(results: dict[str, Any], out: Path) -> list[Path]:
    if not matplotlib_available():
        return []
    mpl: Any = importlib.import_module("matplotlib")
    mpl.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    written = []
    for size in results["size"]:
        path = out / size_plot_name(size["corpus"])
        _plot_size(plt, size, path)
        written.append(path)
    sync = results["sync"]
    _plot_convergence(
        plt,
        sync["loss"]["rows"],
        "loss",
        [r["loss"] * 100 for r in sync["loss"]["rows"]],
        "link loss (%)",
        "Time until every store holds every message: Modum topology",
        out / "convergence-loss.png",
    )
    written.append(out / "convergence-loss.png")
    _plot_convergence(
        plt,
        sync["nodes"]["rows"],
        "nodes",
        [r["nodes"] for r in sync["nodes"]["rows"]],
        "nodes (random geometric mesh)",
        "Time until every store holds every message: mesh size",
        out / "convergence-nodes.png",
    )
    written.append(out / "convergence-nodes.png")
    _plot_priority(plt, sync["priority"], out / "priority.png")
    written.append(out / "priority.png")
    if "scaling" in sync:
        _plot_scaling(plt, sync["scaling"], out / "scaling.png")
        written.append(out / "scaling.png")
    return written


def _plot_size(plt: Any, size: dict[str, Any], path: Path) -> None:
    files = size["files"]
    names = [Path(f["file"]).stem for f in files]
    x = list(range(len(files)))
    w = 0.27
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(7.0, 0.55 * len(files) + 2), 7.0), sharex=True)
    series = [
        ("relay (signed)", "wire_bytes", "airtime_s", "#1f77b4"),
        ("Meshtastic text (unsigned)", "meshtastic_text_bytes", "meshtastic_text_airtime_s", "#ff7f0e"),
        ("LXMF opportunistic", "lxmf_bytes", "lxmf_airtime_s", "#2ca02c"),
    ]
    for i, (label, key_b, key_s, colour) in enumerate(series):
        if all(f[key_b] is None for f in files):
            continue
        xs = [v + (i - 1) * w for v in x]
        top.bar(xs, [f[key_b] or 0 for f in files], w, label=label, color=colour)
        bottom.bar(xs, [f[key_s] or 0 for f in files], w, label=label, color=colour)
    top.axhline(231, color="grey", linestyle="--", linewidth=1, label="one Meshtastic packet (231 B)")
    top.set_ylabel("bytes on the air (application)")
    top.set_title(f"Size and LONG_FAST airtime per message: {size['corpus']}")
    highest = max(max(f[k] or 0 for k in ("wire_bytes", "meshtastic_text_bytes", "lxmf_bytes")) for f in files)
    top.set_ylim(0, max(highest, 231) * 1.3)
    top.legend(fontsize=8, loc="upper left", ncol=4)
    bottom.set_ylabel("airtime at LONG_FAST (s)")
    bottom.set_xticks(x)
    bottom.set_xticklabels(names, rotation=60, fontsize=8)
    for ax in (top, bottom):
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_convergence(
    plt: Any, rows: list[dict[str, Any]], key: str, xs: list[float], xlabel: str, title: str, path: Path
) -> None:
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    med = [r["all_held_s"] if r["all_held_s"] is not None else float("nan") for r in rows]
    top = [r["max_all_held_s"] if r["max_all_held_s"] is not None else float("nan") for r in rows]
    ax.plot(xs, med, "o-", label="relay: all held (median over seeds)", color="#1f77b4")
    ax.plot(xs, top, "v:", label="relay: slowest seed", color="#1f77b4", alpha=0.6)
    ax.plot(xs, [r["lower_bound_s"] for r in rows], "k-.", label="lower bound (hops x airtime, no loss or waiting)")
    for x, r in zip(xs, rows, strict=True):
        if r["converged"] < r["runs"]:
            ax.annotate(f"{r['converged']}/{r['runs']} converged", (x, 0), fontsize=8, color="red")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("seconds")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_priority(plt: Any, prio: dict[str, Any], path: Path) -> None:
    rows = prio["rows"]
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    labels = [r["priority"] for r in rows]
    data = [r.get("times") or [0.0] for r in rows]
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(range(1, len(labels) + 1))
    ax.set_xticklabels(labels)
    for i, r in enumerate(rows, start=1):
        ax.hlines(r["target_s"], i - 0.4, i + 0.4, colors="red", linestyles="--", linewidth=1)
    ax.set_yscale("log")
    ax.set_ylabel("seconds until all 8 stores hold it (log)")
    ax.set_title(f"Delivery time per priority, {prio['backlog']} RUTINE backlog (red: target)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_scaling(plt: Any, scaling: dict[str, Any], path: Path) -> None:
    rows = scaling["rows"]
    xs = [r["stores"] for r in rows]

    def series(key: str, scale: float = 1.0) -> list[float]:
        return [r[key] * scale if r[key] is not None else float("nan") for r in rows]

    def ceiling(values: list[float], target: float) -> float:
        return max([v for v in values if v == v] + [target]) * 1.2  # v == v: not NaN

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.0, 6.0), sharex=True)
    top.plot(xs, series("ratio"), "o-", color="#1f77b4", label="median over seeds")
    top.plot(xs, series("max_ratio"), "v:", color="#1f77b4", alpha=0.6, label="worst seed")
    top.axhline(3.0, color="red", linestyle="--", linewidth=1, label="target: 3x the ideal")
    top.set_ylabel("airtime per message / ideal")
    top.set_ylim(0, ceiling(series("max_ratio"), 3.0))
    top.set_title(
        f"Generated valley regions: one RUTINE every {scaling['every_s'] / 60:g} min for {scaling['hours']:g} h",
        fontsize=10,
    )
    bottom.plot(xs, series("idle_channel", 100), "o-", color="#2ca02c", label="median over seeds")
    bottom.plot(xs, series("max_idle_channel", 100), "v:", color="#2ca02c", alpha=0.6, label="worst seed")
    bottom.axhline(1.0, color="red", linestyle="--", linewidth=1, label="target at 40 stores: 1 %")
    bottom.set_ylabel("idle channel (%)")
    bottom.set_ylim(0, ceiling(series("max_idle_channel", 100), 1.0))
    bottom.set_xlabel("stores (about one radio-only hill for every ten)")
    bottom.set_xticks(xs)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
