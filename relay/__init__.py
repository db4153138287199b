"""relay: signed situation reports over a LoRa mesh for municipal crisis staffs.

Layout, top to bottom (each imports only from below; tests/test_layers.py):
    relay.cli     the operator's command line (never imports meshtastic).
    relay.daemon  ``relay daemon``: the loop that bridges the radio and IP
                  paths to the store, its status snapshot and journal.
    relay.board   the situation board: the store's picture as a read-only web
                  page (``relay board``), standard library HTTP only.
    relay.bench   ``relay bench``: size, sync and footprint figures, the report.
    relay.deploy  the radios' Meshtastic configuration as code.
    relay.hwsim   loopback Meshtastic devices on the simulated medium in real
                  time (``relay hw-sim``); imports meshtastic's protobufs.
    relay.sim     the simulated region: one medium model and a simulated
                  broker, driven by a virtual clock (``relay sim run``, ``relay demo``).
    relay.edge    what touches the world: the SQLite store (the one place that
                  speaks SQL), key files, node homes, shipped dictionaries, the
                  radio (meshtastic) and the MQTT transports.
    relay.core    the pure protocol core: model, wire encoding, text model,
                  signing, roster, frames, sync state machine, airtime, the
                  situation picture.  No I/O, no clocks, no threads: time and
                  randomness come in as arguments.
    relay.errors, relay.texts  the error tree; each reason code's words in nb and en.
"""

__version__ = "0.1.0"
