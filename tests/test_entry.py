"""relay.core.entry: what an operator types, checked the same way for the CLI and the desk."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from relay.core import entry
from relay.core.model import Kind, Priority
from relay.errors import ValidationError

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 5, 30, 14, 0, tzinfo=UTC)  # 16:00 in Oslo (summer time)
NODES = ("RIN", "HOL", "MOD")


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("18:00", "2026-05-30 18:00"),
        ("kl 18.30", "2026-05-30 18:30"),
        ("15:00", "2026-05-30 15:00"),  # an hour late: still today
        ("08:00", "2026-05-31 08:00"),  # long past: tomorrow
        ("i morgen 08:00", "2026-05-31 08:00"),
        ("i dag kl 20.15", "2026-05-30 20:15"),
        ("+2t", "2026-05-30 18:00"),
        ("+2h", "2026-05-30 18:00"),
        ("+1t30m", "2026-05-30 17:30"),
        ("+45m", "2026-05-30 16:45"),
        ("om en time", "2026-05-30 17:00"),
        ("om 30 min", "2026-05-30 16:30"),
        ("nå", "2026-05-30 16:00"),
        ("31.05 07:30", "2026-05-31 07:30"),
        ("2026-06-01 09:00", "2026-06-01 09:00"),
    ],
)
def test_times_as_an_operator_types_them(text: str, local: str) -> None:
    assert entry.exact_time(entry.parse_time(text, NOW, OSLO), OSLO) == local


@pytest.mark.parametrize("text", ["snart", "25:00", "31.02 10:00", "+", "om lenge", ""])
def test_a_time_that_is_not_one_is_refused_with_the_examples(text: str) -> None:
    with pytest.raises(ValidationError, match=r"bruk f\.eks\. 18:00, i morgen 08:00, \+2t, nå"):
        entry.parse_time(text, NOW, OSLO)


def test_an_exact_time_reads_back_unchanged_whenever_it_is_read() -> None:
    when = entry.parse_time("+2t", NOW, OSLO)
    later = datetime(2026, 5, 30, 15, 0, tzinfo=UTC)
    assert entry.parse_time(entry.exact_time(when, OSLO), later, OSLO) == when


def test_a_form_gets_every_error_at_once_by_field() -> None:
    checked = entry.check(
        Kind.SITREP,
        {"report_no": "to", "situation": "Telefoni nede.", "next_report": "om lenge", "needs": ""},
        to="OSL",
        priority="VIKTIG",
        ref="",
        nodes=NODES,
        now=NOW,
        zone=OSLO,
    )
    assert set(checked.errors) == {"report_no", "next_report", "actions_taken", "needs", "to", "priority"}
    assert checked.values["situation"] == "Telefoni nede."
    assert "ukjent node OSL" in str(checked.errors["to"])


def test_a_good_form_is_ready_for_the_message() -> None:
    checked = entry.check(
        Kind.STATUS,
        {"STRØM": "RØD: Vik sentrum", "VANN": "GRØNN", "note": ""},
        to="kriseleder@MOD",
        priority="haster",
        ref="",
        nodes=NODES,
        now=NOW,
        zone=OSLO,
    )
    assert checked.ok and checked.priority is Priority.HASTER and str(checked.address) == "kriseleder@MOD"
    rows = checked.values["rows"]
    assert isinstance(rows, tuple) and [r.function.value for r in rows] == ["STRØM", "VANN"]


def test_a_reply_needs_its_reference() -> None:
    checked = entry.check(Kind.KVITTERING, {"level": "LEST"}, to="MOD", priority="RUTINE", ref="", nodes=NODES, now=NOW)
    assert list(checked.errors) == ["ref"]


def test_the_cost_on_air_of_a_long_message_is_more_than_one_packet() -> None:
    assert entry.cost(b"x" * 100, 7).packets == 1
    assert entry.cost(b"x" * 400, 7).packets == 2


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("situation", "situation"),
        ("situasjon", "situation"),
        ("Situasjon", "situation"),
        ("rapport nr", "report_no"),
        ("rapport_nr", "report_no"),
        ("Tiltak-iverksatt", "actions_taken"),
        ("farge", None),
    ],
)
def test_a_field_is_named_by_its_key_or_its_norwegian_label(typed: str, key: str | None) -> None:
    assert entry.field_key(Kind.SITREP, typed) == key


def test_status_names_its_functions_when_a_field_is_unknown() -> None:
    checked = entry.check_fields(Kind.STATUS, {"FOO": "GRØNN", "strøm": "GUL"}, NOW, OSLO)
    assert str(checked.errors["FOO"]) == (
        "STATUS har ikke feltet 'FOO' (felter: STRØM, VANN, AVLØP, MOBIL, INTERNETT, NØDNETT, VEI, HELSE, IKT, "
        "DRIVSTOFF, merknad (note))"
    )
    assert set(checked.errors) == {"FOO"}  # STRØM, typed in lower case, is a row


def test_every_missing_field_is_named_in_one_refusal_with_label_and_key() -> None:
    checked = entry.check_fields(Kind.BISTAND, {"resource": "Aggregat", "quantity": "mange"}, NOW, OSLO)
    missing = "oppdrag (task), oppmøtested (location), tidsrom (window), kontakt (contact)"
    assert str(entry.refusal(Kind.BISTAND, checked.errors)) == (
        f"quantity (Antall): forventet et heltall, fikk 'mange'; BISTAND mangler: {missing}"
    )
    assert str(entry.refusal(Kind.BISTAND, checked.errors, "en")) == (
        f"quantity (Antall): expected a whole number, got 'mange'; BISTAND is missing: {missing}"
    )


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("+2h", "kl 18:00 30.05.2026"),
        ("Snarest, innen +2t", "Snarest, innen kl 18:00 30.05.2026"),
        ("Vi ringer om en time.", "Vi ringer kl 17:00 30.05.2026."),
        (
            "Fra kl 16 til 18, om 30 min er vi der",
            "Fra kl 16 til 18, om 30 min er vi der".replace("om 30 min", "kl 16:30 30.05.2026"),
        ),
        ("Kommer om en tur", "Kommer om en tur"),  # not a time
        ("Kapasitet 2+2t", "Kapasitet 2+2t"),  # not a relative time: part of a word
    ],
)
def test_a_relative_time_in_free_text_is_written_as_the_clock_time_it_meant(text: str, written: str) -> None:
    assert entry.absolute_times(text, NOW, OSLO) == written
    checked = entry.check_fields(Kind.BISTAND, {"window": text}, NOW, OSLO, require=False)
    assert checked.values["window"] == written


def test_a_receipt_of_a_nod_goes_at_haster() -> None:
    assert [entry.receipt_priority(p) for p in Priority] == [
        Priority.HASTER,
        Priority.HASTER,
        Priority.RUTINE,
        Priority.RUTINE,
    ]


def test_english_priorities_are_aliases() -> None:
    assert [Priority.parse(p) for p in ("URGENT", "emergency", "Priority", "ROUTINE")] == [
        Priority.HASTER,
        Priority.NOD,
        Priority.PRIORITET,
        Priority.RUTINE,
    ]
