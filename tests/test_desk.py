"""``relay desk``: the staff's desk, run as the user runs it, used in Chromium as an operator uses it
and attacked over HTTP as a hostile page or a guesser would.

Each desk is the real command in its own process on a loopback port.  Two
nodes are two homes of one lab; what the sync would carry between their
stores is carried with the store API (``carry``), as in tests/test_board.py.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from relay.core import wire
from relay.core.model import Kind, ReceiptLevel
from relay.edge import dictionaries
from relay.edge.home import Home
from tests import test_cli
from tests.chromium import Chromium, Operator, require
from tests.test_board import carry, serving
from tests.test_cli import ok, relay_cli
from tests.test_daemon import _wait_for

lab_template = test_cli.lab_template
lab = test_cli.lab

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "riktig-hest-batteri"


def add_user(home: Path, name: str, role: str, password: str = PASSWORD) -> None:
    ok(relay_cli("desk", "user", "add", name, "--role", role, "--password-stdin", home=home, input=password + "\n"))


@contextmanager
def desk(home: Path, *args: str) -> Iterator[str]:
    """``relay --home HOME desk --listen 127.0.0.1:0 ARGS``; yields the URL it prints."""
    with serving(home, "desk", "Skrivebordet: ", *args) as url:
        yield url


class Client:
    """A browser without a browser: cookies, the last page's CSRF token, any Host header."""

    def __init__(self, url: str, lang: str = "nb-NO,nb;q=0.9") -> None:
        self.lang = lang
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.location = ""

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, host: str | None = None
    ) -> tuple[int, str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Host": f"{self.host}:{self.port}" if host is None else host, "Accept-Language": self.lang}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        text = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                cookie = rest.split(";")[0].strip('"')
                if "Max-Age=0" in value or "expires=Thu, 01 Jan 1970" in value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = cookie
        if found := re.search(r'name="csrf" value="([^"]+)"', text):
            self.csrf = found.group(1)
        self.location = response.getheader("Location") or ""
        conn.close()
        return response.status, text

    def get(self, path: str, host: str | None = None) -> tuple[int, str]:
        return self.request("GET", path, host=host)

    def post(self, path: str, form: dict[str, str], csrf: bool = True) -> tuple[int, str]:
        return self.request("POST", path, {**form, "csrf": self.csrf} if csrf else form)

    def login(self, name: str, password: str = PASSWORD) -> tuple[int, str]:
        """Log in and follow the redirect to the log (200), or the refusal (401, 403, 429)."""
        self.get("/login")
        status, text = self.post("/login", {"name": name, "password": password, "next": "/"})
        return self.get(self.location) if status == 303 else (status, text)


def send(home: Path, *args: str) -> None:
    ok(relay_cli("send", *args, "--yes", home=home))


# --- as an operator, in Chromium ------------------------------------------------------


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    page = Chromium(require(), tmp_path / "chromium")
    try:
        yield page
    finally:
        page.close()


def log_in(op: Operator, url: str, name: str, password: str = PASSWORD) -> None:
    """Open the login page, type name and password, press the button, land on the log."""
    op.page.open(url + "login")
    op.at("/login")
    op.type("#name", name)
    op.type("#password", password)
    op.click("button[type=submit].primary")
    op.at("/")


SITREP = {
    "#f-report_no": "1",
    "#f-situation": "Dataangrep: telefoni og e-post nede i Vikersund.",
    "#f-actions_taken": "Plakater og FM-radio.",
    "#f-needs": "2 IKT-personer.",
}


def test_an_operator_writes_a_sitrep_fixes_a_wrong_time_previews_and_sends_it_and_kvitters(
    lab: Path, chromium: Chromium
) -> None:
    mod, hol = lab / "MOD", lab / "HOL"
    add_user(mod, "kari", "operatør")
    send(hol, "MELDING", "--priority", "HASTER", "--to", "MOD", "--text", "Trenger dere aggregat?")
    carry(hol, mod, "HOL", 1)
    op = Operator(chromium)
    with desk(mod) as url:
        log_in(op, url, "kari")
        op.click('a[href="/write/SITREP"]')
        op.at("/write/SITREP")
        op.choose("#f-priority", "H")
        for selector, text in SITREP.items():
            op.type(selector, text)
        op.type("#f-next_report", "om lenge")
        op.click("button[value=preview]")

        chromium.wait_for("document.querySelector('#e-next_report') !== null")
        chromium.wait_for("document.documentElement.dataset.desk === 'ready'")  # its script listens
        assert "ugyldig tidspunkt 'om lenge'" in op.text("#e-next_report")  # inline, beside its field
        assert "ugyldig tidspunkt" in op.text("#summary")
        for selector, text in SITREP.items():
            assert op.value(selector) == text  # nothing typed is lost
        assert op.value("#f-priority") == "HASTER"

        op.type("#f-next_report", "+2t", replace=True)
        chromium.wait_for("document.getElementById('cost').innerText.includes('pakke(r)')")  # measured as typed
        assert re.fullmatch(r"\d+ byte, 1 pakke\(r\), \d+\.\d s sendetid", op.text("#cost")), op.text("#cost")
        assert chromium.evaluate("location.search").startswith("?draft=")

        chromium.call("Page.reload")  # a reload keeps the draft
        chromium.wait_for("document.readyState === 'complete' && document.querySelector('#f-situation') !== null")
        assert op.value("#f-situation") == SITREP["#f-situation"] and op.value("#f-next_report") == "+2t"
        chromium.open(url + "drafts")
        op.at("/drafts")
        assert "SITREP #" in op.text("main") and "Dataangrep: telefoni" in op.text("main")  # drafts are listed
        op.click('a[href^="/write/SITREP?draft="]')
        op.at("/write/SITREP")
        chromium.wait_for("document.documentElement.dataset.desk === 'ready'")
        op.click("button[value=preview]")
        chromium.wait_for("document.querySelector('#preview') !== null")
        preview = op.text("#preview")
        assert re.search(r"Neste rapport\s+\d\d\.\d\d \d\d:\d\d", preview), preview  # +2t shown as a time
        assert "HASTER" in preview and "1 pakke(r)" in op.text("#cost")

        op.click("#sign")
        op.at("/message/MOD-0001")
        assert "MOD-0001 er signert og lagt i utboksen" in op.text("#sent")
        assert op.text("#signature").startswith("VERIFISERT: MOD")

        op.click('a[href="/"]')
        op.at("/")
        op.click('form[action="/ack/HOL-0001"] button[value=LEST]')
        chromium.wait_for("document.querySelector('#acked') !== null")
        assert "Kvitteringen MOD-0002 er signert" in op.text("#acked")

    roster = Home(mod).roster()
    store = Home(mod).store()
    try:
        (sitrep,) = store.get("MOD", 1)
        (receipt,) = store.get("MOD", 2)
        assert store.get("HOL", 1)[0].read_at is not None
    finally:
        store.close()
    verified = wire.decode(sitrep.wire, roster, dictionaries.available()).message  # signed by MOD's key
    assert verified.kind is Kind.SITREP and verified.priority.value == "HASTER"
    assert verified.get("situation") == SITREP["#f-situation"] and sitrep.local and sitrep.transmitted_at is None
    assert receipt.message.kind is Kind.KVITTERING and str(receipt.message.ref) == "HOL-0001"
    assert receipt.message.get("level") is ReceiptLevel.LEST and receipt.message.priority.value == "HASTER"
    records = Home(mod).desk()
    try:
        assert [(a.action, a.user) for a in records.authors("MOD", 1)] == [("skrev", "kari")]
        assert ("kvitterte LEST", "kari") in [(a.action, a.user) for a in records.authors("HOL", 1)]
    finally:
        records.close()

    logged = [line.strip() for line in ok(relay_cli("log", home=mod)) if "Loggført" in line]
    assert [re.sub(r" \d\d\.\d\d \d\d:\d\d", "", line) for line in logged] == [
        "Loggført: kari kvitterte LEST",  # HOL-0001, in the printed crisis log
        "Loggført: kari skrev",  # MOD-0001
        "Loggført: kari skrev",  # MOD-0002, the receipt
    ]

    carry(mod, hol, "MOD", 2)  # the receipt reaches Hole
    store = Home(hol).store()
    try:
        assert [r.message.id for r in store.replies("HOL", 1)] == ["MOD-0002"]
    finally:
        store.close()


def test_a_bistand_is_followed_from_open_to_covered_to_closed_across_two_nodes(lab: Path, chromium: Chromium) -> None:
    mod, hol = lab / "MOD", lab / "HOL"
    add_user(mod, "kari", "operatør")
    add_user(hol, "per", "operatør")
    op = Operator(chromium)
    with desk(mod) as mod_url, desk(hol) as hol_url:
        hol_url = hol_url.replace("127.0.0.1", "localhost")  # another origin: its own session cookie
        log_in(op, mod_url, "kari")
        op.page.open(mod_url + "write/BISTAND")
        op.at("/write/BISTAND")
        op.choose("#f-priority", "P")
        for name, text in {
            "resource": "IKT-tekniker",
            "quantity": "2",
            "task": "Sette opp reservenett på rådhuset.",
            "location": "Rådhuset Vikersund",
            "window": "I kveld",
            "contact": "Beredskap Modum",
        }.items():
            op.type(f"#f-{name}", text)
        op.click("button[value=preview]")
        chromium.wait_for("document.querySelector('#preview') !== null")
        op.click("#sign")
        op.at("/message/MOD-0001")
        assert op.text("#coverage") == "ÅPEN"

        carry(mod, hol, "MOD", 1)
        log_in(op, hol_url, "per")
        op.page.open(hol_url + "message/MOD-0001")
        op.at("/message/MOD-0001")
        op.click('a[href^="/write/BISTANDSSVAR"]')
        op.at("/write/BISTANDSSVAR")
        assert op.value("#f-ref") == "MOD-0001" and op.value("#f-to") == "MOD"
        op.choose("#f-answer", "I")
        op.type("#f-offer", "2 IKT-teknikere med bil")
        op.type("#f-eta", "+2t")
        op.type("#f-contact", "Beredskap Hole")
        op.click("button[value=preview]")
        chromium.wait_for("document.querySelector('#preview') !== null")
        op.click("#sign")
        op.at("/message/HOL-0001")

        carry(hol, mod, "HOL", 1)
        op.page.open(mod_url + "message/MOD-0001")
        op.at("/message/MOD-0001")
        assert op.text("#coverage") == "DEKKET"
        assert "HOL INNVILGET «2 IKT-teknikere med bil»" in op.text("main")
        op.page.open(mod_url)
        op.at("/")
        assert "DEKKET" in op.text("#assistance") and "HOL INNVILGET" in op.text("#assistance")

        op.page.open(mod_url + "message/MOD-0001")
        op.at("/message/MOD-0001")
        op.click("button[value=UTFØRT]")  # the requester closes it
        chromium.wait_for("document.querySelector('#acked') !== null")
        chromium.wait_for("(e => e && e.innerText === 'AVSLUTTET')(document.querySelector('#coverage'))")


# --- against the running server ---------------------------------------------------------


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, lab_template: Path) -> Iterator[tuple[Path, str]]:
    """One Modum desk for the security tests, with an operator, a reader and a hostile message."""
    import shutil

    root = tmp_path_factory.mktemp("desk") / "lab"
    shutil.copytree(lab_template, root)
    mod, hol = root / "MOD", root / "HOL"
    add_user(mod, "kari", "operatør")
    add_user(mod, "lars", "leser")
    add_user(mod, "gjett", "operatør")
    add_user(mod, "parallell", "operatør")
    send(hol, "MELDING", "--to", "MOD", "--text", HOSTILE)
    carry(hol, mod, "HOL", 1)
    with desk(mod) as url:
        yield mod, url


HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
FORMS = [
    ("/write/SITREP", {"f.report_no": "1", "action": "preview"}),
    ("/write/MELDING", {"f.text": "x", "action": "save"}),
    ("/measure/MELDING", {"f.text": "x"}),
    ("/send/1", {}),
    ("/drafts/1/delete", {}),
    ("/ack/HOL-0001", {"level": "LEST"}),
    ("/logout", {}),
]


def count(home: Path) -> int:
    store = Home(home).store()
    try:
        return store.count()
    finally:
        store.close()


@pytest.mark.parametrize("token", ["none", "wrong", "another session's"])
def test_every_form_without_its_csrf_token_is_refused(node: tuple[Path, str], token: str) -> None:
    home, url = node
    other = Client(url)
    other.login("kari")
    client = Client(url)
    assert client.login("kari")[0] == 200
    client.post("/write/MELDING", {"f.text": "et utkast", "action": "save"})  # draft 1 exists
    before = count(home)
    given = {"none": {}, "wrong": {"csrf": "x" * 32}, "another session's": {"csrf": other.csrf}}[token]
    for path, form in FORMS:
        status, _ = client.post(path, {**form, **given}, csrf=False)
        assert status == 403, path
    assert count(home) == before
    assert client.get("/")[0] == 200  # still logged in: the logout was refused too


def test_the_login_form_without_its_csrf_token_is_refused(node: tuple[Path, str]) -> None:
    _, url = node
    client = Client(url)
    client.get("/login")
    assert client.post("/login", {"name": "kari", "password": PASSWORD}, csrf=False)[0] == 403
    client.cookies.clear()
    assert client.post("/login", {"name": "kari", "password": PASSWORD})[0] == 403  # token without its cookie


def test_a_reader_reads_but_cannot_write(node: tuple[Path, str]) -> None:
    home, url = node
    client = Client(url)
    assert client.login("lars")[0] == 200
    assert client.get("/")[0] == 200 and client.get("/message/HOL-0001")[0] == 200
    before = count(home)
    assert client.get("/write/SITREP")[0] == 403
    assert client.post("/write/MELDING", {"f.text": "x", "action": "preview"})[0] == 403
    assert client.post("/ack/HOL-0001", {"level": "LEST"})[0] == 403
    assert client.get("/drafts")[0] == 403
    assert count(home) == before
    _, page = client.get("/")
    assert "kvitter LEST" not in page and 'href="/write/' not in page


def test_without_a_session_every_page_but_the_login_sends_to_it(node: tuple[Path, str]) -> None:
    _, url = node
    client = Client(url)
    for path in ("/", "/message/HOL-0001", "/write/SITREP", "/drafts"):
        status, _ = client.get(path)
        assert status == 303
    assert client.post("/ack/HOL-0001", {"level": "LEST", "csrf": "x"}, csrf=False)[0] == 303


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.nip.io", ""])
def test_a_foreign_host_header_is_refused(node: tuple[Path, str], host: str) -> None:
    _, url = node
    client = Client(url)
    client.login("kari")
    assert client.get("/", host=host)[0] == 400  # a DNS-rebinding page reaches the loopback desk under its name
    assert client.get("/", host="localhost")[0] == 200


def test_an_expired_session_is_refused(lab: Path) -> None:
    mod = lab / "MOD"
    add_user(mod, "kari", "operatør")
    with desk(mod, "--session-minutes", "0.035") as url:  # 2.1 s
        client = Client(url)
        logged_in = time.monotonic()
        assert client.login("kari")[0] == 200 and client.get("/")[0] == 200
        time.sleep(max(0.0, logged_in + 2.3 - time.monotonic()))
        assert client.get("/")[0] == 303
        assert client.post("/write/MELDING", {"f.text": "x", "action": "save"})[0] == 303


def test_logout_ends_the_session(node: tuple[Path, str]) -> None:
    _, url = node
    client = Client(url)
    client.login("kari")
    cookie = dict(client.cookies)
    assert client.post("/logout", {})[0] == 303
    client.cookies = cookie  # the old cookie, kept by an attacker
    assert client.get("/")[0] == 303


def test_html_in_a_message_is_shown_as_text_everywhere(node: tuple[Path, str]) -> None:
    _, url = node
    client = Client(url)
    client.login("kari")
    client.post("/write/MELDING", {"f.subject": HOSTILE, "f.text": HOSTILE, "to": "HOL", "action": "save"})
    pages = ["/", "/message/HOL-0001", "/wall", "/fragment", "/print", "/drafts", "/?text=script"]
    for path in pages:
        status, html = client.get(path)
        assert status == 200, path
        assert "<script>alert(1)" not in html and "<img src=x" not in html, path
    assert ESCAPED in client.get("/message/HOL-0001")[1]
    _, form = client.post("/write/MELDING", {"f.subject": HOSTILE, "f.text": HOSTILE, "to": "X Y", "action": "preview"})
    assert "<script>alert(1)" not in form and ESCAPED in form


def test_the_message_page_says_what_each_addressee_confirmed(lab: Path) -> None:
    """As ``relay show`` does: received (from summaries), read (a KVITTERING), or not yet and when last heard."""
    from datetime import UTC, datetime

    mod, hol = lab / "MOD", lab / "HOL"
    add_user(mod, "kari", "leser")
    send(mod, "MELDING", "--to", "KOMMUNER", "--text", "Møte kl 16.")
    carry(mod, hol, "MOD", 1)
    ok(relay_cli("ack", "MOD-0001", home=hol))
    carry(hol, mod, "HOL", 1)
    store = Home(mod).store()
    try:
        store.add_receipt("MOD", 1, "RIN", "MOTTATT", datetime(2026, 5, 29, 12, 0, tzinfo=UTC))
    finally:
        store.close()
    test_cli.heard_by_the_daemon(mod, {"SIG": datetime(2026, 5, 29, 12, 2, tzinfo=UTC)})
    with desk(mod) as url:
        client = Client(url)
        client.login("kari")
        status, html = client.get("/message/MOD-0001")
        english = Client(url, "en")
        english.login("kari")
        _, in_english = english.get("/message/MOD-0001")
    assert status == 200
    said = dict(re.findall(r"<li(?: class=\"waiting\")?><b>(\w+)</b>: ([^<]*)</li>", html))
    assert said.pop("HOL").startswith("lest ")  # its KVITTERING; no summary of Hole's heard yet
    assert said == {
        "RIN": "mottatt 29.05 14:00",
        "JEV": "ikke bekreftet ennå (aldri hørt)",
        "KRO": "ikke bekreftet ennå (aldri hørt)",
        "SIG": "ikke bekreftet ennå (sist hørt 29.05 14:02)",
    }
    assert "Bekreftet av mottakerne" in html
    assert "<b>SIG</b>: not confirmed yet (last heard 29.05 14:02)" in in_english


def test_the_lockout_holds_under_a_password_guessing_loop(node: tuple[Path, str]) -> None:
    _, url = node
    client = Client(url)
    answers = [client.login("gjett", f"gjett-{i:04d}")[0] for i in range(12)]
    assert answers[:4] == [401] * 4 and set(answers[4:]) == {429}
    status, page = client.login("gjett", PASSWORD)  # the right password, while locked
    assert status == 429 and "sperret til" in page
    assert client.get("/")[0] == 303
    assert Client(url).login("kari")[0] == 200  # one account locked, not the desk


def test_the_lockout_holds_when_the_guesses_come_in_parallel(node: tuple[Path, str]) -> None:
    import threading

    _, url = node
    answers: list[int] = []

    def guess(i: int) -> None:
        answers.append(Client(url).login("parallell", f"gjett-{i:04d}")[0])

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [401] * 4 + [429] * 6  # exactly four guesses before the lock
    assert Client(url).login("parallell")[0] == 429  # the right password, while locked


def test_a_new_user_is_made_with_a_memory_hard_hash_and_a_known_role(lab: Path) -> None:
    mod = lab / "MOD"
    add_user(mod, "kari", "operatør")
    result = relay_cli("desk", "user", "add", "x", "--role", "sjef", "--password-stdin", home=mod, input="p" * 9)
    assert result.exit_code == 1 and "ukjent rolle 'sjef'" in result.stderr
    result = relay_cli("desk", "user", "add", "x", "--role", "leser", "--password-stdin", home=mod, input="kort\n")
    assert result.exit_code == 1 and "minst 8 tegn" in result.stderr
    assert ok(relay_cli("desk", "user", "list", home=mod)) == ["kari\toperatør"]
    records = Home(mod).desk()
    try:
        user = records.user("kari")
    finally:
        records.close()
    assert user is not None and PASSWORD.encode() not in user.hash and len(user.salt) == 16
    assert oct((mod / "desk.db").stat().st_mode & 0o777) == "0o600"


def test_the_map_draws_every_site_of_the_region_file_with_its_worst_function_and_loads_nothing(
    node: tuple[Path, str],
) -> None:
    home, url = node
    send(home, "STATUS", "--field", "STRØM=GRØNN", "--field", "IKT=RØD: dataangrep")
    status, html = Client(url).get("/map")
    assert status == 200 and "<svg" in html
    assert re.findall(r'data-node="(\w+)"', html) == ["RIN", "HOL", "JEV", "MOD", "KRO", "SIG", "SF", "POL"]
    assert ">MOD RØD<" in html and ">KRO ikke rapportert<" in html  # the level in words, not colour alone
    assert "Gyrihaugen" in html and "Norefjell" in html and html.count('class="link"') == 12
    assert "http" not in html and "<image" not in html and "src=" not in html  # no tiles, nothing loaded


def test_the_desk_unit_serves_loopback_from_the_same_home_without_the_radio() -> None:
    import configparser

    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((REPO / "hw" / "relay-desk.service").read_text())
    service = parser["Service"]
    assert service["ExecStart"].startswith("/opt/relay/venv/bin/relay --home /var/lib/relay desk --listen 127.0.0.1:")
    assert "--region /opt/relay/share/firmware-config/region.toml" in service["ExecStart"]
    assert (service["User"], service["StateDirectory"], service["PrivateDevices"]) == ("relay", "relay", "yes")
    assert "SupplementaryGroups" not in service and parser["Install"]["WantedBy"] == "multi-user.target"


FOCUS = "(e => [e.id || e.name || e.tagName, getComputedStyle(e).outlineStyle])(document.activeElement)"


def test_the_forms_meet_wcag_aa_contrast_and_work_by_keyboard_alone(lab: Path, chromium: Chromium) -> None:
    from tests.test_board import CONTRAST_FAILURES

    mod = lab / "MOD"
    add_user(mod, "kari", "operatør")
    op = Operator(chromium)
    with desk(mod) as url:
        chromium.open(url + "login")
        op.at("/login")
        assert chromium.evaluate(CONTRAST_FAILURES) == []
        op.focus("#name")  # autofocus, as the page opens
        chromium.call("Input.insertText", {"text": "kari"})
        op.press("Tab")
        assert chromium.evaluate(FOCUS) == ["password", "solid"]
        chromium.call("Input.insertText", {"text": PASSWORD})
        op.press("Enter")
        op.at("/")
        assert chromium.evaluate(CONTRAST_FAILURES) == []

        chromium.open(url + "write/MELDING")
        op.at("/write/MELDING")
        seen = []
        for _ in range(40):
            op.press("Tab")
            seen.append(chromium.evaluate(FOCUS))
            if seen[-1][0] == "action":
                break
        assert all(style == "solid" for _, style in seen), seen  # every stop shows where it is
        names = [name for name, _ in seen]
        assert names.index("f-to") < names.index("f-priority") < names.index("f-text") < names.index("action")
        op.press("Enter")  # «Forhåndsvis» with the text missing: the errors, focused
        chromium.wait_for("document.querySelector('#e-text') !== null")
        chromium.wait_for("document.activeElement.id === 'summary'")  # the page's script moves the focus there
        assert chromium.evaluate(CONTRAST_FAILURES) == []
        op.press("Tab")  # the summary's link to the field
        op.press("Enter")
        chromium.wait_for("location.hash === '#f-text'")


def test_the_desk_wall_and_map_follow_the_browsers_language_and_messages_stay_as_written(
    node: tuple[Path, str],
) -> None:
    _, url = node
    client = Client(url, lang="en-GB,en;q=0.9")
    status, page = client.login("kari")
    assert status == 200 and "The log" in page and "Requests for assistance" in page
    assert '<html lang="en">' in page
    _, wall = client.get("/wall")
    assert "Situation picture" in wall and "Critical functions" in wall and "Kritiske funksjoner" not in wall
    assert "Sound: on" in wall
    _, shown = client.get("/message/HOL-0001")
    assert "Signature" in shown and "VERIFIED: HOL" in shown and ESCAPED in shown  # the text as written
    _, form = client.post("/write/SITREP", {"f.next_report": "snart", "action": "preview"})
    assert "invalid time &#39;snart&#39;" in form and "Situation report" in form
    assert "Map –" in client.get("/map")[1]
    assert "Situasjonsbilde" in Client(url).get("/wall")[1]  # a Norwegian browser, the same desk


def test_relay_board_follows_lang_en_or_the_browser(lab: Path) -> None:
    import threading
    import urllib.request
    from datetime import UTC

    from relay.board.server import Board, BoardServer

    def page(board: Board, accept: str) -> str:
        server = BoardServer(("127.0.0.1", 0), board, None)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            request = urllib.request.Request(server.url + "print", headers={"Accept-Language": accept})
            with urllib.request.urlopen(request, timeout=10) as response:
                return str(response.read().decode())
        finally:
            server.shutdown()
            server.server_close()

    home = Home(lab / "HOL")
    assert "Situation picture at" in page(Board(home, True, UTC, lang="en"), "nb")  # relay --lang en board
    assert "Situation picture at" in page(Board(home, True, UTC), "en-US,en")
    assert "Situasjonsbilde kl" in page(Board(home, True, UTC), "nb-NO")


@pytest.mark.slow
def test_over_hw_sim_a_sitrep_from_the_desk_reaches_the_next_nodes_open_wall_and_its_kvittering_comes_back(
    tmp_path: Path, chromium: Chromium
) -> None:
    """The whole path with real daemons on ``relay hw-sim`` (20x): MOD's desk signs, the daemons carry it,
    RIN's open wall shows it within 2 s of its arrival in RIN's store, RIN's operator kvitters LEST at
    RIN's desk, and the receipt reaches MOD's store."""
    from tests.test_daemon import lab as daemon_lab

    with daemon_lab(tmp_path / "lab", speedup=20) as the_lab:
        mod, rin = the_lab.homes["MOD"].path, the_lab.homes["RIN"].path
        add_user(mod, "kari", "operatør")
        add_user(rin, "per", "operatør")
        for node in ("MOD", "RIN", "SIG"):
            the_lab.start(node)
        the_lab.connected("MOD", "RIN", "SIG")
        op = Operator(chromium)
        with desk(mod) as mod_url, desk(rin) as rin_url:
            rin_url = rin_url.replace("127.0.0.1", "localhost")
            log_in(op, mod_url, "kari")
            chromium.open(mod_url + "write/SITREP")
            op.at("/write/SITREP")
            op.choose("#f-priority", "H")
            for selector, text in {**SITREP, "#f-next_report": "+2t"}.items():
                op.type(selector, text)
            op.click("button[value=preview]")
            chromium.wait_for("document.querySelector('#sign') !== null")
            op.click("#sign")
            op.at("/message/MOD-0001")

            log_in(op, rin_url, "per")
            chromium.open(rin_url + "wall")
            chromium.wait_for("document.getElementById('board') !== null")
            time.sleep(0.5)  # the wall's event stream is open
            _wait_for(lambda: the_lab.held("RIN", "MOD", 1), 60, "MOD-0001 in RIN's store")
            arrived = time.monotonic()
            chromium.wait_for("document.getElementById('board').innerText.includes('Dataangrep: telefoni')", 5)
            assert time.monotonic() - arrived < 2.0

            chromium.open(rin_url + "message/MOD-0001")
            op.at("/message/MOD-0001")
            op.click('form[action="/ack/MOD-0001"] button[value=LEST]')
            chromium.wait_for("document.querySelector('#acked') !== null")
            replies = _wait_for(lambda: the_lab_replies(the_lab, "MOD", 1), 60, "RIN's receipt in MOD's store")
            assert [(r.origin, r.kind, r.get("level")) for r in replies] == [
                ("RIN", Kind.KVITTERING, ReceiptLevel.LEST)
            ]


def the_lab_replies(the_lab: object, origin: str, seq: int) -> list[object]:
    store = the_lab.homes["MOD"].store()  # type: ignore[attr-defined]
    try:
        return [s.message for s in store.replies(origin, seq)]
    finally:
        store.close()


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example", "https://evil.example/", "/%2f%2fevil"])
def test_no_redirect_leaves_the_desk(node: tuple[Path, str], target: str) -> None:
    _, url = node
    client = Client(url)
    client.get("/login")
    status, _ = client.post("/login", {"name": "kari", "password": PASSWORD, "next": target})
    assert (status, client.location) == (303, "/")
    client.get("/")  # the session's CSRF token
    status, _ = client.post("/ack/HOL-0001", {"level": "LEST", "back": target})
    assert status == 303 and client.location.startswith("/?acked=")


def test_on_the_lan_the_desk_knows_its_own_names_and_never_shows_0_0_0_0() -> None:
    import socket

    from relay.board.guard import allowed_hosts
    from relay.board.guard import lan_address as _lan_address

    assert allowed_hosts("127.0.0.1", ()) == sorted(["127.0.0.1", "::1", "localhost"])
    lan = allowed_hosts("0.0.0.0", ("desk.modum.local",))
    assert "0.0.0.0" not in lan and _lan_address() != "0.0.0.0"
    assert {"localhost", "desk.modum.local", socket.gethostname(), _lan_address()} <= set(lan)
