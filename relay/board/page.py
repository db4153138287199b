"""The board's HTML: a ``Picture`` as one page, in Norwegian.  Pure: no I/O.

Every text from a message is escaped (the texts come from other
municipalities' operators); colour never carries meaning alone (each status
cell says its level in words); nothing loads from outside the Pi.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime, timedelta, tzinfo
from html import escape
from typing import Any

from relay.core.confirm import waiting
from relay.core.model import Function, Level
from relay.core.picture import Alert, Assistance, Cell, Coverage, Picture

LEVEL_CLASS = {Level.GRONN: "ok", Level.GUL: "warn", Level.ROD: "bad", Level.UKJENT: "unknown"}
COVERAGE_CLASS = {Coverage.OPEN: "bad", Coverage.PARTLY: "warn", Coverage.COVERED: "ok", Coverage.CLOSED: "unknown"}

STYLE = """
:root { --ok:#0b6e2e; --warn:#7a5200; --bad:#a50f15; --unknown:#4a4a4a; --ink:#111; --paper:#fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.4 system-ui, sans-serif; color: var(--ink); background: var(--paper); }
header { display: flex; flex-wrap: wrap; gap: .3em 1em; align-items: baseline; padding: .5em 1em;
  background: #1b2a3a; color: #fff; }
header h1 { font-size: 1.3em; margin: 0; overflow-wrap: anywhere; }
header button { margin-left: auto; font: inherit; padding: .1em .6em; background: #fff; color: #111;
  border: 2px solid #fff; border-radius: 3px; cursor: pointer; }
.mode { font-weight: 700; padding: .1em .6em; border: 3px solid #fff; letter-spacing: .1em; }
.mode.exercise { background: #7a5200; } .mode.real { background: #a50f15; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(28em, 100%), 1fr)); gap: .8em; padding: .8em; }
section { overflow-x: auto; }
section { border: 1px solid #999; padding: .5em 1em; }
.wide { grid-column: 1 / -1; }
h2 { font-size: 1.1em; margin: .2em 0 .5em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: .2em .4em; text-align: left; vertical-align: top; }
.ok { color: #fff; background: var(--ok); } .warn { color: #fff; background: var(--warn); }
.bad { color: #fff; background: var(--bad); } .unknown { color: #fff; background: var(--unknown); }
td.silent { color: #4a4a4a; font-style: italic; }
.stale { outline: 3px dashed var(--warn); } .flag { font-weight: 700; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.strip { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(24em, 100%), 1fr)); gap: .3em; }
.alert { border: 3px solid var(--bad); border-left-width: 10px; padding: .1em .5em; background: #fde8e8;
  font-size: .9em; line-height: 1.3; overflow: hidden; }
.alert.haster { background: #fff4e0; border-color: var(--warn); }
.alert h3 { display: inline; font-size: 1em; margin: 0; } .alert .waits { font-weight: 600; }
.alert .what { display: block; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.strip.flash .alert.nod { animation: flash 1s steps(2, jump-none) 10; }
@keyframes flash { 50% { background: #a50f15; color: #fff; } }
small { color: #333; } header small { color: #e8eef5; }
td.ok small, td.warn small, td.bad small, td.unknown small { color: #fff; }
a:focus, [tabindex]:focus, button:focus { outline: 3px solid #1b5fbf; outline-offset: 1px; }
@media (max-width: 600px) { body { font-size: 15px; } main { padding: .4em; } section { padding: .3em .4em; }
  table { table-layout: fixed; } td, th { overflow-wrap: anywhere; }
  table.matrix { font-size: .62em; } table.matrix th:first-child { width: 4.2em; }
  table.matrix td, table.matrix th { padding: .1em .15em; } table.matrix td small { display: none; }
  table.stack, table.stack tbody, table.stack tr, table.stack td, table.stack th { display: block; }
  table.stack thead { display: none; } table.stack tr { border-top: 2px solid #999; }
  table.stack td, table.stack th { border: 0; } }
@media print { @page { size: A4 landscape; margin: 1cm; } body { font-size: 9pt; }
  th, td { padding: .05em .3em; } h2 { margin: .1em 0 .2em; } section { padding: .2em .5em; }
  .alert .what { display: none; } table.matrix td br { display: none; } table.matrix td b { margin-right: .3em; }
  header { background: #fff; color: #000; } header button { display: none; }
  header small { color: #333; } .mode.exercise, .mode.real { border-color: #000; color: #000; background: #fff; }
  main { display: block; } section, .strip { break-inside: avoid; margin-bottom: .4em; }
  .detail { break-before: page; } }
"""

_LANG: ContextVar[str] = ContextVar("board_lang", default="nb")


def choose_lang(forced: str | None, accept_language: str) -> str:
    """``forced`` (--lang) if given, else the browser's first choice of Norwegian or English."""
    if forced:
        return "en" if forced.startswith("en") else "nb"
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith(("nb", "no", "nn")):
            return "nb"
    return "nb"


def _t(nb: str, en: str) -> str:
    """Interface text in the language the page is being drawn in (``page``'s ``lang``)."""
    return en if _LANG.get() == "en" else nb


def _script() -> str:
    return SCRIPT.replace("'Lyd: av'", repr(_t("Lyd: av", "Sound: off"))).replace(
        "'Lyd: på'", repr(_t("Lyd: på", "Sound: on"))
    )


SCRIPT = """
(function () {
  'use strict';
  var board = document.getElementById('board');
  var button = document.getElementById('sound');
  var muted = window.localStorage && localStorage.getItem('relay-mute') === '1';
  var context = null;
  function nod() {
    var strip = document.getElementById('strip');
    return strip && strip.dataset.nod ? strip.dataset.nod.split(' ') : [];
  }
  function label() {
    button.textContent = muted ? 'Lyd: av' : 'Lyd: på';
    button.setAttribute('aria-pressed', muted ? 'true' : 'false');
  }
  function audio() {
    if (!context) { context = new (window.AudioContext || window.webkitAudioContext)(); }
    return context;
  }
  function alarm() {  // three falling tones, made here: nothing is loaded
    document.body.dataset.alarms = String(Number(document.body.dataset.alarms || 0) + 1);
    if (muted) { return; }
    var c = audio(), t = c.currentTime;
    c.resume();
    [880, 660, 880].forEach(function (hz, i) {
      var osc = c.createOscillator(), gain = c.createGain(), at = t + i * 0.45;
      osc.type = 'square'; osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.4);
      osc.connect(gain); gain.connect(c.destination);
      osc.start(at); osc.stop(at + 0.42);
    });
  }
  if (button) {
    label();
    button.addEventListener('click', function () {
      muted = !muted;
      if (window.localStorage) { localStorage.setItem('relay-mute', muted ? '1' : '0'); }
      if (!muted) { audio().resume(); }
      label();
    });
  }
  var seen = nod();
  function listen() {
    var source = new EventSource('events' + location.search);
    source.addEventListener('update', refresh);
    source.addEventListener('error', function () {
      // Refused (429: too many streams, 503: busy) a stream is closed for good: try again later.
      if (source.readyState === EventSource.CLOSED) { setTimeout(function () { refresh(); listen(); }, 30000); }
    });
  }
  listen();
  function refresh() {
    fetch('fragment' + location.search).then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        board.innerHTML = html;
        var now = nod(), fresh = now.filter(function (id) { return seen.indexOf(id) < 0; });
        seen = now;
        var strip = document.getElementById('strip');
        if (fresh.length && strip) {
          strip.classList.add('flash');
          setTimeout(function () { strip.classList.remove('flash'); }, 10000);
          alarm();
        }
      });
  }
})();
"""


def page(
    picture: Picture,
    title: str,
    zone: tzinfo,
    live: bool = True,
    printed: bool = False,
    links: Mapping[str, Any] | None = None,
    lang: str = "nb",
) -> str:
    """The whole page: a live board, or the print view ("situasjonsbilde kl HH:MM"), in ``lang``."""
    token = _LANG.set(lang)
    try:
        return _page(picture, title, zone, live, printed, links)
    finally:
        _LANG.reset(token)


def _page(
    picture: Picture, title: str, zone: tzinfo, live: bool, printed: bool, links: Mapping[str, Any] | None
) -> str:
    mode = _mode(picture)
    word = _t("Situasjonsbilde", "Situation picture")
    heading = f"{word} {_t('kl', 'at')} {_hm(picture.at, zone)}" if printed else word
    script = f"<script>{_script()}</script>" if live and not printed else ""
    sound = f'<button id="sound" type="button" aria-pressed="false">{_t("Lyd: på", "Sound: on")}</button>'
    sound = sound if script else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_LANG.get()}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(heading)} – {escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><header><h1>{escape(heading)} – {escape(title)}</h1>{mode}"
        f"<small>{_t('oppdatert', 'updated')} {_when(picture.at, zone)}</small>{sound}</header>"
        f'<main id="board">{_fragment(picture, zone, links)}</main>{script}</body></html>\n'
    )


def fragment(picture: Picture, zone: tzinfo, links: Mapping[str, Any] | None = None, lang: str = "nb") -> str:
    """What a live update replaces: everything below the header, in ``lang``."""
    token = _LANG.set(lang)
    try:
        return _fragment(picture, zone, links)
    finally:
        _LANG.reset(token)


def _fragment(picture: Picture, zone: tzinfo, links: Mapping[str, Any] | None) -> str:
    parts = [_alerts(picture.alerts, picture.at, zone), _matrix(picture, zone), _sitreps(picture, zone)]
    parts += [_assistance(picture.assistance, zone), _rumours(picture, zone), _decisions(picture, zone)]
    if links is not None:
        parts.append(_links(links))
    if picture.conflicts:
        ids = ", ".join(escape(i) for i in picture.conflicts)
        parts.append(
            f'<section class="wide"><h2>{_t("Konflikt", "Conflict")}</h2><p class="flag">'
            + _t(
                f"To ulike meldinger med samme nummer: {ids}. Ingen av dem vises som fakta.",
                f"Two different messages with one number: {ids}. Neither is shown as fact.",
            )
            + "</p></section>"
        )
    return "".join(parts)


def _mode(picture: Picture) -> str:
    if picture.exercise:
        return '<span class="mode exercise">ØVELSE</span>'
    return '<span class="mode real">REELL</span>'


def _alerts(alerts: tuple[Alert, ...], now: datetime, zone: tzinfo) -> str:
    """NØD and HASTER as one compact strip: kind, sender, age, and what each one waits for."""
    waiting = [a for a in alerts if not a.acknowledged]
    if not waiting:
        return ""
    nod = " ".join(a.source for a in waiting if a.priority.value == "NØD")
    items = "".join(_alert(a, now, zone) for a in waiting)
    return (
        f'<div class="strip wide" id="strip" data-nod="{escape(nod)}">'
        f'<h2 class="sr">{_t("NØD og HASTER som venter", "NØD and HASTER waiting")} ({len(waiting)})</h2>{items}</div>'
    )


def _alert(alert: Alert, now: datetime, zone: tzinfo) -> str:
    kind = "nod" if alert.priority.value == "NØD" else "haster"
    return (
        f'<section class="alert {kind}" role="alert" tabindex="0">'
        f"<h3>{escape(alert.priority.value)}: {escape(alert.source)} {_t('fra', 'from')} {escape(alert.node)}</h3> "
        f"<span>{escape(alert.kind.value)}, {_age(now - alert.at)} ({_hm(alert.at, zone)})</span> "
        f'<span class="waits">{escape(_waits(alert, zone))}</span> '
        f'<span class="what">{escape(_short(alert.text, 90))}</span></section>'
    )


def _waits(alert: Alert, zone: tzinfo) -> str:
    """What the alert waits for: to be received (and when each was last heard), or to be read."""
    unreceived, unread = waiting(alert.confirmations)
    said = []
    if unreceived:
        heard = ", ".join(f"{c.node} ({_heard(c.last_heard, zone)})" for c in unreceived)
        said.append(_t("Venter på mottak: ", "Waiting to be received: ") + heard)
    if unread:
        said.append(_t("Venter på lest: ", "Waiting to be read: ") + ", ".join(c.node for c in unread))
    return ". ".join(said) or _t("Venter på kvittering", "Waiting for a receipt")


def _heard(at: datetime | None, zone: tzinfo) -> str:
    return _t(f"sist hørt {_hm(at, zone)}", f"last heard {_hm(at, zone)}") if at else _t("aldri hørt", "never heard")


def _age(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 120:
        return _t(f"{minutes} min siden", f"{minutes} min ago")
    return _t(f"{minutes // 60} t siden", f"{minutes // 60} h ago")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _matrix(picture: Picture, zone: tzinfo) -> str:
    """One row per node of the roster; a node that never sent a STATUS reads «ikke rapportert»."""
    functions = picture.functions or tuple(Function)
    head = "".join(f'<th scope="col">{escape(f.value)}</th>' for f in functions)
    rows = []
    for node in picture.nodes:
        if any(key[0] == node for key in picture.cells):
            cells = "".join(_cell(picture.cells.get((node, f)), zone) for f in functions)
        else:
            cells = f'<td colspan="{len(functions)}" class="silent">{_t("ikke rapportert", "not reported")}</td>'
        rows.append(f'<tr><th scope="row">{escape(node)}</th>{cells}</tr>')
    empty = "" if picture.cells else f"<p>{_t('Ingen statusmeldinger ennå.', 'No status messages yet.')}</p>"
    return (
        f'<section class="wide" id="matrix"><h2>{_t("Kritiske funksjoner", "Critical functions")}</h2>'
        f'{empty}<table class="matrix"><thead><tr><th scope="col">{_t("Kommune", "Municipality")}</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _cell(cell: Cell | None, zone: tzinfo) -> str:
    if cell is None:
        return "<td>–</td>"
    classes = LEVEL_CLASS[cell.level] + (" stale" if cell.stale else "")
    note = f"<br>{escape(cell.note)}" if cell.note else ""
    flags = _t(" (gammel)", " (old)") if cell.stale else ""
    flags += _t(" KONFLIKT", " CONFLICT") if cell.conflict else ""
    when = f"<small>{_hm(cell.at, zone)}{flags}</small>"
    return f'<td class="{classes}"><b>{escape(cell.level.value)}</b>{note}<br>{when}</td>'


def _sitreps(picture: Picture, zone: tzinfo) -> str:
    if not picture.sitreps:
        heading, none = _t("Situasjonsrapporter", "Situation reports"), _t("Ingen ennå.", "None yet.")
        return f"<section><h2>{heading}</h2><p>{none}</p></section>"
    rows = "".join(
        f'<tr><th scope="row">{escape(s.node)}</th><td>{_t("nr", "no")} {s.report_no}, {_hm(s.at, zone)}</td>'
        f"<td>{escape(s.situation)}</td><td>{escape(s.needs)}</td>{_due(s.next_report, s.overdue, zone)}</tr>"
        for s in picture.sitreps
    )
    return (
        f'<section class="wide"><h2>{_t("Siste situasjonsrapport", "Latest situation report")}</h2>'
        '<table class="stack"><thead>'
        f'<tr><th scope="col">{_t("Kommune", "Municipality")}</th><th scope="col">{_t("Rapport", "Report")}</th>'
        f'<th scope="col">{_t("Situasjon", "Situation")}</th><th scope="col">{_t("Behov", "Needs")}</th>'
        f'<th scope="col">{_t("Neste rapport", "Next report")}</th></tr></thead><tbody>{rows}</tbody></table></section>'
    )


def _due(when: datetime, overdue: bool, zone: tzinfo) -> str:
    if overdue:
        return f'<td class="bad">{_hm(when, zone)} {_t("FORSINKET", "OVERDUE")}</td>'
    return f"<td>{_hm(when, zone)}</td>"


def _assistance(requests: tuple[Assistance, ...], zone: tzinfo) -> str:
    if not requests:
        heading, none = _t("Bistand", "Assistance"), _t("Ingen anmodninger.", "No requests.")
        return f'<section class="detail"><h2>{heading}</h2><p>{none}</p></section>'
    items = []
    for a in requests:
        offers = "".join(
            f"<li>{escape(o.node)}: {escape(o.answer.value)} – {escape(o.offer)}"
            f"{_t(', ankomst ', ', arrives ') + _hm(o.eta, zone) if o.eta else ''}</li>"
            for o in a.offers
        )
        items.append(
            f'<li><span class="{COVERAGE_CLASS[a.coverage]}">{escape(a.coverage.value)}</span> '
            f"{escape(a.source)} {_t('fra', 'from')} {escape(a.node)}: {a.quantity} × {escape(a.resource)} – "
            f"{escape(a.task)}"
            f"{'<ul>' + offers + '</ul>' if offers else ''}</li>"
        )
    return f'<section class="detail"><h2>{_t("Bistand", "Assistance")}</h2><ul>{"".join(items)}</ul></section>'


def _rumours(picture: Picture, zone: tzinfo) -> str:
    if not picture.rumours:
        return f"<section><h2>{_t('Rykter', 'Rumours')}</h2><p>{_t('Ingen.', 'None.')}</p></section>"
    items = "".join(
        f"<li><b>{escape(r.state.value)}</b>: {escape(r.claim)} <small>({escape(r.source)}, {_hm(r.at, zone)})</small>"
        f"<br>{_t('Svar til publikum', 'Answer to the public')}: {escape(r.response)}</li>"
        for r in picture.rumours
    )
    return f"<section><h2>{_t('Rykter', 'Rumours')}</h2><ul>{items}</ul></section>"


def _decisions(picture: Picture, zone: tzinfo) -> str:
    if not picture.decisions:
        return f"<section><h2>{_t('Beslutninger', 'Decisions')}</h2><p>{_t('Ingen.', 'None.')}</p></section>"
    items = "".join(
        f"<li>{_when(d.effective, zone)}: {escape(d.decision)} <small>({_t('ansvarlig', 'responsible')} "
        f"{escape(d.responsible)}; {escape(d.source)} {_t('fra', 'from')} {escape(d.node)})</small></li>"
        for d in picture.decisions
    )
    return f"<section><h2>{_t('Beslutninger', 'Decisions')}</h2><ol>{items}</ol></section>"


def _links(report: Mapping[str, Any]) -> str:
    """The region's link health, from ``relay status``'s report."""
    daemon = report.get("daemon") or {}
    radio = report.get("radio") or {}
    if radio.get("state") == "connected":
        state = _t("radioen er tilkoblet", "the radio is connected")
    else:
        state = f"radio: {radio.get('state', _t('ukjent', 'unknown'))}"
    if radio.get("state") == "none":
        state = _t("ingen radio (bare IP)", "no radio (IP only)")
    ip = report.get("ip")
    if ip:
        if ip.get("state") == "connected":
            state += _t("; IP-veien er tilkoblet", "; the IP path is connected")
        elif ip.get("state") == "refused":
            state += _t("; IP-veien: megleren avviser oss", "; the IP path: the broker refuses us")
        else:
            state += _t(f"; IP-veien: {ip.get('state')}", f"; the IP path: {ip.get('state')}")
    if not daemon.get("running"):
        state = _t("radiotjenesten kjører ikke", "the radio service is not running")
    airtime = report.get("airtime") or {}
    used = (
        _t(
            f"sendetid siste time {airtime['used_s']:.0f} av {airtime['limit_s']:.0f} s",
            f"airtime in the last hour {airtime['used_s']:.0f} of {airtime['limit_s']:.0f} s",
        )
        if "used_s" in airtime and "limit_s" in airtime
        else _t("ingen sendetid (ingen radio)", "no airtime (no radio)")
        if radio.get("state") == "none"
        else _t("sendetid ukjent", "airtime unknown")
    )
    synced = report.get("clock_synchronised")
    clock = (
        _t("klokken er synkronisert", "the clock is synchronised")
        if synced is True
        else _t("KLOKKEN ER IKKE SYNKRONISERT", "THE CLOCK IS NOT SYNCHRONISED")
        if synced is False
        else _t("klokken: ukjent", "the clock: unknown")
    )
    outbox = len(report.get("outbox") or [])
    rows = "".join(
        f'<tr><th scope="row">{escape(str(h.get("node")))}</th><td>{escape(str(h.get("name") or ""))}</td>'
        f"<td>{ago(h.get('ago_s'))}</td><td>{_via(h.get('hops'))}{_over_ip(h)}</td></tr>"
        for h in report.get("heard") or []
    )
    warnings = "".join(f"<li>{escape(str(w.get('text')))}</li>" for w in report.get("warnings") or [])
    waiting = _t(f"{outbox} melding(er) venter i utboksen.", f"{outbox} message(s) wait in the outbox.")
    return (
        f'<section class="wide"><h2>{_t("Samband", "Links")}</h2><p>{escape(state)}; {escape(used)}; '
        f"{escape(clock)}; {waiting}</p>{_warnings(warnings)}"
        f'<table><thead><tr><th scope="col">Node</th><th scope="col">{_t("Navn", "Name")}</th>'
        f'<th scope="col">{_t("Sist hørt", "Last heard")}</th>'
        f'<th scope="col">{_t("Vei", "Path")}</th></tr></thead><tbody>{rows}</tbody></table></section>'
    )


def _warnings(items: str) -> str:
    return f'<ul class="flag">{items}</ul>' if items else ""


def ago(seconds: object, lang: str | None = None) -> str:
    """«sist hørt»: how long ago, or «aldri» (in ``lang`` if given, else the page's)."""
    if lang is not None:
        token = _LANG.set(lang)
        try:
            return ago(seconds)
        finally:
            _LANG.reset(token)
    if not isinstance(seconds, (int, float)):
        return _t("aldri", "never")
    if seconds < 120:
        return _t(f"{seconds:.0f} s siden", f"{seconds:.0f} s ago")
    if seconds < 7200:
        return _t(f"{seconds / 60:.0f} min siden", f"{seconds / 60:.0f} min ago")
    return _t(f"{seconds / 3600:.1f} t siden", f"{seconds / 3600:.1f} h ago")


def _over_ip(heard: Mapping[str, Any]) -> str:
    seconds = heard.get("ip_ago_s")
    return f"; over IP {ago(seconds)}" if isinstance(seconds, (int, float)) else ""


def _via(hops: object) -> str:
    if not isinstance(hops, int):
        return "–"
    return _t("direkte", "direct") if hops == 0 else f"via {hops} repeater(e)"


def _hm(value: datetime, zone: tzinfo) -> str:
    return value.astimezone(zone).strftime("%H:%M")


def _when(value: datetime, zone: tzinfo) -> str:
    return value.astimezone(zone).strftime("%d.%m %H:%M")
