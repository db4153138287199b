"""One language at a time: every command, in Norwegian and with ``--lang en``, prints no line
of the other language.

The walk runs each command against Hole's home after the lab's traffic (tests/test_cli.py's
fixtures), once in each language, on a fresh copy each time.  A line is of the other
language when it holds one of that language's common words.  Excepted, as the domain's own
words: the messages' text, the kind, priority, status and level names, and the nodes' names;
and the names of commands and options on a help page.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from relay.core.model import Answer, Function, InfoState, Kind, Level, Priority, ReceiptLevel, RumourState
from tests import test_cli
from tests.test_cli import relay_cli, sh

lab_template = test_cli.lab_template  # the CLI tests' lab and traffic, by name
lab = test_cli.lab
traffic = test_cli.traffic
fixed_clock = test_cli.fixed_clock

NORWEGIAN = {
    "og", "ikke", "er", "av", "fra", "med", "som", "har", "ingen", "melding", "meldinger", "kjører",
    "sendt", "mottatt", "verifisert", "nøkkel", "lagt", "utboksen", "sist", "hørt", "skrevet", "mangler",
    "ugyldig", "ukjent", "kvitteringer", "innboksen", "tom", "se", "valg", "fant", "denne", "lageret",
    "aldri", "klokke", "utboks", "signatur", "opprettet", "referanse", "svar", "loggen", "sendetid",
    "pakke", "byte", "ulest", "avsender", "aktiv", "versjon", "autoritet", "friskt", "sjekket",
}  # fmt: skip
ENGLISH = {
    "the", "and", "not", "is", "of", "with", "message", "messages", "sent", "received", "verified",
    "key", "queued", "outbox", "none", "never", "missing", "invalid", "unknown", "see", "option",
    "signature", "created", "reference", "reply", "receipts", "airtime", "packet", "bytes", "unread",
    "active", "version", "authority", "sound", "checked", "last", "heard", "clock", "running", "written",
}  # fmt: skip
DOMAIN = re.compile(
    r"Dataangrep mot kommunens IKT\.|Drift av nettverk etter dataangrepet\.|2 personer med IKT-kompetanse\."
    r"|Informasjon via FM-radio\.|Brann i Hønefoss sentrum\.|Meld status innen kl 16\.|IKT-personell"
    r"|Modum rådhus|Snarest, 48 timer|Kriseleder Modum|[A-Za-zØÆÅøæå]+ kommune|Statsforvalteren|Politikontakt"
    r"|Ringerike-regionen|Ringerike|1 IKT-tekniker|Hei fra Hole\."
)

WALK = [
    "--help",
    "send --help",
    "inbox --help",
    "roster add --help",
    "inbox",
    "inbox --limit mange",
    "show MOD-0001",
    "show MOD-0002",
    "show HOL-0001",
    "log",
    "log --format csv",
    "status",
    "roster show",
    "ack SF-0001",
    "ack HOL-0001",
    "reply MOD-0002 --answer DELVIS --offer '1 IKT-tekniker' --eta 17:00 --contact Hole",
    "send MELDING --text 'Hei fra Hole.'",
    "send BISTAND --field quantity=2",
    "send STATUS --field FOO=GUL",
    "send --resume",
    "doctor --check",
    "show XYZ-0001",
    "roster import /nowhere/roster.json",
]


NAMES = {  # the domain's names: kinds, priorities, statuses, levels, answers, states, functions, groups
    str(m.value).lower()
    for enum in (Kind, Priority, Level, ReceiptLevel, Answer, Function, InfoState, RumourState)
    for m in enum
} | {"øvelse", "reell", "alle", "kommuner"}


COMMAND_NAMES = re.compile(r"^\s{2}[a-z-]+\s{2,}|(?<!\w)-{1,2}[\w-]+")  # a help page's commands and options


def words(line: str) -> set[str]:
    plain = COMMAND_NAMES.sub(" ", DOMAIN.sub(" ", line))
    return {w.lower() for w in re.findall(r"[A-Za-zÆØÅæøå]+", plain)} - NAMES


def walk(traffic: Path, tmp_path: Path, lang: list[str]) -> list[tuple[str, str]]:
    """(command, line) of everything every command prints, on a fresh copy of the traffic."""
    home = tmp_path / "walk"
    shutil.copytree(traffic, home)
    ok = test_cli.ok(relay_cli(*sh("send MELDING --text 'Hei fra Hole.'"), home=home / "HOL"))
    assert ok  # HOL-0001, its own, to show and to refuse to acknowledge
    lines = []
    for command in WALK:
        result = relay_cli(*lang, *sh(command), home=home / "HOL")
        assert result.exception is None or isinstance(result.exception, SystemExit), (command, result.exception)
        lines += [(command, line) for line in (result.stdout + result.stderr).splitlines()]
    return lines


@pytest.mark.parametrize(("lang", "foreign"), [([], ENGLISH), (["--lang", "en"], NORWEGIAN)], ids=["nb", "en"])
def test_every_command_speaks_one_language(traffic: Path, tmp_path: Path, lang: list[str], foreign: set[str]) -> None:
    mixed = [f"relay {' '.join(lang)} {command}: {line}" for command, line in walk(traffic, tmp_path, lang)]
    mixed = [line for line in mixed if words(line.split(": ", 1)[1]) & foreign]
    assert mixed == [], "\n".join(mixed)


def test_the_homes_errors_read_in_the_operators_language(lab: Path, tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere"
    test_cli.fails(relay_cli("inbox", home=nowhere), f"fant ingen node i {nowhere}: kjør «relay init» først")
    test_cli.fails(
        relay_cli("--lang", "en", "inbox", home=nowhere),
        f"no node in {nowhere}: run «relay init» first",
        prefix="Error",
    )
    (lab / "MOD" / "roster.json").write_text("{}", encoding="utf-8")
    result = relay_cli("--lang", "en", "send", "MELDING", "--text", "x", home=lab / "MOD")
    assert result.stderr.startswith(f"Error: the roster in {lab}/MOD/roster.json cannot be used: "), result.stderr
    assert not words(result.stderr) & NORWEGIAN, result.stderr


# --- the placeholders on every help page (issue 25) ---------------------------------------

PLACEHOLDERS_EN = {"TEXT", "INTEGER", "FLOAT", "RANGE", "FILE", "FILENAME", "FILES", "DIRECTORY", "PATH"}
PLACEHOLDERS_EN |= {"OPTIONS", "COMMAND", "ARGS", "NAME", "VALUE", "HOST"}
PLACEHOLDERS_NB = {"TEKST", "HELTALL", "TALL", "FIL", "FILER", "MAPPE", "STI", "VALG", "KOMMANDO", "ARGUMENTER"}
PLACEHOLDERS_NB |= {"NAVN", "VERDI", "VERT"}
OPTION_LINE = re.compile(r"^\s{2}(?:-\S+, )*--?[\w-]+ ((?:[^\s]+)(?: RANGE)?)(?:\s{2,}|$)")


def placeholders(page: str) -> set[str]:
    """The words of a help page's placeholders: its usage line's after the command, each option's value."""
    found: set[str] = set()
    for line in page.splitlines():
        usage = re.match(r"^(?:Bruk|Usage): relay(?: [a-z-]+)*( .*)$", line)
        option = OPTION_LINE.match(line)
        text = usage.group(1) if usage else option.group(1) if option else ""
        found |= set(re.findall(r"[A-ZÆØÅ][A-ZÆØÅ_]*", text))
    return found


def every_command() -> list[list[str]]:
    import click

    from relay.cli.main import cli

    def under(command: click.Command, path: list[str]) -> list[list[str]]:
        if not isinstance(command, click.Group):
            return [path]
        ctx = click.Context(command)  # the top group loads its commands' modules as they are named
        subs = [(name, command.get_command(ctx, name)) for name in command.list_commands(ctx)]
        return [path] + [p for name, sub in subs if sub is not None for p in under(sub, [*path, name])]

    return under(cli, [])


@pytest.mark.parametrize(
    ("lang", "foreign"), [([], PLACEHOLDERS_EN), (["--lang", "en"], PLACEHOLDERS_NB)], ids=["nb", "en"]
)
def test_every_help_pages_placeholders_are_in_its_language(tmp_path: Path, lang: list[str], foreign: set[str]) -> None:
    seen, mixed = set(), []
    for path in every_command():
        page = test_cli.ok(relay_cli(*lang, *path, "--help", home=tmp_path))
        found = placeholders("\n".join(page))
        seen |= found
        mixed += [f"relay {' '.join([*lang, *path])} --help: {sorted(found & foreign)}"] if found & foreign else []
    assert mixed == [], "\n".join(mixed)
    own = PLACEHOLDERS_NB if not lang else PLACEHOLDERS_EN
    assert {"FIL", "TEKST", "HELTALL", "MAPPE", "VALG"} <= seen if not lang else {"FILE", "TEXT", "INTEGER"} <= seen
    assert seen & own


# --- the daemon's journal in the node's language (issue 25) --------------------------------

RELAY = Path(__file__).resolve().parents[1] / "relay"
CONVERSION = re.compile(r"%[-#0 +]*\d*(?:\.(\d+))?([sdrf])")


def journal_templates() -> set[str]:
    """The English template of every log call at INFO and above in the daemon and the edge."""
    import ast

    found = set()
    for path in [*(RELAY / "daemon").glob("*.py"), *(RELAY / "edge").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "log"
                and node.func.attr in ("info", "warning", "error", "critical", "exception")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def conversions(template: str) -> list[str]:
    """A template's conversions in order; ``%.0s`` (a dropped English plural) counts as ``%s``."""
    return [kind for _, kind in CONVERSION.findall(template)]


def test_every_journal_line_of_the_daemon_has_its_norwegian() -> None:
    from relay.daemon.words import JOURNAL_NB

    templates = journal_templates() - {"%s"}  # "%s": a line already said in the node's language
    assert sorted(templates - JOURNAL_NB.keys()) == []
    assert sorted(JOURNAL_NB.keys() - templates - {"IP: %s"}) == []  # none left over from a changed line
    for english, norwegian in JOURNAL_NB.items():
        assert conversions(norwegian) == conversions(english), english
        assert not words(norwegian) & ENGLISH - {"none"}, norwegian


def test_the_journal_speaks_the_nodes_language() -> None:
    import io
    import logging

    from relay.daemon.journal import JournalHandler
    from relay.texts import Localized

    records = [
        (logging.INFO, "stored %s %s %s %s", ("HOL-0001", "SITREP", "HASTER", "by IP")),
        (
            logging.INFO,
            "queued %s-%04d %s %s for sending (%d B, %d packet%s)",
            ("MOD", 7, "SITREP", "NØD", 300, 2, "s"),
        ),
        (logging.ERROR, "store full: %s; free disk space%s", (Localized("lagret ikke", "not stored"), "")),
        (
            logging.WARNING,
            "the system clock stepped %s by %.1f s; timers are not affected, dates follow it",
            ("back", 3.0),
        ),
        (logging.DEBUG, "sent %s (%d B)", ("SUMMARY of MOD", 8)),
        (logging.INFO, "not in the table: %s", ("x",)),
    ]
    said = {}
    for lang in ("nb", "en"):
        stream = io.StringIO()
        handler = JournalHandler("MOD", stream, lang)
        for level, template, args in records:
            handler.emit(logging.LogRecord("relay.daemon", level, __file__, 1, template, args, None))
        said[lang] = stream.getvalue().splitlines()
    assert said["nb"] == [
        "<6>relay[MOD]: lagret HOL-0001 SITREP HASTER over IP",
        "<6>relay[MOD]: MOD-0007 SITREP NØD lagt i sendekøen (300 B, 2 pakke(r))",
        "<3>relay[MOD]: lageret er fullt: lagret ikke; frigjør plass på disken",
        "<4>relay[MOD]: systemklokken hoppet tilbake 3.0 s; tidtakerne påvirkes ikke, datoene følger den",
        "<7>relay[MOD]: sent SUMMARY of MOD (8 B)",  # --verbose: the developer's trace stays English
        "<6>relay[MOD]: not in the table: x",
    ]
    assert said["en"] == [
        "<6>relay[MOD]: stored HOL-0001 SITREP HASTER by IP",
        "<6>relay[MOD]: queued MOD-0007 SITREP NØD for sending (300 B, 2 packets)",
        "<3>relay[MOD]: store full: not stored; free disk space",
        "<4>relay[MOD]: the system clock stepped back by 3.0 s; timers are not affected, dates follow it",
        "<7>relay[MOD]: sent SUMMARY of MOD (8 B)",
        "<6>relay[MOD]: not in the table: x",
    ]
