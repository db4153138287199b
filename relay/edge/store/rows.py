"""What the store hands out: its rows, decoded, and what it raises."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from relay.core.model import Message
from relay.core.wire import peek
from relay.errors import DecodeError

# What a damaged row can make the decoder raise: the store's rows skip the
# signature check and the length bounds that guard bytes from the air.
DAMAGE = (DecodeError, ValueError, IndexError, KeyError, OverflowError)


@dataclass(frozen=True)
class Stored:
    """One row of the log, with its decoded message."""

    message: Message
    wire: bytes
    digest: str
    key_id: int
    received_at: datetime
    local: bool
    conflict: bool
    transmitted_at: datetime | None
    read_at: datetime | None

    @property
    def id(self) -> str:
        return self.message.id


@dataclass(frozen=True)
class Quarantined:
    """A row taken out of the log: damaged, or void by a revocation.  Kept, never
    served, never shown as a message; ``relay doctor`` lists them."""

    origin: str
    seq: int
    digest: str
    reason: str  # damaged | mismatch | bad_signature | revoked
    at: datetime


@dataclass(frozen=True)
class Receipt:
    origin: str
    seq: int
    node: str
    level: str
    at: datetime


def to_iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


# The columns the store derives from a message's blob (its digest aside: the hash of
# the blob).  ``Store.insert`` writes them from ``derived``; ``Store.check`` compares
# each row's with what its blob decodes to, since the sync and the operator trust them.
DERIVED = ("origin", "seq", "key_id", "kind", "priority", "exercise", "created", "ref")


def derived(message: Message, key_id: int) -> dict[str, object]:
    """``DERIVED`` of ``message`` (signed with ``key_id``), as the store writes them."""
    return {
        "origin": message.origin,
        "seq": message.seq,
        "key_id": key_id,
        "kind": message.kind.value,
        "priority": message.priority.rank,
        "exercise": int(message.exercise),
        "created": to_iso(message.created),
        "ref": str(message.ref) if message.ref else None,
    }


def from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# What the store raises when SQLite fails (a full disk: ``is_full``), for callers
# that must not import sqlite3: the store is the one module that speaks SQL.
StoreError = sqlite3.Error


def is_full(exc: BaseException) -> bool:
    """Is ``exc`` SQLite's SQLITE_FULL, "database or disk is full"?"""
    if not isinstance(exc, sqlite3.Error):
        return False
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(exc).lower()


# The columns of a message row, in the order ``Store.bulk_load`` takes them.
BULK_COLUMNS = (
    "origin",
    "seq",
    "digest",
    "key_id",
    "kind",
    "priority",
    "exercise",
    "created",
    "received_at",
    "wire",
    "local",
    "conflict",
    "transmitted_at",
    "read_at",
    "ref",
)


def header_is(data: bytes, seq: int, key_id: object) -> bool:
    """Does the blob's header name ``seq`` and ``key_id``, as its row's columns do?  The
    cheap check (a few bytes read) before a row is served: never answer a request for
    one number with another's bytes."""
    try:
        head = peek(data)
    except DAMAGE:
        return False
    return head.seq == seq and head.key_id == key_id
