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
FRAGMENT_HEADER_BYTES = 8  # a fragment's own header (``frames.FRAGMENT_HEADER``)
MAX_FRAGMENTS = 16  # the most packets one message may take
MAX_MESSAGE_BYTES = MAX_FRAGMENTS * (MAX_APP_PAYLOAD - FRAGMENT_HEADER_BYTES)  # 3568
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


HOUR_S = 3600.0


class DutyBudget:
    """Rolling-hour transmit budget of one radio (EU868: 10 % = 360 s an hour).

    ``limit`` is the share of the hour this node lets itself use; ``reserve``
    is the part of it that only NØD and HASTER may spend, so that a backlog of
    routine traffic can never lock out an urgent message.
    """

    def __init__(self, limit: float = 0.10, reserve: float = 0.25, window_s: float = HOUR_S) -> None:
        self.window_s = window_s  # the law's rolling hour; shorter to pace a shared channel
        self.limit_s = limit * window_s
        self.reserve_s = reserve * self.limit_s
        self._sent: list[tuple[float, float]] = []  # (start, duration), oldest first

    def used(self, now: float) -> float:
        """Seconds transmitted in the window (an hour) before ``now``."""
        horizon = now - self.window_s
        while self._sent and self._sent[0][0] + self._sent[0][1] <= horizon:
            self._sent.pop(0)
        return sum(d - max(0.0, horizon - s) for s, d in self._sent)

    def allows(self, now: float, duration: float, urgent: bool) -> bool:
        cap = self.limit_s if urgent else self.limit_s - self.reserve_s
        return self.used(now) + duration <= cap

    def wait_for(self, now: float, duration: float, urgent: bool) -> float:
        """Earliest time at or after ``now`` when ``duration`` more fits the budget."""
        return self.wait_under(now, duration, self.limit_s if urgent else self.limit_s - self.reserve_s)

    def wait_under(self, now: float, duration: float, cap: float) -> float:
        """Earliest time at or after ``now`` when ``duration`` more keeps the hour under ``cap`` seconds."""
        excess = self.used(now) + duration - cap
        if excess <= 0:
            return now
        for start, dur in self._sent:
            excess -= dur
            if excess <= 0:
                return start + dur + self.window_s
        return now + self.window_s

    def record(self, start: float, duration: float) -> None:
        self._sent.append((start, duration))
