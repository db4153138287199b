"""The kinds of message and what each holds: the field specifications of wire format 1.

``SCHEMAS`` names, for every ``Kind``, its fields in wire order with their
types and Norwegian labels; ``relay.core.model`` validates a message against
it and ``relay.core.wire`` encodes the fields in that order.  The enums here
are parsed the way an operator types them (``parse_enum``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TypeVar

from relay.errors import ValidationError

E = TypeVar("E", bound=Enum)


def _fold(text: str) -> str:
    return text.strip().upper().replace("Ø", "O").replace("Å", "A").replace("Æ", "AE").replace("_", " ")


def parse_enum(cls: type[E], text: str, label: str, *, error_word: str = "ugyldig", hidden: Collection[E] = ()) -> E:
    """Parse an enum value the way an operator types it (case, ø/o, å/a folded).

    The error lists the valid values, leaving out ``hidden`` ones."""
    wanted = _fold(text)
    for member in cls:
        if _fold(member.value) == wanted:
            return member
    names = ", ".join(m.value for m in cls if m not in hidden)
    code = "unknown_value" if error_word == "ukjent" else "invalid_value"
    raise ValidationError(code=code, label=label, text=text, valid=names)


class Kind(Enum):
    SITREP = "SITREP"
    STATUS = "STATUS"
    BISTAND = "BISTAND"
    BISTANDSSVAR = "BISTANDSSVAR"
    KVITTERING = "KVITTERING"
    VARSEL = "VARSEL"
    MOTE = "MØTE"
    INFO = "INFO"
    RYKTE = "RYKTE"
    BESLUTNING = "BESLUTNING"
    MELDING = "MELDING"
    ROSTER = "ROSTER"  # the authority's revocation of a key, carried by any node

    @classmethod
    def parse(cls, text: str) -> Kind:
        # ROSTER is left out of the error's list: «relay roster» writes it, not an operator.
        return parse_enum(cls, text, "meldingstype", error_word="ukjent", hidden=(cls.ROSTER,))


class Function(Enum):
    STROM = "STRØM"
    VANN = "VANN"
    AVLOP = "AVLØP"
    MOBIL = "MOBIL"
    INTERNETT = "INTERNETT"
    NODNETT = "NØDNETT"
    VEI = "VEI"
    HELSE = "HELSE"
    IKT = "IKT"
    DRIVSTOFF = "DRIVSTOFF"

    @classmethod
    def parse(cls, text: str) -> Function:
        return parse_enum(cls, text, "funksjon")


class Level(Enum):
    GRONN = "GRØNN"
    GUL = "GUL"
    ROD = "RØD"
    UKJENT = "UKJENT"

    @classmethod
    def parse(cls, text: str) -> Level:
        return parse_enum(cls, text, "nivå")


class Answer(Enum):
    INNVILGET = "INNVILGET"
    DELVIS = "DELVIS"
    AVSLATT = "AVSLÅTT"
    VIDERESENDT = "VIDERESENDT"


class ReceiptLevel(Enum):
    MOTTATT = "MOTTATT"
    LEST = "LEST"
    UTFORT = "UTFØRT"


class InfoState(Enum):
    UTKAST = "UTKAST"
    TIL_GODKJENNING = "TIL GODKJENNING"
    GODKJENT = "GODKJENT"
    PUBLISERT = "PUBLISERT"


class RumourState(Enum):
    AVKREFTET = "AVKREFTET"
    BEKREFTET = "BEKREFTET"
    UAVKLART = "UAVKLART"


class FieldType(Enum):
    TEXT = "text"
    INT = "int"
    BOOL = "bool"
    TIME = "time"
    ENUM = "enum"
    ROWS = "rows"  # STATUS rows
    NOTICE = "notice"  # ``model.NOTICE_BYTES`` signed by the roster authority


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    label: str  # Norwegian label shown to the operator
    form: FieldType
    optional: bool = False
    enum: type[Enum] | None = None


@dataclass(frozen=True, slots=True)
class KindSpec:
    kind: Kind
    label: str
    fields: tuple[FieldSpec, ...]
    main_text: str | None  # the field that `text` fills and that lists show
    needs_ref: bool = False

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        known = ", ".join(f.name for f in self.fields)
        raise ValidationError(code="no_such_field", kind=self.kind.value, name=name, known=known)


def _text_field(name: str, label: str, optional: bool = False) -> FieldSpec:
    return FieldSpec(name, label, FieldType.TEXT, optional)


def _int_field(name: str, label: str, optional: bool = False) -> FieldSpec:
    return FieldSpec(name, label, FieldType.INT, optional)


def _time_field(name: str, label: str, optional: bool = False) -> FieldSpec:
    return FieldSpec(name, label, FieldType.TIME, optional)


def _enum_field(name: str, label: str, enum: type[Enum], optional: bool = False) -> FieldSpec:
    return FieldSpec(name, label, FieldType.ENUM, optional, enum)


# The order of kinds and of fields is part of wire format 1: append, never reorder.
SCHEMAS: dict[Kind, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(
            Kind.SITREP,
            "Situasjonsrapport",
            (
                _int_field("report_no", "Rapport nr"),
                _text_field("period", "Periode", True),
                _text_field("situation", "Situasjon"),
                _text_field("consequences", "Konsekvenser", True),
                _text_field("actions_taken", "Tiltak iverksatt"),
                _text_field("planned", "Planlagte tiltak", True),
                _text_field("needs", "Behov"),
                _text_field("assessment", "Vurdering", True),
                _text_field("public_info", "Informasjon til publikum", True),
                _time_field("next_report", "Neste rapport"),
                _int_field("eps_count", "Antall på EPS", True),
            ),
            "situation",
        ),
        KindSpec(
            Kind.STATUS,
            "Kritiske funksjoner",
            (FieldSpec("rows", "Funksjoner", FieldType.ROWS), _text_field("note", "Merknad", True)),
            "note",
        ),
        KindSpec(
            Kind.BISTAND,
            "Anmodning om bistand",
            (
                _text_field("resource", "Ressurs"),
                _int_field("quantity", "Antall"),
                _text_field("task", "Oppdrag"),
                _text_field("location", "Oppmøtested"),
                _text_field("window", "Tidsrom"),
                _text_field("contact", "Kontakt"),
                _text_field("substitutes", "Alternativer", True),
                _text_field("cost_basis", "Kostnadsdekning", True),
            ),
            "task",
        ),
        KindSpec(
            Kind.BISTANDSSVAR,
            "Svar på bistand",
            (
                _enum_field("answer", "Svar", Answer),
                _text_field("offer", "Tilbud"),
                _time_field("eta", "Ankomst"),
                _text_field("contact", "Kontakt"),
                _text_field("conditions", "Vilkår", True),
            ),
            "offer",
            needs_ref=True,
        ),
        KindSpec(Kind.KVITTERING, "Kvittering", (_enum_field("level", "Nivå", ReceiptLevel),), None, needs_ref=True),
        KindSpec(
            Kind.VARSEL,
            "Varsel",
            (
                _text_field("topic", "Tema"),
                _text_field("validity", "Gyldighet"),
                _text_field("actions", "Tiltak"),
                FieldSpec("ack_required", "Krever kvittering", FieldType.BOOL),
            ),
            "topic",
        ),
        KindSpec(
            Kind.MOTE,
            "Møte",
            (
                _time_field("time", "Tidspunkt"),
                _text_field("medium", "Sted/medium"),
                _text_field("participants", "Deltakere"),
                _text_field("agenda", "Agenda"),
                _time_field("input_deadline", "Frist for innspill", True),
            ),
            "agenda",
        ),
        KindSpec(
            Kind.INFO,
            "Publikumsinformasjon",
            (
                _text_field("message", "Melding"),
                _text_field("audience", "Målgruppe"),
                _text_field("channel", "Kanal"),
                _time_field("publish_at", "Publiseres"),
                _enum_field("state", "Tilstand", InfoState),
            ),
            "message",
        ),
        KindSpec(
            Kind.RYKTE,
            "Rykte",
            (
                _text_field("claim", "Påstand"),
                _text_field("where_when", "Hvor og når"),
                _text_field("facts", "Fakta"),
                _text_field("response", "Anbefalt svar"),
                _enum_field("state", "Tilstand", RumourState),
            ),
            "claim",
        ),
        KindSpec(
            Kind.BESLUTNING,
            "Beslutning",
            (
                _text_field("decision", "Beslutning"),
                _text_field("responsible", "Ansvarlig"),
                _time_field("effective", "Iverksettes"),
            ),
            "decision",
        ),
        KindSpec(Kind.MELDING, "Melding", (_text_field("subject", "Emne", True), _text_field("text", "Tekst")), "text"),
        KindSpec(
            Kind.ROSTER,
            "Tilbakekalt nøkkel",
            (
                FieldSpec("notice", "Tilbakekalling", FieldType.NOTICE),
                _text_field("node", "Node"),
                _text_field("reason", "Årsak", True),
            ),
            "reason",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class StatusRow:
    function: Function
    level: Level
    note: str | None = None
    eta_restore: datetime | None = None


Value = str | int | bool | datetime | Enum | tuple[StatusRow, ...] | bytes
