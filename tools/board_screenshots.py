#!/usr/bin/env python3
"""Screenshots of the situation board for docs/: the wall view and the print view.

    python tools/board_screenshots.py

Sets up the Modum lab (``relay lab setup``), has the town halls write the
table-top's traffic with the real CLI, brings it all into Hole's store as the
sync would, serves Hole's board on a loopback port and takes headless
Chromium screenshots: docs/board-wall.png (1920x1080) and docs/board-print.png
(A4 landscape at 96 dpi).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from relay.board.server import Board, BoardServer  # noqa: E402
from relay.cli.context import LOCAL_TZ  # noqa: E402
from relay.cli.main import cli  # noqa: E402
from relay.core import wire  # noqa: E402
from relay.edge import dictionaries  # noqa: E402
from relay.edge.home import Home  # noqa: E402

TRAFFIC = [
    (
        "MOD",
        "STATUS --field 'STRØM=GRØNN' --field 'MOBIL=RØD: nede i hele kommunen' --field 'IKT=RØD: dataangrep'"
        " --field 'VANN=GRØNN' --field 'VEI=GUL: Fv 280 redusert'",
    ),
    ("HOL", "STATUS --field STRØM=GRØNN --field MOBIL=GRØNN --field IKT=GRØNN --field VANN=GRØNN --field VEI=GRØNN"),
    ("RIN", "STATUS --field STRØM=GRØNN --field 'MOBIL=GUL: ustabilt i Hønefoss' --field IKT=GRØNN --field VANN=GRØNN"),
    (
        "MOD",
        "SITREP --priority HASTER --text 'Dataangrep mot kommunens IKT. Telefoni og e-post nede.'"
        " --field report_no=2 --field 'actions_taken=Informasjon via plakater og FM-radio.'"
        " --field 'needs=2 personer med IKT-kompetanse.' --field next_report=+3h",
    ),
    (
        "MOD",
        "BISTAND --priority PRIORITET --to KOMMUNER --text 'Drift av nettverk og klienter etter dataangrepet.'"
        " --field resource=IKT-personell --field quantity=2 --field 'location=Modum rådhus'"
        " --field 'window=Snarest, 48 timer' --field 'contact=Kriseleder Modum'",
    ),
    (
        "MOD",
        "RYKTE --text 'Det sies at skolene i Modum stenger i morgen.' --field 'where_when=Facebook, i dag'"
        " --field 'facts=Skolene holder åpent.' --field 'response=Skolene er åpne som normalt.'"
        " --field state=AVKREFTET",
    ),
    (
        "RIN",
        "BESLUTNING --priority PRIORITET --text 'Felles pressebriefing kl 12 hver dag på Hønefoss rådhus.'"
        " --field responsible=Statsforvalteren --field effective=+1h",
    ),
    (
        "POL",
        "MELDING --priority NØD --to KOMMUNER --text 'Trafikkulykke E16 ved Sundvollen, buss og to personbiler."
        " Hole: gjør klar evakuerte- og pårørendesenter.'",
    ),
]


def run(home: Path, line: str) -> None:
    result = CliRunner().invoke(cli, ["--home", str(home), *shlex.split(line)])
    assert result.exit_code == 0, result.output


def carry(lab: Path, to: str) -> None:
    """Every message of every home into ``to``'s store, as the sync would bring them."""
    target = Home(lab / to)
    roster = target.roster()
    dst = target.store()
    for source in sorted(p for p in lab.iterdir() if (p / "relay.toml").exists() and p.name != to):
        src = Home(source).store()
        for held in src.log():
            dst.insert(wire.decode(held.wire, roster, dictionaries.available()), held.received_at)
        src.close()
    dst.close()


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("Chromium is needed (apt-get install chromium)")
    docs = ROOT / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        lab = Path(tmp) / "lab"
        run(Path(tmp), f"lab setup {lab} --scenario {ROOT / 'examples/modum.toml'}")
        for node, line in TRAFFIC:
            run(lab / node, "send " + line)
        carry(lab, "HOL")
        board = Board(Home(lab / "HOL"), True, LOCAL_TZ or UTC)
        server = BoardServer(("127.0.0.1", 0), board, None)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            for name, path, size in (("board-wall.png", "", "1920,1080"), ("board-print.png", "print", "1123,794")):
                out = docs / name
                flags = "--headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars"
                subprocess.run(
                    [
                        browser,
                        *shlex.split(flags),
                        f"--user-data-dir={tmp}/profile",
                        f"--window-size={size}",
                        f"--screenshot={out}",
                        server.url + path,
                    ],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
                print(f"wrote {out.relative_to(ROOT)}")
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()
