"""``relay board``: the situation picture of this node's store, served read-only over HTTP.

The standard library's threading HTTP server, no framework: four GET routes,
a few readers (a wall screen, some laptops), nothing to parse but a query
string, and server-sent events are a streamed response.  The store is opened
per request in WAL mode, so the board reads beside the daemon and the CLI.

Routes: ``/`` the live page, ``/print`` the A4 print view, ``/fragment`` what a
live update swaps in, ``/events`` the event stream (``update`` whenever the
store commits).  Bound to anything but loopback, every route needs the
node's board token (``?token=``): Modum's own network is the one under attack.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

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


class BoardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], board: Board, token: str | None) -> None:
        super().__init__(address, _Handler)
        self.board = board
        self.token = token
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        query = f"/?token={self.token}" if self.token else "/"
        return f"http://{shown}:{port}{query}"

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()


class _Handler(BaseHTTPRequestHandler):
    server: BoardServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # the board is quiet; systemd's journal gets errors only

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if not self._allowed(url.query):
            self._send(
                HTTPStatus.FORBIDDEN, "text/plain", "Ingen tilgang: åpne lenken med token som «relay board» skrev ut.\n"
            )
            return
        lang = choose_lang(self.server.board.lang, self.headers.get("Accept-Language", ""))
        routes = {
            "/": lambda: self.server.board.page(lang=lang),
            "/print": lambda: self.server.board.page(printed=True, lang=lang),
            "/fragment": lambda: self.server.board.fragment(lang),
        }
        if url.path == "/events":
            self._events()
        elif url.path in routes:
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", routes[url.path]())
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", "Finnes ikke.\n")

    def _allowed(self, query: str) -> bool:
        if self.server.token is None:
            return True
        given = parse_qs(query).get("token", [""])[0]
        return hmac.compare_digest(given.encode(), self.server.token.encode())

    def _send(self, status: HTTPStatus, kind: str, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind if "charset" in kind else f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header(
            "Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
        )
        self.end_headers()
        self.wfile.write(data)

    def _events(self) -> None:
        """``update`` whenever the store's content changes; a comment now and then."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.close_connection = True
        store = self.server.board.home.store()  # one connection: data_version counts others' commits
        seen = store.data_version()
        quiet_since = time.monotonic()
        try:
            self.wfile.write(b"retry: 1000\n\n")
            self.wfile.flush()
            while not self.server.stopping.wait(POLL_S):
                version = store.data_version()
                if version != seen:
                    seen = version
                    self.wfile.write(f"event: update\ndata: {version}\n\n".encode())
                    self.wfile.flush()
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > KEEPALIVE_S:
                    self.wfile.write(b": keepalive\n\n")
                    self.wfile.flush()
                    quiet_since = time.monotonic()
        except (BrokenPipeError, ConnectionResetError):
            return  # the page went away
        finally:
            store.close()


def serve(home: Home, host: str, port: int, exercise: bool, zone: tzinfo, lang: str | None = None) -> BoardServer:
    """A server bound and ready (``serve_forever`` runs it); ``lang`` None follows each browser."""
    token = board_token(home) if needs_token(host) else None
    board = Board(home, exercise, zone, lang=lang)
    board.picture()  # decode the store once now, not on the first reader's time
    return BoardServer((host, port), board, token)
