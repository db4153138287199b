"""A lab on one machine: a home for each store node of a scenario, all trusting one lab roster.

``relay lab setup`` and the footprint benchmark make their homes with
``lab_homes``; the simulator's nodes (``runner.lab_roster``) trust a roster
built the same way, by ``store_roster``, from keys derived from the seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from relay.core.roster import Roster, RosterEntry
from relay.core.signing import Signer
from relay.edge import keys
from relay.edge.home import Home
from relay.sim import scenario as scenario_mod


def store_roster(
    scenario: scenario_mod.Scenario, region: str, authority: Signer, public_keys: Mapping[str, bytes], when: datetime
) -> Roster:
    """A roster signed by ``authority``, valid from ``when``: one entry for each store node of
    ``scenario`` (a radio-only repeater holds no key), with its key from ``public_keys``."""
    roster = Roster.create(region, authority, when)
    for node in scenario.nodes:
        if node.radio_only:
            continue
        entry = RosterEntry(node.id, node.name, node.role, public_keys[node.id], when)
        roster = roster.with_entry(entry, authority, when)
    return roster


def lab_homes(directory: Path, scenario_file: Path, exercise: bool, when: datetime) -> list[str]:
    """Create one home per store node of a scenario, all trusting one lab roster."""
    scenario = scenario_mod.load(scenario_file)
    directory.mkdir(parents=True, exist_ok=True)
    authority = keys.write_new(directory / "_authority" / "authority.key")
    public_keys = {}
    for node in scenario.nodes:
        if node.radio_only:
            continue
        h = Home.init(directory / node.id, node.id, node.name, exercise=exercise)
        public_keys[node.id] = h.signer().public_key
    r = store_roster(scenario, f"{scenario.name} (øvelse)", authority, public_keys, when)
    (directory / "_authority" / "roster.json").write_text(r.to_json(), encoding="utf-8")
    for node_id in public_keys:
        Home(directory / node_id).import_roster(r.to_json())
    return list(public_keys)
