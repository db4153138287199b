"""Where the daemon's status snapshot lives in the store, and when it is stale.

Shared by ``status`` (which writes and reads the snapshot) and ``clock`` (which
reads our clock's alarm from it for ``relay send``).
"""

STATUS_KEY = "daemon.status"

STALE_AFTER_S = 60.0  # an older snapshot means the daemon is not running
