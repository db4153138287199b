"""``relay bench size``: wire size, packets and airtime of text messages.

Each text is encoded as a signed MELDING from a throwaway key, exactly as an
operator's message would be, and measured against the 231-byte packet.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from relay.core import frames, wire
from relay.core.airtime import LONG_FAST, packet_airtime
from relay.core.model import Kind, Message
from relay.core.signing import Signer
from relay.edge import dictionaries


@dataclass(frozen=True)
class SizeRow:
    file: str
    text_bytes: int
    wire_bytes: int
    packets: int
    airtime_s: float


def measure_text(name: str, text: str, signer: Signer, created: datetime) -> SizeRow:
    msg = Message.create(kind=Kind.MELDING, origin="RIN", seq=1, created=created, fields={"text": text})
    signed = wire.encode(msg, signer, dictionaries.current())
    pieces = frames.split(signed.wire, signed.key_id, msg.seq)
    airtime = sum(packet_airtime(len(p), LONG_FAST) for p in pieces)
    return SizeRow(name, len(text.encode("utf-8")), len(signed.wire), len(pieces), round(airtime, 4))


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


def size_report(texts: list[tuple[str, str]], now: datetime | None = None) -> dict[str, object]:
    signer = Signer.generate()
    created = now or datetime.now(UTC)
    rows = [measure_text(name, text.strip(), signer, created) for name, text in texts]
    return {
        "files": [asdict(r) for r in rows],
        "summary": {
            "files": len(rows),
            "one_packet_fraction": round(sum(r.packets == 1 for r in rows) / len(rows), 4) if rows else 0.0,
            "median_wire_over_text": round(statistics.median(r.wire_bytes / r.text_bytes for r in rows), 4)
            if rows
            else 0.0,
        },
    }
