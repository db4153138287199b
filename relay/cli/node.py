"""Setting up nodes: ``relay init``, ``relay roster ...``, ``relay lab setup``."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

import click

from relay.cli.context import home, now, tr

if TYPE_CHECKING:
    from relay.core.roster import Roster
    from relay.core.signing import Signer
from relay.errors import ConfigError


@click.command("init")
@click.option("--node", "node_id", required=True, help="Node-ID, f.eks. MOD.")
@click.option("--name", required=True, help="Visningsnavn, f.eks. «Modum kommune».")
@click.option("--radio", help="Radio: serial:///dev/ttyACM0 eller tcp://HOST:4403.")
@click.option("--exercise", is_flag=True, help="Merk all trafikk fra noden som ØVELSE.")
def init(node_id: str, name: str, radio: str | None, exercise: bool) -> None:
    """Opprett nodens mappe: konfigurasjon, nøkkelpar og tomt lager."""
    from relay.edge.home import Home, fingerprint

    target = home().path
    created = Home.init(target, node_id, name, radio, exercise)
    signer = created.signer()
    node = created.config().node_id
    click.echo(tr(f"Node {node} satt opp i {target}", f"Node {node} set up in {target}"))
    click.echo(tr("Offentlig nøkkel (gi den til rosterautoriteten):", "Public key (give it to the roster authority):"))
    click.echo(f"  {base64.b64encode(signer.public_key).decode()}")
    click.echo(tr(f"Fingeravtrykk: {fingerprint(signer.public_key)}", f"Fingerprint: {fingerprint(signer.public_key)}"))


@click.group("roster")
def roster() -> None:
    """Regionens liste over godkjente noder og nøkler."""


def _authority() -> Signer:
    from relay.edge import keys

    path = home().authority_key_path
    if not path.exists():
        raise ConfigError(
            tr(
                "denne noden er ikke rosterautoritet (fant ingen authority.key); kjør «relay roster create»",
                "this node is not the roster authority (no authority.key); run «relay roster create»",
            )
        )
    return keys.load(path)


def _save(roster_obj: Roster) -> None:
    home().save_roster(roster_obj)


def _announce(before: Roster | None, after: Roster) -> None:
    """Send each revocation that ``after`` brings as a ROSTER message from this node,
    unless the store holds one for it already (it came over the air first): with
    telephony down, a roster file on a USB stick reaches one town hall, and the
    radio takes the revocation to the rest."""
    from relay.cli.traffic import compose_and_commit
    from relay.core.model import Kind
    from relay.core.sync.revocation import newly_revoked

    h = home()
    if not h.key_path.exists() or not h.config_path.exists():
        return  # the authority's own home: no node here to send from
    config = h.config()
    if not any(e.node_id == config.node_id for e in after.entries):
        return  # the authority's own home (its node is not a town hall of the roster): nothing to sign with
    store = h.store()
    try:
        sent = {m.message.get("notice") for m in store.of_kind(Kind.ROSTER)}
    finally:
        store.close()
    for node in newly_revoked(before, after) if before else []:
        for entry in (e for e in after.entries if e.node_id == node and e.notice and e.notice not in sent):
            if node == config.node_id:
                click.echo(
                    tr(
                        "Denne nodens egen nøkkel er tilbakekalt: tilbakekallingen må sendes fra en annen node.",
                        "This node's own key is revoked: the revocation must be sent from another node.",
                    )
                )
                continue
            msg = compose_and_commit(
                Kind.ROSTER,
                {"notice": entry.notice, "node": node, "reason": tr("Nøkkelen er tilbakekalt.", "Key revoked.")},
                to="ALLE",
                priority="HASTER",
                exercise=None,
                ref=None,
                confirm=False,
            )
            click.echo(
                tr(
                    f"{msg.id} sender tilbakekallingen av {node} til hele regionen over radio.",
                    f"{msg.id} sends the revocation of {node} to the whole region by radio.",
                )
            )


@roster.command("create")
@click.option("--region", default="Ringerike-regionen", show_default=True)
@click.option(
    "--id",
    "region_id",
    help="Regionens ID for maskiner (a-z, 0-9, bindestrek): megleremner, ACL, innlogginger. Standard: fra navnet.",
)
def roster_create(region: str, region_id: str | None) -> None:
    """Bli rosterautoritet: lag autoritetsnøkkel og et tomt roster (versjon 1)."""
    from relay.core.roster import Roster
    from relay.edge import keys
    from relay.edge.home import fingerprint

    h = home()
    config = h.config()
    if h.roster_path.exists() or config.authority_key:
        raise ConfigError(
            tr(
                "noden har allerede et roster fra en autoritet; «roster create» ville erstatte det "
                "(bruk en egen mappe for autoriteten, f.eks. --home /var/lib/relay-autoritet)",
                "this node already has a roster from an authority; «roster create» would replace it "
                "(use a separate home for the authority)",
            )
        )
    authority = keys.write_new(h.authority_key_path)
    r = Roster.create(region, authority, now(), region_id)
    _save(r)
    from dataclasses import replace

    h.write_config(replace(config, authority_key=base64.b64encode(authority.public_key).decode()))
    click.echo(
        tr(
            f"Roster for {region} (ID {r.region_id}) opprettet (versjon 1).",
            f"Roster for {region} (ID {r.region_id}) created (version 1).",
        )
    )
    click.echo(tr("Autoritetens fingeravtrykk: ", "Authority fingerprint: ") + fingerprint(authority.public_key))


@roster.command("add")
@click.option("--node", "node_id", required=True)
@click.option("--name", required=True)
@click.option("--role", default="kommune", show_default=True, help="kommune, statsforvalter, politi, brann, annet")
@click.option("--key", "public_key", required=True, help="Nodens offentlige nøkkel (base64, fra «relay init»).")
def roster_add(node_id: str, name: str, role: str, public_key: str) -> None:
    """Legg til en node (ny versjon av rosteret)."""
    from relay.core.roster import RosterEntry

    try:
        key = base64.b64decode(public_key, validate=True)
    except ValueError:
        raise ConfigError(tr("nøkkelen er ikke gyldig base64", "the key is not valid base64")) from None
    entry = RosterEntry(node_id.strip().upper(), name, role, key, now())
    r = home().roster().with_entry(entry, _authority(), now())
    _save(r)
    click.echo(
        tr(f"{entry.node_id} lagt til (roster versjon {r.version}).", f"{entry.node_id} added (version {r.version}).")
    )


@roster.command("revoke")
@click.argument("node_id")
@click.option(
    "--last-seq",
    type=click.IntRange(1, (1 << 32) - 1),
    help="Siste ekte løpenummer fra noden, om det er kjent: senere numre avvises, også tilbakedaterte.",
)
def roster_revoke(node_id: str, last_seq: int | None) -> None:
    """Tilbakekall nodens nøkkel (f.eks. stjålet Pi); del det nye rosteret."""
    before = home().roster()
    r = before.with_revoked(node_id.strip().upper(), _authority(), now(), last_seq)
    _save(r)
    click.echo(
        tr(
            f"Nøkkelen til {node_id.upper()} er tilbakekalt (roster versjon {r.version}). Eksporter og del rosteret: "
            "første node som importerer det, sender tilbakekallingen over radio.",
            f"{node_id.upper()}'s key is revoked (version {r.version}). Export and share the roster: "
            "the first node to import it sends the revocation by radio.",
        )
    )
    _announce(before, r)


@roster.command("show")
@click.option("--json", "as_json", is_flag=True)
def roster_show(as_json: bool) -> None:
    """Vis rosteret noden bruker."""
    from relay.edge.home import fingerprint

    r = home().roster()
    if as_json:
        click.echo(r.to_json(), nl=False)
        return
    derived = "" if r.signed_id is not None else tr(", avledet av navnet", ", derived from the name")
    click.echo(
        tr(
            f"{r.region} (ID {r.region_id}{derived}), versjon {r.version}, utstedt {r.issued:%Y-%m-%d %H:%M} UTC",
            f"{r.region} (ID {r.region_id}{derived}), version {r.version}, issued {r.issued:%Y-%m-%d %H:%M} UTC",
        )
    )
    click.echo(tr("Autoritet: ", "Authority: ") + fingerprint(r.authority_key))
    for e in r.entries:
        state = tr("TILBAKEKALT", "REVOKED") if e.revoked else tr("aktiv", "active")
        click.echo(f"  {e.node_id:<5} {e.name:<28} {e.role:<15} {fingerprint(e.public_key)}  {state}")


@roster.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def roster_export(file: Path) -> None:
    """Skriv rosteret til en fil (f.eks. på en minnepinne)."""
    r = home().roster()
    try:
        file.write_text(r.to_json(), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            tr(f"kan ikke skrive {file}: {exc.strerror}", f"cannot write {file}: {exc.strerror}")
        ) from None
    click.echo(tr(f"Roster versjon {r.version} skrevet til {file}", f"Roster version {r.version} written to {file}"))


@roster.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def roster_import(file: Path) -> None:
    """Ta i bruk et roster fra fil; krever kjent autoritet og nyere versjon."""
    from relay.edge.home import fingerprint

    if not file.exists():
        raise ConfigError(
            tr(
                f"fant ikke {file}: er minnepinnen satt inn, og er filnavnet riktig?",
                f"{file} not found: is the USB stick in, and is the file name right?",
            )
        )
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ConfigError(
            tr(
                f"{file} er ikke en rosterfil (kan ikke leses som tekst)",
                f"{file} is not a roster file (not readable as text)",
            )
        ) from None
    h = home()
    before = h.roster() if h.roster_path.exists() else None
    r, pinned = h.import_roster(text)
    click.echo(
        tr(
            f"Roster versjon {r.version} importert ({len(r.entries)} nøkler).",
            f"Roster version {r.version} imported ({len(r.entries)} keys).",
        )
    )
    if pinned:
        click.echo(
            tr(
                f"Autoriteten er nå låst: {fingerprint(r.authority_key)} (sammenlign med papirkopien).",
                f"Authority pinned: {fingerprint(r.authority_key)} (compare with the paper copy).",
            )
        )
    _announce(before, r)


@click.group("lab")
def lab() -> None:
    """Øvelser: sett opp en hel region på én maskin."""


@lab.command("setup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--scenario", "scenario_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--real", is_flag=True, help="Ikke merk trafikken som ØVELSE.")
def lab_setup(directory: Path, scenario_file: Path, real: bool) -> None:
    """Én klar nodemappe per node i scenariet (DIR/RIN, DIR/HOL, …), felles roster."""
    from relay.sim.lab import lab_homes

    lab_homes(directory, scenario_file, exercise=not real, when=now())
    click.echo(tr(f"Laboratoriet er klart i {directory}", f"The lab is ready in {directory}"))


COMMANDS = (init, roster, lab)
