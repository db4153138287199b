"""The crisis log (``relay log``) and the one-command exercise demo (``relay demo``)."""

from __future__ import annotations

import csv
import html
import io
import json
import sys
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

from relay.cli.context import dated, home, local, now, settings, tr, warn_damaged
from relay.cli.fields import label, show_value

if TYPE_CHECKING:
    from relay.edge.home import Home
    from relay.edge.store import Stored

COLUMNS = (
    "opprettet",
    "mottatt",
    "id",
    "type",
    "prioritet",
    "status",
    "fra",
    "til",
    "referanse",
    "verifisering",
    "innhold",
    "kvitteringer",
    "retning",
    "loggført",  # which operator here wrote or acknowledged it (relay desk; kept on the node, not sent)
)


COLUMNS_EN = (
    "created",
    "received",
    "id",
    "kind",
    "priority",
    "status",
    "from",
    "to",
    "reference",
    "verification",
    "content",
    "receipts",
    "direction",
    "logged",
)


def _entries() -> tuple[str, list[dict[str, str]]]:
    h = home()
    lang = settings().lang
    config = h.config()
    roster = h.roster() if h.roster_path.exists() else None
    authors = _authors(h)
    store = h.store()
    try:
        rows = []
        for s in sorted(store.log(), key=lambda s: (s.message.created, s.message.origin, s.message.seq)):
            m = s.message
            receipts = store.receipts(m.origin, m.seq)
            replies = store.replies(m.origin, m.seq)
            entry = next((e for e in roster.entries if e.key_id == s.key_id), None) if roster else None
            verified = tr("verifisert", "verified") + (
                tr(" (nøkkel senere tilbakekalt)", " (key revoked since)") if entry and entry.revoked else ""
            )
            fields = "; ".join(f"{label(m.spec.field(k), lang)}: {show_value(v)}" for k, v in m.fields)
            confirmations = [f"{r.node} {r.level}" for r in receipts]
            confirmations += [
                f"{r.message.origin} {show_value(r.message.get('level') or r.message.get('answer') or '')}".strip()
                for r in replies
            ]
            rows.append(
                {
                    "opprettet": dated(m.created),
                    "mottatt": dated(s.received_at),
                    "id": m.id + (" KONFLIKT" if s.conflict else ""),
                    "type": m.kind.value,
                    "prioritet": m.priority.value,
                    "status": m.status_label,
                    "fra": (f"{m.sender_role}@" if m.sender_role else "") + m.origin,
                    "til": str(m.to),
                    "referanse": str(m.ref) if m.ref else "",
                    "verifisering": verified,
                    "innhold": fields,
                    "kvitteringer": ", ".join(confirmations),
                    "retning": _direction(s),
                    "loggført": "; ".join(authors.get((m.origin, m.seq), [])),
                }
            )
        damaged = len(store.damaged)
    finally:
        store.close()
    warn_damaged(damaged)
    return f"{config.name} ({config.node_id})", rows


def _direction(s: Stored) -> str:
    """«sendt» only for what has left the outbox: the radio (or the broker) took it."""
    if not s.local:
        return tr("mottatt", "received")
    if s.transmitted_at is None:
        return tr("i utboksen", "in the outbox")
    return tr(f"sendt {dated(s.transmitted_at)}", f"sent {dated(s.transmitted_at)}")


def _authors(h: Home) -> dict[tuple[str, int], list[str]]:
    """«kari skrev 29.05 14:00» per message, from the desk's records (none without a desk)."""
    if not (h.path / "desk.db").exists():
        return {}
    records = h.desk()
    try:
        return {
            key: [f"{a.user} {a.action} {local(a.at)}" for a in found] for key, found in records.all_authors().items()
        }
    finally:
        records.close()


@click.command("log")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "html"]), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Skriv til fil.")
@click.option("--json", "as_json", is_flag=True, help="Skriv loggen som JSON.")
def log(fmt: str, output: Path | None, as_json: bool) -> None:
    """Krisesloggen: alle meldinger i tidsrekkefølge, med verifisering og kvitteringer."""
    title, rows = _entries()
    if as_json:
        text = json.dumps({"node": title, "entries": rows}, ensure_ascii=False, indent=2) + "\n"
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(COLUMNS))
        writer.writerow(dict(zip(COLUMNS, COLUMNS if settings().lang != "en" else COLUMNS_EN, strict=True)))
        writer.writerows(rows)
        text = buf.getvalue()
    elif fmt == "html":
        text = render_html(title, rows)
    else:
        text = render_text(title, rows)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(tr(f"Loggen er skrevet til {output}", f"The log is written to {output}"))
    else:
        click.echo(text, nl=False)


def render_text(title: str, rows: list[dict[str, str]]) -> str:
    lines = [
        tr(f"Krisesloggen for {title}, skrevet ut {dated(now())}", f"Crisis log of {title}, printed {dated(now())}"),
        "",
    ]
    for r in rows:
        lines.append(
            f"{r['opprettet']}  {r['id']:<9} {r['type']:<12} {r['prioritet']:<9} {r['status']:<6} "
            f"{r['fra']} -> {r['til']}  ({r['retning']}, {r['verifisering']})"
        )
        if r["innhold"]:
            lines.append(f"    {r['innhold']}")
        if r["kvitteringer"]:
            lines.append(f"    {tr('Kvittert', 'Confirmed')}: {r['kvitteringer']}")
        if r["loggført"]:
            lines.append(f"    {tr('Loggført', 'Logged')}: {r['loggført']}")
    if not rows:
        lines.append(tr("(ingen meldinger)", "(no messages)"))
    return "\n".join(lines) + "\n"


COLGROUP = "".join(
    f'<col class="{c}">'
    for c in ("time", "id", "kind", "priority", "status", "route", "text", "check", "receipts", "who")
)


def render_html(title: str, rows: list[dict[str, str]]) -> str:
    count = (
        tr(f"{len(rows)} melding", f"{len(rows)} message")
        if len(rows) == 1
        else tr(f"{len(rows)} meldinger", f"{len(rows)} messages")
    )
    name = tr("Krisesloggen", "Crisis log")
    printed = tr("skrevet ut", "printed")
    footer = html.escape(f"{name} – {title} · {printed} {dated(now())}").replace('"', "'")
    head = [tr("Opprettet", "Created"), "ID", tr("Type", "Kind"), tr("Prioritet", "Priority"), "Status"]
    head += [tr("Fra → til", "From → to"), tr("Innhold", "Content"), tr("Verifisering", "Verification")]
    head += [tr("Kvitteringer", "Receipts"), tr("Loggført", "Logged")]
    local_times = tr("alle tider lokal tid", "all times local")
    blank = "______________________"
    signatures = tr(
        f"Loggfører: {blank} &nbsp; Kriseleder: {blank}", f"Log keeper: {blank} &nbsp; Crisis manager: {blank}"
    )
    page_of = tr('"Side " counter(page) " av " counter(pages)', '"Page " counter(page) " of " counter(pages)')
    body = []
    for r in rows:
        cells = [
            r["opprettet"],
            r["id"],
            r["type"],
            r["prioritet"],
            r["status"],
            f"{r['fra']} → {r['til']}",
            r["innhold"],
            r["verifisering"],
            r["kvitteringer"],
            r["loggført"],
        ]
        cls = ' class="ovelse"' if r["status"] == "ØVELSE" else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return f"""<!DOCTYPE html>
<html lang="{settings().lang}"><head><meta charset="utf-8"><title>{name} – {html.escape(title)}</title>
<style>
@page {{ size: A4 landscape; margin: 12mm 12mm 16mm 12mm;
  @bottom-left {{ content: "{footer}"; font-size: 8pt; }}
  @bottom-right {{ content: {page_of}; font-size: 8pt; }} }}
body {{ font-family: "DejaVu Sans", Arial, sans-serif; font-size: 9pt; color: #000; }}
h1 {{ font-size: 14pt; margin: 0 0 2mm 0; }}
p.meta {{ margin: 0 0 4mm 0; }}
table {{ border-collapse: collapse; width: 100%; table-layout: fixed; }}
th, td {{ border: 0.3mm solid #444; padding: 1mm 1.5mm; vertical-align: top; text-align: left;
  overflow-wrap: anywhere; word-break: break-word; }}
col.time {{ width: 27mm; }} col.id {{ width: 20mm; }} col.kind {{ width: 24mm; }} col.priority {{ width: 19mm; }}
col.status {{ width: 15mm; }} col.route {{ width: 22mm; }} col.text {{ width: auto; }} col.check {{ width: 20mm; }}
col.receipts {{ width: 22mm; }} col.who {{ width: 22mm; }}
th {{ background: #ddd; }}
tr {{ page-break-inside: avoid; }}
tr.ovelse td:nth-child(5) {{ font-weight: bold; }}
td:nth-child(1), td:nth-child(2) {{ white-space: nowrap; }}
</style></head><body>
<h1>{name} – {html.escape(title)}</h1>
<p class="meta">{printed.capitalize()} {html.escape(dated(now()))} · {count} · {local_times}</p>
<table><colgroup>{COLGROUP}</colgroup><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody></table>
<p class="meta" style="margin-top:8mm">{signatures}</p>
</body></html>
"""


DEMOS = {
    "modum": (
        "Modum-øvelsen: dataangrep i Modum. Modum mister sambandet 0:30-2:30 og sender likevel.",
        "The Modum exercise: a cyber attack on Modum, cut off 0:30-2:30, still sending.",
    ),
    "field-plan": (
        "Feltplanen: rådhusene hører hverandre bare via repeaterne på Gyrihaugen og Norefjell."
        " Modum mister sambandet 0:30-2:30; politikontakten sender en NØD kl 1:50.",
        "The field plan: the town halls hear each other only via the Gyrihaugen and Norefjell"
        " repeaters. Modum cut off 0:30-2:30; the police contact sends a NØD at 1:50.",
    ),
}


@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Skriv simulatorens JSON-rapport.")
@click.option("--pace", type=float, default=None, help="Sekunder mellom linjene (standard: 0,03 på terminal).")
@click.option(
    "--scenario",
    "name",
    type=click.Choice(sorted(DEMOS)),
    default="modum",
    show_default=True,
    help="Øvelsen (modum) eller regionens radioplan med repeatere på fjellet (field-plan).",
)
def demo(as_json: bool, pace: float | None, name: str) -> None:
    """Spill av Modum-øvelsen: åtte noder, Modum avskåret i to timer, så samlet igjen."""
    from relay.sim import scenario as scenario_mod
    from relay.sim.report import print_legend, print_summary, timeline_printer
    from relay.sim.runner import Simulation

    source = resources.files("relay.data.scenarios").joinpath(f"{name}.toml")
    with resources.as_file(source) as path:
        scenario = scenario_mod.load(Path(path))
    delay = pace if pace is not None else (0.03 if sys.stdout.isatty() else 0.0)

    def echo(line: str) -> None:
        click.echo(line)
        if delay:
            time.sleep(delay)

    if not as_json:
        echo(tr(*DEMOS[name]))
        echo("")
        print_legend(scenario, echo)
    report = Simulation(scenario, timeline=None if as_json else timeline_printer(echo)).run()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_summary(report, scenario, echo)


COMMANDS = (log, demo)
