"""Field deployment: the radios' configuration, the systemd unit and udev rule, the scripts.

* The renderer's YAML for every site parses, matches the committed files, uses only
  fields of meshtastic's protobufs, and is read by meshtastic's own ``--configure`` code.
* The checks refuse what Norway's band rules forbid (frequency, e.r.p., duty cycle, hops).
* ``relay firmware`` render / keygen / apply, the latter against a stand-in meshtastic.
* ``hw/relay.service`` passes ``systemd-analyze verify`` (or at least parses with its
  hardening), ``hw/*.sh`` pass shellcheck, where those tools exist.
* ``hw/make-bundle.sh`` builds a bundle from prepared wheels; ``hw/provision.sh`` installs it
  into a directory tree, dry and for real, twice (idempotent), creating a real node.
* ``hw/backup.sh`` + ``hw/restore.sh`` keep key and store and raise the sequence floor.
"""

from __future__ import annotations

import base64
import configparser
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from relay.cli.firmware import firmware
from relay.cli.main import RelayGroup
from relay.core import wire
from relay.core.airtime import packet_airtime
from relay.core.model import Kind, Message
from relay.deploy import firmware as fw
from relay.deploy import policy, schema
from relay.edge import dictionaries
from relay.edge.home import Home
from relay.errors import ConfigError
from tests import system_tools

REPO = Path(__file__).resolve().parents[1]
HW = REPO / "hw"
REGION_FILE = REPO / "firmware-config" / "region.toml"
NODES_DIR = REPO / "firmware-config" / "nodes"
T0 = datetime(2026, 5, 29, 12, 0, tzinfo=UTC)
ENV = {"RELAY_LANG": "nb", "LANG": "nb_NO.UTF-8"}


@pytest.fixture(scope="module")
def plan() -> fw.RegionPlan:
    return fw.load_region(REGION_FILE.read_text(encoding="utf-8"))


def leaves(mapping: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            yield from ((f"{key}.{k}", v) for k, v in leaves(value))
        else:
            yield key, value


def node_with(plan: fw.RegionPlan, site_id: str, **lora: object) -> dict[str, Any]:
    node = fw.render_node(plan, plan.site(site_id))
    node["config"]["lora"].update(lora)
    return node


# --- the renderer ------------------------------------------------------------------------


def test_every_site_renders_to_yaml_that_parses_and_matches_the_committed_file(plan: fw.RegionPlan) -> None:
    assert {s.id for s in plan.sites} >= {"RIN", "HOL", "JEV", "MOD", "KRO", "SIG", "SF", "POL"}
    assert {s.kind for s in plan.sites} == {"town_hall", "repeater", "portable"}
    for site in plan.sites:
        text = fw.render_yaml(plan, site)
        assert fw.parse_yaml(text) == fw.render_node(plan, site)
        committed = NODES_DIR / f"{site.id}.yaml"
        assert committed.read_text(encoding="utf-8") == text, f"re-render {committed.name}: relay firmware render"
    assert sorted(p.stem for p in NODES_DIR.glob("*.yaml")) == sorted(s.id for s in plan.sites)


def test_roles_and_the_settings_that_save_airtime(plan: fw.RegionPlan) -> None:
    roles = {s.id: fw.render_node(plan, s)["config"]["device"]["role"] for s in plan.sites}
    assert {roles[n] for n in ("RIN", "HOL", "JEV", "MOD", "KRO", "SIG", "SF")} == {"CLIENT_MUTE"}
    assert roles["POL"] == "CLIENT_MUTE"
    assert {roles[s.id] for s in plan.sites if s.kind == "repeater"} == {"ROUTER"}
    for site in plan.sites:
        node = fw.render_node(plan, site)
        config, modules = node["config"], node["module_config"]
        assert config["device"]["rebroadcast_mode"] == "LOCAL_ONLY"
        assert config["device"]["node_info_broadcast_secs"] >= 3 * 3600
        assert config["position"]["position_broadcast_smart_enabled"] is False
        assert config["position"]["position_broadcast_secs"] >= 12 * 3600
        assert modules["telemetry"]["device_telemetry_enabled"] is False
        assert modules["telemetry"]["device_update_interval"] >= 12 * 3600
        assert not any(modules[m]["enabled"] for m in ("neighbor_info", "mqtt", "store_forward", "range_test"))
        assert config["lora"]["ignore_mqtt"] is True
        assert node["channel_url"] == fw.channel_placeholder("ringerike")


def test_the_region_file_is_checked_as_it_is_read() -> None:
    good = REGION_FILE.read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="unique"):
        fw.load_region(good.replace('id = "HOL"', 'id = "RIN"'))
    with pytest.raises(ConfigError, match="kind must be"):
        fw.load_region(good.replace('kind = "portable"', 'kind = "pocket"'))
    with pytest.raises(ConfigError, match="missing tx_power_dbm"):
        fw.load_region(good.replace("tx_power_dbm = 22\n", "", 1))
    with pytest.raises(ConfigError, match="channel_name"):
        fw.load_region(good.replace('channel_name = "ringerike"', 'channel_name = "ringerike-krise"'))


# --- the protobufs -------------------------------------------------------------------------


def test_every_key_is_a_field_of_the_meshtastic_protobufs(plan: fw.RegionPlan) -> None:
    from meshtastic.protobuf import clientonly_pb2, config_pb2, module_config_pb2

    roots = {"config": config_pb2.Config.DESCRIPTOR, "module_config": module_config_pb2.ModuleConfig.DESCRIPTOR}
    profile = clientonly_pb2.DeviceProfile.DESCRIPTOR.fields_by_name
    for site in plan.sites:
        node = fw.parse_yaml((NODES_DIR / f"{site.id}.yaml").read_text(encoding="utf-8"))
        assert all(schema.PROFILE_KEYS[key] in profile for key in node if key != policy.RELAY_KEY)
        for top, descriptor in roots.items():
            for section, values in node[top].items():
                message = descriptor.fields_by_name[section].message_type
                for name, value in values.items():
                    field = message.fields_by_name.get(name)
                    assert field is not None, f"{site.id}: {top}.{section}.{name}"
                    if field.enum_type is not None:
                        assert value in field.enum_type.values_by_name, f"{site.id}: {section}.{name}={value}"
        assert schema.schema_problems(node) == []


def test_the_schema_check_finds_unknown_keys_values_and_types(plan: fw.RegionPlan) -> None:
    node = fw.render_node(plan, plan.site("RIN"))
    node["config"]["lora"]["modem_speed"] = 3
    node["config"]["device"]["role"] = "BASE_STATION"
    node["config"]["bluetooth"]["enabled"] = "no"
    node["config"]["radio"] = {}
    node["module_config"]["telemetry"]["device_update_interval"] = -1
    node["channels"] = []
    problems = schema.schema_problems(node)
    assert any("config.lora.modem_speed is not a field of meshtastic.protobuf.Config.LoRaConfig" in p for p in problems)
    assert any("config.device.role: 'BASE_STATION' is not one of" in p for p in problems)
    assert "config.bluetooth.enabled: 'no' is not true/false" in problems
    assert any(p.startswith("config.radio is not a section") for p in problems)
    assert "module_config.telemetry.device_update_interval: -1 is negative" in problems
    assert "top-level key 'channels' is not one meshtastic --configure reads" in problems


def test_meshtastic_reads_the_filled_yaml_setting_for_setting(plan: fw.RegionPlan) -> None:
    """meshtastic's own YAML import (``--configure``) takes every setting, and the URL carries the key."""
    from meshtastic.__main__ import _profile_from_yaml
    from meshtastic.protobuf import apponly_pb2

    psk = bytes(range(32))
    for site in plan.sites:
        node = fw.render_node(plan, site)
        filled = fw.parse_yaml(fw.filled_yaml(node, psk))
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):  # the library prints "Set ..." per setting
            profile = _profile_from_yaml(filled)
        settings = [k for k, _ in leaves({"c": node["config"], "m": node["module_config"]})]
        assert printed.getvalue().count("Set ") == len(settings), printed.getvalue()
        assert (profile.long_name, profile.short_name) == (site.name, site.id[:4])
        lora = profile.config.lora
        assert (lora.bandwidth, lora.spread_factor, lora.coding_rate, lora.hop_limit) == (62, 8, 8, 2)
        assert lora.override_frequency == pytest.approx(869.6165, abs=1e-4)
        assert lora.tx_power == site.tx_power_dbm
        assert profile.config.device.role == profile.config.device.Role.Value(site.role)
        encoded = profile.channel_url.split("/#")[1]
        channel_set = apponly_pb2.ChannelSet.FromString(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        assert [(s.name, s.psk) for s in channel_set.settings] == [("ringerike", psk)]
        assert not channel_set.settings[0].HasField("module_settings")  # position precision 0: no positions
        assert channel_set.lora_config == lora  # setURL writes the same LoRa settings


def test_an_unfilled_file_cannot_configure_a_radio(plan: fw.RegionPlan) -> None:
    node = fw.render_node(plan, plan.site("MOD"))
    assert "/#" not in node["channel_url"]  # meshtastic's setURL stops at "Invalid URL"
    filled = fw.fill_channel(node, bytes(range(32)))
    with pytest.raises(ConfigError, match="no channel placeholder"):
        fw.fill_channel(filled, bytes(range(32)))


# --- the law -------------------------------------------------------------------------------


def test_the_plan_is_lawful_for_norway(plan: fw.RegionPlan) -> None:
    assert fw.plan_problems(plan) == []
    for site in plan.sites:
        node = fw.render_node(plan, site)
        low, high = fw.channel_edges(node, plan.radio.tolerance_ppm) or (0, 0)
        assert 869.400 <= low < high <= 869.650
        assert high - low == pytest.approx(0.0625 + 2 * 869.6165 * 2e-6)
        assert low - fw.AMS_MHZ >= 0.025  # clear of the AMS meters
        assert site.erp_dbm <= 27.0
        assert fw.dbm_to_mw(site.erp_dbm) <= 500
        assert node["config"]["lora"]["override_duty_cycle"] is False
        assert node["config"]["lora"]["region"] == "EU_868"
        assert 0 <= node["config"]["lora"]["hop_limit"] <= 7
    # The README's numbers: a 125-byte relay message as long on air as with LONG_FAST.
    assert packet_airtime(125, plan.radio.preset) == pytest.approx(1.361, abs=0.001)
    assert packet_airtime(231, plan.radio.preset) == pytest.approx(2.246, abs=0.001)


@pytest.mark.parametrize(
    ("change", "site_id", "expected"),
    [
        ({"override_frequency": 869.64}, "RIN", "leaves the band 869.400-869.650"),
        ({"override_frequency": 869.41}, "RIN", "leaves the band 869.400-869.650"),
        ({"override_frequency": 869.618}, "RIN", "leaves the band"),  # the community's frequency, at 2 ppm
        ({"override_frequency": 869.525}, "RIN", "AMS meters"),
        ({"override_frequency": 0.0}, "RIN", "override_frequency and bandwidth must be set"),
        ({"use_preset": True, "modem_preset": "LONG_FAST", "override_frequency": 869.525}, "RIN", "leaves the band"),
        ({"tx_power": 24}, "GYR", "e.r.p. 28.0 dBm (631 mW)"),
        ({"tx_power": 0}, "GYR", "e.r.p. 31.0 dBm"),  # 0 = the firmware's 27 dBm
        ({"hop_limit": 8}, "RIN", "lora.hop_limit 8 is outside 0-7"),
        ({"override_duty_cycle": True}, "RIN", "10 % duty-cycle limit"),
        ({"region": "US"}, "RIN", "must be EU_868"),
    ],
)
def test_the_checks_refuse_what_the_band_rules_forbid(
    plan: fw.RegionPlan, change: dict[str, object], site_id: str, expected: str
) -> None:
    node = node_with(plan, site_id, **change)
    problems = fw.lawfulness_problems(node, plan.site(site_id))
    assert any(expected in p for p in problems), problems


def test_the_edge_case_at_869_618_depends_only_on_the_oscillator_tolerance(plan: fw.RegionPlan) -> None:
    node = node_with(plan, "RIN", override_frequency=869.618)
    assert fw.lawfulness_problems(node, plan.site("RIN"), tolerance_ppm=0.0) == []
    assert fw.lawfulness_problems(node, plan.site("RIN"), tolerance_ppm=2.0) != []


def test_an_unlawful_site_stops_the_whole_render(plan: fw.RegionPlan) -> None:
    text = REGION_FILE.read_text(encoding="utf-8").replace("antenna_gain_dbi = 8.15", "antenna_gain_dbi = 11.15")
    problems = fw.plan_problems(fw.load_region(text))
    assert [p.split(":")[0] for p in problems] == ["GYR", "NFJ"]
    assert "e.r.p. 29.0 dBm (794 mW)" in problems[0]


# --- the channel key -----------------------------------------------------------------------


def test_channel_keys_are_random_and_well_known_keys_are_refused() -> None:
    line = fw.new_psk(lambda n: bytes(range(7, 7 + n)))
    assert fw.read_psk(line) == bytes(range(7, 39))
    assert fw.read_psk(line.removeprefix("base64:") + "\n") == bytes(range(7, 39))
    assert len(fw.read_psk(fw.new_psk())) == 32
    for bad, reason in [
        ("base64:AQ==", "1 bytes"),
        ("base64:" + base64.b64encode(fw.MESHTASTIC_DEFAULT_KEY).decode(), "well-known"),
        ("base64:" + base64.b64encode(bytes(32)).decode(), "well-known"),
        ("not base64!", "does not hold base64"),
    ]:
        with pytest.raises(ConfigError, match=reason):
            fw.read_psk(bad)
    assert re.fullmatch(r"[0-9A-F]{4} [0-9A-F]{4} [0-9A-F]{4}", fw.psk_fingerprint(bytes(range(32))))


# --- relay firmware ... ---------------------------------------------------------------------


def invoke(*args: object) -> Result:
    """``relay firmware ...`` through relay's own error handling (main.py registers it the same way)."""
    root = RelayGroup(name="relay", commands=[firmware])
    return CliRunner(env=ENV).invoke(root, ["firmware", *[str(a) for a in args]])


def test_render_writes_one_file_per_site_and_reports_the_plan(tmp_path: Path, plan: fw.RegionPlan) -> None:
    result = invoke("render", REGION_FILE, "--out", tmp_path / "nodes")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"RIN   CLIENT_MUTE  22 dBm  e.r.p. 23.5 dBm (224 mW)  {tmp_path / 'nodes' / 'RIN.yaml'}"
    assert any(line.startswith("GYR   ROUTER       22 dBm  e.r.p. 26.0 dBm (398 mW)") for line in lines)
    assert lines[-1] == (
        "869.6165 MHz (kanal 869.5835-869.6495 MHz med ±2 ppm), SF8, 62.5 kHz, CR 4/8, hopp 2; "
        "sendetid 125 B 1.36 s, 231 B 2.25 s"
    )
    for site in plan.sites:
        assert (tmp_path / "nodes" / f"{site.id}.yaml").read_text() == (NODES_DIR / f"{site.id}.yaml").read_text()


def test_render_refuses_an_unlawful_region_with_one_line(tmp_path: Path) -> None:
    region = tmp_path / "region.toml"
    region.write_text(REGION_FILE.read_text(encoding="utf-8").replace("hop_limit = 2", "hop_limit = 8"))
    result = invoke("render", region, "--out", tmp_path / "nodes")
    assert result.exit_code == 1
    assert result.stderr.startswith("Feil: RIN: lora.hop_limit 8 is outside 0-7; HOL: ")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "nodes").exists()


def test_keygen_writes_a_private_key_file_once(tmp_path: Path) -> None:
    key = tmp_path / "ringerike.psk"
    result = invoke("keygen", key)
    assert result.exit_code == 0, result.stderr
    psk = fw.read_psk(key.read_text())
    assert result.stdout == f"Kanalnøkkel skrevet til {key}. Fingeravtrykk: {fw.psk_fingerprint(psk)}\n"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = invoke("keygen", key)
    assert (again.exit_code, again.stderr) == (1, f"Feil: {key} finnes allerede; den overskrives ikke\n")
    assert fw.read_psk(key.read_text()) == psk


FAKE_MESHTASTIC = """#!/bin/sh
# Stands in for the meshtastic CLI: records its arguments and the YAML it was given.
printf '%s\\n' "$@" > "$FAKE_OUT/args"
yaml="$4"
cp "$yaml" "$FAKE_OUT/seen.yaml"
stat -c %a "$yaml" > "$FAKE_OUT/mode"
exit "${FAKE_EXIT:-0}"
"""


def fake_meshtastic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> Path:
    """``script`` stands in for the meshtastic CLI (it writes into $FAKE_OUT); returns a channel key file."""
    import relay.cli.firmware as cli_firmware

    fake = tmp_path / "meshtastic"
    fake.write_text(script)
    fake.chmod(0o755)
    monkeypatch.setattr(cli_firmware, "_meshtastic", lambda: str(fake))
    monkeypatch.setenv("FAKE_OUT", str(tmp_path))
    key = tmp_path / "k.psk"
    key.write_text(fw.new_psk() + "\n")
    return key


def test_apply_hands_meshtastic_a_private_temporary_yaml_with_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = fake_meshtastic(tmp_path, monkeypatch, FAKE_MESHTASTIC)
    node_file = NODES_DIR / "MOD.yaml"

    result = invoke("apply", node_file, "--port", "/dev/meshtastic", "--psk-file", key)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "MOD.yaml skrevet til radioen på /dev/meshtastic."
    args = (tmp_path / "args").read_text().splitlines()
    assert args[:3] == ["--port", "/dev/meshtastic", "--configure"]
    assert not Path(args[3]).exists()  # the key-bearing copy is gone
    assert (tmp_path / "mode").read_text().strip() == "600"
    seen = fw.parse_yaml((tmp_path / "seen.yaml").read_text())
    assert seen["channel_url"].startswith("https://meshtastic.org/e/#")
    assert {k: v for k, v in seen.items() if k != "channel_url"} == {
        k: v for k, v in fw.parse_yaml(node_file.read_text()).items() if k != "channel_url"
    }

    monkeypatch.setenv("FAKE_EXIT", "3")
    failed = invoke("apply", node_file, "--port", "/dev/meshtastic", "--psk-file", key)
    assert (failed.exit_code, failed.stderr) == (1, "Feil: meshtastic avsluttet med kode 3\n")


def test_apply_dry_run_shows_the_command_and_needs_no_radio(tmp_path: Path) -> None:
    key = tmp_path / "k.psk"
    key.write_text(fw.new_psk())
    result = invoke("apply", NODES_DIR / "POL.yaml", "--port", "/dev/ttyACM0", "--psk-file", key, "--dry-run")
    assert result.exit_code == 0, result.stderr
    command, fingerprint = result.stdout.splitlines()
    assert command.endswith("meshtastic --port /dev/ttyACM0 --configure '<POL.yaml med kanalnøkkel>'")
    assert fingerprint == "Kanalnøkkelens fingeravtrykk: " + fw.psk_fingerprint(fw.read_psk(key.read_text()))
    missing = invoke("apply", NODES_DIR / "POL.yaml", "--port", "/dev/ttyACM0")
    assert (missing.exit_code, missing.stderr) == (1, "Feil: kanalnøkkelen mangler: gi --psk-file FIL\n")


def test_apply_refuses_an_unlawful_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "RIN.yaml"
    text = (NODES_DIR / "RIN.yaml").read_text()
    bad.write_text(text.replace("override_frequency: 869.6165", "override_frequency: 869.5"))
    result = invoke("apply", bad, "--port", "/dev/ttyACM0", "--dry-run")
    assert result.exit_code == 1
    assert "leaves the band" not in result.stderr and "AMS meters" in result.stderr


def test_the_cli_modules_do_not_import_meshtastic_or_yaml() -> None:
    code = (
        "import sys, relay.cli.firmware, relay.deploy.firmware;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('meshtastic', 'yaml'));"
        "print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


# --- systemd, udev, chrony -----------------------------------------------------------------


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((HW / "relay.service").read_text())
    return parser


def test_the_unit_parses_and_carries_its_hardening() -> None:
    u = unit()
    service = u["Service"]
    assert service["ExecStart"] == "/opt/relay/venv/bin/relay --home /var/lib/relay daemon"
    expected = {
        "User": "relay",
        "DynamicUser": "no",
        "StateDirectory": "relay",
        "SupplementaryGroups": "dialout",
        "Restart": "on-failure",
        "RestartSec": "5",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "DevicePolicy": "closed",
    }
    assert {k: service.get(k) for k in expected} == expected
    device_allow = [
        line.split("=", 1)[1]
        for line in (HW / "relay.service").read_text().splitlines()
        if line.startswith("DeviceAllow=")
    ]
    assert "/dev/meshtastic rw" in device_allow
    assert u["Install"]["WantedBy"] == "multi-user.target"


def test_the_board_unit_serves_loopback_from_the_same_home_without_the_radio() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((HW / "relay-board.service").read_text())
    service = parser["Service"]
    assert service["ExecStart"] == "/opt/relay/venv/bin/relay --home /var/lib/relay board --listen 127.0.0.1:8080"
    assert (service["User"], service["StateDirectory"], service["PrivateDevices"]) == ("relay", "relay", "yes")
    assert "SupplementaryGroups" not in service  # no dialout: it never touches the radio
    assert parser["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: give it a root with the installed layout.
    units = next((p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()), None)
    if units is None:
        pytest.skip("no system unit directory to verify against")
    root = tmp_path / "root"
    shutil.copytree(units, root / "usr/lib/systemd/system", symlinks=True)
    exe = root / "opt/relay/venv/bin/relay"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(HW / "relay.service", root / "etc/systemd/system/relay.service")
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "relay.service"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "relay.service" not in result.stderr, result.stderr

    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(HW / "relay.service")], capture_output=True, text=True
    )
    if security.returncode == 0:
        exposure = re.search(r"Overall exposure level for relay.service: ([0-9.]+)", security.stdout)
        assert exposure is not None and float(exposure.group(1)) <= 2.5, security.stdout[-300:]


def test_the_udev_rule_names_every_common_radio_chip() -> None:
    rules = [
        line for line in (HW / "99-meshtastic.rules").read_text().splitlines() if line and not line.startswith("#")
    ]
    chips = set()
    for line in rules:
        if "idVendor" not in line:
            continue
        vendor = re.search(r'ATTRS\{idVendor\}=="([0-9a-f]{4})"', line)
        product = re.search(r'ATTRS\{idProduct\}=="([0-9a-f]{4})"', line)
        assert vendor and product, line
        chips.add(f"{vendor.group(1)}:{product.group(1)}")
        for part in ('SYMLINK+="meshtastic"', 'MODE="0660"', 'GROUP="dialout"', 'ENV{ID_MM_DEVICE_IGNORE}="1"'):
            assert part in line, line
    assert chips == {"10c4:ea60", "1a86:55d4", "1a86:7523", "303a:1001", "239a:8029"}
    assert 'SUBSYSTEM!="tty", GOTO="meshtastic_end"' in rules and 'LABEL="meshtastic_end"' in rules


def test_chrony_never_claims_a_clock_it_does_not_have() -> None:
    lines = [
        line.split()[0]
        for line in (HW / "chrony-relay.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {"rtcsync", "makestep", "refclock", "manual"} <= set(lines)
    assert "local" not in lines


SCRIPTS = sorted(HW.glob("*.sh"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_scripts_are_clean_under_shellcheck(path: Path) -> None:
    shellcheck = system_tools.require(shutil.which("shellcheck"), "shellcheck", "apt-get install shellcheck")
    result = subprocess.run([shellcheck, "--severity=style", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_scripts_are_executable_bash_with_strict_mode() -> None:
    assert {s.name for s in SCRIPTS} == {"backup.sh", "make-bundle.sh", "provision.sh", "restore.sh"}
    for script in SCRIPTS:
        text = script.read_text()
        assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text
        assert script.stat().st_mode & stat.S_IXUSR


# --- bundle and provisioning ---------------------------------------------------------------


def fake_relay_wheel(directory: Path) -> Path:
    """A wheel named relay whose venv sees this checkout and this venv's packages.

    Real enough for provisioning: pip installs it offline, it gives the venv a real
    ``relay`` console script, and ``import relay`` works in the venv's python.  The real
    dependency wheels would need the network to build.
    """
    purelib = sysconfig.get_paths()["purelib"]
    files = {
        "relay_checkout.pth": f"{REPO}\n{purelib}\n",
        "relay-0.1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: relay\nVersion: 0.1.0\n",
        "relay-0.1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        "relay-0.1.0.dist-info/entry_points.txt": "[console_scripts]\nrelay = relay.cli:main\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("relay-0.1.0.dist-info/RECORD,,")
    files["relay-0.1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / "relay-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return wheel


def sh_env() -> dict[str, str]:
    return {**os.environ, "PYTHON": sys.executable, "LANG": "C.UTF-8", "RELAY_LANG": "nb"}


def script(name: str, *args: object) -> subprocess.CompletedProcess[str]:
    """Run ``hw/NAME ARGS...`` with bash, this venv's python, output captured."""
    argv = ["bash", str(HW / name), *[str(a) for a in args]]
    return subprocess.run(argv, capture_output=True, text=True, env=sh_env())


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hw/make-bundle.sh, fed with prepared wheels (building the real ones needs the network)."""
    tmp = tmp_path_factory.mktemp("bundle")
    wheels = tmp / "wheelhouse"
    wheel = fake_relay_wheel(wheels)
    out = tmp / "relay-bundle"
    result = script("make-bundle.sh", "--out", out, "--wheels-from", wheels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith("==>")] == [
        f"==> [1/5] Wheels for Python {sys.version_info[0]}.{sys.version_info[1]} (native) into {out}/wheels",
        "==> [2/5] Provisioning files: hw/ and firmware-config/ (without keys)",
        "==> [3/5] System packages (debs/)",
        "==> [4/5] VERSION",
        "==> [5/5] Refuse keys, write SHA256SUMS",
    ]
    expected = ["hw/relay.service", "hw/relay-board.service", "hw/99-meshtastic.rules", "hw/provision.sh"]
    expected += ["hw/feltsjekkliste.md"]
    expected += ["firmware-config/nodes/MOD.yaml", "firmware-config/region.toml", "wheels/" + wheel.name]
    for name in expected:
        assert (out / name).is_file(), name
    assert not list(out.rglob("*.psk"))
    assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out).returncode == 0
    return out


def test_make_bundle_dry_run_shows_the_pip_commands(tmp_path: Path) -> None:
    native = script("make-bundle.sh", "--out", tmp_path / "b", "--dry-run")
    assert native.returncode == 0, native.stderr
    assert f"-m pip wheel --quiet {REPO} -w {tmp_path}/b/wheels" in native.stdout
    arm = script(
        "make-bundle.sh", "--out", tmp_path / "b", "--platform", "aarch64", "--python-version", "3.11", "--dry-run"
    )
    assert arm.returncode == 0, arm.stderr
    assert "--only-binary=:all: --platform manylinux_2_36_aarch64" in arm.stdout
    assert "--python-version 3.11" in arm.stdout
    assert not (tmp_path / "b").exists()


def provision(bundle: Path, root: Path, *extra: str, node: str = "MOD") -> subprocess.CompletedProcess[str]:
    common = ("--bundle", bundle, "--node", node, "--name", "Modum kommune", "--root", root, "--python", sys.executable)
    return script("provision.sh", *common, *extra)


STEPS = [
    "Check the bundle and the system",
    "Service user relay",
    "System packages from the bundle (chrony)",
    "Install relay into /opt/relay/venv (offline)",
    "Operator command /usr/local/bin/relay (runs relay as the service user)",
    "systemd units relay.service and relay-board.service",
    "udev rule: the radio as /dev/meshtastic",
    "Time keeping: chrony, RTC (ds3231)",
    "Node home /var/lib/relay for MOD",
    "Radio configuration (firmware-config/nodes/MOD.yaml)",
    "Enable and start relay.service and relay-board.service",
    "The node's public key (give it to the roster authority)",
]


def steps(output: str) -> list[str]:
    return [line.split("] ", 1)[1] for line in output.splitlines() if line.startswith("==> [")]


def test_provision_dry_run_shows_every_step_and_changes_nothing(bundle: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    key = tmp_path / "ringerike.psk"
    key.write_text(fw.new_psk())
    result = provision(bundle, root, "--dry-run", "--rtc", "ds3231", "--psk-file", str(key))
    assert result.returncode == 0, result.stdout + result.stderr
    assert steps(result.stdout) == STEPS
    out = result.stdout
    assert "bundle checksums OK" in out
    assert f"--no-index --find-links {bundle}/wheels --upgrade relay" in out
    assert "would install: /etc/systemd/system/relay.service (mode 0644)" in out
    assert "would install: /etc/systemd/system/relay-board.service (mode 0644)" in out
    assert "would install: /etc/udev/rules.d/99-meshtastic.rules (mode 0644)" in out
    assert "would install: /etc/chrony/conf.d/relay.conf (mode 0644)" in out
    assert "would add to /boot/firmware/config.txt: dtoverlay=i2c-rtc,ds3231" in out
    assert (
        f"{root}/opt/relay/venv/bin/relay --home {root}/var/lib/relay init --node MOD --name Modum\\ kommune "
        "--radio serial:///dev/meshtastic" in out
    )
    assert "skipped: the radio under --root" in out
    assert out.rstrip().endswith("provision: MOD done (dry run: nothing changed)")
    assert not root.exists()


def test_provision_dry_run_refuses_a_damaged_bundle(bundle: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "bundle"
    shutil.copytree(bundle, damaged)
    with (damaged / "hw" / "relay.service").open("a") as fh:
        fh.write("# changed\n")
    result = provision(damaged, tmp_path / "root", "--dry-run")
    assert result.returncode == 1
    assert "provision: the bundle is damaged (SHA256SUMS): copy it again" in result.stderr


def test_provision_installs_a_working_node_into_a_root_and_is_idempotent(bundle: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    first = provision(bundle, root, "--rtc", "ds3231", "--ntp", "ntp.kommune.local")
    assert first.returncode == 0, first.stdout + first.stderr
    assert steps(first.stdout) == STEPS

    home = Home(root / "var/lib/relay")
    config = home.config()
    assert (config.node_id, config.name, config.radio) == ("MOD", "Modum kommune", "serial:///dev/meshtastic")
    public = base64.b64encode(home.signer().public_key).decode()
    assert f"    node MOD: {public}" in first.stdout
    assert stat.S_IMODE(home.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.path.stat().st_mode) == 0o700
    for path, source in [
        ("etc/systemd/system/relay.service", HW / "relay.service"),
        ("etc/systemd/system/relay-board.service", HW / "relay-board.service"),
        ("etc/udev/rules.d/99-meshtastic.rules", HW / "99-meshtastic.rules"),
        ("etc/chrony/conf.d/relay.conf", HW / "chrony-relay.conf"),
        ("opt/relay/share/firmware-config/nodes/MOD.yaml", NODES_DIR / "MOD.yaml"),
    ]:
        assert (root / path).read_text() == source.read_text(), path
    assert (root / "etc/chrony/sources.d/relay-lan.sources").read_text() == "server ntp.kommune.local iburst\n"
    boot = (root / "boot/firmware/config.txt").read_text().splitlines()
    assert boot == ["dtparam=i2c_arm=on", "dtoverlay=i2c-rtc,ds3231"]
    assert "--hctosys" in (root / "etc/udev/rules.d/85-relay-rtc.rules").read_text()
    wrapper = root / "usr/local/bin/relay"
    assert wrapper.stat().st_mode & stat.S_IXUSR
    assert "exec sudo -u relay -- /opt/relay/venv/bin/relay --home /var/lib/relay" in wrapper.read_text()
    assert stat.S_IMODE((root / "etc/sudoers.d/relay").stat().st_mode) == 0o440
    if shutil.which("systemctl"):
        for unit_name in ("relay.service", "relay-board.service"):
            assert (root / "etc/systemd/system/multi-user.target.wants" / unit_name).is_symlink(), unit_name
    assert "skipped: useradd under --root" in first.stdout

    # The installed relay works on the new home: the venv's own console script.
    status = subprocess.run(
        [str(root / "opt/relay/venv/bin/relay"), "--home", str(home.path), "status", "--json"],
        capture_output=True,
        text=True,
        env=sh_env(),
    )
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert (report["node"], report["daemon"]["running"]) == ("MOD", False)

    second = provision(bundle, root, "--rtc", "ds3231", "--ntp", "ntp.kommune.local")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already set up for MOD: key kept" in second.stdout
    assert "unchanged: /etc/systemd/system/relay.service" in second.stdout
    assert "present in /boot/firmware/config.txt: dtoverlay=i2c-rtc,ds3231" in second.stdout
    assert f"    node MOD: {public}" in second.stdout
    assert (root / "boot/firmware/config.txt").read_text().count("ds3231") == 1

    other = provision(bundle, root, node="HOL")
    assert other.returncode == 1
    assert "provision: /var/lib/relay already belongs to node MOD, not HOL" in other.stderr


# --- backup and restore --------------------------------------------------------------------


def melding(origin: str, signer: Any) -> Any:
    def build(seq: int) -> wire.SignedMessage:
        msg = Message.create(kind=Kind.MELDING, origin=origin, seq=seq, created=T0, fields={"text": "Test av samband."})
        return wire.encode(msg, signer, dictionaries.current())

    return build


def test_backup_and_restore_keep_key_and_store_and_never_reuse_a_number(tmp_path: Path) -> None:
    old = Home.init(tmp_path / "old", "MOD", "Modum kommune", "serial:///dev/meshtastic")
    store = old.store()
    for _ in range(3):
        store.commit_local("MOD", melding("MOD", old.signer()), T0)
    digest = store.digest()
    store.close()

    archive = tmp_path / "MOD.tar.gz"
    backup = script("backup.sh", "--home", old.path, "--out", archive, "--python", sys.executable)
    assert backup.returncode == 0, backup.stderr
    assert "node=MOD" in backup.stdout and "max_own_seq=3" in backup.stdout
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600

    # After the backup the old node signed two more messages that reached other stores.
    store = old.store()
    for _ in range(2):
        store.commit_local("MOD", melding("MOD", old.signer()), T0)
    store.close()

    new_path = tmp_path / "replacement"
    restore = script("restore.sh", "--from", archive, "--home", new_path, "--python", sys.executable)
    assert restore.returncode == 0, restore.stderr
    assert restore.stdout.splitlines()[-1] == (
        "restore: MOD restored; highest own number held 3, next message MOD-1004"
    )
    new = Home(new_path)
    assert new.signer().public_key == old.signer().public_key
    assert new.config() == old.config()
    assert stat.S_IMODE(new.key_path.stat().st_mode) == 0o600
    store = new.store()
    try:
        assert store.digest() == digest
        signed = store.commit_local("MOD", melding("MOD", new.signer()), T0)
    finally:
        store.close()
    assert signed.message.seq == 1004  # far above 5, the old node's true last number

    # A second restore over a home needs --force, and keeps the old one aside.
    again = script("restore.sh", "--from", archive, "--home", new_path, "--python", sys.executable)
    assert again.returncode == 1
    assert again.stderr == f"restore: {new_path} already holds a node: --force moves it aside first\n"
    forced = script("restore.sh", "--from", archive, "--home", new_path, "--force", "--python", sys.executable)
    assert forced.returncode == 0, forced.stderr
    assert "next message MOD-1004" in forced.stdout  # the floor is from the archive: the aside home kept 1004
    assert len(list(tmp_path.glob("replacement.replaced-*"))) == 1


def test_restore_refuses_a_damaged_archive(tmp_path: Path) -> None:
    Home.init(tmp_path / "node", "HOL", "Hole kommune").store().close()
    archive = tmp_path / "HOL.tar.gz"
    assert (
        script("backup.sh", "--home", tmp_path / "node", "--out", archive, "--python", sys.executable).returncode == 0
    )
    work = tmp_path / "unpacked"
    work.mkdir()
    subprocess.run(["tar", "-C", str(work), "-xzf", str(archive)], check=True)
    (work / "relay-backup" / "roster.json").write_text("{}")  # not in SHA256SUMS, but relay.toml is:
    (work / "relay-backup" / "relay.toml").write_text('node_id = "XXX"\n')
    subprocess.run(["tar", "-C", str(work), "-czf", str(archive), "relay-backup"], check=True)
    result = script("restore.sh", "--from", archive, "--home", tmp_path / "r", "--python", sys.executable)
    assert result.returncode == 1
    assert "restore: the archive is damaged (SHA256SUMS)" in result.stderr
    assert not (tmp_path / "r").exists()
