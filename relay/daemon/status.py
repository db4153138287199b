"""``relay status``: the snapshot the daemon writes into the store, and the report read from it.

Both ends of the snapshot format live here: ``Reporting`` writes it every
``STATUS_INTERVAL_S`` and on change (``STATUS_KEY`` in the store's ``state``
table); ``status_report`` reads it back with the store, never importing
meshtastic, and ``render_status`` turns it into lines in Norwegian or English
(``relay.daemon.words``).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relay.core.airtime import HOUR_S
from relay.core.roster import Roster
from relay.core.sync.config import RANK_HELD
from relay.edge.home import Home, NodeConfig
from relay.edge.store import Store, StoreError, is_full
from relay.errors import ConfigError
from relay.texts import Localized, render, render_problem

if TYPE_CHECKING:
    pass

from relay.daemon.base import NodePath
from relay.daemon.clock import clock_skew, clock_skew_text
from relay.daemon.confirmed import as_json, confirmations, describe, from_json, heard_of, members
from relay.daemon.faults import Faults
from relay.daemon.snapshot import STALE_AFTER_S, STATUS_KEY
from relay.daemon.words import ALARM_TEXT_EN, LINK_TEXT_EN, STORE_FULL_TEXT_EN, VIA_TEXT_EN, WORDS, not_running_en

STATUS_FORMAT = 1

STATUS_INTERVAL_S = 10.0

STATUS_MIN_GAP_S = 1.0  # "on change" writes coalesce to at most one a second

ALARM_TEXT = {
    "own_origin": "ALARM: {frame} er signert med vår nøkkel, men ble aldri sendt herfra:"
    " nøkkelen kan være stjålet (meldingen er avvist); varsle rosteransvarlig",
    "origin_flood": "MISTENKELIG: {frame}: avsenderen sender flere meldinger enn relay slipper inn"
    " (stjålet nøkkel?); de holdes tilbake til takten tillater dem",
    "quarantined_damaged": "LAGERFEIL: {count} skadet(e) melding(er) flyttet til karantene ({frame});"
    " kjør «relay doctor»",
    "quarantined_revoked": "TILBAKEKALT: {count} melding(er) signert med en tilbakekalt nøkkel er tatt ut ({frame})",
    "own_key_revoked": "ALARM: denne nodens nøkkel er tilbakekalt i rosteret: andre noder avviser det den sender;"
    " be rosterautoriteten om en ny nøkkel",
}

STORE_FULL_TEXT = "lageret er fullt: nye meldinger fra radioen kan ikke lagres; frigjør plass på disken"

RANK_LABELS = {0: "NØD", 1: "HASTER", 2: "KONTROLL", 3: "PRIORITET", 4: "RUTINE"}

RANK_HELD_LABEL = "KONTROLL"  # other stores' summaries passed on (sync RANK_HELD): control traffic

SENT_SHOWN = 20


class Reporting(Faults):
    """The daemon's side: the snapshot."""

    def _status_due(self) -> float:
        if self._status_dirty:
            return min(self._next_status, self._last_status + STATUS_MIN_GAP_S)
        return self._next_status

    def _report(self, now: float) -> None:
        if now >= self._status_due():
            self.write_status(now)

    def write_status(self, now: float, stopped: str | None = None) -> None:
        """Write the snapshot into the store; on a full disk keep it in ``status`` and try again soon."""
        self.status = self.snapshot(now, stopped)
        try:
            self.store.set_state(STATUS_KEY, json.dumps(self.status, ensure_ascii=False))
        except StoreError as exc:
            if not is_full(exc):
                raise
            # ``relay status`` cannot know then (it shows the last snapshot that fit, or
            # none): the alarm is only in the journal until a snapshot fits again.
            self._on_store_full(
                Localized(
                    f"{exc}: kunne ikke skrive statusbildet for relay status",
                    f"{exc}: could not write the status snapshot for relay status",
                ),
                now,
            )
            self._last_status = now
            self._next_status = now + STATUS_MIN_GAP_S  # retried soon: it is still dirty
            return
        self._last_status = now
        self._next_status = now + STATUS_INTERVAL_S
        self._status_dirty = False

    def snapshot(self, now: float, stopped: str | None = None) -> dict[str, Any]:
        """What ``relay status`` shows about the daemon (``now`` on the monotonic clock;
        the times in it are Unix seconds on the wall clock)."""
        radio = self.radio
        if radio is not None:
            state, detail = _link_state(radio, stopped)
            modem = radio.transport.modem
            since = radio.link_since
        else:
            state, detail, modem, since = "none", None, None, self.started
        budget = self.sync.budget
        stats = self.sync.stats
        return {
            "format": STATUS_FORMAT,
            "node": self.node_id,
            "pid": os.getpid(),
            "at": self.wall_of(now),
            "started": self.wall_of(self.started),
            "stopped": stopped,
            "link": {
                "state": state,
                "url": self.url,
                "detail": detail,
                "since": self.wall_of(since),
                "modem": modem.name if modem else None,
            },
            "ip": self._ip_snapshot(now, stopped),
            "heard": {node: {**entry, "at": self.wall_of(entry["at"])} for node, entry in sorted(self.heard.items())},
            "clock": self._clock_snapshot(now),
            "alarms": [{**a, "at": self.wall_of(a["at"])} for a in self.alarms],
            "store_full": self._store_full_snapshot(),
            "queue": self.queue_by_priority(),
            "airtime": {  # the radio's duty budget; none without a radio (IP has no airtime)
                "used_s": round(budget.used(now), 3),
                "limit_s": round(budget.limit_s, 3),
                "reserve_s": round(budget.reserve_s, 3),
                "window_s": HOUR_S,
                "time_scale": self.time_scale,
            }
            if radio is not None
            else None,
            "stats": {
                "frames_heard": self.frames_heard,
                "frames_sent": self.frames_sent,
                "stored": stats.stored,
                "duplicates_ignored": stats.duplicates_ignored,
                "conflicts": stats.conflicts,
                "rejected": dict(sorted(stats.rejected.items())),
                "airtime_s": round(stats.airtime_s, 3),
            },
        }

    def _clock_snapshot(self, now: float) -> dict[str, Any] | None:
        """How far our clock is from the region's, as the path that heard most peers says."""
        told = [said for path in self.paths if (said := path.sync.clock_skew(now)) is not None]
        if not told:
            return None
        skew, peers = max(told, key=lambda t: t[1])
        return {"skew_s": round(skew, 1), "peers": peers}

    def _store_full_snapshot(self) -> dict[str, Any] | None:
        full = self.store_full
        if full is None:
            return None
        return {**full, "since": self.wall_of(full["since"]), "last": self.wall_of(full["last"])}

    def _ip_snapshot(self, now: float, stopped: str | None) -> dict[str, Any] | None:
        """The IP path for ``relay status``: its state, what it carried, whom it hears."""
        ip = self.ip
        if ip is None:
            return None
        state, detail = _link_state(ip, stopped)
        counters = getattr(ip.transport, "counters", None)
        return {
            "state": state,
            "url": self.ip_url,
            "detail": detail,
            "problem": None if stopped else getattr(ip.transport, "problem", None),
            "since": self.wall_of(ip.link_since),
            "frames_heard": ip.frames_heard,
            "frames_sent": ip.frames_sent,
            "transport": counters() if callable(counters) else {},
            "heard": {node: self.wall_of(at) for node, at in sorted(ip.heard.items())},
            "queue": self._by_rank(ip.queued),
        }

    def queue_by_priority(self) -> dict[str, int]:
        """Frames waiting for the primary path (the radio), by transmit rank."""
        return self._by_rank(self.primary.queued)

    @staticmethod
    def _by_rank(ranks: list[int]) -> dict[str, int]:
        counts = dict.fromkeys(RANK_LABELS.values(), 0)
        for rank in ranks:
            counts[RANK_LABELS.get(rank, RANK_HELD_LABEL if rank == RANK_HELD else "RUTINE")] += 1
        return counts

    def _seed_heard(self) -> None:
        """Start from the last snapshot's "last heard" (a restart should not forget who is out there).

        Its times are dates: they come back onto the monotonic clock (possibly before its zero)."""
        to_clock = self.clock() - self.wall()
        try:
            previous = json.loads(self.store.get_state(STATUS_KEY) or "{}")
            for node, entry in dict(previous.get("heard", {})).items():
                if isinstance(entry, dict) and isinstance(entry.get("at"), (int, float)):
                    hops = entry.get("hops")
                    self.heard[str(node)] = {
                        "at": float(entry["at"]) + to_clock,
                        "via": str(entry.get("via", "?")),
                        "hops": hops if isinstance(hops, int) and not isinstance(hops, bool) else None,
                    }
        except (ValueError, TypeError, AttributeError):
            pass


def _link_state(path: NodePath, stopped: str | None) -> tuple[str, str | None]:
    """A path's state for the snapshot (stopped, connected, down or connecting) and why."""
    connected, detail = path.transport.connected, path.transport.link_detail
    if connected and getattr(path.transport, "refusing", False):
        return ("stopped" if stopped else "refused"), detail  # in, but what we publish goes nowhere
    return ("stopped" if stopped else "connected" if connected else "down" if detail else "connecting"), detail


def clock_synchronised(run: Callable[..., Any] = subprocess.run) -> bool | None:
    """Is the system clock NTP-synchronised?  None when this cannot be told."""
    try:
        result = run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True, timeout=3
        )
        answer = str(result.stdout).strip()
        if result.returncode == 0 and answer in ("yes", "no"):
            return answer == "yes"
    except (OSError, subprocess.SubprocessError):
        pass
    timesync = Path("/run/systemd/timesync")
    if (timesync / "synchronized").exists():
        return True
    return False if timesync.is_dir() else None


def _pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # running as another user (the service account)
    return True


def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds") if t is not None else None


def status_report(home: Home, now: float, clock_synced: bool | None, lang: str = "nb") -> dict[str, Any]:
    """The JSON document of ``relay status --json``: the daemon's snapshot and the store
    (the IP path's warnings in ``lang``)."""
    config = home.config()
    try:
        roster: Roster | None = home.roster()
    except ConfigError:
        roster = None
    store = home.store()
    try:
        snap = _snapshot(store.get_state(STATUS_KEY))
        pending = store.pending()
        sent = _sent_messages(store, config.node_id, roster, heard_of(snap))
    finally:
        store.close()
    warnings: list[dict[str, str]] = []
    age = now - float(snap["at"]) if snap and isinstance(snap.get("at"), (int, float)) else None
    running = bool(snap) and age is not None and age <= STALE_AFTER_S and not (snap or {}).get("stopped")
    if running and snap and snap.get("node") == config.node_id and not _pid_alive(snap.get("pid")):
        running = False
    if not running:
        nb, en = _not_running_text(snap, age)
        warnings.append({"code": "daemon_not_running", "text": nb, "text_en": en})
    link = dict(snap.get("link", {})) if snap else {}
    if running and link.get("state") not in ("connected", "none"):
        detail = f": {link['detail']}" if link.get("detail") else ""
        warnings.append(
            {
                "code": "radio_down",
                "text": f"radioen er ikke tilkoblet{detail}",
                "text_en": f"the radio is not connected{detail}",
            }
        )
    ip_snap: dict[str, Any] | None = (snap or {}).get("ip") if running else None
    if ip_snap and ip_snap.get("state") != "connected":
        warnings.append(ip_warning(ip_snap, link.get("state") == "none", lang))
    if (snap or {}).get("store_full"):
        # Only what the last snapshot that fit says: when even that cannot be written,
        # the condition is in the daemon's journal alone.
        warnings.append({"code": "store_full", "text": STORE_FULL_TEXT, "text_en": STORE_FULL_TEXT_EN})
    for alarm in (snap or {}).get("alarms", []):
        code = str(alarm.get("code"))
        if code in ALARM_TEXT:
            said = {"frame": alarm.get("frame"), "count": alarm.get("count", 1)}
            warnings.append(
                {"code": code, "text": ALARM_TEXT[code].format(**said), "text_en": ALARM_TEXT_EN[code].format(**said)}
            )
    if roster is not None and config.node_id in roster.node_ids and roster.active(config.node_id) is None:
        revoked = "own_key_revoked"
        warnings.append({"code": revoked, "text": ALARM_TEXT[revoked], "text_en": ALARM_TEXT_EN[revoked]})
    if clock_synced is False:
        warnings.append(
            {
                "code": "clock_not_synchronised",
                "text": "systemklokka er ikke synkronisert: tidsstempler kan være feil",
                "text_en": "the system clock is not synchronised: time stamps may be wrong",
            }
        )
    skew = clock_skew(snap if running else None)
    if skew is not None:
        nb, en = clock_skew_text(*skew)
        warnings.append({"code": "clock_skew", "text": nb, "text_en": en})
    heard_raw: dict[str, Any] = dict(snap.get("heard", {})) if snap else {}
    heard_ip: dict[str, Any] = dict((ip_snap or {}).get("heard", {}))
    nodes = [n for n in (roster.node_ids if roster else ()) if n != config.node_id and roster and roster.active(n)]
    heard = []
    for node in nodes or sorted(heard_raw):
        entry = heard_raw.get(node) or {}
        at = entry.get("at")
        row = {
            "node": node,
            "name": _name(roster, node),
            "at": _iso(at),
            "ago_s": round(now - at, 1) if isinstance(at, (int, float)) else None,
            "via": entry.get("via"),
            "hops": entry.get("hops"),
        }
        if ip_snap is not None:
            ip_at = heard_ip.get(node)
            row.update(ip_at=_iso(ip_at), ip_ago_s=round(now - ip_at, 1) if isinstance(ip_at, (int, float)) else None)
        heard.append(row)
    return {
        "node": config.node_id,
        "name": config.name,
        "now": _iso(now),
        "daemon": {
            "running": running,
            "pid": snap.get("pid") if snap else None,
            "snapshot_at": _iso(snap.get("at")) if snap else None,
            "snapshot_age_s": round(age, 1) if age is not None else None,
            "started": _iso(snap.get("started")) if snap else None,
            "stopped": snap.get("stopped") if snap else None,
        },
        "radio": {
            "state": link.get("state", "unknown") if running else "unknown",
            "url": link.get("url") or config.radio,
            "detail": link.get("detail"),
            "since": _iso(link.get("since")),
            "modem": link.get("modem"),
        },
        "ip": _ip_report(ip_snap, config, lang),
        "clock_synchronised": clock_synced,
        "clock_skew": (snap or {}).get("clock") if running else None,
        "heard": heard,
        "queue": snap.get("queue") if snap else None,
        "outbox": [f"{origin}-{seq:04d}" for origin, seq, _ in pending],
        "airtime": snap.get("airtime") if snap else None,
        "stats": snap.get("stats") if snap else None,
        "sent": sent,
        "warnings": warnings,
    }


def _snapshot(raw: str | None) -> dict[str, Any] | None:
    try:
        found = json.loads(raw) if raw else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def last_heard(store: Store) -> dict[str, datetime]:
    """When each node was last heard, as the daemon's last snapshot says (also with the daemon stopped)."""
    return heard_of(_snapshot(store.get_state(STATUS_KEY)))


def ip_warning(ip: dict[str, Any], ip_only: bool, lang: str) -> dict[str, str]:
    """The IP path's warning: what is wrong, and what it means for a node with a radio or without."""
    problem = ip.get("problem")
    if isinstance(problem, dict):
        what = render_problem(problem, lang)
    else:  # a snapshot from before problems had codes, or a path that is connecting
        what = str(ip.get("detail") or ("ukjent" if lang != "en" else "unknown"))
    code = "ip_down_no_radio" if ip_only else "ip_down_radio_carries"
    return {
        "code": "ip_refused" if ip.get("state") == "refused" else "ip_down",
        "text": render(code, {"problem": what}, lang),
    }


def _ip_report(ip: dict[str, Any] | None, config: NodeConfig, lang: str = "nb") -> dict[str, Any] | None:
    """The IP path as ``relay status --json`` shows it (None: the node has none)."""
    if ip is None:
        return {"state": "unknown", "url": config.ip.broker, "detail": None} if config.ip is not None else None
    problem = ip.get("problem")
    return {
        "state": ip.get("state", "unknown"),
        "url": ip.get("url"),
        "detail": render_problem(problem, lang) if isinstance(problem, dict) else ip.get("detail"),
        "problem": problem,
        "since": _iso(ip.get("since")),
        "frames_heard": ip.get("frames_heard"),
        "frames_sent": ip.get("frames_sent"),
        "refused": (ip.get("transport") or {}).get("refused", 0),
        "queue": ip.get("queue"),
    }


def _not_running_text(snap: dict[str, Any] | None, age: float | None) -> tuple[str, str]:
    """Why the daemon counts as stopped, in Norwegian and in English."""
    if not snap or age is None:
        return "daemon kjører ikke: ingen statusrapport fra daemon i lageret", not_running_en("no_snapshot", "")
    if snap.get("stopped"):
        return f"daemon kjører ikke: stoppet for {_ago(age)} siden", not_running_en("stopped", _ago(age, "en"))
    if age > STALE_AFTER_S:
        return f"daemon kjører ikke: siste statusrapport er {_ago(age)} gammel", not_running_en(
            "stale", _ago(age, "en")
        )
    return "daemon kjører ikke: prosessen som skrev siste statusrapport finnes ikke lenger", not_running_en("gone", "")


def _name(roster: Roster | None, node: str) -> str:
    entry = roster.active(node) if roster else None
    return entry.name if entry else node


def _sent_messages(
    store: Store, node_id: str, roster: Roster | None, heard: dict[str, datetime]
) -> list[dict[str, Any]]:
    """This node's own messages, newest first, with what each addressee has confirmed."""
    seqs = store.sent_seqs(node_id, SENT_SHOWN)
    groups = members(roster)
    out = []
    for seq in seqs:
        held = store.get(node_id, seq)
        if not held:
            continue
        msg = held[0].message
        found = confirmations(store, held[0], node_id, groups, heard)
        out.append(
            {
                "id": msg.id,
                "kind": msg.kind.value,
                "priority": msg.priority.value,
                "created": msg.created.isoformat(timespec="seconds"),
                "transmitted_at": held[0].transmitted_at.isoformat(timespec="seconds")
                if held[0].transmitted_at
                else None,
                "held_by": [c.node for c in found if c.confirmed],  # a LEST or UTFØRT says it holds it too
                "missing": [c.node for c in found if not c.confirmed],
                "confirmations": as_json(found),
            }
        )
    return out


def _ago(seconds: float, lang: str = "nb") -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} {WORDS[lang]['hours']}"
    return f"{seconds / 86400:.0f} {WORDS[lang]['days']}"


def _clock(iso: str | None, tz: tzinfo | None, now_iso: str | None, lang: str = "nb") -> str:
    if iso is None:
        return WORDS[lang]["never"]
    t = datetime.fromisoformat(iso).astimezone(tz or UTC)
    today = now_iso is not None and datetime.fromisoformat(now_iso).astimezone(tz or UTC).date() == t.date()
    return t.strftime("%H:%M:%S" if today else "%d.%m %H:%M") + ("" if tz else " UTC")


def _number(value: float, decimals: int = 1, lang: str = "nb") -> str:
    shown = f"{value:.{decimals}f}"
    return shown if lang == "en" else shown.replace(".", ",")


LINK_TEXT = {
    "connected": "tilkoblet",
    "down": "frakoblet",
    "connecting": "kobler til",
    "stopped": "stoppet",
    "unknown": "ukjent tilstand (daemon kjører ikke)",
    "none": "ingen (bare IP)",
    "refused": "tilkoblet, men megleren sender ikke videre det vi publiserer",
}

VIA_TEXT = {
    "summary": "oppsummering",
    "request": "forespørsel",
    "message": "melding",
    "fragment": "fragment",
    "bundle": "svar",
}


def _hops_text(hops: object, lang: str = "nb") -> str:
    """How a node is heard: directly, or over the hilltop repeaters (nothing for a snapshot that does not say)."""
    if not isinstance(hops, int) or isinstance(hops, bool):
        return ""
    w = WORDS[lang]
    return w["direct"] if hops <= 0 else w["repeaters"].format(hops=hops, plural="" if hops == 1 else w["plural"])


def render_status(report: dict[str, Any], tz: tzinfo | None, lang: str = "nb") -> list[str]:
    """``relay status`` as lines of text in ``lang`` ("nb" or "en")."""
    w = WORDS[lang]
    en = lang == "en"
    links, vias = (LINK_TEXT_EN, VIA_TEXT_EN) if en else (LINK_TEXT, VIA_TEXT)
    now_iso = report["now"]

    def clock_of(iso: str | None) -> str:
        return _clock(iso, tz, now_iso, lang)

    lines = [f"Status for {report['node']} ({report['name']})"]
    lines += [f"{w['warning']}: {x.get('text_en', x['text']) if en else x['text']}" for x in report["warnings"]]
    daemon = report["daemon"]
    if daemon["running"]:
        lines.append(w["daemon"] + w["running"].format(pid=daemon["pid"], at=clock_of(daemon["snapshot_at"])))
    elif daemon["snapshot_at"]:
        lines.append(w["daemon"] + w["stopped_at"].format(at=clock_of(daemon["snapshot_at"])))
    else:
        lines.append(w["daemon"] + w["not_running"])
    radio = report["radio"]
    where = f", {radio['url']}" if radio["url"] else ""
    modem = f" ({radio['modem']})" if radio["modem"] and radio["state"] == "connected" else ""
    detail = f": {radio['detail']}" if radio["detail"] and radio["state"] != "unknown" else ""
    lines.append(f"{w['radio']}{links.get(radio['state'], radio['state'])}{where}{modem}{detail}")
    ip = report.get("ip")
    if ip is not None:
        where = f", {ip['url']}" if ip.get("url") else ""
        detail = f": {ip['detail']}" if ip.get("detail") and ip["state"] != "unknown" else ""
        carried = ""
        if ip.get("frames_sent") is not None:
            carried = w["frames"].format(sent=ip["frames_sent"], heard=ip["frames_heard"])
        lines.append(f"{w['ip']}{links.get(ip['state'], ip['state'])}{where}{carried}{detail}")
    synced = {True: w["synced"], False: w["not_synced"], None: w["unknown"]}[report["clock_synchronised"]]
    lines.append(w["clock"] + synced)
    airtime = report["airtime"]
    if airtime:
        used, limit = airtime["used_s"], airtime["limit_s"]
        share = used / limit if limit else 0.0
        numbers = {
            "used": _number(used, 1, lang),
            "limit": _number(limit, 0, lang),
            "share": _number(share * 100, 1, lang),
        }
        lines.append(w["airtime"].format(**numbers))
    queue = report["queue"]
    if queue:
        lines.append(w["queue"] + " · ".join(f"{label} {queue.get(label, 0)}" for label in RANK_LABELS.values()))
    if report["outbox"]:
        where = w["to_ip"] if radio["state"] == "none" else w["to_radio"]
        lines.append(w["outbox"].format(ids=", ".join(report["outbox"]), where=where))
    lines += ["", w["heard"]]
    if not report["heard"]:
        lines.append(w["nobody"])
    width = max((len(h["node"]) for h in report["heard"]), default=0)
    name_width = max((len(h["name"]) for h in report["heard"]), default=0)
    for h in report["heard"]:
        when = clock_of(h["at"])
        if h["ago_s"] is not None:
            how = _hops_text(h.get("hops"), lang)
            when += w["ago"].format(ago=_ago(h["ago_s"], lang), via=vias.get(h["via"], h["via"]), how=how)
        if h.get("ip_ago_s") is not None:  # heard over IP: said first where the radio never heard it
            over_ip = w["over_ip"].format(ago=_ago(h["ip_ago_s"], lang))
            when = over_ip if h["ago_s"] is None else f"{when}; {over_ip}"
        lines.append(f"  {h['node']:<{width}}  {h['name']:<{name_width}}  {when}")
    lines += ["", w["sent"]]
    if not report["sent"]:
        lines.append(w["none_sent"])
    for m in report["sent"]:
        total = len(m["held_by"]) + len(m["missing"])
        holders = w["held_by"].format(held=len(m["held_by"]), total=total)
        if m["transmitted_at"] is None:
            holders = w["not_sent"]
        lines.append(f"  {m['id']}  {m['kind']:<12} {m['priority']:<9} {clock_of(m['created'])}  {holders}")
        if m["transmitted_at"] is not None or m["held_by"]:
            lines += _addressee_lines(m.get("confirmations") or [], clock_of, lang)
    return lines


def _addressee_lines(docs: list[dict[str, Any]], clock_of: Callable[[str | None], str], lang: str) -> list[str]:
    """One line per addressee under a sent message: what it confirmed, or when it was last heard."""
    found = [from_json(doc) for doc in docs]
    width = max((len(c.node) for c in found), default=0)
    return [f"      {c.node:<{width}}  {describe(c, lambda at: clock_of(at.isoformat()), lang)}" for c in found]
