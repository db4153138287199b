"""The board's demo region: the Modum lab with the table-top's traffic in Hole's store.

``relay board --demo`` serves it, and ``tools/board_screenshots.py``
photographs it.  The traffic is written with the real CLI in each town hall's
home (which is why this lives beside the CLI, not in ``relay.board``) and
brought into Hole's store as the sync would bring it.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from relay.core import wire
from relay.edge import dictionaries
from relay.edge.home import Home

TRAFFIC = [
    (
        "MOD",
        "STATUS --field 'STRØM=GRØNN' --field 'MOBIL=RØD: nede i hele kommunen' --field 'IKT=RØD: dataangrep'"
        " --field 'VANN=GRØNN' --field 'VEI=GUL: Fv 280 redusert'",
    ),
    ("HOL", "STATUS --field STRØM=GRØNN --field MOBIL=GRØNN --field IKT=GRØNN --field VANN=GRØNN --field VEI=GRØNN"),
    ("RIN", "STATUS --field STRØM=GRØNN --field 'MOBIL=GUL: ustabilt i Hønefoss' --field IKT=GRØNN --field VANN=GRØNN"),
    (
        "MOD",
        "SITREP --priority HASTER --text 'Dataangrep mot kommunens IKT. Telefoni og e-post nede.'"
        " --field report_no=2 --field 'actions_taken=Informasjon via plakater og FM-radio.'"
        " --field 'needs=2 personer med IKT-kompetanse.' --field next_report=+3h",
    ),
    (
        "MOD",
        "BISTAND --priority PRIORITET --to KOMMUNER --text 'Drift av nettverk og klienter etter dataangrepet.'"
        " --field resource=IKT-personell --field quantity=2 --field 'location=Modum rådhus'"
        " --field 'window=Snarest, 48 timer' --field 'contact=Kriseleder Modum'",
    ),
    (
        "MOD",
        "RYKTE --text 'Det sies at skolene i Modum stenger i morgen.' --field 'where_when=Facebook, i dag'"
        " --field 'facts=Skolene holder åpent.' --field 'response=Skolene er åpne som normalt.'"
        " --field state=AVKREFTET",
    ),
    (
        "RIN",
        "BESLUTNING --priority PRIORITET --text 'Felles pressebriefing kl 12 hver dag på Hønefoss rådhus.'"
        " --field responsible=Statsforvalteren --field effective=+1h",
    ),
    (
        "POL",
        "MELDING --priority NØD --to KOMMUNER --text 'Trafikkulykke E16 ved Sundvollen, buss og to personbiler."
        " Hole: gjør klar evakuerte- og pårørendesenter.'",
    ),
]

# A busier hour for the wall's screenshot and its above-the-fold test: eight NØD and HASTER
# waiting, and every node but two municipalities (Krødsherad, Sigdal) has reported its status.
BUSY = [
    ("JEV", "STATUS --field STRØM=GRØNN --field 'MOBIL=GUL: ustabilt' --field IKT=GRØNN --field VANN=GRØNN"),
    ("SF", "STATUS --field STRØM=GRØNN --field MOBIL=GRØNN --field IKT=GRØNN"),
    ("POL", "STATUS --field STRØM=GRØNN --field 'MOBIL=GUL: Nødnett brukes' --field 'VEI=RØD: E16 stengt'"),
    ("MOD", "MELDING --priority NØD --to ALLE --text 'Brann i kommunehuset Vikersund, evakuert. Ingen skadde.'"),
    ("HOL", "MELDING --priority HASTER --to POL --text 'EPS åpnet på Sundvollen hotell, 23 registrert.'"),
    ("RIN", "MELDING --priority HASTER --to KOMMUNER --text 'Drivstoff: kommunal tankanlegg åpent for nødetater.'"),
    ("SF", "MELDING --priority HASTER --to KOMMUNER --text 'Neste SITREP til Statsforvalteren innen kl 16.'"),
    ("JEV", "MELDING --priority NØD --to HOL --text 'Ambulanse sendt fra Jevnaker mot E16, ETA 25 min.'"),
    ("POL", "MELDING --priority HASTER --to MOD --text 'Ungdomsuro ved Vikersund stasjon, patrulje på vei.'"),
]


def run(cli: click.Group, home: Path, line: str) -> None:
    """``relay --home HOME LINE``, in this process (``cli``: the ``relay`` group, handed in
    by its caller rather than imported, so that this module does not import the CLI's root)."""
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["--home", str(home), *shlex.split(line)])
    if result.exit_code != 0:
        raise RuntimeError(f"demo: «relay {line}» failed: {result.output.strip()}")


def carry(lab: Path, to: str) -> None:
    """Every message of every home into ``to``'s store, as the sync would bring them."""
    target = Home(lab / to)
    roster = target.roster()
    dst = target.store()
    for source in sorted(p for p in lab.iterdir() if (p / "relay.toml").exists() and p.name != to):
        src = Home(source).store()
        for held in src.log():
            dst.insert(wire.decode(held.wire, roster, dictionaries.available()), held.received_at)
        src.close()
    dst.close()


def build(cli: click.Group, directory: Path, scenario: Path, busy: bool = False) -> Path:
    """Set the demo region up in ``directory`` with the ``relay`` group ``cli``; the home whose board to show.
    ``busy`` adds ``BUSY``: eight NØD and HASTER on the wall, two municipalities silent."""
    lab = directory / "lab"
    run(cli, directory, f"lab setup {lab} --scenario {scenario}")
    for node, line in TRAFFIC + (BUSY if busy else []):
        run(cli, lab / node, "send " + line)
    carry(lab, "HOL")
    return lab / "HOL"
