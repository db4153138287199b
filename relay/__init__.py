"""relay: signed situation reports over a LoRa mesh for municipal crisis staffs.

Layout:
    relay.core    pure protocol core: model, wire encoding, text model, signing,
                  roster, frames, sync state machine, airtime.  No I/O, no
                  clocks, no threads: time and randomness come in as arguments.
    relay.edge    what touches the world: the SQLite store, key files, node
                  homes, shipped dictionaries, (with the daemon) the radio.
    relay.sim     the simulated radio mesh: one medium model, driven by a
                  virtual clock (``relay sim run``, ``relay demo``).
    relay.hwsim   loopback Meshtastic devices on the same medium in real time
                  (``relay hw-sim``); the only package besides the radio
                  transport that imports meshtastic.
    relay.board   the situation board: the store's picture as a read-only web
                  page (``relay board``), standard library HTTP only.
    relay.cli     the operator's command line (never imports meshtastic).
"""

__version__ = "0.1.0"
