"""``relay board``: the situation picture of this node's store, served read-only over HTTP.

Four GET routes, a few readers (a wall screen, some laptops), server-sent
events as a streamed response; a small Starlette application on the server
it shares with the desk (``relay.board.guard``: one event loop, no thread per
connection, idle and slow connections closed, streams capped, foreign Host
headers refused).  The store is opened per render in WAL mode, so the board
reads beside the daemon and the CLI.

Routes: ``/`` the live page, ``/print`` the A4 print view, ``/fragment`` what a
live update swaps in, ``/events`` the event stream (``update`` whenever the
store commits).  Bound to anything but loopback, every route needs the
node's board token (``?token=``): Modum's own network is the one under attack.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from relay.board import guard
from relay.board.page import choose_lang, fragment, page
from relay.core.picture import Entry, Picture, build
from relay.daemon.confirmed import members
from relay.daemon.status import last_heard
from relay.edge.home import Home
from relay.edge.store import Stored

# What ``Board.held`` reads: rows by rowid, their conflict flags, (origin, seq) -> [(holder, since)], last heard.
Held = tuple[dict[int, Stored], dict[int, bool], dict[tuple[str, int], list[tuple[str, datetime]]], dict[str, datetime]]

POLL_S = 0.5  # how often an event stream looks for news in the store
KEEPALIVE_S = 15.0
PICTURE_S = 10.0  # a picture is rebuilt for news at once, and for the clock (ages, FORSINKET) this often
# Nothing from outside the Pi: the page's own inline style and script, requests to itself.
CSP = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"


def needs_token(host: str) -> bool:
    """Any address but loopback needs the token."""
    if host == "localhost":
        return False
    if host == "":
        return True  # every interface
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name: it may resolve to anything


def board_token(home: Home) -> str:
    """The node's board token, made (0600) on first use and kept in its home."""
    path = home.path / "board.token"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = secrets.token_urlsafe(18)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(token + "\n")
        return token


class Board:
    """What the routes serve: the picture of one home's store."""

    def __init__(
        self,
        home: Home,
        exercise: bool,
        zone: tzinfo,
        clock: Callable[[], datetime] | None = None,
        lang: str | None = None,
    ) -> None:
        self.home = home
        self.lang = lang  # --lang; None: each browser's Accept-Language
        self.exercise = exercise
        self.zone = zone
        self.clock = clock or (lambda: datetime.now(UTC))
        config = home.config()
        roster = home.roster()
        self.title = config.name
        self.node_id = config.node_id
        self.nodes = roster.node_ids
        self.members = members(roster)  # who must confirm: a revoked key never will
        self._rows: dict[int, Stored] = {}  # rowid -> its decoded row
        self._picture: tuple[tuple[object, ...], Picture] | None = None  # (what it was built from, it)
        self._lock = threading.Lock()
        self._synced: bool | None = None
        self._synced_at = float("-inf")

    def held(self) -> Held:
        """The store's rows as they are now (by rowid), their conflict flags, who holds what
        since when, and whom the daemon last heard when; only rows not seen before are
        decoded (10,000 messages decode in about a second)."""
        store = self.home.store()
        try:
            with self._lock:
                states = store.row_states()
                for gone in set(self._rows) - set(states):
                    del self._rows[gone]  # quarantined since
                after = max(self._rows, default=0)
                for rowid, stored in store.rows_after(after):
                    self._rows[rowid] = stored
                rows = dict(self._rows)
            holders = store.all_holders()
            heard = last_heard(store)
        finally:
            store.close()
        return rows, states, holders, heard

    def picture(self) -> Picture:
        """From the store as it is now (the rest of a render takes a tenth of a first decode).  The
        last picture is reused while the store holds the same rows, flags and receipts and the
        clock is in the same PICTURE_S slot: a page, a fragment and the desk's pages at one time
        build it once."""
        rows, states, holders, heard = self.held()
        now = self.clock()
        key = (
            max(rows, default=0),
            len(rows),
            sum(states.values()),
            sum(map(len, holders.values())),
            tuple(sorted(heard.items())),
        )
        slot = now.timestamp() // PICTURE_S
        with self._lock:
            if self._picture is not None and self._picture[0] == (*key, slot):
                return self._picture[1]
        entries = [  # this store holds each of its rows since it entered
            Entry(
                s.message,
                states.get(rowid, False),
                (*holders.get((s.message.origin, s.message.seq), ()), (self.node_id, s.received_at)),
            )
            for rowid, s in sorted(rows.items())
        ]
        picture = build(entries, now, self.nodes, self.members, self.exercise, heard)
        with self._lock:
            self._picture = ((*key, slot), picture)
        return picture

    def page(self, printed: bool = False, lang: str = "nb") -> str:
        return page(self.picture(), self.title, self.zone, printed=printed, links=self.links(lang), lang=lang)

    def fragment(self, lang: str = "nb") -> str:
        return fragment(self.picture(), self.zone, self.links(lang), lang)

    def links(self, lang: str = "nb") -> dict[str, Any]:
        """``relay status``'s report: last heard, airtime, outbox, the daemon's warnings.
        Whether the clock is synchronised is asked (a subprocess) at most once a minute."""
        from relay import daemon

        if time.monotonic() - self._synced_at > 60.0:
            self._synced, self._synced_at = daemon.clock_synchronised(), time.monotonic()
        return daemon.status_report(self.home, time.time(), self._synced, lang)


class Changes:
    """The store's ``data_version``, asked at most once per POLL_S however many streams wait:
    200 open pages cost one query a poll and one SQLite connection (on the event loop's thread)."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self._store: Any = None
        self._version = 0
        self._at = float("-inf")

    def version(self) -> int:
        now = time.monotonic()
        if now - self._at >= POLL_S / 2:
            if self._store is None:
                self._store = self.home.store()  # one connection: data_version counts others' commits
            self._version, self._at = self._store.data_version(), now
        return int(self._version)


async def updates(changes: Changes, scope: Mapping[str, Any]) -> AsyncIterator[bytes]:
    """An event stream: ``update`` whenever the store's content changes, a comment now and then.
    It ends when the page goes away (the response is cancelled) or the server stops."""
    stopping: Callable[[], bool] = scope.get(guard.STOPPING, lambda: False)
    seen = changes.version()
    yield b"retry: 1000\n\n"
    quiet = 0.0
    while not stopping():
        await asyncio.sleep(POLL_S)
        version = changes.version()
        if version != seen:
            seen, quiet = version, 0.0
            yield f"event: update\ndata: {version}\n\n".encode()
        elif (quiet := quiet + POLL_S) >= KEEPALIVE_S:
            quiet = 0.0
            yield b": keepalive\n\n"


FORBIDDEN = "Ingen tilgang: åpne lenken med token som «relay board» skrev ut.\n"


def board_app(board: Board, token: str | None) -> Starlette:
    """The board's four routes as an ASGI application (``guard.Server`` serves it)."""
    changes = Changes(board.home)

    def allowed(request: Request) -> bool:
        return token is None or hmac.compare_digest(request.query_params.get("token", "").encode(), token.encode())

    def html(render: Callable[[Board, str], str]) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            if not allowed(request):
                return PlainTextResponse(FORBIDDEN, 403, headers={"Cache-Control": "no-store"})
            lang = choose_lang(board.lang, request.headers.get("accept-language", ""))
            body = await run_in_threadpool(render, board, lang)
            return HTMLResponse(body, headers={"Cache-Control": "no-store", "Content-Security-Policy": CSP})

        return handle

    async def events(request: Request) -> Response:
        if not allowed(request):
            return PlainTextResponse(FORBIDDEN, 403, headers={"Cache-Control": "no-store"})
        stream = updates(changes, request.scope)
        return StreamingResponse(stream, media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def missing(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("Finnes ikke.\n", 404)

    routes = [
        Route("/", html(lambda b, lang: b.page(lang=lang))),
        Route("/print", html(lambda b, lang: b.page(printed=True, lang=lang))),
        Route("/fragment", html(lambda b, lang: b.fragment(lang))),
        Route("/events", events),
    ]
    return Starlette(routes=routes, exception_handlers={404: missing})


class BoardServer:
    """The board bound to ``address`` and ready; ``serve_forever`` runs it until ``shutdown``."""

    def __init__(
        self,
        address: tuple[str, int],
        board: Board,
        token: str | None,
        hosts: tuple[str, ...] = (),
        limits: guard.Limits | None = None,
    ) -> None:
        self.board = board
        self.token = token
        self.socket = guard.bind(*address)
        self.server_address = self.socket.getsockname()[:2]
        allowed = guard.allowed_hosts(address[0], hosts)
        self.server = guard.Server(board_app(board, token), self.socket, allowed, limits, board.lang)

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        query = f"/?token={self.token}" if self.token else "/"
        return f"http://{shown}:{port}{query}"

    def serve_forever(self, poll_interval: float = 0.1) -> None:
        self.server.run()

    def shutdown(self) -> None:
        self.server.stop()

    def server_close(self) -> None:
        self.socket.close()


def serve(
    home: Home, host: str, port: int, exercise: bool, zone: tzinfo, lang: str | None = None, hosts: tuple[str, ...] = ()
) -> BoardServer:
    """A server bound and ready (``serve_forever`` runs it); ``lang`` None follows each browser;
    ``hosts`` are further names the board may be reached under (``--allow-host``)."""
    token = board_token(home) if needs_token(host) else None
    board = Board(home, exercise, zone, lang=lang)
    board.picture()  # decode the store once now, not on the first reader's time
    return BoardServer((host, port), board, token, hosts)
