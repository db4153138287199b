"""Wire format 1: one message, one canonical byte string, signed.

Layout and byte budget (typical SITREP from s01: ~10 + ~105 + 64 bytes)::

    header, bit-packed, zero-padded to a byte      ~8-12 bytes
      (the first eight fields, through the sequence number, are HEADER_LAYOUT)
      4  format version (1)
      4  dictionary id (which text model coded the text)
      4  kind            2  priority       1  exercise (ØVELSE)   1  clock synced
     16  sender key id (roster names the node)
     EG6 sequence number (7 bits below 64, 9 below 192, ...)
     24  created, minutes since 2024-01-01 UTC
      2+ addressee: group(2) | node(id) | role(4)+node(id)
      5  flags: sender role, incident, expires, ref, approved_by
     ..  flagged envelope values, then the kind's fields per SCHEMAS
    text stream, range-coded with the dictionary        ~2.5-3 bits/char
    Ed25519 signature over context + everything above  64 bytes

Node ids cost 3 bits of length plus 6 bits a character; times inside a
message are deltas from ``created`` in minutes (signed Exp-Golomb).  Optional
fields cost one presence bit; text is in the stream only when present.
Decoding re-encodes and compares, so exactly one byte string is accepted for
each message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from relay.core.airtime import MAX_FRAGMENTS, MAX_MESSAGE_BYTES  # not frames: the CLI starts faster
from relay.core.bits import BitReader, BitWriter
from relay.core.model import (
    GROUPS,
    MAX_TEXT_CHARS,
    NOTICE_BYTES,
    ROLES,
    SCHEMAS,
    TIME_BITS,
    Address,
    FieldSpec,
    FieldType,
    Function,
    Kind,
    Level,
    Message,
    MessageRef,
    Priority,
    StatusRow,
    Value,
    from_minutes,
    minutes_since_epoch,
    texts_of,
)
from relay.core.nodeid import read_node, write_node
from relay.core.roster import Roster
from relay.core.signing import KEY_ID_BITS, MESSAGE_CONTEXT, SIGNATURE_BYTES, Signer, verify
from relay.core.textmodel import TextModel
from relay.errors import DecodeError, ValidationError, VerificationError

FORMAT_VERSION = 1
MIN_HEADER_BYTES = 8
MAX_WIRE_BYTES = 4096  # far above what 16 fragments carry; bounds hostile input
SEQ_K = 6
INT_K = 3
DELTA_K = 6
KINDS = tuple(Kind)
PRIORITIES = tuple(Priority)
FUNCTIONS = list(Function)
LEVELS = list(Level)


@dataclass(frozen=True)
class Dictionary:
    """A text model pinned to the id that names it on the wire."""

    id: int
    name: str
    model: TextModel


@dataclass(frozen=True)
class SignedMessage:
    """A message with its canonical signed bytes; only ``encode``/``decode`` make one."""

    message: Message
    wire: bytes
    key_id: int

    @property
    def digest(self) -> str:
        """Hex SHA-256 of the wire bytes: tells apart two messages with one id."""
        return hashlib.sha256(self.wire).hexdigest()


@dataclass(frozen=True)
class Peek:
    """What can be read from a message's first bytes without a roster."""

    key_id: int
    seq: int
    kind: Kind
    priority: Priority


# --- the header ---------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """The fields every message starts with, in wire order (``HEADER_LAYOUT``)."""

    version: int
    dictionary: int
    kind: Kind
    priority: Priority
    exercise: bool
    clock_synced: bool
    key_id: int
    seq: int


@dataclass(frozen=True)
class _Slot:
    """One header field: ``bits`` wide, or an Exp-Golomb code of order ``golomb_k``."""

    name: str
    bits: int = 0
    golomb_k: int | None = None
    choices: tuple[Any, ...] = ()  # an enum field travels as its index in these
    flag: bool = False  # a bool field travels as one bit


# The header layout, the one place that states it: the ``Header`` fields in wire order.
HEADER_LAYOUT = (
    _Slot("version", 4),
    _Slot("dictionary", 4),
    _Slot("kind", 4, choices=KINDS),
    _Slot("priority", 2, choices=PRIORITIES),
    _Slot("exercise", 1, flag=True),
    _Slot("clock_synced", 1, flag=True),
    _Slot("key_id", KEY_ID_BITS),
    _Slot("seq", golomb_k=SEQ_K),
)


def _write_header(w: BitWriter, header: Header) -> None:
    for slot in HEADER_LAYOUT:
        value = getattr(header, slot.name)
        raw = slot.choices.index(value) if slot.choices else int(value)
        if slot.golomb_k is None:
            w.write(raw, slot.bits)
        else:
            w.write_golomb(raw, slot.golomb_k)


def _read_header(r: BitReader) -> Header:
    """Read the header, checking each field as it comes (the version before anything else)."""
    values: dict[str, Any] = {}
    for slot in HEADER_LAYOUT:
        raw = r.read(slot.bits) if slot.golomb_k is None else r.read_golomb(slot.golomb_k)
        if slot.name == "version" and raw != FORMAT_VERSION:
            raise DecodeError(f"unsupported format version {raw}", "unsupported_version")
        if slot.choices and raw >= len(slot.choices):
            raise DecodeError(f"unknown {slot.name}", "malformed")
        values[slot.name] = slot.choices[raw] if slot.choices else bool(raw) if slot.flag else raw
    return Header(**values)


def _peek_header(data: bytes) -> Header:
    return _read_header(BitReader(data[: MIN_HEADER_BYTES + 8]))


def _dictionary(dictionaries: Mapping[int, Dictionary], header: Header) -> Dictionary:
    dictionary = dictionaries.get(header.dictionary)
    if dictionary is None:
        raise DecodeError(f"unknown dictionary {header.dictionary}", "unknown_dictionary")
    return dictionary


# --- messages -----------------------------------------------------------------


def encode(msg: Message, signer: Signer, dictionary: Dictionary) -> SignedMessage:
    body = encode_body(msg, signer.key_id, dictionary)
    if len(body) + SIGNATURE_BYTES > MAX_MESSAGE_BYTES:
        raise ValidationError(
            code="message_too_large", size=len(body) + SIGNATURE_BYTES, limit=MAX_MESSAGE_BYTES, packets=MAX_FRAGMENTS
        )
    wire = body + signer.sign(MESSAGE_CONTEXT + body)
    return SignedMessage(msg, wire, signer.key_id)


def encode_body(msg: Message, kid: int, dictionary: Dictionary) -> bytes:
    w = BitWriter()
    header = Header(FORMAT_VERSION, dictionary.id, msg.kind, msg.priority, msg.exercise, msg.clock_synced, kid, msg.seq)
    _write_header(w, header)
    created = minutes_since_epoch(msg.created)
    w.write(created, TIME_BITS)
    _write_address(w, msg.to)
    for flag in (msg.sender_role, msg.incident, msg.expires, msg.ref, msg.approved_by):
        w.write_bool(flag is not None)
    if msg.sender_role is not None:
        w.write(ROLES.index(msg.sender_role), 4)
    if msg.expires is not None:
        w.write_golomb(minutes_since_epoch(msg.expires) - created, DELTA_K)
    if msg.ref is not None:
        write_node(w, msg.ref.origin)
        w.write_golomb(msg.ref.seq, SEQ_K)
    values = msg.field_map
    for spec in SCHEMAS[msg.kind].fields:
        _write_field(w, spec, values.get(spec.name), created)
    return w.to_bytes() + dictionary.model.encode(texts_of(msg))


def peek(data: bytes) -> Peek:
    """Read key id, sequence, kind and priority; raise DecodeError if impossible."""
    header = _peek_header(data)
    return Peek(header.key_id, header.seq, header.kind, header.priority)


def decode(data: bytes, roster: Roster, dictionaries: Mapping[int, Dictionary]) -> SignedMessage:
    """Verify and decode; return a SignedMessage or raise DecodeError (or its subclass)."""
    if len(data) < MIN_HEADER_BYTES + SIGNATURE_BYTES:
        raise DecodeError("message too short", "truncated")
    if len(data) > MAX_WIRE_BYTES:
        raise DecodeError("message too long", "too_long")
    head = _peek_header(data)
    dictionary = _dictionary(dictionaries, head)
    entry = roster.key_entry(head.key_id)
    body, signature = data[:-SIGNATURE_BYTES], data[-SIGNATURE_BYTES:]
    if not verify(entry.public_key, signature, MESSAGE_CONTEXT + body):
        raise DecodeError(f"signature from {entry.node_id} does not verify", "bad_signature")
    msg = _decode_body(body, entry.node_id, dictionary)
    if encode_body(msg, head.key_id, dictionary) != body:
        raise DecodeError("message is not in canonical form", "non_canonical")
    if entry.voids(msg.created, msg.seq):
        raise VerificationError(f"{msg.id}: signed with {entry.node_id}'s key after it was revoked", "revoked")
    return SignedMessage(msg, bytes(data), head.key_id)


def _decode_body(body: bytes, origin: str, dictionary: Dictionary) -> Message:
    r = BitReader(body)
    header = _read_header(r)
    created_min = r.read(TIME_BITS)
    created = from_minutes(created_min)
    to = _read_address(r)
    has_role, has_incident, has_expires, has_ref, has_approved = (r.read_bool() for _ in range(5))
    sender_role = _read_index(r, ROLES, 4) if has_role else None
    expires = _minutes(created_min + r.read_golomb(DELTA_K)) if has_expires else None
    ref = MessageRef(read_node(r), r.read_golomb(SEQ_K)) if has_ref else None
    slots: list[tuple[str, Any]] = []
    text_count = int(has_incident) + int(has_approved)
    for spec in SCHEMAS[header.kind].fields:
        value, n_texts = _read_field(r, spec, created_min)
        slots.append((spec.name, value))
        text_count += n_texts
    r.expect_zero_padding()
    texts = iter(dictionary.model.decode(body[r.byte_position :], text_count, MAX_TEXT_CHARS))
    incident = next(texts) if has_incident else None
    approved_by = next(texts) if has_approved else None
    fields: dict[str, object] = {}
    for name, value in slots:
        if value is _TEXT:
            value = next(texts)
        elif isinstance(value, list):
            value = [StatusRow(f, lvl, next(texts) if note else None, eta) for f, lvl, note, eta in value]
        if value is not None:
            fields[name] = value
    try:
        return Message.create(
            kind=header.kind,
            origin=origin,
            seq=header.seq,
            created=created,
            fields=fields,
            priority=header.priority,
            exercise=header.exercise,
            to=to,
            sender_role=sender_role,
            incident=incident,
            expires=expires,
            ref=ref,
            approved_by=approved_by,
            clock_synced=header.clock_synced,
        )
    except ValidationError as exc:
        raise DecodeError(f"invalid content: {exc}", "invalid_content") from None


# --- fields -------------------------------------------------------------------

_TEXT = object()  # placeholder for a text value that lives in the stream


def _write_field(w: BitWriter, spec: FieldSpec, value: Value | None, created: int) -> None:
    if spec.form is FieldType.BOOL:
        w.write_bool(bool(value))
        return
    if spec.form is FieldType.ROWS:
        _write_rows(w, value, created)  # type: ignore[arg-type]
        return
    if spec.optional:
        w.write_bool(value is not None)
    if value is None or spec.form is FieldType.TEXT:
        return
    if spec.form is FieldType.NOTICE:
        assert isinstance(value, bytes)
        for byte in value:
            w.write(byte, 8)
    elif spec.form is FieldType.INT:
        w.write_golomb(value, INT_K)  # type: ignore[arg-type]
    elif spec.form is FieldType.TIME:
        w.write_signed_golomb(minutes_since_epoch(value) - created, DELTA_K)  # type: ignore[arg-type]
    elif spec.form is FieldType.ENUM:
        assert spec.enum is not None
        members = list(spec.enum)
        w.write(members.index(value), _width(members))  # type: ignore[arg-type]


def _read_field(r: BitReader, spec: FieldSpec, created: int) -> tuple[Any, int]:
    """Return (value or placeholder, number of texts this field has in the stream)."""
    if spec.form is FieldType.BOOL:
        return r.read_bool(), 0
    if spec.form is FieldType.ROWS:
        rows = _read_rows(r, created)
        return rows, sum(1 for row in rows if row[2])
    if spec.optional and not r.read_bool():
        return None, 0
    if spec.form is FieldType.TEXT:
        return _TEXT, 1
    if spec.form is FieldType.NOTICE:
        return bytes(r.read(8) for _ in range(NOTICE_BYTES)), 0
    if spec.form is FieldType.INT:
        return r.read_golomb(INT_K), 0
    if spec.form is FieldType.TIME:
        return _minutes(created + r.read_signed_golomb(DELTA_K)), 0
    assert spec.enum is not None
    members: list[Enum] = list(spec.enum)
    return _read_index(r, members, _width(members)), 0


def _write_rows(w: BitWriter, rows: tuple[StatusRow, ...], created: int) -> None:
    present = {row.function: row for row in rows}
    for function in FUNCTIONS:
        w.write_bool(function in present)
    for row in rows:
        w.write(LEVELS.index(row.level), 2)
        w.write_bool(row.note is not None)
        w.write_bool(row.eta_restore is not None)
        if row.eta_restore is not None:
            w.write_signed_golomb(minutes_since_epoch(row.eta_restore) - created, DELTA_K)


def _read_rows(r: BitReader, created: int) -> list[tuple[Function, Level, bool, datetime | None]]:
    functions = [f for f in FUNCTIONS if r.read_bool()]
    rows = []
    for function in functions:
        level = LEVELS[r.read(2)]
        has_note = r.read_bool()
        eta = _minutes(created + r.read_signed_golomb(DELTA_K)) if r.read_bool() else None
        rows.append((function, level, has_note, eta))
    return rows


def _minutes(value: int) -> datetime:
    if not 0 <= value < 1 << TIME_BITS:
        raise DecodeError("time out of range", "malformed")
    return from_minutes(value)


def _width(members: list[Any]) -> int:
    return max(1, (len(members) - 1).bit_length())


def _read_index(r: BitReader, items: Any, bits: int) -> Any:
    index = r.read(bits)
    if index >= len(items):
        raise DecodeError("enumeration value out of range", "malformed")
    return items[index]


# --- addresses and node ids ---------------------------------------------------


def _write_address(w: BitWriter, to: Address) -> None:
    if to.group is not None:
        w.write(0, 2)
        w.write(GROUPS.index(to.group), 2)
    elif to.role is None:
        w.write(1, 2)
        write_node(w, str(to.node))
    else:
        w.write(2, 2)
        w.write(ROLES.index(to.role), 4)
        write_node(w, str(to.node))


def _read_address(r: BitReader) -> Address:
    form = r.read(2)
    if form == 0:
        return Address(group=_read_index(r, GROUPS, 2))
    if form == 1:
        return Address(node=read_node(r))
    if form == 2:
        role = _read_index(r, ROLES, 4)
        return Address(node=read_node(r), role=role)
    raise DecodeError("unknown address form", "malformed")


def parse_verified(data: bytes, origin: str, dictionaries: Mapping[int, Dictionary]) -> Message:
    """Decode bytes that verified when they were stored (no roster needed now).

    Only for the store's own rows: a key revoked later must not make the log
    unreadable.  Bytes from anywhere else go through ``decode``.
    """
    dictionary = _dictionary(dictionaries, _peek_header(data))
    return _decode_body(data[:-SIGNATURE_BYTES], origin, dictionary)
