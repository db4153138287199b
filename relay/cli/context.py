"""What every command shares: the node's home, the interface language, output helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

if TYPE_CHECKING:  # the store and the keys load when a command needs them: --help stays fast
    from relay.edge.home import Home

try:
    LOCAL_TZ: ZoneInfo | None = ZoneInfo("Europe/Oslo")
except ZoneInfoNotFoundError:  # a Pi without tzdata shows UTC, labelled as such
    LOCAL_TZ = None

# Documented exit codes (README, "Exit codes").
EXIT_OK = 0
EXIT_ERROR = 1  # bad input, unknown id, missing roster, corrupt config: one line on stderr
EXIT_USAGE = 1  # click: unknown option or missing argument, now one «Feil:» line too


@dataclass
class Settings:
    home: Path
    lang: str  # "nb" or "en"


def settings() -> Settings:
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_object(Settings) if ctx is not None else None
    if obj is None:
        from relay.edge.paths import default_home

        obj = Settings(default_home(), detect_lang(None))
    return obj


def home() -> Home:
    from relay.edge.home import Home

    return Home(settings().home)


def detect_lang(option: str | None) -> str:
    if option:
        return "en" if option.lower().startswith("en") else "nb"
    from relay.texts import node_lang

    return node_lang()


def tr(nb: str, en: str) -> str:
    """Interface text: Norwegian bokmål unless --lang en / LANG=en*."""
    return en if settings().lang == "en" else nb


def local(value: datetime) -> str:
    """A UTC time as the staff reads it: Norwegian local time, or UTC where tzdata is missing."""
    if LOCAL_TZ is None:
        return value.astimezone(UTC).strftime("%d.%m %H:%M UTC")
    return value.astimezone(LOCAL_TZ).strftime("%d.%m %H:%M")


def dated(value: datetime) -> str:
    """A UTC time with its year, for what is filed or signed: «29.05.2026 14:00»."""
    if LOCAL_TZ is None:
        return value.astimezone(UTC).strftime("%d.%m.%Y %H:%M UTC")
    return value.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M")


def _wall_clock() -> datetime:
    return datetime.now(UTC)


clock: Callable[[], datetime] = _wall_clock  # tests replace this to fix the time


def now() -> datetime:
    return clock()


def warn_damaged(count: int) -> None:
    """One line on stderr when rows of the store would not decode (they are skipped)."""
    if count:
        click.echo(
            tr(
                f"Advarsel: {count} melding(er) i lageret er skadet og vises ikke; kjør «relay doctor»",
                f"Warning: {count} message(s) in the store are damaged and not shown; run «relay doctor»",
            ),
            err=True,
        )
