#!/usr/bin/env python3
"""The board with 10,000 messages in the store: page render time, live-update latency, memory.

    python tools/measure_board.py [MESSAGES]

Builds a lab (``relay lab setup`` with examples/modum.toml) in a temporary
directory, fills Hole's store with MESSAGES signed messages (STATUS, SITREP,
BISTAND, MELDING from every node in turn), then renders the page 5 times.
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from relay.board.server import Board, BoardServer  # noqa: E402
from relay.cli.main import cli  # noqa: E402
from relay.core import wire  # noqa: E402
from relay.core.compose import compose  # noqa: E402
from relay.core.model import Kind  # noqa: E402
from relay.edge import dictionaries  # noqa: E402
from relay.edge.home import Home  # noqa: E402


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        lab = Path(tmp) / "lab"
        result = CliRunner().invoke(cli, ["lab", "setup", str(lab), "--scenario", str(ROOT / "examples/modum.toml")])
        assert result.exit_code == 0, result.output
        signers = fill(lab, count)
        board = Board(Home(lab / "HOL"), True, UTC)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            html = board.page()
            times.append(time.perf_counter() - t)
        latency = live_update(board, lambda: add(lab, signers, count))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        first, rest = times[0], times[1:]
        print(
            f"{count} messages: page {len(html) / 1024:.0f} KiB; first render {first * 1000:.0f} ms (decodes "
            f"every message), then median {statistics.median(rest) * 1000:.0f} ms (max {max(rest) * 1000:.0f}); "
            f"peak RSS {rss:.0f} MiB"
        )
        print(f"live update: commit to the new fragment on an open page {latency * 1000:.0f} ms")


def fill(lab: Path, count: int) -> dict[str, Any]:
    """Hole's store with ``count`` signed messages (STATUS, SITREP, BISTAND, MELDING from every node
    in turn, four seconds apart over the last 12 hours); the nodes' signers."""
    nodes = ["RIN", "HOL", "JEV", "MOD", "KRO", "SIG", "SF", "POL"]
    signers = {n: Home(lab / n).signer() for n in nodes}
    store = Home(lab / "HOL").store()
    start = datetime.now(UTC) - timedelta(hours=12)
    kinds = [
        (Kind.STATUS, {"fields": {"rows": {"STRØM": "GUL: delvis", "VANN": "GRØNN", "VEI": "RØD: stengt"}}}),
        (Kind.SITREP, {"text": "Situasjonen er under kontroll.", "fields": {"report_no": 1}}),
        (Kind.BISTAND, {"text": "Drift av nettverk.", "fields": {"resource": "IKT", "quantity": 2}}),
        (Kind.MELDING, {"text": "Melding om vannforsyningen i sentrum."}),
    ]
    seqs = dict.fromkeys(nodes, 0)
    for i in range(count):
        node = nodes[i % len(nodes)]
        seqs[node] += 1
        kind, kw = kinds[i % len(kinds)]
        when = start + timedelta(seconds=4 * i)
        msg = compose(kind, node, seqs[node], when, exercise=True, **kw)  # type: ignore[arg-type]
        store.insert(wire.encode(msg, signers[node], dictionaries.current()), when)
    store.close()
    return signers


def add(lab: Path, signers: dict[str, Any], count: int) -> None:
    """One more message, committed on another connection as the CLI does."""
    store = Home(lab / "HOL").store()
    when = datetime.now(UTC)
    msg = compose(Kind.STATUS, "HOL", 10_000 + count, when, exercise=True, fields={"rows": {"STRØM": "RØD"}})
    store.insert(wire.encode(msg, signers["HOL"], dictionaries.current()), when)
    store.close()


def live_update(board: Board, commit: Callable[[], None]) -> float:
    """Seconds from a commit until an open event stream has said so and the page has
    fetched its new fragment, as the page's script does."""
    server = BoardServer(("127.0.0.1", 0), board, None)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with urllib.request.urlopen(server.url + "events", timeout=30) as stream:
            stream.readline()  # retry:
            stream.readline()
            time.sleep(0.3)
            t = time.perf_counter()
            commit()
            while stream.readline().decode().strip() != "event: update":
                pass
            with urllib.request.urlopen(server.url + "fragment", timeout=30) as page:
                page.read()
            return time.perf_counter() - t
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
