"""``relay send`` on a terminal: the dialogue that asks for what is missing and asks again for
what is wrong, keeping every answer, and the terminal's drafts (``relay send --resume``).

What was typed is kept as text, exactly as the desk keeps a form (``relay.core.entry``
checks both): the field keys (or STATUS functions), ``to``, ``priority`` and ``ref``.
Ctrl-C or «nei» leaves it as a draft in the node's ``desk.db``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click

from relay.cli.context import LOCAL_TZ, dated, home, now, tr
from relay.core import entry
from relay.core.kinds import SCHEMAS, FieldSpec, FieldType, Function, Kind, Level
from relay.core.model import Priority
from relay.errors import LocalError, RelayError

DRAFT_USER = "relay send"  # the terminal's drafts; a desk account is one word, so never this one
ENVELOPE = ("to", "priority", "ref")


@dataclass
class Typed:
    """One message being written: its kind and what was typed, field by field."""

    kind: Kind
    data: dict[str, str] = field(default_factory=dict)
    draft: int | None = None

    def fields(self) -> dict[str, str]:
        return {k: v for k, v in self.data.items() if k not in ENVELOPE}


def save(typed: Typed) -> int:
    """Keep what was typed (the same draft again if it has one)."""
    store = home().desk()
    try:
        typed.draft = store.save_draft(DRAFT_USER, typed.kind.value, typed.data, now(), typed.draft)
    finally:
        store.close()
    return typed.draft


def resume() -> Typed:
    """The newest draft left by ``relay send``."""
    h = home()
    found = []
    if (h.path / "desk.db").exists():
        store = h.desk()
        try:
            found = store.drafts(DRAFT_USER)
        finally:
            store.close()
    if not found:
        raise LocalError(tr("ingen utkast å fortsette", "no draft to resume"))
    draft = found[0]
    return Typed(Kind.parse(draft.kind), dict(draft.data), draft.id)


def drop(typed: Typed) -> None:
    if typed.draft is not None:
        store = home().desk()
        try:
            store.drop_draft(DRAFT_USER, typed.draft)
        finally:
            store.close()


def saved_line(typed: Typed) -> str:
    return tr(
        f"Utkastet er lagret ({typed.kind.value}): fortsett med «relay send --resume».",
        f"The draft is kept ({typed.kind.value}): continue with «relay send --resume».",
    )


# --- the dialogue ------------------------------------------------------------------


def _ask(question: str, default: str | None = None) -> str:
    answer: str = click.prompt(question, default=default if default is not None else "", show_default=False)
    return answer.strip() or (default or "")


def _until(question: str, check: Callable[[str], Any], default: str | None = None) -> str:
    """Ask until ``check`` takes the answer; say why each time it does not."""
    while True:
        answer = _ask(question, default)
        try:
            check(answer)
        except RelayError as exc:
            click.echo(f"  {_render(exc)}")
            continue
        return answer


def _render(exc: RelayError) -> str:
    from relay.cli.context import settings

    return exc.render(settings().lang)


def _time_hint() -> str:
    return tr(" (f.eks. 18:00, +2t, i morgen 08:00, nå)", " (e.g. 18:00, +2h, i morgen 08:00, nå)")


def _question(spec: FieldSpec) -> str:
    hint = ""
    if spec.form is FieldType.ENUM and spec.enum is not None:
        hint = " (" + "/".join(str(m.value) for m in spec.enum) + ")"
    elif spec.form is FieldType.TIME:
        hint = _time_hint()
    elif spec.form is FieldType.BOOL:
        hint = " (ja/nei)"
    from relay.cli.context import settings
    from relay.cli.fields import label

    return f"{label(spec, settings().lang)}{hint}{tr(' [valgfritt]', ' [optional]') if spec.optional else ''}"


def _field_error(typed: Typed, name: str, text: str) -> RelayError | None:
    """The error of one field alone, as the whole form's check would give it."""
    zone = LOCAL_TZ or UTC
    spec = SCHEMAS[typed.kind].field(name)
    checked = entry.check_fields(typed.kind, {name: text}, now(), zone, require=not spec.optional)
    return checked.errors.get(name)


def _ask_field(typed: Typed, spec: FieldSpec) -> None:
    def check(text: str) -> None:
        if error := _field_error(typed, spec.name, text):
            raise error

    typed.data[spec.name] = _until(_question(spec), check)  # kept even empty: an optional field asked once


def _ask_rows(typed: Typed) -> None:
    click.echo(
        tr(
            "Kritiske funksjoner: GRØNN, GUL, RØD eller UKJENT (Enter: ikke rapportert).",
            "Critical functions: GRØNN, GUL, RØD or UKJENT (Enter: not reported).",
        )
    )
    for function in Function:
        if function.value in typed.data:
            continue
        level = _until(f"  {function.value}", lambda text: Level.parse(text) if text else None)
        if not level:
            continue
        typed.data[function.value] = level
        note = _ask(tr("    merknad", "    note"))
        if note:
            typed.data[function.value] = f"{level}: {note}"


def _has_rows(typed: Typed) -> bool:
    return any(entry.is_function(name) for name in typed.data)


def ask(typed: Typed, nodes: tuple[str, ...]) -> entry.Checked:
    """Ask for the priority, the addressee and every field not yet typed, each again until it
    is right; then check the whole message and ask again for what it still refuses."""
    if "priority" not in typed.data:
        question = tr("Prioritet (NØD/HASTER/PRIORITET/RUTINE)", "Priority (NØD/HASTER/PRIORITET/RUTINE)")
        typed.data["priority"] = _until(question, Priority.parse, "RUTINE")
    if "to" not in typed.data:
        choices = ", ".join(("ALLE", "KOMMUNER", *nodes))
        typed.data["to"] = _until(
            tr(f"Til ({choices} eller rolle@node)", f"To ({choices} or role@node)"),
            lambda text: entry.check_address(text, nodes),
            "ALLE",
        )
    for spec in SCHEMAS[typed.kind].fields:
        if spec.form is FieldType.ROWS:
            if not _has_rows(typed):
                _ask_rows(typed)
        elif spec.name not in typed.data:
            _ask_field(typed, spec)
    while True:
        checked = check(typed, nodes)
        if checked.ok:
            return checked
        for name, error in checked.errors.items():
            click.echo(f"{_render(error)}")
            if name == "priority":
                typed.data["priority"] = _until(tr("Prioritet", "Priority"), Priority.parse, "RUTINE")
            elif name == "to":
                typed.data["to"] = _until(tr("Til", "To"), lambda text: entry.check_address(text, nodes), "ALLE")
            elif name == "ref":
                typed.data["ref"] = _until(tr("Referanse (f.eks. HOL-0003)", "Reference (e.g. HOL-0003)"), str)
            elif name == "rows":
                _ask_rows(typed)
            elif (key := entry.field_key(typed.kind, name)) is not None:
                typed.data.pop(name, None)
                _ask_field(typed, SCHEMAS[typed.kind].field(key))
            else:  # a --field this kind does not have
                typed.data.pop(name, None)


def check(typed: Typed, nodes: tuple[str, ...]) -> entry.Checked:
    data = typed.data
    return entry.check(
        typed.kind,
        typed.fields(),
        to=data.get("to", "ALLE"),
        priority=data.get("priority", "RUTINE"),
        ref=data.get("ref", ""),
        nodes=nodes,
        now=now(),
        zone=LOCAL_TZ or UTC,
    )


def preview(typed: Typed, checked: entry.Checked) -> None:
    """Every field as it will be signed, times written out with their date."""
    from relay.cli.context import settings
    from relay.cli.fields import label, show_value

    click.echo(tr("Forhåndsvisning:", "Preview:"))
    level = checked.priority.value if checked.priority else ""
    rows = [(tr("Til", "To"), str(checked.address)), (tr("Prioritet", "Priority"), level)]
    if checked.ref is not None:
        rows.append((tr("Referanse", "Reference"), str(checked.ref)))
    for spec in SCHEMAS[typed.kind].fields:
        value = checked.values.get(spec.name)
        if isinstance(value, datetime):
            rows.append((label(spec, settings().lang), dated(value)))
        elif value is not None:
            rows.append((label(spec, settings().lang), show_value(value)))  # type: ignore[arg-type]
    width = max(len(name) for name, _ in rows)
    for name, shown in rows:
        click.echo(f"  {name + ':':<{width + 1}} {shown}")
