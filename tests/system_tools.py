"""System programs some tests drive for real (Chromium, shellcheck, mosquitto).

Where a program is missing, its tests skip on a developer's machine, but fail
under ``.ci/run``, which installs them and sets ``RELAY_REQUIRE_SYSTEM_TOOLS=1``:
a test that needs a real component must run in CI, not skip there.
"""

from __future__ import annotations

import os

import pytest


def require(found: str | None, what: str, install: str) -> str:
    """``found`` (a program's path), or skip (locally) / fail (in CI) saying how to install ``what``."""
    if found:
        return found
    message = f"{what} is not installed ({install})"
    if os.environ.get("RELAY_REQUIRE_SYSTEM_TOOLS") == "1":
        pytest.fail(f"{message}, and .ci/run requires it")
    pytest.skip(message)
