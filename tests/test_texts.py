"""Core errors carry a reason code and its arguments; the CLI renders them in nb or en."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from relay.core.model import Address, Kind, MessageRef
from relay.errors import ValidationError
from relay.texts import TEXTS, render
from tests.test_cli import fails, relay_cli

RELAY = Path(__file__).resolve().parents[1] / "relay"


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(TEXTS))
def test_both_languages_take_the_same_arguments(code: str) -> None:
    nb, en = TEXTS[code]
    assert fields_of(nb) == fields_of(en)


def test_every_code_the_source_raises_has_its_words() -> None:
    used = set()
    for path in RELAY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "code" and isinstance(node.value, ast.Constant):
                used.add(node.value.value)
    assert used and used <= set(TEXTS), sorted(used - set(TEXTS))


@pytest.mark.parametrize(
    ("call", "nb", "en"),
    [
        (lambda: Kind.parse("SITRAP"), "ukjent meldingstype 'SITRAP'", "unknown message kind 'SITRAP'"),
        (lambda: Address.parse("x@MOD"), "ukjent rolle 'x'", "unknown role 'x'"),
        (lambda: MessageRef.parse("MOD-0"), "ugyldig løpenummer i 'MOD-0'", "invalid sequence number in 'MOD-0'"),
    ],
    ids=["kind", "role", "ref"],
)
def test_a_core_error_reads_in_norwegian_and_renders_in_english(call: object, nb: str, en: str) -> None:
    with pytest.raises(ValidationError) as raised:
        call()  # type: ignore[operator]
    assert str(raised.value).startswith(nb)
    assert raised.value.render("en").startswith(en) and raised.value.render("nb") == str(raised.value)
    assert raised.value.code is not None


def test_render_falls_back_to_the_norwegian_for_another_language() -> None:
    assert render("status_empty", {}, "se") == "STATUS: minst én funksjon må rapporteres"


def test_the_cli_shows_a_core_error_in_the_operators_language(tmp_path: Path) -> None:
    home = tmp_path / "MOD"
    assert relay_cli("init", "--node", "MOD", "--name", "Modum kommune", home=home).exit_code == 0
    fails(relay_cli("send", "SITRAP", "--text", "x", home=home), "ukjent meldingstype 'SITRAP' (gyldige: " + VALID)
    fails(
        relay_cli("--lang", "en", "send", "SITRAP", "--text", "x", home=home),
        "unknown message kind 'SITRAP' (valid: " + VALID,
        prefix="Error",
    )


VALID = ", ".join(k.value for k in Kind if k is not Kind.ROSTER) + ")"


def test_every_help_text_has_its_english() -> None:
    import inspect

    from relay.cli import english
    from relay.cli.main import cli

    english.apply(cli, "nb")
    missing = [
        getattr(item, "help", "")
        for item in english._texts(cli)
        if getattr(item, "help", None)
        and item.help != "Show the version and exit."  # type: ignore[attr-defined]
        and inspect.cleandoc(item.help) not in english.HELP_EN  # type: ignore[attr-defined]
    ]
    assert missing == []


def test_help_follows_the_language_and_switches_back() -> None:
    english_help = relay_cli("--lang", "en", "send", "--help").stdout
    assert (
        "Write, sign and put a message in the outbox." in english_help and "Do not ask before sending." in english_help
    )
    assert "Write, sign and put" not in relay_cli("send", "--help").stdout  # Norwegian again, same process
    assert "signed situation reports between crisis staffs" in relay_cli("--lang", "en", "--help").stdout
