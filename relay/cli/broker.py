"""``relay broker config``: the region's mosquitto configuration from its roster (``relay.deploy.broker``)."""

from __future__ import annotations

from pathlib import Path

import click

from relay.cli.context import home, tr
from relay.errors import ConfigError


@click.group("broker")
def broker() -> None:
    """MQTT-megleren for IP-veien: oppsettet skrives fra rosteret."""


@broker.command("config")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Mappe.")
@click.option(
    "--roster",
    "roster_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Rosteret til en region megleren betjener; kan gjentas (standard: nodens eget roster).",
)
@click.option(
    "--host", "hosts", multiple=True, help="Meglerens vertsnavn eller IP-adresse i sertifikatet; kan gjentas."
)
@click.option("--port", type=click.IntRange(1, 65535), default=8883, show_default=True, help="TLS-porten.")
@click.option("--bind", help="Adressen megleren lytter på (standard: alle).")
@click.option("--etc", default="/etc/mosquitto", show_default=True, help="Der filene skal ligge på megleren.")
@click.option("--bridge", metavar="VERT:PORT", help="Bro fra denne regionens megler til en annen (føderasjon).")
@click.option(
    "--bridge-password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Passordet for bridge-REGION-ID hos den andre megleren (fra dens secrets/).",
)
@click.option(
    "--bridge-ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Den andre meglerens CA (dens certs/ca.pem).",
)
def broker_config(
    out_dir: Path,
    roster_files: tuple[Path, ...],
    hosts: tuple[str, ...],
    port: int,
    bind: str | None,
    etc: str,
    bridge: str | None,
    bridge_password_file: Path | None,
    bridge_ca: Path | None,
) -> None:
    """Skriv mosquitto-oppsettet: TLS-lytter, ACL, passord, sertifikater og broer, og det hver node trenger."""
    from relay.core.roster import Roster
    from relay.deploy.broker import write_config

    rosters = [Roster.from_json(p.read_text(encoding="utf-8")) for p in roster_files] or [home().roster()]
    password = bridge_password_file.read_text(encoding="utf-8").strip() if bridge_password_file else None
    if bridge is not None and (":" not in bridge or not bridge.rsplit(":", 1)[1].isdigit()):
        raise ConfigError(
            tr(f"ugyldig bro-adresse {bridge!r}: bruk VERT:PORT", f"invalid bridge {bridge!r}: use HOST:PORT")
        )
    written = write_config(
        out_dir,
        rosters,
        hosts,
        etc=etc.rstrip("/"),
        port=port,
        bind=bind,
        bridge=bridge,
        bridge_password=password,
        bridge_ca=bridge_ca,
    )
    for roster in rosters:
        click.echo(
            tr(
                f"{roster.region} (ID {roster.region_id}): emner relay/{roster.region_id}/NODE",
                f"{roster.region} (ID {roster.region_id}): topics relay/{roster.region_id}/NODE",
            )
        )
    click.echo(
        tr(
            f"Megleren: kopier {written.mosquitto}/ til {etc} (chgrp mosquitto på relay.acl, relay.passwd og"
            " certs/broker.key) og start mosquitto på nytt.",
            f"The broker: copy {written.mosquitto}/ to {etc} (chgrp mosquitto on relay.acl, relay.passwd and"
            " certs/broker.key) and restart mosquitto.",
        )
    )
    click.echo(
        tr(
            f"Nodene: {written.nodes}/NODE/ har mqtt.pass, ca.pem og [ip] for relay.toml; gi dem på papir eller"
            f" minnepinne. {out_dir}/secrets/ (CA-nøkkel, passord) blir hos deg.",
            f"The nodes: {written.nodes}/NODE/ holds mqtt.pass, ca.pem and [ip] for relay.toml; hand them over on"
            f" paper or a USB stick. {out_dir}/secrets/ (CA key, passwords) stays with you.",
        )
    )


COMMANDS = (broker,)
