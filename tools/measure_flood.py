#!/usr/bin/env python3
"""The board and the desk under idle connections and event streams (issue 24 §6).

    python tools/measure_flood.py [board|desk] [IDLE] [STREAMS]

Builds a lab (``relay lab setup`` with examples/modum.toml), starts ``relay
board`` (or ``relay desk``) on a loopback port as its own process, opens IDLE
TCP connections that never send a byte and STREAMS event streams (spread
over 127.0.0.2.. so that no address is over its cap), then times a
legitimate page request and reads the server's RSS and threads from /proc.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PER_ADDRESS = 8  # streams from one client address (relay.board.guard's default cap)


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else "board"
    idle = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    streams = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    with tempfile.TemporaryDirectory() as tmp:
        lab = Path(tmp) / "lab"
        relay("lab", "setup", str(lab), "--scenario", str(ROOT / "examples/modum.toml"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "relay", "--home", str(lab / "HOL"), command, "--listen", "127.0.0.1:0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "LANG": "C.UTF-8"},
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().split(": ", 1)[1].strip()
            path = "/" if command == "board" else "/wall"
            port = int(url.split(":")[2].split("/")[0])
            print(f"{command}: quiet request {timed(url, path):.3f} s; {usage(proc.pid)}")
            held = open_idle(port, idle) + open_streams(port, streams)
            time.sleep(1.0)
            took = timed(url, path)
            print(f"{command}: with {idle} idle connections and {streams} streams: request {took:.3f} s")
            print(f"{command}: {usage(proc.pid)}; still open at the client: {still_open(held)} of {len(held)}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def relay(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "relay", *args], cwd=ROOT, check=True, capture_output=True)


def open_idle(port: int, count: int) -> list[socket.socket]:
    held = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        held.append(s)
    return held


def open_streams(port: int, count: int) -> list[socket.socket]:
    held = []
    for i in range(count):
        s = socket.socket()
        s.bind((f"127.0.0.{2 + i // PER_ADDRESS}", 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        s.sendall(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        held.append(s)
    return held


def timed(url: str, path: str) -> float:
    base = url.split("?")[0].rstrip("/")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(base + path, timeout=30) as response:
            response.read()
    except OSError as exc:
        print(f"  the request failed: {exc}")
    return time.monotonic() - started


def usage(pid: int) -> str:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return f"RSS {int(status['VmRSS'].split()[0]) // 1024} MiB, {status['Threads'].strip()} threads"


def still_open(held: list[socket.socket]) -> int:
    count = 0
    for s in held:
        s.setblocking(False)
        try:
            count += s.recv(1, socket.MSG_PEEK) != b""
        except BlockingIOError:
            count += 1
        except OSError:
            pass
    return count


if __name__ == "__main__":
    main()
