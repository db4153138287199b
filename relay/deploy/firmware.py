"""Meshtastic device configuration for the region's radios: render, check, fill in the key.

``firmware-config/region.toml`` states the radio plan once (band, frequency,
modem, hop limit, channel name) and, per site, the radio's role, transmit
power, antenna gain and cable loss.  ``render_node`` turns a site into the
mapping ``meshtastic --configure`` reads (the keys of meshtastic's
``_profile_from_yaml``: ``owner``, ``owner_short``, ``channel_url``,
``config``, ``module_config``); ``render_yaml`` writes it with the e.r.p.
arithmetic in its header.

The channel key is in no file this module writes to the repository: the YAML
carries ``CHANNEL_PLACEHOLDER`` and ``fill_channel`` replaces it, at
provisioning time, with a channel URL built from a key file made by
``new_psk`` (``relay firmware keygen``).  An unfilled file makes the
meshtastic CLI stop at the channel URL ("Invalid URL") instead of configuring
a radio with a known key.

Two kinds of check:

* ``lawfulness_problems``: Norway's licence-free band 869.400-869.650 MHz --
  the whole channel inside it (centre ± half the bandwidth ± the oscillator
  tolerance), at most 500 mW e.r.p., the firmware's 10 % duty-cycle limit left
  on, hop limit ≤ 7 -- and the plan's own rule: clear of 869.525 MHz, where
  Norwegian AMS smart meters transmit.  Pure: no meshtastic, no I/O.
* ``schema_problems`` (``relay.deploy.schema``): every key is a field of
  meshtastic's protobufs, every value of the field's type.
* ``delivery_problems`` (``relay.deploy.policy``): nothing that would let a
  radio drop or delay relay's frames (role, rebroadcast mode, the 2.8 signing
  policy and Traffic Management), on firmware relay is tested against.

YAML goes through PyYAML (a meshtastic dependency), imported on first use.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from relay.core.airtime import Preset, packet_airtime
from relay.deploy.policy import RELAY_KEY, TESTED_FIRMWARE, delivery_problems, render_policies, version_problems
from relay.deploy.schema import schema_problems
from relay.errors import ConfigError

# --- the law and the plan's fixed points ---------------------------------------------


@dataclass(frozen=True)
class Band:
    """A licence-free sub-band: edges, e.r.p. limit, duty-cycle limit."""

    low_mhz: float
    high_mhz: float
    max_erp_dbm: float
    max_duty_cycle: float


# Norway, non-specific short-range devices (fribruksforskriften; ERC/REC 70-03):
# 869.400-869.650 MHz, 500 mW e.r.p. (27 dBm), 10 % of any hour per transmitter.
NORWAY_869 = Band(869.400, 869.650, 27.0, 0.10)

AMS_MHZ = 869.525  # Norwegian AMS smart meters; also the EU_868 default centre
AMS_GUARD_KHZ = 25.0  # keep the channel's edge at least this far from the meters' carrier
DIPOLE_DBI = 2.15  # e.r.p. is referred to a half-wave dipole: e.i.r.p. - 2.15 dB
MAX_HOPS = 7  # firmware HOP_MAX
FIRMWARE_EU868_POWER_DBM = 27  # tx_power 0 means the region's limit (RadioInterface::applyModemConfig)
DEFAULT_TOLERANCE_PPM = 2.0  # a TCXO-equipped SX126x board

# LoRaConfig.bandwidth is in kHz, with these codes for the fractional widths (firmware MeshRadio.h).
BANDWIDTH_CODES: dict[int, float] = {31: 31.25, 62: 62.5, 200: 203.125, 400: 406.25, 800: 812.5, 1600: 1625.0}
# Bandwidth of the modem presets, for a config that uses one (firmware modemPresetToParams).
PRESET_BANDWIDTH_KHZ: dict[str, float] = {
    "SHORT_TURBO": 500.0,
    "SHORT_FAST": 250.0,
    "SHORT_SLOW": 250.0,
    "MEDIUM_FAST": 250.0,
    "MEDIUM_SLOW": 250.0,
    "LONG_FAST": 250.0,
    "LONG_MODERATE": 125.0,
    "LONG_SLOW": 125.0,
    "LONG_TURBO": 500.0,
    "VERY_LONG_SLOW": 62.5,
}

TZ_OSLO = "CET-1CEST,M3.5.0,M10.5.0/3"  # POSIX TZ for Europe/Oslo: the radio's screen shows local time

CHANNEL_PLACEHOLDER_RE = re.compile(r"^@RELAY_CHANNEL_URL:([A-Za-z0-9_-]{1,11})@$")
MESHTASTIC_DEFAULT_KEY = bytes.fromhex("d4f1bb3a20290759f0bcffabcf4e6901")  # what PSK "AQ==" expands to
KINDS = {"town_hall": "town-hall node", "repeater": "hilltop repeater", "portable": "portable kit"}
SITE_ID_RE = re.compile(r"^[A-Z][A-Z0-9]{1,7}$")


def channel_placeholder(channel_name: str) -> str:
    """The value the rendered YAML carries instead of a channel URL."""
    return f"@RELAY_CHANNEL_URL:{channel_name}@"


def bandwidth_khz(code: int) -> float:
    """The bandwidth a LoRaConfig.bandwidth code stands for."""
    return BANDWIDTH_CODES.get(code, float(code))


def bandwidth_code(khz: float) -> int:
    """The LoRaConfig.bandwidth code for a bandwidth in kHz."""
    for code, width in BANDWIDTH_CODES.items():
        if math.isclose(width, khz):
            return code
    if khz != int(khz):
        raise ConfigError(f"bandwidth {khz} kHz has no LoRaConfig code")
    return int(khz)


def erp_dbm(tx_power_dbm: float, antenna_gain_dbi: float, cable_loss_db: float) -> float:
    """Effective radiated power: conducted power + antenna gain (dBi) - 2.15 dB - feeder loss."""
    return tx_power_dbm + antenna_gain_dbi - DIPOLE_DBI - cable_loss_db


def dbm_to_mw(dbm: float) -> float:
    return float(10 ** (dbm / 10))


# --- the region file ---------------------------------------------------------------------


@dataclass(frozen=True)
class Radio:
    """The region-wide radio plan: every node must share it to hear the others."""

    lora_region: str
    channel_name: str
    frequency_mhz: float
    bandwidth_khz: float
    spreading_factor: int
    coding_rate: int  # denominator of 4/x
    hop_limit: int
    tolerance_ppm: float = DEFAULT_TOLERANCE_PPM
    node_info_broadcast_secs: int = 10800

    @property
    def preset(self) -> Preset:
        """The modem as relay's airtime model sees it (named as relay.edge.radio.modem_of names it)."""
        bw_hz = int(self.bandwidth_khz * 1000)
        name = f"SF{self.spreading_factor}/{bw_hz // 1000}kHz/4:{self.coding_rate}"
        return Preset(name, self.spreading_factor, bw_hz, self.coding_rate)


@dataclass(frozen=True)
class Site:
    """One radio: where it stands, what it does, and what reaches the antenna."""

    id: str
    name: str
    kind: str  # town_hall | repeater | portable
    role: str  # Meshtastic Config.DeviceConfig.Role
    board: str
    tx_power_dbm: int  # at the radio's antenna connector; 0 = the firmware's region limit
    antenna_gain_dbi: float
    cable_loss_db: float
    gps: bool = False
    power_saving: bool = False
    bluetooth: bool = False
    note: str = ""
    lat: float | None = None  # for the desk's map only
    lon: float | None = None
    links: tuple[str, ...] = ()  # the planned radio paths to other sites, for the map
    firmware: str | None = None  # the version its radio runs, when not the region's

    @property
    def effective_tx_dbm(self) -> int:
        return self.tx_power_dbm or FIRMWARE_EU868_POWER_DBM

    @property
    def erp_dbm(self) -> float:
        return erp_dbm(self.effective_tx_dbm, self.antenna_gain_dbi, self.cable_loss_db)


@dataclass(frozen=True)
class RegionPlan:
    name: str
    radio: Radio
    sites: tuple[Site, ...]
    firmware: str = TESTED_FIRMWARE[-1]  # the version the radios run ([firmware] version)
    tested: tuple[str, ...] = TESTED_FIRMWARE

    def firmware_of(self, site: Site) -> str:
        return site.firmware or self.firmware

    def site(self, site_id: str) -> Site:
        for s in self.sites:
            if s.id == site_id:
                return s
        raise ConfigError(f"no site {site_id!r} in the region file")


def _get(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}: missing {key}")
    value = table[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ConfigError(f"{where}: {key} must be a number, not {value!r}")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: {key} has the wrong type ({value!r})")
    return value


def load_region(text: str) -> RegionPlan:
    """Parse a region file; raise ConfigError naming the first thing wrong with it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"region file: {exc}") from None
    region = data.get("region")
    radio_t = data.get("radio")
    if not isinstance(region, dict) or not isinstance(radio_t, dict):
        raise ConfigError("region file needs a [region] and a [radio] table")
    channel_name = _get(region, "channel_name", str, "[region]")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,11}", channel_name):
        raise ConfigError("[region]: channel_name must be 1-11 characters A-Z, a-z, 0-9, _ or -")
    number = (int, float)
    radio = Radio(
        lora_region=_get(region, "lora_region", str, "[region]"),
        channel_name=channel_name,
        frequency_mhz=float(_get(radio_t, "frequency_mhz", number, "[radio]")),
        bandwidth_khz=float(_get(radio_t, "bandwidth_khz", number, "[radio]")),
        spreading_factor=_get(radio_t, "spreading_factor", int, "[radio]"),
        coding_rate=_get(radio_t, "coding_rate", int, "[radio]"),
        hop_limit=_get(radio_t, "hop_limit", int, "[radio]"),
        tolerance_ppm=float(radio_t.get("tolerance_ppm", DEFAULT_TOLERANCE_PPM)),
        node_info_broadcast_secs=int(radio_t.get("node_info_broadcast_secs", 10800)),
    )
    if not 7 <= radio.spreading_factor <= 12 or not 5 <= radio.coding_rate <= 8:
        raise ConfigError("[radio]: spreading_factor must be 7-12 and coding_rate 5-8 (for 4/5..4/8)")
    bandwidth_code(radio.bandwidth_khz)
    sites = tuple(_site(entry, i) for i, entry in enumerate(data.get("site", []), 1))
    if not sites:
        raise ConfigError("region file has no [[site]]")
    ids = [s.id for s in sites]
    if len(set(ids)) != len(ids):
        raise ConfigError("region file: site ids must be unique")
    firmware = data.get("firmware", {})
    if not isinstance(firmware, dict):
        raise ConfigError("[firmware] must be a table")
    tested = tuple(str(v) for v in firmware.get("tested", TESTED_FIRMWARE))
    version = str(firmware.get("version", tested[-1]))
    return RegionPlan(str(region.get("name", "")), radio, sites, version, tested)


def _site(entry: object, index: int) -> Site:
    where = f"[[site]] #{index}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: not a table")
    site_id = _get(entry, "id", str, where)
    where = f"site {site_id}"
    if not SITE_ID_RE.match(site_id):
        raise ConfigError(f"{where}: id must be 2-8 characters A-Z and 0-9, starting with a letter")
    kind = _get(entry, "kind", str, where)
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind must be one of {', '.join(KINDS)}")
    return Site(
        id=site_id,
        name=_get(entry, "name", str, where),
        kind=kind,
        role=_get(entry, "role", str, where),
        board=str(entry.get("board", "")),
        tx_power_dbm=_get(entry, "tx_power_dbm", int, where),
        antenna_gain_dbi=float(_get(entry, "antenna_gain_dbi", (int, float), where)),
        cable_loss_db=float(_get(entry, "cable_loss_db", (int, float), where)),
        gps=bool(entry.get("gps", False)),
        power_saving=bool(entry.get("power_saving", False)),
        bluetooth=bool(entry.get("bluetooth", False)),
        note=str(entry.get("note", "")),
        lat=float(entry["lat"]) if isinstance(entry.get("lat"), (int, float)) else None,
        lon=float(entry["lon"]) if isinstance(entry.get("lon"), (int, float)) else None,
        links=tuple(str(x) for x in entry.get("links", ())),
        firmware=str(entry["firmware"]) if "firmware" in entry else None,
    )


# --- rendering ---------------------------------------------------------------------------


def render_node(plan: RegionPlan, site: Site) -> dict[str, Any]:
    """The ``meshtastic --configure`` mapping for one site (channel URL still a placeholder)."""
    radio = plan.radio
    long_name = site.name.encode()[:39].decode(errors="ignore")
    node = {
        "owner": long_name,
        "owner_short": site.id[:4],
        "channel_url": channel_placeholder(radio.channel_name),
        "config": {
            "device": {
                "role": site.role,
                # Relay only what our channel's key decrypts: hobby traffic on the same
                # frequency must not spend our repeaters' duty cycle.
                "rebroadcast_mode": "LOCAL_ONLY",
                "node_info_broadcast_secs": radio.node_info_broadcast_secs,
                "disable_triple_click": True,
                "tzdef": TZ_OSLO,
            },
            "lora": {
                "region": radio.lora_region,
                "use_preset": False,
                "bandwidth": bandwidth_code(radio.bandwidth_khz),
                "spread_factor": radio.spreading_factor,
                "coding_rate": radio.coding_rate,
                "override_frequency": radio.frequency_mhz,
                "hop_limit": radio.hop_limit,
                "tx_enabled": True,
                "tx_power": site.tx_power_dbm,
                "override_duty_cycle": False,
                "sx126x_rx_boosted_gain": True,
                "ignore_mqtt": True,
                "config_ok_to_mqtt": False,
            },
            "position": {
                # With a GPS the radio keeps UTC from it (hw/time.md); the channel's position
                # precision is 0, so the firmware never puts a position on the air.
                "gps_mode": "ENABLED" if site.gps else "DISABLED",
                "gps_update_interval": 3600,
                "position_broadcast_secs": 86400,
                "position_broadcast_smart_enabled": False,
                "fixed_position": False,
            },
            "power": {"is_power_saving": site.power_saving},
            "network": {"wifi_enabled": False},
            "bluetooth": {"enabled": site.bluetooth},
            "security": {"serial_enabled": True, "admin_channel_enabled": False},
        },
        "module_config": {
            "telemetry": {
                "device_telemetry_enabled": False,
                "device_update_interval": 86400,
                "environment_measurement_enabled": False,
                "environment_update_interval": 86400,
                "power_measurement_enabled": False,
                "air_quality_enabled": False,
                "health_measurement_enabled": False,
            },
            "neighbor_info": {"enabled": False, "transmit_over_lora": False},
            "mqtt": {"enabled": False, "map_reporting_enabled": False},
            "store_forward": {"enabled": False},
            "range_test": {"enabled": False},
            "detection_sensor": {"enabled": False},
            "paxcounter": {"enabled": False},
        },
    }
    return render_policies(node, plan.firmware_of(site))


def _yaml() -> Any:
    return importlib.import_module("yaml")  # PyYAML ships with meshtastic; load it only when needed


def dump_yaml(node: Mapping[str, Any]) -> str:
    return str(_yaml().safe_dump(dict(node), sort_keys=False, allow_unicode=True, default_flow_style=False))


def parse_yaml(text: str) -> dict[str, Any]:
    """A node YAML as a mapping; ConfigError if it is not one."""
    yaml = _yaml()
    try:
        node = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}") from None
    if not isinstance(node, dict):
        raise ConfigError("the YAML file is not a mapping of settings")
    return node


def render_yaml(plan: RegionPlan, site: Site) -> str:
    """The per-node YAML file: a header that explains it, then the settings."""
    radio = plan.radio
    preset = radio.preset
    header = [
        f"# Meshtastic configuration for {site.id}: {site.name} ({KINDS[site.kind]}, {site.board or 'any board'})",
        "# Generated by `relay firmware render firmware-config/region.toml --out firmware-config/nodes`:",
        "# edit region.toml, not this file.",
        f"# Apply: relay firmware apply {site.id}.yaml --port /dev/meshtastic --psk-file CHANNEL.psk",
        f"# Radio: {radio.lora_region}, {radio.frequency_mhz} MHz, SF{radio.spreading_factor}, "
        f"{radio.bandwidth_khz:g} kHz, CR 4/{radio.coding_rate}, hop limit {radio.hop_limit}; "
        f"a 125-byte relay message takes {packet_airtime(125, preset):.2f} s on air.",
        f"# e.r.p.: {site.effective_tx_dbm} dBm + {site.antenna_gain_dbi:g} dBi - {DIPOLE_DBI} dB - "
        f"{site.cable_loss_db:g} dB cable = {site.erp_dbm:.1f} dBm ({dbm_to_mw(site.erp_dbm):.0f} mW), "
        f"limit {NORWAY_869.max_erp_dbm:g} dBm (500 mW).",
        f"# Firmware: {plan.firmware_of(site)} (relay is tested against {', '.join(plan.tested)}); "
        f"`{RELAY_KEY}` is relay's, meshtastic --configure ignores it.",
        "# channel_url is a placeholder: `relay firmware apply` fills it from the channel key file,",
        "# which is generated at provisioning time and never committed.",
    ]
    if site.note:
        header.append(f"# Note: {site.note}")
    return "\n".join(header) + "\n" + dump_yaml(render_node(plan, site))


# --- checks ------------------------------------------------------------------------------


def _lora(node: Mapping[str, Any]) -> Mapping[str, Any]:
    config = node.get("config")
    lora = config.get("lora") if isinstance(config, Mapping) else None
    return lora if isinstance(lora, Mapping) else {}


def channel_edges(node: Mapping[str, Any], tolerance_ppm: float = DEFAULT_TOLERANCE_PPM) -> tuple[float, float] | None:
    """The lowest and highest frequency (MHz) the node's channel may occupy, or None if unknown."""
    lora = _lora(node)
    if lora.get("use_preset"):
        width = PRESET_BANDWIDTH_KHZ.get(str(lora.get("modem_preset", "LONG_FAST")))
    else:
        code = lora.get("bandwidth")
        width = bandwidth_khz(code) if isinstance(code, int) and not isinstance(code, bool) and code > 0 else None
    centre = lora.get("override_frequency")
    if width is None or not isinstance(centre, int | float) or isinstance(centre, bool) or centre <= 0:
        return None
    offset = lora.get("frequency_offset", 0.0)
    centre = float(centre) + (float(offset) if isinstance(offset, int | float) else 0.0)
    half = width / 2000 + centre * tolerance_ppm * 1e-6
    return centre - half, centre + half


def lawfulness_problems(
    node: Mapping[str, Any],
    site: Site | None = None,
    band: Band = NORWAY_869,
    tolerance_ppm: float = DEFAULT_TOLERANCE_PPM,
) -> list[str]:
    """What in a node's configuration breaks Norway's rules for the band, or the plan's AMS rule.

    ``site`` supplies antenna gain and cable loss for the e.r.p.; without it
    the e.r.p. is not judged (the YAML does not say which antenna is fitted).
    """
    problems: list[str] = []
    lora = _lora(node)
    if lora.get("region") != "EU_868":
        problems.append(f"lora.region is {lora.get('region')!r}, must be EU_868 (869.4-869.65 MHz, 10 % duty cycle)")
    if lora.get("override_duty_cycle"):
        problems.append("lora.override_duty_cycle lifts the firmware's 10 % duty-cycle limit: must be false")
    hops = lora.get("hop_limit", 3)
    if not isinstance(hops, int) or isinstance(hops, bool) or not 0 <= hops <= MAX_HOPS:
        problems.append(f"lora.hop_limit {hops!r} is outside 0-{MAX_HOPS}")
    edges = channel_edges(node, tolerance_ppm)
    if edges is None:
        problems.append(
            "lora.override_frequency and bandwidth must be set: without them the firmware picks a slot "
            "by channel-name hash (869.525 MHz for 250 kHz presets, on top of the AMS meters)"
        )
    else:
        low, high = edges
        if low < band.low_mhz - 1e-9 or high > band.high_mhz + 1e-9:
            problems.append(
                f"channel {low:.4f}-{high:.4f} MHz (centre ± half bandwidth ± {tolerance_ppm:g} ppm) "
                f"leaves the band {band.low_mhz:.3f}-{band.high_mhz:.3f} MHz"
            )
        guard = AMS_GUARD_KHZ / 1000
        if low - guard < AMS_MHZ < high + guard:
            problems.append(
                f"channel {low:.4f}-{high:.4f} MHz comes within {AMS_GUARD_KHZ:g} kHz of {AMS_MHZ} MHz (AMS meters)"
            )
    power = lora.get("tx_power", 0)
    if not isinstance(power, int) or isinstance(power, bool):
        problems.append(f"lora.tx_power {power!r} is not a whole number of dBm")
    elif site is not None:
        tx = power or FIRMWARE_EU868_POWER_DBM
        erp = erp_dbm(tx, site.antenna_gain_dbi, site.cable_loss_db)
        if erp > band.max_erp_dbm + 1e-9:
            problems.append(
                f"e.r.p. {erp:.1f} dBm ({dbm_to_mw(erp):.0f} mW) = {tx} dBm + {site.antenna_gain_dbi:g} dBi "
                f"- {DIPOLE_DBI} - {site.cable_loss_db:g} dB exceeds {band.max_erp_dbm:g} dBm (500 mW)"
            )
    return problems


def node_problems(
    node: Mapping[str, Any],
    site: Site | None = None,
    tolerance_ppm: float = DEFAULT_TOLERANCE_PPM,
    preset: Preset | None = None,
) -> list[str]:
    """Everything wrong with a node configuration: protobuf schema first, then the law, then what
    would drop relay's frames."""
    kind = site.kind if site is not None else None
    return (
        schema_problems(node)
        + lawfulness_problems(node, site, tolerance_ppm=tolerance_ppm)
        + delivery_problems(node, kind, preset)
    )


def plan_problems(plan: RegionPlan) -> list[str]:
    """Every problem of every site's rendered configuration, prefixed with the site id."""
    out: list[str] = []
    for site in plan.sites:
        node = render_node(plan, site)
        found = node_problems(node, site, plan.radio.tolerance_ppm, plan.radio.preset)
        found += version_problems(plan.firmware_of(site), plan.tested)
        out.extend(f"{site.id}: {p}" for p in found)
    return out


# --- the channel key ---------------------------------------------------------------------


def new_psk(random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """A fresh AES-256 channel key, as the one line a key file holds."""
    return "base64:" + base64.b64encode(random_bytes(32)).decode()


def read_psk(text: str) -> bytes:
    """The key in a key file (``base64:...`` or bare base64); 16 or 32 random bytes, nothing well known."""
    raw = text.strip().removeprefix("base64:")
    try:
        psk = base64.b64decode(raw, validate=True)
    except ValueError:
        raise ConfigError("the channel key file does not hold base64") from None
    if len(psk) not in (16, 32):
        raise ConfigError(f"the channel key is {len(psk)} bytes: it must be 32 (AES-256) or 16 (AES-128)")
    if psk == MESHTASTIC_DEFAULT_KEY or len(set(psk)) <= 2:
        raise ConfigError("the channel key is a well-known or trivial key: make one with «relay firmware keygen»")
    return psk


def psk_fingerprint(psk: bytes) -> str:
    """A hash of the key that sites can compare on the phone without revealing it."""
    h = hashlib.sha256(b"relay channel key\0" + psk).hexdigest()[:12].upper()
    return " ".join(h[i : i + 4] for i in range(0, 12, 4))


def channel_url(channel_name: str, psk: bytes, lora: Mapping[str, Any]) -> str:
    """A meshtastic channel URL: one PRIMARY channel with this key, and the LoRa settings.

    meshtastic's ``setURL`` writes the URL's LoRa config to the radio too, so it
    carries the node's own ``lora`` section.  No ``module_settings``: the
    channel's position precision stays 0, so no position goes out on it.
    """
    from meshtastic.protobuf import apponly_pb2

    channel_set = apponly_pb2.ChannelSet()
    settings = channel_set.settings.add()
    settings.psk = psk
    settings.name = channel_name
    fields = channel_set.lora_config.DESCRIPTOR.fields_by_name
    for key, value in lora.items():
        fd = fields[key]
        setattr(channel_set.lora_config, key, fd.enum_type.values_by_name[value].number if fd.enum_type else value)
    encoded = base64.urlsafe_b64encode(channel_set.SerializeToString()).decode().rstrip("=")
    return f"https://meshtastic.org/e/#{encoded}"


def placeholder_channel(node: Mapping[str, Any]) -> str | None:
    """The channel name in an unfilled ``channel_url``, or None if the URL is filled (or absent)."""
    match = CHANNEL_PLACEHOLDER_RE.match(str(node.get("channel_url", "")))
    return match.group(1) if match else None


def fill_channel(node: Mapping[str, Any], psk: bytes) -> dict[str, Any]:
    """The node configuration with its placeholder replaced by a channel URL carrying ``psk``."""
    name = placeholder_channel(node)
    if name is None:
        raise ConfigError("the YAML has no channel placeholder to fill (already filled, or not rendered by relay)")
    filled = dict(node)
    filled["channel_url"] = channel_url(name, psk, _lora(node))
    return filled


def filled_yaml(node: Mapping[str, Any], psk: bytes) -> str:
    """The YAML handed to ``meshtastic --configure``: holds the channel key, so never keep it."""
    warning = "# Holds the channel key: written for one `meshtastic --configure` run, then deleted.\n"
    return warning + dump_yaml(fill_channel(node, psk))
