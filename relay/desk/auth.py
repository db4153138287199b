"""People at the desk: accounts, password hashes, sessions, CSRF tokens and the lockout.

Passwords are hashed with scrypt (memory-hard: 2^15 x 8 x 128 bytes = 32 MiB
a guess, about 0.1 s on a Pi 4), from ``cryptography``, already a dependency.
A session is a random token in an HttpOnly, SameSite=Strict cookie; the store
keeps only its SHA-256, with the session's own CSRF token that every form
sends back.  Five wrong passwords in a row lock an account for 15 minutes, and
every further wrong one locks it again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from relay.edge.store import DeskStore
from relay.edge.store.desk import Session
from relay.errors import LocalError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1
HASH_BYTES = 32
SALT_BYTES = 16
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
DEFAULT_SESSION = timedelta(hours=8)  # one shift in the crisis room
MIN_PASSWORD = 8
_DUMMY_SALT = b"\0" * SALT_BYTES


class Role(Enum):
    OPERATOR = "operatør"  # reads and writes
    READER = "leser"  # reads

    @classmethod
    def parse(cls, text: str) -> Role:
        folded = text.strip().lower()
        names = {"operatør": cls.OPERATOR, "operator": cls.OPERATOR, "leser": cls.READER, "reader": cls.READER}
        if folded in names:
            return names[folded]
        raise LocalError(code="unknown_desk_role", text=text)


# At most two hashes at a time: 32 MiB each, so a burst of logins (or a guesser with many
# connections) cannot take a Pi's memory; the rest wait their turn.
_KDF_SLOTS = threading.BoundedSemaphore(2)


def _kdf(password: str, salt: bytes) -> bytes:
    with _KDF_SLOTS:
        return Scrypt(salt=salt, length=HASH_BYTES, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(password.encode())


def add_user(store: DeskStore, name: str, role: Role, password: str, now: datetime) -> None:
    """Make an account (or give one a new password and role)."""
    if not name.strip() or any(c.isspace() for c in name):
        raise LocalError(code="bad_user_name", text=name)
    if len(password) < MIN_PASSWORD:
        raise LocalError(code="short_password", size=MIN_PASSWORD)
    salt = secrets.token_bytes(SALT_BYTES)
    store.add_user(name, role.value, _kdf(password, salt), salt, now)


class Refusal(Enum):
    WRONG = "wrong"  # unknown name or wrong password: the same answer for both
    LOCKED = "locked"


@dataclass(frozen=True)
class Login:
    """A new session's cookie value, or why there is none."""

    token: str | None
    refusal: Refusal | None = None
    locked_until: datetime | None = None


def log_in(store: DeskStore, name: str, password: str, now: datetime, lifetime: timedelta) -> Login:
    """Check the password (unless the account is locked) and open a session."""
    user = store.user(name)
    if user is None:
        _kdf(password, _DUMMY_SALT)  # as slow as a real check: no telling names from the timing
        return Login(None, Refusal.WRONG)
    if user.locked_until is not None and user.locked_until > now:
        return Login(None, Refusal.LOCKED, user.locked_until)
    right = hmac.compare_digest(_kdf(password, user.salt), user.hash)
    if not right:
        lock = store.failed(name, MAX_FAILURES, now + LOCKOUT)
        locked = lock is not None and lock > now
        return Login(None, Refusal.LOCKED if locked else Refusal.WRONG, lock if locked else None)
    again = store.user(name)  # a lock set by a parallel guess while this hash was computed holds too
    if again is not None and again.locked_until is not None and again.locked_until > now:
        return Login(None, Refusal.LOCKED, again.locked_until)
    store.succeeded(name)
    token = secrets.token_urlsafe(32)
    store.open_session(digest(token), name, secrets.token_urlsafe(24), now + lifetime)
    return Login(token)


def digest(token: str) -> str:
    """What the store keeps of a session token: a stolen desk.db opens no session."""
    return hashlib.sha256(token.encode()).hexdigest()


def session(store: DeskStore, token: str | None, now: datetime) -> Session | None:
    return store.session(digest(token), now) if token else None


def same(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two tokens; a missing one is never the same."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given).encode(), str(expected).encode())
