"""examples/field-plan.toml is the region's radio plan (firmware-config/region.toml) as a scenario.

The scenario repeats what region.toml says (site ids and names, which sites are radio-only
hilltop repeaters, the hop limit), so these tests fail when the two drift apart.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from relay.sim import scenario
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
