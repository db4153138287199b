"""Store faults, revocations, alarms and rejected frames: what the daemon survives and says."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from relay.core.roster import Roster
from relay.edge.home import write_roster
from relay.edge.store import StoreError, is_full
from relay.errors import DecodeError
from relay.texts import Localized

if TYPE_CHECKING:
    pass

from relay.daemon.base import DaemonBase
from relay.daemon.describe import describe_frame

log = logging.getLogger("relay.daemon")

REJECT_LOG_GAP_S = 10.0  # per reason, at most one line this often; the rest are counted

STORE_FULL_LOG_GAP_S = 60.0  # a full disk is logged at most once a minute; the rest are counted

REJECT_MEMORY = 256  # a rejected frame heard again (rebroadcast, repeated attack) is logged once

ALARM_MEMORY = 8  # the latest alarms kept in the status snapshot

ALARM_LOG = {
    "own_origin": "signed with our own key but never sent by us",
    "origin_flood": "its origin sends more than relay admits (a stolen key?); held until the rate allows",
}


def file_stamp(path: Path | None) -> tuple[int, int] | None:
    """When and how big a file is: a cheap test for "it changed"."""
    try:
        st = path.stat() if path is not None else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size) if st is not None else None


class Faults(DaemonBase):
    """What goes wrong around the sync, and how the operator hears of it."""

    def _check_store(self, now: float) -> None:
        """At start: rows whose bytes no longer match their digest (one hash a row;
        ``relay doctor`` checks deeper), and messages a revocation made void while we
        were down, go to quarantine.  Never fatal."""
        at = self._date(now)
        try:
            for origin, seq, digest, _ in self.store.check(self.roster, deep=False):
                self.store.damaged.add((origin, seq, digest))
            self._quarantine(self.store.quarantine_damaged(at), "damaged", now)
            for entry in self.roster.entries:
                if entry.revoked is not None:
                    self._quarantine(self.store.void_revoked(entry, at), "revoked", now)
        except StoreError as exc:
            if not is_full(exc):
                raise
            self._on_store_full(
                Localized(
                    f"{exc}: oppstartsjekken av lageret venter på plass",
                    f"{exc}: the start-up check of the store waits for room",
                ),
                now,
            )

    def _quarantine(self, ids: list[str], reason: str, now: float) -> None:
        if not ids:
            return
        shown = ", ".join(ids[:8]) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")
        if reason == "revoked":
            log.warning("revocation: %s taken out of the store (signed with a revoked key); never served", shown)
        else:
            log.error("store: %s damaged on disk, moved to quarantine; run «relay doctor»", shown)
        code = "quarantined_" + reason
        count = len(ids) + next((a["count"] for a in self.alarms if a["code"] == code), 0)
        self.alarms = [a for a in self.alarms if a["code"] != code]
        self.alarms.append({"code": code, "frame": shown, "count": count, "at": now})
        self.alarms = self.alarms[-ALARM_MEMORY:]
        self._status_dirty = True

    def _roster_changed(self, roster: Roster) -> None:
        """A revocation heard on one path: the other path takes it up, and it goes into the
        roster file, so the CLI and the next start see it too."""
        for path in self.paths:
            if path.sync.roster is not roster:
                path.sync.set_roster(roster, self.clock())
        revoked = [e.node_id for e in roster.entries if e.revoked is not None]
        log.warning("roster: revocation heard over the air; revoked now: %s", ", ".join(revoked))
        if self.roster_file is None:
            return
        try:
            write_roster(self.roster_file, roster)
            self._roster_stamp = file_stamp(self.roster_file)
        except OSError as exc:
            log.error("roster: could not write %s: %s; the revocation holds until restart", self.roster_file, exc)

    def _check_roster(self, now: float) -> None:
        """A newer roster imported while we run (``relay roster import``) is taken up
        at once, with the revocations we heard over the air kept."""
        stamp = file_stamp(self.roster_file)
        if stamp == self._roster_stamp or self.roster_file is None:
            return
        self._roster_stamp = stamp
        current = self.roster
        try:
            found = Roster.from_json(self.roster_file.read_text(encoding="utf-8"), current.authority_key)
        except (OSError, UnicodeDecodeError, DecodeError) as exc:
            log.error(
                "roster: %s changed but cannot be used (%s); keeping version %d", self.roster_file, exc, current.version
            )
            return
        merged = found.newer(current) if found.supersedes(current) else current
        for notice in found.notices:
            merged = merged.with_notice(notice)
        if merged == current:
            return
        log.info("roster: version %d from %s", merged.version, self.roster_file)
        for path in self.paths:
            self._quarantine(path.sync.set_roster(merged, now), "revoked", now)

    def _alarm(self, code: str, frame: bytes, now: float) -> None:
        """Something the operator must see (``own_origin``: a message under our own
        origin that we never sent: our key is in someone else's hands)."""
        what = describe_frame(frame, self.roster)
        if not any(a["code"] == code and a["frame"] == what for a in self.alarms):
            log.error("ALARM %s: %s, %s; refused", code, what, ALARM_LOG.get(code, "suspicious"))
        self.alarms = [a for a in self.alarms if not (a["code"] == code and a["frame"] == what)]
        self.alarms.append({"code": code, "frame": what, "at": now})
        self.alarms = self.alarms[-ALARM_MEMORY:]
        self._status_dirty = True

    def _on_store_full(self, what: Localized, now: float, lost: bool = False) -> None:
        """The disk is full: log it at most once a minute, count it, show it in the snapshot, carry on."""
        full = self.store_full or {"since": now, "errors": 0, "lost_frames": 0}
        full["last"] = now
        full["errors"] += 1
        full["lost_frames"] += int(lost)
        self.store_full = full
        self._status_dirty = True
        last, suppressed = self._store_full_log
        if now - last < STORE_FULL_LOG_GAP_S:
            self._store_full_log = (last, suppressed + 1)
            return
        more = Localized(
            f" ({suppressed} lagringsfeil til siden forrige melding)" if suppressed else "",
            f" ({suppressed} more store errors since the last report)" if suppressed else "",
        )
        log.error("store full: %s; free disk space%s", what, more)
        self._store_full_log = (now, 0)

    def _note_heard(self, node: str, via: str, hops: int, now: float) -> None:
        if node == self.node_id:
            return
        if self.heard.get(node, {}).get("hops") != hops:
            self._status_dirty = True  # someone new, or heard another way: ``relay status`` shows it soon
        self.heard[node] = {"at": now, "via": via, "hops": hops}

    def _log_rejected(self, reason: str, frame: bytes, now: float) -> None:
        digest = hashlib.sha256(frame).digest()[:12]
        if digest in self._rejected_seen:
            return
        self._rejected_seen[digest] = None
        while len(self._rejected_seen) > REJECT_MEMORY:
            self._rejected_seen.popitem(last=False)
        last, suppressed = self._rejected_log.get(reason, (float("-inf"), 0))
        if now - last < REJECT_LOG_GAP_S:
            self._rejected_log[reason] = (last, suppressed + 1)
            return
        more = Localized(
            f" ({suppressed} til av samme slag siden forrige melding)" if suppressed else "",
            f" ({suppressed} more like it since the last report)" if suppressed else "",
        )
        log.warning("rejected a %d-byte frame: %s%s", len(frame), reason, more)
        self._rejected_log[reason] = (now, 0)
        self._status_dirty = True
