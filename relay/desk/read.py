"""Reading at the desk: the log with its filters, one message in full, and the kvitter buttons.

The log comes from the wall's decoded rows (``Board.held``): with 10,000
messages in the store a page is filtered in memory, not decoded again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from relay.board.server import Board
from relay.core import entry, wire
from relay.core.kinds import SCHEMAS
from relay.core.model import Kind, Message, MessageRef, Priority
from relay.core.picture import Assistance, Coverage
from relay.daemon.confirmed import confirmations, describe, members
from relay.daemon.status import last_heard
from relay.desk import forms
from relay.desk.web import Desk, local_path, operator, posted, reader, redirect
from relay.edge import dictionaries, sending
from relay.edge.store import Stored
from relay.errors import DecodeError, RelayError

PAGE = 200  # rows of the log on one page, newest first


@dataclass(frozen=True)
class Filter:
    """What the log is narrowed to; empty strings narrow nothing."""

    kind: str = ""
    sender: str = ""
    priority: str = ""
    since: str = ""
    until: str = ""
    text: str = ""

    def keeps(self, msg: Message, since: datetime | None, until: datetime | None) -> bool:
        return (
            (not self.kind or msg.kind.value == self.kind)
            and (not self.sender or msg.origin == self.sender)
            and (not self.priority or msg.priority.value == self.priority)
            and (since is None or msg.created >= since)
            and (until is None or msg.created <= until)
            and (not self.text or self.text.lower() in " ".join(_texts(msg)).lower())
        )


def _texts(msg: Message) -> list[str]:
    return [str(v) for _, v in msg.fields if isinstance(v, str)]


def _filter(request: Request) -> Filter:
    q = request.query_params
    return Filter(*(q.get(name, "").strip() for name in ("kind", "sender", "priority", "since", "until", "text")))


def _time(desk: Desk, text: str, errors: dict[str, str], name: str, lang: str) -> datetime | None:
    if not text:
        return None
    try:
        return entry.parse_time(text, desk.now(), desk.zone)
    except RelayError as exc:
        errors[name] = exc.render(lang)
        return None


def board_of(request: Request) -> Board:
    board: Board = request.app.state.board
    return board


async def home(request: Request) -> Response:
    """The log, newest first, narrowed by the filter, with the open requests for assistance."""
    desk: Desk = request.app.state.desk
    reader(desk, request)
    lang = desk.language(request)
    wanted = _filter(request)
    errors: dict[str, str] = {}
    since = _time(desk, wanted.since, errors, "since", lang)
    until = _time(desk, wanted.until, errors, "until", lang)
    board = board_of(request)
    rows, *_ = board.held()
    picture = board.picture()
    shown = [s for _, s in sorted(rows.items(), reverse=True) if wanted.keeps(s.message, since, until)]
    return desk.render(
        request,
        "home.html",
        status=422 if errors else 200,
        rows=shown[:PAGE],
        more=max(0, len(shown) - PAGE),
        wanted=wanted,
        errors=errors,
        kinds=[k.value for k in Kind if k is not Kind.ROSTER],
        senders=list(board.nodes),
        priorities=[p.value for p in Priority],
        assistance=picture.assistance,
        alerts=[a for a in picture.alerts if not a.acknowledged],
        desk_kinds=[(k.value, forms.kind_label(k, lang)) for k in forms.DESK_KINDS],
        partial=request.query_params.get("partial") == "1",
        acked=_acked(request),
    )


def _acked(request: Request) -> str:
    """The receipt just committed (``?acked=MOD-0002``), to say so on the page it returned to."""
    text = request.query_params.get("acked", "")
    return text if re.fullmatch(r"[A-Z0-9]{2,8}-\d{4,}", text) else ""


def _ref(request: Request) -> MessageRef:
    try:
        return MessageRef.parse(request.path_params["ident"])
    except RelayError:
        raise HTTPException(404) from None


async def message(request: Request) -> Response:
    """Every field, the signature checked again against the roster, what each addressee confirmed, who answered."""
    desk: Desk = request.app.state.desk
    reader(desk, request)
    ref = _ref(request)
    roster = desk.home.roster()
    lang = desk.language(request)
    node = desk.home.config().node_id
    store = desk.home.store()
    try:
        held = store.get(ref.origin, ref.seq)
        replies = store.replies(ref.origin, ref.seq)
        found = confirmations(store, held[0], node, members(roster), last_heard(store)) if held else ()
    finally:
        store.close()
    if not held:
        raise HTTPException(404)
    records = desk.home.desk()
    try:
        authors = records.authors(ref.origin, ref.seq)
    finally:
        records.close()
    original = held[0].message
    return desk.render(
        request,
        "message.html",
        held=[(s, _verify(s, roster, lang), _fields(s.message, lang)) for s in held],
        msg=original,
        confirmed=[(c.node, c.confirmed, describe(c, desk.local, lang)) for c in found],
        replies=[r.message for r in replies],
        authors=authors,
        node=node,
        assistance=_assistance(request, original.id),
        sent=request.query_params.get("sent") == "1",
        acked=_acked(request),
        covered=Coverage,
        kind_label=SCHEMAS[original.kind].label,
    )


def _assistance(request: Request, ident: str) -> Assistance | None:
    return next((a for a in board_of(request).picture().assistance if a.source == ident), None)


def _verify(stored: Stored, roster: object, lang: str) -> str:
    """The signature checked now, against the roster in force: a fingerprint, or why not."""
    from relay.core.roster import Roster
    from relay.edge.home import fingerprint

    assert isinstance(roster, Roster)
    try:
        wire.decode(stored.wire, roster, dictionaries.available())
    except DecodeError as exc:
        return f"{'NOT VERIFIED' if lang == 'en' else 'IKKE VERIFISERT'}: {exc.render(lang)}"
    found = next((e for e in roster.entries if e.key_id == stored.key_id), None)
    word, key = ("VERIFIED", "key") if lang == "en" else ("VERIFISERT", "nøkkel")
    return f"{word}: {found.node_id}, {key} {fingerprint(found.public_key)}" if found else word


def _fields(msg: Message, lang: str) -> list[tuple[str, object]]:
    labels = {f.name: f.label for f in forms.fields(msg.kind, lang)} if msg.kind in forms.DESK_KINDS else {}
    return [(labels.get(spec.name, spec.label), msg.get(spec.name)) for spec in SCHEMAS[msg.kind].fields]


async def ack(request: Request) -> Response:
    """KVITTERING LEST or UTFØRT for a message, committed as ``relay ack`` commits it."""
    from relay.daemon import clock_synchronised

    desk: Desk = request.app.state.desk
    session = operator(desk, request)
    form = await posted(desk, request, session)
    ref = _ref(request)
    level = "UTFØRT" if form.get("level") == "UTFØRT" else "LEST"
    store = desk.home.store()
    try:
        held = store.get(ref.origin, ref.seq)
    finally:
        store.close()
    if not held:
        raise HTTPException(404)
    original = held[0].message
    prepared = sending.prepare(
        desk.home,
        Kind.KVITTERING,
        {"level": level},
        to=entry.check_address(original.origin, desk.home.roster().node_ids),
        priority=entry.receipt_priority(original.priority),
        exercise=original.exercise,
        ref=ref,
        when=desk.now(),
        synced=clock_synchronised() is not False,
    )
    signed = sending.commit(desk.home, prepared)
    store = desk.home.store()
    try:
        store.mark_read(ref.origin, ref.seq, desk.now())  # only a committed receipt marks it read
    finally:
        store.close()
    records = desk.home.desk()
    try:
        records.record(signed.message.origin, signed.message.seq, "skrev", session.user, desk.now())
        records.record(ref.origin, ref.seq, f"kvitterte {level}", session.user, desk.now())
    finally:
        records.close()
    back = form.get("back")
    target = local_path(back)
    target = re.sub(r"[?&]acked=[^&]*", "", target)
    return redirect(f"{target}{'&' if '?' in target else '?'}acked={signed.message.id}")
