"""Readable output of a simulation: the timeline and the closing state of the region."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relay.sim.scenario import Scenario

Echo = Callable[[str], None]


def clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def print_legend(scenario: Scenario, echo: Echo) -> None:
    """The node ids the timeline uses, and whom each stands for, once at the top."""
    width = max(len(n.id) for n in scenario.nodes)
    echo("Noder:")
    for node in scenario.nodes:
        what = " (repeater, lagrer ikke)" if node.radio_only else " (bare IP)" if not node.radio else ""
        what += " (radio og IP)" if node.radio and node.id in scenario.ip else ""
        echo(f"  {node.id:<{width}}  {node.name}{what}")
    echo("")


def timeline_printer(echo: Echo) -> Callable[[float, str], None]:
    def emit(t: float, text: str) -> None:
        echo(f"[{clock(t)}] {text}")

    return emit


def print_summary(report: dict[str, object], scenario: Scenario, echo: Echo) -> None:
    messages: list[dict[str, object]] = report["messages"]  # type: ignore[assignment]
    nodes: dict[str, dict[str, object]] = report["nodes"]  # type: ignore[assignment]
    stores = scenario.store_nodes
    echo("")
    echo(f"Regionens tilstand etter {clock(scenario.duration)}:")
    for m in messages:
        delivered: dict[str, float] = m["delivered"]  # type: ignore[assignment]
        missing = [n for n in stores if n not in delivered]
        last = max(delivered.values()) - float(m["sent_at_s"])  # type: ignore[arg-type]
        where = "alle noder" if not missing else f"mangler hos {', '.join(missing)}"
        head = f"  {m['id']:<9} {m['kind']:<12} {m['priority']:<9} {m['wire_bytes']:>4} B"
        echo(f"{head}  {where} (siste etter {last:.0f} s)")
    echo("")
    echo(f"  {'node':<5} {'sendetid':>9} {'pakker':>7} {'maks time':>10} {'IP-rammer':>10}  avvist")
    for node_id, n in nodes.items():
        rejected = n.get("rejected") or {}
        tag = " (kun radio)" if n.get("radio_only") else " (fiendtlig radio)" if n.get("rogue") else ""
        tag += " (kun IP)" if n.get("no_radio") else ""
        ip = f"{n['ip_frames_sent']:>10}" if "ip_frames_sent" in n else f"{'-':>10}"
        echo(
            f"  {node_id:<5} {n['airtime_s']:>8.1f}s {n['packets_sent']:>7} {float(n['max_hourly_duty']):>9.2%} {ip}  "  # type: ignore[arg-type]
            f"{', '.join(f'{k}: {v}' for k, v in rejected.items()) or '-'}{tag}"  # type: ignore[attr-defined]
        )
    echo("")
    echo(f"Sendetid på radio i alt: {float(report['radio_airtime_s']):.1f} s")  # type: ignore[arg-type]
    if scenario.ip:
        echo(f"IP-rammer gjennom megleren: {report['ip_frames']} ({report['ip_bytes']} B), ingen sendetid")
    print_receipts(report["receipts"], echo)  # type: ignore[arg-type]
    if report["converged"]:
        echo(f"Alle lagre er like (konvergert etter {clock(float(report['converged_at_s']))}).")  # type: ignore[arg-type]
    else:
        echo("IKKE konvergert: lagrene er ulike ved slutten av scenariet.")
    echo(f"Kanalutnyttelse: {float(report['channel_utilization']):.2%}")  # type: ignore[arg-type]


def print_receipts(receipts: dict[str, Any], echo: Echo) -> None:
    """How long the origins took to show each store that holds a message as MOTTATT, and how many they do not."""
    lag = receipts["lag_s"]
    shown = (
        f"median {lag['median']:.0f} s, p90 {lag['p90']:.0f} s, verst {lag['worst']:.0f} s etter at lageret fikk den"
        if lag["median"] is not None
        else "ingen"
    )
    echo(
        f"MOTTATT hos avsenderen: {shown}; {receipts['unconfirmed']} av {receipts['pairs']}"
        " (melding, lager) fortsatt ubekreftet."
    )
