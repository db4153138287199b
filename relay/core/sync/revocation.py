"""ROSTER messages: the authority's revocation of a key, carried by any store.

A ROSTER message is signed by the node that sends it, like any other; what it
carries is the authority's own signed notice (``roster.Revocation``), checked
here against the authority key the roster pins.  A message whose notice fails
is refused before it is stored, so no store relays a forged revocation, even
one sent with a stolen node key.
"""

from __future__ import annotations

from relay.core.model import Kind, Message
from relay.core.roster import Revocation, Roster, key_fingerprint
from relay.errors import DecodeError


def notice_of(msg: Message, roster: Roster) -> Revocation | None:
    """The verified notice a ROSTER message carries (None for other kinds); raise
    DecodeError when it does not verify or names another node than it says."""
    if msg.kind is not Kind.ROSTER:
        return None
    data = msg.get("notice")
    assert isinstance(data, bytes)  # the schema says so; the decoder checked its length
    notice = Revocation.parse(data, roster.authority_key)
    named = str(msg.get("node") or "").strip().upper()
    for entry in roster.entries:
        if key_fingerprint(entry.public_key) == notice.fingerprint and entry.node_id != named:
            raise DecodeError(f"{msg.id}: the notice revokes {entry.node_id}'s key, not {named}'s", "bad_notice")
    return notice


def newly_revoked(before: Roster, after: Roster) -> list[str]:
    """Node ids with a key that ``after`` revokes and ``before`` did not."""
    was = {e.public_key for e in before.entries if e.revoked is not None}
    return [e.node_id for e in after.entries if e.revoked is not None and e.public_key not in was]
