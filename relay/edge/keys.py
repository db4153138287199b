"""Key files: a node's Ed25519 seed, written once with mode 0600."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from relay.core.signing import Signer
from relay.errors import ConfigError

HEADER = "relay-ed25519-seed/1"


def write_new(path: Path) -> Signer:
    """Generate a key pair and store it; refuse to overwrite an existing key."""
    signer = Signer.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(code="key_file_exists", path=path) from None
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{HEADER}\n{base64.b64encode(signer.seed).decode()}\n")
        fh.flush()
        os.fsync(fh.fileno())
    return signer


def load(path: Path) -> Signer:
    try:
        lines = path.read_text().split()
    except OSError as exc:
        raise ConfigError(code="key_file_unreadable", path=path, reason=exc.strerror) from None
    if len(lines) != 2 or lines[0] != HEADER:
        raise ConfigError(code="not_a_key_file", path=path)
    try:
        seed = base64.b64decode(lines[1], validate=True)
        return Signer.from_seed(seed)
    except ValueError:
        raise ConfigError(code="key_damaged", path=path) from None
