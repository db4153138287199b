"""``relay board``: the situation board, run as the user runs it, read over HTTP and in Chromium.

Each test starts the real command in its own process on a loopback port, commits
with the real CLI, and reads what the page and its event stream say.
"""

from __future__ import annotations

import base64
import os
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from relay.board.server import needs_token
from relay.core import wire
from relay.edge import dictionaries
from relay.edge.home import Home
from tests import test_cli
from tests.chromium import Chromium, require
from tests.test_cli import ok, relay_cli

lab_template = test_cli.lab_template  # the lab fixtures of the CLI tests, by name
lab = test_cli.lab

REPO = Path(__file__).resolve().parents[1]
UPDATE_WITHIN_S = 2.0


@contextmanager
def board(home: Path, *args: str) -> Iterator[str]:
    """``relay --home HOME board --listen 127.0.0.1:0 ARGS``; yields the URL it prints."""
    with serving(home, "board", "Situasjonsbildet: ", *args) as url:
        yield url


@contextmanager
def serving(home: Path, command: str, banner: str, *args: str) -> Iterator[str]:
    """``relay --home HOME COMMAND --listen 127.0.0.1:0 ARGS`` in its own process; yields the URL
    its first line prints after ``banner``."""
    with serving_process(home, command, banner, *args) as (url, _):
        yield url


@contextmanager
def serving_process(home: Path, command: str, banner: str, *args: str) -> Iterator[tuple[str, int]]:
    """As ``serving``, with the server's process id."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "relay", "--home", str(home), command, "--listen", "127.0.0.1:0", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LANG": "C.UTF-8"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(banner + "http://127.0.0.1:"), line + (proc.stderr.read() if proc.stderr else "")
        yield line.split(": ", 1)[1].strip(), proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def route(url: str, path: str) -> str:
    """The board's ``path`` with the page's query (its token, if any)."""
    base, _, query = url.partition("?")
    return base + path + (f"?{query}" if query else "")


def events(url: str) -> queue.Queue[tuple[float, str]]:
    """Lines of the page's event stream, with when each arrived (a reader thread)."""
    lines: queue.Queue[tuple[float, str]] = queue.Queue()

    def read() -> None:
        with urllib.request.urlopen(route(url, "events"), timeout=30) as r:
            for raw in r:
                lines.put((time.monotonic(), raw.decode().rstrip("\n")))

    threading.Thread(target=read, daemon=True).start()
    return lines


def next_update(lines: queue.Queue[tuple[float, str]], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            at, line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line == "event: update":
            return at
    raise AssertionError(f"no update within {timeout} s")


def send(home: Path, line: str) -> list[str]:
    return ok(relay_cli("send", *shlex.split(line), home=home))


def test_a_status_committed_with_the_cli_reaches_an_open_page_within_two_seconds(lab: Path) -> None:
    hol = lab / "HOL"
    with board(hol) as url:
        status, html = get(url)
        assert status == 200
        assert "Situasjonsbilde – Hole kommune" in html and "ØVELSE" in html
        assert "Ingen statusmeldinger ennå." in html
        assert "<h2>Samband</h2><p>radiotjenesten kjører ikke;" in html  # no daemon in the lab: said so
        assert '<th scope="row">MOD</th><td>Modum kommune</td><td>aldri</td>' in html
        stream = events(url)
        time.sleep(0.3)  # the stream is open

        committed = time.monotonic()
        send(hol, "STATUS --field 'STRØM=RØD: Vik sentrum' --field VANN=GRØNN")
        arrived = next_update(stream, UPDATE_WITHIN_S + 1)

        assert arrived - committed < UPDATE_WITHIN_S
        _, part = get(route(url, "fragment"))
        assert "<b>RØD</b><br>Vik sentrum" in part and "<b>GRØNN</b>" in part


def test_a_nod_is_on_the_banner_until_its_addressee_has_read_it(lab: Path) -> None:
    hol, mod = lab / "HOL", lab / "MOD"
    send(hol, "MELDING --priority NØD --to MOD --text 'Bussulykke E16 ved Sundvollen.'")
    with board(hol) as url:
        _, html = get(url)
        assert (
            'role="alert"' in html and "NØD: HOL-0001 fra HOL" in html and "Venter på mottak: MOD (aldri hørt)" in html
        )

        # The sync brings the NØD to Modum; Modum's summary shows Hole it holds it.
        carry(hol, mod, "HOL", 1)
        store = Home(hol).store()
        try:
            store.add_receipt("HOL", 1, "MOD", "MOTTATT", datetime.now(UTC))
        finally:
            store.close()
        _, html = get(url)
        assert "Venter på lest: MOD" in html and "Venter på mottak" not in html
        with board(mod) as at_modum:  # Modum's own wall: it has the NØD, and has not read it
            assert "Venter på lest: MOD" in get(at_modum)[1]

        # Modum's KVITTERING LEST comes back to Hole.
        ok(relay_cli("ack", "HOL-0001", home=mod))
        carry(mod, hol, "MOD", 1)

        _, html = get(url)
        assert 'role="alert"' not in html


def test_the_waiting_line_says_whether_it_waits_for_receipt_or_for_reading() -> None:
    from datetime import timedelta

    from relay.board.page import fragment
    from relay.core.compose import compose
    from relay.core.model import Address, Kind, MessageRef, Priority
    from relay.core.picture import Entry, build

    t0 = datetime(2026, 5, 29, 12, 0, tzinfo=UTC)
    nod = compose(
        Kind.MELDING,
        "POL",
        1,
        t0,
        text="Bussulykke.",
        priority=Priority.NOD,
        to=Address(group="KOMMUNER"),
        exercise=True,
    )
    read = compose(
        Kind.KVITTERING, "RIN", 1, t0, fields={"level": "LEST"}, ref=MessageRef.parse("POL-0001"), exercise=True
    )
    holders = (("RIN", t0), ("HOL", t0 + timedelta(minutes=1)), ("JEV", t0))
    nodes = ("RIN", "HOL", "JEV", "SIG", "POL")
    members = {"KOMMUNER": ("RIN", "HOL", "JEV", "SIG")}
    heard = {"SIG": t0 + timedelta(minutes=2)}
    picture = build([Entry(nod, holders=holders), Entry(read)], t0 + timedelta(minutes=5), nodes, members, True, heard)

    assert '<span class="waits">Venter på mottak: SIG (sist hørt 12:02). Venter på lest: HOL, JEV</span>' in fragment(
        picture, UTC
    )
    assert (
        '<span class="waits">Waiting to be received: SIG (last heard 12:02). Waiting to be read: HOL, JEV</span>'
        in fragment(picture, UTC, lang="en")
    )
    picture = build([Entry(nod, holders=holders)], t0 + timedelta(minutes=5), nodes, members, True, {})
    assert "Venter på mottak: SIG (aldri hørt). Venter på lest: RIN, HOL, JEV" in fragment(picture, UTC)


def carry(source: Path, target: Path, origin: str, seq: int) -> None:
    """What the sync does: one verified message from one store into another."""
    src, dst = Home(source).store(), Home(target).store()
    try:
        (held,) = src.get(origin, seq)
        dst.insert(wire.decode(held.wire, Home(target).roster(), dictionaries.available()), held.received_at)
    finally:
        src.close()
        dst.close()


def test_html_in_a_message_is_shown_as_text(lab: Path) -> None:
    hol = lab / "HOL"
    send(hol, "STATUS --field 'VEI=GUL: <script>alert(1)</script><b>stengt</b>'")
    with board(hol) as url:
        _, html = get(url)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;stengt&lt;/b&gt;" in html
    assert "<script>alert(1)" not in html and "<b>stengt</b>" not in html


@pytest.mark.parametrize(
    ("host", "token"),
    [("127.0.0.1", False), ("::1", False), ("localhost", False), ("0.0.0.0", True), ("10.20.0.5", True), ("", True)],
)
def test_only_loopback_goes_without_the_token(host: str, token: bool) -> None:
    assert needs_token(host) is token


def test_without_the_token_the_page_is_refused(lab: Path) -> None:
    from datetime import UTC

    from relay.board.server import Board, BoardServer

    server = BoardServer(("127.0.0.1", 0), Board(Home(lab / "HOL"), True, UTC), "hemmelig")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = server.url.split("?")[0]
        assert get(base)[0] == 403
        assert get(base + "?token=feil")[0] == 403
        assert get(route(base, "fragment"))[0] == 403
        assert get(server.url)[0] == 200
    finally:
        server.shutdown()
        server.server_close()


def test_the_page_loads_nothing_from_outside_and_renders_in_chromium(lab: Path, tmp_path: Path) -> None:
    browser = require()
    hol = lab / "HOL"
    send(hol, "STATUS --field 'STRØM=RØD: Vik sentrum'")
    with board(hol) as url:
        _, html = get(url)
        assert "http://" not in html.replace(url, "") and "https://" not in html  # no CDN, fonts or scripts
        flags = "--headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run --accept-lang=nb"
        result = subprocess.run(
            [browser, *shlex.split(flags), f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HOME": str(tmp_path)},
        )
    assert "Kritiske funksjoner" in result.stdout, result.stderr[-2000:]
    assert "Vik sentrum" in result.stdout and "ØVELSE" in result.stdout


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    browser = require()
    page = Chromium(browser, tmp_path / "chromium")
    try:
        yield page
    finally:
        page.close()


BOARD_TEXT = "document.getElementById('board').innerText"


def test_in_chromium_a_commit_with_the_cli_appears_on_the_open_page_within_two_seconds(
    lab: Path, chromium: Chromium
) -> None:
    hol = lab / "HOL"
    with board(hol) as url:
        chromium.open(url)
        chromium.wait_for(f"{BOARD_TEXT}.includes('Ingen statusmeldinger ennå.')")
        time.sleep(0.5)  # the page's event stream is open

        committed = time.monotonic()
        send(hol, "STATUS --field 'STRØM=RØD: Vik sentrum uten strøm'")
        chromium.wait_for(f"{BOARD_TEXT}.includes('Vik sentrum uten strøm')", timeout=10)

        assert time.monotonic() - committed < UPDATE_WITHIN_S
        assert chromium.evaluate("document.querySelectorAll('header').length") == 1  # swapped in, not reloaded


def test_in_chromium_a_nod_banner_appears_and_clears_after_the_receipt(lab: Path, chromium: Chromium) -> None:
    hol, mod = lab / "HOL", lab / "MOD"
    with board(hol) as url:
        chromium.open(url)
        chromium.wait_for(f"{BOARD_TEXT}.includes('Kritiske funksjoner')")
        time.sleep(0.5)
        send(hol, "MELDING --priority NØD --to MOD --text 'Bussulykke E16 ved Sundvollen.'")
        chromium.wait_for("document.querySelector('[role=alert]') !== null")
        assert "Bussulykke E16" in chromium.evaluate("document.querySelector('[role=alert]').innerText")
        assert chromium.evaluate("document.getElementById('strip').classList.contains('flash')")  # a new NØD
        assert chromium.evaluate("document.body.dataset.alarms") == "1"  # and its sound, made in the page
        assert chromium.evaluate("document.getElementById('sound').innerText") == "Lyd: på"  # the visible switch

        carry(hol, mod, "HOL", 1)
        ok(relay_cli("ack", "HOL-0001", home=mod))
        carry(mod, hol, "MOD", 1)

        chromium.wait_for("document.querySelector('[role=alert]') === null")


def test_the_demo_board_shows_the_table_top(tmp_path: Path) -> None:
    with board(tmp_path / "nowhere", "--demo") as url:
        status, html = get(url)
    assert status == 200 and "ØVELSE" in html
    assert "NØD: POL-0001 fra POL" in html  # the police contact's NØD, waiting for the municipalities
    assert '<th scope="row">MOD</th>' in html and "dataangrep" in html
    assert "AVKREFTET" in html and "Felles pressebriefing" in html


CONTRAST_FAILURES = """(() => {
  const rgba = c => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4))
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const behind = el => {
    for (; el; el = el.parentElement) {
      const c = rgba(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const el of document.querySelectorAll('body *')) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const [a, b] = [lum(rgba(style.color)), lum(behind(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;  // WCAG 2.1 AA, 1.4.3
    const text = el.textContent.trim().slice(0, 40);
    if (ratio < needed) failures.push(`${el.tagName}.${el.className} ${ratio.toFixed(2)}: ${text}`);
  }
  return failures;
})()"""

FOCUSED = "(e => `${e.tagName} ${e.getAttribute('role')} ${getComputedStyle(e).outlineStyle}`)(document.activeElement)"


def open_at(page: Chromium, url: str, width: int, height: int) -> None:
    """The board at ``url`` on a screen of that size (a phone below 800 px), once it has drawn."""
    page.open("about:blank")
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 800}
    page.call("Emulation.setDeviceMetricsOverride", metrics)
    page.call("Page.navigate", {"url": url})
    page.wait_for(f"{BOARD_TEXT}.includes('Kritiske funksjoner')")


def press_tab(page: Chromium) -> None:
    for kind in ("keyDown", "keyUp"):
        page.call("Input.dispatchKeyEvent", {"type": kind, "key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9})


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (390, 844)], ids=["wall", "phone"])
def test_the_demo_board_meets_wcag_aa_contrast_fits_the_screen_and_works_by_keyboard(
    tmp_path: Path, chromium: Chromium, width: int, height: int
) -> None:
    with board(tmp_path / "nowhere", "--demo") as url:
        open_at(chromium, url, width, height)

        assert chromium.evaluate(CONTRAST_FAILURES) == []
        assert chromium.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways page
        press_tab(chromium)
        assert chromium.evaluate(FOCUSED) == "BUTTON null solid"  # the sound's switch, in the header
        press_tab(chromium)
        assert chromium.evaluate(FOCUSED) == "SECTION alert solid"  # then the NØD banner, with a visible ring


def test_the_print_view_is_a4_landscape_with_the_time_in_its_title_and_readable_in_black_and_white(
    tmp_path: Path, chromium: Chromium
) -> None:
    with board(tmp_path / "nowhere", "--demo") as url:
        chromium.open(route(url, "print"))
        chromium.wait_for("document.querySelector('h1') !== null")
        assert re.match(r"Situasjonsbilde kl \d\d:\d\d – ", chromium.evaluate("document.querySelector('h1').innerText"))
        assert chromium.evaluate("document.scripts.length") == 0  # a snapshot: nothing live to go stale on paper

        chromium.call("Emulation.setEmulatedMedia", {"media": "print"})
        assert chromium.evaluate(CONTRAST_FAILURES) == []
        assert chromium.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor") in (
            "rgb(255, 255, 255)",
            "rgba(0, 0, 0, 0)",
        )
        pdf = base64.b64decode(chromium.call("Page.printToPDF", {"preferCSSPageSize": True})["data"])
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert boxes and all(round(float(w)) == 842 and round(float(h)) == 595 for w, h in boxes)  # A4, landscape


def test_the_links_section_shows_both_paths_of_a_gateway_and_an_ip_only_site() -> None:
    from datetime import UTC, datetime

    from relay.board.page import fragment
    from relay.core.picture import build

    picture = build([], datetime(2026, 5, 29, 12, 0, tzinfo=UTC), ("RIN", "SF"), {}, exercise=True)
    heard = [{"node": "SF", "name": "Statsforvalteren", "ago_s": None, "hops": None, "ip_ago_s": 4.0}]
    gateway = {
        "daemon": {"running": True},
        "radio": {"state": "connected"},
        "ip": {"state": "down", "detail": "cannot reach the broker"},
        "heard": heard,
    }
    html = fragment(picture, UTC, gateway)
    assert "radioen er tilkoblet; IP-veien: down" in html and "over IP 4 s siden" in html
    ip_only = {**gateway, "radio": {"state": "none"}, "ip": {"state": "connected"}}
    assert "ingen radio (bare IP); IP-veien er tilkoblet; ingen sendetid (ingen radio)" in fragment(
        picture, UTC, ip_only
    )


@pytest.fixture(scope="module")
def busy_hole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo region in a busy hour: eight NØD/HASTER waiting, Krødsherad and Sigdal silent."""
    from relay.cli import demo_region
    from relay.cli.main import cli

    return demo_region.build(cli, tmp_path_factory.mktemp("busy"), REPO / "examples" / "modum.toml", busy=True)


@contextmanager
def served(home: Path) -> Iterator[str]:
    from datetime import UTC

    from relay.board.server import Board, BoardServer

    server = BoardServer(("127.0.0.1", 0), Board(Home(home), True, UTC), None)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()


def test_at_1920x1080_the_matrix_is_above_the_fold_with_eight_alerts_and_silent_rows_say_so(
    busy_hole: Path, chromium: Chromium
) -> None:
    with served(busy_hole) as url:
        open_at(chromium, url, 1920, 1080)

        assert chromium.evaluate("document.querySelectorAll('#strip .alert').length") == 8
        top = chromium.evaluate("document.getElementById('matrix').getBoundingClientRect().top")
        rows = chromium.evaluate("document.querySelector('#matrix tbody').getBoundingClientRect().bottom")
        assert top < 1080 and rows <= 1080, (top, rows)  # the whole matrix, not just its top
        silent = chromium.evaluate(
            "[...document.querySelectorAll('#matrix tbody tr')]"
            ".filter(r => r.innerText.includes('ikke rapportert')).map(r => r.cells[0].innerText)"
        )
        assert silent == ["KRO", "SIG"]
        waits = chromium.evaluate("[...document.querySelectorAll('#strip .waits')].map(e => e.innerText)")
        assert all(w.startswith(("Venter på mottak: ", "Venter på lest: ")) for w in waits), waits
        assert chromium.evaluate(CONTRAST_FAILURES) == []


def test_on_a_phone_the_busy_wall_has_no_clipped_header_or_table(busy_hole: Path, chromium: Chromium) -> None:
    with served(busy_hole) as url:
        open_at(chromium, url, 390, 844)
        assert chromium.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        clipped = chromium.evaluate(
            "[...document.querySelectorAll('header *')].filter(e => e.getBoundingClientRect().right > innerWidth)"
            ".map(e => e.tagName)"
        )
        assert clipped == []
        wide = chromium.evaluate(
            "[...document.querySelectorAll('table')].filter(t => t.getBoundingClientRect().right > innerWidth)"
            ".map(t => t.closest('section').querySelector('h2').innerText)"
        )
        assert wide == []  # no table runs past the screen's edge


def test_the_busy_print_view_has_its_summary_on_one_a4_page_and_the_details_after(
    busy_hole: Path, chromium: Chromium
) -> None:
    with served(busy_hole) as url:
        chromium.open("about:blank")
        # A4 landscape less 1 cm margins, in CSS pixels: 277 x 190 mm.
        metrics = {"width": 1047, "height": 718, "deviceScaleFactor": 1, "mobile": False}
        chromium.call("Emulation.setDeviceMetricsOverride", metrics)
        chromium.call("Emulation.setEmulatedMedia", {"media": "print"})
        chromium.call("Page.navigate", {"url": route(url, "print")})
        chromium.wait_for("document.querySelector('.detail') !== null")
        bottom = chromium.evaluate(
            "document.querySelector('.detail').previousElementSibling.getBoundingClientRect().bottom"
        )
        assert bottom <= 718  # the strip, the matrix and the latest SITREPs on page one
        assert chromium.evaluate("getComputedStyle(document.querySelector('.detail')).breakBefore") == "page"
        assert chromium.evaluate(CONTRAST_FAILURES) == []
