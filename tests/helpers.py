"""Fixed keys, times, a roster and the text dictionary shared by the tests.

Nothing here reads the wall clock or draws randomness: every datetime is a
literal and every key comes from a fixed seed, so byte vectors stay stable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from relay.core.roster import Roster, RosterEntry
from relay.core.signing import Signer
from relay.core.textmodel import TextModel
from relay.core.wire import Dictionary
from relay.edge.dictionaries import model_path

T0 = datetime(2025, 5, 29, 14, 30, tzinfo=UTC)  # "now" for the messages under test
ROSTER_ISSUED = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
REVOKED_AT = datetime(2025, 5, 29, 15, 0, tzinfo=UTC)
REGION = "Ringerike og Midt-Buskerud"

DICTIONARY_ID = 1
DICTIONARY_NAME = "nb-krise-1"

# (node id, name, roster role); node i has seed bytes([i]) * 32, counting from 1.
NODES: tuple[tuple[str, str, str], ...] = (
    ("RIN", "Ringerike kommune", "kommune"),
    ("HOL", "Hole kommune", "kommune"),
    ("JEV", "Jevnaker kommune", "kommune"),
    ("MOD", "Modum kommune", "kommune"),
    ("KRO", "Krødsherad kommune", "kommune"),
    ("SIG", "Sigdal kommune", "kommune"),
    ("SF", "Statsforvalteren i Østfold, Buskerud, Oslo og Akershus", "statsforvalter"),
    ("POL", "Sør-Øst politidistrikt", "politi"),
)
KOMMUNER = ("RIN", "HOL", "JEV", "MOD", "KRO", "SIG")

AUTHORITY = Signer.from_seed(bytes([0]) * 32)
SIGNERS: dict[str, Signer] = {node: Signer.from_seed(bytes([i]) * 32) for i, (node, _, _) in enumerate(NODES, 1)}
STRANGER = Signer.from_seed(bytes([0xEE]) * 32)  # a valid key that no roster lists
# Two seeds whose public keys share the 16-bit key id 0x71a5 (found by a search
# over bytes([i]) * 32; the birthday bound makes one likely within ~300 keys).
COLLIDING_SEEDS = (bytes([85]) * 32, bytes([126]) * 32)
COLLIDING_KEY_ID = 0x71A5

MESSAGES_DIR = Path(__file__).resolve().parents[1] / "relay" / "data" / "messages"
SHARED_CORPUS_DIR = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def entry(node: str, name: str, role: str, signer: Signer) -> RosterEntry:
    return RosterEntry(node, name, role, signer.public_key, ROSTER_ISSUED)


def build_roster() -> Roster:
    """Version 1 is empty; each node added makes a version, so this is version 9."""
    roster = Roster.create(REGION, AUTHORITY, ROSTER_ISSUED)
    for node, name, role in NODES:
        roster = roster.with_entry(entry(node, name, role, SIGNERS[node]), AUTHORITY, ROSTER_ISSUED)
    return roster


def load_dictionary() -> Dictionary:
    """The shipped model, read directly (the registry digest is still a placeholder)."""
    model = TextModel.from_bytes(model_path(DICTIONARY_NAME).read_bytes())
    return Dictionary(DICTIONARY_ID, DICTIONARY_NAME, model)
