#!/usr/bin/env python3
"""A daemon's memory and CPU with a national-size store: ORIGINS origins (default 330).

    python tools/measure_federation_rss.py [ORIGINS] [PER_ORIGIN]

In the federation design no store holds more than its region's origins (one
home per region), so this is the worst case the issue asks for: one roster of
ORIGINS nodes, and two real IP-only daemons (``--radio none``) on a real
mosquitto (``tests/broker.py``).  AA holds PER_ORIGIN messages (default 3) of
every origin; BB holds the same less the last message of every origin, so
that BB must fetch ORIGINS messages from AA.  It samples VmRSS and CPU from /proc
while both are idle (30 s), then until BB holds everything, and prints the
figures and the summary's size and pages.  Timers at x20, as the tests.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.core import frames, wire  # noqa: E402
from relay.core.compose import compose  # noqa: E402
from relay.core.model import Kind, Priority  # noqa: E402
from relay.core.roster import Roster, RosterEntry  # noqa: E402
from relay.core.signing import Signer  # noqa: E402
from relay.edge import dictionaries  # noqa: E402
from relay.edge.home import Home  # noqa: E402
from tests.broker import Broker  # noqa: E402
from tests.iplab import IpDaemons, configure_ip  # noqa: E402
from tests.test_daemon import _wait_for  # noqa: E402
from tools.measure_ip_rss import cpu_s, rss_kb  # noqa: E402


def node_id(i: int) -> str:
    return f"K{i:03d}"


def main() -> None:
    origins = int(sys.argv[1]) if len(sys.argv) > 1 else 330
    per_origin = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    now = datetime.now(UTC)
    authority = Signer.generate()
    signers: dict[str, Signer] = {}
    key_ids: set[int] = set()
    seed = 0
    while len(signers) < origins:  # 16-bit key ids: skip a seed whose id another key has
        seed += 1
        signer = Signer.from_seed(seed.to_bytes(4, "big") * 8)
        if signer.key_id not in key_ids:
            key_ids.add(signer.key_id)
            signers[node_id(len(signers))] = signer
    with tempfile.TemporaryDirectory(prefix="relay-fed-rss-") as tmp:
        base = Path(tmp)
        homes = {n: Home.init(base / n, n, f"Node {n}") for n in ("AA", "BB")}
        entries = [RosterEntry(n, f"Kommune {n}", "kommune", s.public_key, now) for n, s in signers.items()]
        entries += [RosterEntry(n, f"Node {n}", "annet", h.signer().public_key, now) for n, h in homes.items()]
        roster = Roster.create("Hele landet", authority, now, "landet")
        for entry in entries:  # one version per entry, as «relay roster add» makes them
            roster = roster.with_entry(entry, authority, now)
        for home in homes.values():
            home.import_roster(roster.to_json())
        dictionary = dictionaries.current()
        built = 0
        stores = {n: h.store() for n, h in homes.items()}
        for origin, signer in signers.items():
            for seq in range(1, per_origin + 1):
                text = f"{origin}: status {seq}, alt under kontroll."
                msg = compose(Kind.SITREP, origin, seq, now, text=text, priority=Priority.RUTINE)
                signed = wire.encode(msg, signer, dictionary)
                stores["AA"].insert(signed, now)
                if seq < per_origin:
                    stores["BB"].insert(signed, now)
                built += 1
        for store in stores.values():
            store.close()
        print(f"{origins} origins, {built} messages at A, {built - origins} at B")
        broker = Broker(base / "broker", {"AA": "a-hemmelig", "BB": "b-hemmelig"}, f"relay/{roster.region_id}")
        broker.start()
        daemons = IpDaemons(base / "logs")
        try:
            for name, home in homes.items():
                configure_ip(home, broker.url, f"{name[0].lower()}-hemmelig")
            daemons.start("AA", homes["AA"])
            _wait_for(lambda: "IP: connected" in daemons.log("AA"), 60, "A on the broker")
            pid = daemons.procs["AA"].pid
            time.sleep(5.0)
            cpu0, peak, start = cpu_s(pid), 0, time.monotonic()
            while time.monotonic() - start < 30:
                peak = max(peak, rss_kb(pid))
                time.sleep(0.2)
            print(f"A idle 30 s: VmRSS {peak / 1024:.1f} MiB, CPU {100 * (cpu_s(pid) - cpu0) / 30:.2f} %")
            daemons.start("BB", homes["BB"])
            cpu0, start = cpu_s(pid), time.monotonic()
            b = homes["BB"].store()

            def done() -> bool:
                nonlocal peak
                peak = max(peak, rss_kb(pid))
                return b.count() >= built

            _wait_for(done, 1800, f"B to hold all {built} messages")
            wall = time.monotonic() - start
            b.close()
            used = cpu_s(pid) - cpu0
            print(
                f"B fetched {origins} messages from A in {wall:.0f} s (x20 timers): A peak VmRSS"
                f" {peak / 1024:.1f} MiB (VmHWM {rss_kb(pid, 'VmHWM') / 1024:.1f}), CPU {used:.1f} s"
                f" ({100 * used / wall:.1f} %)"
            )
            a = homes["AA"].store()
            heads = a.summary()
            a.close()
            summary = frames.Summary(1, roster.version, tuple(sorted(heads.items())))
            try:
                size, pages = len(summary.to_bytes()) + 64, 1
            except ValueError:
                per_page = 1
                while True:
                    try:
                        frames.Summary(
                            1, roster.version, tuple(sorted(heads.items()))[: per_page + 1], False
                        ).to_bytes()
                    except ValueError:
                        break
                    per_page += 1
                size, pages = 231, -(-len(heads) // per_page)
            print(f"a summary of {len(heads)} origins: {size} bytes whole or {pages} pages of one packet each")
        finally:
            daemons.stop()
            broker.stop()


if __name__ == "__main__":
    main()
