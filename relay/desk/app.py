"""``relay desk``: the staff's desk, a Starlette application served by uvicorn.

Starlette and Jinja2 (autoescaping) rather than a larger hand-written server:
sessions, forms, CSRF and event streams are the framework's plumbing, and
async means an open wall screen's event stream holds no thread.  Routes:

``/login`` ``/logout``                     accounts (``relay desk user add``)
``/``                                      the log, filtered; open requests; kvitter buttons
``/message/ID`` ``/ack/ID``                one message in full; KVITTERING LEST or UTFØRT
``/write/KIND`` ``/send/DRAFT`` ``/drafts`` the forms, the preview, the drafts
``/wall`` ``/print`` ``/fragment`` ``/events``  the read-only situation board (a token on the LAN)

The server it shares with ``relay board`` (``relay.board.guard``) refuses a
Host the desk was not started for (DNS rebinding), closes idle and slow
connections and caps event streams; every POST needs the session's CSRF token.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relay.board.server import Board, Changes, updates
from relay.desk import auth, read, write
from relay.desk.web import LOGIN_COOKIE, SESSION_COOKIE, Desk, local_path, posted, reader, redirect, tr

STRICT_CSP = "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
WALL_CSP = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'"


async def login_page(request: Request) -> Response:
    desk: Desk = request.app.state.desk
    return _login(desk, request, "", 200)


def _login(desk: Desk, request: Request, error: str, status: int) -> Response:
    token = secrets.token_urlsafe(24)
    response = desk.render(
        request,
        "login.html",
        status=status,
        error=error,
        login_csrf=token,
        next=_next(request.query_params.get("next")),
    )
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=desk.secure_cookies)
    return response


def _next(target: object) -> str:
    return local_path(target)


async def login_post(request: Request) -> Response:
    desk: Desk = request.app.state.desk
    form = await request.form()
    given = form.get("csrf")
    if not auth.same(given if isinstance(given, str) else None, request.cookies.get(LOGIN_COOKIE)):
        raise HTTPException(403, tr(desk, request, "Ugyldig skjema (CSRF).", "Invalid form (CSRF)."))
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    store = desk.home.desk()
    try:
        result = await run_in_threadpool(auth.log_in, store, name, password, desk.now(), desk.session_lifetime)
    finally:
        store.close()
    if result.token is None:
        if result.refusal is auth.Refusal.LOCKED and result.locked_until is not None:
            until = desk.local(result.locked_until)
            error = tr(
                desk,
                request,
                f"For mange feil passord: kontoen er sperret til {until}.",
                f"Too many wrong passwords: the account is locked until {until}.",
            )
            return _login(desk, request, error, 429)
        return _login(desk, request, tr(desk, request, "Feil navn eller passord.", "Wrong name or password."), 401)
    response = redirect(_next(form.get("next")))
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=int(desk.session_lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=desk.secure_cookies,
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


async def logout(request: Request) -> Response:
    desk: Desk = request.app.state.desk
    session = reader(desk, request)
    await posted(desk, request, session)
    store = desk.home.desk()
    try:
        store.close_session(auth.digest(request.cookies.get(SESSION_COOKIE, "")))
    finally:
        store.close()
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


def _wall_allowed(desk: Desk, request: Request) -> None:
    """The wall with its token (a screen nobody logs in to), or with a session."""
    if desk.wall_token is None or auth.same(request.query_params.get("token"), desk.wall_token):
        return
    reader(desk, request)


async def wall(request: Request) -> Response:
    desk: Desk = request.app.state.desk
    _wall_allowed(desk, request)
    board: Board = request.app.state.board
    printed = request.url.path == "/print"
    html = await run_in_threadpool(board.page, printed, desk.language(request))
    return HTMLResponse(html, headers={"Content-Security-Policy": WALL_CSP})


async def fragment(request: Request) -> Response:
    desk: Desk = request.app.state.desk
    _wall_allowed(desk, request)
    board: Board = request.app.state.board
    html = await run_in_threadpool(board.fragment, desk.language(request))
    return HTMLResponse(html, headers={"Content-Security-Policy": WALL_CSP})


async def region_map(request: Request) -> Response:
    """The schematic map: sites of the region file, coloured by their worst function, last heard."""
    desk: Desk = request.app.state.desk
    _wall_allowed(desk, request)
    board: Board = request.app.state.board
    html = await run_in_threadpool(_map_page, desk, board, desk.language(request))
    return HTMLResponse(html, headers={"Content-Security-Policy": WALL_CSP})


def _map_page(desk: Desk, board: Board, lang: str) -> str:
    from relay.board import map as region
    from relay.board.page import ago

    heard = {str(h.get("node")): ago(h.get("ago_s"), lang) for h in board.links().get("heard") or []}
    body = region.svg(desk.sites, region.worst(board.picture()), heard, board.title, lang)
    return region.page(body, board.title, lang)


async def events(request: Request) -> Response:
    """``update`` whenever the store's content changes; a comment now and then."""
    desk: Desk = request.app.state.desk
    _wall_allowed(desk, request)
    return StreamingResponse(updates(request.app.state.changes, request.scope), media_type="text/event-stream")


class SecurityHeaders:
    """CSP (strict unless a route set its own), no caching, no framing, no sniffing, no referrer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", STRICT_CSP)
                headers.setdefault("Cache-Control", "no-store")
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (301, 302, 303) and exc.headers:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail + "\n", status_code=exc.status_code)


def make_app(desk: Desk) -> Starlette:
    """The desk as an ASGI application for one node (``relay.board.guard.Server`` serves it,
    and refuses a Host the desk was not started for)."""
    routes = [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", read.home),
        Route("/message/{ident}", read.message),
        Route("/ack/{ident}", read.ack, methods=["POST"]),
        Route("/write/{kind}", write.write_form, methods=["GET"]),
        Route("/write/{kind}", write.write_post, methods=["POST"]),
        Route("/measure/{kind}", write.measure, methods=["POST"]),
        Route("/send/{draft:int}", write.send_post, methods=["POST"]),
        Route("/drafts", write.drafts_page),
        Route("/drafts/{draft:int}/delete", write.drop_draft, methods=["POST"]),
        Route("/wall", wall),
        Route("/print", wall),
        Route("/fragment", fragment),
        Route("/events", events),
        Route("/map", region_map),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
        ],
        exception_handlers={HTTPException: _error},
    )
    app.state.desk = desk
    app.state.changes = Changes(desk.home)
    app.state.board = Board(
        desk.home, desk.home.config().exercise if desk.exercise is None else desk.exercise, desk.zone
    )
    return app
