"""Loopback hardware simulator: one simulated Meshtastic device per scenario node.

    relay hw-sim --scenario FILE.toml [--speedup N] [--pty] [--control SOCKET]

Each device speaks the firmware's stream protocol on 127.0.0.1 (and on a
pseudo-terminal with ``--pty``), so the unmodified ``TCPInterface`` and
``SerialInterface`` connect to it.  All devices share one
``relay.sim.medium.Medium`` driven by the wall clock × ``--speedup``: the same
model the virtual-time simulator runs, with another clock.  A scenario's
``[[event]]`` timeline and ``duration`` are not played here: the operator (or a
test) drives the devices, and cuts radios off through the control socket.

Modules: ``stream`` (framing, pure), ``device`` (the phone API of one radio,
sans-IO), ``server`` (sockets, ptys, the clock, the control socket).

Unplug and replug go through the control socket (``--control PATH``, a Unix
socket; one command per line, one JSON reply per line)::

    echo "unplug RIN" | socat - UNIX-CONNECT:/tmp/hwsim.sock
    {"ok": true, "node": "RIN", "tcp": null, "pty": null, "plugged": false, "num": "!1a2b3c4d"}
    echo "replug RIN" | socat - UNIX-CONNECT:/tmp/hwsim.sock

``unplug NODE`` resets the client's TCP connection, stops listening and
closes the pty (the radio stays on the air and keeps relaying); ``replug
NODE`` listens on the same TCP port again, opens a new pty and prints the
device's JSON line again.  ``partition NODE..`` / ``heal NODE..`` cut a radio
off the air and back; ``status`` lists every device.  The radio's transmit
queue (``relay.core.radioqueue``, the firmware's 16 packets by priority):
``fill NODE [COUNT [PRIORITY]]`` queues relays of packets no client hears,
as a busy neighbourhood would; ``jam NODE SECONDS`` keeps the channel busy for that
radio alone (0 ends it); ``sent NODE`` lists what it transmitted (priority,
when queued, when sent) and what waits.

This package imports meshtastic's protobufs; nothing else in relay may.
"""
