"""The signed roster: building, revoking, JSON round trips, tampering, key id collisions."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay.core.roster import (
    MAX_ROSTER_BYTES,
    Revocation,
    Roster,
    RosterEntry,
    derive_region_id,
    key_fingerprint,
)
from relay.core.signing import Signer
from relay.errors import DecodeError, ValidationError, VerificationError
from tests.helpers import (
    AUTHORITY,
    COLLIDING_KEY_ID,
    COLLIDING_SEEDS,
    KOMMUNER,
    NODES,
    REGION,
    REVOKED_AT,
    ROSTER_ISSUED,
    SIGNERS,
    STRANGER,
    entry,
)

LATER = ROSTER_ISSUED + timedelta(days=3)


def test_create_is_version_one_and_empty() -> None:
    roster = Roster.create(REGION, AUTHORITY, ROSTER_ISSUED)
    assert (roster.region, roster.version, roster.issued, roster.entries) == (REGION, 1, ROSTER_ISSUED, ())
    assert roster.authority_key == AUTHORITY.public_key
    assert Roster.from_json(roster.to_json(), AUTHORITY.public_key) == roster


def test_each_change_is_a_new_version(roster: Roster) -> None:
    assert roster.version == 1 + len(NODES)
    added = roster.with_entry(entry("REP1", "Repeater Norefjell", "repeater", STRANGER), AUTHORITY, LATER)
    assert added.version == roster.version + 1
    assert added.issued == LATER
    revoked = added.with_revoked("MOD", AUTHORITY, REVOKED_AT)
    assert revoked.version == added.version + 1
    assert revoked.issued == REVOKED_AT
    assert roster.version == 1 + len(NODES)  # the old one is untouched


def test_entries_and_lookups(roster: Roster) -> None:
    assert roster.node_ids == tuple(node for node, _, _ in NODES)
    for node, name, role in NODES:
        found = roster.entry_for_key(SIGNERS[node].key_id)
        assert (found.node_id, found.name, found.role, found.public_key) == (node, name, role, SIGNERS[node].public_key)
        assert roster.active(node) == found
        assert roster.name_of(node) == name
    assert roster.active("XYZ") is None
    assert roster.name_of("XYZ") == "XYZ"


def test_unknown_key_is_unknown_sender(roster: Roster) -> None:
    with pytest.raises(VerificationError) as info:
        roster.entry_for_key(STRANGER.key_id)
    assert info.value.reason == "unknown_sender"


def test_revoke(roster: Roster) -> None:
    revoked = roster.with_revoked("MOD", AUTHORITY, REVOKED_AT)
    old = next(e for e in revoked.entries if e.node_id == "MOD")
    assert old.revoked == REVOKED_AT
    assert revoked.active("MOD") is None
    assert "MOD" in revoked.node_ids  # a revoked key stays listed ...
    with pytest.raises(VerificationError) as info:  # ... so that it is rejected as revoked, not unknown
        revoked.entry_for_key(SIGNERS["MOD"].key_id)
    assert info.value.reason == "revoked"
    assert revoked.active("HOL") == roster.active("HOL")
    with pytest.raises(ValidationError):
        revoked.with_revoked("MOD", AUTHORITY, REVOKED_AT)  # no active key left
    with pytest.raises(ValidationError):
        roster.with_revoked("XYZ", AUTHORITY, REVOKED_AT)


def test_new_key_after_revocation(roster: Roster) -> None:
    new_key = Signer.from_seed(bytes([0x40]) * 32)
    renewed = roster.with_revoked("MOD", AUTHORITY, REVOKED_AT).with_entry(
        entry("MOD", "Modum kommune", "kommune", new_key), AUTHORITY, REVOKED_AT
    )
    active = renewed.active("MOD")
    assert active is not None and active.public_key == new_key.public_key
    assert renewed.entry_for_key(new_key.key_id) == active
    assert renewed.node_ids.count("MOD") == 1
    with pytest.raises(VerificationError):
        renewed.entry_for_key(SIGNERS["MOD"].key_id)


def test_only_the_authority_may_change_the_roster(roster: Roster) -> None:
    with pytest.raises(ValidationError, match="rosterautoritetens"):
        roster.with_entry(entry("REP1", "Repeater", "repeater", STRANGER), STRANGER, LATER)
    with pytest.raises(ValidationError, match="rosterautoritetens"):
        roster.with_revoked("MOD", SIGNERS["MOD"], REVOKED_AT)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (RosterEntry("M", "Modum", "kommune", STRANGER.public_key, ROSTER_ISSUED), "node-ID"),
        (RosterEntry("mod", "Modum", "kommune", STRANGER.public_key, ROSTER_ISSUED), "node-ID"),
        (RosterEntry("MOD2", "Modum", "sjef", STRANGER.public_key, ROSTER_ISSUED), "rolle"),
        (RosterEntry("MOD2", "Modum", "kommune", STRANGER.public_key[:31], ROSTER_ISSUED), "32 byte"),
        (RosterEntry("MOD2", "  ", "kommune", STRANGER.public_key, ROSTER_ISSUED), "navn"),
        (RosterEntry("MOD2", "Modum", "kommune", SIGNERS["MOD"].public_key, ROSTER_ISSUED), "allerede registrert"),
    ],
    ids=["short-id", "lowercase-id", "unknown-role", "short-key", "blank-name", "same-key-twice"],
)
def test_invalid_entries_are_refused(roster: Roster, bad: RosterEntry, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        roster.with_entry(bad, AUTHORITY, LATER)


def test_key_id_collision_is_refused(roster: Roster) -> None:
    first, second = (Signer.from_seed(seed) for seed in COLLIDING_SEEDS)
    assert first.public_key != second.public_key
    assert first.key_id == second.key_id == COLLIDING_KEY_ID
    with_first = roster.with_entry(entry("REP1", "Repeater 1", "repeater", first), AUTHORITY, LATER)
    with pytest.raises(ValidationError, match="kolliderer"):
        with_first.with_entry(entry("REP2", "Repeater 2", "repeater", second), AUTHORITY, LATER)
    with pytest.raises(ValidationError, match="kolliderer"):  # also for a new key of the same node
        with_first.with_entry(entry("REP1", "Repeater 1", "repeater", second), AUTHORITY, LATER)


def test_members(roster: Roster) -> None:
    assert roster.members("KOMMUNER") == KOMMUNER
    assert roster.members("ALLE") == tuple(node for node, _, _ in NODES)
    with_repeater = roster.with_entry(entry("REP1", "Repeater Norefjell", "repeater", STRANGER), AUTHORITY, LATER)
    assert "REP1" in with_repeater.node_ids
    assert "REP1" not in with_repeater.members("ALLE")  # a repeater keeps no store
    assert with_repeater.members("KOMMUNER") == KOMMUNER


def test_supersedes(roster: Roster) -> None:
    newer = roster.with_revoked("MOD", AUTHORITY, REVOKED_AT)
    assert newer.supersedes(roster)
    assert not roster.supersedes(newer)
    assert not roster.supersedes(roster)
    foreign = Roster.create(REGION, STRANGER, ROSTER_ISSUED)
    for _ in range(20):
        foreign = foreign.with_entry(
            entry(f"X{foreign.version}", "x", "annet", Signer.from_seed(bytes([0x80 + foreign.version]) * 32)),
            STRANGER,
            LATER,
        )
    assert foreign.version > newer.version
    assert not foreign.supersedes(newer)  # another authority never replaces ours


# --- JSON ----------------------------------------------------------------------------


def test_json_round_trip(roster: Roster) -> None:
    revoked = roster.with_revoked("MOD", AUTHORITY, REVOKED_AT)
    for r in (roster, revoked):
        text = r.to_json()
        assert Roster.from_json(text) == r
        assert Roster.from_json(text.encode(), AUTHORITY.public_key) == r
        assert Roster.from_json(text).to_json() == text


def test_signature_covers_content_not_layout(roster: Roster) -> None:
    data = json.loads(roster.to_json())
    compact = json.dumps(dict(reversed(list(data.items()))), separators=(",", ":"), ensure_ascii=True)
    assert Roster.from_json(compact, AUTHORITY.public_key) == roster


def as_json(roster: Roster) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(roster.to_json())
    return data


def _set(path: tuple[str | int, ...], value: object) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _flip_signature(data: dict[str, Any]) -> None:
    sig = data["signature"]
    data["signature"] = ("B" if sig[0] == "A" else "A") + sig[1:]


STRANGER_KEY_B64 = entry("X1", "x", "annet", STRANGER).to_json()["public_key"]
TAMPERINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "region": _set(("region",), "Drammen"),
    "version-bumped": _set(("version",), 99),
    "issued": _set(("issued",), "2025-05-02T08:00:00Z"),
    "name": _set(("entries", 3, "name"), "Modum kommune (ny)"),
    "role": _set(("entries", 0, "role"), "statsforvalter"),
    "key-swapped": _set(("entries", 3, "public_key"), STRANGER_KEY_B64),
    "unrevoked": _set(("entries", 3, "revoked"), None),
    "entry-dropped": lambda d: d["entries"].pop(1),
    "entry-added": lambda d: d["entries"].append(entry("X1", "x", "annet", STRANGER).to_json()),
    "signature": _flip_signature,
}


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_tampered_json_is_bad_signature(roster: Roster, name: str) -> None:
    data = as_json(roster.with_revoked("MOD", AUTHORITY, REVOKED_AT))
    TAMPERINGS[name](data)
    with pytest.raises(VerificationError) as info:
        Roster.from_json(json.dumps(data), AUTHORITY.public_key)
    assert info.value.reason == "bad_signature"


def test_authority_key_swapped_in_the_file_is_bad_signature(roster: Roster) -> None:
    data = as_json(roster)
    data["authority_key"] = as_json(Roster.create(REGION, STRANGER, ROSTER_ISSUED))["authority_key"]
    with pytest.raises(VerificationError) as info:
        Roster.from_json(json.dumps(data))
    assert info.value.reason == "bad_signature"


def test_wrong_authority(roster: Roster) -> None:
    with pytest.raises(VerificationError) as info:
        Roster.from_json(roster.to_json(), STRANGER.public_key)
    assert info.value.reason == "wrong_authority"
    # A well-signed roster from somebody else's authority is refused too.
    foreign = Roster.create(REGION, STRANGER, ROSTER_ISSUED).with_entry(
        entry("MOD", "Modum kommune", "kommune", STRANGER), STRANGER, ROSTER_ISSUED
    )
    assert Roster.from_json(foreign.to_json()) == foreign
    with pytest.raises(VerificationError) as info:
        Roster.from_json(foreign.to_json(), AUTHORITY.public_key)
    assert info.value.reason == "wrong_authority"


def _without(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.pop(key)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "malformed"),
        ("not json", "malformed"),
        ("[]", "malformed"),
        ('{"format": "relay-roster/9"}', "malformed"),
        (b"\xff\xfe{", "malformed"),
        (" " * (MAX_ROSTER_BYTES + 1), "too_long"),
    ],
    ids=["empty", "not-json", "list", "other-format", "bad-utf8", "too-long"],
)
def test_malformed_files(text: str | bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        Roster.from_json(text)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "edit",
    [
        _without("entries"),
        _without("signature"),
        _without("version"),
        _set(("version",), "nine"),
        _set(("entries",), 5),
        _set(("entries", 0), "RIN"),
        _set(("entries", 0, "public_key"), "not base64!"),
        _set(("entries", 0, "node"), "r"),
        _set(("entries", 0, "valid_from"), "2025-05-01T08:00:00"),  # no zone
        _set(("entries", 0, "valid_from"), "yesterday"),
        _set(("signature",), "***"),
        lambda d: d["entries"][0].pop("name"),
    ],
    ids=[
        "no-entries",
        "no-signature",
        "no-version",
        "version-text",
        "entries-int",
        "entry-str",
        "bad-base64",
        "bad-node",
        "naive-time",
        "bad-time",
        "bad-signature-b64",
        "entry-without-name",
    ],
)
def test_malformed_fields(roster: Roster, edit: Callable[[dict[str, Any]], None]) -> None:
    data = as_json(roster)
    edit(data)
    with pytest.raises(DecodeError) as info:
        Roster.from_json(json.dumps(data))
    assert info.value.reason == "malformed"


@given(data=st.data())
def test_no_single_character_edit_changes_content(roster: Roster, data: st.DataObject) -> None:
    """An edit either breaks the file (DecodeError) or leaves the verified content unchanged."""
    text = roster.to_json()
    pos = data.draw(st.integers(0, len(text) - 1))
    char = data.draw(st.characters(codec="utf-8") | st.sampled_from('0123456789"{}[],: AZaz=+/'))
    edited = text[:pos] + char + text[pos + 1 :]
    try:
        parsed = Roster.from_json(edited, AUTHORITY.public_key)
    except DecodeError:
        return
    except Exception as exc:  # any other type breaks the decoding invariant
        pytest.fail(f"Roster.from_json raised {type(exc).__name__}: {exc!r}")
    assert parsed == roster


# --- regressions: found by these tests and fixed in relay/ -----------------------------


def _issued(value: str) -> str:
    data = as_json(Roster.create(REGION, AUTHORITY, ROSTER_ISSUED))
    data["issued"] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        _issued("0001-01-01T00:00:00+01:00"),
        _issued("9999-12-31T23:59:59-01:00"),
        _issued("2025-05-01T08:00:00Z").replace('"version": 1', '"version": 1e400'),
    ],
    ids=["deep-nesting", "year-1", "year-9999", "version-inf"],
)
def test_hostile_roster_files_are_decode_errors(text: str) -> None:
    """Were RecursionError (json.loads) and OverflowError (_utc, int) out of Roster.from_json."""
    assert len(text) <= MAX_ROSTER_BYTES
    with pytest.raises(DecodeError):
        Roster.from_json(text)


def test_datetimes_are_utc(roster: Roster) -> None:
    assert roster.issued.tzinfo == UTC
    assert all(e.valid_from.tzinfo == UTC for e in roster.entries)


# --- revocation notices (over the air) ----------------------------------------------------


def test_a_revocation_carries_a_notice_the_authority_signed(roster: Roster) -> None:
    revoked = roster.with_revoked("MOD", AUTHORITY, REVOKED_AT, last_seq=41)
    mod = next(e for e in revoked.entries if e.node_id == "MOD")
    assert (mod.revoked, mod.revoked_after) == (REVOKED_AT, 41)
    assert mod.notice is not None and len(mod.notice) == 80
    notice = Revocation.parse(mod.notice, AUTHORITY.public_key)
    assert (notice.fingerprint, notice.when, notice.last_seq) == (key_fingerprint(mod.public_key), REVOKED_AT, 41)
    with pytest.raises(VerificationError):
        Revocation.parse(mod.notice, SIGNERS["MOD"].public_key)  # not the authority


def test_a_notice_heard_over_the_air_revokes_and_the_file_still_verifies(roster: Roster) -> None:
    notice = Revocation.issue(SIGNERS["HOL"].public_key, REVOKED_AT, None, AUTHORITY)
    heard = roster.with_notice(notice)

    assert heard.version == roster.version and heard.active("HOL") is None
    assert heard.canonical_bytes() == roster.canonical_bytes()  # the signed body is the authority's
    again = Roster.from_json(heard.to_json(), AUTHORITY.public_key)
    assert again.active("HOL") is None and again.notices == (notice,)
    assert heard.with_notice(notice) == heard  # twice is once
    stranger = Revocation.issue(STRANGER.public_key, REVOKED_AT, None, AUTHORITY)
    assert roster.with_notice(stranger) == roster  # a key we do not have: nothing to do


def test_a_forged_notice_in_a_roster_file_is_refused(roster: Roster) -> None:
    forged = Revocation.issue(SIGNERS["HOL"].public_key, REVOKED_AT, None, SIGNERS["MOD"])
    data = json.loads(roster.to_json())
    data["notices"] = [base64.b64encode(forged.to_bytes()).decode()]
    with pytest.raises(VerificationError):
        Roster.from_json(json.dumps(data), AUTHORITY.public_key)


def test_a_newer_file_keeps_the_revocations_heard_over_the_air(roster: Roster) -> None:
    heard = roster.with_notice(Revocation.issue(SIGNERS["HOL"].public_key, REVOKED_AT, None, AUTHORITY))
    newer = roster.with_entry(entry("REP1", "Repeater Norefjell", "repeater", STRANGER), AUTHORITY, LATER)
    assert newer.newer(heard).active("HOL") is None
    assert newer.newer(heard).version == newer.version


# --- the region id ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "derived"),
    [
        ("Ringerike-regionen", "ringerike"),
        ("Ringerike", "ringerike"),
        ("Testregionen", "testregionen"),
        ("Modum (øvelse)", "modum-ovelse"),
        ("Ringerike-regionen (simulert)", "ringerike-regionen-simulert"),
        ("Ærøy / Ås  region", "aeroy-as"),
        ("Regionen", "regionen"),
        ("a/b#+", "a-b"),
        ("???", "region"),
        ("x" * 40, "x" * 32),
    ],
)
def test_an_old_rosters_region_id_is_derived_from_its_name_in_ascii(name: str, derived: str) -> None:
    assert derive_region_id(name) == derived


def test_a_new_roster_signs_its_region_id_and_the_file_says_it() -> None:
    roster = Roster.create("Ringerike-regionen", AUTHORITY, ROSTER_ISSUED, region_id="ringerike-lab")
    data = json.loads(roster.to_json())
    assert (data["format"], data["region_id"]) == ("relay-roster/2", "ringerike-lab")
    assert Roster.from_json(roster.to_json(), AUTHORITY.public_key).region_id == "ringerike-lab"
    data["region_id"] = "hole"  # the id is signed: changing it breaks the signature
    with pytest.raises(VerificationError) as info:
        Roster.from_json(json.dumps(data))
    assert info.value.reason == "bad_signature"
    assert Roster.create("Ringerike-regionen", AUTHORITY, ROSTER_ISSUED).region_id == "ringerike"


@pytest.mark.parametrize("bad", ["", "Ringerike", "ringerike-", "-a", "rin/ger", "øst", "a" * 33, "a_b"])
def test_a_region_id_is_lower_case_ascii(bad: str) -> None:
    with pytest.raises(ValidationError, match="region-ID"):
        Roster.create("R", AUTHORITY, ROSTER_ISSUED, region_id=bad)
    data = json.loads(Roster.create("R", AUTHORITY, ROSTER_ISSUED).to_json())
    data["region_id"] = bad
    with pytest.raises(DecodeError):
        Roster.from_json(json.dumps(data))


def test_an_old_roster_without_an_id_still_verifies_and_the_next_version_signs_the_derived_id() -> None:
    from dataclasses import replace

    new = Roster.create("Ringerike-regionen", AUTHORITY, ROSTER_ISSUED)
    old = replace(new, signed_id=None).signed(AUTHORITY)  # what a roster of format 1 is
    text = old.to_json()
    assert json.loads(text)["format"] == "relay-roster/1" and "region_id" not in json.loads(text)
    again = Roster.from_json(text, AUTHORITY.public_key)
    assert (again.signed_id, again.region_id) == (None, "ringerike")
    later = again.with_entry(entry("RIN", "Ringerike kommune", "kommune", SIGNERS["RIN"]), AUTHORITY, LATER)
    assert json.loads(later.to_json())["format"] == "relay-roster/2"
    assert Roster.from_json(later.to_json()).region_id == "ringerike"
