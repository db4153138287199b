"""examples/field-plan.toml is the region's radio plan (firmware-config/region.toml) as a scenario.

The scenario repeats what region.toml says (site ids and names, which sites are radio-only
hilltop repeaters, the hop limit), so these tests fail when the two drift apart.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from relay.errors import ValidationError
from relay.sim import scenario
from relay.sim.runner import Simulation
from relay.sim.scenario import Scenario

REPO = Path(__file__).resolve().parents[1]
REGION = REPO / "firmware-config" / "region.toml"
FIELD_PLAN = REPO / "examples" / "field-plan.toml"

# The only direct links between store nodes: weak on purpose (firmware-config/README.md:
# a direct valley-to-valley link "is not something to plan on").
WEAK_DIRECT = {frozenset(("RIN", "HOL")), frozenset(("KRO", "SIG"))}


@pytest.fixture(scope="module")
def region() -> dict[str, Any]:
    return tomllib.loads(REGION.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sites(region: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(site["id"]): site for site in region["site"]}


@pytest.fixture(scope="module")
def plan() -> Scenario:
    return scenario.load(FIELD_PLAN)


def test_nodes_are_the_regions_sites(plan: Scenario, sites: dict[str, dict[str, Any]]) -> None:
    assert sorted(n.id for n in plan.nodes) == sorted(sites)


def test_radio_only_exactly_for_repeaters(plan: Scenario, sites: dict[str, dict[str, Any]]) -> None:
    radio_only = {n.id: n.radio_only for n in plan.nodes}
    assert radio_only == {site_id: site["kind"] == "repeater" for site_id, site in sites.items()}


def test_names_match_the_sites(plan: Scenario, sites: dict[str, dict[str, Any]]) -> None:
    assert {n.id: n.name for n in plan.nodes} == {site_id: site["name"] for site_id, site in sites.items()}


def test_hop_limit_is_the_regions(plan: Scenario, region: dict[str, Any]) -> None:
    assert plan.hop_limit == region["radio"]["hop_limit"]


def test_store_nodes_link_to_hills_but_for_the_weak_direct_links(plan: Scenario) -> None:
    hills = {n.id for n in plan.nodes if n.radio_only}
    stores = set(plan.store_nodes)
    direct = {link for link in plan.links if link <= stores}
    assert direct == WEAK_DIRECT
    hill_losses = [loss for link, loss in plan.links.items() if link & hills]
    assert all(plan.links[link] > max(hill_losses) for link in WEAK_DIRECT)
    for store in sorted(stores):
        assert any(store in link and link & hills for link in plan.links), f"{store} reaches no hill"


# --- playing it, with the defaults (no relay_hops, no tuning) -----------------------------


def test_the_field_plan_converges_with_the_defaults(plan: Scenario) -> None:
    report = Simulation(plan).run()

    assert report["converged"], report
    nod = next(m for m in report["messages"] if m["priority"] == "NØD")  # type: ignore[union-attr]
    stores = set(plan.store_nodes)
    assert set(nod["delivered"]) == stores
    # Everyone but Modum (cut off until 2:30) holds the police's NØD within two minutes.
    assert max(t for n, t in nod["delivered"].items() if n != "MOD") - nod["sent_at_s"] < 120
    nodes: dict[str, dict[str, Any]] = report["nodes"]  # type: ignore[assignment]
    for hill in ("GYR", "NFJ"):
        assert nodes[hill]["max_hourly_duty"] < 0.05  # well under the hill's 10 %


def star(stores: int, loss: float = 0.1) -> dict[str, object]:
    """``stores`` town halls around one radio-only repeater, a message from each."""
    ids = [f"N{chr(ord('A') + i)}" for i in range(stores)]
    return {
        "mesh": {"duration": "1h"},
        "node": [{"id": "HILL", "radio_only": True}, *({"id": n} for n in ids)],
        "link": [{"a": n, "b": "HILL", "loss": loss} for n in ids],
        "event": [
            {"at": 60 + 20 * i, "send": {"from": n, "kind": "MELDING", "text": f"Status fra {n}: alt rolig."}}
            for i, n in enumerate(ids)
        ],
    }


def test_a_star_around_one_radio_only_repeater_converges_with_scenario_defaults() -> None:
    s = scenario.parse(star(8), REPO / "examples")
    report = Simulation(s).run()

    assert report["converged"], report
    assert all(len(m["delivered"]) == 8 for m in report["messages"])  # type: ignore[union-attr]


def test_a_store_no_path_reaches_is_refused() -> None:
    data = star(3)
    data["node"] = [*data["node"], {"id": "NZ"}]  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="NZ kan ikke nå"):
        scenario.parse(data, REPO / "examples")


def test_more_repeaters_in_a_row_than_the_hop_limit_is_refused() -> None:
    data: dict[str, object] = {
        "mesh": {"hop_limit": 1},
        "node": [{"id": "NA"}, {"id": "R1", "radio_only": True}, {"id": "R2", "radio_only": True}, {"id": "NB"}],
        "link": [{"a": "NA", "b": "R1"}, {"a": "R1", "b": "R2"}, {"a": "R2", "b": "NB"}],
    }
    with pytest.raises(ValidationError, match="hop_limit 1"):
        scenario.parse(data, REPO / "examples")
    data["mesh"] = {"hop_limit": 2}
    assert scenario.parse(data, REPO / "examples").store_nodes == ("NA", "NB")
