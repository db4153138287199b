"""LoRa time on air (Semtech AN1200.13) for Meshtastic's modem presets.

Byte budget of one Meshtastic packet (PRIVATE_APP broadcast on a channel):
16-byte clear radio header + encrypted Data protobuf (2-byte bitfield,
2-byte portnum, payload length prefix, payload).  The firmware caps header +
Data at 255 bytes, which leaves ``MAX_APP_PAYLOAD`` = 231 application bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_APP_PAYLOAD = 231
PREAMBLE_SYMBOLS = 16


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    spreading_factor: int
    bandwidth_hz: int
    coding_rate: int  # denominator of 4/x: 5..8

    @property
    def symbol_s(self) -> float:
        return (1 << self.spreading_factor) / self.bandwidth_hz


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("SHORT_FAST", 7, 250_000, 5),
        Preset("MEDIUM_FAST", 9, 250_000, 5),
        Preset("LONG_FAST", 11, 250_000, 5),
        Preset("LONG_MODERATE", 11, 125_000, 8),
    )
}
LONG_FAST = PRESETS["LONG_FAST"]


def phy_payload_bytes(app_bytes: int) -> int:
    """LoRa PHY payload for ``app_bytes`` of PRIVATE_APP payload (header + protobuf)."""
    return app_bytes + (23 if app_bytes < 128 else 24)


def time_on_air(phy_bytes: int, preset: Preset = LONG_FAST) -> float:
    """Seconds on air for a LoRa frame of ``phy_bytes`` (explicit header, CRC on)."""
    sf = preset.spreading_factor
    tsym = preset.symbol_s
    de = 1 if tsym >= 0.016 else 0
    numerator = 8 * phy_bytes - 4 * sf + 28 + 16
    payload_symbols = 8 + max(math.ceil(numerator / (4 * (sf - 2 * de))), 0) * preset.coding_rate
    return (PREAMBLE_SYMBOLS + 4.25) * tsym + payload_symbols * tsym


def packet_airtime(app_bytes: int, preset: Preset = LONG_FAST) -> float:
    """Seconds on air for one Meshtastic packet carrying ``app_bytes``."""
    return time_on_air(phy_payload_bytes(app_bytes), preset)
