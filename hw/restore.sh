#!/usr/bin/env bash
# relay: restore a node from hw/backup.sh's archive -- on the same Pi or a replacement.
#
#   sudo systemctl stop relay
#   sudo hw/restore.sh --from /media/usb/MOD-2025-05-29.tar.gz [--home /var/lib/relay]
#                      [--force] [--margin 1000] [--python PY]
#   sudo systemctl start relay
#
# The node keeps its key, so the roster stays as it is.  Then it raises the store's sequence
# floor for its own messages to (highest number it ever held or reserved) + margin:
#
# The backup is older than the node's last message.  Messages the node signed after the
# backup are not in it, but other stores hold them.  relay names a message by (origin,
# sequence number) and the sync compares those numbers: if the restored node numbered a new
# message MOD-0042 while the region already holds a different MOD-0042, every store that
# has the old one reports 42 as held, never asks for the new one, and it is silently lost
# (or, where both meet, flagged as a conflict).  Jumping 1000 numbers ahead is more than a
# node sends between two backups, costs at most a byte on the air (the sequence number is
# Exp-Golomb coded), and needs no contact with the other nodes -- which may be unreachable
# on the day a node has to be rebuilt.
set -euo pipefail

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}

die() {
    printf 'restore: %s\n' "$*" >&2
    exit 1
}

FROM=""
NODE_HOME=/var/lib/relay
FORCE=0
MARGIN=1000
PYTHON="${RELAY_PYTHON:-/opt/relay/venv/bin/python}"

while [ $# -gt 0 ]; do
    case "$1" in
        --from) FROM="${2:?--from needs an archive}"; shift 2 ;;
        --home) NODE_HOME="${2:?--home needs a directory}"; shift 2 ;;
        --margin) MARGIN="${2:?--margin needs a number}"; shift 2 ;;
        --python) PYTHON="${2:?--python needs an interpreter}"; shift 2 ;;
        --force) FORCE=1; shift ;;
        -h | --help) usage 0 ;;
        *) printf 'restore: unknown option %s\n' "$1" >&2; usage 2 ;;
    esac
done
[ -n "$FROM" ] || usage 2
[ -f "$FROM" ] || die "no archive $FROM"
if ! [[ "$MARGIN" =~ ^[0-9]+$ ]] || [ "$MARGIN" -lt 1 ]; then
    die "--margin must be a positive number"
fi
command -v "$PYTHON" >/dev/null || PYTHON=python3
NODE_HOME=$(realpath -m "$NODE_HOME")

if [ "$NODE_HOME" = /var/lib/relay ] && command -v systemctl >/dev/null &&
    systemctl is-active --quiet relay.service 2>/dev/null; then
    die "relay.service is running: sudo systemctl stop relay, then restore"
fi

umask 077
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
tar -C "$WORK" -xzf "$FROM" relay-backup
DIR="$WORK/relay-backup"
(cd "$DIR" && sha256sum --quiet -c SHA256SUMS) || die "the archive is damaged (SHA256SUMS)"
for f in relay.toml node.key relay.db; do
    [ -f "$DIR/$f" ] || die "the archive lacks $f"
done

if [ -e "$NODE_HOME/relay.toml" ] || [ -e "$NODE_HOME/node.key" ]; then
    [ "$FORCE" = 1 ] || die "$NODE_HOME already holds a node: --force moves it aside first"
    ASIDE="$NODE_HOME.replaced-$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$NODE_HOME" "$ASIDE"
    printf 'restore: the old home is kept in %s\n' "$ASIDE"
fi
mkdir -p "$NODE_HOME"
chmod 0700 "$NODE_HOME"
for f in relay.toml node.key roster.json authority.key relay.db; do
    if [ -f "$DIR/$f" ]; then
        install -m 0600 "$DIR/$f" "$NODE_HOME/$f"
    fi
done

# The key must load, and the floor goes above every number the node may have used.
"$PYTHON" - "$NODE_HOME" "$MARGIN" <<'PY'
import sys
from pathlib import Path

from relay.edge.home import Home

home = Home(Path(sys.argv[1]))
origin = home.config().node_id
home.signer()
store = home.store()
try:
    held = store.highest(origin)
    reserved = int(store.get_state(f"seq_floor:{origin}") or 0)
    floor = max(held, reserved) + int(sys.argv[2])
    store.raise_sequence_floor(origin, floor)
finally:
    store.close()
print(f"restore: {origin} restored; highest own number held {held}, next message {origin}-{floor + 1:04d}")
PY

if [ "$(id -u)" = 0 ] && id relay >/dev/null 2>&1; then
    chown -R relay:relay "$NODE_HOME"
fi
