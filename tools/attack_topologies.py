"""Where tools/measure_attacks.py plays its attacks: three topologies, one placement each.

Each topology is a scenario table (as ``tomllib`` reads a file) with the same
timeline: three messages in the first minutes (a SITREP at 2 min, a VARSEL at
4 min, a SITREP at 6 min) and a NØD at 20 minutes, 1 h in all.  The placement
names who does what; the attacks name them by role (``STOLEN``, ``OWNER``,
``AUTHORITY``) and ``placed`` puts the topology's stores in.

* ``modum``: ``examples/rogue-request-flood.toml`` as it is (the Modum exercise
  without its partition).  MAL hears Ringerike and Hole; Modum sends the NØD;
  Jevnaker's key is stolen; Statsforvalteren imports the revocation.
* ``field``: the nodes and links of ``examples/field-plan.toml`` (town halls that
  hear each other only through the radio-only hills GYR and NFJ), its own
  timeline left out for the one above.  MAL hears Gyrihaugen and Ringerike: a
  radio in Hønefoss reaches what Ringerike's reaches, and Gyrihaugen is the hill
  six of the eight stores hang on, as Ringerike is Modum's hub (a rogue beside a
  town hall that heard no hill would only test that town hall).  The NØD comes
  from Sigdal, behind Norefjell: two hops from the rogue, the farthest store, so
  it crosses the hill-to-hill link the rogue loads.  Stolen key, authority and
  the first minutes' senders as on Modum (JEV, SF; MOD, SF, HOL).
* ``geo16``: ``relay.bench.meshes.geometric(16, seed)``, a new mesh every seed.
  MAL hears the two stores of highest degree (ties: the lower id); the NØD comes
  from the store farthest from both in hops (ties: the lower id).  The first
  minutes' senders are the first three other stores by id; the second of them
  (who sends the VARSEL, as Statsforvalteren does on Modum) imports the
  revocation: the mesh has no authority of its own, and the simulator lets any
  store import the roster.  The stolen key is the first store by id that is
  none of these and not heard by the rogue (as Jevnaker on Modum).

The conflict-flood's stolen key (``OWNER``) is the third sender (HOL on Modum
and the field plan): it must have used numbers for a thief to conflict with.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relay.bench import meshes

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BASE = EXAMPLES / "rogue-request-flood.toml"
TOPOLOGIES = ("modum", "field", "geo16")
ROGUE_LOSS = 0.05  # MAL's links: close by, as on Modum


@dataclass(frozen=True)
class Placement:
    """Who is where on one topology."""

    rogue_links: dict[str, float]  # the stores (or hills) MAL hears
    senders: tuple[str, str, str]  # the first minutes' SITREP, VARSEL, SITREP
    nod_from: str
    stolen: str  # message-flood, seq-jump, revocation: a key that sent nothing
    authority: str  # imports the revocation

    @property
    def owner(self) -> str:
        """conflict-flood's stolen key: the third sender, whose numbers it conflicts with."""
        return self.senders[2]

    def describe(self) -> str:
        return (
            f"MAL hears {', '.join(self.rogue_links)}; NØD from {self.nod_from}; first minutes from "
            f"{', '.join(self.senders)}; stolen key {self.stolen} (conflict-flood: {self.owner}); "
            f"revocation imported at {self.authority}"
        )


def topology(name: str, seed: int) -> tuple[dict[str, Any], Placement]:
    """The scenario table (no rogue) and the placement of ``name`` for ``seed``."""
    base = tomllib.loads(BASE.read_text(encoding="utf-8"))
    base.pop("rogue", None)
    base["mesh"]["seed"] = seed
    if name == "modum":
        links = {"RIN": ROGUE_LOSS, "HOL": ROGUE_LOSS}
        return base, Placement(links, ("MOD", "SF", "HOL"), "MOD", "JEV", "SF")
    if name == "field":
        plan = tomllib.loads((EXAMPLES / "field-plan.toml").read_text(encoding="utf-8"))
        placement = Placement({"GYR": ROGUE_LOSS, "RIN": ROGUE_LOSS}, ("MOD", "SF", "HOL"), "SIG", "JEV", "SF")
        mesh = {**plan["mesh"], "seed": seed, "duration": base["mesh"]["duration"]}
        data = {"mesh": mesh, "node": plan["node"], "link": plan["link"]}
        return {**data, "event": timeline(base["event"], placement)}, placement
    if name == "geo16":
        return geo16(seed, base)
    raise SystemExit(f"unknown topology {name!r} (known: {', '.join(TOPOLOGIES)}, all)")


def timeline(events: list[dict[str, Any]], placement: Placement) -> list[dict[str, Any]]:
    """rogue-request-flood.toml's four sends, from this placement's senders."""
    assert len(events) == 4, "the base scenario's timeline changed"
    senders = (*placement.senders, placement.nod_from)
    return [{**e, "send": {**e["send"], "from": who}} for e, who in zip(events, senders, strict=True)]


def geo16(seed: int, base: dict[str, Any]) -> tuple[dict[str, Any], Placement]:
    mesh = meshes.geometric(16, seed)
    stores = sorted(mesh.store_nodes)
    neighbours = meshes.neighbour_sets(stores, mesh.links)
    heard = sorted(stores, key=lambda n: (-len(neighbours[n]), n))[:2]
    near = [meshes.hops_from(h, stores, mesh.links) for h in heard]
    nod_from = min(stores, key=lambda n: (-min(d[n] for d in near), n))
    others = [n for n in stores if n != nod_from]
    senders = (others[0], others[1], others[2])
    stolen = next(n for n in others if n not in senders and n not in heard)
    placement = Placement({h: ROGUE_LOSS for h in heard}, senders, nod_from, stolen, senders[1])
    data = {
        "mesh": {**base["mesh"], "hop_limit": mesh.hop_limit, "duty_cycle": mesh.duty_cycle},
        "node": [{"id": n.id, "name": n.name} for n in mesh.nodes],
        "link": [{"a": a, "b": b, "loss": loss} for (a, b), loss in ((sorted(k), v) for k, v in mesh.links.items())],
        "event": timeline(base["event"], placement),
    }
    return data, placement


def placed(value: Any, placement: Placement) -> Any:
    """An attack's keys and events with the roles (STOLEN, OWNER, AUTHORITY) filled in."""
    roles = {"STOLEN": placement.stolen, "OWNER": placement.owner, "AUTHORITY": placement.authority}
    if isinstance(value, dict):
        return {k: placed(v, placement) for k, v in value.items()}
    if isinstance(value, list):
        return [placed(v, placement) for v in value]
    return roles.get(value, value) if isinstance(value, str) else value
