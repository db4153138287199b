"""The desk's forms: one per kind an operator sends, built from the kinds' field specifications.

A form's posted values (``data``: every input by name, as typed) are what a
draft keeps; ``raw_fields`` turns them into the text per field that
``relay.core.entry.check`` takes, the same check ``relay send`` makes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from relay.core import entry
from relay.core.kinds import SCHEMAS, FieldSpec, FieldType, Function, Kind, Level
from relay.core.model import GROUPS, ROLES, Priority

DESK_KINDS = (
    Kind.SITREP,
    Kind.STATUS,
    Kind.BISTAND,
    Kind.BISTANDSSVAR,
    Kind.MELDING,
    Kind.RYKTE,
    Kind.BESLUTNING,
    Kind.KVITTERING,
)
LONG_TEXT = {
    "situation",
    "consequences",
    "actions_taken",
    "planned",
    "needs",
    "assessment",
    "public_info",
    "task",
    "text",
    "claim",
    "facts",
    "response",
    "decision",
    "offer",
    "conditions",
    "note",
}

# name: (English label, help in Norwegian, help in English)
HELP: dict[str, tuple[str, str, str]] = {
    "report_no": ("Report no", "Løpenummer for rapportene deres: 1, 2, 3 …", "Your reports' running number: 1, 2, 3 …"),
    "period": ("Period", "Tidsrommet rapporten dekker, f.eks. 12–16.", "The time the report covers, e.g. 12–16."),
    "situation": (
        "Situation",
        "Hva har skjedd, og hvordan står det til nå?",
        "What happened, and how do things stand?",
    ),
    "consequences": ("Consequences", "For innbyggere, tjenester og ansatte.", "For citizens, services and staff."),
    "actions_taken": ("Actions taken", "Hva dere har gjort.", "What you have done."),
    "planned": ("Planned actions", "Hva dere skal gjøre.", "What you will do."),
    "needs": ("Needs", "Hva dere trenger fra andre. Skriv «Ingen» om ingen.", "What you need from others, or «Ingen»."),
    "assessment": ("Assessment", "Hvordan ventes det å utvikle seg?", "How is it expected to develop?"),
    "public_info": ("Public information", "Hva er sagt til publikum.", "What the public has been told."),
    "next_report": ("Next report", "F.eks. 18:00, +2t, i morgen 08:00.", "E.g. 18:00, +2h, i morgen 08:00."),
    "eps_count": ("People at the EPS", "Antall (ikke navn) på evakuertesenteret.", "A count (no names) at the EPS."),
    "rows": ("Functions", "Velg nivå for hver funksjon dere rapporterer.", "Pick a level for each function."),
    "note": ("Note", "Kort merknad.", "A short note."),
    "resource": ("Resource", "Hva dere trenger, f.eks. IKT-personell.", "What you need, e.g. IT staff."),
    "quantity": ("Quantity", "Antall (heltall).", "How many (a whole number)."),
    "task": ("Task", "Hva ressursen skal gjøre.", "What the resource is to do."),
    "location": ("Location", "Hvor de skal møte.", "Where they report."),
    "window": ("Time window", "Når, f.eks. «i kveld 18–24».", "When, e.g. «tonight 18–24»."),
    "contact": ("Contact", "Rolle eller person å kontakte.", "A role or person to contact."),
    "substitutes": ("Alternatives", "Hva som også kan brukes.", "What else would do."),
    "cost_basis": ("Cost", "Hvem dekker kostnaden.", "Who pays."),
    "answer": ("Answer", "INNVILGET dekker, DELVIS dekker noe, AVSLÅTT ikke.", "INNVILGET covers, DELVIS partly."),
    "offer": ("Offer", "Hva dere tilbyr.", "What you offer."),
    "eta": ("Arrival", "Når det er fremme, f.eks. 17:00 eller +2t.", "When it arrives, e.g. 17:00 or +2h."),
    "conditions": ("Conditions", "Vilkår for tilbudet.", "Conditions of the offer."),
    "level": ("Level", "LEST: lest av en operatør. UTFØRT: gjort.", "LEST: read by an operator. UTFØRT: done."),
    "subject": ("Subject", "Kort emne.", "A short subject."),
    "text": ("Text", "Meldingen. Ingen navn på evakuerte eller pasienter.", "The message. No names of people."),
    "claim": ("Claim", "Hva ryktet sier.", "What the rumour says."),
    "where_when": ("Where and when", "Hvor og når det ble sett.", "Where and when it was seen."),
    "facts": ("Facts", "Hva vi vet.", "What we know."),
    "response": ("Recommended answer", "Hva vi svarer publikum.", "What we tell the public."),
    "state": ("State", "AVKREFTET, BEKREFTET eller UAVKLART.", "Denied, confirmed or unclear."),
    "decision": ("Decision", "Hva er besluttet.", "What was decided."),
    "responsible": ("Responsible", "Hvem følger opp.", "Who follows it up."),
    "effective": ("Effective", "Fra når, f.eks. nå eller 18:00.", "From when, e.g. nå or 18:00."),
}
KIND_EN = {
    Kind.SITREP: "Situation report",
    Kind.STATUS: "Critical functions",
    Kind.BISTAND: "Request for assistance",
    Kind.BISTANDSSVAR: "Answer to a request",
    Kind.MELDING: "Message",
    Kind.RYKTE: "Rumour",
    Kind.BESLUTNING: "Decision",
    Kind.KVITTERING: "Receipt",
}


@dataclass(frozen=True)
class Field:
    """One input of a form, as the template draws it."""

    name: str
    label: str
    help: str
    widget: str  # text | textarea | number | time | select | rows
    required: bool
    choices: tuple[str, ...] = ()


def fields(kind: Kind, lang: str) -> list[Field]:
    """The inputs of ``kind``'s form in wire order, labelled in ``lang``."""
    return [_field(spec, lang) for spec in SCHEMAS[kind].fields]


def _field(spec: FieldSpec, lang: str) -> Field:
    en_label, help_nb, help_en = HELP.get(spec.name, (spec.label, "", ""))
    label = en_label if lang == "en" else spec.label
    hint = help_en if lang == "en" else help_nb
    widget = {
        FieldType.INT: "number",
        FieldType.TIME: "time",
        FieldType.ENUM: "select",
        FieldType.BOOL: "select",
        FieldType.ROWS: "rows",
    }.get(spec.form, "textarea" if spec.name in LONG_TEXT else "text")
    choices: tuple[str, ...] = ()
    if spec.enum is not None:
        choices = tuple(str(m.value) for m in spec.enum if m.value != "MOTTATT")  # MOTTATT is the daemon's
    elif spec.form is FieldType.BOOL:
        choices = ("ja", "nei")
    return Field(spec.name, label, hint, widget, not spec.optional, choices)


def kind_label(kind: Kind, lang: str) -> str:
    return KIND_EN.get(kind, kind.value) if lang == "en" else SCHEMAS[kind].label


def functions() -> tuple[str, ...]:
    return tuple(f.value for f in Function)


def levels() -> tuple[str, ...]:
    return tuple(level.value for level in Level)


def priorities() -> tuple[str, ...]:
    return tuple(p.value for p in Priority)


def addressees(nodes: Mapping[str, str]) -> list[tuple[str, str]]:
    """(value, label) for the addressee picker: the groups, then every node of the roster."""
    return [(g, g) for g in GROUPS] + [(node, f"{node} – {name}") for node, name in nodes.items()]


def roles() -> tuple[str, ...]:
    return ROLES


def address(data: Mapping[str, str]) -> str:
    """The addressee text from the pickers: a node or group, or role@node."""
    to, role = data.get("to", "ALLE").strip(), data.get("role", "").strip()
    return f"{role}@{to}" if role else to


def raw_fields(kind: Kind, data: Mapping[str, str]) -> dict[str, str]:
    """The text per field that ``entry.check`` takes, from a form's inputs (STATUS rows
    as «NIVÅ: merknad», the form ``relay send STATUS --field`` takes)."""
    raw = {
        spec.name: data.get(f"f.{spec.name}", "") for spec in SCHEMAS[kind].fields if spec.form is not FieldType.ROWS
    }
    if kind is Kind.STATUS:
        for function in functions():
            level = data.get(f"row.{function}.level", "").strip()
            note = data.get(f"row.{function}.note", "").strip()
            if level or note:
                raw[function] = f"{level}: {note}" if note else level
    return raw


def check(kind: Kind, data: Mapping[str, str], nodes: tuple[str, ...], now: datetime, zone: tzinfo) -> entry.Checked:
    """Every error of the form at once, by input name (a STATUS row's errors under ``rows``)."""
    return entry.check(
        kind,
        raw_fields(kind, data),
        to=address(data),
        priority=data.get("priority", "RUTINE"),
        ref=data.get("ref", ""),
        nodes=nodes,
        now=now,
        zone=zone,
    )


def exact(kind: Kind, data: Mapping[str, str], checked: entry.Checked, zone: tzinfo) -> dict[str, str]:
    """The inputs with every time written out (``+2t`` becomes ``2026-05-30 18:00``): what the
    preview shows is what is signed, however long the operator looks at it."""
    out = dict(data)
    for spec in SCHEMAS[kind].fields:
        value = checked.values.get(spec.name)
        if spec.form is FieldType.TIME and isinstance(value, datetime):
            out[f"f.{spec.name}"] = entry.exact_time(value, zone)
    return out
