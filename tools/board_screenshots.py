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

from relay.board.server import Board, BoardServer  # noqa: E402
from relay.cli import demo_region as demo  # noqa: E402
from relay.cli.context import LOCAL_TZ  # noqa: E402
from relay.cli.main import cli  # noqa: E402
from relay.edge.home import Home  # noqa: E402


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("Chromium is needed (apt-get install chromium)")
    docs = ROOT / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        hol = demo.build(cli, Path(tmp), ROOT / "examples" / "modum.toml")
        board = Board(Home(hol), True, LOCAL_TZ or UTC)
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
