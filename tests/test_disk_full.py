"""A full disk (issue 13): the daemon keeps sending, says so, and the CLI gives one line.

The disk is filled without filling a disk: ``PRAGMA max_page_count`` caps the
daemon's connection at the pages its store has, and filler rows take the room
left in them, so SQLite itself raises SQLITE_FULL ("database or disk is full")
as it would on a full file system.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from relay.core.model import Priority
from relay.daemon import STATUS_KEY, STORE_FULL_LOG_GAP_S
from relay.edge.home import Home
from relay.edge.store import Store, is_full
from tests.test_cli import lab, lab_template, relay_cli, sh  # noqa: F401  (fixtures)
from tests.test_daemon import (
    _write_snapshot,
    commit,
    make_daemon,
    message,
    run_for,
    status,
    status_home,  # noqa: F401  (a fixture)
)

AT = datetime(2026, 5, 29, 12, 0, tzinfo=UTC)


def fill(store: Store) -> None:
    """No room left: the file may not grow, and filler takes what its pages had free."""
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count={pages}")
    for table, row in (("state", lambda n: store.set_state(f"filler:{n}", "x" * 200)), ("messages", None)):
        for n in range(1, 10_000):
            try:
                if row is not None:
                    row(n)
                else:
                    store.insert(message("HOL", n), AT)
            except sqlite3.OperationalError as exc:
                assert is_full(exc), f"{table}: {exc}"
                break


def room(store: Store) -> None:
    store._db.execute("PRAGMA max_page_count=1073741823")


def test_a_full_store_raises_sqlite_full_and_leaves_no_transaction_open(tmp_path: Path) -> None:
    d, _, _ = make_daemon(tmp_path)
    fill(d.store)
    with pytest.raises(sqlite3.OperationalError) as raised:
        d.store.insert(message("RIN", 1), AT)  # not "cannot rollback": SQLite rolled back itself
    assert raised.value.sqlite_errorcode == sqlite3.SQLITE_FULL
    assert is_full(raised.value)
    assert not d.store._db.conn.in_transaction
    room(d.store)
    d.store.insert(message("RIN", 1), AT)
    assert d.store.get("RIN", 1)


def test_on_a_full_disk_the_daemon_keeps_running_sends_its_outbox_and_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d, radio, clock = make_daemon(tmp_path)
    mine = message("MOD", 1, priority=Priority.parse("NØD"))
    commit(d.store, mine)
    fill(d.store)
    caplog.set_level(logging.INFO, "relay.daemon")
    radio.hear(message("RIN", 1).wire, message("RIN", 2).wire)
    run_for(d, clock, 5.0)
    assert [frame for frame in radio.frames_sent() if frame == mine.wire] == [mine.wire]  # once, not in a loop
    assert d.store.pending() == []
    assert d.store.get("RIN", 1) == [] and d.store.get("RIN", 2) == []
    full = [r for r in caplog.records if r.getMessage().startswith("store full:")]
    assert len(full) == 1  # once a minute, the rest counted
    assert full[0].levelno == logging.ERROR
    assert "lost RIN-0001 SITREP RUTINE heard directly" in full[0].getMessage()
    assert "not lost for good" in full[0].getMessage()
    assert d.store_full is not None and d.store_full["lost_frames"] == 2
    assert d.status is not None and d.status["store_full"]["lost_frames"] == 2  # in memory, written or not
    radio.hear(message("RIN", 3).wire)
    run_for(d, clock, STORE_FULL_LOG_GAP_S)
    again = [r.getMessage() for r in caplog.records if r.getMessage().startswith("store full:")]
    assert len(again) == 2 and "more store errors since the last report" in again[1]


def test_a_sent_message_the_full_store_cannot_mark_is_not_sent_again(tmp_path: Path) -> None:
    d, radio, clock = make_daemon(tmp_path)
    first, second = message("MOD", 1), message("MOD", 2, text="Vannforsyningen er brutt.")
    commit(d.store, first)
    commit(d.store, second)
    d.sync.local_message()
    real = d.store._conn

    class NoUpdates:
        """The connection of a disk where even an UPDATE of a row does not fit."""

        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql.startswith("UPDATE"):
                raise sqlite3.OperationalError("database or disk is full")
            return real.execute(sql, *args)

    d.store._conn = NoUpdates()  # type: ignore[assignment]
    run_for(d, clock, 10.0)
    d.sync.local_message()  # the outbox is looked at again: what went out stays out
    run_for(d, clock, 10.0)
    sent = radio.frames_sent()
    assert sent.count(first.wire) == 1 and sent.count(second.wire) == 1
    assert d.store.pending() == []
    assert set(d.store.unsaved_marks) == {("MOD", 1), ("MOD", 2)}
    d.store._conn = real
    d.store.mark_transmitted("MOD", 3, AT)  # the next mark that fits writes the ones kept
    assert d.store.unsaved_marks == {}
    assert all(s.transmitted_at is not None for s in d.store.get("MOD", 1) + d.store.get("MOD", 2))


def test_the_status_snapshot_says_the_store_is_full_once_it_fits(tmp_path: Path) -> None:
    d, radio, clock = make_daemon(tmp_path)
    fill(d.store)
    radio.hear(message("RIN", 1).wire)
    run_for(d, clock, 2.0)
    room(d.store)  # a snapshot fits again (or it overwrote the old one in place)
    run_for(d, clock, 2.0)
    raw = d.store.get_state(STATUS_KEY)
    assert raw is not None and '"store_full": {' in raw
    radio.hear(message("RIN", 2).wire)  # a message stored: there is room again
    run_for(d, clock, 2.0)
    assert d.store_full is None


def test_relay_status_warns_when_the_daemon_says_the_store_is_full(status_home: Home) -> None:  # noqa: F811
    at = datetime(2026, 5, 29, 12, 0, tzinfo=UTC).timestamp()
    _write_snapshot(status_home, at - 5, store_full={"since": at - 60, "last": at - 5, "errors": 3, "lost_frames": 2})
    result = status(status_home)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "ADVARSEL: lageret er fullt: nye meldinger fra radioen kan ikke lagres; frigjør plass på disken" in lines
    report = status(status_home, "--json").output
    assert '"code": "store_full"' in report


# --- the CLI ------------------------------------------------------------------------


def _full_store(monkeypatch: pytest.MonkeyPatch, error: str) -> None:
    """Every store the CLI opens sits on a full disk (or fails with ``error``)."""
    opened = Store.__init__

    def on_a_full_disk(self: Store, *args: Any, **kwargs: Any) -> None:
        opened(self, *args, **kwargs)
        if error == "full":
            fill(self)
        else:

            def broken(*a: Any, **k: Any) -> None:
                raise sqlite3.OperationalError(error)

            monkeypatch.setattr(self, "commit_local", broken)

    monkeypatch.setattr(Store, "__init__", on_a_full_disk)


def test_relay_send_on_a_full_disk_prints_one_error_line(
    lab: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _full_store(monkeypatch, "full")
    result = relay_cli(*sh("send MELDING --priority NØD --real --text 'Brann i sentrum.'"), home=lab / "MOD")
    assert result.stderr == (
        "Feil: lageret er fullt (disken er full): meldingen ble ikke lagret; frigjør plass og prøv igjen\n"
    )
    assert result.exit_code == 1
    assert "lagt i utboksen" not in result.stdout


def test_relay_send_on_a_broken_store_prints_one_error_line(
    lab: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _full_store(monkeypatch, "disk I/O error")
    result = relay_cli(*sh("send MELDING --text 'Test.'"), home=lab / "MOD")
    assert result.stderr == "Feil: lageret kunne ikke skrives: disk I/O error\n"
    assert result.exit_code == 1
