#!/usr/bin/env python3
"""The desk with 10,000 messages in the store: page render times, commit-to-screen latency, memory.

    python tools/measure_desk.py [MESSAGES]

Fills Hole's store as tools/measure_board.py does, runs the real ``relay desk``
in its own process, logs in over HTTP and times, from the client: the wall
(first and later renders), the log page and one message page; then, with the
wall's event stream open, a commit on another connection until the stream says
so and the new fragment has arrived; and reads the desk process's RSS.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from relay.cli.main import cli  # noqa: E402
from tests.test_desk import Client  # noqa: E402
from tools.measure_board import add, fill  # noqa: E402

PASSWORD = "maaling-1234"


def timed(client: Client, path: str, times: int) -> list[float]:
    out = []
    for _ in range(times):
        t = time.perf_counter()
        status, _ = client.get(path)
        out.append(time.perf_counter() - t)
        assert status == 200, (path, status)
    return out


def rss(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        lab = Path(tmp) / "lab"
        result = CliRunner().invoke(cli, ["lab", "setup", str(lab), "--scenario", str(ROOT / "examples/modum.toml")])
        assert result.exit_code == 0, result.output
        signers = fill(lab, count)
        hol = lab / "HOL"
        added = CliRunner().invoke(
            cli,
            ["--home", str(hol), "desk", "user", "add", "kari", "--role", "operatør", "--password-stdin"],
            input=PASSWORD + "\n",
        )
        assert added.exit_code == 0, added.output
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "relay", "--home", str(hol), "desk", "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "LANG": "C.UTF-8"},
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().split(": ", 1)[1].strip()
            start = time.perf_counter() - started  # the desk decodes the store before it prints its URL
            idle = rss(proc.pid)
            client = Client(url)
            client.get("/login")
            status, page = client.post("/login", {"name": "kari", "password": PASSWORD, "next": "/"})
            assert status == 303, (status, page[:500])
            first = timed(client, "/", 1)[0]
            wall = timed(client, "/wall", 6)
            log = timed(client, "/", 5)
            one = timed(client, "/message/MOD-0004", 5)
            latency = live_update(url, lambda: add(lab, signers, count))
            now, peak = rss(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        print(
            f"{count} messages: start to URL {start:.1f} s (decodes every message); first log page {first * 1000:.0f} "
            f"ms; wall "
            f"median {statistics.median(wall) * 1000:.0f} ms (max {max(wall) * 1000:.0f}); "
            f"log page (newest 200 of {count}) median "
            f"{statistics.median(log) * 1000:.0f} ms; one message median {statistics.median(one) * 1000:.0f} ms"
        )
        print(f"live update: commit to the new fragment on an open wall {latency * 1000:.0f} ms")
        print(f"desk RSS: {idle[0]:.1f} MiB idle before the first page, {now:.1f} MiB after, peak {peak:.1f} MiB")


def live_update(url: str, commit: object) -> float:
    with urllib.request.urlopen(url + "events", timeout=30) as stream:
        stream.readline()  # retry:
        stream.readline()
        time.sleep(0.3)
        t = time.perf_counter()
        commit()  # type: ignore[operator]
        while stream.readline().decode().strip() != "event: update":
            pass
        with urllib.request.urlopen(url + "fragment", timeout=30) as page:
            page.read()
        return time.perf_counter() - t


if __name__ == "__main__":
    main()
