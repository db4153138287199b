"""``relay firmware``: render the radios' configuration from the region file, make the channel key, apply.

``render`` and ``apply`` check the configuration against meshtastic's
protobufs, which imports them -- only in these commands, never at module
import (the rest of the CLI must stay free of meshtastic).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from relay.cli.context import tr
from relay.errors import ConfigError, LocalError


@click.group("firmware")
def firmware() -> None:
    """Radioens Meshtastic-oppsett: lag per node fra regionfilen, lag kanalnøkkel, skriv til radioen."""


@firmware.command("render")
@click.argument("region_file", metavar="REGION.toml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Mappe for én YAML-fil per node.",
)
def render(region_file: Path, out_dir: Path) -> None:
    """Lag én YAML-fil per node (for «meshtastic --configure») og sjekk dem mot protobufene og reglene."""
    from relay.core.airtime import packet_airtime
    from relay.deploy import firmware as fw

    plan = fw.load_region(region_file.read_text(encoding="utf-8"))
    problems = fw.plan_problems(plan)
    if problems:
        raise ConfigError("; ".join(problems))
    out_dir.mkdir(parents=True, exist_ok=True)
    for site in plan.sites:
        path = out_dir / f"{site.id}.yaml"
        path.write_text(fw.render_yaml(plan, site), encoding="utf-8")
        click.echo(
            f"{site.id:<5} {site.role:<12} {site.tx_power_dbm:>2} dBm  e.r.p. {site.erp_dbm:4.1f} dBm "
            f"({fw.dbm_to_mw(site.erp_dbm):3.0f} mW)  {path}"
        )
    radio = plan.radio
    low, high = fw.channel_edges(fw.render_node(plan, plan.sites[0]), radio.tolerance_ppm) or (0.0, 0.0)
    preset = radio.preset
    click.echo(
        tr(
            f"{radio.frequency_mhz} MHz (kanal {low:.4f}-{high:.4f} MHz med ±{radio.tolerance_ppm:g} ppm), "
            f"SF{radio.spreading_factor}, {radio.bandwidth_khz:g} kHz, CR 4/{radio.coding_rate}, "
            f"hopp {radio.hop_limit}; sendetid 125 B {packet_airtime(125, preset):.2f} s, "
            f"231 B {packet_airtime(231, preset):.2f} s",
            f"{radio.frequency_mhz} MHz (channel {low:.4f}-{high:.4f} MHz with ±{radio.tolerance_ppm:g} ppm), "
            f"SF{radio.spreading_factor}, {radio.bandwidth_khz:g} kHz, CR 4/{radio.coding_rate}, "
            f"hop limit {radio.hop_limit}; airtime 125 B {packet_airtime(125, preset):.2f} s, "
            f"231 B {packet_airtime(231, preset):.2f} s",
        )
    )


@firmware.command("keygen")
@click.argument("key_file", metavar="FIL", type=click.Path(dir_okay=False, path_type=Path))
def keygen(key_file: Path) -> None:
    """Lag regionens kanalnøkkel (AES-256) i FIL, modus 0600. Én gang for hele regionen; aldri i git."""
    from relay.deploy import firmware as fw

    line = fw.new_psk()
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(
            tr(f"{key_file} finnes allerede; den overskrives ikke", f"{key_file} exists; not overwritten")
        ) from None
    with os.fdopen(fd, "w") as fh:
        fh.write(line + "\n")
    click.echo(
        tr(
            f"Kanalnøkkel skrevet til {key_file}. Fingeravtrykk: {fw.psk_fingerprint(fw.read_psk(line))}",
            f"Channel key written to {key_file}. Fingerprint: {fw.psk_fingerprint(fw.read_psk(line))}",
        )
    )


def _meshtastic() -> str:
    """The meshtastic CLI of this installation (the venv's), else whatever PATH has."""
    beside = Path(sys.executable).with_name("meshtastic")
    return str(beside) if beside.exists() else (shutil.which("meshtastic") or "meshtastic")


@firmware.command("apply")
@click.argument("node_file", metavar="NODE.yaml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--port", required=True, help="Radioens serieport, f.eks. /dev/meshtastic eller /dev/ttyACM0.")
@click.option(
    "--psk-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Kanalnøkkelen (fra «relay firmware keygen»).",
)
@click.option("--dry-run", is_flag=True, help="Sjekk og vis kommandoen, men ikke skriv til radioen.")
def apply(node_file: Path, port: str, psk_file: Path | None, dry_run: bool) -> None:
    """Skriv nodens oppsett til radioen med «meshtastic --configure» (stopp relay-tjenesten først)."""
    from relay.deploy import firmware as fw

    node = fw.parse_yaml(node_file.read_text(encoding="utf-8"))
    problems = fw.node_problems(node)
    if problems:
        raise ConfigError(f"{node_file}: " + "; ".join(problems))
    psk = fw.read_psk(psk_file.read_text(encoding="utf-8")) if psk_file else None
    if psk is None and not dry_run:
        raise ConfigError(
            tr("kanalnøkkelen mangler: gi --psk-file FIL", "the channel key is missing: give --psk-file FILE")
        )
    text = fw.filled_yaml(node, psk) if psk is not None else None  # refuses a file already filled in
    command = [_meshtastic(), "--port", port, "--configure"]
    if dry_run or text is None:
        click.echo(shlex.join([*command, tr(f"<{node_file.name} med kanalnøkkel>", f"<{node_file.name} with key>")]))
        if psk is not None:
            click.echo(tr("Kanalnøkkelens fingeravtrykk: ", "Channel key fingerprint: ") + fw.psk_fingerprint(psk))
        return
    with tempfile.TemporaryDirectory(prefix="relay-firmware-") as tmp:
        path = Path(tmp) / node_file.name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            result = subprocess.run([*command, str(path)], check=False)
        except OSError as exc:
            raise LocalError(tr(f"kunne ikke starte meshtastic: {exc}", f"could not start meshtastic: {exc}")) from None
    _check_exit(result.returncode)
    click.echo(
        tr(f"{node_file.name} skrevet til radioen på {port}.", f"{node_file.name} written to the radio on {port}.")
    )
    _after_configure(node, port)


def _check_exit(code: int) -> None:
    if code != 0:
        raise LocalError(tr(f"meshtastic avsluttet med kode {code}", f"meshtastic exited {code}"))


def _after_configure(node: dict[str, object], port: str) -> None:
    """What ``--configure`` cannot do: the rebroadcast mode again on a new ROUTER (the firmware
    replaces it with CORE_PORTNUMS_ONLY when the role first changes), and the 2.8 settings the
    installed protobufs do not know, named for a check by hand (relay.deploy.policy)."""
    from relay.deploy import policy

    config = node.get("config")
    device = config.get("device") if isinstance(config, dict) else None
    if isinstance(device, dict) and device.get("role") == "ROUTER" and device.get("rebroadcast_mode"):
        mode = str(device["rebroadcast_mode"])
        try:
            done = subprocess.run(
                [_meshtastic(), "--port", port, "--set", "device.rebroadcast_mode", mode], check=False
            )
        except OSError as exc:
            raise LocalError(tr(f"kunne ikke starte meshtastic: {exc}", f"could not start meshtastic: {exc}")) from None
        _check_exit(done.returncode)
        click.echo(
            tr(
                f"device.rebroadcast_mode satt til {mode} igjen (en ny ROUTER får CORE_PORTNUMS_ONLY).",
                f"device.rebroadcast_mode set to {mode} again (a new ROUTER gets CORE_PORTNUMS_ONLY).",
            )
        )
    section = node.get(policy.RELAY_KEY)
    pending = section.get("not_in_protobufs") if isinstance(section, dict) else None
    for key, value in (pending or {}).items():
        click.echo(
            tr(
                f"Sjekk for hånd (fastvare 2.8, ukjent for meshtastic-biblioteket her): {key} = {value}",
                f"Check by hand (firmware 2.8, unknown to the meshtastic library here): {key} = {value}",
            )
        )


COMMANDS = (firmware,)
