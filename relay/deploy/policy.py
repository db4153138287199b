"""The firmware relay is tested against, and its settings that could drop or delay relay's frames.

relay's frames are PRIVATE_APP broadcasts on the region's channel, carrying
no firmware signature (2.8 signs a broadcast only while the signature still
fits: relay's frames above 165 bytes never carry one, and 2.7 radios sign
nothing).  What a radio must be set to, so that none of them is lost:

* **Role.**  Hills are ``ROUTER``: it always rebroadcasts, first, and never
  cancels.  ``REPEATER`` (and ``ROUTER_CLIENT``) is deprecated: since 2.7.11
  the admin module quietly turns it into ``CLIENT``.
* **Rebroadcast mode** on a radio that relays: ``ALL`` or ``LOCAL_ONLY``
  (both relay what our channel key decrypts).  ``CORE_PORTNUMS_ONLY`` drops
  PRIVATE_APP, ``KNOWN_ONLY`` drops a radio the hill has not yet heard a node
  info from (after the hill reboots: up to ``node_info_broadcast_secs``),
  ``NONE`` relays nothing.  The firmware sets ``CORE_PORTNUMS_ONLY`` itself
  when a radio first becomes a ROUTER (``installRoleDefaults``, since 2.5.9),
  after the configuration that made it one: ``relay firmware apply`` sets the
  mode again once the role is in place.
* **2.8 signing policy** (``security.packet_signature_policy``): ``STRICT``
  drops every unsigned packet before it is handled, so relay's frames would
  neither be relayed nor reach the store; it is refused on every radio.
  ``COMPATIBLE`` (the firmware's default) is rendered.
* **2.8 Traffic Management** on a radio that relays: per-node rate limiting
  must be off.  The firmware counts packets per sender in windows of whole
  5-minute ticks and caps the limit at 60 a window: at most 60 frames per
  5 minutes, while one store may send ``RELAY_FRAMES_PER_5_MIN`` (its duty
  budget spent in one burst of its smallest frames; a RUTINE backlog plus its
  summaries is already a few dozen).  No setting the firmware accepts is above
  relay's need, so both ``rate_limit_window_secs`` and
  ``rate_limit_max_packets`` are 0, and ``unknown_packet_threshold`` 0.

The 2.8 fields that meshtastic's Python protobufs (2.7.11, what relay installs)
do not know, ``security.packet_signature_policy``, are rendered under the
top-level key ``relay_firmware`` (``meshtastic --configure`` ignores keys it
does not read) and ``relay firmware apply`` names them for the on-the-day
check (``hw/feltsjekkliste.md``) instead of writing them.  Traffic
Management's fields are in those protobufs (``module_config.traffic_management``)
and are written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from relay.core.airtime import Preset, packet_airtime

TESTED_FIRMWARE = ("2.7.26", "2.8.0")  # firmware sources relay's queue model and these checks were read against
RATE_TICK_S = 300  # TrafficManagementModule::kRateTimeTickMs: rate windows are whole 5-minute ticks
RATE_MAX_PACKETS = 60  # ...and at most 60 packets a window, whatever is set
SMALLEST_FRAME = 10  # bytes: a request for one item
DUTY_CYCLE = 0.10  # EU_868: what one radio may spend in an hour, all of it in one burst at worst

RELAYING_ROLES = ("ROUTER", "ROUTER_LATE", "CLIENT", "CLIENT_BASE")  # the roles that rebroadcast
DEPRECATED_ROLES = {"REPEATER": "CLIENT", "ROUTER_CLIENT": "CLIENT"}  # what the firmware turns them into
RELAYS_OUR_CHANNEL = ("ALL", "ALL_SKIP_DECODING", "LOCAL_ONLY")
REBROADCAST_MODE = "LOCAL_ONLY"  # the plan's: our channel's frames, not hobby traffic on 869.618 MHz
SIGNATURE_POLICY = "PACKET_SIGNATURE_POLICY_COMPATIBLE"
STRICT_POLICY = "PACKET_SIGNATURE_POLICY_STRICT"
RELAY_KEY = "relay_firmware"  # the rendered YAML's own section: meshtastic --configure does not read it
TRAFFIC_OFF = {"rate_limit_window_secs": 0, "rate_limit_max_packets": 0, "unknown_packet_threshold": 0}


def series(version: str) -> tuple[int, ...]:
    """``2.8.0`` -> (2, 8); a part that is not a number counts as 0."""
    return tuple(int(part) if part.isdigit() else 0 for part in version.split(".")[:2])


def frames_per_rate_window(preset: Preset) -> int:
    """The most frames one store's radio may send within one 5-minute rate window: its whole
    hour's duty budget in one burst of its smallest frames (bounded by the window itself)."""
    smallest = packet_airtime(SMALLEST_FRAME, preset)
    return math.floor(min(RATE_TICK_S, 3600 * DUTY_CYCLE) / smallest)


def version_problems(version: str, tested: tuple[str, ...] = TESTED_FIRMWARE) -> list[str]:
    """A firmware version outside the series relay is tested against."""
    if series(version) not in {series(v) for v in tested}:
        return [f"firmware {version} is not one relay is tested against ({', '.join(tested)})"]
    return []


def render_policies(node: dict[str, Any], version: str) -> dict[str, Any]:
    """The node mapping with the delivery settings for firmware ``version`` written out explicitly."""
    out = dict(node)
    section: dict[str, Any] = {"version": version, "tested": list(TESTED_FIRMWARE)}
    if series(version) >= (2, 8):
        modules = dict(out.get("module_config", {}))
        modules["traffic_management"] = dict(TRAFFIC_OFF)
        out["module_config"] = modules
        section["not_in_protobufs"] = {"config.security.packet_signature_policy": SIGNATURE_POLICY}
    out[RELAY_KEY] = section
    return out


def _section(node: Mapping[str, Any], *path: str) -> Mapping[str, Any]:
    value: Any = node
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def delivery_problems(node: Mapping[str, Any], kind: str | None = None, preset: Preset | None = None) -> list[str]:
    """What in a node's configuration would let its radio drop or delay relay's frames.

    ``kind`` is the site's (``repeater`` for a hill); ``preset`` the plan's modem, for the
    rate-limit arithmetic in the message."""
    problems: list[str] = []
    device = _section(node, "config", "device")
    role = str(device.get("role", "CLIENT"))
    if role in DEPRECATED_ROLES:
        problems.append(
            f"device.role {role} is deprecated: since firmware 2.7.11 it silently becomes "
            f"{DEPRECATED_ROLES[role]} (a hill must be ROUTER)"
        )
    elif kind == "repeater" and role != "ROUTER":
        problems.append(f"device.role {role} on a hill: it must be ROUTER (always rebroadcasts, never cancels)")
    relays = role in RELAYING_ROLES or kind == "repeater"
    mode = device.get("rebroadcast_mode")
    if relays and mode not in RELAYS_OUR_CHANNEL:
        said = "is not set (a new ROUTER gets CORE_PORTNUMS_ONLY)" if mode is None else f"is {mode}"
        problems.append(
            f"device.rebroadcast_mode {said}: it would not relay relay's PRIVATE_APP frames; "
            f"set one of {', '.join(RELAYS_OUR_CHANNEL)}"
        )
    problems += _signing_problems(node)
    if relays:
        problems += _traffic_problems(node, preset)
    return problems


def _signing_problems(node: Mapping[str, Any]) -> list[str]:
    pending = _section(node, RELAY_KEY, "not_in_protobufs")
    policy = _section(node, "config", "security").get("packet_signature_policy") or pending.get(
        "config.security.packet_signature_policy"
    )
    if policy in (STRICT_POLICY, "STRICT"):
        return [
            "security.packet_signature_policy STRICT drops every packet the firmware did not sign: relay's "
            "frames (never signed above 165 bytes, nor by 2.7 radios) would be lost; use COMPATIBLE"
        ]
    return []


def _traffic_problems(node: Mapping[str, Any], preset: Preset | None) -> list[str]:
    traffic = _section(node, "module_config", "traffic_management")
    window = traffic.get("rate_limit_window_secs", 0)
    limit = traffic.get("rate_limit_max_packets", 0)
    explicitly_on = traffic.get("rate_limit_enabled") is True or traffic.get("enabled") is True
    problems: list[str] = []
    if (isinstance(window, int) and window > 0 and isinstance(limit, int) and limit > 0) or (
        explicitly_on and (window or limit)
    ):
        need = f"{frames_per_rate_window(preset)} frames" if preset is not None else "more than that"
        problems.append(
            f"traffic_management rate limiting ({limit} packets per {window} s) drops relay's frames on this "
            f"relaying radio: the firmware allows at most {RATE_MAX_PACKETS} per {RATE_TICK_S // 60}-minute "
            f"window, one store may send {need} in one; set rate_limit_window_secs and rate_limit_max_packets to 0"
        )
    threshold = traffic.get("unknown_packet_threshold", 0)
    if isinstance(threshold, int) and threshold > 0:
        problems.append(
            "traffic_management.unknown_packet_threshold stops every packet from a radio after a few it could "
            "not decode (a burst of noise or another channel): set it to 0"
        )
    return problems
