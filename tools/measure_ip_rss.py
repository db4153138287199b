#!/usr/bin/env python3
"""The daemon's memory and CPU with the IP path on, against radio only.

    python tools/measure_ip_rss.py [BATCH]

Starts a real mosquitto (the tests' loopback broker, tests/broker.py), ``relay
hw-sim`` with MOD and RIN on the radio, and three real daemons: MOD (radio
only), RIN (radio and the broker), SF (``--radio none``, the broker only).  It
samples VmRSS and CPU from /proc while idle for 30 s, then while MOD commits
BATCH messages (default 40: the burst a store admits from one origin at once;
more wait for the admission rate, 240 an hour in real time even at x20) and
until SF holds them all, and prints each
daemon's figures.  The mesh runs at the tests' speed-up (x20).
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.core import wire  # noqa: E402
from relay.core.compose import compose  # noqa: E402
from relay.core.model import Kind, Priority  # noqa: E402
from relay.edge import dictionaries  # noqa: E402
from tests.test_daemon import _wait_for  # noqa: E402
from tests.test_ip import gateway_lab  # noqa: E402


def rss_kb(pid: int, key: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


def main() -> None:
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    with tempfile.TemporaryDirectory(prefix="relay-ip-rss-") as tmp, gateway_lab(Path(tmp)) as (the_lab, _):
        pids = {n: p.pid for n, p in the_lab.daemons.items()}
        time.sleep(5.0)
        cpu0 = {n: cpu_s(p) for n, p in pids.items()}
        peak = dict.fromkeys(pids, 0)
        start = time.monotonic()
        while time.monotonic() - start < 30:
            for n, p in pids.items():
                peak[n] = max(peak[n], rss_kb(p))
            time.sleep(0.2)
        idle_cpu = {n: 100 * (cpu_s(p) - cpu0[n]) / 30 for n, p in pids.items()}
        print("idle 30 s:")
        for n in pids:
            print(f"  {n}: VmRSS {peak[n] / 1024:.1f} MiB, CPU {idle_cpu[n]:.2f} %")
        store, signer = the_lab.homes["MOD"].store(), the_lab.homes["MOD"].signer()
        now = datetime.now(UTC)
        for i in range(batch):

            def build(seq: int, i: int = i) -> wire.SignedMessage:
                text = f"Melding {i} fra Modum: status uendret, radio virker."
                msg = compose(Kind.MELDING, "MOD", seq, now, text=text, priority=Priority.RUTINE)
                return wire.encode(msg, signer, dictionaries.current())

            store.commit_local("MOD", build, now)
        store.close()
        cpu0 = {n: cpu_s(p) for n, p in pids.items()}
        start = time.monotonic()
        sf = the_lab.homes["SF"].store()

        def done() -> bool:
            for n, p in pids.items():
                peak[n] = max(peak[n], rss_kb(p))
            return sf.count() >= batch

        _wait_for(done, 1800, f"SF to hold {batch} messages")
        wall = time.monotonic() - start
        sf.close()
        print(f"{batch} messages from MOD to SF (radio to RIN, then IP): {wall:.0f} s at x20")
        for n, p in pids.items():
            used = cpu_s(p) - cpu0[n]
            print(
                f"  {n}: peak VmRSS {peak[n] / 1024:.1f} MiB (VmHWM {rss_kb(p, 'VmHWM') / 1024:.1f}),"
                f" CPU {used:.1f} s ({100 * used / wall:.1f} %)"
            )


if __name__ == "__main__":
    main()
