"""The crisis log as paper: ``relay log --format html`` printed to PDF by headless Chromium.

Every page is A4, nothing is wider than the page's printable width, even a message of one
3000-character word (no message carries more than 2000 characters of text, but a row holds
several fields and the print must hold whatever arrives), and the pages are numbered.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from relay.cli.logbook import COLUMNS, render_html
from tests.chromium import Chromium, require

A4_LANDSCAPE_PT = (842, 595)
PRINTABLE_PX = round((297 - 2 * 12) / 25.4 * 96)  # 297 mm less the 12 mm side margins of @page, at 96 px an inch


def row(ident: str, text: str) -> dict[str, str]:
    cells = dict.fromkeys(COLUMNS, "")
    cells.update(
        opprettet="29.05.2026 14:00",
        mottatt="29.05.2026 14:05",
        id=ident,
        type="MELDING",
        prioritet="RUTINE",
        status="ØVELSE",
        fra="MOD",
        til="ALLE",
        verifisering="verifisert",
        innhold=f"Tekst: {text}",
        kvitteringer="HOL LEST, RIN LEST",
        retning="mottatt",
    )
    return cells


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    page = Chromium(require(), tmp_path / "chromium")
    try:
        yield page
    finally:
        page.close()


def test_the_printed_log_fits_a4_with_one_3000_character_word(chromium: Chromium, tmp_path: Path) -> None:
    rows = [row("MOD-0001", "W" * 3000)] + [row(f"HOL-{n:04d}", "Status uendret. " * 8) for n in range(1, 60)]
    page = tmp_path / "logg.html"
    page.write_text(render_html("Modum kommune (MOD)", rows), encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    assert 'counter(page) " av " counter(pages)' in text  # «Side 2 av 4» at the foot of every page
    assert re.search(r"Skrevet ut \d\d\.\d\d\.\d{4} \d\d:\d\d", text)  # the year, on paper

    chromium.open(page.as_uri())
    chromium.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": PRINTABLE_PX, "height": 700, "deviceScaleFactor": 1, "mobile": False},
    )
    chromium.wait_for("document.querySelectorAll('tbody tr').length === 60")
    chromium.call("Emulation.setEmulatedMedia", {"media": "print"})
    widest = chromium.evaluate(
        "Math.max(document.documentElement.scrollWidth,"
        " ...[...document.querySelectorAll('table, td, th')].map(e => Math.ceil(e.getBoundingClientRect().right)))"
    )
    assert widest <= PRINTABLE_PX, f"{widest} px on a {PRINTABLE_PX} px wide page"

    pdf = base64.b64decode(chromium.call("Page.printToPDF", {"preferCSSPageSize": True})["data"])
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert len(boxes) >= 2  # the log runs over several pages, each numbered
    assert all((round(float(w)), round(float(h))) == A4_LANDSCAPE_PT for w, h in boxes)
