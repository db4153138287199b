"""The message model as typed, immutable, validated objects.

A ``Message`` is created through ``Message.create`` (which validates and
normalises) or by the wire decoder.  Field values are ``str``, ``int``,
``bool``, ``datetime`` (UTC), an enum member, or, for STATUS, a tuple of
``StatusRow``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from relay.core.kinds import (
    SCHEMAS,
    Answer,
    FieldSpec,
    FieldType,
    Function,
    InfoState,
    Kind,
    KindSpec,
    Level,
    ReceiptLevel,
    RumourState,
    StatusRow,
    Value,
    parse_enum,
)
from relay.errors import ValidationError

MAX_TEXT_CHARS = 2000  # all free text of one message; 16 fragments carry about 3.5 KB
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
TIME_BITS = 24  # minutes since EPOCH: good until 2055
MAX_SEQ = (1 << 32) - 1
NOTICE_BYTES = 80  # a roster authority's revocation notice (``roster.Revocation``)
NODE_ID_RE = re.compile(r"^[A-Z][A-Z0-9]{1,7}$")


class Priority(Enum):
    """Ordered: a lower ``rank`` goes first."""

    NOD = "NØD"
    HASTER = "HASTER"
    PRIORITET = "PRIORITET"
    RUTINE = "RUTINE"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)

    @property
    def target_seconds(self) -> int:
        return {"NØD": 600, "HASTER": 1800, "PRIORITET": 3 * 3600, "RUTINE": 6 * 3600}[self.value]

    @classmethod
    def parse(cls, text: str) -> Priority:
        """A priority by its Norwegian name, or by its English one (``--lang en``: URGENT is HASTER)."""
        alias = _PRIORITY_EN.get(text.strip().upper())
        return alias if alias is not None else parse_enum(cls, text, "prioritet")


_PRIORITY_EN = {
    "EMERGENCY": Priority.NOD,
    "DISTRESS": Priority.NOD,
    "URGENT": Priority.HASTER,
    "PRIORITY": Priority.PRIORITET,
    "ROUTINE": Priority.RUTINE,
}


# --- addressing --------------------------------------------------------------

GROUPS: tuple[str, ...] = ("ALLE", "KOMMUNER")
ROLES: tuple[str, ...] = (
    "kriseleder",
    "loggfører",
    "info",
    "eps",
    "beredskap",
    "kommunedirektør",
    "ordfører",
    "kommuneoverlege",
    "teknisk",
    "helse",
    "brann",
    "politi",
)


@dataclass(frozen=True, slots=True)
class Address:
    """ALLE, a group, a node, or role@node."""

    group: str | None = None
    node: str | None = None
    role: str | None = None

    @classmethod
    def parse(cls, text: str) -> Address:
        raw = text.strip()
        if "@" in raw:
            role, _, node = raw.partition("@")
            return cls(node=_node_id(node), role=_role(role))
        upper = raw.upper()
        if upper in GROUPS:
            return cls(group=upper)
        return cls(node=_node_id(upper))

    def __str__(self) -> str:
        if self.group:
            return self.group
        if self.role:
            return f"{self.role}@{self.node}"
        return str(self.node)

    def nodes(self) -> tuple[str, ...]:
        """Node ids named explicitly (for roster checks); groups name none."""
        return (self.node,) if self.node else ()


ALL = Address(group="ALLE")


def _node_id(text: str) -> str:
    node = text.strip().upper()
    if not NODE_ID_RE.match(node):
        raise ValidationError(code="bad_node_id", text=text)
    return node


def _role(text: str) -> str:
    role = text.strip().lower()
    if role not in ROLES:
        raise ValidationError(code="unknown_role", text=text, valid=", ".join(ROLES))
    return role


@dataclass(frozen=True, slots=True, order=True)
class MessageRef:
    """A reference to another message: origin node and sequence, quoted as MOD-0007."""

    origin: str
    seq: int

    @classmethod
    def parse(cls, text: str) -> MessageRef:
        m = re.match(r"^\s*([A-Za-z][A-Za-z0-9]{1,7})-(\d{1,10})\s*$", text)
        if not m:
            raise ValidationError(code="bad_message_id", text=text)
        seq = int(m.group(2))
        if not 1 <= seq <= MAX_SEQ:
            raise ValidationError(code="bad_seq_in", text=text)
        return cls(m.group(1).upper(), seq)

    def __str__(self) -> str:
        return f"{self.origin}-{self.seq:04d}"


# --- the message --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """One signed unit of traffic.  ``(origin, seq)`` names it: MOD-0007."""

    kind: Kind
    origin: str
    seq: int
    created: datetime
    priority: Priority
    exercise: bool
    to: Address
    fields: tuple[tuple[str, Value], ...]
    sender_role: str | None = None
    incident: str | None = None
    expires: datetime | None = None
    ref: MessageRef | None = None
    approved_by: str | None = None
    clock_synced: bool = True

    @property
    def id(self) -> str:
        return str(MessageRef(self.origin, self.seq))

    @property
    def spec(self) -> KindSpec:
        return SCHEMAS[self.kind]

    def get(self, name: str) -> Value | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None

    @property
    def field_map(self) -> dict[str, Value]:
        return dict(self.fields)

    @property
    def main_text(self) -> str:
        name = self.spec.main_text
        value = self.get(name) if name else None
        return value if isinstance(value, str) else ""

    @property
    def status_label(self) -> str:
        return "ØVELSE" if self.exercise else "REELL"

    @classmethod
    def create(
        cls,
        *,
        kind: Kind,
        origin: str,
        seq: int,
        created: datetime,
        fields: Mapping[str, object],
        priority: Priority = Priority.RUTINE,
        exercise: bool = False,
        to: Address = ALL,
        sender_role: str | None = None,
        incident: str | None = None,
        expires: datetime | None = None,
        ref: MessageRef | None = None,
        approved_by: str | None = None,
        clock_synced: bool = True,
    ) -> Message:
        """Validate and normalise; raise ValidationError with a clear reason."""
        spec = SCHEMAS[kind]
        created = _minute(created, "opprettet")
        for name in fields:
            spec.field(name)
        normalised: list[tuple[str, Value]] = []
        for fspec in spec.fields:
            value = _normalise(fspec, fields.get(fspec.name), created)
            if value is None:
                if not fspec.optional:
                    raise ValidationError(code="field_missing", kind=kind.value, name=fspec.name, label=fspec.label)
                continue
            normalised.append((fspec.name, value))
        if spec.needs_ref and ref is None:
            raise ValidationError(code="needs_ref", kind=kind.value)
        msg = cls(
            kind=kind,
            origin=_node_id(origin),
            seq=_seq(seq),
            created=created,
            priority=priority,
            exercise=exercise,
            to=to,
            fields=tuple(normalised),
            sender_role=_role(sender_role) if sender_role else None,
            incident=(_text(incident, "hendelse") or None) if incident else None,
            expires=_minute(expires, "gyldig til") if expires else None,
            ref=MessageRef(_node_id(ref.origin), _seq(ref.seq)) if ref else None,
            approved_by=(_text(approved_by, "godkjent av") or None) if approved_by else None,
            clock_synced=clock_synced,
        )
        if msg.expires is not None and msg.expires < msg.created:
            raise ValidationError(code="expires_before_created")
        total = text_chars(msg)
        if total > MAX_TEXT_CHARS:
            raise ValidationError(code="text_too_long", total=total, limit=MAX_TEXT_CHARS)
        return msg


def text_chars(msg: Message) -> int:
    """Characters of free text in a message, the quantity MAX_TEXT_CHARS bounds."""
    return sum(len(t) for t in texts_of(msg))


def texts_of(msg: Message) -> list[str]:
    """Every free-text value in wire order (envelope first, then fields)."""
    out = [t for t in (msg.incident, msg.approved_by) if t]
    for _, value in msg.fields:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, tuple):
            out.extend(row.note for row in value if row.note)
    return out


def _seq(seq: int) -> int:
    if not 1 <= seq <= MAX_SEQ:
        raise ValidationError(code="bad_seq", seq=seq)
    return seq


def _minute(value: datetime, label: str) -> datetime:
    if value.tzinfo is None:
        raise ValidationError(code="time_without_zone", label=label)
    value = value.astimezone(UTC).replace(second=0, microsecond=0)
    minutes = (value - EPOCH) // timedelta(minutes=1)
    if not 0 <= minutes < 1 << TIME_BITS:
        raise ValidationError(code="time_out_of_range", label=label, time=f"{value:%Y-%m-%d %H:%M}")
    return value


def minutes_since_epoch(value: datetime) -> int:
    return (value - EPOCH) // timedelta(minutes=1)


def from_minutes(minutes: int) -> datetime:
    return EPOCH + timedelta(minutes=minutes)


def _text(value: object, label: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(code="expected_text", label=label)
    text = unicodedata.normalize("NFC", value).strip()
    for ch in text:
        if ch in "\n\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            raise ValidationError(code="bad_character", label=label, char=f"U+{ord(ch):04X}")
    return text


def normalise_field(spec: FieldSpec, value: object, created: datetime) -> Value | None:
    """One field's value as ``Message.create`` keeps it; raise ValidationError if it cannot be."""
    return _normalise(spec, value, created)


def _normalise(spec: FieldSpec, value: object, created: datetime) -> Value | None:
    if value is None:
        return None
    label = f"{spec.name} ({spec.label})"
    if spec.form is FieldType.TEXT:
        return _text(value, label) or None
    if spec.form is FieldType.INT:
        try:
            number = int(str(value))
        except (TypeError, ValueError):
            raise ValidationError(code="expected_integer", label=label, value=value) from None
        if isinstance(value, bool) or not 0 <= number < 1 << 31:
            raise ValidationError(code="bad_number", label=label, value=value)
        return number
    if spec.form is FieldType.BOOL:
        if isinstance(value, bool):
            return value
        folded = str(value).strip().lower()
        if folded in ("ja", "j", "yes", "true", "1"):
            return True
        if folded in ("nei", "n", "no", "false", "0"):
            return False
        raise ValidationError(code="expected_yes_no", label=label, value=value)
    if spec.form is FieldType.TIME:
        if not isinstance(value, datetime):
            raise ValidationError(code="expected_time", label=label)
        return _minute(value, label)
    if spec.form is FieldType.ENUM:
        assert spec.enum is not None
        if isinstance(value, spec.enum):
            return value
        return parse_enum(spec.enum, str(value), label)
    if spec.form is FieldType.NOTICE:
        if not isinstance(value, bytes) or len(value) != NOTICE_BYTES:
            raise ValidationError(code="expected_notice", label=label, size=NOTICE_BYTES)
        return value
    return _rows(value, created)


def _rows(value: object, created: datetime) -> tuple[StatusRow, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise ValidationError(code="status_empty")
    seen: set[Function] = set()
    rows = []
    for row in value:
        if not isinstance(row, StatusRow):
            raise ValidationError(code="status_bad_row")
        if row.function in seen:
            raise ValidationError(code="status_twice", function=row.function.value)
        seen.add(row.function)
        note = _text(row.note, row.function.value) if row.note else None
        eta = _minute(row.eta_restore, "forventet gjenopprettet") if row.eta_restore else None
        rows.append(StatusRow(row.function, row.level, note or None, eta))
    rows.sort(key=lambda r: list(Function).index(r.function))
    return tuple(rows)


# The kinds and their fields live in relay.core.kinds; these names stay importable from here.
__all__ = [
    "ALL",
    "SCHEMAS",
    "Address",
    "Answer",
    "FieldSpec",
    "FieldType",
    "Function",
    "InfoState",
    "Kind",
    "KindSpec",
    "Level",
    "Message",
    "MessageRef",
    "Priority",
    "ReceiptLevel",
    "RumourState",
    "StatusRow",
    "Value",
    "normalise_field",
    "parse_enum",
]
