"""Writing at the desk: a form per kind, every error at once, a preview, then signed into the outbox.

The flow: ``GET /write/KIND`` draws the form (from a draft, or a reply's
reference); ``POST /write/KIND`` keeps what was typed as a draft and either
draws the form again with its errors beside the fields, or the preview with
every time written out; ``POST /send/ID`` signs and commits that draft through
``relay.edge.sending``, exactly as ``relay send`` does, and records who wrote it.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from relay.core.model import Kind
from relay.desk import forms
from relay.desk.web import Desk, operator, posted, redirect, tr, values
from relay.edge import sending
from relay.edge.store.desk import Session
from relay.errors import RelayError


def _kind(request: Request) -> Kind:
    try:
        kind = Kind.parse(request.path_params["kind"])
    except RelayError:
        raise HTTPException(404) from None
    if kind not in forms.DESK_KINDS:
        raise HTTPException(404)
    return kind


def _draft_id(text: object) -> int | None:
    return int(text) if isinstance(text, str) and text.isdigit() else None


def _nodes(desk: Desk) -> dict[str, str]:
    roster = desk.home.roster()
    return {node: roster.name_of(node) for node in roster.node_ids}


def form_page(
    desk: Desk,
    request: Request,
    kind: Kind,
    data: dict[str, str],
    draft: int | None,
    errors: dict[str, RelayError] | None = None,
) -> Response:
    lang = desk.language(request)
    shown = {name: error.render(lang) for name, error in (errors or {}).items()}
    return desk.render(
        request,
        "form.html",
        status=422 if shown else 200,
        kind=kind,
        kind_label=forms.kind_label(kind, lang),
        fields=forms.fields(kind, lang),
        data=data,
        errors=shown,
        draft=draft,
        addressees=forms.addressees(_nodes(desk)),
        roles=forms.roles(),
        priorities=forms.priorities(),
        functions=forms.functions(),
        levels=forms.levels(),
        needs_ref=kind in (Kind.BISTANDSSVAR, Kind.KVITTERING),
    )


async def write_form(request: Request) -> Response:
    desk: Desk = request.app.state.desk
    session = operator(desk, request)
    kind = _kind(request)
    draft_id = _draft_id(request.query_params.get("draft"))
    data: dict[str, str] = {"priority": "RUTINE", "to": "ALLE"}
    if draft_id is not None:
        store = desk.home.desk()
        try:
            found = store.draft(session.user, draft_id)
        finally:
            store.close()
        if found is None or found.kind != kind.value:
            raise HTTPException(404)
        data = found.data
    for name in ("ref", "to", "priority"):
        if name in request.query_params:
            data[name] = request.query_params[name]
    return form_page(desk, request, kind, data, draft_id)


def _keep(desk: Desk, session: Session, kind: Kind, data: dict[str, str], draft: int | None) -> int:
    store = desk.home.desk()
    try:
        return store.save_draft(session.user, kind.value, data, desk.now(), draft)
    finally:
        store.close()


async def _typed(desk: Desk, request: Request) -> tuple[Session, Kind, FormData, dict[str, str], int]:
    """An operator's posted form of one kind, its CSRF token checked, kept as a draft
    before anything else is done with it (nothing typed is lost)."""
    session = operator(desk, request)
    kind = _kind(request)
    form = await posted(desk, request, session)
    data = values(form)
    return session, kind, form, data, _keep(desk, session, kind, data, _draft_id(form.get("draft")))


async def write_post(request: Request) -> Response:
    """Keep the draft; then the form with its errors, or the preview."""
    desk: Desk = request.app.state.desk
    session, kind, form, data, draft = await _typed(desk, request)
    if form.get("action") == "save":
        return redirect("/drafts")
    checked = forms.check(kind, data, tuple(_nodes(desk)), desk.now(), desk.zone)
    if not checked.ok:
        return form_page(desk, request, kind, data, draft, checked.errors)
    data = forms.exact(kind, data, checked, desk.zone)
    _keep(desk, session, kind, data, draft)
    try:
        prepared = _prepare(desk, kind, data)
    except RelayError as exc:
        return form_page(desk, request, kind, data, draft, {"message": exc})
    return desk.render(
        request,
        "preview.html",
        kind=kind,
        kind_label=forms.kind_label(kind, desk.language(request)),
        message=prepared.message,
        cost=prepared.cost,
        draft=draft,
        fields=forms.fields(kind, desk.language(request)),
    )


def _prepare(desk: Desk, kind: Kind, data: dict[str, str]) -> sending.Prepared:
    """Check again and sign: what ``relay send`` does before it commits."""
    from relay.daemon import clock_synchronised

    now = desk.now()
    checked = forms.check(kind, data, tuple(_nodes(desk)), now, desk.zone)
    if not checked.ok:
        raise next(iter(checked.errors.values()))
    assert checked.address is not None and checked.priority is not None
    return sending.prepare(
        desk.home,
        kind,
        checked.values,
        to=checked.address,
        priority=checked.priority,
        exercise=desk.exercise,
        ref=checked.ref,
        when=now,
        synced=clock_synchronised() is not False,
    )


async def send_post(request: Request) -> Response:
    """Sign and commit a previewed draft; the daemon sends it."""
    desk: Desk = request.app.state.desk
    session = operator(desk, request)
    await posted(desk, request, session)
    draft_id = int(request.path_params["draft"])
    store = desk.home.desk()
    try:
        draft = store.draft(session.user, draft_id)
        if draft is None:
            raise HTTPException(404)
        kind = Kind.parse(draft.kind)
        try:
            signed = sending.commit(desk.home, _prepare(desk, kind, draft.data))
        except RelayError as exc:
            return form_page(desk, request, kind, draft.data, draft_id, {"message": exc})
        msg = signed.message
        store.record(msg.origin, msg.seq, "skrev", session.user, desk.now())
        store.drop_draft(session.user, draft_id)
    finally:
        store.close()
    return redirect(f"/message/{msg.id}?sent=1")


async def measure(request: Request) -> Response:
    """Size, packets and airtime of the form as typed so far (the page asks while one types),
    and whether it would be refused: the same code as ``relay send``'s first line."""
    desk: Desk = request.app.state.desk
    _, kind, _, data, draft = await _typed(desk, request)
    lang = desk.language(request)
    try:
        prepared = _prepare(desk, kind, data)
    except RelayError as exc:
        return JSONResponse({"draft": draft, "ok": False, "error": exc.render(lang)})
    spent = prepared.cost
    text = tr(
        desk,
        request,
        f"{spent.size} byte, {spent.packets} pakke(r), {spent.airtime_s:.1f} s sendetid",
        f"{spent.size} bytes, {spent.packets} packet(s), {spent.airtime_s:.1f} s airtime",
    )
    warning = (
        tr(
            desk,
            request,
            f"Meldingen trenger {spent.packets} radiopakker. Kortere tekst går raskere og sikrere.",
            f"The message needs {spent.packets} radio packets. Shorter text is faster and safer.",
        )
        if spent.packets > 1
        else ""
    )
    return JSONResponse({"draft": draft, "ok": True, "cost": text, "warning": warning, "packets": spent.packets})


async def drafts_page(request: Request) -> Response:
    desk: Desk = request.app.state.desk
    session = operator(desk, request)
    store = desk.home.desk()
    try:
        found = store.drafts(session.user)
    finally:
        store.close()
    return desk.render(request, "drafts.html", drafts=found)


async def drop_draft(request: Request) -> Response:
    desk: Desk = request.app.state.desk
    session = operator(desk, request)
    await posted(desk, request, session)
    store = desk.home.desk()
    try:
        store.drop_draft(session.user, int(request.path_params["draft"]))
    finally:
        store.close()
    return redirect("/drafts")
