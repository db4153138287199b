"""The command line end to end: exact output, exit codes, and what reaches the store.

Modelled on sqlite-utils' ``tests/test_cli.py``: every test runs ``relay``
through click's CliRunner against its own copy of a lab (one home per node of
the Modum scenario, built by ``relay lab setup``) with the clock fixed at
2026-05-29 12:00 UTC, which is 14:00 in Oslo.  Whole lines are compared.  Keys
differ per run, so a line that carries a key or a fingerprint is checked for
shape with a regex and against the key file on disk.

A few tests run ``relay`` as a real process: the import-time check, an
operator typing into ``relay send SITREP`` on a pseudo-terminal, and the HTML
crisis log rendered by headless Chromium (skipped where Chromium is missing).

Tests marked ``xfail(strict=True)`` pin down bugs found while writing this
file; each reason says what is wrong.  Fix the bug and the marker must go.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import select
import shlex
import shutil
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

import relay
import relay.cli.context
from relay.cli.main import cli
from relay.core import wire
from relay.core.model import (
    Address,
    Answer,
    Function,
    InfoState,
    Kind,
    Level,
    MessageRef,
    Priority,
    ReceiptLevel,
    RumourState,
    StatusRow,
)
from relay.core.signing import Signer
from relay.edge import dictionaries, keys
from relay.edge.home import Home, NodeConfig, fingerprint
from relay.edge.store import Stored
from relay.errors import ConfigError
from tests import chromium

REPO = Path(relay.__file__).resolve().parents[1]  # the checkout that holds the relay package
SCENARIO = REPO / "relay" / "data" / "scenarios" / "modum.toml"
ARTIFACTS = REPO / "artifacts"  # git-ignored

FIXED = datetime(2026, 5, 29, 12, 0, tzinfo=UTC)  # 14:00 in Oslo (CEST)
NODES = ("RIN", "HOL", "JEV", "MOD", "KRO", "SIG", "SF", "POL")  # the scenario's store nodes, roster order
ROSTER_NODES = "RIN, HOL, JEV, MOD, KRO, SIG, SF, POL"

KEY_LINE = re.compile(r"^  [A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")  # 32 bytes of base64, indented
FINGERPRINT = re.compile(r"^[0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4}$")

# The CLI reads these; the tests must not depend on the developer's shell.
ENV = {"RELAY_HOME": None, "RELAY_LANG": None, "LANG": "C.UTF-8", "LC_ALL": None}

pytestmark = pytest.mark.skipif(
    relay.cli.context.LOCAL_TZ is None, reason="tzdata has no Europe/Oslo; expected times are Oslo local time"
)


# --- running relay -------------------------------------------------------------


def sh(line: str) -> list[str]:
    """Arguments written the way an operator types them: ``sh("send MELDING --text 'Hei.'")``."""
    return shlex.split(line)


def relay_cli(*args: object, home: Path | None = None, input: str | None = None) -> Result:
    """``relay [--home HOME] ARGS...`` in-process; stdout and stderr kept apart (click 8.2+)."""
    argv = (["--home", str(home)] if home is not None else []) + [str(a) for a in args]
    return CliRunner(env=ENV).invoke(cli, argv, input=input, prog_name="relay")


def ok(result: Result) -> list[str]:
    """Assert success with a clean stderr; return the output lines."""
    assert result.exit_code == 0, result.stderr or repr(result.exception)
    assert result.stderr == ""
    return result.stdout.splitlines()


def fails(result: Result, message: str, prefix: str = "Feil") -> None:
    """Assert exit status 1 with exactly one line, «Feil: MESSAGE», on stderr and nothing on stdout."""
    assert result.stderr == f"{prefix}: {message}\n", repr(result.exception)
    assert result.stdout == ""
    assert result.exit_code == 1


def fails_cleanly(result: Result) -> None:
    """Like ``fails`` where the wording is not yet known: one «Feil: …» line, exit 1, no traceback."""
    assert isinstance(result.exception, SystemExit), f"uncaught {result.exception!r}"
    assert re.fullmatch(r"Feil: [^\n]+\n", result.stderr), result.stderr
    assert result.stdout == ""
    assert result.exit_code == 1


def send(lab: Path, node: str, line: str) -> list[str]:
    """``relay --home LAB/NODE send LINE``, which must succeed; its output lines."""
    return ok(relay_cli("send", *sh(line), home=lab / node))


# --- looking into homes -------------------------------------------------------


def held(home: Path) -> list[Stored]:
    """Every message in a home's store, in the order it arrived."""
    store = Home(home).store()
    try:
        return store.log()
    finally:
        store.close()


def message(home: Path, ident: str) -> Stored:
    ref = MessageRef.parse(ident)
    store = Home(home).store()
    try:
        (one,) = store.get(ref.origin, ref.seq)
    finally:
        store.close()
    return one


def counts(lab: Path) -> dict[str, int]:
    """How many messages each node's store holds."""
    out = {}
    for node in NODES:
        store = Home(lab / node).store()
        try:
            out[node] = store.count()
        finally:
            store.close()
    return out


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file below ``directory`` (SQLite's -wal/-shm side files aside), by relative path."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def deliver(lab: Path, ident: str, to: str, at: datetime = FIXED) -> None:
    """Carry a message into another node's store as the radio would: signed bytes, verified on arrival."""
    ref = MessageRef.parse(ident)
    sent = message(lab / ref.origin, ident)
    received = wire.decode(sent.wire, Home(lab / to).roster(), dictionaries.available())
    store = Home(lab / to).store()
    try:
        store.insert(received, at, local=False)
    finally:
        store.close()


def lab_authority(lab: Path) -> Signer:
    return keys.load(lab / "_authority" / "authority.key")


def public_key(home: Path) -> str:
    return base64.b64encode(Home(home).signer().public_key).decode()


def key_fingerprint(home: Path) -> str:
    fp = fingerprint(Home(home).signer().public_key)
    assert FINGERPRINT.match(fp)
    return fp


# --- fixtures ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relay.cli.context, "clock", lambda: FIXED)


@pytest.fixture(scope="session")
def lab_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One lab made by ``relay lab setup`` at the fixed time.

    Setting up fsyncs 17 files (about half a second), so it is done once and
    every test gets a fresh copy through ``lab``.
    """
    directory = tmp_path_factory.mktemp("template") / "lab"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(relay.cli.context, "clock", lambda: FIXED)
        result = relay_cli("lab", "setup", directory, "--scenario", SCENARIO)
    assert ok(result) == [f"Laboratoriet er klart i {directory}"]
    return directory


@pytest.fixture
def lab(lab_template: Path, tmp_path: Path) -> Path:
    """A private copy of the lab in tmp_path: DIR/RIN, DIR/HOL, ... and DIR/_authority."""
    directory = tmp_path / "lab"
    shutil.copytree(lab_template, directory)
    return directory


@pytest.fixture
def traffic(lab: Path) -> Path:
    """The lab after some traffic, all of it now in Hole's store.

    MOD-0001 SITREP HASTER and MOD-0002 BISTAND PRIORITET (exercise), SF-0001
    MELDING RUTINE (exercise), RIN-0001 MELDING NØD (real), received by HOL at
    14:05, 14:06, 14:07 and 14:08.
    """
    send(
        lab,
        "MOD",
        "SITREP --priority HASTER --text 'Dataangrep mot kommunens IKT.' --field report_no=1"
        " --field 'actions_taken=Informasjon via FM-radio.' --field 'needs=2 personer med IKT-kompetanse.'"
        " --field next_report=18:00",
    )
    send(
        lab,
        "MOD",
        "BISTAND --priority PRIORITET --to KOMMUNER --text 'Drift av nettverk etter dataangrepet.'"
        " --field resource=IKT-personell --field quantity=2 --field 'location=Modum rådhus'"
        " --field 'window=Snarest, 48 timer' --field 'contact=Kriseleder Modum'",
    )
    send(lab, "SF", "MELDING --text 'Meld status innen kl 16.'")
    send(lab, "RIN", "MELDING --priority NØD --real --text 'Brann i Hønefoss sentrum.'")
    for minute, ident in enumerate(("MOD-0001", "MOD-0002", "SF-0001", "RIN-0001"), start=5):
        deliver(lab, ident, "HOL", FIXED.replace(minute=minute))
    return lab


# --- lab setup, init ------------------------------------------------------------


def test_lab_setup_makes_one_home_per_store_node_sharing_one_roster(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    result = relay_cli("lab", "setup", directory, "--scenario", SCENARIO)
    assert ok(result) == [f"Laboratoriet er klart i {directory}"]
    assert sorted(p.name for p in directory.iterdir()) == sorted([*NODES, "_authority"])  # no home for REP
    authority = lab_authority(directory)
    for node in NODES:
        home = Home(directory / node)
        config = home.config()
        assert (config.node_id, config.exercise) == (node, True)
        assert config.authority_key == base64.b64encode(authority.public_key).decode()
        roster = home.roster()
        assert (roster.region, roster.version, roster.node_ids) == ("modum (øvelse)", 9, NODES)
        assert roster.active(node).public_key == home.signer().public_key  # type: ignore[union-attr]
        assert held(directory / node) == []


def test_lab_setup_refuses_an_existing_lab(lab: Path) -> None:
    before = snapshot(lab)
    fails(
        relay_cli("lab", "setup", lab, "--scenario", SCENARIO),
        f"nøkkelfilen {lab}/_authority/authority.key finnes allerede; den overskrives ikke",
    )
    assert snapshot(lab) == before


def test_lab_roster_show(lab: Path) -> None:
    names = {
        "RIN": "Ringerike kommune",
        "HOL": "Hole kommune",
        "JEV": "Jevnaker kommune",
        "MOD": "Modum kommune",
        "KRO": "Krødsherad kommune",
        "SIG": "Sigdal kommune",
        "SF": "Statsforvalteren",
        "POL": "Politikontakt",
    }
    roles = {"SF": "statsforvalter", "POL": "politi"}
    assert ok(relay_cli("roster", "show", home=lab / "HOL")) == [
        "modum (øvelse) (ID modum-ovelse), versjon 9, utstedt 2026-05-29 12:00 UTC",
        f"Autoritet: {fingerprint(lab_authority(lab).public_key)}",
        *(
            f"  {node:<5} {names[node]:<28} {roles.get(node, 'kommune'):<15} {key_fingerprint(lab / node)}  aktiv"
            for node in NODES
        ),
    ]


def test_init_prints_node_public_key_and_fingerprint(tmp_path: Path) -> None:
    home = tmp_path / "mod"
    lines = ok(relay_cli(*sh("init --node mod --name 'Modum kommune'"), home=home))
    signer = Home(home).signer()
    assert len(lines) == 4
    assert lines[0] == f"Node MOD satt opp i {home}"
    assert lines[1] == "Offentlig nøkkel (gi den til rosterautoriteten):"
    assert KEY_LINE.match(lines[2])
    assert lines[2] == f"  {base64.b64encode(signer.public_key).decode()}"
    assert re.fullmatch(r"Fingeravtrykk: [0-9A-F]{4}( [0-9A-F]{4}){3}", lines[3])
    assert lines[3] == f"Fingeravtrykk: {fingerprint(signer.public_key)}"
    assert Home(home).config() == NodeConfig("MOD", "Modum kommune")
    assert stat.S_IMODE(Home(home).key_path.stat().st_mode) == 0o600
    assert held(home) == []


def test_init_options_end_up_in_the_config(tmp_path: Path) -> None:
    home = tmp_path / "hol"
    ok(relay_cli(*sh("init --node HOL --name 'Hole kommune' --radio tcp://pi.local:4403 --exercise"), home=home))
    assert Home(home).config() == NodeConfig("HOL", "Hole kommune", radio="tcp://pi.local:4403", exercise=True)


def test_init_takes_the_home_from_relay_home(tmp_path: Path) -> None:
    home = tmp_path / "env-home"
    result = CliRunner(env={**ENV, "RELAY_HOME": str(home)}).invoke(cli, sh("init --node SIG --name Sigdal"))
    assert ok(result)[0] == f"Node SIG satt opp i {home}"
    assert Home(home).config().node_id == "SIG"


def test_second_init_in_the_same_home_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "mod"
    ok(relay_cli(*sh("init --node MOD --name 'Modum kommune'"), home=home))
    before = snapshot(home)
    fails(
        relay_cli(*sh("init --node HOL --name 'Hole kommune'"), home=home),
        f"{home} er allerede satt opp for en node (fant relay.toml)",
    )
    assert snapshot(home) == before


def test_init_refuses_a_bad_node_id_and_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "x"
    fails(relay_cli(*sh("init --node x --name X"), home=home), "ugyldig node-ID 'X' (2-8 tegn, A-Z og 0-9, f.eks. MOD)")
    assert not home.exists()


def test_init_in_english(tmp_path: Path) -> None:
    home = tmp_path / "mod"
    lines = ok(relay_cli(*sh("--lang en init --node MOD --name 'Modum kommune'"), home=home))
    assert lines == [
        f"Node MOD set up in {home}",
        "Public key (give it to the roster authority):",
        f"  {public_key(home)}",
        f"Fingerprint: {key_fingerprint(home)}",
    ]


def test_init_in_english_shows_the_normalised_node_id(tmp_path: Path) -> None:
    home = tmp_path / "mod"
    lines = ok(relay_cli(*sh("--lang en init --node mod --name 'Modum kommune'"), home=home))
    assert lines[0] == f"Node MOD set up in {home}"


# --- the roster ----------------------------------------------------------------


@pytest.fixture
def region(tmp_path: Path) -> dict[str, Path]:
    """Ringerike is the roster authority (version 3: RIN, HOL); Hole has imported version 3."""
    rin, hol = tmp_path / "rin", tmp_path / "hol"
    ok(relay_cli(*sh("init --node RIN --name 'Ringerike kommune'"), home=rin))
    ok(relay_cli("roster", "create", home=rin))
    ok(relay_cli(*sh("init --node HOL --name 'Hole kommune'"), home=hol))
    for node, home, name in (("RIN", rin, "Ringerike kommune"), ("HOL", hol, "Hole kommune")):
        ok(relay_cli(*sh(f"roster add --node {node} --name '{name}' --key {public_key(home)}"), home=rin))
    ok(relay_cli("roster", "export", tmp_path / "roster-v3.json", home=rin))
    ok(relay_cli("roster", "import", tmp_path / "roster-v3.json", home=hol))
    return {"rin": rin, "hol": hol, "v3": tmp_path / "roster-v3.json"}


def test_roster_create_add_revoke_show_export_import(tmp_path: Path) -> None:
    rin, hol = tmp_path / "rin", tmp_path / "hol"
    ok(relay_cli(*sh("init --node RIN --name 'Ringerike kommune'"), home=rin))

    lines = ok(relay_cli("roster", "create", home=rin))
    authority = fingerprint(keys.load(rin / "authority.key").public_key)
    assert FINGERPRINT.match(authority)
    assert lines == [
        "Roster for Ringerike-regionen (ID ringerike) opprettet (versjon 1).",
        f"Autoritetens fingeravtrykk: {authority}",
    ]
    assert Home(rin).config().authority_key == base64.b64encode(keys.load(rin / "authority.key").public_key).decode()
    assert ok(relay_cli("roster", "show", home=rin)) == [
        "Ringerike-regionen (ID ringerike), versjon 1, utstedt 2026-05-29 12:00 UTC",
        f"Autoritet: {authority}",
    ]

    ok(relay_cli(*sh("init --node HOL --name 'Hole kommune'"), home=hol))
    add_rin = sh(f"roster add --node RIN --name 'Ringerike kommune' --key {public_key(rin)}")
    add_hol = sh(f"roster add --node hol --name 'Hole kommune' --key {public_key(hol)}")
    assert ok(relay_cli(*add_rin, home=rin)) == ["RIN lagt til (roster versjon 2)."]
    assert ok(relay_cli(*add_hol, home=rin)) == ["HOL lagt til (roster versjon 3)."]
    rin_line = f"  RIN   Ringerike kommune            kommune         {key_fingerprint(rin)}  aktiv"
    hol_line = f"  HOL   Hole kommune                 kommune         {key_fingerprint(hol)}  aktiv"
    assert ok(relay_cli("roster", "show", home=rin)) == [
        "Ringerike-regionen (ID ringerike), versjon 3, utstedt 2026-05-29 12:00 UTC",
        f"Autoritet: {authority}",
        rin_line,
        hol_line,
    ]

    v3 = tmp_path / "roster-v3.json"
    assert ok(relay_cli("roster", "export", v3, home=rin)) == [f"Roster versjon 3 skrevet til {v3}"]
    assert v3.read_text(encoding="utf-8") == (rin / "roster.json").read_text(encoding="utf-8")
    assert ok(relay_cli("roster", "import", v3, home=hol)) == [
        "Roster versjon 3 importert (2 nøkler).",
        f"Autoriteten er nå låst: {authority} (sammenlign med papirkopien).",
    ]
    assert Home(hol).config().authority_key == Home(rin).config().authority_key
    assert relay_cli("roster", "show", "--json", home=hol).stdout == v3.read_text(encoding="utf-8")

    # RIN is the authority and a node: the revocation goes to the region by radio at once.
    assert ok(relay_cli("roster", "revoke", "hol", home=rin)) == [
        "Nøkkelen til HOL er tilbakekalt (roster versjon 4). Eksporter og del rosteret: "
        "første node som importerer det, sender tilbakekallingen over radio.",
        "ROSTER til ALLE, HASTER, REELL: 168 byte, 1 pakke(r), 1.7 s sendetid (LONG_FAST)",
        "RIN-0001 lagt i utboksen.",
        "RIN-0001 sender tilbakekallingen av HOL til hele regionen over radio.",
    ]
    (sent,) = held(rin)
    assert (sent.message.kind, sent.message.get("node")) == (Kind.ROSTER, "HOL")
    v4 = tmp_path / "roster-v4.json"
    ok(relay_cli("roster", "export", v4, home=rin))
    assert ok(relay_cli("roster", "import", v4, home=hol)) == [
        "Roster versjon 4 importert (2 nøkler).",
        "Denne nodens egen nøkkel er tilbakekalt: tilbakekallingen må sendes fra en annen node.",
    ]
    assert ok(relay_cli("roster", "show", home=hol))[2:] == [rin_line, hol_line.replace("aktiv", "TILBAKEKALT")]
    shown = json.loads(relay_cli("roster", "show", "--json", home=hol).stdout)
    assert (shown["version"], [e["revoked"] for e in shown["entries"]]) == (4, [None, "2026-05-29T12:00:00Z"])
    # A revoked node can no longer sign: every other node would reject its message.
    fails(
        relay_cli(*sh("send MELDING --text Test."), home=hol),
        "nøkkelen til HOL står ikke (aktiv) i rosteret: andre noder vil avvise meldingen",
    )
    assert held(hol) == []


ZERO_KEY = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    ("line", "error"),
    [
        pytest.param("--node SF --name SF --key 'ikke base64!'", "nøkkelen er ikke gyldig base64", id="not-base64"),
        pytest.param("--node SF --name SF --key AAAA", "SF: offentlig nøkkel må være 32 byte", id="short-key"),
        pytest.param(
            f"--node SF --name SF --role konge --key {ZERO_KEY}",
            "ukjent rolle 'konge' (gyldige: kommune, statsforvalter, politi, brann, repeater, annet)",
            id="unknown-role",
        ),
        pytest.param(
            f"--node S --name SF --key {ZERO_KEY}",
            "ugyldig node-ID 'S' (2-8 tegn, A-Z og 0-9, f.eks. MOD)",
            id="bad-id",
        ),
    ],
)
def test_roster_add_refuses_bad_entries(region: dict[str, Path], line: str, error: str) -> None:
    before = snapshot(region["rin"])
    fails(relay_cli("roster", "add", *sh(line), home=region["rin"]), error)
    assert snapshot(region["rin"]) == before


def test_roster_add_refuses_a_key_twice(region: dict[str, Path]) -> None:
    before = snapshot(region["rin"])
    fails(
        relay_cli(*sh(f"roster add --node JEV --name Jevnaker --key {public_key(region['hol'])}"), home=region["rin"]),
        "nøkkelen er allerede registrert for HOL",
    )
    assert snapshot(region["rin"]) == before


def test_roster_changes_need_the_authority_key(region: dict[str, Path]) -> None:
    before = snapshot(region["hol"])
    fails(
        relay_cli("roster", "revoke", "RIN", home=region["hol"]),
        "denne noden er ikke rosterautoritet (fant ingen authority.key); kjør «relay roster create»",
    )
    fails(relay_cli("roster", "revoke", "XYZ", home=region["rin"]), "XYZ har ingen aktiv nøkkel i rosteret")
    assert snapshot(region["hol"]) == before


def test_roster_create_twice_is_refused(region: dict[str, Path]) -> None:
    rin = region["rin"]
    before = snapshot(rin)
    fails(
        relay_cli("roster", "create", home=rin),
        "noden har allerede et roster fra en autoritet; «roster create» ville erstatte det "
        "(bruk en egen mappe for autoriteten, f.eks. --home /var/lib/relay-autoritet)",
    )
    assert snapshot(rin) == before


def _other_authority(tmp_path: Path, region: dict[str, Path]) -> Path:
    other = tmp_path / "other"
    ok(relay_cli(*sh("init --node OSL --name 'Oslo kommune'"), home=other))
    ok(relay_cli(*sh("roster create --region Oslo"), home=other))
    path = tmp_path / "other.json"
    ok(relay_cli("roster", "export", path, home=other))
    return path


def _older(tmp_path: Path, region: dict[str, Path]) -> Path:
    return region["v3"]


def _tampered(tmp_path: Path, region: dict[str, Path]) -> Path:
    data = json.loads(region["v3"].read_text(encoding="utf-8"))
    data["version"] = 7
    data["entries"][1]["name"] = "Hole kommune (falsk)"
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def _file_with(text: str) -> Callable[[Path, dict[str, Path]], Path]:
    def make(tmp_path: Path, region: dict[str, Path]) -> Path:
        path = tmp_path / "file.json"
        path.write_text(text, encoding="utf-8")
        return path

    return make


@pytest.mark.parametrize(
    ("make", "error"),
    [
        pytest.param(_other_authority, "rosteret er signert av en annen autoritet enn den vi stoler på", id="other"),
        pytest.param(_older, "rosteret (versjon 3) er ikke nyere enn det noden har (versjon 4)", id="older"),
        pytest.param(_tampered, "rosterets signatur stemmer ikke (endret eller skadet fil)", id="tampered"),
        pytest.param(_file_with('{"format": "noe annet"}'), "filen er ikke et relay-roster", id="not-a-roster"),
        pytest.param(_file_with("relay-roster/1\n"), "rosterfilen er ikke gyldig JSON", id="not-json"),
    ],
)
def test_roster_import_refuses_and_leaves_the_roster_alone(
    region: dict[str, Path], tmp_path: Path, make: Callable[[Path, dict[str, Path]], Path], error: str
) -> None:
    rin, hol = region["rin"], region["hol"]
    ok(relay_cli("roster", "revoke", "RIN", home=rin))
    v4 = tmp_path / "roster-v4.json"
    ok(relay_cli("roster", "export", v4, home=rin))
    ok(relay_cli("roster", "import", v4, home=hol))
    path = make(tmp_path, region)
    before = snapshot(hol)
    fails(relay_cli("roster", "import", path, home=hol), error)
    assert snapshot(hol) == before  # roster.json and the pinned authority in relay.toml included


def test_roster_import_of_the_same_version_is_refused(region: dict[str, Path]) -> None:
    before = snapshot(region["hol"])
    fails(
        relay_cli("roster", "import", region["v3"], home=region["hol"]),
        "rosteret (versjon 3) er ikke nyere enn det noden har (versjon 3)",
    )
    assert snapshot(region["hol"]) == before


def test_roster_import_of_a_newer_lab_roster(lab: Path, tmp_path: Path) -> None:
    newer = Home(lab / "MOD").roster().with_revoked("SIG", lab_authority(lab), FIXED)
    path = tmp_path / "v10.json"
    path.write_text(newer.to_json(), encoding="utf-8")
    assert ok(relay_cli("roster", "import", path, home=lab / "MOD")) == [
        "Roster versjon 10 importert (8 nøkler).",
        "ROSTER til ALLE, HASTER, ØVELSE: 167 byte, 1 pakke(r), 1.7 s sendetid (LONG_FAST)",
        "MOD-0001 lagt i utboksen.",
        "MOD-0001 sender tilbakekallingen av SIG til hele regionen over radio.",
    ]
    assert Home(lab / "MOD").roster().version == 10
    (sent,) = held(lab / "MOD")

    # At Hole the revocation came over the air first: importing the file sends nothing more.
    store = Home(lab / "HOL").store()
    store.insert(wire.decode(sent.wire, newer, dictionaries.available()), FIXED)
    store.close()
    assert ok(relay_cli("roster", "import", path, home=lab / "HOL")) == ["Roster versjon 10 importert (8 nøkler)."]
    assert [m.id for m in held(lab / "HOL")] == ["MOD-0001"]


def test_roster_import_of_a_binary_file_is_one_error_line(region: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "roster.json"
    path.write_bytes(b"\xff\xd8\xff\xe0 JFIF not a roster")
    before = snapshot(region["hol"])
    result = relay_cli("roster", "import", path, home=region["hol"])
    assert snapshot(region["hol"]) == before
    fails_cleanly(result)


def test_roster_export_into_a_missing_folder_is_one_error_line(region: dict[str, Path], tmp_path: Path) -> None:
    fails_cleanly(relay_cli("roster", "export", tmp_path / "no" / "such" / "roster.json", home=region["rin"]))


def test_roster_create_refuses_to_replace_a_pinned_roster(lab: Path) -> None:
    home = lab / "MOD"
    before = {name: (home / name).read_bytes() for name in ("roster.json", "relay.toml")}
    result = relay_cli("roster", "create", home=home)
    assert {name: (home / name).read_bytes() for name in before} == before
    fails_cleanly(result)


# --- send ---------------------------------------------------------------------

T_1600 = datetime(2026, 5, 29, 16, 0, tzinfo=UTC)  # "18:00" typed at 14:00 Oslo time
T_1400 = datetime(2026, 5, 29, 14, 0, tzinfo=UTC)  # "+2h", and "2026-05-29 16:00" Oslo time

SEND_CASES = [
    pytest.param(
        "SITREP --priority HASTER --text 'Strømbrudd i sentrum.' --field report_no=3 --field 'period=kl 12-14'"
        " --field 'actions_taken=Aggregat på rådhuset.' --field needs=Diesel. --field next_report=18:00"
        " --field eps_count=12",
        "SITREP til ALLE, HASTER, ØVELSE: 96 byte, 1 pakke(r), 1.1 s sendetid (LONG_FAST)",
        {
            "report_no": 3,
            "period": "kl 12-14",
            "situation": "Strømbrudd i sentrum.",
            "actions_taken": "Aggregat på rådhuset.",
            "needs": "Diesel.",
            "next_report": T_1600,
            "eps_count": 12,
        },
        {"priority": Priority.HASTER},
        id="SITREP",
    ),
    pytest.param(
        "STATUS --to SF --field 'STRØM=RØD: linje nede' --field VANN=grønn --field vei=gul --text 'Aggregat i drift.'",
        "STATUS til SF, RUTINE, ØVELSE: 87 byte, 1 pakke(r), 1.1 s sendetid (LONG_FAST)",
        {
            "rows": (
                StatusRow(Function.STROM, Level.ROD, "linje nede"),
                StatusRow(Function.VANN, Level.GRONN),
                StatusRow(Function.VEI, Level.GUL),
            ),
            "note": "Aggregat i drift.",
        },
        {"to": Address(node="SF")},
        id="STATUS",
    ),
    pytest.param(
        "BISTAND --priority PRIORITET --to KOMMUNER --text-file TASK_FILE --field resource=IKT-personell"
        " --field quantity=2 --field 'location=Modum rådhus' --field 'window=Snarest, 48 timer'"
        " --field 'contact=Kriseleder Modum'",
        "BISTAND til KOMMUNER, PRIORITET, ØVELSE: 102 byte, 1 pakke(r), 1.2 s sendetid (LONG_FAST)",
        {
            "resource": "IKT-personell",
            "quantity": 2,
            "task": "Drift av nettverk etter dataangrepet.",
            "location": "Modum rådhus",
            "window": "Snarest, 48 timer",
            "contact": "Kriseleder Modum",
        },
        {"priority": Priority.PRIORITET, "to": Address(group="KOMMUNER")},
        id="BISTAND",
    ),
    pytest.param(
        "BISTANDSSVAR --to HOL --ref HOL-0001 --field answer=innvilget --text 'To teknikere.' --field eta=+2h"
        " --field 'contact=Beredskap Modum' --field 'conditions=Kostnader dekkes.'",
        "BISTANDSSVAR til HOL, RUTINE, ØVELSE: 95 byte, 1 pakke(r), 1.1 s sendetid (LONG_FAST)",
        {
            "answer": Answer.INNVILGET,
            "offer": "To teknikere.",
            "eta": T_1400,
            "contact": "Beredskap Modum",
            "conditions": "Kostnader dekkes.",
        },
        {"to": Address(node="HOL"), "ref": MessageRef("HOL", 1)},
        id="BISTANDSSVAR",
    ),
    pytest.param(
        "KVITTERING --to HOL --ref HOL-0001 --field level=utført",
        "KVITTERING til HOL, RUTINE, ØVELSE: 80 byte, 1 pakke(r), 1.0 s sendetid (LONG_FAST)",
        {"level": ReceiptLevel.UTFORT},
        {"to": Address(node="HOL"), "ref": MessageRef("HOL", 1)},
        id="KVITTERING",
    ),
    pytest.param(
        "VARSEL --priority PRIORITET --to KOMMUNER --text 'Flomvarsel for Drammenselva.' --field 'validity=Til 31.05'"
        " --field 'actions=Legg ut sandsekker.' --field ack_required=ja",
        "VARSEL til KOMMUNER, PRIORITET, ØVELSE: 91 byte, 1 pakke(r), 1.1 s sendetid (LONG_FAST)",
        {
            "topic": "Flomvarsel for Drammenselva.",
            "validity": "Til 31.05",
            "actions": "Legg ut sandsekker.",
            "ack_required": True,
        },
        {"priority": Priority.PRIORITET, "to": Address(group="KOMMUNER")},
        id="VARSEL",
    ),
    pytest.param(
        "MØTE --to kriseleder@HOL --field 'time=30.05 07:30' --field medium=Teams --field participants=Kriseledelsene"
        " --text 'Status og behov.' --field 'input_deadline=30.05 06:00'",
        "MØTE til kriseleder@HOL, RUTINE, ØVELSE: 92 byte, 1 pakke(r), 1.1 s sendetid (LONG_FAST)",
        {
            "time": datetime(2026, 5, 30, 5, 30, tzinfo=UTC),
            "medium": "Teams",
            "participants": "Kriseledelsene",
            "agenda": "Status og behov.",
            "input_deadline": datetime(2026, 5, 30, 4, 0, tzinfo=UTC),
        },
        {"to": Address(node="HOL", role="kriseleder")},
        id="MØTE",
    ),
    pytest.param(
        "INFO --text 'Kok drikkevannet.' --field 'audience=Innbyggere i Vikersund' --field channel=FM-radio"
        " --field publish_at=nå --field 'state=til godkjenning'",
        "INFO til ALLE, RUTINE, ØVELSE: 89 byte, 1 pakke(r), 1.1 s sendetid (LONG_FAST)",
        {
            "message": "Kok drikkevannet.",
            "audience": "Innbyggere i Vikersund",
            "channel": "FM-radio",
            "publish_at": FIXED,
            "state": InfoState.TIL_GODKJENNING,
        },
        {},
        id="INFO",
    ),
    pytest.param(
        "RYKTE --text 'Skolene stenger i morgen.' --field 'where_when=Facebook, i dag'"
        " --field 'facts=Skolene holder åpent.' --field 'response=Skolene er åpne.' --field state=avkreftet",
        "RYKTE til ALLE, RUTINE, ØVELSE: 94 byte, 1 pakke(r), 1.1 s sendetid (LONG_FAST)",
        {
            "claim": "Skolene stenger i morgen.",
            "where_when": "Facebook, i dag",
            "facts": "Skolene holder åpent.",
            "response": "Skolene er åpne.",
            "state": RumourState.AVKREFTET,
        },
        {},
        id="RYKTE",
    ),
    pytest.param(
        "BESLUTNING --incident Dataangrep --approved-by Kriseleder --text 'Pårørendesenter i Vikersund samfunnshus.'"
        " --field 'responsible=Kommunalsjef helse' --field 'effective=2026-05-29 16:00'",
        "BESLUTNING til ALLE, RUTINE, ØVELSE: 94 byte, 1 pakke(r), 1.1 s sendetid (LONG_FAST)",
        {
            "decision": "Pårørendesenter i Vikersund samfunnshus.",
            "responsible": "Kommunalsjef helse",
            "effective": T_1400,
        },
        {"incident": "Dataangrep", "approved_by": "Kriseleder"},
        id="BESLUTNING",
    ),
    pytest.param(
        "MELDING --priority nød --real --text 'Test av samband.' --field subject=Samband",
        "MELDING til ALLE, NØD, REELL: 81 byte, 1 pakke(r), 1.0 s sendetid (LONG_FAST)",
        {"subject": "Samband", "text": "Test av samband."},
        {"priority": Priority.NOD, "exercise": False},
        id="MELDING",
    ),
]


def test_send_cases_cover_every_kind_an_operator_writes() -> None:
    written = sorted(kind.value for kind in Kind if kind is not Kind.ROSTER)
    assert sorted(case.id for case in SEND_CASES) == written  # type: ignore[attr-defined]


def test_a_roster_message_is_not_written_by_hand(lab: Path) -> None:
    fails(
        relay_cli(*sh("send ROSTER --text Test."), home=lab / "MOD"),
        "ROSTER-meldinger lages av «relay roster import» (nytt roster fra autoriteten), ikke av «relay send»",
    )


@pytest.mark.parametrize(("line", "preview", "fields", "envelope"), SEND_CASES)
def test_send_every_kind(
    lab: Path, tmp_path: Path, line: str, preview: str, fields: dict[str, object], envelope: dict[str, object]
) -> None:
    task = tmp_path / "task.txt"
    task.write_text("Drift av nettverk etter dataangrepet.\n", encoding="utf-8")

    assert send(lab, "MOD", line.replace("TASK_FILE", str(task))) == [preview, "MOD-0001 lagt i utboksen."]

    (stored,) = held(lab / "MOD")
    msg = stored.message
    assert (msg.id, msg.kind.value, msg.origin, msg.created) == ("MOD-0001", line.split()[0], "MOD", FIXED)
    assert msg.field_map == fields
    expected = {
        "priority": Priority.RUTINE,
        "exercise": True,
        "to": Address(group="ALLE"),
        "ref": None,
        "incident": None,
        "approved_by": None,
        **envelope,
    }
    assert {name: getattr(msg, name) for name in expected} == expected
    assert (stored.local, stored.transmitted_at, stored.received_at) == (True, None, FIXED)
    assert counts(lab) == {node: int(node == "MOD") for node in NODES}


def test_send_numbers_messages_in_order(lab: Path) -> None:
    for n in (1, 2, 3):
        assert send(lab, "SF", f"MELDING --text 'Melding {n}.'")[1] == f"SF-000{n} lagt i utboksen."
    assert [s.message.main_text for s in held(lab / "SF")] == ["Melding 1.", "Melding 2.", "Melding 3."]


def test_send_text_from_stdin(lab: Path) -> None:
    result = relay_cli(*sh("send MELDING --text-file -"), home=lab / "KRO", input="Tekst fra stdin.\n\n")
    assert ok(result)[1] == "KRO-0001 lagt i utboksen."
    assert message(lab / "KRO", "KRO-0001").message.main_text == "Tekst fra stdin."


def test_send_warns_when_a_message_needs_several_packets(lab: Path) -> None:
    roads = (
        "Veimeldinger kl 14: Fv 287 stengt ved Eggedal (ras), Fv 280 redusert ved Prestfoss, "
        "E16 stengt ved Sollihøgda etter trafikkulykke, omkjøring via Sylling og Lier. "
        "Rv 7 åpen med manuell dirigering ved Noresund bru. Fv 172 Tyristrand: vann over veien, "
        "bare traktor og lastebil kommer fram. Busser i rute 100 og 101 er innstilt til kl 20."
    )
    text = roads + " Oppdatering: " + roads.replace("14", "15").replace("287", "289").replace("Eggedal", "Hovde")
    assert ok(relay_cli("send", "MELDING", "--text", text, home=lab / "SIG")) == [
        "MELDING til ALLE, RUTINE, ØVELSE: 286 byte, 2 pakke(r), 3.1 s sendetid (LONG_FAST)",
        "Advarsel: meldingen trenger 2 radiopakker. Kortere tekst går raskere og sikrere.",
        "SIG-0001 lagt i utboksen.",
    ]
    assert message(lab / "SIG", "SIG-0001").message.main_text == text


def test_send_in_english(lab: Path) -> None:
    assert ok(relay_cli(*sh("--lang en send MELDING --text 'Test av samband.'"), home=lab / "POL")) == [
        "MELDING to ALLE, RUTINE, ØVELSE: 77 bytes, 1 packet(s), 1.0 s airtime (LONG_FAST)",
        "POL-0001 queued in the outbox.",
    ]


# --- bad input: one line on stderr, exit 1, nothing written -----------------------

SITREP_OK = "--field report_no=1 --field actions_taken=A. --field needs=B. --text C."
KINDS = "SITREP, STATUS, BISTAND, BISTANDSSVAR, KVITTERING, VARSEL, MØTE, INFO, RYKTE, BESLUTNING, MELDING"
ROLES = (
    "kriseleder, loggfører, info, eps, beredskap, kommunedirektør, ordfører, kommuneoverlege, teknisk, helse,"
    " brann, politi"
)
TIME_HINT = "(bruk f.eks. 18:00, i morgen 08:00, +2t, nå)"

BAD_SEND = [
    pytest.param("FOO --text x", f"ukjent meldingstype 'FOO' (gyldige: {KINDS})", id="unknown-kind"),
    pytest.param(
        "SITREP --text x",
        "SITREP mangler: rapport nr (report_no), tiltak iverksatt (actions_taken), behov (needs), "
        "neste rapport (next_report)",
        id="missing-field",
    ),
    pytest.param(
        "BISTAND --text x --field resource=IKT --field location=Rådhuset --field window=nå --field contact=Per",
        "BISTAND mangler: antall (quantity)",
        id="missing-quantity",
    ),
    pytest.param(
        "MELDING --text x --field farge=rød",
        "MELDING har ikke feltet 'farge' (felter: emne (subject), tekst (text))",
        id="bad-field",
    ),
    pytest.param("MELDING --field text", "--field må ha formen NAVN=VERDI, fikk 'text'", id="field-without-value"),
    pytest.param("MELDING --text x --to XYZ", f"ukjent node XYZ (noder i rosteret: {ROSTER_NODES})", id="bad-node"),
    pytest.param(
        "MELDING --text x --to kriseleder@OSL", f"ukjent node OSL (noder i rosteret: {ROSTER_NODES})", id="bad-node@"
    ),
    pytest.param("MELDING --text x --to konge@HOL", f"ukjent rolle 'konge' (gyldige: {ROLES})", id="bad-role"),
    pytest.param(
        f"SITREP {SITREP_OK} --field next_report=snart", f"ugyldig tidspunkt 'snart' {TIME_HINT}", id="bad-time"
    ),
    pytest.param(
        f"SITREP {SITREP_OK} --field next_report=25:00", f"ugyldig tidspunkt '25:00' {TIME_HINT}", id="bad-clock"
    ),
    pytest.param(
        f"SITREP {SITREP_OK} --field 'next_report=31.02 10:00'",
        f"ugyldig tidspunkt '31.02 10:00' {TIME_HINT}",
        id="bad-date",
    ),
    pytest.param(
        "SITREP --field report_no=tre --field actions_taken=A. --field needs=B. --text C. --field next_report=18:00",
        "report_no (Rapport nr): forventet et heltall, fikk 'tre'",
        id="bad-number",
    ),
    pytest.param(
        "VARSEL --text x --field 'validity=1 d' --field actions=y --field ack_required=kanskje",
        "ack_required (Krever kvittering): svar ja eller nei, fikk 'kanskje'",
        id="bad-yes-no",
    ),
    pytest.param(
        "MELDING --text x --priority SNART",
        "ugyldig prioritet 'SNART' (gyldige: NØD, HASTER, PRIORITET, RUTINE)",
        id="bad-priority",
    ),
    pytest.param(
        "KVITTERING --field level=LEST",
        "KVITTERING må ha referanse (--ref) til meldingen den svarer på",
        id="receipt-without-ref",
    ),
    pytest.param(
        "KVITTERING --ref HOL-0001 --text Lest.", "KVITTERING har ikke et tekstfelt; bruk --field", id="receipt-text"
    ),
    pytest.param(
        "MELDING --text x --ref HOL-1-2", "ugyldig meldings-ID 'HOL-1-2' (forventet f.eks. MOD-0007)", id="bad-ref"
    ),
    pytest.param(
        "MELDING --text 'Ring\x07 meg'", "text (Tekst): ugyldig tegn U+0007 i teksten", id="control-character"
    ),
    pytest.param(f"MELDING --text {'x' * 2001}", "teksten er for lang: 2001 tegn (grense 2000)", id="too-long"),
]


@pytest.mark.parametrize(("line", "error"), BAD_SEND)
def test_send_bad_input(lab: Path, line: str, error: str) -> None:
    fails(relay_cli("send", *sh(line), home=lab / "HOL"), error)
    assert counts(lab) == dict.fromkeys(NODES, 0)


@pytest.mark.parametrize("command", ["show", "ack", "reply"])
def test_unknown_message_id(traffic: Path, command: str) -> None:
    before = counts(traffic)
    fails(relay_cli(command, "MOD-0099", home=traffic / "HOL"), "fant ingen melding MOD-0099")
    bad_id = "ugyldig meldings-ID 'MOD0001' (forventet f.eks. MOD-0007)"
    fails(relay_cli(command, "MOD0001", home=traffic / "HOL"), bad_id)
    assert counts(traffic) == before


def test_reply_to_something_else_than_bistand(traffic: Path) -> None:
    before = counts(traffic)
    fails(
        relay_cli(*sh("reply MOD-0001 --answer INNVILGET --offer x --eta 17:00 --contact y"), home=traffic / "HOL"),
        "MOD-0001 er SITREP, ikke en anmodning om bistand",
    )
    assert counts(traffic) == before


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("--answer DELVIS", "BISTANDSSVAR mangler: tilbud (offer), ankomst (eta), kontakt (contact)"),
        (
            "--answer KANSKJE",
            "ugyldig answer (Svar) 'KANSKJE' (gyldige: INNVILGET, DELVIS, AVSLÅTT, VIDERESENDT); "
            "BISTANDSSVAR mangler: tilbud (offer), ankomst (eta), kontakt (contact)",
        ),
        ("--answer DELVIS --offer x --eta snart --contact y", f"ugyldig tidspunkt 'snart' {TIME_HINT}"),
    ],
)
def test_reply_bad_input(traffic: Path, line: str, error: str) -> None:
    before = counts(traffic)
    fails(relay_cli("reply", "MOD-0002", *sh(line), home=traffic / "HOL"), error)
    assert counts(traffic) == before


def test_no_node_in_the_home(tmp_path: Path) -> None:
    home = tmp_path / "empty"
    for line in ("send MELDING --text x", "inbox", "log", "roster show"):
        fails(relay_cli(*sh(line), home=home), f"fant ingen node i {home}: kjør «relay init» først")
    assert not home.exists()


def test_no_roster_in_the_home(tmp_path: Path) -> None:
    home = tmp_path / "mod"
    ok(relay_cli(*sh("init --node MOD --name 'Modum kommune'"), home=home))
    no_roster = "noden har ikke noe roster: importer det med «relay roster import FIL»"
    fails(relay_cli(*sh("send MELDING --text Hei."), home=home), no_roster)
    fails(relay_cli("roster", "show", home=home), no_roster)
    assert held(home) == []
    # Reading needs no roster: there is nothing to verify, and nothing to show.
    assert ok(relay_cli("inbox", home=home)) == ["Innboksen er tom."]


def test_corrupt_config(lab: Path) -> None:
    garbage = 'node_id = "JEV\nname = [\n'
    (lab / "JEV" / "relay.toml").write_text(garbage, encoding="utf-8")
    with pytest.raises(tomllib.TOMLDecodeError) as reason:
        tomllib.loads(garbage)
    error = f"konfigurasjonsfilen {lab}/JEV/relay.toml er skadet: {reason.value}"
    for line in ("send MELDING --text x", "inbox", "show JEV-0001", "log", "roster show"):
        fails(relay_cli(*sh(line), home=lab / "JEV"), error)
    assert counts(lab)["JEV"] == 0


def test_config_without_node_id(lab: Path) -> None:
    (lab / "JEV" / "relay.toml").write_text('name = "Jevnaker"\n', encoding="utf-8")
    fails(
        relay_cli(*sh("send MELDING --text x"), home=lab / "JEV"),
        f"konfigurasjonsfilen {lab}/JEV/relay.toml mangler eller har ugyldig felt: 'node_id'",
    )
    assert counts(lab)["JEV"] == 0


def test_hop_limits_are_left_to_the_sync_in_a_new_config(lab: Path) -> None:
    text = (lab / "JEV" / "relay.toml").read_text(encoding="utf-8")
    config = Home(lab / "JEV").config()
    assert (config.relay_hops, config.routine_hops, config.max_hops) == (None, None, 3)
    assert "max_hops = 3  # the radios' highest hop limit (0-7): relay never sends further\n" in text
    # The overrides are shown, commented out, and said to be overrides.
    assert "\n# relay_hops = 2  # override: hop limit of fresh NØD and HASTER messages\n" in text
    assert "\n# routine_hops = 0  # override: hop limit of fresh PRIORITET and RUTINE messages" in text


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("routine_hops = 0\n", (None, 0, 3)),
        ("relay_hops = 2\n", (2, None, 3)),
        ("max_hops = 2\nrelay_hops = 2\nroutine_hops = 1\n", (2, 1, 2)),
        ("routine_hops = 9\n", "routine_hops må være 0-7"),
        ("relay_hops = -1\n", "relay_hops må være 0-7"),
        ("max_hops = 8\n", "max_hops må være 0-7"),
        ("max_hops = 1\nrelay_hops = 2\n", "relay_hops (2) er større enn max_hops (1)"),
    ],
    ids=["routine", "relay", "all", "routine-9", "relay-negative", "max-8", "over-max"],
)
def test_hop_settings_in_the_config(lab: Path, lines: str, expected: tuple[int | None, ...] | str) -> None:
    path = lab / "JEV" / "relay.toml"
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines():  # an operator edits the lines that are there
        key = line.removeprefix("# ").split(" = ")[0]
        if key in ("relay_hops", "routine_hops", "max_hops"):
            text = text.replace(line + "\n", "")
    path.write_text(text + lines, encoding="utf-8")
    home = Home(lab / "JEV")
    if isinstance(expected, str):
        with pytest.raises(ConfigError, match=re.escape(f"konfigurasjonsfilen {path}: {expected}")):
            home.config()
        return
    config = home.config()
    assert (config.relay_hops, config.routine_hops, config.max_hops) == expected
    again = tomllib.loads(config.to_toml())  # written back as it was read
    assert (again.get("relay_hops"), again.get("routine_hops"), again["max_hops"]) == expected


def test_roster_signed_by_the_wrong_authority(lab: Path) -> None:
    intruder = Signer.generate()
    roster = Home(lab / "MOD").roster()
    forged = replace(roster, authority_key=intruder.public_key, version=roster.version + 1).signed(intruder)
    (lab / "MOD" / "roster.json").write_text(forged.to_json(), encoding="utf-8")
    fails(
        relay_cli(*sh("send MELDING --text Hei."), home=lab / "MOD"),
        f"rosteret i {lab}/MOD/roster.json kan ikke brukes: "
        "rosteret er signert av en annen autoritet enn den vi stoler på",
    )
    assert counts(lab)["MOD"] == 0


def test_usage_errors_are_one_line_and_exit_1(lab: Path, tmp_path: Path) -> None:
    fails(relay_cli("send", home=lab / "MOD"), "TYPE mangler: f.eks. «relay send SITREP», eller «relay send --resume»")
    fails(relay_cli(*sh("send MELDING --farge rød"), home=lab / "MOD"), "ukjent valg --farge (se «relay send --help»)")
    fails(
        relay_cli(*sh("inbox --limit mange"), home=lab / "MOD"),
        "ugyldig verdi for '--limit': 'mange' er ikke et heltall (se «relay inbox --help»)",
    )
    fails(
        relay_cli(*sh("--lang en inbox --limit many"), home=lab / "MOD"),
        "invalid value for '--limit': 'many' is not a valid integer range. (see «relay inbox --help»)",
        prefix="Error",
    )
    fails(relay_cli("kanskje", home=lab / "MOD"), "ukjent kommando 'kanskje' (se «relay --help»)")
    usb = tmp_path / "usb" / "roster.json"
    fails(
        relay_cli("roster", "import", usb, home=lab / "MOD"),
        f"fant ikke {usb}: er minnepinnen satt inn, og er filnavnet riktig?",
    )
    assert counts(lab)["MOD"] == 0


def test_ack_of_ones_own_message_is_refused(traffic: Path) -> None:
    fails(
        relay_cli("ack", "MOD-0001", home=traffic / "MOD"),
        "MOD-0001 er din egen melding: kvitter for meldinger fra andre noder",
    )
    assert counts(traffic)["MOD"] == 2  # the SITREP and the BISTAND, no receipt


def test_the_inbox_summarises_receipts_and_status_reports(traffic: Path) -> None:
    ok(relay_cli("ack", "MOD-0001", home=traffic / "HOL"))
    send(traffic, "SF", "STATUS --field STRØM=GRØNN --field 'VEI=GUL: Fv 287 stengt'")
    deliver(traffic, "HOL-0001", "MOD")
    deliver(traffic, "SF-0002", "MOD")
    lines = ok(relay_cli("inbox", home=traffic / "MOD"))
    assert lines == [
        "* HOL-0001  HASTER    KVITTERING   29.05 14:00 ØVELSE  LEST for MOD-0001",
        "* SF-0002   RUTINE    STATUS       29.05 14:00 ØVELSE  STRØM GRØNN; VEI GUL (Fv 287 stengt)",
        "(* = ulest)",
    ]


def test_the_log_says_sent_only_for_what_left_the_outbox(traffic: Path) -> None:
    mod = traffic / "MOD"
    store = Home(mod).store()
    try:
        store.mark_transmitted("MOD", 1, FIXED.replace(minute=1))
    finally:
        store.close()
    lines = [line for line in ok(relay_cli("log", home=mod)) if "  MOD-000" in line]
    assert [line.split("  (")[1] for line in lines] == [
        "sendt 29.05.2026 14:01, verifisert)",
        "i utboksen, verifisert)",
    ]
    english = [line for line in ok(relay_cli("--lang", "en", "log", home=mod)) if "  MOD-000" in line]
    assert english[1].endswith("(in the outbox, verified)")


def test_a_receipt_of_a_nod_goes_at_haster_unless_the_operator_says(traffic: Path) -> None:
    hol = traffic / "HOL"
    ok(relay_cli("ack", "RIN-0001", home=hol))
    ok(relay_cli(*sh("ack RIN-0001 --level UTFØRT --priority NØD"), home=hol))
    assert [message(hol, f"HOL-000{n}").message.priority for n in (1, 2)] == [Priority.HASTER, Priority.NOD]


def test_errors_in_english(lab: Path) -> None:
    fails(
        relay_cli(*sh("--lang en send MELDING --text x --to XYZ"), home=lab / "MOD"),
        f"unknown node XYZ (nodes in the roster: {ROSTER_NODES})",
        prefix="Error",
    )
    fails(
        relay_cli(*sh("--lang en send MELDNG --text x"), home=lab / "MOD"),
        "unknown message kind 'MELDNG' (valid: " + ", ".join(k.value for k in Kind if k is not Kind.ROSTER) + ")",
        prefix="Error",
    )


def test_send_text_file_that_is_not_utf8(lab: Path, tmp_path: Path) -> None:
    path = tmp_path / "melding.txt"
    path.write_bytes("Strømbrudd på Åsa.".encode("cp1252"))
    result = relay_cli("send", "MELDING", "--text-file", path, home=lab / "MOD")
    assert counts(lab)["MOD"] == 0
    fails_cleanly(result)


def test_damaged_store_is_one_error_line(lab: Path) -> None:
    (lab / "KRO" / "relay.db").write_bytes(b"not a database " * 100)
    fails_cleanly(relay_cli("inbox", home=lab / "KRO"))


# --- inbox ------------------------------------------------------------------------

INBOX = {
    "RIN-0001": "* RIN-0001  NØD       MELDING      29.05 14:00  Brann i Hønefoss sentrum.",
    "MOD-0001": "* MOD-0001  HASTER    SITREP       29.05 14:00 ØVELSE  Dataangrep mot kommunens IKT.",
    "MOD-0002": "* MOD-0002  PRIORITET BISTAND      29.05 14:00 ØVELSE  Drift av nettverk etter dataangrepet.",
    "SF-0001": "* SF-0001   RUTINE    MELDING      29.05 14:00 ØVELSE  Meld status innen kl 16.",
}


def test_inbox_unread_first_then_by_priority(traffic: Path) -> None:
    hol = traffic / "HOL"
    assert ok(relay_cli("inbox", home=hol)) == [*INBOX.values(), "(* = ulest)"]
    ok(relay_cli("show", "RIN-0001", home=hol))  # showing a message marks it read
    ok(relay_cli("show", "MOD-0002", home=hol))
    assert ok(relay_cli("inbox", home=hol)) == [
        INBOX["MOD-0001"],
        INBOX["SF-0001"],
        " " + INBOX["RIN-0001"][1:],
        " " + INBOX["MOD-0002"][1:],
        "(* = ulest)",
    ]


def test_inbox_does_not_list_own_messages(traffic: Path) -> None:
    assert ok(relay_cli("inbox", home=traffic / "MOD")) == ["Innboksen er tom."]
    assert ok(relay_cli(*sh("--lang en inbox"), home=traffic / "MOD")) == ["The inbox is empty."]


@pytest.mark.parametrize(
    ("line", "ids"),
    [
        ("--kind sitrep", ["MOD-0001"]),
        ("--kind MELDING", ["RIN-0001", "SF-0001"]),
        ("--node mod", ["MOD-0001", "MOD-0002"]),
        ("--priority nød", ["RIN-0001"]),
        ("--priority PRIORITET", ["MOD-0002"]),
        ("--status REELL", ["RIN-0001"]),
        ("--status ØVELSE", ["MOD-0001", "MOD-0002", "SF-0001"]),
        ("--status ovelse --kind MELDING", ["SF-0001"]),
        ("--node JEV", []),
    ],
)
def test_inbox_filters(traffic: Path, line: str, ids: list[str]) -> None:
    lines = ok(relay_cli("inbox", *sh(line), home=traffic / "HOL"))
    assert lines == ([*(INBOX[i] for i in ids), "(* = ulest)"] if ids else ["Innboksen er tom."])


def test_inbox_bad_filter(traffic: Path) -> None:
    fails(
        relay_cli(*sh("inbox --priority viktig"), home=traffic / "HOL"),
        "ugyldig prioritet 'viktig' (gyldige: NØD, HASTER, PRIORITET, RUTINE)",
    )


def test_inbox_json(traffic: Path) -> None:
    result = relay_cli("inbox", "--json", home=traffic / "HOL")
    assert ok(result)
    docs = json.loads(result.stdout)
    assert [d["id"] for d in docs] == ["RIN-0001", "MOD-0001", "MOD-0002", "SF-0001"]
    types = {
        "id": str,
        "origin": str,
        "kind": str,
        "priority": str,
        "exercise": bool,
        "verified": bool,
        "created": str,
        "received_at": str,
        "read": bool,
        "text": str,
    }
    for doc in docs:
        assert {name: type(doc[name]) for name in types} == types
        assert doc["verified"] is True
        assert datetime.fromisoformat(doc["created"]) == FIXED
    assert docs[2] == {
        "id": "MOD-0002",
        "origin": "MOD",
        "kind": "BISTAND",
        "priority": "PRIORITET",
        "exercise": True,
        "verified": True,
        "key_revoked": False,
        "conflict": False,
        "to": "KOMMUNER",
        "created": "2026-05-29T12:00:00+00:00",
        "received_at": "2026-05-29T12:06:00+00:00",
        "read": False,
        "expired": False,
        "ref": None,
        "text": "Drift av nettverk etter dataangrepet.",
        "resource": "IKT-personell",
        "quantity": 2,
        "task": "Drift av nettverk etter dataangrepet.",
        "location": "Modum rådhus",
        "window": "Snarest, 48 timer",
        "contact": "Kriseleder Modum",
        "confirmations": [  # per addressee (KOMMUNER but MOD): Hole holds it since it came; no daemon has heard anyone
            unconfirmed("RIN"),
            {**unconfirmed("HOL"), "level": "MOTTATT", "received_at": "2026-05-29T12:06:00+00:00"},
            unconfirmed("JEV"),
            unconfirmed("KRO"),
            unconfirmed("SIG"),
        ],
    }
    assert (docs[0]["exercise"], docs[0]["priority"], docs[0]["text"]) == (False, "NØD", "Brann i Hønefoss sentrum.")
    assert docs[1]["next_report"] == "2026-05-29T16:00:00+00:00"
    assert json.loads(relay_cli(*sh("inbox --json --node KRO"), home=traffic / "HOL").stdout) == []


def unconfirmed(node: str, last_heard: str | None = None) -> dict[str, object]:
    """An addressee's entry in ``confirmations`` with nothing confirmed."""
    return {
        "node": node,
        "level": None,
        "received_at": None,
        "read_at": None,
        "done_at": None,
        "last_heard": last_heard,
    }


# --- show -----------------------------------------------------------------------------


def test_show_every_field_with_norwegian_labels(lab: Path) -> None:
    send(
        lab,
        "MOD",
        "SITREP --priority HASTER --incident Dataangrep --approved-by Kriseleder"
        " --text 'Dataangrep mot kommunens IKT.' --field report_no=2 --field 'period=kl 12-14'"
        " --field 'consequences=Ingen telefoni.' --field actions_taken=FM-radio. --field planned=Reserveløsning."
        " --field needs=IKT-personell. --field assessment=Alvorlig. --field 'public_info=Bruk 112 ved nød.'"
        " --field 'next_report=30.05 07:30' --field eps_count=0",
    )
    deliver(lab, "MOD-0001", "HOL", FIXED.replace(minute=7))
    assert ok(relay_cli("show", "MOD-0001", home=lab / "HOL")) == [
        "Meldings-ID:              MOD-0001",
        "Type:                     SITREP (Situasjonsrapport)",
        "Status:                   ØVELSE",
        "Prioritet:                HASTER",
        "Fra:                      MOD (Modum kommune)",
        "Til:                      ALLE",
        "Opprettet:                29.05 14:00",
        "Mottatt:                  29.05 14:07",
        "Hendelse:                 Dataangrep",
        "Godkjent av:              Kriseleder",
        "Rapport nr:               2",
        "Periode:                  kl 12-14",
        "Situasjon:                Dataangrep mot kommunens IKT.",
        "Konsekvenser:             Ingen telefoni.",
        "Tiltak iverksatt:         FM-radio.",
        "Planlagte tiltak:         Reserveløsning.",
        "Behov:                    IKT-personell.",
        "Vurdering:                Alvorlig.",
        "Informasjon til publikum: Bruk 112 ved nød.",
        "Neste rapport:            30.05 07:30",
        "Antall på EPS:            0",
        f"Signatur:                 VERIFISERT: MOD, nøkkel {key_fingerprint(lab / 'MOD')}",
        "Bekreftet:",
        "  RIN  ikke bekreftet ennå (aldri hørt)",
        "  HOL  mottatt 29.05 14:07",
        "  JEV  ikke bekreftet ennå (aldri hørt)",
        "  KRO  ikke bekreftet ennå (aldri hørt)",
        "  SIG  ikke bekreftet ennå (aldri hørt)",
        "  SF   ikke bekreftet ennå (aldri hørt)",
        "  POL  ikke bekreftet ennå (aldri hørt)",
        "",
    ]


def test_show_status_rows_and_a_reference(lab: Path) -> None:
    send(lab, "SIG", "STATUS --to SF --field STRØM=GRØNN --field 'VEI=GUL: Fv 287 stengt' --text 'Eggedal isolert.'")
    send(lab, "SIG", "KVITTERING --to MOD --ref MOD-0001 --field level=LEST")
    signature = f"VERIFISERT: SIG, nøkkel {key_fingerprint(lab / 'SIG')}"
    assert ok(relay_cli("show", "SIG-0001", home=lab / "SIG")) == [
        "Meldings-ID: SIG-0001",
        "Type:        STATUS (Kritiske funksjoner)",
        "Status:      ØVELSE",
        "Prioritet:   RUTINE",
        "Fra:         SIG (Sigdal kommune)",
        "Til:         SF",
        "Opprettet:   29.05 14:00",
        "Mottatt:     29.05 14:00",
        "Funksjoner:  STRØM GRØNN; VEI GUL (Fv 287 stengt)",
        "Merknad:     Eggedal isolert.",
        f"Signatur:    {signature}",
        "Bekreftet:",
        "  SF  ikke bekreftet ennå (aldri hørt)",
        "",
    ]
    assert ok(relay_cli("show", "sig-2", home=lab / "SIG")) == [
        "Meldings-ID: SIG-0002",
        "Type:        KVITTERING (Kvittering)",
        "Status:      ØVELSE",
        "Prioritet:   RUTINE",
        "Fra:         SIG (Sigdal kommune)",
        "Til:         MOD",
        "Opprettet:   29.05 14:00",
        "Mottatt:     29.05 14:00",
        "Referanse:   MOD-0001",
        "Nivå:        LEST",
        f"Signatur:    {signature}",
        "Bekreftet:",
        "  MOD  ikke bekreftet ennå (aldri hørt)",
        "",
    ]


def heard_by_the_daemon(home: Path, radio: dict[str, datetime], ip: dict[str, datetime] | None = None) -> None:
    """Put a daemon's status snapshot into ``home``'s store that says whom it last heard, and when."""
    snapshot = {
        "format": 1,
        "node": Home(home).config().node_id,
        "at": FIXED.timestamp(),
        "stopped": "SIGTERM",
        "heard": {n: {"at": at.timestamp(), "via": "summary", "hops": 0} for n, at in radio.items()},
        "ip": {"heard": {n: at.timestamp() for n, at in (ip or {}).items()}},
    }
    store = Home(home).store()
    try:
        store.set_state("daemon.status", json.dumps(snapshot))
    finally:
        store.close()


def test_show_receipts_and_replies(traffic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hol = traffic / "HOL"
    store = Home(hol).store()
    try:
        store.add_receipt("MOD", 2, "RIN", "MOTTATT", FIXED.replace(minute=9))
        store.add_receipt("MOD", 2, "SF", "MOTTATT", FIXED.replace(minute=9))  # not an addressee
    finally:
        store.close()
    heard_by_the_daemon(
        hol, {"JEV": FIXED.replace(minute=3), "KRO": FIXED.replace(minute=1)}, {"KRO": FIXED.replace(minute=2)}
    )
    monkeypatch.setattr(relay.cli.context, "clock", lambda: FIXED.replace(minute=10))
    ok(relay_cli(*sh("ack MOD-0002 --level UTFØRT"), home=hol))
    monkeypatch.setattr(relay.cli.context, "clock", lambda: FIXED.replace(minute=11))
    ok(relay_cli(*sh("reply MOD-0002 --answer DELVIS --offer '1 IKT-tekniker' --eta 17:00 --contact Hole"), home=hol))
    assert ok(relay_cli("show", "MOD-0002", home=hol)) == [
        "Meldings-ID: MOD-0002",
        "Type:        BISTAND (Anmodning om bistand)",
        "Status:      ØVELSE",
        "Prioritet:   PRIORITET",
        "Fra:         MOD (Modum kommune)",
        "Til:         KOMMUNER",
        "Opprettet:   29.05 14:00",
        "Mottatt:     29.05 14:06",
        "Ressurs:     IKT-personell",
        "Antall:      2",
        "Oppdrag:     Drift av nettverk etter dataangrepet.",
        "Oppmøtested: Modum rådhus",
        "Tidsrom:     Snarest, 48 timer",
        "Kontakt:     Kriseleder Modum",
        f"Signatur:    VERIFISERT: MOD, nøkkel {key_fingerprint(traffic / 'MOD')}",
        "Bekreftet:",
        "  RIN  mottatt 29.05 14:09",
        "  HOL  mottatt 29.05 14:06, lest 29.05 14:11, utført 29.05 14:10",  # the answer shows it was read
        "  JEV  ikke bekreftet ennå (sist hørt 29.05 14:03)",
        "  KRO  ikke bekreftet ennå (sist hørt 29.05 14:02)",  # the later of radio and IP
        "  SIG  ikke bekreftet ennå (aldri hørt)",
        "Svar/kvittering: HOL-0001 KVITTERING UTFØRT",
        "Svar/kvittering: HOL-0002 BISTANDSSVAR DELVIS",
        "",
    ]
    doc = json.loads(relay_cli(*sh("show MOD-0002 --json"), home=hol).stdout)
    assert doc["receipts"] == [
        {"node": "RIN", "level": "MOTTATT", "at": "2026-05-29T12:09:00+00:00"},
        {"node": "SF", "level": "MOTTATT", "at": "2026-05-29T12:09:00+00:00"},
    ]
    assert doc["replies"] == ["HOL-0001", "HOL-0002"]
    assert doc["confirmations"] == [
        {**unconfirmed("RIN"), "level": "MOTTATT", "received_at": "2026-05-29T12:09:00+00:00"},
        {
            "node": "HOL",
            "level": "UTFØRT",
            "received_at": "2026-05-29T12:06:00+00:00",
            "read_at": "2026-05-29T12:11:00+00:00",
            "done_at": "2026-05-29T12:10:00+00:00",
            "last_heard": None,
        },
        unconfirmed("JEV", "2026-05-29T12:03:00+00:00"),
        unconfirmed("KRO", "2026-05-29T12:02:00+00:00"),
        unconfirmed("SIG"),
    ]
    inbox = json.loads(relay_cli(*sh("inbox --json --kind BISTAND"), home=hol).stdout)
    assert [d["confirmations"] for d in inbox] == [doc["confirmations"]]


def test_status_says_per_addressee_what_is_confirmed(traffic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MOD's own messages: Hole's summary shows it holds both, Hole read the BISTAND, Ringerike
    holds the SITREP; the others are not confirmed, with when the daemon last heard them."""
    mod, hol = traffic / "MOD", traffic / "HOL"
    monkeypatch.setattr(relay.cli.context, "clock", lambda: FIXED.replace(minute=12))
    ok(relay_cli(*sh("ack MOD-0002 --level LEST"), home=hol))
    deliver(traffic, "HOL-0001", "MOD", FIXED.replace(minute=13))
    store = Home(mod).store()
    try:
        for seq in (1, 2):
            store.mark_transmitted("MOD", seq, FIXED.replace(minute=1))
        store.add_receipts("MOD", 1, 2, "HOL", "MOTTATT", FIXED.replace(minute=8))
        store.add_receipt("MOD", 1, "RIN", "MOTTATT", FIXED.replace(minute=9, second=30))
    finally:
        store.close()
    heard_by_the_daemon(mod, {"RIN": FIXED.replace(minute=14), "SIG": FIXED.replace(minute=2)})
    monkeypatch.setattr(time, "time", lambda: FIXED.replace(minute=15).timestamp())
    lines = ok(relay_cli("status", home=mod))
    assert lines[lines.index("Sendt herfra:") :] == [
        "Sendt herfra:",
        "  MOD-0002  BISTAND      PRIORITET 14:00:00  mottatt av 1 av 5",
        "      RIN  ikke bekreftet ennå (sist hørt 14:14:00)",
        "      HOL  mottatt 14:08:00, lest 14:12:00",
        "      JEV  ikke bekreftet ennå (aldri hørt)",
        "      KRO  ikke bekreftet ennå (aldri hørt)",
        "      SIG  ikke bekreftet ennå (sist hørt 14:02:00)",
        "  MOD-0001  SITREP       HASTER    14:00:00  mottatt av 2 av 7",
        "      RIN  mottatt 14:09:30",
        "      HOL  mottatt 14:08:00",
        "      JEV  ikke bekreftet ennå (aldri hørt)",
        "      KRO  ikke bekreftet ennå (aldri hørt)",
        "      SIG  ikke bekreftet ennå (sist hørt 14:02:00)",
        "      SF   ikke bekreftet ennå (aldri hørt)",
        "      POL  ikke bekreftet ennå (aldri hørt)",
    ]
    english = ok(relay_cli("--lang", "en", "status", home=mod))
    assert english[english.index("Sent from here:") :][1:4] == [
        "  MOD-0002  BISTAND      PRIORITET 14:00:00  held by 1 of 5",
        "      RIN  not confirmed yet (last heard 14:14:00)",
        "      HOL  received 14:08:00, read 14:12:00",
    ]
    assert "      JEV  not confirmed yet (never heard)" in english
    doc = json.loads(relay_cli("status", "--json", home=mod).stdout)
    assert doc["sent"][0]["held_by"] == ["HOL"] and doc["sent"][0]["missing"] == ["RIN", "JEV", "KRO", "SIG"]
    assert doc["sent"][0]["confirmations"][:2] == [
        unconfirmed("RIN", "2026-05-29T12:14:00+00:00"),
        {
            "node": "HOL",
            "level": "LEST",
            "received_at": "2026-05-29T12:08:00+00:00",
            "read_at": "2026-05-29T12:12:00+00:00",
            "done_at": None,
            "last_heard": None,
        },
    ]


def test_show_json(traffic: Path) -> None:
    result = relay_cli(*sh("show MOD-0001 --json"), home=traffic / "HOL")
    assert ok(result)
    assert json.loads(result.stdout) == {
        "id": "MOD-0001",
        "origin": "MOD",
        "kind": "SITREP",
        "priority": "HASTER",
        "exercise": True,
        "verified": True,
        "key_revoked": False,
        "conflict": False,
        "to": "ALLE",
        "created": "2026-05-29T12:00:00+00:00",
        "received_at": "2026-05-29T12:05:00+00:00",
        "read": False,  # as it was before this show
        "expired": False,
        "ref": None,
        "text": "Dataangrep mot kommunens IKT.",
        "report_no": 1,
        "situation": "Dataangrep mot kommunens IKT.",
        "actions_taken": "Informasjon via FM-radio.",
        "needs": "2 personer med IKT-kompetanse.",
        "next_report": "2026-05-29T16:00:00+00:00",
        "confirmations": [
            unconfirmed("RIN"),
            {**unconfirmed("HOL"), "level": "MOTTATT", "received_at": "2026-05-29T12:05:00+00:00"},
            *(unconfirmed(n) for n in ("JEV", "KRO", "SIG", "SF", "POL")),
        ],
        "receipts": [],
        "replies": [],
    }
    assert json.loads(relay_cli(*sh("show MOD-0001 --json"), home=traffic / "HOL").stdout)["read"] is True


# --- ack and reply -----------------------------------------------------------------


def test_ack_creates_a_receipt_with_a_reference(traffic: Path) -> None:
    hol = traffic / "HOL"
    assert ok(relay_cli("ack", "MOD-0001", home=hol)) == [
        "KVITTERING til MOD, HASTER, ØVELSE: 80 byte, 1 pakke(r), 1.0 s sendetid (LONG_FAST)",
        "HOL-0001 lagt i utboksen.",
    ]
    assert ok(relay_cli(*sh("ack mod-0002 --level utført"), home=hol)) == [
        "KVITTERING til MOD, RUTINE, ØVELSE: 80 byte, 1 pakke(r), 1.0 s sendetid (LONG_FAST)",
        "HOL-0002 lagt i utboksen.",
    ]
    assert ok(relay_cli(*sh("ack RIN-0001 --level UTFORT"), home=hol))[1] == "HOL-0003 lagt i utboksen."
    receipts = [message(hol, f"HOL-000{n}").message for n in (1, 2, 3)]
    assert [(m.kind, m.ref, m.get("level"), m.to, m.priority, m.exercise) for m in receipts] == [
        (Kind.KVITTERING, MessageRef("MOD", 1), ReceiptLevel.LEST, Address(node="MOD"), Priority.HASTER, True),
        (Kind.KVITTERING, MessageRef("MOD", 2), ReceiptLevel.UTFORT, Address(node="MOD"), Priority.RUTINE, True),
        (Kind.KVITTERING, MessageRef("RIN", 1), ReceiptLevel.UTFORT, Address(node="RIN"), Priority.HASTER, False),
    ]
    assert all(message(hol, i).read_at is not None for i in ("MOD-0001", "MOD-0002", "RIN-0001"))


def test_reply_answers_a_request_for_assistance(traffic: Path) -> None:
    hol = traffic / "HOL"
    line = (
        "reply MOD-0002 --answer delvis --offer '1 IKT-tekniker' --eta 17:00"
        " --contact 'Beredskapskoordinator Hole' --conditions 'Kost dekkes av Modum.'"
    )
    assert ok(relay_cli(*sh(line), home=hol)) == [
        "BISTANDSSVAR til MOD, PRIORITET, ØVELSE: 97 byte, 1 pakke(r), 1.1 s sendetid (LONG_FAST)",
        "HOL-0001 lagt i utboksen.",
    ]
    msg = message(hol, "HOL-0001").message
    assert (msg.kind, msg.ref, msg.to, msg.priority, msg.exercise) == (
        Kind.BISTANDSSVAR,
        MessageRef("MOD", 2),
        Address(node="MOD"),
        Priority.PRIORITET,
        True,
    )
    assert msg.field_map == {
        "answer": Answer.DELVIS,
        "offer": "1 IKT-tekniker",
        "eta": datetime(2026, 5, 29, 15, 0, tzinfo=UTC),
        "contact": "Beredskapskoordinator Hole",
        "conditions": "Kost dekkes av Modum.",
    }
    # The answer travels back and shows up at Modum under the request.
    deliver(traffic, "HOL-0001", "MOD")
    assert ok(relay_cli("show", "MOD-0002", home=traffic / "MOD"))[-2:] == [
        "Svar/kvittering: HOL-0001 BISTANDSSVAR DELVIS",
        "",
    ]


def test_reply_priority_can_be_raised(traffic: Path) -> None:
    line = "reply MOD-0002 --answer AVSLÅTT --offer 'Ingen ledige.' --eta +1h --contact Hole --priority HASTER"
    assert ok(relay_cli(*sh(line), home=traffic / "HOL"))[0].startswith("BISTANDSSVAR til MOD, HASTER, ØVELSE: ")
    assert message(traffic / "HOL", "HOL-0001").message.get("answer") is Answer.AVSLATT


def test_failed_ack_leaves_the_message_unread(traffic: Path) -> None:
    newer = Home(traffic / "HOL").roster().with_revoked("HOL", lab_authority(traffic), FIXED)
    Home(traffic / "HOL").import_roster(newer.to_json())
    fails(
        relay_cli("ack", "MOD-0001", home=traffic / "HOL"),
        "nøkkelen til HOL står ikke (aktiv) i rosteret: andre noder vil avvise meldingen",
    )
    assert message(traffic / "HOL", "MOD-0001").read_at is None


# --- log ---------------------------------------------------------------------------------


@pytest.fixture
def logbook(traffic: Path) -> Path:
    """Hole's home after it acknowledged the SITREP and answered the BISTAND."""
    hol = traffic / "HOL"
    ok(relay_cli("ack", "MOD-0001", home=hol))
    ok(relay_cli(*sh("reply MOD-0002 --answer DELVIS --offer '1 IKT-tekniker' --eta 17:00 --contact Hole"), home=hol))
    return hol


LOG_COLUMNS = [
    "opprettet",
    "mottatt",
    "id",
    "type",
    "prioritet",
    "status",
    "fra",
    "til",
    "referanse",
    "verifisering",
    "innhold",
    "kvitteringer",
    "retning",
    "loggført",
]
LOG_ROWS = [  # one row per message, columns as in LOG_COLUMNS, separated by |
    (row + "|").split("|")
    for row in (
        "29.05.2026 14:00|29.05.2026 14:00|HOL-0001|KVITTERING|HASTER|ØVELSE|HOL|MOD|MOD-0001|verifisert"
        "|Nivå: LEST||i utboksen",
        "29.05.2026 14:00|29.05.2026 14:00|HOL-0002|BISTANDSSVAR|PRIORITET|ØVELSE|HOL|MOD|MOD-0002|verifisert"
        "|Svar: DELVIS; Tilbud: 1 IKT-tekniker; Ankomst: 29.05 17:00; Kontakt: Hole||i utboksen",
        "29.05.2026 14:00|29.05.2026 14:05|MOD-0001|SITREP|HASTER|ØVELSE|MOD|ALLE||verifisert"
        "|Rapport nr: 1; Situasjon: Dataangrep mot kommunens IKT.; Tiltak iverksatt: Informasjon via FM-radio.; "
        "Behov: 2 personer med IKT-kompetanse.; Neste rapport: 29.05 18:00|HOL LEST|mottatt",
        "29.05.2026 14:00|29.05.2026 14:06|MOD-0002|BISTAND|PRIORITET|ØVELSE|MOD|KOMMUNER||verifisert"
        "|Ressurs: IKT-personell; Antall: 2; Oppdrag: Drift av nettverk etter dataangrepet.; "
        "Oppmøtested: Modum rådhus; Tidsrom: Snarest, 48 timer; Kontakt: Kriseleder Modum|HOL DELVIS|mottatt",
        "29.05.2026 14:00|29.05.2026 14:08|RIN-0001|MELDING|NØD|REELL|RIN|ALLE||verifisert"
        "|Tekst: Brann i Hønefoss sentrum.||mottatt",
        "29.05.2026 14:00|29.05.2026 14:07|SF-0001|MELDING|RUTINE|ØVELSE|SF|ALLE||verifisert"
        "|Tekst: Meld status innen kl 16.||mottatt",
    )
]


def test_log_text(logbook: Path) -> None:
    assert relay_cli("log", home=logbook).stdout == (
        "Krisesloggen for Hole kommune (HOL), skrevet ut 29.05.2026 14:00\n"
        "\n"
        "29.05.2026 14:00  HOL-0001  KVITTERING   HASTER    ØVELSE HOL -> MOD  (i utboksen, verifisert)\n"
        "    Nivå: LEST\n"
        "29.05.2026 14:00  HOL-0002  BISTANDSSVAR PRIORITET ØVELSE HOL -> MOD  (i utboksen, verifisert)\n"
        "    Svar: DELVIS; Tilbud: 1 IKT-tekniker; Ankomst: 29.05 17:00; Kontakt: Hole\n"
        "29.05.2026 14:00  MOD-0001  SITREP       HASTER    ØVELSE MOD -> ALLE  (mottatt, verifisert)\n"
        "    Rapport nr: 1; Situasjon: Dataangrep mot kommunens IKT.; Tiltak iverksatt: Informasjon via FM-radio.; "
        "Behov: 2 personer med IKT-kompetanse.; Neste rapport: 29.05 18:00\n"
        "    Kvittert: HOL LEST\n"
        "29.05.2026 14:00  MOD-0002  BISTAND      PRIORITET ØVELSE MOD -> KOMMUNER  (mottatt, verifisert)\n"
        "    Ressurs: IKT-personell; Antall: 2; Oppdrag: Drift av nettverk etter dataangrepet.; "
        "Oppmøtested: Modum rådhus; Tidsrom: Snarest, 48 timer; Kontakt: Kriseleder Modum\n"
        "    Kvittert: HOL DELVIS\n"
        "29.05.2026 14:00  RIN-0001  MELDING      NØD       REELL  RIN -> ALLE  (mottatt, verifisert)\n"
        "    Tekst: Brann i Hønefoss sentrum.\n"
        "29.05.2026 14:00  SF-0001   MELDING      RUTINE    ØVELSE SF -> ALLE  (mottatt, verifisert)\n"
        "    Tekst: Meld status innen kl 16.\n"
    )


def test_log_of_an_empty_store(lab: Path) -> None:
    assert ok(relay_cli("log", home=lab / "KRO")) == [
        "Krisesloggen for Krødsherad kommune (KRO), skrevet ut 29.05.2026 14:00",
        "",
        "(ingen meldinger)",
    ]


def test_log_csv_of_an_empty_store_has_every_column(lab: Path) -> None:
    result = relay_cli(*sh("log --format csv"), home=lab / "KRO")
    assert list(csv.reader(io.StringIO(result.stdout))) == [LOG_COLUMNS]


def test_log_csv(logbook: Path) -> None:
    result = relay_cli(*sh("log --format csv"), home=logbook)
    assert ok(result)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == LOG_COLUMNS
    assert rows[1:] == LOG_ROWS


class _Tables(HTMLParser):
    """Counts tables and collects the text of the header cells and of each body row's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables = 0
        self.head: list[str] = []
        self.rows: list[list[str]] = []
        self._section = ""
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables += 1
        elif tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "tr" and self._section == "tbody":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            (self.head if self._section == "thead" else self.rows[-1]).append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_log_html(logbook: Path, tmp_path: Path) -> None:
    out = tmp_path / "krisesloggen.html"
    assert ok(relay_cli(*sh("log --format html --output"), out, home=logbook)) == [f"Loggen er skrevet til {out}"]
    page = out.read_text(encoding="utf-8")
    assert page == relay_cli(*sh("log --format html"), home=logbook).stdout
    lines = page.splitlines()
    assert lines[0] == "<!DOCTYPE html>"
    assert "<title>Krisesloggen – Hole kommune (HOL)</title>" in lines[1]
    assert '<p class="meta">Skrevet ut 29.05.2026 14:00 · 6 meldinger · alle tider lokal tid</p>' in lines
    tables = _Tables()
    tables.feed(page)
    assert tables.tables == 1
    assert tables.head == [
        "Opprettet",
        "ID",
        "Type",
        "Prioritet",
        "Status",
        "Fra → til",
        "Innhold",
        "Verifisering",
        "Kvitteringer",
        "Loggført",
    ]
    assert len(tables.rows) == len(held(logbook)) == 6
    assert tables.rows == [
        [r[0], r[2], r[3], r[4], r[5], f"{r[6]} → {r[7]}", r[10], r[9], r[11], r[13]] for r in LOG_ROWS
    ]


def test_log_json(logbook: Path) -> None:
    doc = json.loads(relay_cli(*sh("log --json"), home=logbook).stdout)
    assert doc["node"] == "Hole kommune (HOL)"
    assert [list(entry) for entry in doc["entries"]] == [LOG_COLUMNS] * 6
    assert [list(entry.values()) for entry in doc["entries"]] == LOG_ROWS


def test_log_in_english(logbook: Path) -> None:
    lines = ok(relay_cli(*sh("--lang en log"), home=logbook))
    assert lines[:3] == [
        "Crisis log of Hole kommune (HOL), printed 29.05.2026 14:00",
        "",
        "29.05.2026 14:00  HOL-0001  KVITTERING   HASTER    ØVELSE HOL -> MOD  (in the outbox, verified)",
    ]
    assert lines[6] == "29.05.2026 14:00  MOD-0001  SITREP       HASTER    ØVELSE MOD -> ALLE  (received, verified)"
    assert lines[8] == "    Confirmed: HOL LEST"
    out = logbook.parent.parent / "log.txt"
    assert ok(relay_cli(*sh("--lang en log --output"), out, home=logbook)) == [f"The log is written to {out}"]


# --- demo ----------------------------------------------------------------------------------


def test_demo() -> None:
    lines = ok(relay_cli(*sh("demo --pace 0")))
    assert lines[:14] == [
        "Modum-øvelsen: dataangrep i Modum. Modum mister sambandet 0:30-2:30 og sender likevel.",
        "",
        "Noder:",  # the ids the timeline uses, and whom they stand for, once
        "  RIN  Ringerike kommune",
        "  HOL  Hole kommune",
        "  JEV  Jevnaker kommune",
        "  MOD  Modum kommune",
        "  KRO  Krødsherad kommune",
        "  SIG  Sigdal kommune",
        "  SF   Statsforvalteren",
        "  POL  Politikontakt",
        "  REP  Repeater Vikersundkollen (repeater, lagrer ikke)",
        "",
        "[0:05:00] MOD sender MOD-0001 SITREP HASTER til ALLE",
    ]
    assert re.fullmatch(r"\[0:05:01\] (RIN|KRO) mottok MOD-0001 \(SITREP fra MOD\)", lines[14])  # a neighbour, at once
    received = [re.fullmatch(r"\[\d:\d\d:\d\d\] ([A-Z]+) mottok MOD-0001 \(SITREP fra MOD\)", line) for line in lines]
    assert sorted(m.group(1) for m in received if m) == sorted(["RIN", "HOL", "JEV", "KRO", "SIG", "SF", "POL"])
    converged = re.compile(r"Alle lagre er like \(konvergert etter \d:\d\d:\d\d\)\.")
    assert len([line for line in lines if converged.fullmatch(line)]) == 1


def test_demo_of_the_field_plan() -> None:
    lines = ok(relay_cli(*sh("demo --scenario field-plan --pace 0")))
    assert lines[0].startswith("Feltplanen: rådhusene hører hverandre bare via repeaterne")
    assert "Alle lagre er like" in lines[-2]
    hills = [line for line in lines if line.endswith("(kun radio)")]
    assert [line.split()[0] for line in hills] == ["GYR", "NFJ"]
    assert [line.split()[0] for line in lines if line.endswith("(repeater, lagrer ikke)")] == ["GYR", "NFJ"]


def test_demo_json() -> None:
    result = relay_cli(*sh("demo --json"))
    assert ok(result)
    report = json.loads(result.stdout)
    assert report["converged"] is True
    first = next(m for m in report["messages"] if m["id"] == "MOD-0001")
    assert sorted(first["delivered"]) == sorted(NODES)


# --- as a process -----------------------------------------------------------------------------


def _subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RELAY_HOME", "RELAY_LANG", "LC_ALL")}
    return {**env, "LANG": "C.UTF-8", "PYTHONUTF8": "1", "TERM": "dumb"}


@pytest.mark.parametrize("line", ["--help", "--home HOME inbox", "--home HOME log"])
def test_cli_does_not_import_meshtastic(lab: Path, line: str) -> None:
    argv = [str(lab / "MOD") if a == "HOME" else a for a in sh(line)]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "relay", *argv],
        cwd=REPO,
        env=_subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    imported = [
        line.rpartition("|")[2].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    ]
    assert "relay.cli.main" in imported  # the parse works: the CLI itself is listed
    assert [name for name in imported if name.startswith("meshtastic")] == []


def test_inbox_loads_its_own_commands_and_not_the_boards_or_the_firmwares(lab: Path) -> None:
    code = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
        "from relay.cli.main import main\n"
        f"sys.argv = ['relay', '--home', {str(lab / 'MOD')!r}, 'inbox']\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=_subprocess_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = set(json.loads(result.stderr.splitlines()[-1]))
    assert "relay.cli.traffic" in loaded
    assert {"relay.cli.board", "relay.cli.desk", "relay.cli.firmware", "relay.core.frames"}.isdisjoint(loaded)


def test_every_lazy_command_is_in_its_module_and_no_command_is_missing() -> None:
    import importlib

    from relay.cli.main import LAZY_COMMANDS, cli

    modules = set(LAZY_COMMANDS.values())
    for module in modules:
        names = {command.name for command in importlib.import_module(module).COMMANDS}
        assert names == {name for name, where in LAZY_COMMANDS.items() if where == module}, module
    listed = cli.list_commands(click.Context(cli))
    assert set(LAZY_COMMANDS) <= set(listed)
    assert {"bench", "sim", "hw-sim", "daemon", "status"} <= set(listed)
    assert all(cli.get_command(click.Context(cli), name) is not None for name in listed)


class Terminal:
    """A child process on a pseudo-terminal, typed into the way an operator would."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.fd, child = os.openpty()
        try:
            self.proc = subprocess.Popen(
                argv, stdin=child, stdout=child, stderr=child, cwd=cwd, env=env, start_new_session=True
            )
        finally:
            os.close(child)
        self.raw = b""
        self.seen = 0  # transcript position after the last match
        self.eof = False

    @property
    def transcript(self) -> str:
        return self.raw.decode("utf-8", errors="replace")

    def expect(self, *texts: str, timeout: float = 15.0) -> str:
        """Wait until one of ``texts`` appears after the previous match; return it."""
        deadline = time.monotonic() + timeout
        while True:
            found = [(i, t) for t in texts if (i := self.transcript.find(t, self.seen)) >= 0]
            if found:
                index, text = min(found)
                self.seen = index + len(text)
                return text
            remaining = deadline - time.monotonic()
            if self.eof or remaining <= 0:
                raise AssertionError(f"never saw {texts!r}; the terminal showed:\n{self.transcript}")
            self._read(remaining)

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: the child has exited and closed the terminal
            chunk = b""
        if chunk:
            self.raw += chunk
        else:
            self.eof = True

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def finish(self, timeout: float = 15.0) -> int:
        """Read to the end; the exit status."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        return self.proc.wait(timeout=max(deadline - time.monotonic(), 0.1))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self.fd)


@pytest.fixture
def terminal(lab: Path) -> Iterator[Terminal]:
    """``python -m relay --home LAB/MOD send SITREP`` on a pseudo-terminal, so the CLI asks for every field."""
    if not hasattr(os, "openpty"):
        pytest.skip("no pseudo-terminals on this platform")
    argv = [sys.executable, "-m", "relay", "--home", str(lab / "MOD"), "send", "SITREP"]
    term = Terminal(argv, REPO, _subprocess_env())
    yield term
    term.close()


CHOICES = "ALLE, KOMMUNER, RIN, HOL, JEV, MOD, KRO, SIG, SF, POL eller rolle@node"
SITREP_DIALOGUE = [
    ("Prioritet (NØD/HASTER/PRIORITET/RUTINE): ", ""),
    (f"Til ({CHOICES}): ", ""),
    ("Rapport nr: ", "4"),
    ("Periode [valgfritt]: ", "kl 14-18"),
    ("Situasjon: ", "Vannlekkasje i Vikersund sentrum."),
    ("Konsekvenser [valgfritt]: ", ""),
    ("Tiltak iverksatt: ", "Vakt fra teknisk etat er på stedet."),
    ("Planlagte tiltak [valgfritt]: ", ""),
    ("Behov: ", "Ingen."),
    ("Vurdering [valgfritt]: ", ""),
    ("Informasjon til publikum [valgfritt]: ", "Kok vannet."),
    ("Neste rapport (f.eks. 18:00, +2t, i morgen 08:00, nå): ", "2026-05-30 07:30"),
    ("Antall på EPS [valgfritt]: ", "3"),
]
PREVIEW = re.compile(r"SITREP til ALLE, RUTINE, ØVELSE: \d+ byte, 1 pakke\(r\), \d+\.\d s sendetid \(LONG_FAST\)")


def _answer_every_prompt(term: Terminal) -> None:
    for prompt, answer in SITREP_DIALOGUE:
        term.expect(prompt)
        term.type(answer)
    term.expect("Signer og send? [J/n]: ")
    assert PREVIEW.search(term.transcript), term.transcript


@pytest.mark.parametrize(
    "yes",
    [
        pytest.param("", id="enter"),
        pytest.param(
            "j",
            id="j",
        ),
    ],
)
def test_interactive_send_on_a_terminal(terminal: Terminal, lab: Path, yes: str) -> None:
    _answer_every_prompt(terminal)
    terminal.type(yes)
    assert terminal.expect("lagt i utboksen.", "Signer og send? [J/n]: ") == "lagt i utboksen."
    assert terminal.finish() == 0, terminal.transcript
    assert terminal.transcript.splitlines()[-1].endswith("MOD-0001 lagt i utboksen.")
    (stored,) = held(lab / "MOD")
    msg = stored.message
    assert (msg.id, msg.kind, msg.priority, msg.exercise, msg.to) == (
        "MOD-0001",
        Kind.SITREP,
        Priority.RUTINE,
        True,
        Address(group="ALLE"),
    )
    assert msg.field_map == {
        "report_no": 4,
        "period": "kl 14-18",
        "situation": "Vannlekkasje i Vikersund sentrum.",
        "actions_taken": "Vakt fra teknisk etat er på stedet.",
        "needs": "Ingen.",
        "public_info": "Kok vannet.",
        "next_report": datetime(2026, 5, 30, 5, 30, tzinfo=UTC),
        "eps_count": 3,
    }


def test_interactive_send_declined_writes_nothing(terminal: Terminal, lab: Path) -> None:
    _answer_every_prompt(terminal)
    terminal.type("n")
    assert terminal.finish() == 0
    assert terminal.transcript.splitlines()[-1].strip() == (
        "Ikke sendt. Utkastet er lagret (SITREP): fortsett med «relay send --resume»."
    )
    assert held(lab / "MOD") == []
    ok(relay_cli(*sh("send --resume"), home=lab / "MOD"))  # not on a terminal: checked and sent as it is
    (stored,) = held(lab / "MOD")
    assert stored.message.get("report_no") == 4
    fails(relay_cli(*sh("send --resume"), home=lab / "MOD"), "ingen utkast å fortsette")


def test_html_log_renders_in_headless_chromium(logbook: Path, tmp_path: Path) -> None:
    browser = chromium.require()
    page = tmp_path / "crisis-log.html"
    ok(relay_cli(*sh("log --format html --output"), page, home=logbook))
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "crisis-log.png"
    png.unlink(missing_ok=True)
    flags = "--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
    flags += " --disable-sync --no-first-run --window-size=1123,794"  # A4 landscape at 96 dpi
    result = subprocess.run(
        [browser, *sh(flags), f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert png.exists(), f"exit {result.returncode}: {result.stderr[-2000:]}"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (1123, 794)
    assert len(data) > 10_000  # a blank page is a few kB; the table makes it larger


@pytest.mark.parametrize(("valid_for", "expired"), [(timedelta(hours=-1), True), (timedelta(hours=1), False)])
def test_a_message_past_its_expiry_is_shown_marked_not_hidden(lab: Path, valid_for: timedelta, expired: bool) -> None:
    from relay.core.compose import compose

    created = FIXED - timedelta(hours=2)
    msg = compose(Kind.VARSEL, "SF", 1, created, text="Stengt vei ved Sundvollen.", expires=FIXED + valid_for)
    signed = wire.encode(msg, Home(lab / "SF").signer(), dictionaries.current())
    store = Home(lab / "HOL").store()
    store.insert(signed, created, local=False)
    store.close()

    [line] = [row for row in ok(relay_cli(*sh("inbox"), home=lab / "HOL")) if "SF-0001" in row]
    assert line.endswith(" UTLØPT  Stengt vei ved Sundvollen.") is expired
    [doc] = json.loads(relay_cli(*sh("inbox --json"), home=lab / "HOL").stdout)
    assert doc["expired"] is expired
    shown = ok(relay_cli(*sh("show SF-0001"), home=lab / "HOL"))
    assert any(row.startswith("Gyldig til") and row.endswith("(UTLØPT)") for row in shown) is expired


# --- store faults: doctor --------------------------------------------------------------


def _flip(home_dir: Path, origin: str, seq: int, position: int) -> None:
    """Damage one row the way an SD card does: one flipped bit, behind SQLite's back."""
    import sqlite3

    conn = sqlite3.connect(home_dir / "relay.db")
    (data,) = conn.execute("SELECT wire FROM messages WHERE origin=? AND seq=?", (origin, seq)).fetchone()
    damaged = bytearray(data)
    damaged[position] ^= 0x10
    conn.execute("UPDATE messages SET wire=? WHERE origin=? AND seq=?", (bytes(damaged), origin, seq))
    conn.commit()
    conn.close()


def test_doctor_catches_a_rows_number_changed_under_its_intact_blob(traffic: Path) -> None:
    # Issue 24, 7: MOD-0002's seq column set to 19, its bytes untouched; the check said all was well.
    import sqlite3

    hol = traffic / "HOL"
    conn = sqlite3.connect(hol / "relay.db")
    conn.execute("UPDATE messages SET seq=19 WHERE origin='MOD' AND seq=2")
    conn.commit()
    conn.close()
    check = relay_cli("doctor", "--check", home=hol)
    assert (check.exit_code, check.stdout) == (
        1,
        "  MOD-0019  radens kolonner (nummer, avsender, type …) stemmer ikke med meldingen\n",
    )
    assert check.stderr == "Feil: 1 av 4 meldinger feiler; kjør «relay doctor» uten --check for å flytte dem\n"
    lines = ok(relay_cli("--lang", "en", "doctor", home=hol))
    assert lines[:2] == [
        "  MOD-0019  the row's columns (number, origin, kind …) do not match the message",
        "1 message(s) moved to quarantine. The neighbours send sound copies.",
    ]
    assert ok(relay_cli("doctor", home=hol))[0] == "Lageret er friskt: 3 meldinger sjekket."


@pytest.mark.parametrize("position", [1, 30, -3], ids=["header", "text", "signature"])
def test_a_damaged_row_is_skipped_with_a_warning_and_doctor_quarantines_it(traffic: Path, position: int) -> None:
    hol = traffic / "HOL"
    _flip(hol, "MOD", 1, position)
    warning = "Advarsel: 1 melding(er) i lageret er skadet og vises ikke; kjør «relay doctor»\n"

    for command in (("inbox",), ("log",), ("inbox", "--json")):
        result = relay_cli(*command, home=hol)
        assert (result.exit_code, result.stderr) == (0, warning), command
        assert "MOD-0001" not in result.stdout

    check = relay_cli("doctor", "--check", home=hol)
    assert check.exit_code == 1
    assert check.stdout == "  MOD-0001  skadet på disk\n"
    assert check.stderr == "Feil: 1 av 4 meldinger feiler; kjør «relay doctor» uten --check for å flytte dem\n"

    lines = ok(relay_cli("doctor", home=hol))
    assert lines[:3] == [
        "  MOD-0001  skadet på disk",
        "1 melding(er) flyttet til karantene. Nabonodene sender sunne kopier.",
        "I karantene (1):",
    ]
    assert lines[3].startswith("  MOD-0001  skadet på disk  ")
    assert ok(relay_cli("doctor", home=hol))[0] == "Lageret er friskt: 3 meldinger sjekket."
    assert any("MOD-0002" in line for line in ok(relay_cli("inbox", home=hol)))  # no warning any more
    store = Home(hol).store()
    try:
        assert store.summary()["MOD"] == 0  # the head went back: the sync asks a neighbour for MOD-0001
    finally:
        store.close()
