"""Traffic: ``relay send``, ``inbox``, ``show``, ``ack``, ``reply``."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from relay.cli import form
from relay.cli.context import LOCAL_TZ, home, local, now, settings, tr, warn_damaged
from relay.cli.fields import json_value, show_value
from relay.cli.fields import label as field_label
from relay.core import entry
from relay.core.confirm import Confirmation
from relay.core.model import (
    SCHEMAS,
    Kind,
    Message,
    MessageRef,
    Priority,
)
from relay.errors import LocalError, ValidationError

if TYPE_CHECKING:
    from relay.edge.store import Stored

YES = ("j", "ja", "y", "yes", "")


class Declined(LocalError):
    """The operator answered «nei» to the preview: nothing was signed."""


NO = ("n", "nei", "no")


def _confirm(question: str) -> bool:
    """Ja/nei in Norwegian (and English); Enter means yes."""
    while True:
        answer = click.prompt(f"{question} [J/n]", default="", show_default=False).strip().lower()
        if answer in YES:
            return True
        if answer in NO:
            return False
        click.echo(tr("Svar j (ja) eller n (nei).", "Answer y (yes) or n (no)."))


def _interactive() -> bool:
    return sys.stdin.isatty()


def _split_fields(kind: Kind, pairs: tuple[str, ...]) -> dict[str, str]:
    """``--field NAME=VALUE`` pairs by field key; NAME may be the key or the Norwegian label."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationError(
                tr(f"--field må ha formen NAVN=VERDI, fikk {pair!r}", f"--field takes NAME=VALUE, got {pair!r}")
            )
        out[entry.field_key(kind, name.strip()) or name.strip()] = value
    return out


def _checked_or_refused(kind: Kind, raw: dict[str, str], when: datetime) -> dict[str, object]:
    """The fields of a message given all at once: every missing or bad one named in one refusal."""
    checked = entry.check_fields(kind, raw, when, LOCAL_TZ or UTC, require=True)
    if checked.errors:
        raise entry.refusal(kind, checked.errors, settings().lang)
    return dict(checked.values)


def compose_and_commit(
    kind: Kind,
    values: dict[str, object],
    *,
    to: str,
    priority: str,
    exercise: bool | None,
    ref: str | None,
    incident: str | None = None,
    approved_by: str | None = None,
    confirm: bool,
) -> Message:
    """Validate, preview, confirm (on a terminal), sign and commit; return the committed message.

    The checks, the signing and the commit are relay.edge.sending's, which the desk calls too."""
    from relay.daemon import clock_synchronised
    from relay.daemon.clock import clock_skew_text, current_clock_skew
    from relay.edge import sending

    h = home()
    address = entry.check_address(to, h.roster().node_ids)
    when = now()
    skew = current_clock_skew(h, time.time())  # the region's signed summaries say our clock is wrong
    if skew is not None:
        click.echo(tr(*clock_skew_text(*skew)), err=True)
    prepared = sending.prepare(
        h,
        kind,
        values,
        to=address,
        priority=Priority.parse(priority),
        exercise=exercise,
        ref=MessageRef.parse(ref) if ref else None,
        when=when,
        synced=skew is None and clock_synchronised() is not False,  # unknown counts as synced
        incident=incident,
        approved_by=approved_by,
    )
    preview, spent = prepared.message, prepared.cost
    click.echo(
        tr(
            f"{kind.value} til {address}, {preview.priority.value}, {preview.status_label}: "
            f"{spent.size} byte, {spent.packets} pakke(r), {spent.airtime_s:.1f} s sendetid (LONG_FAST)",
            f"{kind.value} to {address}, {preview.priority.value}, {preview.status_label}: "
            f"{spent.size} bytes, {spent.packets} packet(s), {spent.airtime_s:.1f} s airtime (LONG_FAST)",
        )
    )
    if spent.packets > 1:
        click.echo(
            tr(
                f"Advarsel: meldingen trenger {spent.packets} radiopakker. Kortere tekst går raskere og sikrere.",
                f"Warning: the message needs {spent.packets} radio packets. Shorter text is faster and safer.",
            )
        )
    if confirm and not _confirm(tr("Signer og send?", "Sign and send?")):
        raise Declined(tr("ikke sendt", "not sent"))
    signed = sending.commit(h, prepared)
    click.echo(tr(f"{signed.message.id} lagt i utboksen.", f"{signed.message.id} queued in the outbox."))
    return signed.message


@click.command("send")
@click.argument("kind_name", metavar="TYPE", required=False)
@click.option("--to", "to", help="ALLE, KOMMUNER, node (HOL) eller rolle@node (standard: ALLE; spørres på terminal).")
@click.option("--priority", help="NØD, HASTER, PRIORITET eller RUTINE (standard: RUTINE; spørres på terminal).")
@click.option("--exercise/--real", default=None, help="ØVELSE eller REELL (standard: nodens innstilling).")
@click.option("--ref", help="Meldingen denne svarer på, f.eks. MOD-0007.")
@click.option("--text", help="Hovedteksten.")
@click.option("--text-file", type=click.File(encoding="utf-8"), help="Hovedteksten fra fil.")
@click.option(
    "--field", "fields", multiple=True, metavar="NAVN=VERDI", help="Et felt (nøkkel eller norsk navn); kan gjentas."
)
@click.option("--incident", help="Hendelse.")
@click.option("--approved-by", help="Godkjent av, f.eks. kriseleder.")
@click.option("--resume", is_flag=True, help="Fortsett det siste utkastet (etter Ctrl-C eller «nei»).")
@click.option("--yes", "-y", is_flag=True, help="Ikke spør før sending.")
def send(
    kind_name: str | None,
    to: str | None,
    priority: str | None,
    exercise: bool | None,
    ref: str | None,
    text: str | None,
    text_file: object,
    fields: tuple[str, ...],
    incident: str | None,
    approved_by: str | None,
    resume: bool,
    yes: bool,
) -> None:
    """Skriv, signer og legg en melding i utboksen.  TYPE: SITREP, STATUS, BISTAND, …

    På en terminal spør den etter prioritet, mottaker og hvert felt som mangler, viser meldingen
    før den signeres, og lagrer et utkast ved Ctrl-C eller «nei» (fortsett med --resume)."""
    typed = form.resume() if resume else form.Typed(_kind(kind_name))
    if resume and kind_name and Kind.parse(kind_name) is not typed.kind:
        raise LocalError(
            tr(
                f"utkastet er {typed.kind.value}, ikke {kind_name.upper()}",
                f"the draft is {typed.kind.value}, not {kind_name.upper()}",
            )
        )
    kind = typed.kind
    typed.data.update(_split_fields(kind, fields))
    main_text = _main_text(kind, text, text_file)
    if main_text is not None:
        typed.data[SCHEMAS[kind].main_text or ""] = main_text
    typed.data.update({k: v for k, v in (("to", to), ("priority", priority), ("ref", ref)) if v is not None})
    if not _interactive():
        values = _checked_or_refused(kind, typed.fields(), now())
        _commit(typed, values, exercise, incident, approved_by, confirm=False)
        return
    nodes = tuple(home().roster().node_ids)
    try:
        checked = form.ask(typed, nodes)
        form.preview(typed, checked)
        _commit(typed, checked.values, exercise, incident, approved_by, confirm=not yes)
    except Declined:
        form.save(typed)
        click.echo(tr("Ikke sendt. ", "Not sent. ") + form.saved_line(typed))
    except (click.exceptions.Abort, KeyboardInterrupt):
        form.save(typed)
        click.echo("", err=True)
        click.echo(tr("Avbrutt. ", "Interrupted. ") + form.saved_line(typed), err=True)
        raise click.exceptions.Exit(130) from None


def _kind(kind_name: str | None) -> Kind:
    if not kind_name:
        raise ValidationError(
            tr(
                "TYPE mangler: f.eks. «relay send SITREP», eller «relay send --resume»",
                "TYPE is missing: e.g. «relay send SITREP», or «relay send --resume»",
            )
        )
    kind = Kind.parse(kind_name)
    if kind is Kind.ROSTER:
        raise ValidationError(
            tr(
                "ROSTER-meldinger lages av «relay roster import» (nytt roster fra autoriteten), ikke av «relay send»",
                "ROSTER messages are made by «relay roster import» (a new roster from the authority), not «relay send»",
            )
        )
    return kind


def _main_text(kind: Kind, text: str | None, text_file: object) -> str | None:
    if text_file is not None:
        try:
            text = text_file.read().strip()  # type: ignore[attr-defined]
        except UnicodeDecodeError:
            raise ValidationError(
                tr(
                    "tekstfilen er ikke UTF-8: lagre den som UTF-8 og prøv igjen",
                    "the text file is not UTF-8: save it as UTF-8 and try again",
                )
            ) from None
    if text is not None and SCHEMAS[kind].main_text is None:
        raise ValidationError(
            tr(f"{kind.value} har ikke et tekstfelt; bruk --field", f"{kind.value} has no text field; use --field")
        )
    return text


def _commit(
    typed: form.Typed,
    values: dict[str, object],
    exercise: bool | None,
    incident: str | None,
    approved_by: str | None,
    confirm: bool,
) -> None:
    compose_and_commit(
        typed.kind,
        values,
        to=typed.data.get("to", "ALLE"),
        priority=typed.data.get("priority", "RUTINE"),
        exercise=exercise,
        ref=typed.data.get("ref") or None,
        incident=incident,
        approved_by=approved_by,
        confirm=confirm,
    )
    form.drop(typed)


def _find(ident: str):  # type: ignore[no-untyped-def]
    ref = MessageRef.parse(ident)
    h = home()
    h.config()
    store = h.store()
    held = store.get(ref.origin, ref.seq)
    if not held:
        store.close()
        raise LocalError(tr(f"fant ingen melding {ref}", f"no message {ref}"))
    return ref, store, held


def _expired(msg: Message) -> bool:
    """Past its «gyldig til»: still shown (nothing is lost), marked as no longer in force."""
    return msg.expires is not None and msg.expires < now()


def _as_json(stored, roster) -> dict[str, object]:  # type: ignore[no-untyped-def]
    msg: Message = stored.message
    entry = next((e for e in roster.entries if e.key_id == stored.key_id), None) if roster else None
    out: dict[str, object] = {
        "id": msg.id,
        "origin": msg.origin,
        "kind": msg.kind.value,
        "priority": msg.priority.value,
        "exercise": msg.exercise,
        "verified": True,
        "key_revoked": bool(entry and entry.revoked),
        "conflict": stored.conflict,
        "to": str(msg.to),
        "created": msg.created.isoformat(),
        "received_at": stored.received_at.isoformat(),
        "read": stored.read_at is not None,
        "expired": _expired(msg),
        "ref": str(msg.ref) if msg.ref else None,
        "text": msg.main_text,
    }
    for name, value in msg.fields:
        out[name] = json_value(value)
    return out


@click.command("inbox")
@click.option("--kind", "kind_name", help="Bare denne typen.")
@click.option("--node", help="Bare fra denne noden.")
@click.option("--priority", help="Bare denne prioriteten.")
@click.option("--status", type=click.Choice(["REELL", "ØVELSE", "OVELSE"], case_sensitive=False))
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True, help="Høyst så mange (0: alle).")
@click.option("--json", "as_json", is_flag=True)
def inbox(
    kind_name: str | None, node: str | None, priority: str | None, status: str | None, limit: int, as_json: bool
) -> None:
    """Innkomne meldinger: uleste først, så etter prioritet."""
    h = home()
    h.config()
    store = h.store()
    try:
        rows = store.inbox(
            kind=Kind.parse(kind_name) if kind_name else None,
            node=node.upper() if node else None,
            priority=Priority.parse(priority) if priority else None,
            exercise=None if status is None else status.upper() != "REELL",
            limit=limit or None,
        )
        if as_json:
            roster = h.roster() if h.roster_path.exists() else None  # verified here only: the list needs no keys
            confirmed = _confirmer(store, roster)
            docs = [_with_confirmations(_as_json(s, roster), confirmed(s)) for s in rows]
        damaged = len(store.damaged)
    finally:
        store.close()
    warn_damaged(damaged)
    if as_json:
        click.echo(json.dumps(docs, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(tr("Innboksen er tom.", "The inbox is empty."))
        return
    for s in rows:
        m = s.message
        unread = "*" if s.read_at is None else " "
        tag = (" ØVELSE" if m.exercise else "") + (" UTLØPT" if _expired(m) else "")
        preview = _summary(m).replace("\n", " ")
        if len(preview) > 60:
            preview = preview[:59] + "…"
        click.echo(f"{unread} {m.id:<9} {m.priority.value:<9} {m.kind.value:<12} {local(m.created)}{tag}  {preview}")
    click.echo(tr("(* = ulest)", "(* = unread)"))


def _summary(m: Message) -> str:
    """A line for the inbox: the main text, or for a kind without one what it says
    (a receipt's level and what it confirms, a STATUS's functions)."""
    if m.main_text:
        return m.main_text
    if m.kind is Kind.KVITTERING:
        return f"{show_value(m.get('level') or '')} for {m.ref}".strip()
    return "; ".join(show_value(v) for _, v in m.fields if v is not None)


@click.command("show")
@click.argument("ident", metavar="ID")
@click.option("--json", "as_json", is_flag=True)
def show(ident: str, as_json: bool) -> None:
    """Alle felt, verifisering og kvitteringer for én melding (markeres som lest)."""
    ref, store, held = _find(ident)
    h = home()
    roster = h.roster() if h.roster_path.exists() else None
    try:
        receipts = store.receipts(ref.origin, ref.seq)
        replies = store.replies(ref.origin, ref.seq)
        found = [_confirmer(store, roster)(s) for s in held]
        store.mark_read(ref.origin, ref.seq, now())
    finally:
        store.close()
    if as_json:
        docs = []
        for s, confirmations in zip(held, found, strict=True):
            doc = _with_confirmations(_as_json(s, roster), confirmations)
            doc["receipts"] = [{"node": r.node, "level": r.level, "at": r.at.isoformat()} for r in receipts]
            doc["replies"] = [r.message.id for r in replies]
            docs.append(doc)
        click.echo(json.dumps(docs[0] if len(docs) == 1 else docs, ensure_ascii=False, indent=2))
        return
    for s, confirmations in zip(held, found, strict=True):
        _print_message(s, roster, confirmations, replies)


def _confirmer(store, roster) -> Callable[[Stored], tuple[Confirmation, ...]]:  # type: ignore[no-untyped-def]
    """Per addressee of a held message, what this store knows is confirmed (``relay.daemon.confirmed``);
    the node, the groups and whom the daemon last heard are read once."""
    from relay.daemon.confirmed import confirmations, members
    from relay.daemon.status import last_heard

    node_id, groups, heard = home().config().node_id, members(roster), last_heard(store)
    return lambda stored: confirmations(store, stored, node_id, groups, heard)


def _with_confirmations(doc: dict[str, object], found: tuple[Confirmation, ...]) -> dict[str, object]:
    from relay.daemon.confirmed import as_json

    doc["confirmations"] = as_json(found)
    return doc


def _print_message(s, roster, confirmations, replies) -> None:  # type: ignore[no-untyped-def]
    from relay.desk.forms import kind_label
    from relay.edge.home import fingerprint

    m: Message = s.message
    spec = SCHEMAS[m.kind]
    lang = settings().lang
    entry = next((e for e in roster.entries if e.key_id == s.key_id), None) if roster else None
    label = [
        (
            tr("Meldings-ID", "Message ID"),
            m.id
            + (
                tr("  (KONFLIKT: flere meldinger med samme ID)", "  (CONFLICT: several messages with this ID)")
                if s.conflict
                else ""
            ),
        ),
        (tr("Type", "Kind"), f"{m.kind.value} ({kind_label(m.kind, lang)})"),
        ("Status", m.status_label),
        (tr("Prioritet", "Priority"), m.priority.value),
        (
            tr("Fra", "From"),
            f"{m.sender_role + '@' if m.sender_role else ''}{m.origin}"
            + (f" ({roster.name_of(m.origin)})" if roster else ""),
        ),
        (tr("Til", "To"), str(m.to)),
        (
            tr("Opprettet", "Created"),
            local(m.created)
            + ("" if m.clock_synced else tr("  (avsenderens klokke usikker)", "  (sender clock unsure)")),
        ),
        (tr("Mottatt", "Received"), local(s.received_at)),
    ]
    if m.incident:
        label.append((tr("Hendelse", "Incident"), m.incident))
    if m.expires:
        label.append(
            (tr("Gyldig til", "Valid until"), local(m.expires) + (tr(" (UTLØPT)", " (EXPIRED)") if _expired(m) else ""))
        )
    if m.ref:
        label.append((tr("Referanse", "Reference"), str(m.ref)))
    if m.approved_by:
        label.append((tr("Godkjent av", "Approved by"), m.approved_by))
    for fspec in spec.fields:
        value = m.get(fspec.name)
        if value is not None:
            label.append((field_label(fspec, lang), show_value(value)))
    verified = tr("VERIFISERT", "VERIFIED") + (
        f": {entry.node_id}, {tr('nøkkel', 'key')} {fingerprint(entry.public_key)}" if entry else ""
    )
    if entry and entry.revoked:
        verified += tr(f"  (nøkkelen er tilbakekalt {local(entry.revoked)})", f"  (key revoked {local(entry.revoked)})")
    label.append((tr("Signatur", "Signature"), verified))
    width = max(len(k) for k, _ in label)
    for k, v in label:
        click.echo(f"{k + ':':<{width + 1}} {v}")
    if confirmations:
        from relay.daemon.confirmed import describe

        click.echo(tr("Bekreftet:", "Confirmed:"))
        width = max(len(c.node) for c in confirmations)
        for c in confirmations:
            click.echo(f"  {c.node:<{width}}  {describe(c, local, lang)}")
    for reply in replies:
        rm = reply.message
        click.echo(
            tr("Svar/kvittering: ", "Reply/receipt: ")
            + f"{rm.id} {rm.kind.value} "
            + " ".join(show_value(v) for k, v in rm.fields if k in ("level", "answer"))
        )
    click.echo("")


@click.command("ack")
@click.argument("ident", metavar="ID")
@click.option(
    "--level", type=click.Choice(["LEST", "UTFØRT", "UTFORT"], case_sensitive=False), default="LEST", show_default=True
)
@click.option("--priority", help="Standard: HASTER for en NØD eller HASTER, ellers RUTINE.")
def ack(ident: str, level: str, priority: str | None) -> None:
    """Kvitter for en melding: LEST (lest av operatør) eller UTFØRT."""
    ref, store, held = _find(ident)
    store.close()
    original = held[0].message
    if original.origin == home().config().node_id:
        raise LocalError(
            tr(
                f"{ref} er din egen melding: kvitter for meldinger fra andre noder",
                f"{ref} is your own message: acknowledge messages from other nodes",
            )
        )
    level_sent = Priority.parse(priority) if priority else entry.receipt_priority(original.priority)
    compose_and_commit(
        Kind.KVITTERING,
        {"level": level},
        to=original.origin,
        priority=level_sent.value,
        exercise=original.exercise,
        ref=str(ref),
        confirm=False,
    )
    store = home().store()  # only a receipt that was committed marks the original read
    try:
        store.mark_read(ref.origin, ref.seq, now())
    finally:
        store.close()


@click.command("reply")
@click.argument("ident", metavar="ID")
@click.option("--answer", help="INNVILGET, DELVIS, AVSLÅTT eller VIDERESENDT.")
@click.option("--offer", help="Hva dere tilbyr.")
@click.option("--eta", help="Ankomst, f.eks. 17:00 eller +2h.")
@click.option("--contact", help="Kontaktperson/rolle.")
@click.option("--conditions", help="Vilkår (valgfritt).")
@click.option("--priority", default=None, help="Standard: samme som anmodningen.")
@click.option("--yes", "-y", is_flag=True)
def reply(
    ident: str,
    answer: str | None,
    offer: str | None,
    eta: str | None,
    contact: str | None,
    conditions: str | None,
    priority: str | None,
    yes: bool,
) -> None:
    """Svar på en anmodning om bistand (BISTANDSSVAR)."""
    ref, store, held = _find(ident)
    store.close()
    original = held[0].message
    if original.kind is not Kind.BISTAND:
        raise LocalError(
            tr(
                f"{ref} er {original.kind.value}, ikke en anmodning om bistand",
                f"{ref} is {original.kind.value}, not a request for assistance",
            )
        )
    raw = {"answer": answer, "offer": offer, "eta": eta, "contact": contact, "conditions": conditions}
    typed = form.Typed(Kind.BISTANDSSVAR, {k: v for k, v in raw.items() if v is not None})
    typed.data.update(to=original.origin, priority=priority or original.priority.value, ref=str(ref))
    if not _interactive():
        values = _checked_or_refused(Kind.BISTANDSSVAR, typed.fields(), now())
        _commit(typed, values, original.exercise, None, None, confirm=False)
        return
    try:
        checked = form.ask(typed, tuple(home().roster().node_ids))
        form.preview(typed, checked)
        _commit(typed, checked.values, original.exercise, None, None, confirm=not yes)
    except Declined:
        click.echo(tr("Ikke sendt.", "Not sent."))


COMMANDS = (send, inbox, show, ack, reply)
