"""Turning what an operator types into field values, and field values back into text."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from enum import Enum

from relay.cli.context import LOCAL_TZ, local, tr
from relay.core.model import FieldSpec, FieldType, Value
from relay.errors import ValidationError

_CLOCK = re.compile(r"^(?:kl\.?\s*)?(\d{1,2})[:.](\d{2})$", re.I)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})$")
_NORDIC = re.compile(r"^(\d{1,2})\.(\d{1,2})\.?(?:(\d{4}))?\s+(?:kl\.?\s*)?(\d{1,2})[:.](\d{2})$", re.I)
_OFFSET = re.compile(r"^\+\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?$", re.I)


def parse_time(text: str, now: datetime) -> datetime:
    """'18:00', 'kl 18.00', '30.05 07:30', '2026-05-30 07:30', '+2h', '+30m', 'nå' -> UTC.

    A bare clock time means the next such time, unless it was less than two
    hours ago (a report that is a little late is still "18:00 today").
    """
    raw = text.strip()
    tz = LOCAL_TZ or UTC
    here = now.astimezone(tz)
    if raw.lower() in ("nå", "na", "now", "straks"):
        return now
    if m := _OFFSET.match(raw):
        if not any(m.groups()):
            raise ValidationError(tr(f"ugyldig tidspunkt {text!r}", f"invalid time {text!r}"))
        return now + timedelta(hours=int(m.group(1) or 0), minutes=int(m.group(2) or 0))
    try:
        if m := _CLOCK.match(raw):
            candidate = here.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0, microsecond=0)
            if candidate < here - timedelta(hours=2):
                candidate += timedelta(days=1)
            return candidate.astimezone(UTC)
        if m := _DATE.match(raw):
            y, mo, d, h, mi = (int(g) for g in m.groups())
            return datetime(y, mo, d, h, mi, tzinfo=tz).astimezone(UTC)
        if m := _NORDIC.match(raw):
            d, mo = int(m.group(1)), int(m.group(2))
            y = int(m.group(3)) if m.group(3) else here.year
            return datetime(y, mo, d, int(m.group(4)), int(m.group(5)), tzinfo=tz).astimezone(UTC)
    except ValueError:
        pass
    raise ValidationError(
        tr(
            f"ugyldig tidspunkt {text!r} (bruk f.eks. 18:00, 30.05 07:30, +2h)",
            f"invalid time {text!r} (use e.g. 18:00, 30.05 07:30, +2h)",
        )
    )


def parse_value(spec: FieldSpec, text: str, now: datetime) -> object:
    """One field from text; STATUS rows come through relay.core.compose.status_rows."""
    if spec.form is FieldType.TIME:
        return parse_time(text, now)
    return text  # Message.create parses and validates ints, booleans and enums from text


def show_value(value: Value) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nei"
    if isinstance(value, datetime):
        return local(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bytes):
        return f"{len(value)} byte, signert av rosterautoriteten"
    if isinstance(value, tuple):
        return "; ".join(
            f"{row.function.value} {row.level.value}"
            + (f" ({row.note})" if row.note else "")
            + (f", ventes {local(row.eta_restore)}" if row.eta_restore else "")
            for row in value
        )
    return str(value)


def json_value(value: Value) -> object:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return [
        {
            "function": row.function.value,
            "level": row.level.value,
            "note": row.note,
            "eta_restore": row.eta_restore.isoformat() if row.eta_restore else None,
        }
        for row in value
    ]
