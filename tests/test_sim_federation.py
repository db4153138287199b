"""A federation in the simulator: a region's broker bridged to the county governor's.

The county governor's home for the region (SF) is IP-only on the county broker;
the region's broker bridges to it (``[mesh] bridged``, ``bridge_latency``), as
``relay broker config --bridge`` sets up for real (``tests/test_federation.py``).
A cut bridge holds up what crosses it and nothing else; when it is back, the
sync brings across what was written meanwhile.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from relay.errors import ValidationError
from relay.sim import scenario
from relay.sim.runner import Simulation

FEDERATED = """
[mesh]
seed = {seed}
duration = "2h"
ip = ["RIN", "HOL", "SF"]
bridged = ["SF"]
bridge_latency = 0.8

[[node]]
id = "MOD"

[[node]]
id = "RIN"

[[node]]
id = "HOL"

[[node]]
id = "SF"
radio = false

[[link]]
a = "MOD"
b = "RIN"
loss = 0.1

[[link]]
a = "RIN"
b = "HOL"
loss = 0.1

[[event]]
at = "5m"
send = {{ from = "HOL", kind = "SITREP", priority = "HASTER", to = "SF", text = "Hole: flom i sentrum." }}

[[event]]
at = "20m"
bridge_down = true

[[event]]
at = "25m"
send = {{ from = "MOD", kind = "SITREP", priority = "HASTER", to = "SF", text = "Modum: alle linjer nede." }}

[[event]]
at = "26m"
send = {{ from = "RIN", kind = "MELDING", priority = "RUTINE", to = "HOL", text = "Ringerike: rutine." }}

[[event]]
at = "80m"
bridge_up = true
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_cut_bridge_holds_up_only_what_crosses_it_and_loses_nothing(seed: int) -> None:
    report = Simulation(scenario.parse(tomllib.loads(FEDERATED.format(seed=seed)), Path("."), "federation")).run()
    assert report["converged"]
    delivered = {m["id"]: m["delivered"] for m in report["messages"]}  # type: ignore[attr-defined]
    assert delivered["HOL-0001"]["SF"] - 300 < 5  # across the bridge while it is up
    assert delivered["MOD-0001"]["SF"] > 80 * 60  # held up by the cut...
    assert delivered["MOD-0001"]["SF"] < 80 * 60 + 600  # ...and across within minutes of its return
    assert delivered["MOD-0001"]["HOL"] < 80 * 60  # the region's own traffic does not wait for the bridge
    assert delivered["RIN-0001"]["HOL"] < 80 * 60
    assert report["bridge_frames"] > 0


def test_a_bridged_node_must_be_on_ip() -> None:
    text = FEDERATED.format(seed=1).replace('bridged = ["SF"]', 'bridged = ["MOD"]')
    with pytest.raises(ValidationError, match="bridged"):
        scenario.parse(tomllib.loads(text), Path("."), "federation")
