"""Hypothesis strategies for valid messages of every kind.

Messages are built through ``Message.create``, so they are already in the
normalised form that the wire decoder reproduces.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum

from hypothesis import strategies as st

from relay.core.model import (
    ALL,
    EPOCH,
    MAX_SEQ,
    NODE_ID_RE,
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
    from_minutes,
    minutes_since_epoch,
)
from tests.helpers import NODES

MAX_TEXT = 40  # per text value: keeps the largest SITREP of astral letters well below MAX_WIRE_BYTES
MINUTES = 1 << TIME_BITS

WORDS = (
    "Strømbrudd", "Vikersund", "Hønefoss", "kriseledelse", "evakuert", "EPS", "aggregat", "diesel",
    "Situasjon:", "Tiltak:", "Behov:", "kl", "14:30.", "Fv 35", "stengt", "bru", "vannstand", "3,1 m",
    "rådhuset", "nødnett", "Ørneredet", "Åsbygda", "Ærøy", "2 personer", "mottatt", "ok.", "\n", "—",
)  # fmt: skip
NORSK = "abcdefghijklmnopqrstuvwxyzæøåABCDEFGHIJKLMNOPQRSTUVWXYZÆØÅ0123456789 .,:;-/()%\n\t"


def _usable(text: str) -> bool:
    return bool(unicodedata.normalize("NFC", text).strip())


# Free text as Message.create accepts it: any letters, marks, numbers, symbols,
# spaces, format characters and astral code points, newline and tab; never
# control, surrogate, private-use or unassigned characters.
unicode_chars = st.characters(exclude_categories=("Cc", "Cs", "Co", "Cn")) | st.sampled_from("\n\t")
free_text = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join),
    st.text(alphabet=NORSK, min_size=1, max_size=MAX_TEXT),
    st.text(alphabet=unicode_chars, min_size=1, max_size=MAX_TEXT),
).filter(_usable)

origins = st.sampled_from([n for n, _, _ in NODES])
node_ids = st.one_of(st.sampled_from([n for n, _, _ in NODES]), st.from_regex(NODE_ID_RE, fullmatch=True))
roles = st.sampled_from(ROLES)
addresses = st.one_of(
    st.just(ALL),
    st.just(Address(group="KOMMUNER")),
    node_ids.map(lambda n: Address(node=n)),
    st.builds(lambda r, n: Address(node=n, role=r), roles, node_ids),
)
seqs = st.one_of(st.integers(1, 300), st.integers(1, MAX_SEQ))
refs = st.builds(MessageRef, node_ids, seqs)


@st.composite
def created_times(draw: st.DrawFn) -> datetime:
    """Any instant in the wire's 24-bit minute range, in UTC or a Norwegian offset, with seconds."""
    minute = draw(st.one_of(st.integers(0, MINUTES - 1), st.integers(700_000, 800_000)))
    second = draw(st.integers(0, 59))
    zone = draw(st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=2))]))
    return (from_minutes(minute) + timedelta(seconds=second)).astimezone(zone)


def times_near(created: datetime, earliest_delta: int | None = None) -> st.SearchStrategy[datetime]:
    """A time in range, usually within days of ``created``; never before it if ``earliest_delta`` is 0."""
    base = minutes_since_epoch(created.astimezone(UTC).replace(second=0, microsecond=0))
    low = -base if earliest_delta is None else earliest_delta
    high = MINUTES - 1 - base
    near = st.integers(max(low, -3 * 24 * 60), min(high, 7 * 24 * 60))
    return st.one_of(near, st.integers(low, high)).map(lambda d: EPOCH + timedelta(minutes=base + d))


@st.composite
def status_rows(draw: st.DrawFn, created: datetime) -> list[StatusRow]:
    functions = draw(st.lists(st.sampled_from(list(Function)), min_size=1, max_size=len(Function), unique=True))
    return [
        StatusRow(
            f,
            draw(st.sampled_from(list(Level))),
            draw(st.none() | free_text),
            draw(st.none() | times_near(created)),
        )
        for f in functions
    ]


def _value(draw: st.DrawFn, spec: FieldSpec, created: datetime) -> object:
    if spec.form is FieldType.TEXT:
        return draw(free_text)
    if spec.form is FieldType.INT:
        return draw(st.one_of(st.integers(0, 100), st.integers(0, (1 << 31) - 1)))
    if spec.form is FieldType.BOOL:
        return draw(st.booleans())
    if spec.form is FieldType.TIME:
        return draw(times_near(created))
    if spec.form is FieldType.ENUM:
        assert spec.enum is not None
        members: list[Enum] = list(spec.enum)
        return draw(st.sampled_from(members))
    if spec.form is FieldType.NOTICE:
        return draw(st.binary(min_size=NOTICE_BYTES, max_size=NOTICE_BYTES))
    return draw(status_rows(created))


@st.composite
def messages(draw: st.DrawFn, kinds: st.SearchStrategy[Kind] | None = None) -> Message:
    """A valid message of any kind, optional parts present or absent at random.

    The origin is a roster node (the decoder takes the origin from the roster);
    addressees and references use any valid node id.
    """
    kind = draw(kinds if kinds is not None else st.sampled_from(list(Kind)))
    spec = SCHEMAS[kind]
    created = draw(created_times())
    fields = {f.name: _value(draw, f, created) for f in spec.fields if not f.optional or draw(st.booleans())}
    maybe = st.booleans()
    return Message.create(
        kind=kind,
        origin=draw(origins),
        seq=draw(seqs),
        created=created,
        fields=fields,
        priority=draw(st.sampled_from(list(Priority))),
        exercise=draw(maybe),
        to=draw(addresses),
        sender_role=draw(st.none() | roles),
        incident=draw(st.none() | free_text),
        expires=draw(st.none() | times_near(created, earliest_delta=0)),
        ref=draw(refs) if spec.needs_ref else draw(st.none() | refs),
        approved_by=draw(st.none() | free_text),
        clock_synced=draw(maybe),
    )
