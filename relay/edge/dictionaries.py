"""The shipped text dictionaries, pinned by id and SHA-256.

A dictionary id is forever: once messages exist that name id N, the model
behind N must never change, or every node would decode garbage.  A new model
gets a new id and ships beside the old ones, so a node that was offline when
it shipped still decodes both.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from relay.core.textmodel import TextModel
from relay.core.wire import Dictionary

# id -> (name, sha256 of the model file).  Append only.
REGISTRY: dict[int, tuple[str, str]] = {
    1: ("nb-krise-1", "2877083c85961013ca6f2672fba9f91ac8b86b23bbc353fd74fcae64cbe1aac4"),
}
CURRENT = 1


MODELS = Path(__file__).resolve().parents[1] / "data" / "dictionaries"  # not importlib.resources: 9 ms of start-up


def model_path(name: str) -> Path:
    return MODELS / f"{name}.model"


@cache
def load(dictionary_id: int) -> Dictionary:
    name, expected = REGISTRY[dictionary_id]
    blob = model_path(name).read_bytes()
    actual = hashlib.sha256(blob).hexdigest()
    if actual != expected:
        raise RuntimeError(f"dictionary {name} does not match its registered digest ({actual})")
    return Dictionary(dictionary_id, name, TextModel.from_bytes(blob))


def current() -> Dictionary:
    return load(CURRENT)


class _Lazy(dict[int, Dictionary]):
    """Loads a registered dictionary on first use; unknown ids are simply absent."""

    def get(self, key: int, default: Dictionary | None = None) -> Dictionary | None:  # type: ignore[override]
        if key in REGISTRY:
            return load(key)
        return default


def available() -> dict[int, Dictionary]:
    """Every dictionary this build knows, for ``wire.decode``."""
    return _Lazy()
