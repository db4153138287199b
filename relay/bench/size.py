"""``relay bench size``: wire size, packets and airtime of text messages, beside the alternatives.

Each text is encoded as a signed MELDING from a throwaway key, exactly as an
operator's message would be, and measured against the 231-byte packet.  In the
same run each text is also measured as

* plain Meshtastic text: what a user of the Meshtastic app would send instead,
  the UTF-8 text in chunks of at most 200 bytes (the app's limit), unsigned;
* LXMF, the opportunistic single-packet form on an RNode (``relay.bench.lxmf``),
  when the optional ``bench`` extra (lxmf, rns) is installed; without it those
  fields are null and ``summary.lxmf`` says why.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from relay.core import frames, wire
from relay.core.airtime import LONG_FAST, packet_airtime, phy_payload_bytes, time_on_air
from relay.core.model import Kind, Message
from relay.core.signing import Signer
from relay.edge import dictionaries

MESHTASTIC_TEXT_CHUNK = 200  # the Meshtastic apps refuse longer text messages
NO_LXMF = "lxmf/rns not installed (pip install 'relay[bench]')"


@dataclass(frozen=True)
class SizeRow:
    file: str
    text_bytes: int
    wire_bytes: int
    packets: int
    airtime_s: float
    meshtastic_text_bytes: int = 0
    meshtastic_text_packets: int = 0
    meshtastic_text_airtime_s: float = 0.0
    lxmf_bytes: int | None = None  # on-air bytes: RNS packet + one RNode header byte per LoRa frame
    lxmf_frames: int | None = None
    lxmf_airtime_s: float | None = None
    lxmf_method: str | None = None  # what LXMF itself would do with this text


def meshtastic_text_chunks(text: str, limit: int = MESHTASTIC_TEXT_CHUNK) -> list[bytes]:
    """The UTF-8 text in chunks of at most ``limit`` bytes, never splitting a character."""
    data = text.encode("utf-8")
    chunks: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and end > start and (data[end] & 0xC0) == 0x80:  # a continuation byte
            end -= 1
        chunks.append(data[start:end])
        start = end
    return chunks


def meshtastic_text_airtime(chunk_bytes: int) -> float:
    """Seconds on air for one TEXT_MESSAGE_APP packet: its portnum (1) is one varint byte shorter than
    PRIVATE_APP's (256), so one byte less than ``packet_airtime``."""
    return time_on_air(phy_payload_bytes(chunk_bytes) - 1, LONG_FAST)


def measure_text(name: str, text: str, signer: Signer, created: datetime) -> SizeRow:
    msg = Message.create(kind=Kind.MELDING, origin="RIN", seq=1, created=created, fields={"text": text})
    signed = wire.encode(msg, signer, dictionaries.current())
    pieces = frames.split(signed.wire, signed.key_id, msg.seq)
    airtime = sum(packet_airtime(len(p), LONG_FAST) for p in pieces)
    chunks = meshtastic_text_chunks(text)
    return SizeRow(
        name,
        len(text.encode("utf-8")),
        len(signed.wire),
        len(pieces),
        round(airtime, 4),
        meshtastic_text_bytes=sum(len(c) for c in chunks),
        meshtastic_text_packets=len(chunks),
        meshtastic_text_airtime_s=round(sum(meshtastic_text_airtime(len(c)) for c in chunks), 4),
    )


def with_lxmf(row: SizeRow, text: str) -> SizeRow:
    from relay.bench import lxmf as bench_lxmf

    lx = bench_lxmf.measure(text, LONG_FAST)
    return SizeRow(
        **{
            **asdict(row),
            "lxmf_bytes": lx.on_air_bytes,
            "lxmf_frames": lx.frames,
            "lxmf_airtime_s": lx.airtime_s,
            "lxmf_method": lx.method,
        }
    )


def lxmf_available() -> bool:
    from relay.bench import lxmf as bench_lxmf

    return bench_lxmf.available()


def shipped_messages() -> list[tuple[str, str]]:
    folder = resources.files("relay.data.messages")
    return sorted(
        (entry.name, entry.read_text(encoding="utf-8")) for entry in folder.iterdir() if entry.name.endswith(".txt")
    )


def files_in(paths: list[Path]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for path in paths:
        targets = sorted(path.glob("*.txt")) if path.is_dir() else [path]
        out.extend((str(p), p.read_text(encoding="utf-8")) for p in targets)
    return out


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def size_report(
    texts: list[tuple[str, str]], now: datetime | None = None, lxmf: bool | None = None
) -> dict[str, object]:
    """Rows and summary.  ``lxmf``: None measures LXMF when the extra is installed, False never."""
    signer = Signer.generate()
    created = now or datetime.now(UTC)
    use_lxmf = lxmf_available() if lxmf is None else lxmf
    rows = []
    for name, raw in texts:
        text = raw.strip()
        row = measure_text(name, text, signer, created)
        rows.append(with_lxmf(row, text) if use_lxmf else row)
    with_lx = [r for r in rows if r.lxmf_bytes and r.lxmf_airtime_s]
    return {
        "files": [asdict(r) for r in rows],
        "summary": {
            "files": len(rows),
            "one_packet_fraction": round(sum(r.packets == 1 for r in rows) / len(rows), 4) if rows else 0.0,
            "median_wire_over_text": _median([r.wire_bytes / r.text_bytes for r in rows if r.text_bytes]) or 0.0,
            "median_ratio_vs_lxmf": _median([r.wire_bytes / r.lxmf_bytes for r in with_lx if r.lxmf_bytes]),
            "median_airtime_ratio_vs_lxmf": _median(
                [r.airtime_s / r.lxmf_airtime_s for r in with_lx if r.lxmf_airtime_s]
            ),
            "median_ratio_vs_meshtastic_text": _median(
                [r.wire_bytes / r.meshtastic_text_bytes for r in rows if r.meshtastic_text_bytes]
            ),
            "median_airtime_ratio_vs_meshtastic_text": _median(
                [r.airtime_s / r.meshtastic_text_airtime_s for r in rows if r.meshtastic_text_airtime_s]
            ),
            "lxmf": "measured" if use_lxmf else ("not measured" if lxmf is False else NO_LXMF),
        },
    }
