"""Ed25519 signing and the short key id that names a sender on the wire.

Byte budget: a sender costs 2 bytes (key id) + 64 bytes (signature) per
message, instead of a 32-byte public key.  The roster refuses two keys with
the same id, so 16 bits identify a key among the region's few dozen.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a key is used: reading the log (``relay inbox``) needs none
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_ID_BITS = 16
SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32
MESSAGE_CONTEXT = b"relay/msg/1\x00"  # domain separation: a message signature is never a roster's
ROSTER_CONTEXT = b"relay/roster/1\x00"
REVOCATION_CONTEXT = b"relay/revoke/1\x00"
SUMMARY_CONTEXT = b"relay/summary/1\x00"


def key_id(public_key: bytes) -> int:
    """The 16-bit id of a raw Ed25519 public key."""
    return int.from_bytes(hashlib.sha256(b"relay/key-id\x00" + public_key).digest()[:2], "big")


def public_bytes(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verify(public_key: bytes, signature: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Signer:
    """A node's private key with its id; signs canonical bytes."""

    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> Signer:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Signer:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def seed(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    @property
    def public_key(self) -> bytes:
        return public_bytes(self.private_key.public_key())

    @property
    def key_id(self) -> int:
        return key_id(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)
