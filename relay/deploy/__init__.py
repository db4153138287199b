"""Field deployment: the radios' firmware configuration (``firmware``), checked against
meshtastic's protobufs (``schema``).

The rest of field deployment -- systemd unit, udev rule, provisioning,
backup and restore -- lives as files in ``hw/``; ``firmware-config/`` holds the
region's radio plan and the per-node YAML rendered from it.
"""
