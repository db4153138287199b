#!/usr/bin/env bash
# relay: back up a node -- its key, config, roster and a consistent copy of its store.
#
#   sudo hw/backup.sh --out /media/usb/MOD-2025-05-29.tar.gz [--home /var/lib/relay] [--python PY]
#
# The daemon may keep running: the store is copied with SQLite's online backup, which
# gives one consistent snapshot even while messages arrive.  The archive holds the node's
# private key: keep it like one (an encrypted stick, a sealed envelope in the safe).
# Restore with hw/restore.sh, which also makes sure no sequence number is used twice.
set -euo pipefail

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}

die() {
    printf 'backup: %s\n' "$*" >&2
    exit 1
}

NODE_HOME=/var/lib/relay
OUT=""
PYTHON="${RELAY_PYTHON:-/opt/relay/venv/bin/python}"

while [ $# -gt 0 ]; do
    case "$1" in
        --home) NODE_HOME="${2:?--home needs a directory}"; shift 2 ;;
        --out) OUT="${2:?--out needs a file}"; shift 2 ;;
        --python) PYTHON="${2:?--python needs an interpreter}"; shift 2 ;;
        -h | --help) usage 0 ;;
        *) printf 'backup: unknown option %s\n' "$1" >&2; usage 2 ;;
    esac
done
[ -n "$OUT" ] || usage 2
if [ ! -f "$NODE_HOME/relay.toml" ] || [ ! -f "$NODE_HOME/node.key" ]; then
    die "$NODE_HOME is not a node home"
fi
[ -f "$NODE_HOME/relay.db" ] || die "$NODE_HOME has no store (relay.db)"
command -v "$PYTHON" >/dev/null || PYTHON=python3

umask 077
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DIR="$WORK/relay-backup"
mkdir "$DIR"
for f in relay.toml node.key roster.json authority.key; do
    if [ -f "$NODE_HOME/$f" ]; then
        cp "$NODE_HOME/$f" "$DIR/$f"
    fi
done

# A consistent snapshot of the store, and what the node had signed when it was taken.
"$PYTHON" - "$NODE_HOME/relay.db" "$DIR/relay.db" "$DIR/relay.toml" >"$DIR/MANIFEST" <<'PY'
import sqlite3, sys, tomllib
from datetime import UTC, datetime

src = sqlite3.connect(sys.argv[1], timeout=30)
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
node = tomllib.load(open(sys.argv[3], "rb"))["node_id"]
held = dst.execute("SELECT max(seq) FROM messages WHERE origin = ?", (node,)).fetchone()[0] or 0
dst.close()
src.close()
print(f"node={node}")
print(f"taken={datetime.now(UTC).isoformat(timespec='seconds')}")
print(f"max_own_seq={held}")
PY
(cd "$DIR" && sha256sum -- * >SHA256SUMS)
tar -C "$WORK" -czf "$OUT.tmp" relay-backup
mv "$OUT.tmp" "$OUT"
printf 'backup: %s written (%s)\n' "$OUT" "$(tr '\n' ' ' <"$DIR/MANIFEST")"
