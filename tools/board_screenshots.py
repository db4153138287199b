#!/usr/bin/env python3
"""Screenshots of the situation board and the desk for docs/.

    python tools/board_screenshots.py

Sets up the Modum lab (``relay lab setup``), has the town halls write the
table-top's traffic and a busy hour (eight NØD and HASTER waiting, Krødsherad
and Sigdal silent) with the real CLI, brings it all into Hole's store as the
sync would, serves Hole's desk on a loopback port and photographs it in
headless Chromium:

docs/board-wall.png   the wall at 1920x1080
docs/board-phone.png  the wall on a 390x844 phone (the whole page)
docs/board-print.png  the print view (A4 landscape at 96 dpi)
docs/board-map.png    the schematic map at 1280x900
docs/desk.png         the desk: a SITREP form with a wrong time, at 1280x1000
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.cli import demo_region as demo  # noqa: E402
from relay.cli.main import cli  # noqa: E402
from tests.chromium import Chromium, Operator, find  # noqa: E402
from tests.test_desk import log_in  # noqa: E402

PASSWORD = "skjermbilde-1"


def shoot(page: Chromium, out: Path, width: int, height: int, full: bool = False) -> None:
    page.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 800},
    )
    params: dict[str, object] = {"format": "png"}
    if full:
        params["captureBeyondViewport"] = True
        size = page.call("Page.getLayoutMetrics")["cssContentSize"]
        params["clip"] = {"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1}
    out.write_bytes(base64.b64decode(page.call("Page.captureScreenshot", params)["data"]))
    print(f"wrote {out.relative_to(ROOT)}")


def main() -> None:
    browser = find()
    if browser is None:
        sys.exit("Chromium is needed (apt-get install chromium)")
    docs = ROOT / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        hol = demo.build(cli, Path(tmp), ROOT / "examples" / "modum.toml", busy=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "relay",
                "--home",
                str(hol),
                "desk",
                "user",
                "add",
                "kari",
                "--role",
                "operatør",
                "--password-stdin",
            ],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
        desk = subprocess.Popen(
            [sys.executable, "-m", "relay", "--home", str(hol), "desk", "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "LANG": "C.UTF-8"},
        )
        page = Chromium(browser, Path(tmp) / "chromium")
        try:
            assert desk.stdout is not None
            url = desk.stdout.readline().split(": ", 1)[1].strip()
            op = Operator(page)
            for name, path, width, height, full in (
                ("board-wall.png", "wall", 1920, 1080, False),
                ("board-phone.png", "wall", 390, 844, True),
                ("board-print.png", "print", 1123, 794, False),
                ("board-map.png", "map", 1280, 900, False),
            ):
                page.open("about:blank")
                page.call(
                    "Emulation.setDeviceMetricsOverride",
                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 800},
                )
                page.call("Emulation.setEmulatedMedia", {"media": "print" if path == "print" else "screen"})
                page.call("Page.navigate", {"url": url + path})
                page.wait_for("document.readyState === 'complete' && document.querySelector('h1') !== null")
                shoot(page, docs / name, width, height, full)
            log_in(op, url, "kari", PASSWORD)
            page.open(url + "write/SITREP")
            op.at("/write/SITREP")
            op.choose("#f-priority", "H")
            op.type("#f-report_no", "3")
            op.type("#f-situation", "Telefoni tilbake i sentrum; e-post fortsatt nede.")
            op.type("#f-actions_taken", "IKT-team fra Ringerike i arbeid.")
            op.type("#f-needs", "Ingen nye.")
            op.type("#f-next_report", "om lenge")
            op.click("button[value=preview]")
            page.wait_for("document.querySelector('#e-next_report') !== null")
            shoot(page, docs / "desk.png", 1280, 1000)
        finally:
            page.close()
            desk.terminate()
            desk.wait(timeout=10)


if __name__ == "__main__":
    main()
