"""The board and the desk under a flood on the LAN (issue 24 §6): idle and slow connections,
event streams, and a page on a DNS-rebinding domain.

The real commands on a loopback port, each in its own process, as in
tests/test_board.py; many client addresses are 127.0.0.2, 127.0.0.3, ... (all
loopback on Linux).  The gate's bookkeeping is tested without a socket first.
"""

from __future__ import annotations

import configparser
import resource
import socket
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from relay.board.guard import Gate, Limits, Refusal, host_allowed, host_name
from tests import test_cli
from tests.test_board import serving_process

lab_template = test_cli.lab_template
lab = test_cli.lab

REPO = Path(__file__).resolve().parents[1]
BANNERS = {"board": "Situasjonsbildet: ", "desk": "Skrivebordet: "}
PAGES = {"board": "/", "desk": "/wall"}  # on loopback neither needs a token or a login


# --- the gate, without I/O ---------------------------------------------------------------


class Conn:
    def __init__(self) -> None:
        self.dropped = False

    def drop(self) -> None:
        self.dropped = True


def test_over_the_cap_the_connection_idle_longest_makes_room_and_busy_ones_are_kept() -> None:
    gate: Gate[Conn] = Gate(Limits(max_connections=3))
    a, b, c, d, e = (Conn() for _ in range(5))
    for conn in (a, b, c):
        assert gate.arrive(conn) == (True, None)
    gate.start(a)  # a request in progress
    gate.start(b)
    gate.rest(b)  # b answered: idle again, the newest idle one
    assert gate.arrive(d) == (True, c)  # c idle longest (a is busy, b rested after c arrived)
    assert gate.arrive(e) == (True, b)
    gate.start(d)
    gate.start(e)
    assert gate.arrive(Conn()) == (False, None)  # all busy: the newcomer is refused, not queued
    gate.leave(a)
    assert gate.arrive(Conn()) == (True, None)


def test_streams_are_capped_per_address_per_token_and_in_all() -> None:
    gate: Gate[Conn] = Gate(Limits(streams_per_address=2, streams_per_token=3, max_streams=4))
    assert [gate.open_stream("t", "10.0.0.1") for _ in range(3)] == [None, None, Refusal.ADDRESS]
    assert gate.open_stream("t", "10.0.0.2") is None
    assert gate.open_stream("t", "10.0.0.3") is Refusal.TOKEN
    assert gate.open_stream("u", "10.0.0.3") is None
    assert gate.open_stream("v", "10.0.0.4") is Refusal.TOTAL
    gate.close_stream("t", "10.0.0.1")
    assert gate.open_stream("t", "10.0.0.1") is None
    assert gate.by_address["10.0.0.1"] == 2 and gate.streams == 4


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:8080", "localhost"),
        ("[::1]:8080", "::1"),
        ("10.0.0.5", "10.0.0.5"),
        ("Evil.Example", "evil.example"),
    ],
)
def test_the_host_header_is_read_without_its_port(header: str, name: str) -> None:
    assert host_name(header) == name


def test_a_host_is_one_of_the_names_or_the_address_the_request_came_in_on() -> None:
    names = frozenset({"localhost", "127.0.0.1", "::1", "rådhus-pi"})
    assert host_allowed("localhost:8080", names, "127.0.0.1")
    assert host_allowed("rådhus-pi", names, "10.0.0.5")
    assert host_allowed("10.0.0.5:8080", names, "10.0.0.5")  # bound to 0.0.0.0, reached on eth0
    assert host_allowed("192.168.1.7", names, "::ffff:192.168.1.7")  # bound to ::
    assert not host_allowed("10.0.0.6:8080", names, "10.0.0.5")
    assert not host_allowed("evil.example", names, "10.0.0.5")
    assert not host_allowed("", names, "127.0.0.1")


# --- the real commands under a flood -------------------------------------------------------


@contextmanager
def running(home: Path, command: str) -> Iterator[tuple[int, int]]:
    """``relay COMMAND`` on a loopback port: (its port, its process id)."""
    with serving_process(home, command, BANNERS[command]) as (url, pid):
        yield urllib.parse.urlsplit(url).port or 80, pid


def request(port: int, path: str, host: str | None = None, source: str = "127.0.0.1") -> socket.socket:
    """A connection from ``source`` that has sent one GET."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    host = f"127.0.0.1:{port}" if host is None else host
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return sock


def status(sock: socket.socket) -> int:
    """The status code of the response on ``sock`` (0 if it closed without one)."""
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(1024)
        if not chunk:
            return 0
        head += chunk
    return int(head.split(b" ", 2)[1])


def get(port: int, path: str, host: str | None = None, source: str = "127.0.0.1") -> int:
    sock = request(port, path, host, source)
    try:
        return status(sock)
    finally:
        sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (what it sent before is read and dropped)."""
    sock.setblocking(False)
    try:
        while sock.recv(4096):
            pass
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def unit(command: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string((REPO / "hw" / f"relay-{command}.service").read_text())
    return parser["Service"]


def process(pid: int) -> tuple[int, int]:
    """(threads, RSS in MiB) of a running process."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) // 1024


@pytest.fixture
def many_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip("needs 4096 open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4096), hard))


@pytest.mark.parametrize("command", ["board", "desk"])
def test_a_page_is_served_at_once_beside_1000_idle_connections_and_200_streams_within_the_units_limits(
    lab: Path, command: str, many_files: None
) -> None:
    service = unit(command)
    assert int(service["LimitNOFILE"]) >= Limits().max_connections + 256
    with running(lab / "HOL", command) as (port, pid):
        idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(1000)]
        streams = [request(port, "/events", source=f"127.0.0.{2 + i // 8}") for i in range(200)]
        assert [status(s) for s in streams[:8]] == [200] * 8
        started = time.monotonic()
        assert get(port, PAGES[command]) == 200
        took = time.monotonic() - started
        threads, rss = process(pid)
        time.sleep(0.2)
        dropped = sum(closed_by_server(s) for s in idle)
        for s in idle + streams:
            s.close()
    assert took < 2.0
    assert threads <= int(service["TasksMax"])  # a thread per connection was 1,201
    assert rss <= int(service["MemoryMax"].rstrip("M"))
    assert dropped >= 1200 - Limits().max_connections  # the idle ones longest made room for the rest


@pytest.mark.parametrize("command", ["board", "desk"])
def test_streams_over_the_cap_of_one_address_or_one_token_are_refused_with_429(lab: Path, command: str) -> None:
    limits = Limits()
    with running(lab / "HOL", command) as (port, _):
        mine = [request(port, "/events") for _ in range(limits.streams_per_address)]
        assert [status(s) for s in mine] == [200] * limits.streams_per_address
        assert get(port, "/events") == 429  # the 9th from this address
        assert get(port, "/events", source="127.0.0.99") == 200  # another address still gets one
        assert get(port, PAGES[command]) == 200  # and pages are served
        if command == "board":  # the board's one token shared by every screen: many addresses
            token = [
                request(port, "/events?token=x", source=f"127.0.1.{1 + i // limits.streams_per_address}")
                for i in range(limits.streams_per_token)
            ]
            assert {status(s) for s in token} == {200}
            assert get(port, "/events?token=x", source="127.0.2.1") == 429
            assert get(port, "/events?token=y", source="127.0.2.1") == 200
            mine += token
        for s in mine:
            s.close()


@pytest.mark.parametrize("command", ["board", "desk"])
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.nip.io", ""])
def test_a_rebinding_host_header_is_refused_on_loopback(lab: Path, command: str, host: str) -> None:
    with running(lab / "HOL", command) as (port, _):
        assert get(port, PAGES[command], host=host) == 400
        assert get(port, "/events", host=host) == 400
        assert get(port, PAGES[command], host=f"localhost:{port}") == 200
        assert get(port, PAGES[command], host=f"[::1]:{port}") == 200


def test_a_request_sent_a_byte_at_a_time_is_cut_off_with_408(lab: Path) -> None:
    """Slowloris against both servers at once (one wait of the 10 s deadline): a request head,
    and the desk's login form, a byte at a time."""
    head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 40
    form = b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    with running(lab / "HOL", "board") as (board, _), running(lab / "MOD", "desk") as (desk, _):
        slow = [(board, b"", head), (desk, b"", head), (desk, form + b"Content-Length: 60\r\n\r\n", b"n" * 60)]
        socks = [socket.create_connection(("127.0.0.1", port), timeout=20) for port, _, _ in slow]
        for sock, (_, start, _) in zip(socks, slow, strict=True):
            sock.sendall(start)
        started = time.monotonic()
        cut: set[int] = set()
        for step in range(40):
            for i, (sock, (_, _, dribble)) in enumerate(zip(socks, slow, strict=True)):
                if i in cut:
                    continue
                try:
                    sock.sendall(dribble[step : step + 1])
                except OSError:
                    cut.add(i)
            if len(cut) == len(socks) or time.monotonic() - started > 15:
                break
            time.sleep(0.3)
        answers = [sock.recv(200) for sock in socks]
        took = time.monotonic() - started
        for sock in socks:
            sock.close()
    assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers
    assert Limits().head_timeout_s - 1 <= took <= Limits().head_timeout_s + 3


def test_a_response_not_out_in_time_is_cut_off_but_an_event_stream_is_not() -> None:
    """In process, with a deadline of 1 s: a page that takes for ever (or a client that never
    reads it) holds its connection no longer; an event stream stays open."""
    import asyncio
    import threading

    from relay.board import guard

    async def slow(scope: dict[str, object], receive: object, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        await asyncio.sleep(30)

    sock = guard.bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = guard.Server(slow, sock, guard.allowed_hosts("127.0.0.1"), Limits(response_timeout_s=1.0))
    threading.Thread(target=server.run, daemon=True).start()
    try:
        page, stream = request(port, "/"), request(port, "/events")
        assert status(page) == 200 and status(stream) == 200
        time.sleep(1.5)
        assert closed_by_server(page) and not closed_by_server(stream)
        page.close()
        stream.close()
    finally:
        server.stop()
