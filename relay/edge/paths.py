"""Where a node's home is by default: light, so that the CLI can name it without loading the store."""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_HOME = Path("/var/lib/relay")


def default_home() -> Path:
    """RELAY_HOME, else /var/lib/relay where it exists (a provisioned Pi), else ~/.local/share/relay."""
    env = os.environ.get("RELAY_HOME")
    if env:
        return Path(env)
    if SYSTEM_HOME.is_dir():
        return SYSTEM_HOME
    return Path.home() / ".local" / "share" / "relay"
