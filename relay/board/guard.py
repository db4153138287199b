"""What keeps ``relay board`` and ``relay desk`` up on a hostile LAN: one server for both.

Both are ASGI applications served by uvicorn on one event loop (no thread per
connection: an idle socket costs a file descriptor and a few KiB), with:

* a cap on connections (``Limits.max_connections``): over it, the connection
  idle longest is closed for the new one, or the new one gets 503 at once when
  every connection is busy;
* a deadline for a request, head and body (``Limits.head_timeout_s``), from
  the connection's start or its last response: a client that sends nothing,
  or a header or a form a byte at a time (slowloris), is closed with 408; and
  one for the response (``Limits.response_timeout_s``), but an event stream;
* a cap on event streams per token, per client address and in all (429);
* the Host header checked against the names served (400), on loopback too: a
  page on a DNS-rebinding domain resolving to 127.0.0.1 reads nothing.

``Gate`` is the bookkeeping with no I/O; ``GuardedH11`` and ``Guard`` are its
two hooks, in the protocol (connections) and in the ASGI stack (Host, streams).
"""

from __future__ import annotations

import asyncio
import ipaddress
import resource
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from http.cookies import CookieError, SimpleCookie
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from urllib.parse import parse_qs

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from relay.board.page import choose_lang

FD_RESERVE = 256  # descriptors kept for the store (3 a SQLite connection), the worker threads, the log
WORKER_THREADS = 8  # page renders and password checks off the event loop (anyio's default is 40)
STREAM_PATHS = frozenset({"/events"})
STOPPING = "relay.stopping"  # the scope's key for whether the server is stopping
SESSION_COOKIE = "relay_session"  # the desk's session: a stream's token when the query has none


@dataclass(frozen=True)
class Limits:
    """A town hall's wall screens and a few dozen laptops fit many times over; 1,000 idle
    sockets and 200 streams of an attacker cost ~10 MiB and no thread (tools/measure_flood.py)."""

    max_connections: int = 1024
    head_timeout_s: float = 10.0  # a LAN browser sends a request (a form at most) in milliseconds
    response_timeout_s: float = 60.0  # a page, or a login waiting for its password check
    keep_alive_s: int = 5  # uvicorn's idle keep-alive after a response
    streams_per_address: int = 8  # a laptop with a few tabs, a wall screen
    streams_per_token: int = 256  # the board has one token for every screen
    max_streams: int = 512  # at most half the connections: the rest stay for pages


class Conn(Protocol):
    def drop(self) -> None: ...


C = TypeVar("C", bound=Conn)


class Refusal(Enum):
    ADDRESS = "address"
    TOKEN = "token"
    TOTAL = "total"


class Gate(Generic[C]):
    """The connections (idle ones in the order they became idle) and the open streams."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.idle: dict[C, None] = {}  # insertion order: the first is idle longest
        self.busy: set[C] = set()
        self.by_address: Counter[str] = Counter()
        self.by_token: Counter[str] = Counter()
        self.streams = 0

    def arrive(self, conn: C) -> tuple[bool, C | None]:
        """Whether ``conn`` is admitted, and the idle connection to close for it (if any)."""
        if len(self.idle) + len(self.busy) < self.limits.max_connections:
            self.idle[conn] = None
            return True, None
        if not self.idle:
            return False, None
        victim = next(iter(self.idle))
        self.leave(victim)
        self.idle[conn] = None
        return True, victim

    def start(self, conn: C) -> None:
        """A request head arrived: the connection is not idle until its response is out."""
        if conn in self.idle:
            del self.idle[conn]
            self.busy.add(conn)

    def rest(self, conn: C) -> None:
        """The response is out: idle again, the newest idle one."""
        if conn in self.busy:
            self.busy.discard(conn)
            self.idle[conn] = None

    def leave(self, conn: C) -> None:
        self.idle.pop(conn, None)
        self.busy.discard(conn)

    def open_stream(self, token: str, address: str) -> Refusal | None:
        """Count a new event stream in, or say which cap it is over."""
        if self.by_address[address] >= self.limits.streams_per_address:
            return Refusal.ADDRESS
        if self.by_token[token] >= self.limits.streams_per_token:
            return Refusal.TOKEN
        if self.streams >= self.limits.max_streams:
            return Refusal.TOTAL
        self.by_address[address] += 1
        self.by_token[token] += 1
        self.streams += 1
        return None

    def close_stream(self, token: str, address: str) -> None:
        self.by_address[address] -= 1
        self.by_token[token] -= 1
        self.streams -= 1
        for counter, key in ((self.by_address, address), (self.by_token, token)):
            if counter[key] <= 0:
                del counter[key]


def _plain(status: int, reason: str, text: str) -> bytes:
    body = text.encode()
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
    return (head + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


FULL = _plain(503, "Service Unavailable", "Opptatt / busy: for mange tilkoblinger. Prøv igjen.\n")
TOO_SLOW = _plain(408, "Request Timeout", "For treg forespørsel / request too slow.\n")


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with the gate's connection cap and two deadlines: a request (head
    and body) must be in within ``head_timeout_s`` of the connection's start or its last
    response (408), and a response but an event stream out within ``response_timeout_s`` (a
    client that does not read its page holds no buffer for long).  A subclass per server
    (``protocol``) carries its gate and limits."""

    gate: ClassVar[Gate[Any]]
    limits: ClassVar[Limits]
    _deadline: asyncio.TimerHandle | None = None
    _answering = False  # the request is in, the response not yet out

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        admitted, victim = self.gate.arrive(self)
        if victim is not None:
            victim.drop()
        if not admitted:
            transport.write(FULL)
            transport.close()
            return
        self._arm(self.limits.head_timeout_s)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        cycle = self.cycle
        if cycle is not before:  # a request head arrived
            self.gate.start(self)
        if cycle is None or self._answering or cycle.more_body or cycle.response_complete:
            return
        self._answering = True  # the whole request is in
        if self.scope["path"] in STREAM_PATHS:
            self._disarm()  # bounded by the stream caps instead
        else:
            self._arm(self.limits.response_timeout_s)

    def on_response_complete(self) -> None:
        self._answering = False
        if not self.transport.is_closing():
            self.gate.rest(self)
            self._arm(self.limits.head_timeout_s)
        super().on_response_complete()  # may start a pipelined request: handle_events above

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.gate.leave(self)
        super().connection_lost(exc)

    def drop(self) -> None:
        """Closed for a newer connection (this one is idle)."""
        self._disarm()
        self.transport.close()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._answering and (
            self.cycle is None or not self.cycle.response_started or self.cycle.response_complete
        ):
            self.transport.write(TOO_SLOW)  # between responses: a status line still makes sense
        self.transport.close()


def protocol(gate: Gate[Any], limits: Limits) -> type[GuardedH11]:
    return type("GuardedH11ForServer", (GuardedH11,), {"gate": gate, "limits": limits})


# --- the Host header and the stream caps, in the ASGI stack ------------------------------


def host_name(header: str) -> str:
    """The name of a Host header without its port: ``[::1]:8080`` -> ``::1``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else ""
    return header.partition(":")[0] if header.count(":") == 1 else header


def host_allowed(header: str, names: frozenset[str], local: str) -> bool:
    """Whether a request's Host header is one of ``names``, or the very address the request
    came in on (``local``: bound to 0.0.0.0, every interface's address is served, and an
    address cannot be rebound to another machine as a name can)."""
    name = host_name(header)
    if name in names:
        return True
    ours, given = _address(local), _address(name)
    return given is not None and given == ours


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address  # ::ffff:10.0.0.5 on a socket bound to :: is 10.0.0.5


def allowed_hosts(host: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The Host names a request may carry: loopback's, and on the LAN this machine's names and
    addresses, and any given with ``--allow-host``; anything else is a DNS-rebinding page or a
    mistake, refused."""
    names = ["127.0.0.1", "localhost", "::1", *extra]
    loopback = host == "localhost" or _is_loopback_ip(host)
    if not loopback:
        hostname = socket.gethostname()
        names += [hostname, f"{hostname}.local", lan_address()]
        if host not in ("", "0.0.0.0", "::"):
            names.append(host)
    return sorted({n.lower() for n in names})


def _is_loopback_ip(host: str) -> bool:
    address = _address(host)
    return address is not None and address.is_loopback


def lan_address() -> str:
    """This machine's address on its LAN, for the URL to print (never 0.0.0.0).  No packet is sent."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 9))
        return str(probe.getsockname()[0])
    except OSError:
        return socket.gethostname()
    finally:
        probe.close()


def stream_token(scope: dict[str, Any]) -> str:
    """Whose stream: the query's token (the board, the wall), else the desk's session cookie."""
    query: dict[str, list[str]] = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    if query.get("token"):
        return "t:" + query["token"][0]
    cookie = SimpleCookie()
    try:
        cookie.load(_header(scope, b"cookie"))
    except CookieError:  # a malformed cookie is nobody's
        return ""
    return "s:" + str(cookie[SESSION_COOKIE].value) if SESSION_COOKIE in cookie else ""


def _header(scope: dict[str, Any], name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == name), "")


STREAM_REFUSALS = {
    Refusal.ADDRESS: ("For mange åpne strømmer fra denne adressen.", "Too many open streams from this address."),
    Refusal.TOKEN: ("For mange åpne strømmer med denne nøkkelen.", "Too many open streams with this token."),
    Refusal.TOTAL: ("For mange åpne strømmer.", "Too many open streams."),
}
BAD_HOST = (
    "Ukjent vertsnavn: siden svarer bare under sine egne navn (legg til et med --allow-host).",
    "Unknown host name: the page answers only under its own names (add one with --allow-host).",
)


class Guard:
    """ASGI middleware: a Host not served is refused (400), and an event stream over a cap (429)."""

    def __init__(
        self, app: Any, gate: Gate[Any], hosts: list[str], lang: str | None, stopping: Callable[[], bool]
    ) -> None:
        self.app, self.gate, self.hosts, self.lang, self.stopping = app, gate, frozenset(hosts), lang, stopping

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[STOPPING] = self.stopping  # an event stream ends by itself when the server stops
        lang = choose_lang(self.lang, _header(scope, b"accept-language"))
        if not host_allowed(_header(scope, b"host"), self.hosts, (scope.get("server") or ("", 0))[0]):
            await _refuse(send, 400, BAD_HOST[lang == "en"])
            return
        if scope["path"] not in STREAM_PATHS:
            await self.app(scope, receive, send)
            return
        token, address = stream_token(scope), (scope.get("client") or ("?", 0))[0]
        refusal = self.gate.open_stream(token, address)
        if refusal is not None:
            await _refuse(send, 429, STREAM_REFUSALS[refusal][lang == "en"], retry=True)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.close_stream(token, address)


async def _refuse(send: Any, status: int, text: str, retry: bool = False) -> None:
    body = (text + "\n").encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    headers += [(b"cache-control", b"no-store")] + ([(b"retry-after", b"30")] if retry else [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --- the server ----------------------------------------------------------------------------


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (OSError if the address is taken or not ours)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host or "0.0.0.0", port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def descriptors(limits: Limits) -> Limits:
    """Raise the soft limit on open files toward the hard one (systemd's LimitNOFILE) for the
    connection cap, and lower the cap if the hard limit is too low: accept() failing with
    EMFILE would stall every request for a second."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limits.max_connections + FD_RESERVE
    if soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return replace(limits, max_connections=max(16, min(limits.max_connections, soft - FD_RESERVE)))


class Server:
    """An ASGI application on a bound socket, behind the gate; ``run`` blocks until ``stop``
    (from another thread) or SIGINT/SIGTERM (in the main thread)."""

    def __init__(
        self, app: Any, sock: socket.socket, hosts: list[str], limits: Limits | None = None, lang: str | None = None
    ) -> None:
        self.sock = sock
        self.limits = descriptors(limits or Limits())
        self.gate: Gate[Any] = Gate(self.limits)
        config = uvicorn.Config(
            Guard(app, self.gate, hosts, lang, lambda: self.uvicorn.should_exit),
            http=protocol(self.gate, self.limits),
            log_level="warning",
            access_log=False,
            proxy_headers=False,  # no proxy in front: X-Forwarded-For must not choose the address
            lifespan="off",
            timeout_keep_alive=self.limits.keep_alive_s,
            timeout_graceful_shutdown=1,
        )
        self.uvicorn = uvicorn.Server(config)
        self._running, self._done = threading.Event(), threading.Event()

    def run(self) -> None:
        self._running.set()
        try:
            asyncio.run(self._serve())
        finally:
            self._done.set()

    async def _serve(self) -> None:
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        await self.uvicorn.serve(sockets=[self.sock])

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        if self._running.is_set():
            self._done.wait(10)
