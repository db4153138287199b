"""``relay doctor``: check the node's store and repair what can be repaired.

A damaged row (a flipped bit on the SD card, a torn write, a column such as
its number that no longer says what its signed bytes say) or a message a
revocation has made void is moved to the store's quarantine: kept for the
record, never served, never shown.  The sync then brings a sound copy from a
neighbour, since the origin's head went back.  Nothing is deleted.
"""

from __future__ import annotations

import click

from relay.cli.context import home, local, now, tr
from relay.errors import LocalError

REASONS = {
    "damaged": ("skadet på disk", "damaged on disk"),
    "mismatch": (
        "radens kolonner (nummer, avsender, type …) stemmer ikke med meldingen",
        "the row's columns (number, origin, kind …) do not match the message",
    ),
    "bad_signature": ("signaturen stemmer ikke", "signature does not verify"),
    "revoked": ("signert med tilbakekalt nøkkel etter tilbakekallingen", "signed with a revoked key after revocation"),
}


def _reason(code: str) -> str:
    nb, en = REASONS.get(code, (code, code))
    return tr(nb, en)


@click.command("doctor")
@click.option("--check", "check_only", is_flag=True, help="Bare sjekk; flytt ingenting.")
def doctor(check_only: bool) -> None:
    """Sjekk lageret og flytt skadde meldinger til karantene (sletter ingenting)."""
    h = home()
    roster = h.roster()
    store = h.store()
    try:
        broken = store.integrity()
        if broken:
            raise LocalError(
                tr(
                    f"databasefilen {h.db_path} er skadet ({broken[0]}): stopp tjenesten, ta vare på filen,"
                    " og gjenopprett fra siste sikkerhetskopi; meldinger som mangler hentes fra nabonodene",
                    f"the database file {h.db_path} is damaged ({broken[0]}): stop the service, keep the file,"
                    " and restore the latest backup; missing messages come back from the neighbours",
                )
            )
        faults = store.check(roster)
        count = store.count()
        if not faults:
            click.echo(
                tr(f"Lageret er friskt: {count} meldinger sjekket.", f"The store is sound: {count} messages checked.")
            )
        for origin, seq, digest, reason in faults:
            click.echo(f"  {origin}-{seq:04d}  {_reason(reason)}")
            if not check_only:
                store.quarantine(origin, seq, digest, reason, now())
        if faults and check_only:
            raise LocalError(
                tr(
                    f"{len(faults)} av {count} meldinger feiler; kjør «relay doctor» uten --check for å flytte dem",
                    f"{len(faults)} of {count} messages fail; run «relay doctor» without --check to move them",
                )
            )
        if faults:
            click.echo(
                tr(
                    f"{len(faults)} melding(er) flyttet til karantene. Nabonodene sender sunne kopier.",
                    f"{len(faults)} message(s) moved to quarantine. The neighbours send sound copies.",
                )
            )
        held = store.quarantined()
        if held:
            click.echo(tr(f"I karantene ({len(held)}):", f"In quarantine ({len(held)}):"))
            for q in held:
                click.echo(f"  {q.origin}-{q.seq:04d}  {_reason(q.reason)}  {local(q.at)}")
    finally:
        store.close()


COMMANDS = (doctor,)
