"""The store: idempotent insert, conflicts, summaries, outbox, durability under kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from relay.core import wire
from relay.core.log import Inserted
from relay.core.model import Kind, Message, Priority
from relay.core.signing import Signer
from relay.edge import dictionaries
from relay.edge.store import Store

T0 = datetime(2026, 5, 29, 12, 0, tzinfo=UTC)
MOD_KEY = Signer.from_seed(bytes([4]) * 32)


def melding(seq: int, text: str = "Test av samband.", priority: Priority = Priority.RUTINE) -> wire.SignedMessage:
    msg = Message.create(kind=Kind.MELDING, origin="MOD", seq=seq, created=T0, fields={"text": text}, priority=priority)
    return wire.encode(msg, MOD_KEY, dictionaries.current())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "relay.db", dictionaries.available())
    yield s
    s.close()


def test_insert_is_idempotent(store: Store) -> None:
    m = melding(1)
    assert store.insert(m, T0) is Inserted.NEW
    assert store.insert(m, T0 + timedelta(minutes=5)) is Inserted.DUPLICATE
    assert store.count() == 1
    assert [s.message for s in store.get("MOD", 1)] == [m.message]


def test_two_messages_with_one_id_are_both_kept_and_flagged(store: Store) -> None:
    first, second = melding(3, "Første versjon."), melding(3, "Gjenopprettet fra gammel backup.")
    assert store.insert(first, T0) is Inserted.NEW
    assert store.insert(second, T0) is Inserted.CONFLICT
    held = store.get("MOD", 3)
    assert {s.message.main_text for s in held} == {"Første versjon.", "Gjenopprettet fra gammel backup."}
    assert all(s.conflict for s in held)
    assert len(store.wire_of("MOD", 3)) == 2


def test_summary_is_highest_contiguous_and_missing_lists_the_holes(store: Store) -> None:
    for seq in (1, 2, 4, 7):
        store.insert(melding(seq), T0)
    assert store.summary() == {"MOD": 2}
    assert store.held_above("MOD", 2) == [4, 7]
    assert store.missing({"MOD": 8, "HOL": 2}) == [
        ("HOL", 1),
        ("HOL", 2),
        ("MOD", 3),
        ("MOD", 5),
        ("MOD", 6),
        ("MOD", 8),
    ]
    store.insert(melding(3), T0)
    assert store.summary() == {"MOD": 4}
    assert store.offer({"MOD": 2}) == [("MOD", 3), ("MOD", 4), ("MOD", 7)]


def test_offer_puts_urgent_messages_first(store: Store) -> None:
    store.insert(melding(1, priority=Priority.RUTINE), T0)
    store.insert(melding(2, priority=Priority.NOD), T0)
    store.insert(melding(3, priority=Priority.HASTER), T0)
    assert store.offer({}) == [("MOD", 2), ("MOD", 3), ("MOD", 1)]


def test_commit_local_allocates_sequence_and_fills_the_outbox(store: Store) -> None:
    ids = [store.commit_local("MOD", melding, T0).message.id for _ in range(3)]
    assert ids == ["MOD-0001", "MOD-0002", "MOD-0003"]
    assert [s.id for s in store.outbox()] == ids
    store.mark_transmitted("MOD", 2, T0)
    assert [s.id for s in store.outbox()] == ["MOD-0001", "MOD-0003"]


def test_sequence_floor_after_restore_prevents_reuse(store: Store) -> None:
    store.commit_local("MOD", melding, T0)
    store.raise_sequence_floor("MOD", 100)
    assert store.commit_local("MOD", melding, T0).message.seq == 101


def test_inbox_unread_first_then_priority(store: Store) -> None:
    for seq, prio in ((1, Priority.RUTINE), (2, Priority.HASTER), (3, Priority.NOD)):
        store.insert(melding(seq, priority=prio), T0 + timedelta(minutes=seq))
    store.mark_read("MOD", 3, T0)
    assert [s.id for s in store.inbox()] == ["MOD-0002", "MOD-0001", "MOD-0003"]
    assert [s.id for s in store.inbox(priority=Priority.RUTINE)] == ["MOD-0001"]


def test_digest_depends_only_on_content(tmp_path: Path) -> None:
    a = Store(tmp_path / "a.db", dictionaries.available())
    b = Store(tmp_path / "b.db", dictionaries.available())
    for seq in (1, 2, 3):
        a.insert(melding(seq), T0)
    for seq in (3, 1, 2):
        b.insert(melding(seq), T0 + timedelta(hours=seq))
    assert a.digest() == b.digest()
    b.insert(melding(4), T0)
    assert a.digest() != b.digest()


def test_store_uses_wal_and_full_sync(store: Store) -> None:
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from relay.core import wire
    from relay.core.model import Kind, Message
    from relay.core.signing import Signer
    from relay.edge import dictionaries
    from relay.edge.store import Store

    key = Signer.from_seed(bytes([4]) * 32)
    now = datetime(2026, 5, 29, 12, 0, tzinfo=timezone.utc)
    store = Store(sys.argv[1], dictionaries.available())

    def build(seq):
        text = f"Melding nummer {seq} fra Modum i en lang serie."
        msg = Message.create(kind=Kind.MELDING, origin="MOD", seq=seq, created=now, fields={"text": text})
        return wire.encode(msg, key, dictionaries.current())

    while True:
        signed = store.commit_local("MOD", build, now)
        print(signed.message.id, flush=True)
    """
)


def test_kill_9_in_a_burst_of_inserts_loses_no_committed_message(tmp_path: Path) -> None:
    db = tmp_path / "relay.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    reported = []
    for line in proc.stdout:
        reported.append(line.strip())
        if len(reported) >= 40:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reported += [line.strip() for line in proc.stdout if line.strip()]

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    reopened = Store(db, dictionaries.available())
    held = {s.id for s in reopened.log()}
    assert set(reported) <= held
    assert reopened.summary()["MOD"] == len(held)  # no holes, no half-written row


# --- a row's columns against its blob (issue 24, 7) -------------------------------------


def rin(seq: int) -> wire.SignedMessage:
    from tests.helpers import SIGNERS

    msg = Message.create(kind=Kind.MELDING, origin="RIN", seq=seq, created=T0, fields={"text": f"Nr. {seq}."})
    return wire.encode(msg, SIGNERS["RIN"], dictionaries.current())


def _set_column(path: Path, column: str, value: object, origin: str, seq: int) -> None:
    """Change one column of a row behind the store's back, its blob intact."""
    conn = sqlite3.connect(path)
    conn.execute(f"UPDATE messages SET {column}=? WHERE origin=? AND seq=?", (value, origin, seq))
    conn.commit()
    conn.close()


def test_a_row_whose_seq_column_was_changed_under_an_intact_blob_is_caught_and_never_served(tmp_path: Path) -> None:
    from tests.helpers import build_roster

    path = tmp_path / "relay.db"
    store = Store(path, dictionaries.available())
    try:
        for seq in (1, 2, 3):
            store.insert(rin(seq), T0)
        _set_column(path, "seq", 19, "RIN", 3)
        # A request for RIN-19 is not answered with RIN-0003's bytes; the row is noted as damaged.
        assert store.wire_of("RIN", 19) == []
        assert ("RIN", 19, rin(3).digest) in store.damaged
        # The deep check (relay doctor) and the cheap one (the daemon's start) both find it.
        assert store.check(build_roster()) == [("RIN", 19, rin(3).digest, "mismatch")]
        assert store.check(build_roster(), deep=False) == [("RIN", 19, rin(3).digest, "mismatch")]
        assert store.quarantine_damaged(T0) == ["RIN-0019"]
        assert store.summary() == {"RIN": 2} and store.check(build_roster()) == []
    finally:
        store.close()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("origin", "MOD"),
        ("key_id", 1234),
        ("kind", "SITREP"),
        ("priority", 0),
        ("exercise", 1),
        ("created", "2026-05-29T11:00:00+00:00"),
        ("ref", "HOL-0001"),
    ],
)
def test_doctor_checks_every_column_the_store_derives_from_the_blob(tmp_path: Path, column: str, value: object) -> None:
    from tests.helpers import build_roster

    path = tmp_path / "relay.db"
    store = Store(path, dictionaries.available())
    try:
        store.insert(rin(1), T0)
        store.insert(rin(2), T0)
        assert store.check(build_roster()) == []
        _set_column(path, column, value, "RIN", 2)
        origin = "MOD" if column == "origin" else "RIN"
        assert store.check(build_roster()) == [(origin, 2, rin(2).digest, "mismatch")]
    finally:
        store.close()
