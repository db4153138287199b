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


# --- the journal ------------------------------------------------------------------------
# The daemon logs in English (the developer's words, and the code's); the journal says each
# line of INFO and above in the node's language (RELAY_LANG/LANG, as ``relay status``).
# JOURNAL_NB: a log call's English template -> its Norwegian one, with the same conversions
# in the same order (``%.0s`` drops an English plural ending).  PHRASES_NB: the fixed English
# words passed to those templates.  A test checks that every such log call has its line here.
# DEBUG lines (``--verbose``, the developer's trace) and the radio library's stay English.
JOURNAL_NB = {
    # relay.daemon.loop, serve, faults
    "started: node %s, radio %s, IP %s, roster v%d (%d nodes), %d messages held": (
        "startet: node %s, radio %s, IP %s, roster v%d (%d noder), %d meldinger i lageret"
    ),
    "stopped (%s)": "stoppet (%s)",
    "the system clock stepped %s by %.1f s; timers are not affected, dates follow it": (
        "systemklokken hoppet %s %.1f s; tidtakerne påvirkes ikke, datoene følger den"
    ),
    "internal error on a %d-byte frame (%s): %s: %s": "intern feil på en ramme på %d byte (%s): %s: %s",
    "stored %s %s %s %s": "lagret %s %s %s %s",
    "the store has room again (%d store errors while it was full)": (
        "lageret har plass igjen (%d lagringsfeil mens det var fullt)"
    ),
    "conflict: a second, different %s was signed by its origin; both are kept": (
        "konflikt: avsenderen har signert en annen, ulik %s; begge beholdes"
    ),
    "queued %s-%04d %s %s for sending (%d B, %d packet%s)": "%s-%04d %s %s lagt i sendekøen (%d B, %d pakke(r)%.0s)",
    "dropping a %d-byte frame: too large for one packet": "forkaster en ramme på %d byte: for stor for én pakke",
    "%s = %s in %s overrides the hop limits the sync chooses; delete it unless on purpose": (
        "%s = %s i %s overstyrer hoppgrensene synkroniseringen velger; slett den om den ikke står der med vilje"
    ),
    "fatal: %s: %s": "fatal feil: %s: %s",
    "while stopping: %s: %s": "under stopp: %s: %s",
    "revocation: %s taken out of the store (signed with a revoked key); never served": (
        "tilbakekalling: %s tatt ut av lageret (signert med en tilbakekalt nøkkel); sendes aldri videre"
    ),
    "store: %s damaged on disk, moved to quarantine; run «relay doctor»": (
        "lageret: %s skadet på disk, flyttet til karantene; kjør «relay doctor»"
    ),
    "roster: revocation heard over the air; revoked now: %s": (
        "roster: tilbakekalling hørt over lufta; tilbakekalt nå: %s"
    ),
    "roster: could not write %s: %s; the revocation holds until restart": (
        "roster: kunne ikke skrive %s: %s; tilbakekallingen gjelder til omstart"
    ),
    "roster: %s changed but cannot be used (%s); keeping version %d": (
        "roster: %s er endret, men kan ikke brukes (%s); beholder versjon %d"
    ),
    "roster: version %d from %s": "roster: versjon %d fra %s",
    "ALARM %s: %s, %s; refused": "ALARM %s: %s, %s; avvist",
    "store full: %s; free disk space%s": "lageret er fullt: %s; frigjør plass på disken%s",
    "rejected a %d-byte frame: %s%s": "avviste en ramme på %d byte: %s%s",
    # relay.edge.mqtt
    "IP: %s": "IP: %s",
    "IP: connected to %s, topic %s": "IP: tilkoblet %s, emne %s",
    "IP: lost the broker %s (%s); reconnecting with backoff": (
        "IP: mistet megleren %s (%s); kobler til igjen med økende pause"
    ),
    "IP: the broker takes what we publish on %s again": "IP: megleren tar imot det vi publiserer på %s igjen",
    "IP: dropped %d frame(s) published as %r (%s)": "IP: forkastet %d ramme(r) publisert som %r (%s)",
    # relay.edge.radio
    "%s did not finish in %.0f s; left behind": "%s ble ikke ferdig på %.0f s; forlatt",
    "refusing to send a %d-byte frame (at most %d fit a packet)": (
        "sender ikke en ramme på %d byte (høyst %d får plass i en pakke)"
    ),
    "radio %s: %s; retrying in %.0f s": "radio %s: %s; prøver igjen om %.0f s",
    "radio connected: %s (node %s, %s)": "radio tilkoblet: %s (node %s, %s)",
    "radio link lost (%s); reconnecting in %.0f s": "radioforbindelsen er brutt (%s); kobler til igjen om %.0f s",
    "radio send failed: %s": "sending til radioen feilet: %s",
    "sending again a %d-byte frame the radio's full transmit queue refused": (
        "sender igjen en ramme på %d byte som radioens fulle sendekø avviste"
    ),
    "could not handle a queue status from the radio: %s": "kunne ikke behandle en køstatus fra radioen: %s",
    "the radio's transmit queue was full: it refused a %d-byte frame (priority %d); sending it again"
    " when it has room": (
        "radioens sendekø var full: den avviste en ramme på %d byte (prioritet %d); sendes igjen når det er plass"
    ),
    "too many refused frames kept: dropped a %d-byte one; the sync repairs it": (
        "for mange avviste rammer holdt tilbake: forkastet en på %d byte; synkroniseringen reparerer det"
    ),
    "could not handle a packet from the radio: %s": "kunne ikke behandle en pakke fra radioen: %s",
    "the daemon falls behind the radio: %d frames dropped": "daemonen henger etter radioen: %d rammer forkastet",
    "radio refused a %d-byte packet: duty cycle limit; pausing sending for %.0f s": (
        "radioen avviste en pakke på %d byte: grensen for sendetid (duty cycle); venter med å sende i %.0f s"
    ),
    "radio refused a %d-byte packet as too large; dropped": (
        "radioen avviste en pakke på %d byte som for stor; forkastet"
    ),
    "no repeater was heard relaying a %d-byte packet; the sync's repair takes over": (
        "ingen repeater ble hørt sende videre en pakke på %d byte; synkroniseringen reparerer"
    ),
    "radio refused a %d-byte packet: %s": "radioen avviste en pakke på %d byte: %s",
    "could not handle a notification from the radio: %s": "kunne ikke behandle et varsel fra radioen: %s",
}

PHRASES_NB = {
    "by IP": "over IP",
    "from the air": "fra lufta",
    "none": "ingen",
    "forward": "fram",
    "back": "tilbake",
    "stop requested": "bedt om å stoppe",
    "stopped": "stoppet",
    "malformed": "feilformet",
    "over its budget": "over kvoten sin",
    "closing the radio interface": "å lukke radiogrensesnittet",
    "signed with our own key but never sent by us": "signert med vår egen nøkkel, men aldri sendt herfra",
    "its origin sends more than relay admits (a stolen key?); held until the rate allows": (
        "avsenderen sender mer enn relay slipper inn (en stjålet nøkkel?); holdt tilbake til takten tillater det"
    ),
    "suspicious": "mistenkelig",
}
