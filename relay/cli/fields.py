"""Turning what an operator types into field values, and field values back into text."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from enum import Enum

from relay.cli.context import LOCAL_TZ, local
from relay.core import entry
from relay.core.model import FieldSpec, Value


def parse_time(text: str, now: datetime) -> datetime:
    """A time as an operator types it ('18:00', 'i morgen 08:00', '+2t', 'nå'), read in Norwegian
    local time: relay.core.entry's, the desk's too."""
    return entry.parse_time(text, now, LOCAL_TZ or UTC)


def parse_value(spec: FieldSpec, text: str, now: datetime) -> object:
    """One field from text; STATUS rows come through relay.core.compose.status_rows."""
    return entry.parse_value(spec.form, text, now, LOCAL_TZ or UTC)


def label(spec: FieldSpec, lang: str) -> str:
    """A field's name as the operator reads it: its Norwegian label, or the desk's English one."""
    if lang != "en":
        return spec.label
    from relay.desk.forms import HELP

    return HELP.get(spec.name, (spec.label, "", ""))[0]


def show_value(value: Value) -> str:
    from relay.cli.context import tr

    if isinstance(value, bool):
        return tr("ja", "yes") if value else tr("nei", "no")
    if isinstance(value, datetime):
        return local(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bytes):
        return tr(
            f"{len(value)} byte, signert av rosterautoriteten", f"{len(value)} bytes, signed by the roster authority"
        )
    if isinstance(value, tuple):
        return "; ".join(
            f"{row.function.value} {row.level.value}"
            + (f" ({row.note})" if row.note else "")
            + (
                tr(f", ventes {local(row.eta_restore)}", f", expected {local(row.eta_restore)}")
                if row.eta_restore
                else ""
            )
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
