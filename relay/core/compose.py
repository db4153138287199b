"""Build a Message from what a person or a scenario file gives: text plus fields.

``text`` fills the kind's main free-text field; the other required fields take
the defaults below unless given.  Used by the simulator's ``send`` events and
by the CLI, so a scripted message and a typed one are built the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from relay.core.model import (
    ALL,
    SCHEMAS,
    Address,
    Function,
    Kind,
    Level,
    Message,
    MessageRef,
    Priority,
    StatusRow,
)
from relay.errors import ValidationError


def defaults(kind: Kind, created: datetime) -> dict[str, object]:
    """Values for required fields a scripted message may leave out."""
    hour = timedelta(hours=1)
    table: dict[Kind, dict[str, object]] = {
        Kind.SITREP: {
            "report_no": 1,
            "actions_taken": "Ingen nye tiltak.",
            "needs": "Ingen.",
            "next_report": created + 3 * hour,
        },
        Kind.STATUS: {"rows": [StatusRow(f, Level.UKJENT) for f in Function]},
        Kind.BISTAND: {
            "resource": "Personell",
            "quantity": 1,
            "location": "Rådhuset",
            "window": "Snarest",
            "contact": "Kriseleder",
        },
        Kind.BISTANDSSVAR: {"answer": "INNVILGET", "eta": created + 2 * hour, "contact": "Kriseleder"},
        Kind.KVITTERING: {"level": "MOTTATT"},
        Kind.VARSEL: {"validity": "Inntil videre", "actions": "Se tema.", "ack_required": False},
        Kind.MOTE: {"time": created + hour, "medium": "Rådhuset", "participants": "Kriseledelsen"},
        Kind.INFO: {
            "audience": "Innbyggere",
            "channel": "Plakat og FM-radio",
            "publish_at": created,
            "state": "UTKAST",
        },
        Kind.RYKTE: {
            "where_when": "Sosiale medier",
            "facts": "Under avklaring.",
            "response": "Følg kommunens informasjon.",
            "state": "UAVKLART",
        },
        Kind.BESLUTNING: {"responsible": "Kriseleder", "effective": created},
        Kind.MELDING: {},
        Kind.ROSTER: {},
    }
    return dict(table[kind])


def status_rows(value: object) -> list[StatusRow]:
    """STATUS rows from a mapping such as {"STRØM": "GRØNN", "VEI": "GUL: Fv 287 stengt"}."""
    if isinstance(value, (list, tuple)) and all(isinstance(r, StatusRow) for r in value):
        return list(value)
    if not isinstance(value, Mapping):
        raise ValidationError(code="status_rows_form")
    rows = []
    for name, spec in value.items():
        level, _, note = str(spec).partition(":")
        rows.append(
            StatusRow(
                Function.parse(str(name)),
                Level.parse(level),
                note.strip() or None,
            )
        )
    return rows


def compose(
    kind: Kind,
    origin: str,
    seq: int,
    created: datetime,
    *,
    text: str | None = None,
    fields: Mapping[str, object] | None = None,
    priority: Priority = Priority.RUTINE,
    exercise: bool = False,
    to: Address = ALL,
    ref: MessageRef | None = None,
    fill_defaults: bool = True,
    **envelope: object,
) -> Message:
    spec = SCHEMAS[kind]
    values: dict[str, object] = defaults(kind, created) if fill_defaults else {}
    if text is not None:
        if spec.main_text is None:
            raise ValidationError(code="no_text_field", kind=kind.value)
        values[spec.main_text] = text
    values.update(fields or {})
    if "rows" in values:
        values["rows"] = status_rows(values["rows"])
    return Message.create(
        kind=kind,
        origin=origin,
        seq=seq,
        created=created,
        fields=values,
        priority=priority,
        exercise=exercise,
        to=to,
        ref=ref,
        **envelope,  # type: ignore[arg-type]
    )
