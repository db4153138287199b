"""The region's trust list, signed by the roster authority.

The roster travels as a JSON file (USB stick before the crisis).  Its
signature covers a canonical JSON encoding of every field but the signature.
A newer version from the same authority replaces an older one: that is how a
stolen Pi's key is revoked.  A revoked key stays listed: its messages from
before the revocation stay valid (marked), later ones are refused as
``revoked`` rather than ``unknown_sender``.

With telephony down the file cannot travel, so a revocation also travels alone
over the air: a ``Revocation`` notice of 80 bytes, signed by the authority,
inside a ROSTER message.  A node applies a verified notice to the roster it
has; the notice stays beside the roster's signed body (``notices``), so the
file still verifies, until the authority's next full version says the same.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from relay.core.model import MAX_SEQ, NODE_ID_RE, NOTICE_BYTES, from_minutes, minutes_since_epoch
from relay.core.signing import (
    PUBLIC_KEY_BYTES,
    REVOCATION_CONTEXT,
    ROSTER_CONTEXT,
    SIGNATURE_BYTES,
    Signer,
    key_id,
    verify,
)
from relay.errors import DecodeError, ValidationError, VerificationError

FORMAT = "relay-roster/1"  # no region id: the id is derived from the region's name (``derive_region_id``)
FORMAT_WITH_ID = "relay-roster/2"  # the region id is signed with the rest
REGION_ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
NODE_ROLES = ("kommune", "statsforvalter", "politi", "brann", "repeater", "annet")
MAX_ROSTER_BYTES = 256 * 1024
REVOCATION_FORMAT = 1
KEY_FINGERPRINT_BYTES = 8
NO_SEQ = 0xFFFFFFFF
REVOCATION_BODY_BYTES = 1 + KEY_FINGERPRINT_BYTES + 3 + 4
REVOCATION_BYTES = REVOCATION_BODY_BYTES + SIGNATURE_BYTES
assert REVOCATION_BYTES == NOTICE_BYTES  # the ROSTER message's field


def key_fingerprint(public_key: bytes) -> bytes:
    """8 bytes that name a key in a revocation notice (the 16-bit key id may collide
    across regions; this does not)."""
    return hashlib.sha256(b"relay/key-fp\x00" + public_key).digest()[:KEY_FINGERPRINT_BYTES]


_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ß": "ss"})


def derive_region_id(region: str) -> str:
    """The region id of a roster that does not sign one: its name in ASCII, lower case,
    runs of anything else as one dash, a trailing «-regionen»/«-region» dropped
    ("Ringerike-regionen" -> ``ringerike``, "Modum (øvelse)" -> ``modum-ovelse``).
    Stable: it depends on the signed name alone."""
    folded = unicodedata.normalize("NFKD", region.lower().translate(_FOLD))
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")
    for suffix in ("-regionen", "-region"):
        if slug.endswith(suffix) and len(slug) > len(suffix):
            slug = slug[: -len(suffix)]
            break
    slug = slug[:32].strip("-")
    return slug if REGION_ID_RE.match(slug) else "region"


def check_region_id(region_id: str) -> str:
    """``region_id`` if it is one (1-32 of a-z, 0-9 and inner dashes); ValidationError otherwise."""
    if not REGION_ID_RE.match(region_id):
        raise ValidationError(code="bad_region_id", text=region_id)
    return region_id


@dataclass(frozen=True, slots=True)
class Revocation:
    """The authority's word, alone: the key with ``fingerprint`` is revoked at
    ``when``; its messages created later, or numbered above ``last_seq`` (when the
    authority names one), are void.  The number catches a thief who back-dates.

    80 bytes on the wire: format(1) fingerprint(8) minutes(3) last_seq(4) signature(64)."""

    fingerprint: bytes
    when: datetime
    last_seq: int | None
    signature: bytes = b""

    @classmethod
    def issue(cls, public_key: bytes, when: datetime, last_seq: int | None, authority: Signer) -> Revocation:
        unsigned = cls(key_fingerprint(public_key), _utc(when).replace(second=0), last_seq)
        return replace(unsigned, signature=authority.sign(REVOCATION_CONTEXT + unsigned.body()))

    def body(self) -> bytes:
        seq = NO_SEQ if self.last_seq is None else self.last_seq
        minutes = minutes_since_epoch(self.when)
        return bytes([REVOCATION_FORMAT]) + self.fingerprint + minutes.to_bytes(3, "big") + seq.to_bytes(4, "big")

    def to_bytes(self) -> bytes:
        return self.body() + self.signature

    @classmethod
    def parse(cls, data: bytes, authority_key: bytes) -> Revocation:
        """Parse and verify against the authority's key, or raise VerificationError."""
        if len(data) != REVOCATION_BYTES or data[0] != REVOCATION_FORMAT:
            raise DecodeError(None, "malformed", code="notice_damaged")
        body, signature = data[:REVOCATION_BODY_BYTES], data[REVOCATION_BODY_BYTES:]
        if not verify(authority_key, signature, REVOCATION_CONTEXT + body):
            raise VerificationError(None, "bad_signature", code="notice_not_signed")
        fp_end = 1 + KEY_FINGERPRINT_BYTES
        seq = int.from_bytes(body[fp_end + 3 :], "big")
        if seq == 0 or (seq > MAX_SEQ and seq != NO_SEQ):
            raise DecodeError(None, "malformed", code="notice_bad_seq")
        when = from_minutes(int.from_bytes(body[fp_end : fp_end + 3], "big"))
        return cls(body[1:fp_end], when, None if seq == NO_SEQ else seq, bytes(signature))


@dataclass(frozen=True, slots=True)
class RosterEntry:
    node_id: str
    name: str
    role: str
    public_key: bytes
    valid_from: datetime
    revoked: datetime | None = None
    # The last genuine number when it was revoked, if the authority knew it.
    revoked_after: int | None = None
    # The authority's notice of the revocation, to send over the air.
    notice: bytes | None = None

    @property
    def key_id(self) -> int:
        return key_id(self.public_key)

    def voids(self, created: datetime, seq: int) -> bool:
        """Is a message of this key, created then with this number, void?  A
        revoked key's messages from before the revocation stay valid."""
        if self.revoked is None:
            return False
        return created > self.revoked or (self.revoked_after is not None and seq > self.revoked_after)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "node": self.node_id,
            "name": self.name,
            "role": self.role,
            "public_key": base64.b64encode(self.public_key).decode(),
            "valid_from": _iso(self.valid_from),
            "revoked": _iso(self.revoked) if self.revoked else None,
        }
        if self.revoked_after is not None:
            data["revoked_after"] = self.revoked_after
        if self.notice is not None:
            data["notice"] = base64.b64encode(self.notice).decode()
        return data

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
                revoked_after=int(data["revoked_after"]) if data.get("revoked_after") is not None else None,
                notice=base64.b64decode(str(data["notice"]), validate=True) if data.get("notice") else None,
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise DecodeError(f"roster entry malformed: {exc}", "malformed") from None
        try:
            entry.check()
        except ValidationError as exc:
            raise DecodeError(str(exc), "malformed") from None
        return entry

    def check(self) -> None:
        if not NODE_ID_RE.match(self.node_id):
            raise ValidationError(code="bad_node_id", text=self.node_id)
        if self.role not in NODE_ROLES:
            raise ValidationError(code="unknown_role", text=self.role, valid=", ".join(NODE_ROLES))
        if len(self.public_key) != PUBLIC_KEY_BYTES:
            raise ValidationError(code="bad_public_key", node=self.node_id, size=PUBLIC_KEY_BYTES)
        if not self.name.strip():
            raise ValidationError(code="name_missing", node=self.node_id)


@dataclass(frozen=True, slots=True)
class Roster:
    region: str
    version: int
    issued: datetime
    authority_key: bytes
    entries: tuple[RosterEntry, ...]
    signature: bytes = b""
    # Revocations heard over the air since this version was signed, already applied
    # to ``entries``; kept apart so that the signed body still verifies.
    notices: tuple[Revocation, ...] = ()
    # The region id as signed (format 2); None in a roster of format 1, whose id is
    # derived from ``region`` (``region_id``).  The authority's next version signs it.
    signed_id: str | None = None

    @property
    def region_id(self) -> str:
        """The one name of the region for machines: the broker's topics, ACL and logins."""
        return self.signed_id if self.signed_id is not None else derive_region_id(self.region)

    # --- building --------------------------------------------------------------

    @classmethod
    def create(cls, region: str, authority: Signer, issued: datetime, region_id: str | None = None) -> Roster:
        """Version 1, empty; ``region_id`` None: derived from ``region``."""
        rid = check_region_id(region_id) if region_id is not None else derive_region_id(region)
        return cls(region, 1, _utc(issued), authority.public_key, (), signed_id=rid).signed(authority)

    def with_entry(self, entry: RosterEntry, authority: Signer, issued: datetime) -> Roster:
        """A new version with ``entry`` added (a node may hold several keys over time)."""
        entry.check()
        for other in self.entries:
            if other.public_key == entry.public_key:
                raise ValidationError(code="key_registered", node=other.node_id)
            if other.key_id == entry.key_id:
                raise ValidationError(
                    code="key_id_collision", key_id=f"{entry.key_id:04x}", other=other.node_id, node=entry.node_id
                )
        return self._next((*self.entries, entry), authority, issued)

    def with_revoked(self, node_id: str, authority: Signer, when: datetime, last_seq: int | None = None) -> Roster:
        """A new version in which every active key of ``node_id`` is revoked.  Each
        revoked entry carries the authority's notice, to send over the air."""
        if not any(e.node_id == node_id and e.revoked is None for e in self.entries):
            raise ValidationError(code="no_active_key", node=node_id)
        if last_seq is not None and not 1 <= last_seq <= MAX_SEQ:
            raise ValidationError(code="bad_seq", seq=last_seq)
        at = _utc(when).replace(second=0)

        def revoke(e: RosterEntry) -> RosterEntry:
            notice = Revocation.issue(e.public_key, at, last_seq, authority).to_bytes()
            return replace(e, revoked=at, revoked_after=last_seq, notice=notice)

        entries = tuple(revoke(e) if e.node_id == node_id and e.revoked is None else e for e in self.entries)
        return self._next(entries, authority, when)

    def with_notice(self, notice: Revocation) -> Roster:
        """This version with a verified notice applied; unchanged if it names no key
        of ours that is still active (already revoked, or another region's)."""
        for entry in self.entries:
            if key_fingerprint(entry.public_key) == notice.fingerprint and entry.revoked is None:
                revoked = replace(entry, revoked=notice.when, revoked_after=notice.last_seq, notice=notice.to_bytes())
                entries = tuple(revoked if e is entry else e for e in self.entries)
                return replace(self, entries=entries, notices=(*self.notices, notice))
        return self

    def newer(self, other: Roster) -> Roster:
        """``self``, a newer signed version, keeping ``other``'s notices that it does
        not already say: a revocation heard over the air is never undone by a file."""
        result = self
        for notice in other.notices:
            result = result.with_notice(notice)
        return result

    def _next(self, entries: tuple[RosterEntry, ...], authority: Signer, issued: datetime) -> Roster:
        if authority.public_key != self.authority_key:
            raise ValidationError(code="not_authority")
        # A roster of format 1 becomes format 2 with the id it had (derived): nothing changes name.
        bumped = replace(self, version=self.version + 1, issued=_utc(issued), entries=entries, signed_id=self.region_id)
        return bumped.signed(authority)

    def signed(self, authority: Signer) -> Roster:
        return replace(self, signature=authority.sign(ROSTER_CONTEXT + self.canonical_bytes()))

    # --- queries ---------------------------------------------------------------

    def entry_for_key(self, kid: int) -> RosterEntry:
        """The active entry whose key has id ``kid`` (control frames, new messages);
        raise VerificationError if none is usable."""
        entry = self.key_entry(kid)
        if entry.revoked is not None:
            raise VerificationError(None, "revoked", code="key_revoked", node=entry.node_id)
        return entry

    def key_entry(self, kid: int) -> RosterEntry:
        """The entry whose key has id ``kid``, revoked or not (a message is judged by
        its time and number: ``RosterEntry.voids``); VerificationError if unknown."""
        for entry in self.entries:
            if entry.key_id == kid:
                return entry
        raise VerificationError(None, "unknown_sender", code="unknown_sender", key_id=f"{kid:04x}")

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
        heard = {n.fingerprint for n in self.notices}
        signed = (
            replace(e, revoked=None, revoked_after=None, notice=None) if key_fingerprint(e.public_key) in heard else e
            for e in self.entries
        )
        body: dict[str, object] = {
            "format": FORMAT if self.signed_id is None else FORMAT_WITH_ID,
            "region": self.region,
            "version": self.version,
            "issued": _iso(self.issued),
            "authority_key": base64.b64encode(self.authority_key).decode(),
            "entries": [e.to_json() for e in signed],
        }
        if self.signed_id is not None:
            body["region_id"] = self.signed_id
        return body

    def canonical_bytes(self) -> bytes:
        return json.dumps(self._body(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def to_json(self) -> str:
        body = self._body()
        body["signature"] = base64.b64encode(self.signature).decode()
        if self.notices:
            body["notices"] = [base64.b64encode(n.to_bytes()).decode() for n in self.notices]
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, authority_key: bytes | None = None) -> Roster:
        """Parse and verify.  With ``authority_key``, the roster must be signed by it."""
        if len(text) > MAX_ROSTER_BYTES:
            raise DecodeError(None, "too_long", code="roster_too_large")
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise DecodeError(None, "malformed", code="roster_not_json") from None
        if not isinstance(data, dict) or data.get("format") not in (FORMAT, FORMAT_WITH_ID):
            raise DecodeError(None, "malformed", code="not_a_roster")
        signed_id = data.get("region_id") if data["format"] == FORMAT_WITH_ID else None
        if data["format"] == FORMAT_WITH_ID and not (isinstance(signed_id, str) and REGION_ID_RE.match(signed_id)):
            raise DecodeError(None, "malformed", code="roster_bad_region_id")
        try:
            roster = cls(
                region=str(data["region"]),
                version=int(data["version"]),
                issued=_parse_iso(str(data["issued"])),
                authority_key=base64.b64decode(str(data["authority_key"]), validate=True),
                entries=tuple(RosterEntry.from_json(e) for e in data["entries"]),
                signature=base64.b64decode(str(data["signature"]), validate=True),
                signed_id=signed_id if isinstance(signed_id, str) else None,
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise DecodeError(None, "malformed", code="roster_bad_field", problem=str(exc)) from None
        if authority_key is not None and roster.authority_key != authority_key:
            raise VerificationError(None, "wrong_authority", code="wrong_authority")
        if not verify(roster.authority_key, roster.signature, ROSTER_CONTEXT + roster.canonical_bytes()):
            raise VerificationError(None, "bad_signature", code="bad_roster_signature")
        notices = data.get("notices") or []
        if not isinstance(notices, list):
            raise DecodeError(None, "malformed", code="roster_notices_not_list")
        for text_notice in notices:
            try:
                raw = base64.b64decode(str(text_notice), validate=True)
            except ValueError:
                raise DecodeError(None, "malformed", code="roster_notice_not_base64") from None
            roster = roster.with_notice(Revocation.parse(raw, roster.authority_key))
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
