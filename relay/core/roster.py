"""The region's trust list, signed by the roster authority.

The roster travels as a JSON file (USB stick before the crisis).  Its
signature covers a canonical JSON encoding of every field but the signature.
A newer version from the same authority replaces an older one: that is how a
stolen Pi's key is revoked.  A revoked key stays listed, so that a message
signed with it is rejected as ``revoked`` rather than ``unknown_sender``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from relay.core.model import NODE_ID_RE
from relay.core.signing import PUBLIC_KEY_BYTES, ROSTER_CONTEXT, Signer, key_id, verify
from relay.errors import DecodeError, ValidationError, VerificationError

FORMAT = "relay-roster/1"
NODE_ROLES = ("kommune", "statsforvalter", "politi", "brann", "repeater", "annet")
MAX_ROSTER_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class RosterEntry:
    node_id: str
    name: str
    role: str
    public_key: bytes
    valid_from: datetime
    revoked: datetime | None = None

    @property
    def key_id(self) -> int:
        return key_id(self.public_key)

    def to_json(self) -> dict[str, object]:
        return {
            "node": self.node_id,
            "name": self.name,
            "role": self.role,
            "public_key": base64.b64encode(self.public_key).decode(),
            "valid_from": _iso(self.valid_from),
            "revoked": _iso(self.revoked) if self.revoked else None,
        }

    @classmethod
    def from_json(cls, data: object) -> RosterEntry:
        if not isinstance(data, dict):
            raise DecodeError("roster entry is not an object", "malformed")
        try:
            key = base64.b64decode(str(data["public_key"]), validate=True)
            entry = cls(
                node_id=str(data["node"]),
                name=str(data["name"]),
                role=str(data["role"]),
                public_key=key,
                valid_from=_parse_iso(str(data["valid_from"])),
                revoked=_parse_iso(str(data["revoked"])) if data.get("revoked") else None,
            )
        except (KeyError, ValueError, OverflowError) as exc:
            raise DecodeError(f"roster entry malformed: {exc}", "malformed") from None
        try:
            entry.check()
        except ValidationError as exc:
            raise DecodeError(str(exc), "malformed") from None
        return entry

    def check(self) -> None:
        if not NODE_ID_RE.match(self.node_id):
            raise ValidationError(f"ugyldig node-ID {self.node_id!r} (2-8 tegn, A-Z og 0-9)")
        if self.role not in NODE_ROLES:
            raise ValidationError(f"ukjent rolle {self.role!r} (gyldige: {', '.join(NODE_ROLES)})")
        if len(self.public_key) != PUBLIC_KEY_BYTES:
            raise ValidationError(f"{self.node_id}: offentlig nøkkel må være {PUBLIC_KEY_BYTES} byte")
        if not self.name.strip():
            raise ValidationError(f"{self.node_id}: navn mangler")


@dataclass(frozen=True, slots=True)
class Roster:
    region: str
    version: int
    issued: datetime
    authority_key: bytes
    entries: tuple[RosterEntry, ...]
    signature: bytes = b""

    # --- building --------------------------------------------------------------

    @classmethod
    def create(cls, region: str, authority: Signer, issued: datetime) -> Roster:
        return cls(region, 1, _utc(issued), authority.public_key, ()).signed(authority)

    def with_entry(self, entry: RosterEntry, authority: Signer, issued: datetime) -> Roster:
        """A new version with ``entry`` added (a node may hold several keys over time)."""
        entry.check()
        for other in self.entries:
            if other.public_key == entry.public_key:
                raise ValidationError(f"nøkkelen er allerede registrert for {other.node_id}")
            if other.key_id == entry.key_id:
                raise ValidationError(
                    f"nøkkel-ID {entry.key_id:04x} kolliderer med {other.node_id}: "
                    f"lag et nytt nøkkelpar for {entry.node_id}"
                )
        return self._next((*self.entries, entry), authority, issued)

    def with_revoked(self, node_id: str, authority: Signer, when: datetime) -> Roster:
        """A new version in which every active key of ``node_id`` is revoked."""
        if not any(e.node_id == node_id and e.revoked is None for e in self.entries):
            raise ValidationError(f"{node_id} har ingen aktiv nøkkel i rosteret")
        entries = tuple(
            replace(e, revoked=_utc(when)) if e.node_id == node_id and e.revoked is None else e for e in self.entries
        )
        return self._next(entries, authority, when)

    def _next(self, entries: tuple[RosterEntry, ...], authority: Signer, issued: datetime) -> Roster:
        if authority.public_key != self.authority_key:
            raise ValidationError("rosteret kan bare endres med rosterautoritetens nøkkel")
        return replace(self, version=self.version + 1, issued=_utc(issued), entries=entries).signed(authority)

    def signed(self, authority: Signer) -> Roster:
        return replace(self, signature=authority.sign(ROSTER_CONTEXT + self.canonical_bytes()))

    # --- queries ---------------------------------------------------------------

    def entry_for_key(self, kid: int) -> RosterEntry:
        """The entry whose key has id ``kid``; raise VerificationError if none is usable."""
        for entry in self.entries:
            if entry.key_id == kid:
                if entry.revoked is not None:
                    raise VerificationError(f"nøkkelen til {entry.node_id} er tilbakekalt", "revoked")
                return entry
        raise VerificationError(f"ukjent avsender (nøkkel-ID {kid:04x})", "unknown_sender")

    def active(self, node_id: str) -> RosterEntry | None:
        for entry in self.entries:
            if entry.node_id == node_id and entry.revoked is None:
                return entry
        return None

    @property
    def node_ids(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for entry in self.entries:
            seen.setdefault(entry.node_id, None)
        return tuple(seen)

    def name_of(self, node_id: str) -> str:
        for entry in self.entries:
            if entry.node_id == node_id:
                return entry.name
        return node_id

    def members(self, group: str) -> tuple[str, ...]:
        """Node ids in an addressing group; ALLE is every node with a store."""
        if group == "KOMMUNER":
            return tuple(n for n in self.node_ids if any(e.role == "kommune" for e in self._of(n)))
        return tuple(n for n in self.node_ids if all(e.role != "repeater" for e in self._of(n)))

    def _of(self, node_id: str) -> Iterable[RosterEntry]:
        return (e for e in self.entries if e.node_id == node_id)

    def supersedes(self, other: Roster) -> bool:
        return self.authority_key == other.authority_key and self.version > other.version

    # --- encoding --------------------------------------------------------------

    def _body(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "region": self.region,
            "version": self.version,
            "issued": _iso(self.issued),
            "authority_key": base64.b64encode(self.authority_key).decode(),
            "entries": [e.to_json() for e in self.entries],
        }

    def canonical_bytes(self) -> bytes:
        return json.dumps(self._body(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def to_json(self) -> str:
        body = self._body()
        body["signature"] = base64.b64encode(self.signature).decode()
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, authority_key: bytes | None = None) -> Roster:
        """Parse and verify.  With ``authority_key``, the roster must be signed by it."""
        if len(text) > MAX_ROSTER_BYTES:
            raise DecodeError("rosterfilen er for stor", "too_long")
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise DecodeError("rosterfilen er ikke gyldig JSON", "malformed") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DecodeError("filen er ikke et relay-roster", "malformed")
        try:
            roster = cls(
                region=str(data["region"]),
                version=int(data["version"]),
                issued=_parse_iso(str(data["issued"])),
                authority_key=base64.b64decode(str(data["authority_key"]), validate=True),
                entries=tuple(RosterEntry.from_json(e) for e in data["entries"]),
                signature=base64.b64decode(str(data["signature"]), validate=True),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise DecodeError(f"rosterfilen mangler eller har ugyldig felt: {exc}", "malformed") from None
        if authority_key is not None and roster.authority_key != authority_key:
            raise VerificationError("rosteret er signert av en annen autoritet enn den vi stoler på", "wrong_authority")
        if not verify(roster.authority_key, roster.signature, ROSTER_CONTEXT + roster.canonical_bytes()):
            raise VerificationError("rosterets signatur stemmer ikke (endret eller skadet fil)", "bad_signature")
        return roster


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def _iso(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time without zone: {text}")
    return _utc(value)
