#!/usr/bin/env bash
# relay: turn a fresh Raspberry Pi OS (Bookworm, 64-bit) into a running node, with no internet.
#
#   sudo ./provision.sh --bundle /media/usb/relay-bundle --node MOD --name "Modum kommune" \
#        [--psk-file /media/usb/ringerike.psk] [--rtc ds3231|pi5|none] [--ntp HOST] \
#        [--operator USER] [--exercise] [--radio /dev/meshtastic] [--python python3] \
#        [--root DIR] [--dry-run]
#
# The bundle comes from hw/make-bundle.sh: wheels/ (relay and every dependency), hw/,
# firmware-config/, VERSION, SHA256SUMS, and optionally debs/ (chrony for Pi OS).
#
# Idempotent: run it again after a failure, or with a newer bundle to upgrade; every step
# looks at what is already there.  The node's key is never replaced.
#   --dry-run   print every step and command, change nothing (the checks still run).
#   --root DIR  install into a directory tree instead of / (tests, inspection).  Steps that
#               need the running system (useradd, chown, dpkg, udevadm, runuser, the radio,
#               starting the service) are reported as skipped; the venv's scripts point
#               inside DIR, so such a tree is not a bootable system.
set -euo pipefail

usage() {
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}

die() {
    printf 'provision: %s\n' "$*" >&2
    exit 1
}

BUNDLE=""
NODE=""
NAME=""
ROOT="/"
DRY=0
PSK_FILE=""
RTC="none"
NTP=""
OPERATOR="${SUDO_USER:-}"
EXERCISE=0
RADIO="/dev/meshtastic"
PYTHON="python3"

while [ $# -gt 0 ]; do
    case "$1" in
        --bundle) BUNDLE="${2:?--bundle needs a directory}"; shift 2 ;;
        --node) NODE="${2:?--node needs an id}"; shift 2 ;;
        --name) NAME="${2:?--name needs a name}"; shift 2 ;;
        --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
        --psk-file) PSK_FILE="${2:?--psk-file needs a file}"; shift 2 ;;
        --rtc) RTC="${2:?--rtc needs ds3231, pi5 or none}"; shift 2 ;;
        --ntp) NTP="${2:?--ntp needs a host}"; shift 2 ;;
        --operator) OPERATOR="${2:?--operator needs a user}"; shift 2 ;;
        --radio) RADIO="${2:?--radio needs a device}"; shift 2 ;;
        --python) PYTHON="${2:?--python needs an interpreter}"; shift 2 ;;
        --exercise) EXERCISE=1; shift ;;
        --dry-run) DRY=1; shift ;;
        -h | --help) usage 0 ;;
        *) printf 'provision: unknown option %s\n' "$1" >&2; usage 2 ;;
    esac
done

if [ -z "$BUNDLE" ] || [ -z "$NODE" ] || [ -z "$NAME" ]; then
    usage 2
fi
NODE=$(printf '%s' "$NODE" | tr '[:lower:]' '[:upper:]')
[[ "$NODE" =~ ^[A-Z][A-Z0-9]{1,7}$ ]] || die "node id $NODE: 2-8 characters A-Z and 0-9, e.g. MOD"
case "$RTC" in ds3231 | pi5 | none) ;; *) die "--rtc must be ds3231, pi5 or none" ;; esac
BUNDLE=$(cd "$BUNDLE" 2>/dev/null && pwd) || die "bundle directory not found"
if [ -n "$PSK_FILE" ]; then
    [ -r "$PSK_FILE" ] || die "channel key file $PSK_FILE not readable"
    PSK_FILE=$(cd "$(dirname "$PSK_FILE")" && pwd)/$(basename "$PSK_FILE")
fi

# R prefixes every path we write; SYSTEM=1 when installing onto the running system.
if [ "$ROOT" = "/" ]; then
    R=""
    SYSTEM=1
else
    R=$(realpath -m "$ROOT")
    SYSTEM=0
fi

VENV=/opt/relay/venv
SHARE=/opt/relay/share
NODE_HOME=/var/lib/relay
UNIT=/etc/systemd/system/relay.service
BOARD_UNIT=/etc/systemd/system/relay-board.service
RULE=/etc/udev/rules.d/99-meshtastic.rules
RTC_RULE=/etc/udev/rules.d/85-relay-rtc.rules
CHRONY_CONF=/etc/chrony/conf.d/relay.conf
NTP_SOURCES=/etc/chrony/sources.d/relay-lan.sources
SUDOERS=/etc/sudoers.d/relay
WRAPPER=/usr/local/bin/relay
BOOT_CONFIG=/boot/firmware/config.txt

STEP=0
TOTAL=12

step() {
    STEP=$((STEP + 1))
    printf '==> [%d/%d] %s\n' "$STEP" "$TOTAL" "$*"
}

note() {
    printf '    %s\n' "$*"
}

skipped() {
    printf '    skipped: %s\n' "$*"
}

# Run a command, or show it under --dry-run.
run() {
    if [ "$DRY" = 1 ]; then
        printf '    would run:'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}

# Install a file (mode $3) unless the same content is already there.
put() {
    local src=$1 dst=$R$2 mode=$3
    if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
        note "unchanged: $2"
    elif [ "$DRY" = 1 ]; then
        note "would install: $2 (mode $mode)"
    else
        install -D -m "$mode" "$src" "$dst"
        note "installed: $2"
    fi
}

# Write stdin to a file (mode $2) unless the same content is already there.
put_text() {
    local tmp
    tmp=$(mktemp)
    cat >"$tmp"
    put "$tmp" "$1" "$2"
    rm -f "$tmp"
}

# Append a line to a file unless it holds it already.
ensure_line() {
    local line=$1 file=$R$2
    if [ -f "$file" ] && grep -qxF -- "$line" "$file"; then
        note "present in $2: $line"
    elif [ "$DRY" = 1 ]; then
        note "would add to $2: $line"
    else
        mkdir -p "$(dirname "$file")"
        printf '%s\n' "$line" >>"$file"
        note "added to $2: $line"
    fi
}

relay_cmd() {
    if [ "$SYSTEM" = 1 ]; then
        run runuser -u relay -- "$VENV/bin/relay" --home "$NODE_HOME" "$@"
    else
        run "$R$VENV/bin/relay" --home "$R$NODE_HOME" "$@"
    fi
}

# --- 1 ---------------------------------------------------------------------------------
step "Check the bundle and the system"
for f in hw/relay.service hw/relay-board.service hw/99-meshtastic.rules hw/chrony-relay.conf VERSION; do
    [ -f "$BUNDLE/$f" ] || die "the bundle lacks $f: build it with hw/make-bundle.sh"
done
compgen -G "$BUNDLE/wheels/relay-*.whl" >/dev/null || die "the bundle has no relay wheel in wheels/"
if [ -f "$BUNDLE/SHA256SUMS" ]; then
    (cd "$BUNDLE" && sha256sum --quiet -c SHA256SUMS) || die "the bundle is damaged (SHA256SUMS): copy it again"
    note "bundle checksums OK"
fi
note "bundle: $(tr '\n' ' ' <"$BUNDLE/VERSION")"
PY_HAVE=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])') || die "$PYTHON not found"
PY_WANT=$(sed -n 's/^python=//p' "$BUNDLE/VERSION")
[ -z "$PY_WANT" ] || [ "$PY_WANT" = "$PY_HAVE" ] || die "the bundle's wheels are for Python $PY_WANT, this system has $PY_HAVE"
"$PYTHON" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' || die "relay needs Python >= 3.11 with venv"
note "python $PY_HAVE"
if [ -n "$PSK_FILE" ] && [ ! -f "$BUNDLE/firmware-config/nodes/$NODE.yaml" ]; then
    die "no radio configuration firmware-config/nodes/$NODE.yaml in the bundle"
fi
if [ -f "$R$NODE_HOME/relay.toml" ]; then
    HAVE=$(sed -n 's/^node_id = "\(.*\)"$/\1/p' "$R$NODE_HOME/relay.toml")
    [ "$HAVE" = "$NODE" ] || die "$NODE_HOME already belongs to node $HAVE, not $NODE: restore or move it first"
fi
if [ "$SYSTEM" = 1 ] && [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run as root: sudo $0 ..."
fi

# --- 2 ---------------------------------------------------------------------------------
step "Service user relay"
if [ "$SYSTEM" = 0 ]; then
    skipped "useradd under --root"
elif id relay >/dev/null 2>&1; then
    note "user relay exists"
else
    run useradd --system --user-group --home-dir "$NODE_HOME" --no-create-home \
        --shell /usr/sbin/nologin --comment "relay radio daemon" relay
fi

# --- 3 ---------------------------------------------------------------------------------
step "System packages from the bundle (chrony)"
if [ "$SYSTEM" = 0 ]; then
    skipped "dpkg under --root"
elif dpkg-query -W -f='${Status}' chrony 2>/dev/null | grep -q 'install ok installed'; then
    note "chrony installed"
elif compgen -G "$BUNDLE/debs/*.deb" >/dev/null; then
    run apt-get install -y --no-download "$BUNDLE"/debs/*.deb
else
    note "WARNING: chrony is not installed and the bundle has no debs/: the clock falls back to"
    note "systemd-timesyncd (network only); see hw/time.md"
fi

# --- 4 ---------------------------------------------------------------------------------
step "Install relay into $VENV (offline)"
if [ -x "$R$VENV/bin/python" ]; then
    note "venv exists"
else
    run "$PYTHON" -m venv "$R$VENV"
fi
run "$R$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-index \
    --find-links "$BUNDLE/wheels" --upgrade relay
run mkdir -p "$R$SHARE"
run cp -R "$BUNDLE/hw" "$BUNDLE/VERSION" "$R$SHARE/"
if [ -d "$BUNDLE/firmware-config" ]; then
    run cp -R "$BUNDLE/firmware-config" "$R$SHARE/"
fi

# --- 5 ---------------------------------------------------------------------------------
step "Operator command $WRAPPER (runs relay as the service user)"
put_text "$WRAPPER" 0755 <<EOF
#!/bin/sh
# relay for operators: acts as the node (its key and store belong to the relay user).
# Installed by hw/provision.sh.
if [ "\$(id -un)" = relay ]; then
    exec $VENV/bin/relay --home $NODE_HOME "\$@"
fi
exec sudo -u relay -- $VENV/bin/relay --home $NODE_HOME "\$@"
EOF
put_text "$SUDOERS" 0440 <<EOF
# Members of the group relay may act as the node through /usr/local/bin/relay.
%relay ALL=(relay) NOPASSWD: $VENV/bin/relay
EOF
if [ "$SYSTEM" = 1 ] && command -v visudo >/dev/null; then
    run visudo -cqf "$SUDOERS"
fi
if [ -z "$OPERATOR" ]; then
    note "no --operator: add staff later with: usermod -aG relay USER"
elif [ "$SYSTEM" = 0 ]; then
    skipped "usermod -aG relay $OPERATOR under --root"
else
    run usermod -aG relay "$OPERATOR"
fi

# --- 6 ---------------------------------------------------------------------------------
step "systemd units relay.service and relay-board.service"
put "$BUNDLE/hw/relay.service" "$UNIT" 0644
put "$BUNDLE/hw/relay-board.service" "$BOARD_UNIT" 0644

# --- 7 ---------------------------------------------------------------------------------
step "udev rule: the radio as /dev/meshtastic"
put "$BUNDLE/hw/99-meshtastic.rules" "$RULE" 0644
if [ "$SYSTEM" = 1 ]; then
    run udevadm control --reload
    run udevadm trigger --subsystem-match=tty --action=add
else
    skipped "udevadm under --root"
fi

# --- 8 ---------------------------------------------------------------------------------
step "Time keeping: chrony, RTC ($RTC)"
put "$BUNDLE/hw/chrony-relay.conf" "$CHRONY_CONF" 0644
if [ -n "$NTP" ]; then
    printf 'server %s iburst\n' "$NTP" | put_text "$NTP_SOURCES" 0644
fi
case "$RTC" in
    ds3231)
        ensure_line "dtparam=i2c_arm=on" "$BOOT_CONFIG"
        ensure_line "dtoverlay=i2c-rtc,ds3231" "$BOOT_CONFIG"
        # Debian's hwclock-set ignores an RTC that appears under systemd: set the clock here.
        put_text "$RTC_RULE" 0644 <<'EOF'
# relay: set the system clock from the DS3231 when its driver loads (hw/time.md).
ACTION=="add", SUBSYSTEM=="rtc", KERNEL=="rtc0", RUN+="/usr/sbin/hwclock --rtc=/dev/%k --hctosys --utc"
EOF
        if [ "$SYSTEM" = 1 ] && systemctl cat fake-hwclock.service >/dev/null 2>&1; then
            run systemctl disable fake-hwclock.service
        fi
        ;;
    pi5)
        # The Pi 5's own RTC; let it charge the official rechargeable battery.
        ensure_line "dtparam=rtc_bbat_vchg=3000000" "$BOOT_CONFIG"
        ;;
    none) note "no RTC: after a power cut the clock starts from the last shutdown until a source is found" ;;
esac
if [ "$SYSTEM" = 1 ] && systemctl cat chrony.service >/dev/null 2>&1; then
    run systemctl restart chrony.service
fi

# --- 9 ---------------------------------------------------------------------------------
step "Node home $NODE_HOME for $NODE"
if [ -f "$R$NODE_HOME/relay.toml" ]; then
    note "already set up for $NODE: key kept"
else
    run mkdir -p "$R$NODE_HOME"
    run chmod 0700 "$R$NODE_HOME"
    if [ "$SYSTEM" = 1 ]; then
        run chown relay:relay "$R$NODE_HOME"
    fi
    INIT=(init --node "$NODE" --name "$NAME" --radio "serial://$RADIO")
    [ "$EXERCISE" = 0 ] || INIT+=(--exercise)
    relay_cmd "${INIT[@]}"
fi

# --- 10 --------------------------------------------------------------------------------
step "Radio configuration (firmware-config/nodes/$NODE.yaml)"
if [ -z "$PSK_FILE" ]; then
    skipped "no --psk-file; later: relay firmware apply $SHARE/firmware-config/nodes/$NODE.yaml --port $RADIO --psk-file KEY"
elif [ "$SYSTEM" = 0 ]; then
    skipped "the radio under --root"
else
    if systemctl is-active --quiet relay.service 2>/dev/null; then
        run systemctl stop relay.service # the daemon holds the serial port
    fi
    [ -e "$RADIO" ] || [ "$DRY" = 1 ] || die "no radio at $RADIO: plug it in (USB) and run again"
    run "$VENV/bin/relay" firmware apply "$SHARE/firmware-config/nodes/$NODE.yaml" --port "$RADIO" --psk-file "$PSK_FILE"
fi

# --- 11 --------------------------------------------------------------------------------
step "Enable and start relay.service and relay-board.service"
if [ "$SYSTEM" = 1 ]; then
    run systemctl daemon-reload
    run systemctl enable relay.service relay-board.service
    run systemctl restart relay.service relay-board.service
elif command -v systemctl >/dev/null; then
    run systemctl --root="$R" --quiet enable relay.service relay-board.service
    skipped "starting the services under --root"
else
    skipped "systemctl not found"
fi

# --- 12 --------------------------------------------------------------------------------
step "The node's public key (give it to the roster authority)"
if [ "$DRY" = 1 ]; then
    note "would print the public key of $NODE_HOME/node.key"
else
    "$R$VENV/bin/python" - "$R$NODE_HOME" <<'EOF'
import base64, sys
from pathlib import Path
from relay.edge.home import Home, fingerprint
home = Home(Path(sys.argv[1]))
key = home.signer().public_key
print(f"    node {home.config().node_id}: {base64.b64encode(key).decode()}")
print(f"    fingerprint {fingerprint(key)}")
EOF
fi
printf 'provision: %s done%s\n' "$NODE" "$([ "$DRY" = 1 ] && printf ' (dry run: nothing changed)')"
