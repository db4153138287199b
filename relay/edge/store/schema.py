"""The store's schema, its migrations, and its transactions (``relay.edge.store`` uses them).

Each schema version adds what it needs; ``Store`` runs the steps a file lacks,
in order, when it opens it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

SCHEMA_VERSION = 3


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()  # a COMMIT that fails (a full disk) leaves the transaction open
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        # SQLite may have rolled back already (it does on SQLITE_FULL): a second
        # ROLLBACK would raise "no transaction is active" and hide the real error.
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")


def _schema_1(db: sqlite_utils.Database) -> None:
    db.table("messages").create(
        {
            "origin": str,
            "seq": int,
            "digest": str,
            "key_id": int,
            "kind": str,
            "priority": int,
            "exercise": int,
            "created": str,
            "received_at": str,
            "wire": bytes,
            "local": int,
            "conflict": int,
            "transmitted_at": str,
            "read_at": str,
            "ref": str,
        },
        not_null={"origin", "seq", "digest", "key_id", "kind", "priority", "wire", "received_at"},
    )
    db.table("messages").create_index(["origin", "seq", "digest"], unique=True)
    db.table("messages").create_index(["local", "transmitted_at"])
    db.table("messages").create_index(["received_at"])
    db.table("origins").create({"origin": str, "contiguous": int, "max_seq": int}, pk="origin")
    db.table("receipts").create(
        {"origin": str, "seq": int, "node": str, "level": str, "at": str}, pk=("origin", "seq", "node", "level")
    )
    db.table("state").create({"key": str, "value": str}, pk="key")


def _schema_2(db: sqlite_utils.Database) -> None:
    db.table("messages").create_index(["ref"])


def _schema_3(db: sqlite_utils.Database) -> None:
    db.table("quarantine").create(
        {"origin": str, "seq": int, "digest": str, "key_id": int, "wire": bytes, "reason": str, "at": str},
        pk=("origin", "seq", "digest"),
    )


MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {1: _schema_1, 2: _schema_2, 3: _schema_3}
