"""Shared fixtures: fixed keys, one roster, the shipped text dictionary.

All fixtures are session-scoped and immutable, so Hypothesis tests may use
them.  ``HYPOTHESIS_PROFILE=thorough`` runs every property with many more
examples (the default profile keeps the whole suite well under a minute).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from relay.core.roster import Roster
from relay.core.signing import Signer
from relay.core.wire import Dictionary
from tests.helpers import AUTHORITY, SIGNERS, STRANGER, build_roster, load_dictionary

# Encoding a long text takes a few ms and the first call warms caches: no deadline.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def authority() -> Signer:
    return AUTHORITY


@pytest.fixture(scope="session")
def signers() -> dict[str, Signer]:
    return SIGNERS


@pytest.fixture(scope="session")
def stranger() -> Signer:
    return STRANGER


@pytest.fixture(scope="session")
def roster() -> Roster:
    return build_roster()


@pytest.fixture(scope="session")
def dictionary() -> Dictionary:
    return load_dictionary()


@pytest.fixture(scope="session")
def dictionaries(dictionary: Dictionary) -> dict[int, Dictionary]:
    return {dictionary.id: dictionary}
