"""Firmware pinned and set (relay.deploy.policy): the versions relay is tested against, and
every 2.7/2.8 setting that could let a radio drop or delay relay's frames."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from relay.deploy import firmware as fw
from relay.deploy import policy
from tests.test_deploy import NODES_DIR, REGION_FILE, fake_meshtastic, invoke

REGION = REGION_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def plan() -> fw.RegionPlan:
    return fw.load_region(REGION)


def hill(plan: fw.RegionPlan) -> dict[str, Any]:
    return copy.deepcopy(fw.render_node(plan, plan.site("GYR")))


def test_the_region_names_the_tested_firmware_and_a_2_8_radio_carries_the_settings(plan: fw.RegionPlan) -> None:
    assert plan.tested == policy.TESTED_FIRMWARE == ("2.7.26", "2.8.0") and plan.firmware == "2.8.0"
    gyr = fw.render_node(plan, plan.site("GYR"))
    assert gyr["config"]["device"] == {**gyr["config"]["device"], "role": "ROUTER", "rebroadcast_mode": "LOCAL_ONLY"}
    assert gyr["module_config"]["traffic_management"] == {
        "rate_limit_window_secs": 0,
        "rate_limit_max_packets": 0,
        "unknown_packet_threshold": 0,
    }
    assert gyr[policy.RELAY_KEY] == {
        "version": "2.8.0",
        "tested": ["2.7.26", "2.8.0"],
        "not_in_protobufs": {"config.security.packet_signature_policy": "PACKET_SIGNATURE_POLICY_COMPATIBLE"},
    }
    text = (NODES_DIR / "GYR.yaml").read_text(encoding="utf-8")
    assert "# Firmware: 2.8.0 (relay is tested against 2.7.26, 2.8.0)" in text
    assert "traffic_management:\n    rate_limit_window_secs: 0\n" in text
    assert fw.plan_problems(plan) == []


def test_a_2_7_site_gets_no_2_8_settings() -> None:
    text = REGION.replace('kind = "repeater"\n', 'kind = "repeater"\nfirmware = "2.7.26"\n', 1)
    plan = fw.load_region(text)
    gyr = fw.render_node(plan, plan.site("GYR"))
    assert "traffic_management" not in gyr["module_config"]
    assert gyr[policy.RELAY_KEY] == {"version": "2.7.26", "tested": ["2.7.26", "2.8.0"]}
    assert fw.plan_problems(plan) == []


def test_the_protobufs_have_traffic_management_but_not_the_signing_policy() -> None:
    from meshtastic.protobuf import config_pb2, module_config_pb2

    traffic = module_config_pb2.ModuleConfig.TrafficManagementConfig.DESCRIPTOR.fields_by_name
    assert set(policy.TRAFFIC_OFF) <= set(traffic)
    assert "packet_signature_policy" not in config_pb2.Config.SecurityConfig.DESCRIPTOR.fields_by_name


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"role": "REPEATER"}, "REPEATER is deprecated: since firmware 2.7.11 it silently becomes CLIENT"),
        ({"role": "ROUTER_CLIENT"}, "ROUTER_CLIENT is deprecated"),
        ({"role": "CLIENT_MUTE"}, "CLIENT_MUTE on a hill: it must be ROUTER"),
        ({"rebroadcast_mode": "CORE_PORTNUMS_ONLY"}, "is CORE_PORTNUMS_ONLY: it would not relay relay's PRIVATE_APP"),
        ({"rebroadcast_mode": "KNOWN_ONLY"}, "is KNOWN_ONLY"),
        ({"rebroadcast_mode": "NONE"}, "is NONE"),
        ({"rebroadcast_mode": None}, "is not set (a new ROUTER gets CORE_PORTNUMS_ONLY)"),
    ],
)
def test_the_checker_refuses_a_hill_that_would_drop_relays_frames(
    plan: fw.RegionPlan, change: dict[str, Any], expected: str
) -> None:
    node = hill(plan)
    for key, value in change.items():
        if value is None:
            node["config"]["device"].pop(key)
        else:
            node["config"]["device"][key] = value
    problems = fw.node_problems(node, plan.site("GYR"))
    assert any(expected in p for p in problems), problems


def test_the_checker_refuses_rate_limits_strict_signing_and_unknown_packet_drops(plan: fw.RegionPlan) -> None:
    node = hill(plan)
    node["module_config"]["traffic_management"].update(rate_limit_window_secs=300, rate_limit_max_packets=60)
    [problem] = fw.node_problems(node, plan.site("GYR"), preset=plan.radio.preset)
    assert "at most 60 per 5-minute window, one store may send 730 frames in one" in problem
    node = hill(plan)
    node["module_config"]["traffic_management"]["unknown_packet_threshold"] = 5
    assert "unknown_packet_threshold" in fw.node_problems(node, plan.site("GYR"))[0]
    for where in ("GYR", "MOD"):  # STRICT on any radio: unsigned frames never reach its store either
        node = copy.deepcopy(fw.render_node(plan, plan.site(where)))
        node[policy.RELAY_KEY]["not_in_protobufs"]["config.security.packet_signature_policy"] = policy.STRICT_POLICY
        assert "STRICT drops every packet the firmware did not sign" in fw.node_problems(node, plan.site(where))[0]
    assert policy.frames_per_rate_window(plan.radio.preset) > policy.RATE_MAX_PACKETS  # no finite limit is safe


def test_render_refuses_a_repeater_role_and_an_untested_firmware(tmp_path: Path) -> None:
    region = tmp_path / "region.toml"
    region.write_text(REGION.replace('role = "ROUTER"', 'role = "REPEATER"', 1))
    result = invoke("render", region, "--out", tmp_path / "nodes")
    assert result.exit_code == 1 and "GYR: device.role REPEATER is deprecated" in result.stderr
    assert not (tmp_path / "nodes").exists()
    region.write_text(REGION.replace('version = "2.8.0"', 'version = "2.6.11"'))
    result = invoke("render", region, "--out", tmp_path / "nodes")
    assert "firmware 2.6.11 is not one relay is tested against (2.7.26, 2.8.0)" in result.stderr


FAKE = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_OUT/calls"
exit 0
"""


def test_apply_sets_the_rebroadcast_mode_again_on_a_router_and_names_the_2_8_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = fake_meshtastic(tmp_path, monkeypatch, FAKE)
    result = invoke("apply", NODES_DIR / "GYR.yaml", "--port", "/dev/meshtastic", "--psk-file", key)
    assert result.exit_code == 0, result.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0].startswith("--port /dev/meshtastic --configure ")
    assert calls[1] == "--port /dev/meshtastic --set device.rebroadcast_mode LOCAL_ONLY"
    assert result.stdout.splitlines()[1:] == [
        "device.rebroadcast_mode satt til LOCAL_ONLY igjen (en ny ROUTER får CORE_PORTNUMS_ONLY).",
        "Sjekk for hånd (fastvare 2.8, ukjent for meshtastic-biblioteket her): "
        "config.security.packet_signature_policy = PACKET_SIGNATURE_POLICY_COMPATIBLE",
    ]
