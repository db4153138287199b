"""The radio daemon: the sync protocol on a real radio and a real clock, and its status.

``relay daemon`` runs one ``Daemon``: what the radio hears goes to
``SyncNode.receive``; when the radio is free, ``SyncNode.poll`` says what to
send next; messages the CLI commits to the store are noticed (``PRAGMA
data_version``, polled every second) and handed to the sync.  It is the
simulator's loop (``relay.sim.runner``) with a radio for the medium and
``time.monotonic`` for the virtual clock.

Two clocks: every timer (the sync's ``now``, the radio pacing, the outbox poll,
the status interval) runs on the monotonic clock, and the wall clock only dates
things (what the store records, the snapshot's times).  A step of the system
clock (an NTP or GPS correction, an RTC with a flat battery) then moves the
dates and nothing else; timers on the wall clock would silence the node for as
long as a step back.

The radio sits behind ``relay.edge.transport.Transport``:
``relay.edge.radio.MeshtasticTransport`` (imported only by ``serve``, so nothing
else pays for meshtastic), or a fake in the tests.  What it hears comes as a
``Heard``: the frame and how many repeaters it crossed, which the sync needs to
tell a neighbour from a node behind a hill.  The daemon hands the radio one frame
per airtime, so that the sync's priority order (NØD before RUTINE) holds on the
air instead of being lost in the device's 16-packet transmit queue.

Logging goes to stderr, one line per event, with sd-daemon priority prefixes
that journald understands: ``<6>relay[MOD]: stored HOL-0003 SITREP from the air``.

Status: every ``STATUS_INTERVAL_S`` and on change, the daemon writes a JSON
snapshot into the store's ``state`` table (``STATUS_KEY``).  ``relay status``
reads it back with the store (``status_report``, ``render_status``) and never
imports meshtastic.  Both ends of the snapshot format live in ``status``.

A full disk (SQLITE_FULL) is not fatal: a frame that cannot be stored is lost
for now (the sync asks for it again, its summaries show what we lack), the
outbox still goes out, and the condition is logged and put in the snapshot for
``relay status`` (``store_full``).  Any other store error ends the daemon.

The modules, by job:

    loop.py      ``Daemon``: the loop over its paths (``NodePath``: the radio, IP)
    base.py      what every layer of ``Daemon`` shares
    faults.py    store faults, revocations, alarms, rejected frames
    status.py    the status snapshot, ``status_report`` and ``render_status``
    describe.py  frames in a few words for the journal
    journal.py   journald logging
    serve.py     ``relay daemon``: configuration, transports, signals

"""

from relay.daemon.base import NodePath
from relay.daemon.describe import describe_frame
from relay.daemon.faults import STORE_FULL_LOG_GAP_S
from relay.daemon.journal import JournalHandler, journal
from relay.daemon.loop import MAX_WAIT_S, OUTBOX_POLL_S, Daemon, scaled_config
from relay.daemon.serve import node_sync_config, serve
from relay.daemon.snapshot import STATUS_KEY
from relay.daemon.status import (
    STATUS_INTERVAL_S,
    clock_synchronised,
    render_status,
    status_report,
)

__all__ = [
    "MAX_WAIT_S",
    "OUTBOX_POLL_S",
    "STATUS_INTERVAL_S",
    "STATUS_KEY",
    "STORE_FULL_LOG_GAP_S",
    "Daemon",
    "JournalHandler",
    "NodePath",
    "clock_synchronised",
    "describe_frame",
    "journal",
    "node_sync_config",
    "render_status",
    "scaled_config",
    "serve",
    "status_report",
]
