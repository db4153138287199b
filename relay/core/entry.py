"""What an operator types, checked: times, fields, addressee, priority, reference, and the cost on air.

Pure and shared: ``relay send`` (the CLI) and ``relay desk`` (the browser) both
turn text into field values here, so a form and a command line accept the
same input and refuse it with the same words.  ``check`` collects every error
at once, by field name, so a form can show them all beside their fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TypeVar

from relay.core.kinds import SCHEMAS, FieldType, Function, Kind, Level, StatusRow
from relay.core.model import Address, MessageRef, Priority, normalise_field
from relay.errors import RelayError, ValidationError

_CLOCK = re.compile(r"^(?:kl\.?\s*)?(\d{1,2})[:.](\d{2})$", re.I)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})$")
_NORDIC = re.compile(r"^(\d{1,2})\.(\d{1,2})\.?(?:(\d{4}))?\s+(?:kl\.?\s*)?(\d{1,2})[:.](\d{2})$", re.I)
_OFFSET = re.compile(r"^\+\s*(?:(\d+)\s*[ht])?\s*(?:(\d+)\s*m(?:in)?)?$", re.I)
_IN = re.compile(r"^om\s+(\d+|en|ett|ei)\s*(t|time|timer|h|m|min|minutt|minutter)$", re.I)
_DAY = re.compile(r"^(i\s*dag|i\s*morgen|today|tomorrow)\s+(?:kl\.?\s*)?(\d{1,2})[:.](\d{2})$", re.I)
_NOW = ("nå", "na", "now", "straks")
LATE_GRACE = timedelta(hours=2)  # a bare clock time this far in the past still means today


def parse_time(text: str, now: datetime, zone: tzinfo = UTC) -> datetime:
    """'18:00', 'kl 18.00', 'i morgen 08:00', '30.05 07:30', '2026-05-30 07:30', '+2t', '+2h',
    '+30m', 'om 2 timer', 'nå' -> UTC.  Clock times are read in ``zone`` (the staff's).

    A bare clock time means the next such time, unless it was less than two
    hours ago (a report that is a little late is still "18:00 today").
    """
    raw = " ".join(text.strip().split())
    here = now.astimezone(zone)
    if raw.lower() in _NOW:
        return now
    if m := _OFFSET.match(raw):
        if any(m.groups()):
            return now + timedelta(hours=int(m.group(1) or 0), minutes=int(m.group(2) or 0))
    elif m := _IN.match(raw):
        count = 1 if m.group(1).isalpha() else int(m.group(1))
        unit = timedelta(minutes=1) if m.group(2).lower().startswith("m") else timedelta(hours=1)
        return now + count * unit
    try:
        if m := _CLOCK.match(raw):
            candidate = here.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0, microsecond=0)
            if candidate < here - LATE_GRACE:
                candidate += timedelta(days=1)
            return candidate.astimezone(UTC)
        if m := _DAY.match(raw):
            days = 0 if m.group(1).lower().replace(" ", "") in ("idag", "today") else 1
            day = here.date() + timedelta(days=days)
            local = datetime(day.year, day.month, day.day, int(m.group(2)), int(m.group(3)), tzinfo=zone)
            return local.astimezone(UTC)
        if m := _DATE.match(raw):
            y, mo, d, h, mi = (int(g) for g in m.groups())
            return datetime(y, mo, d, h, mi, tzinfo=zone).astimezone(UTC)
        if m := _NORDIC.match(raw):
            d, mo = int(m.group(1)), int(m.group(2))
            y = int(m.group(3)) if m.group(3) else here.year
            return datetime(y, mo, d, int(m.group(4)), int(m.group(5)), tzinfo=zone).astimezone(UTC)
    except ValueError:
        pass
    raise ValidationError(code="bad_time", text=text)


def exact_time(value: datetime, zone: tzinfo = UTC) -> str:
    """A time written so that ``parse_time`` reads it back unchanged, whenever it is read."""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def parse_value(spec_form: FieldType, text: str, now: datetime, zone: tzinfo = UTC) -> object:
    """One field's typed text: a time becomes a UTC ``datetime``; the rest stays text for
    ``Message.create`` to parse (ints, booleans, enums)."""
    if spec_form is FieldType.TIME:
        return parse_time(text, now, zone)
    return text


def status_rows(rows: Mapping[str, str]) -> tuple[StatusRow, ...]:
    """STATUS rows from {"STRØM": "GRØNN", "VEI": "GUL: Fv 287 stengt"}."""
    out = []
    for name, spec in rows.items():
        level, _, note = spec.partition(":")
        out.append(StatusRow(Function.parse(name), Level.parse(level), note.strip() or None))
    return tuple(out)


def is_function(name: str) -> bool:
    """Is ``name`` a critical function (a STATUS row), as an operator may type it?"""
    try:
        Function.parse(name)
    except ValidationError:
        return False
    return True


def _plain(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").casefold().split())


def field_key(kind: Kind, typed: str) -> str | None:
    """The key of the field an operator named by its key (``situation``) or its Norwegian label
    (``situasjon``, ``Rapport nr``, ``rapport_nr``); a STATUS function stays as typed.  None: no such field."""
    spec = SCHEMAS[kind]
    if kind is Kind.STATUS and is_function(typed):
        return typed
    plain = _plain(typed)
    for fspec in spec.fields:
        if plain in (_plain(fspec.name), _plain(fspec.label)):
            return fspec.name
    return None


def known_fields(kind: Kind) -> str:
    """What ``--field`` takes for ``kind``: each field as «label (key)»; for STATUS its functions first."""
    spec = SCHEMAS[kind]
    named = [f"{f.label.lower()} ({f.name})" for f in spec.fields if f.form is not FieldType.ROWS]
    if kind is Kind.STATUS:
        named = [f.value for f in Function] + named
    return ", ".join(named)


def refusal(kind: Kind, errors: Mapping[str, RelayError], lang: str = "nb") -> RelayError:
    """Every error of a form in one: the fields that are missing named together, with their
    Norwegian labels and keys, then each bad one."""
    missing = [e for e in errors.values() if e.code == "field_missing"]
    parts = [e.render(lang) for e in errors.values() if e.code != "field_missing"]
    if missing:
        names = ", ".join(f"{str(e.params['label']).lower()} ({e.params['name']})" for e in missing)
        parts.append(ValidationError(code="fields_missing", kind=kind.value, names=names).render(lang))
    return ValidationError("; ".join(parts))


_RELATIVE_IN_TEXT = re.compile(
    r"(?<![\w+])(?:\+\s*\d+\s*(?:t|h|timer?|m|min)\b|om\s+(?:\d+|en|ett|ei)\s*"
    r"(?:timer|time|t|h|minutter|minutt|min|m)\b)",
    re.I,
)


def absolute_times(text: str, now: datetime, zone: tzinfo = UTC) -> str:
    """A relative time in free text («om 2 timer», «+2h») written as the clock time it meant
    («kl 16:00 29.05.2026»): the receiver reads the text later, and from another clock."""

    def written(match: re.Match[str]) -> str:
        try:
            when = parse_time(match.group(0), now, zone)
        except ValidationError:
            return match.group(0)
        return when.astimezone(zone).strftime("kl %H:%M %d.%m.%Y")

    return _RELATIVE_IN_TEXT.sub(written, text)


@dataclass(frozen=True)
class Checked:
    """The values of a form, ready for ``Message.create``, and every error by field name."""

    values: dict[str, object]
    errors: dict[str, RelayError] = field(default_factory=dict)
    address: Address | None = None
    priority: Priority | None = None
    ref: MessageRef | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def check_fields(
    kind: Kind, raw: Mapping[str, str], now: datetime, zone: tzinfo = UTC, require: bool = True
) -> Checked:
    """Every field of ``kind`` from its typed text; empty text is no value.  A missing required
    field is an error only when ``require`` (an interactive CLI asks for it instead)."""
    spec = SCHEMAS[kind]
    values: dict[str, object] = {}
    errors: dict[str, RelayError] = {}
    rows = {k: v for k, v in raw.items() if kind is Kind.STATUS and is_function(k) and v.strip()}
    for name in raw:
        if field_key(kind, name) is None:
            errors[name] = ValidationError(code="no_such_field", kind=kind.value, name=name, known=known_fields(kind))
    typed = {key: text for name, text in raw.items() if (key := field_key(kind, name)) is not None}
    for fspec in spec.fields:
        text = typed.get(fspec.name, "")
        try:
            if fspec.form is FieldType.ROWS:
                value: object = status_rows(rows) if rows else None
            elif fspec.form is FieldType.TEXT and text.strip():
                value = absolute_times(text, now, zone)
            else:
                value = parse_value(fspec.form, text, now, zone) if text.strip() else None
            normal = normalise_field(fspec, value, now) if value is not None else None
        except ValidationError as exc:
            errors[fspec.name] = exc
            continue
        if normal is not None:
            values[fspec.name] = normal
        elif require and not fspec.optional:
            errors[fspec.name] = ValidationError(
                code="field_missing", kind=kind.value, name=fspec.name, label=fspec.label
            )
    return Checked(values, errors)


def check_address(text: str, nodes: Sequence[str]) -> Address:
    """An addressee that names only nodes of the roster."""
    address = Address.parse(text)
    for node in address.nodes():
        if node not in nodes:
            raise ValidationError(code="unknown_node", node=node, nodes=", ".join(nodes))
    return address


def check(
    kind: Kind,
    raw: Mapping[str, str],
    *,
    to: str,
    priority: str,
    ref: str,
    nodes: Sequence[str],
    now: datetime,
    zone: tzinfo = UTC,
) -> Checked:
    """A whole form: its fields, addressee, priority and reference, every error at once."""
    checked = check_fields(kind, raw, now, zone)
    errors = dict(checked.errors)
    address = _attempt(errors, "to", lambda: check_address(to, nodes))
    level = _attempt(errors, "priority", lambda: Priority.parse(priority))
    reference = None
    if ref.strip():
        reference = _attempt(errors, "ref", lambda: MessageRef.parse(ref))
    elif SCHEMAS[kind].needs_ref:
        errors["ref"] = ValidationError(code="needs_ref", kind=kind.value)
    return Checked(checked.values, errors, address, level, reference)


T = TypeVar("T")


def _attempt(errors: dict[str, RelayError], name: str, parse: Callable[[], T]) -> T | None:
    try:
        return parse()
    except ValidationError as exc:
        errors[name] = exc
        return None


def receipt_priority(original: Priority) -> Priority:
    """A receipt for a NØD or HASTER goes at HASTER, any other at RUTINE.

    Not NØD: NØD's airtime is reserved for life and health, and a receipt saves no
    one; at HASTER it still goes before all PRIORITET and RUTINE traffic."""
    return Priority.HASTER if original.rank <= 1 else Priority.RUTINE


@dataclass(frozen=True, slots=True)
class Cost:
    """What one signed message costs on air (LONG_FAST)."""

    size: int  # bytes of the signed message
    packets: int
    airtime_s: float


def cost(wire: bytes, key_id: int) -> Cost:
    """The packets and airtime of ``wire``, framed as the daemon will send it."""
    from relay.core import frames  # here, not at import: reading commands never frame
    from relay.core.airtime import packet_airtime

    pieces = frames.split(wire, key_id, 1)
    return Cost(len(wire), len(pieces), sum(packet_airtime(len(p)) for p in pieces))
