"""What is confirmed about a held message, from the store and the daemon's heard table.

The edge around ``relay.core.confirm``: it gathers a message's holdings (the
store's MOTTATT receipts, which the heads of signed summaries write, and this
store itself), its replies (KVITTERING LEST / UTFØRT, answers) and when each
addressee was last heard (the daemon's status snapshot), and says it as JSON
or as lines.  ``relay status``, ``relay show``, ``relay inbox --json``, the
board and the desk all take it from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from relay.core.confirm import Confirmation, addressees, confirm
from relay.core.roster import Roster
from relay.edge.store import Store, Stored

WORDS = {
    "nb": {
        "received": "mottatt",
        "read": "lest",
        "done": "utført",
        "unconfirmed": "ikke bekreftet ennå",
        "last_heard": "sist hørt",
        "never_heard": "aldri hørt",
    },
    "en": {
        "received": "received",
        "read": "read",
        "done": "done",
        "unconfirmed": "not confirmed yet",
        "last_heard": "last heard",
        "never_heard": "never heard",
    },
}


def members(roster: Roster | None) -> dict[str, tuple[str, ...]]:
    """Each addressing group's nodes that can still confirm (a revoked key never will)."""
    if roster is None:
        return {}
    return {group: tuple(n for n in roster.members(group) if roster.active(n)) for group in ("ALLE", "KOMMUNER")}


def heard_of(snapshot: Mapping[str, Any] | None) -> dict[str, datetime]:
    """When each node was last heard, by the radio or the IP path, from the daemon's
    status snapshot (its times are Unix seconds); empty without one."""
    out: dict[str, datetime] = {}
    if not snapshot:
        return out
    radio = {n: e.get("at") for n, e in dict(snapshot.get("heard") or {}).items() if isinstance(e, dict)}
    ip = dict((snapshot.get("ip") or {}).get("heard") or {})
    for found in (radio, ip):
        for node, at in found.items():
            if isinstance(at, (int, float)) and not isinstance(at, bool):
                when = datetime.fromtimestamp(at, UTC)
                out[str(node)] = max(when, out.get(str(node), when))
    return out


def confirmations(
    store: Store,
    stored: Stored,
    node_id: str,
    groups: Mapping[str, Sequence[str]],
    heard: Mapping[str, datetime],
) -> tuple[Confirmation, ...]:
    """Per addressee of ``stored``'s message: what this store (``node_id``) knows is confirmed."""
    msg = stored.message
    holdings = [(r.node, r.at) for r in store.receipts(msg.origin, msg.seq) if r.level == "MOTTATT"]
    holdings.append((node_id, stored.received_at))  # this store holds it since it entered
    replies = [r.message for r in store.replies(msg.origin, msg.seq) if not r.conflict]
    return confirm(msg, addressees(msg, groups), holdings, replies, heard)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value is not None else None


def as_json(found: Sequence[Confirmation]) -> list[dict[str, Any]]:
    """The stable JSON form: one object per addressee, ISO times in UTC or null."""
    return [
        {
            "node": c.node,
            "level": c.level,
            "received_at": _iso(c.received_at),
            "read_at": _iso(c.read_at),
            "done_at": _iso(c.done_at),
            "last_heard": _iso(c.last_heard),
        }
        for c in found
    ]


def from_json(doc: Mapping[str, Any]) -> Confirmation:
    """``as_json``'s object back (``relay status`` renders its report)."""

    def at(key: str) -> datetime | None:
        value = doc.get(key)
        return datetime.fromisoformat(value) if isinstance(value, str) else None

    return Confirmation(str(doc.get("node")), at("received_at"), at("read_at"), at("done_at"), at("last_heard"))


def describe(c: Confirmation, clock: Callable[[datetime], str], lang: str = "nb") -> str:
    """One addressee in words: «mottatt 14:02, lest 14:05», or «ikke bekreftet ennå (sist hørt 13:58)»."""
    w = WORDS["en" if lang == "en" else "nb"]
    said = [
        f"{w[key]} {clock(at)}"
        for key, at in (("received", c.received_at), ("read", c.read_at), ("done", c.done_at))
        if at
    ]
    if said:
        return ", ".join(said)
    heard = f"{w['last_heard']} {clock(c.last_heard)}" if c.last_heard else w["never_heard"]
    return f"{w['unconfirmed']} ({heard})"
