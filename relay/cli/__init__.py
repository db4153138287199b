"""The operator's command line.  Never imports meshtastic (see tests)."""

from __future__ import annotations

from relay.cli.main import main

__all__ = ["main"]
