"""relay: signed situation reports over a LoRa mesh for municipal crisis staffs.

Layout:
    relay.core  pure protocol core: model, wire encoding, text model, signing,
                roster, airtime.  No I/O, no clocks, no threads.
    relay.edge  everything that touches the world: the SQLite store, key files,
                config, dictionaries on disk.
    relay.cli   the operator's command line (never imports meshtastic).
"""

__version__ = "0.1.0"
