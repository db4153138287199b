#!/usr/bin/env python3
"""What one captured login and key cost a store's core: signed summaries from one sender.

    python tools/measure_verify.py [RATE ...]      # summaries a second (default 20 100)

A store on the IP path (IP_CONFIG) hears RATE signed summaries a second, each
new (its counter rising), from one sender for 30 seconds of its clock; prints
the CPU seconds spent in ``SyncNode.receive`` per second of that clock, and how
many were checked.  The signatures are made before the clock starts: only the
receiver is timed.  A Raspberry Pi 4 verifies Ed25519 about 4-6 times slower
than this machine; multiply by that for the Pi's share of a core.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.core.frames import Summary  # noqa: E402
from relay.core.sync import SyncNode  # noqa: E402
from relay.core.sync.config import IP_CONFIG  # noqa: E402
from relay.core.sync.freshness import clock_seconds  # noqa: E402
from relay.edge import dictionaries  # noqa: E402
from relay.edge.store import Store  # noqa: E402
from tests.helpers import SIGNERS, T0, build_roster  # noqa: E402

SECONDS = 30.0


def run(rate: float) -> tuple[float, int, int]:
    roster = build_roster()
    now = T0.timestamp()
    node = SyncNode(
        "RIN",
        SIGNERS["RIN"].key_id,
        Store(":memory:", dictionaries.available()),
        roster,
        dictionaries.available(),
        lambda n: 0.01,
        random.Random(1),
        now,
        IP_CONFIG,
        sign=SIGNERS["RIN"].sign,
        path="ip",
    )
    count = int(rate * SECONDS)
    frames = [
        Summary(SIGNERS["HOL"].key_id, roster.version, (("HOL", 1),), counter=i + 1, clock=clock_seconds(now)).signed(
            SIGNERS["HOL"].sign
        )
        for i in range(count)
    ]
    taken = 0
    started = time.process_time()
    for i, frame in enumerate(frames):
        got = node.receive(frame, now + i / rate)
        taken += got.rejected is None
    return (time.process_time() - started) / SECONDS, taken, count


def main() -> None:
    for rate in [float(r) for r in sys.argv[1:]] or [20.0, 100.0]:
        cpu, taken, count = run(rate)
        print(f"{rate:.0f} summaries/s from one sender: {cpu:.3f} CPU-s per s, {taken} of {count} taken")


if __name__ == "__main__":
    main()
