"""LoRa time on air against a reference table worked out from Semtech AN1200.13's formula."""

from __future__ import annotations

import itertools

import pytest

from relay.core.airtime import (
    LONG_FAST,
    MAX_APP_PAYLOAD,
    PRESETS,
    packet_airtime,
    phy_payload_bytes,
    time_on_air,
)

# Time on air by Semtech AN1200.13, written down apart from relay.core.airtime's arithmetic:
# milliseconds for 10, 200 and 231 application bytes.
TABLE = {
    "SHORT_FAST": (40, 181, 204),
    "MEDIUM_FAST": (140, 570, 642),
    "LONG_FAST": (477, 1911, 2157),
    "LONG_MODERATE": (1511, 7016, 7934),
}


@pytest.mark.parametrize(
    ("preset", "app_bytes", "ms"),
    [(preset, n, ms) for preset, row in TABLE.items() for n, ms in zip((10, 200, 231), row, strict=True)],
)
def test_airtime_matches_the_table(preset: str, app_bytes: int, ms: int) -> None:
    assert round(packet_airtime(app_bytes, PRESETS[preset]) * 1000) == ms


def test_presets_are_the_documented_ones() -> None:
    assert set(PRESETS) == set(TABLE)
    got = {name: (p.spreading_factor, p.bandwidth_hz, p.coding_rate) for name, p in PRESETS.items()}
    assert got == {
        "SHORT_FAST": (7, 250_000, 5),
        "MEDIUM_FAST": (9, 250_000, 5),
        "LONG_FAST": (11, 250_000, 5),
        "LONG_MODERATE": (11, 125_000, 8),
    }
    assert LONG_FAST is PRESETS["LONG_FAST"]
    assert packet_airtime(10) == packet_airtime(10, LONG_FAST)


def test_phy_payload_overhead() -> None:
    assert phy_payload_bytes(10) == 33
    assert phy_payload_bytes(127) == 150
    assert phy_payload_bytes(128) == 152  # the payload length prefix grows to two bytes
    assert phy_payload_bytes(MAX_APP_PAYLOAD) == 255  # the firmware's cap


def test_low_data_rate_optimisation_switches_at_16_ms() -> None:
    """DE = 1 only when a symbol lasts 16 ms or more: LONG_MODERATE (16.4 ms), not LONG_FAST (8.2 ms)."""
    assert LONG_FAST.symbol_s == pytest.approx(0.008192)
    assert PRESETS["LONG_MODERATE"].symbol_s == pytest.approx(0.016384)
    # 100 PHY bytes, DE = 1: (16 + 4.25 + 8 + ceil((800 - 44 + 44) / (4 * 9)) * 8) * 16.384 ms = 212.25 * 16.384
    assert time_on_air(100, PRESETS["LONG_MODERATE"]) == pytest.approx(3.477504)
    # LONG_FAST, DE = 0: (16 + 4.25 + 8 + ceil(800 / 44) * 5) * 8.192 ms = 123.25 * 8.192
    assert time_on_air(100, LONG_FAST) == pytest.approx(1.009664)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_airtime_grows_with_size(preset: str) -> None:
    times = [packet_airtime(n, PRESETS[preset]) for n in range(MAX_APP_PAYLOAD + 1)]
    assert all(a <= b for a, b in itertools.pairwise(times))
    assert times[0] > 0
