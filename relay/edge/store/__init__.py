"""The node's store-and-forward log (SQLite): the one place in relay that speaks SQL.

store.py    ``Store``: the log, the outbox, receipts, state, quarantine
rows.py     what it hands out (``Stored``, ``Receipt``, ``Quarantined``) and raises (``StoreError``)
schema.py   the schema, its migrations, and transactions
desk.py     ``DeskStore``: the desk's accounts, sessions, drafts and who wrote what (``desk.db``)
"""

from relay.edge.store.desk import DeskStore
from relay.edge.store.rows import BULK_COLUMNS, DAMAGE, Quarantined, Receipt, Stored, StoreError, is_full
from relay.edge.store.store import Store

__all__ = ["BULK_COLUMNS", "DAMAGE", "DeskStore", "Quarantined", "Receipt", "Store", "StoreError", "Stored", "is_full"]
