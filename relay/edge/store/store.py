"""The node's store-and-forward log: SQLite through sqlite-utils, WAL, fsync'd.

The store is the single source of truth and the contract between the CLI and
the daemon: the CLI commits a signed message and returns; the daemon sends
what the outbox holds.  Only verified messages enter (``wire.decode`` returns
a verified message or raises), so a row here is a message that verified
against the roster in force when it arrived.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL`` -- a COMMIT has
reached the disk before ``insert`` returns, so a message reported committed
survives kill -9 and power loss.

Identity: ``(origin, seq)`` names a message (MOD-0007).  A Pi restored from an
old backup can sign a *different* message with a used number; both are kept,
keyed by ``(origin, seq, digest)``, and flagged ``conflict``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from relay.core.log import MAX_HELD_RUNS, MAX_RANGES, Inserted, Ranges, held_in, ranges_of
from relay.core.model import Kind, Priority
from relay.core.roster import Roster, RosterEntry
from relay.core.signing import MESSAGE_CONTEXT, SIGNATURE_BYTES, verify
from relay.core.wire import Dictionary, SignedMessage, parse_verified, peek
from relay.edge.store.rows import (
    BULK_COLUMNS,
    DAMAGE,
    DERIVED,
    Quarantined,
    Receipt,
    Stored,
    derived,
    from_iso,
    header_is,
    is_full,
    to_iso,
)
from relay.edge.store.schema import MIGRATIONS, SCHEMA_VERSION, Transaction

if TYPE_CHECKING:
    import sqlite_utils
from relay.errors import DecodeError, LocalError


class Store:
    """A node's log.  One instance per thread or process; SQLite does the locking."""

    def __init__(self, path: Path | str, dictionaries: Mapping[int, Dictionary]) -> None:
        self.path = Path(path)
        conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        self._conn = conn
        self._dictionaries = dictionaries
        # (origin, seq) -> when: sent, but the disk was too full to record it (``mark_transmitted``).
        self.unsaved_marks: dict[tuple[str, int], datetime] = {}
        # (origin, seq, digest) of rows that would not decode when read: skipped,
        # never fatal; ``quarantine_damaged`` moves them out of the log.
        self.damaged: set[tuple[str, int, str]] = set()
        self._migrate()

    def close(self) -> None:
        self._conn.close()

    @functools.cached_property
    def _db(self) -> sqlite_utils.Database:
        """sqlite-utils over the same connection, for migrations and inserts only: importing it
        costs a reader (``relay inbox``) tens of milliseconds."""
        import sqlite_utils

        return sqlite_utils.Database(self._conn)

    # --- schema ------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LocalError(f"databasen har skjemaversjon {version}, nyere enn denne relay ({SCHEMA_VERSION})")
        for step in range(version + 1, SCHEMA_VERSION + 1):
            with self._transaction():
                MIGRATIONS[step](self._db)
                self._conn.execute(f"PRAGMA user_version={step}")

    def _transaction(self) -> Transaction:
        return Transaction(self._conn)

    # --- writing -----------------------------------------------------------------

    def insert(self, signed: SignedMessage, received_at: datetime, local: bool = False) -> Inserted:
        """Add a verified message; idempotent.  Returns what happened."""
        with self._transaction():
            return self._insert(signed, received_at, local)

    def _insert(self, signed: SignedMessage, received_at: datetime, local: bool) -> Inserted:
        msg = signed.message
        rows = self._conn.execute(
            "SELECT digest FROM messages WHERE origin=? AND seq=?", (msg.origin, msg.seq)
        ).fetchall()
        if any(row[0] == signed.digest for row in rows):
            return Inserted.DUPLICATE
        self._db.table("messages").insert(
            {
                **derived(msg, signed.key_id),
                "digest": signed.digest,
                "received_at": to_iso(received_at),
                "wire": signed.wire,
                "local": int(local),
                "conflict": int(bool(rows)),
                "transmitted_at": None,
                "read_at": to_iso(received_at) if local else None,
            }
        )
        if rows:
            self._conn.execute("UPDATE messages SET conflict=1 WHERE origin=? AND seq=?", (msg.origin, msg.seq))
            return Inserted.CONFLICT
        self._advance_head(msg.origin, msg.seq)
        return Inserted.NEW

    def _advance_head(self, origin: str, seq: int) -> None:
        row = self._conn.execute("SELECT contiguous, max_seq FROM origins WHERE origin=?", (origin,)).fetchone()
        contiguous, max_seq = row if row else (0, 0)
        max_seq = max(max_seq, seq)
        if seq == contiguous + 1:
            contiguous = seq
            while self._conn.execute(
                "SELECT 1 FROM messages WHERE origin=? AND seq=?", (origin, contiguous + 1)
            ).fetchone():
                contiguous += 1
        self._conn.execute(
            "INSERT INTO origins(origin, contiguous, max_seq) VALUES(?,?,?) "
            "ON CONFLICT(origin) DO UPDATE SET contiguous=excluded.contiguous, max_seq=excluded.max_seq",
            (origin, contiguous, max_seq),
        )

    def commit_local(self, origin: str, build: Callable[[int], SignedMessage], now: datetime) -> SignedMessage:
        """Allocate the next sequence number of ``origin``, build and sign, and commit -- atomically.

        The number is above every number this node has committed itself, and above
        the floor a restore sets (``raise_sequence_floor``); numbers heard from the
        air under our own origin do not count (``local_head``).
        """
        with self._transaction():
            signed = build(self.local_head(origin) + 1)
            if signed.message.origin != origin:
                raise LocalError("built message has the wrong origin")
            self._insert(signed, now, local=True)
            return signed

    def local_head(self, origin: str) -> int:
        """The highest number this node has committed itself under ``origin`` (or the
        floor a restore set).  Never a number heard from the air: a stolen key's
        message under our own origin must not move our counter (it could send it to
        the last number, and every ``relay send`` after would fail)."""
        held = self._conn.execute("SELECT max(seq) FROM messages WHERE origin=? AND local=1", (origin,)).fetchone()[0]
        return max(held or 0, int(self.get_state(f"seq_floor:{origin}") or 0))

    def highest(self, origin: str, before: datetime | None = None) -> int:
        """The highest sequence number held of ``origin`` (0: none); with ``before``, of those held since then."""
        at = "" if before is None else " AND received_at <= ?"
        args = (origin,) if before is None else (origin, to_iso(before))
        return int(self._conn.execute(f"SELECT max(seq) FROM messages WHERE origin=?{at}", args).fetchone()[0] or 0)

    def raise_sequence_floor(self, origin: str, floor: int) -> None:
        """Never allocate a number at or below ``floor`` again (used after a restore)."""
        with self._transaction():
            current = int(self.get_state(f"seq_floor:{origin}") or 0)
            self.set_state(f"seq_floor:{origin}", str(max(current, floor)))

    def mark_transmitted(self, origin: str, seq: int, at: datetime) -> None:
        """Record that ``origin-seq`` went to the radio.

        On a full disk (SQLITE_FULL) the mark is kept in ``unsaved_marks`` instead of
        raising: the message has gone out, and ``pending`` must not offer it again, or
        the sender would loop on it.  The marks are written with the next one that
        fits; a restart before then sends the message once more (receivers ignore the
        duplicate).
        """
        self.unsaved_marks[(origin, seq)] = at
        for (o, s), when in list(self.unsaved_marks.items()):
            try:
                self._conn.execute(
                    "UPDATE messages SET transmitted_at=? WHERE origin=? AND seq=? AND transmitted_at IS NULL",
                    (to_iso(when), o, s),
                )
            except sqlite3.Error as exc:
                if not is_full(exc):
                    raise
                return  # still full: the rest waits for the next mark
            del self.unsaved_marks[(o, s)]

    def pending(self) -> list[tuple[str, int, int]]:
        """(origin, seq, priority rank) of local messages not yet transmitted, most urgent first."""
        rows = self._conn.execute(
            "SELECT origin, seq, priority FROM messages WHERE local=1 AND transmitted_at IS NULL ORDER BY priority, seq"
        )
        return [(r[0], r[1], r[2]) for r in rows if (r[0], r[1]) not in self.unsaved_marks]

    def mark_read(self, origin: str, seq: int, at: datetime) -> bool:
        cur = self._conn.execute(
            "UPDATE messages SET read_at=coalesce(read_at, ?) WHERE origin=? AND seq=?", (to_iso(at), origin, seq)
        )
        return cur.rowcount > 0

    def add_receipt(self, origin: str, seq: int, node: str, level: str, at: datetime) -> bool:
        """Record that ``node`` holds/read/did ``origin-seq``; True if it is news."""
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO receipts(origin, seq, node, level, at) VALUES(?,?,?,?,?)",
            (origin, seq, node, level, to_iso(at)),
        )
        return cur.rowcount > 0

    def add_receipts(self, origin: str, first: int, last: int, node: str, level: str, at: datetime) -> None:
        """Record ``level`` at ``node`` for every held message of ``origin`` numbered first..last."""
        self._conn.execute(
            "INSERT OR IGNORE INTO receipts(origin, seq, node, level, at) "
            "SELECT DISTINCT origin, seq, ?, ?, ? FROM messages WHERE origin=? AND seq BETWEEN ? AND ?",
            (node, level, to_iso(at), origin, first, last),
        )

    def set_state(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO state(key, value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def get_state(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    # --- sync queries ------------------------------------------------------------

    def summary(self) -> dict[str, int]:
        """Per origin, the highest sequence number below which nothing is missing."""
        return dict(self._conn.execute("SELECT origin, contiguous FROM origins ORDER BY origin").fetchall())

    def held_above(self, origin: str, seq: int, limit: int = 1000) -> list[int]:
        """Sequence numbers of ``origin`` held above ``seq`` (the holes are the rest)."""
        rows = self._conn.execute(
            "SELECT DISTINCT seq FROM messages WHERE origin=? AND seq>? ORDER BY seq LIMIT ?", (origin, seq, limit)
        )
        return [r[0] for r in rows]

    def extras(self, page: int | None = 0) -> dict[str, Ranges]:
        """Per origin with a hole, the runs of messages held above it: page ``page`` of
        MAX_RANGES runs (rotating, for an origin with more), or all of them (None, at
        most MAX_HELD_RUNS).  A summary names one page; over several summaries every
        run is named, so two stores that differ only in a fifth run still find out."""
        rows = self._conn.execute("SELECT origin, contiguous FROM origins WHERE max_seq > contiguous + 1")
        out = {}
        for origin, head in rows.fetchall():
            runs = ranges_of(self.held_above(origin, head + 1, limit=1024), MAX_HELD_RUNS)
            if page is not None and len(runs) > MAX_RANGES:
                pages = -(-len(runs) // MAX_RANGES)
                start = page % pages * MAX_RANGES
                runs = runs[start : start + MAX_RANGES]
            if runs:
                out[origin] = runs
        return out

    def missing(
        self, peer_summary: Mapping[str, int], limit: int = 1000, extras: Mapping[str, Ranges] | None = None
    ) -> list[tuple[str, int]]:
        """What the peer's summary (and its extra ranges) proves exists and this store lacks, oldest first.

        Bounded by ``limit``, never by the peer's claim: summaries are unsigned.
        """
        ours = self.summary()
        extras = extras or {}
        out: list[tuple[str, int]] = []
        for origin in sorted(set(peer_summary) | set(extras)):
            start = ours.get(origin, 0)
            spans = [(start + 1, peer_summary.get(origin, 0))] + [
                (max(first, start + 1), last) for first, last in extras.get(origin, ())[:MAX_HELD_RUNS]
            ]
            for first, last in spans:
                seq = first
                while seq <= last and len(out) < limit:
                    window = self.held_above(origin, seq - 1, limit=64)
                    held = set(window)
                    stop = min(last, window[-1]) if len(window) == 64 else last
                    while seq <= stop and len(out) < limit:
                        if seq not in held:
                            out.append((origin, seq))
                        seq += 1
            if len(out) >= limit:
                break
        return out[:limit]

    def offer(
        self, peer_summary: Mapping[str, int], limit: int = 1000, extras: Mapping[str, Ranges] | None = None
    ) -> list[tuple[str, int]]:
        """What this store holds and the peer's summary shows it lacks, most urgent first."""
        extras = extras or {}
        rows = self._conn.execute(
            "SELECT DISTINCT origin, seq, priority FROM messages m WHERE seq > coalesce(("
            "  SELECT value FROM json_each(?) WHERE key = m.origin), 0) ORDER BY priority, origin, seq LIMIT ?",
            (_json(peer_summary), limit + sum(last - first + 1 for r in extras.values() for first, last in r)),
        )
        out = [
            (origin, seq)
            for origin, seq, _ in rows
            if not held_in(peer_summary.get(origin, 0), extras.get(origin, ()), seq)
        ]
        return out[:limit]

    def wire_of(self, origin: str, seq: int) -> list[bytes]:
        """The wire bytes held for an id (two or more when it is in conflict).  A row
        whose bytes no longer match their digest, or whose header names another number
        or key than its columns, is damaged: never served, noted."""
        rows = self._conn.execute(
            "SELECT wire, digest, key_id FROM messages WHERE origin=? AND seq=? ORDER BY digest", (origin, seq)
        )
        out = []
        for data, digest, key_id in rows:
            if hashlib.sha256(data).hexdigest() == digest and header_is(bytes(data), seq, key_id):
                out.append(data)
            else:
                self.damaged.add((origin, seq, digest))
        return out

    def digest(self) -> str:
        """A digest of exactly which messages this store holds: equal stores, equal digests."""
        h = hashlib.sha256()
        for origin, seq, digest in self._conn.execute("SELECT origin, seq, digest FROM messages ORDER BY 1, 2, 3"):
            h.update(f"{origin}-{seq}-{digest}\n".encode())
        return h.hexdigest()

    # --- operator queries -------------------------------------------------------

    def outbox(self) -> list[Stored]:
        return self._select("local=1 AND transmitted_at IS NULL", (), "priority, seq")

    def inbox(
        self,
        kind: Kind | None = None,
        node: str | None = None,
        priority: Priority | None = None,
        exercise: bool | None = None,
        limit: int | None = None,
    ) -> list[Stored]:
        """Received messages, unread first, then by priority, newest first; at most ``limit``."""
        where = ["local=0"]
        params: list[object] = []
        if kind is not None:
            where.append("kind=?")
            params.append(kind.value)
        if node is not None:
            where.append("origin=?")
            params.append(node)
        if priority is not None:
            where.append("priority=?")
            params.append(priority.rank)
        if exercise is not None:
            where.append("exercise=?")
            params.append(int(exercise))
        return self._select(" AND ".join(where), params, "read_at IS NOT NULL, priority, received_at DESC", limit=limit)

    def of_kind(self, kind: Kind) -> list[Stored]:
        """Every message of one kind, sent or received, oldest first."""
        return self._select("kind=?", (kind.value,), "created, origin, seq")

    def get(self, origin: str, seq: int) -> list[Stored]:
        return self._select("origin=? AND seq=?", (origin, seq), "digest")

    def replies(self, origin: str, seq: int) -> list[Stored]:
        """Messages that answer, acknowledge or replace ``origin-seq`` (their ref names it)."""
        return self._select("ref=?", (f"{origin}-{seq:04d}",), "created, origin, seq")

    def log(self) -> list[Stored]:
        """Every message, in the order it entered this store."""
        return self._select("1=1", (), "received_at, rowid")

    def receipts(self, origin: str, seq: int) -> list[Receipt]:
        rows = self._conn.execute(
            "SELECT origin, seq, node, level, at FROM receipts WHERE origin=? AND seq=? ORDER BY node, at",
            (origin, seq),
        )
        return [Receipt(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4])) for r in rows]

    def rows_after(self, rowid: int) -> list[tuple[int, Stored]]:
        """Rows added after ``rowid`` (their rowids ascend), decoded: a reader that keeps
        what it decoded before asks only for the news."""
        return self._rows("rowid > ?", (rowid,), "rowid")

    def newest(self, limit: int) -> list[Stored]:
        """The ``limit`` rows received last, decoded: one page of the log."""
        return self._select("1", (), "received_at DESC, rowid DESC", limit)

    def bulk_load(self, rows: Iterable[Iterable[Sequence[object]]], heads: Mapping[str, int]) -> None:
        """Rows in ``BULK_COLUMNS`` order, in chunks, and each origin's head, in one
        transaction and without verifying them: only for a benchmark's store of
        messages it has just signed itself.  Nothing from the air comes this way."""
        columns = ", ".join(BULK_COLUMNS)
        marks = ",".join("?" * len(BULK_COLUMNS))
        with self._transaction():
            for chunk in rows:
                self._conn.executemany(f"INSERT INTO messages({columns}) VALUES ({marks})", chunk)
            self._conn.executemany(
                "INSERT INTO origins(origin, contiguous, max_seq) VALUES(?,?,?)",
                [(origin, head, head) for origin, head in heads.items()],
            )

    def row_states(self) -> dict[int, bool]:
        """Every row's rowid and whether it is in conflict: what changed, cheaply."""
        return {int(r): bool(c) for r, c in self._conn.execute("SELECT rowid, conflict FROM messages")}

    def sent_seqs(self, origin: str, limit: int) -> list[int]:
        """The numbers of ``origin``'s messages committed here, newest first."""
        rows = self._conn.execute(
            "SELECT DISTINCT seq FROM messages WHERE origin=? AND local=1 ORDER BY seq DESC LIMIT ?", (origin, limit)
        )
        return [int(r[0]) for r in rows]

    def data_version(self) -> int:
        """Changes whenever another connection (the daemon, the CLI) commits: a cheap
        "is there news?" for pollers."""
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def all_holders(self) -> dict[tuple[str, int], list[tuple[str, datetime]]]:
        """Every MOTTATT receipt: (origin, seq) -> [(node, since when it is shown to hold it)],
        for the situation picture and the inbox."""
        out: dict[tuple[str, int], list[tuple[str, datetime]]] = {}
        rows = self._conn.execute("SELECT origin, seq, node, at FROM receipts WHERE level='MOTTATT'")
        for origin, seq, node, at in rows:
            out.setdefault((origin, seq), []).append((node, datetime.fromisoformat(at)))
        return out

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM messages").fetchone()[0])

    def _select(self, where: str, params: Iterable[object], order: str, limit: int | None = None) -> list[Stored]:
        return [stored for _, stored in self._rows(where, params, order, limit)]

    def _rows(
        self, where: str, params: Iterable[object], order: str, limit: int | None = None
    ) -> list[tuple[int, Stored]]:
        """(rowid, row) of the rows asked for, decoded; decoding is the cost (about 0.2 ms
        a message).  A row whose bytes do not match their digest (verified when stored),
        or do not decode, is skipped and noted in ``damaged``: one flipped byte must
        neither take the inbox down nor show altered text as verified."""
        rows = self._conn.execute(
            "SELECT origin, wire, digest, key_id, received_at, local, conflict, transmitted_at, read_at, seq, rowid "
            f"FROM messages WHERE {where} ORDER BY {order} LIMIT ?",
            (*params, -1 if limit is None else limit),
        )
        out = []
        for r in rows:
            try:
                if hashlib.sha256(r[1]).hexdigest() != r[2]:
                    raise DecodeError("the bytes no longer match their digest", "damaged")
                message = parse_verified(r[1], r[0], self._dictionaries)
            except DAMAGE:
                self.damaged.add((r[0], r[9], r[2]))
                continue
            out.append(
                (
                    int(r[10]),
                    Stored(
                        message=message,
                        wire=r[1],
                        digest=r[2],
                        key_id=r[3],
                        received_at=datetime.fromisoformat(r[4]),
                        local=bool(r[5]),
                        conflict=bool(r[6]),
                        transmitted_at=from_iso(r[7]),
                        read_at=from_iso(r[8]),
                    ),
                )
            )
        return out

    # --- faults: quarantine -----------------------------------------------------

    def quarantine(self, origin: str, seq: int, digest: str, reason: str, at: datetime) -> bool:
        """Move one row out of the log into ``quarantine`` (kept for the record,
        never served or shown); the origin's head is recomputed.  True if moved."""
        with self._transaction():
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO quarantine(origin, seq, digest, key_id, wire, reason, at) "
                "SELECT origin, seq, digest, key_id, wire, ?, ? FROM messages WHERE origin=? AND seq=? AND digest=?",
                (reason, to_iso(at), origin, seq, digest),
            )
            self._conn.execute("DELETE FROM messages WHERE origin=? AND seq=? AND digest=?", (origin, seq, digest))
            self._recount(origin)
        self.damaged.discard((origin, seq, digest))
        return cur.rowcount > 0

    def quarantined(self) -> list[Quarantined]:
        rows = self._conn.execute("SELECT origin, seq, digest, reason, at FROM quarantine ORDER BY at, origin, seq")
        return [Quarantined(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4])) for r in rows]

    def void_revoked(self, entry: RosterEntry, at: datetime) -> list[str]:
        """Quarantine the messages that ``entry``'s revocation voids (created after
        it, or numbered above its last genuine number); the ids moved."""
        rows = self._conn.execute(
            "SELECT origin, seq, digest, created FROM messages WHERE key_id=?", (entry.key_id,)
        ).fetchall()
        moved = []
        for origin, seq, digest, created in rows:
            if entry.voids(datetime.fromisoformat(created), seq) and self.quarantine(
                origin, seq, digest, "revoked", at
            ):
                moved.append(f"{origin}-{seq:04d}")
        return moved

    def quarantine_damaged(self, at: datetime) -> list[str]:
        """Quarantine the rows found damaged while reading; the ids moved."""
        moved = []
        for origin, seq, digest in sorted(self.damaged):
            if self.quarantine(origin, seq, digest, "damaged", at):
                moved.append(f"{origin}-{seq:04d}")
        self.damaged.clear()
        return moved

    def check(self, roster: Roster, deep: bool = True) -> list[tuple[str, int, str, str]]:
        """Every row checked as ``relay doctor`` does: its digest, and (``deep``) its
        decoding, every column derived from it (``DERIVED``: origin, number, key,
        kind, priority, exercise, time, reference), its signature against the key it
        names, and the roster's revocations.  Returns (origin, seq, digest, reason) of
        each row that fails; changes nothing.  Not deep, it is a hash and a header a
        row, the header's number and key against the columns: the daemon's start."""
        bad = []
        columns = ", ".join(DERIVED)
        rows = self._conn.execute(f"SELECT digest, wire, {columns} FROM messages ORDER BY rowid")
        keys = {e.key_id: e for e in roster.entries}
        for digest, data, *values in rows:
            row = dict(zip(DERIVED, values, strict=True))
            origin, seq = str(row["origin"]), int(row["seq"])
            if not deep:
                if hashlib.sha256(data).hexdigest() != digest:
                    bad.append((origin, seq, digest, "damaged"))
                elif not header_is(bytes(data), seq, row["key_id"]):
                    bad.append((origin, seq, digest, "mismatch"))
                continue
            reason = self._fault(row, digest, bytes(data), keys)
            entry = keys.get(int(row["key_id"]))
            if reason is None and entry is not None and entry.voids(datetime.fromisoformat(str(row["created"])), seq):
                reason = "revoked"
            if reason is not None:
                bad.append((origin, seq, digest, reason))
        return bad

    def _fault(
        self, row: Mapping[str, object], digest: str, data: bytes, keys: Mapping[int, RosterEntry]
    ) -> str | None:
        if hashlib.sha256(data).hexdigest() != digest:
            return "damaged"
        origin = str(row["origin"])
        try:
            key_id = peek(data).key_id
            message = parse_verified(data, origin, self._dictionaries)
        except DAMAGE:
            return "damaged"
        entry = keys.get(key_id)
        if derived(message, key_id) != row or (entry is not None and entry.node_id != origin):
            return "mismatch"  # a column says other than the blob: the sync and the operator trust the columns
        body, signature = data[:-SIGNATURE_BYTES], data[-SIGNATURE_BYTES:]
        if entry is not None and not verify(entry.public_key, signature, MESSAGE_CONTEXT + body):
            return "bad_signature"
        return None

    def integrity(self) -> list[str]:
        """SQLite's own check of the database file: empty when it is sound."""
        rows = [r[0] for r in self._conn.execute("PRAGMA integrity_check").fetchall()]
        return [] if rows == ["ok"] else rows

    def _recount(self, origin: str) -> None:
        """Recompute an origin's head after rows left the log."""
        seqs = [
            r[0] for r in self._conn.execute("SELECT DISTINCT seq FROM messages WHERE origin=? ORDER BY seq", (origin,))
        ]
        contiguous = 0
        for seq in seqs:
            if seq != contiguous + 1:
                break
            contiguous = seq
        if not seqs:
            self._conn.execute("DELETE FROM origins WHERE origin=?", (origin,))
            return
        self._conn.execute("UPDATE origins SET contiguous=?, max_seq=? WHERE origin=?", (contiguous, seqs[-1], origin))


def _json(summary: Mapping[str, int]) -> str:
    return json.dumps(dict(summary))
