"""The regional situation picture ("felles situasjonsbilde") from the verified log.

Pure: it takes the messages a store holds (every one verified when it entered)
with their receipts, and the time, and returns what the crisis staff decide
from: the status matrix, the latest SITREP per node, the NØD and HASTER that
wait for acknowledgement, the assistance requests and how far they are
covered, the rumours and the decisions.  Nothing here reads a store or
renders a page; ``relay board`` (issue 14) does that around it.

Facts come only from messages; a message whose id is in conflict (two
different messages signed under one number, ``Stored.conflict``) is carried
but flagged, never taken as the state of a cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from relay.core.confirm import Confirmation, addressees, confirm
from relay.core.model import Answer, Function, Kind, Level, Message, Priority, ReceiptLevel, RumourState

STATUS_STALE_AFTER = timedelta(hours=3)  # a status cell older than this gets an age warning
SITREP_GRACE = timedelta(minutes=15)  # a report this late after its «neste rapport» is overdue


class Coverage(Enum):
    OPEN = "ÅPEN"
    PARTLY = "DELVIS DEKKET"
    COVERED = "DEKKET"
    CLOSED = "AVSLUTTET"  # the requester's own KVITTERING UTFØRT: done, off the list of open requests


@dataclass(frozen=True, slots=True)
class Entry:
    """One held message as the picture needs it."""

    message: Message
    conflict: bool = False
    holders: tuple[tuple[str, datetime], ...] = ()  # (node, since when) shown to hold it: MOTTATT


@dataclass(frozen=True, slots=True)
class Cell:
    node: str
    function: Function
    level: Level
    note: str | None
    at: datetime
    source: str  # the STATUS message's id
    stale: bool
    conflict: bool = False


@dataclass(frozen=True, slots=True)
class Sitrep:
    node: str
    source: str
    report_no: int
    at: datetime
    situation: str
    needs: str
    next_report: datetime
    overdue: bool
    conflict: bool = False


@dataclass(frozen=True, slots=True)
class Alert:
    """A NØD or HASTER: on the banner until every node it was sent to acknowledged it."""

    source: str
    node: str
    priority: Priority
    kind: Kind
    text: str
    at: datetime
    confirmations: tuple[Confirmation, ...]  # one per addressee, in the roster's order
    acknowledged: bool
    conflict: bool = False

    @property
    def addressees(self) -> tuple[str, ...]:
        return tuple(c.node for c in self.confirmations)


@dataclass(frozen=True, slots=True)
class Offer:
    source: str
    node: str
    answer: Answer
    offer: str
    eta: datetime | None


@dataclass(frozen=True, slots=True)
class Assistance:
    source: str
    node: str
    resource: str
    quantity: int
    task: str
    at: datetime
    offers: tuple[Offer, ...]
    coverage: Coverage


@dataclass(frozen=True, slots=True)
class Rumour:
    source: str
    node: str
    claim: str
    state: RumourState
    response: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    source: str
    node: str
    decision: str
    responsible: str
    effective: datetime
    at: datetime


@dataclass(frozen=True, slots=True)
class Picture:
    at: datetime
    nodes: tuple[str, ...]
    functions: tuple[Function, ...]  # the columns: every function any STATUS reported
    cells: Mapping[tuple[str, Function], Cell]
    sitreps: tuple[Sitrep, ...]  # the latest per node, in node order
    alerts: tuple[Alert, ...]  # unacknowledged first, newest first
    assistance: tuple[Assistance, ...]  # open first, then partly covered, then covered
    rumours: tuple[Rumour, ...]  # newest first
    decisions: tuple[Decision, ...]  # by when they take effect
    exercise: bool  # True: every message in it is ØVELSE
    conflicts: tuple[str, ...] = field(default=())  # ids held twice with different content


def build(
    entries: Iterable[Entry],
    now: datetime,
    nodes: Sequence[str],
    members: Mapping[str, tuple[str, ...]],
    exercise: bool,
    heard: Mapping[str, datetime] | None = None,
) -> Picture:
    """The picture of the ØVELSE (``exercise``) or the REELL traffic, never both mixed.

    ``nodes`` orders the rows (the roster's nodes); ``members`` names each
    addressing group's nodes (ALLE, KOMMUNER), for who must acknowledge;
    ``heard`` says when each node was last heard (for whom an alert waits)."""
    held = [e for e in entries if e.message.exercise == exercise]
    by_id: dict[str, list[Entry]] = {}
    for entry in held:
        by_id.setdefault(entry.message.id, []).append(entry)
    replies = _replies(held)
    cells = _cells(held, now)
    return Picture(
        at=now,
        nodes=tuple(nodes),
        functions=tuple(f for f in Function if any(key[1] is f for key in cells)),
        cells=cells,
        sitreps=_sitreps(held, now, nodes),
        alerts=_alerts(held, replies, members, now, heard or {}),
        assistance=_assistance(held, replies),
        rumours=_rumours(held),
        decisions=_decisions(held),
        exercise=exercise,
        conflicts=tuple(sorted(i for i, found in by_id.items() if len(found) > 1 or found[0].conflict)),
    )


def _replies(held: Sequence[Entry]) -> dict[str, list[Message]]:
    out: dict[str, list[Message]] = {}
    for entry in held:
        ref = entry.message.ref
        if ref is not None and not entry.conflict:
            out.setdefault(str(ref), []).append(entry.message)
    return out


def _cells(held: Sequence[Entry], now: datetime) -> dict[tuple[str, Function], Cell]:
    cells: dict[tuple[str, Function], Cell] = {}
    for entry in sorted((e for e in held if e.message.kind is Kind.STATUS), key=lambda e: e.message.created):
        msg = entry.message
        rows = msg.get("rows")
        assert isinstance(rows, tuple)
        for row in rows:
            key = (msg.origin, row.function)
            cells[key] = Cell(
                msg.origin,
                row.function,
                row.level,
                row.note,
                msg.created,
                msg.id,
                now - msg.created > STATUS_STALE_AFTER,
                entry.conflict,
            )
    return cells


def _sitreps(held: Sequence[Entry], now: datetime, nodes: Sequence[str]) -> tuple[Sitrep, ...]:
    latest: dict[str, Entry] = {}
    for entry in held:
        msg = entry.message
        if msg.kind is not Kind.SITREP:
            continue
        best = latest.get(msg.origin)
        if best is None or _report_key(msg) > _report_key(best.message):
            latest[msg.origin] = entry
    order = {n: i for i, n in enumerate(nodes)}
    out = []
    for origin, entry in sorted(latest.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
        msg = entry.message
        next_report = msg.get("next_report")
        report_no = msg.get("report_no")
        assert isinstance(next_report, datetime) and isinstance(report_no, int)
        out.append(
            Sitrep(
                origin,
                msg.id,
                report_no,
                msg.created,
                _text(msg.get("situation")),
                _text(msg.get("needs")),
                next_report,
                now > next_report + SITREP_GRACE,
                entry.conflict,
            )
        )
    return tuple(out)


def _report_key(msg: Message) -> tuple[int, datetime, int]:
    number = msg.get("report_no")
    return (number if isinstance(number, int) else 0, msg.created, msg.seq)


def _alerts(
    held: Sequence[Entry],
    replies: Mapping[str, list[Message]],
    members: Mapping[str, tuple[str, ...]],
    now: datetime,
    heard: Mapping[str, datetime],
) -> tuple[Alert, ...]:
    out = []
    for entry in held:
        msg = entry.message
        if msg.priority not in (Priority.NOD, Priority.HASTER) or msg.kind in (Kind.KVITTERING, Kind.ROSTER):
            continue
        if msg.expires is not None and msg.expires < now:
            continue  # no longer in force: off the banner, still in the log
        found = confirm(msg, addressees(msg, members), entry.holders, replies.get(msg.id, ()), heard)
        out.append(
            Alert(
                msg.id,
                msg.origin,
                msg.priority,
                msg.kind,
                msg.main_text,
                msg.created,
                found,
                bool(found) and all(c.acknowledged for c in found),
                entry.conflict,
            )
        )
    return tuple(sorted(out, key=lambda a: (a.acknowledged, a.priority.rank, -a.at.timestamp(), a.source)))


def _assistance(held: Sequence[Entry], replies: Mapping[str, list[Message]]) -> tuple[Assistance, ...]:
    out = []
    for entry in held:
        msg = entry.message
        if msg.kind is not Kind.BISTAND:
            continue
        offers = []
        for reply in sorted(replies.get(msg.id, []), key=lambda m: m.created):
            answer = reply.get("answer")
            if reply.kind is Kind.BISTANDSSVAR and isinstance(answer, Answer):
                eta = reply.get("eta")
                offers.append(
                    Offer(
                        reply.id,
                        reply.origin,
                        answer,
                        _text(reply.get("offer")),
                        eta if isinstance(eta, datetime) else None,
                    )
                )
        answers = {o.answer for o in offers}
        coverage = (
            Coverage.CLOSED
            if any(_closes(reply, msg.origin) for reply in replies.get(msg.id, []))
            else Coverage.COVERED
            if Answer.INNVILGET in answers
            else Coverage.PARTLY
            if Answer.DELVIS in answers
            else Coverage.OPEN
        )
        quantity = msg.get("quantity")
        out.append(
            Assistance(
                msg.id,
                msg.origin,
                _text(msg.get("resource")),
                quantity if isinstance(quantity, int) else 0,
                _text(msg.get("task")),
                msg.created,
                tuple(offers),
                coverage,
            )
        )
    rank = {Coverage.OPEN: 0, Coverage.PARTLY: 1, Coverage.COVERED: 2, Coverage.CLOSED: 3}
    return tuple(sorted(out, key=lambda a: (rank[a.coverage], a.at, a.source)))


def _closes(reply: Message, requester: str) -> bool:
    """The requester's own KVITTERING UTFØRT on its BISTAND closes it."""
    return reply.kind is Kind.KVITTERING and reply.origin == requester and reply.get("level") is ReceiptLevel.UTFORT


def _rumours(held: Sequence[Entry]) -> tuple[Rumour, ...]:
    """Each rumour once: a RYKTE that refers to an earlier one replaces it."""
    rumours = sorted((e.message for e in held if e.message.kind is Kind.RYKTE), key=lambda m: m.created)
    replaced = {str(m.ref) for m in rumours if m.ref is not None}
    out = []
    for msg in rumours:
        if msg.id in replaced:
            continue
        state = msg.get("state")
        assert isinstance(state, RumourState)
        out.append(Rumour(msg.id, msg.origin, _text(msg.get("claim")), state, _text(msg.get("response")), msg.created))
    return tuple(sorted(out, key=lambda r: (-r.at.timestamp(), r.source)))


def _decisions(held: Sequence[Entry]) -> tuple[Decision, ...]:
    out = []
    for entry in held:
        msg = entry.message
        if msg.kind is not Kind.BESLUTNING:
            continue
        effective = msg.get("effective")
        assert isinstance(effective, datetime)
        out.append(
            Decision(
                msg.id, msg.origin, _text(msg.get("decision")), _text(msg.get("responsible")), effective, msg.created
            )
        )
    return tuple(sorted(out, key=lambda d: (d.effective, d.at, d.source)))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
