"""The words of ``relay status`` and of the daemon's alarms, in Norwegian bokmål and English.

``status_report`` gives each warning in both (``text``, ``text_en``); ``render_status``
picks its labels here by the operator's language.
"""

from __future__ import annotations

ALARM_TEXT_EN = {
    "own_origin": "ALARM: {frame} is signed with our key but was never sent from here:"
    " the key may be stolen (the message is refused); tell the roster authority",
    "origin_flood": "SUSPICIOUS: {frame}: the sender sends more messages than relay lets in"
    " (a stolen key?); they are held back until the rate allows them",
    "quarantined_damaged": "STORE FAULT: {count} damaged message(s) moved to quarantine ({frame}); run «relay doctor»",
    "quarantined_revoked": "REVOKED: {count} message(s) signed with a revoked key taken out ({frame})",
    "own_key_revoked": "ALARM: this node's key is revoked in the roster: other nodes refuse what it sends;"
    " ask the roster authority for a new key",
}

STORE_FULL_TEXT_EN = "the store is full: new messages from the radio cannot be stored; free space on the disk"

WORDS: dict[str, dict[str, str]] = {
    "nb": {
        "warning": "ADVARSEL",
        "daemon": "Daemon:    ",
        "running": "kjører (pid {pid}), status {at}",
        "stopped_at": "kjører ikke (siste status {at})",
        "not_running": "kjører ikke",
        "radio": "Radio:     ",
        "ip": "IP:        ",
        "frames": " ({sent} rammer sendt, {heard} hørt)",
        "clock": "Klokke:    ",
        "synced": "synkronisert",
        "not_synced": "IKKE synkronisert",
        "unknown": "ukjent",
        "airtime": "Sendetid:  {used} s av {limit} s siste time ({share} %)",
        "queue": "Sendekø:   ",
        "outbox": "Utboks:    {ids} (ikke gitt til {where} ennå)",
        "to_ip": "IP-veien",
        "to_radio": "radioen",
        "heard": "Sist hørt:",
        "nobody": "  (ingen andre noder i rosteret)",
        "ago": " (for {ago} siden, {via}{how})",
        "over_ip": "over IP for {ago} siden",
        "direct": ", direkte",
        "repeaters": ", via {hops} repeater{plural}",
        "plural": "e",
        "sent": "Sendt herfra:",
        "none_sent": "  (ingen meldinger sendt fra denne noden)",
        "held_by": "mottatt av {held} av {total}",
        "not_sent": "ikke sendt ennå",
        "never": "aldri",
        "days": "døgn",
        "hours": "t",
    },
    "en": {
        "warning": "WARNING",
        "daemon": "Daemon:    ",
        "running": "running (pid {pid}), status {at}",
        "stopped_at": "not running (last status {at})",
        "not_running": "not running",
        "radio": "Radio:     ",
        "ip": "IP:        ",
        "frames": " ({sent} frames sent, {heard} heard)",
        "clock": "Clock:     ",
        "synced": "synchronised",
        "not_synced": "NOT synchronised",
        "unknown": "unknown",
        "airtime": "Airtime:   {used} s of {limit} s in the last hour ({share} %)",
        "queue": "Queue:     ",
        "outbox": "Outbox:    {ids} (not yet given to {where})",
        "to_ip": "the IP path",
        "to_radio": "the radio",
        "heard": "Last heard:",
        "nobody": "  (no other nodes in the roster)",
        "ago": " ({ago} ago, {via}{how})",
        "over_ip": "over IP {ago} ago",
        "direct": ", direct",
        "repeaters": ", via {hops} repeater{plural}",
        "plural": "s",
        "sent": "Sent from here:",
        "none_sent": "  (no messages sent from this node)",
        "held_by": "held by {held} of {total}",
        "not_sent": "not sent yet",
        "never": "never",
        "days": "days",
        "hours": "h",
    },
}

LINK_TEXT_EN = {
    "connected": "connected",
    "down": "disconnected",
    "connecting": "connecting",
    "stopped": "stopped",
    "unknown": "unknown state (the daemon is not running)",
    "none": "none (IP only)",
    "refused": "connected, but the broker does not pass on what we publish",
}

VIA_TEXT_EN = {
    "summary": "summary",
    "request": "request",
    "message": "message",
    "fragment": "fragment",
    "bundle": "answer",
}


def not_running_en(reason: str, ago: str) -> str:
    """``_not_running_text`` in English, by its reason."""
    return {
        "no_snapshot": "the daemon is not running: no status report from the daemon in the store",
        "stopped": f"the daemon is not running: stopped {ago} ago",
        "stale": f"the daemon is not running: the last status report is {ago} old",
        "gone": "the daemon is not running: the process that wrote the last status report is gone",
    }[reason]
