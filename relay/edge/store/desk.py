"""The desk's own records, beside the log in the node's home (``desk.db``): accounts, sessions,
drafts, and which operator wrote or acknowledged each message.

Kept apart from the log (``Store``): nothing here goes on the air or to a
neighbour, and a backup of the log does not carry password hashes.  The crisis
log's «who» (``authors``) is local to the node, as the issue allows.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from relay.edge.store.rows import from_iso, to_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, hash BLOB NOT NULL, salt BLOB NOT NULL,
    created TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0, locked_until TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL, expires TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS drafts (
    id INTEGER PRIMARY KEY, user TEXT NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL, updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS authors (
    origin TEXT NOT NULL, seq INTEGER NOT NULL, action TEXT NOT NULL, user TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (origin, seq, action, user)
);
"""


@dataclass(frozen=True)
class User:
    name: str
    role: str  # "operatør" or "leser"
    hash: bytes
    salt: bytes
    failures: int
    locked_until: datetime | None


@dataclass(frozen=True)
class Session:
    user: str
    role: str
    csrf: str
    expires: datetime


@dataclass(frozen=True)
class Draft:
    id: int
    user: str
    kind: str
    data: dict[str, str]
    updated: datetime


@dataclass(frozen=True)
class Author:
    origin: str
    seq: int
    action: str  # "skrev" or "kvitterte LEST" / "kvitterte UTFØRT"
    user: str
    at: datetime


class DeskStore:
    """Accounts, sessions, drafts and authors of one node's desk.  One per thread."""

    def __init__(self, path: Path | str) -> None:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(SCHEMA)
        self._conn = conn

    def close(self) -> None:
        self._conn.close()

    # --- accounts ------------------------------------------------------------------

    def add_user(self, name: str, role: str, hash: bytes, salt: bytes, at: datetime) -> None:
        """Make or replace an account (a new password clears its lockout and sessions)."""
        self._conn.execute("DELETE FROM sessions WHERE user=?", (name,))
        self._conn.execute(
            "INSERT OR REPLACE INTO users(name, role, hash, salt, created, failures) VALUES(?,?,?,?,?,0)",
            (name, role, hash, salt, to_iso(at)),
        )

    def remove_user(self, name: str) -> bool:
        return self._conn.execute("DELETE FROM users WHERE name=?", (name,)).rowcount > 0

    def user(self, name: str) -> User | None:
        row = self._conn.execute(
            "SELECT name, role, hash, salt, failures, locked_until FROM users WHERE name=?", (name,)
        ).fetchone()
        return User(row[0], row[1], row[2], row[3], row[4], from_iso(row[5])) if row else None

    def users(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._conn.execute("SELECT name, role FROM users ORDER BY name")]

    def failed(self, name: str, limit: int, locked_until: datetime) -> datetime | None:
        """Count a wrong password, in one statement (guesses in parallel count one by one); from the
        ``limit``-th in a row on, lock the account until ``locked_until``.  The lock, if any."""
        self._conn.execute(
            "UPDATE users SET failures=failures+1, "
            "locked_until=CASE WHEN failures+1 >= ? THEN ? ELSE locked_until END WHERE name=?",
            (limit, to_iso(locked_until), name),
        )
        row = self._conn.execute("SELECT locked_until FROM users WHERE name=?", (name,)).fetchone()
        return from_iso(row[0]) if row else None

    def succeeded(self, name: str) -> None:
        self._conn.execute("UPDATE users SET failures=0, locked_until=NULL WHERE name=?", (name,))

    # --- sessions ------------------------------------------------------------------

    def open_session(self, digest: str, user: str, csrf: str, expires: datetime) -> None:
        self._conn.execute(
            "INSERT INTO sessions(digest, user, csrf, expires) VALUES(?,?,?,?)", (digest, user, csrf, to_iso(expires))
        )

    def session(self, digest: str, now: datetime) -> Session | None:
        """The live session of that digest; an expired one is removed and is none."""
        row = self._conn.execute(
            "SELECT s.user, u.role, s.csrf, s.expires FROM sessions s JOIN users u ON u.name = s.user WHERE s.digest=?",
            (digest,),
        ).fetchone()
        if row is None:
            return None
        expires = datetime.fromisoformat(row[3])
        if expires <= now:
            self.close_session(digest)
            return None
        return Session(row[0], row[1], row[2], expires)

    def close_session(self, digest: str) -> None:
        self._conn.execute("DELETE FROM sessions WHERE digest=?", (digest,))

    # --- drafts --------------------------------------------------------------------

    def save_draft(self, user: str, kind: str, data: dict[str, str], at: datetime, draft_id: int | None) -> int:
        """Keep what was typed; the draft's id (a new one unless ``draft_id`` is this user's)."""
        text = json.dumps(data, ensure_ascii=False)
        if draft_id is not None:
            cur = self._conn.execute(
                "UPDATE drafts SET kind=?, data=?, updated=? WHERE id=? AND user=?",
                (kind, text, to_iso(at), draft_id, user),
            )
            if cur.rowcount:
                return draft_id
        cur = self._conn.execute(
            "INSERT INTO drafts(user, kind, data, updated) VALUES(?,?,?,?)", (user, kind, text, to_iso(at))
        )
        return int(cur.lastrowid or 0)

    def draft(self, user: str, draft_id: int) -> Draft | None:
        row = self._conn.execute(
            "SELECT id, user, kind, data, updated FROM drafts WHERE id=? AND user=?", (draft_id, user)
        ).fetchone()
        return _draft(row) if row else None

    def drafts(self, user: str) -> list[Draft]:
        rows = self._conn.execute(
            "SELECT id, user, kind, data, updated FROM drafts WHERE user=? ORDER BY updated DESC, id DESC", (user,)
        )
        return [_draft(r) for r in rows]

    def drop_draft(self, user: str, draft_id: int) -> None:
        self._conn.execute("DELETE FROM drafts WHERE id=? AND user=?", (draft_id, user))

    # --- who wrote and acknowledged --------------------------------------------------

    def record(self, origin: str, seq: int, action: str, user: str, at: datetime) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO authors(origin, seq, action, user, at) VALUES(?,?,?,?,?)",
            (origin, seq, action, user, to_iso(at)),
        )

    def authors(self, origin: str, seq: int) -> list[Author]:
        rows = self._conn.execute(
            "SELECT origin, seq, action, user, at FROM authors WHERE origin=? AND seq=? ORDER BY at", (origin, seq)
        )
        return [Author(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4])) for r in rows]

    def all_authors(self) -> dict[tuple[str, int], list[Author]]:
        """Every record, by message, in time order (for the printed crisis log)."""
        out: dict[tuple[str, int], list[Author]] = {}
        for r in self._conn.execute("SELECT origin, seq, action, user, at FROM authors ORDER BY at, rowid"):
            out.setdefault((r[0], r[1]), []).append(Author(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4])))
        return out


def _draft(row: tuple[int, str, str, str, str]) -> Draft:
    return Draft(row[0], row[1], row[2], json.loads(row[3]), datetime.fromisoformat(row[4]))
