#!/usr/bin/env bash
# relay: build the offline bundle that hw/provision.sh installs from (on a USB stick).
#
#   hw/make-bundle.sh [--out dist/relay-bundle] [--platform native|aarch64] [--python-version 3.11]
#                     [--wheels-from DIR] [--debs DIR] [--dry-run]
#
# Run it from the repository, with internet, the week before -- not on the day.
#   --platform native   `pip wheel . -w OUT/wheels`: run it on a Pi (Raspberry Pi OS 64-bit)
#                       or any machine with the Pi's CPU and Python version.
#   --platform aarch64  from a laptop: relay's own wheel is built here, every dependency is
#                       downloaded as a binary wheel for 64-bit ARM Linux and --python-version.
#   --wheels-from DIR   take wheels built before (a previous bundle's wheels/, a Pi's
#                       wheelhouse) instead of running pip: no network needed.
#   --debs DIR          copy .deb files into OUT/debs (chrony for Pi OS: on a Pi with
#                       network run `apt-get download chrony` in DIR; see hw/README.md).
#   --dry-run           print the steps and commands, build nothing.
# The channel key (*.psk) never goes into the bundle: carry it separately.
set -euo pipefail

usage() {
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}

die() {
    printf 'make-bundle: %s\n' "$*" >&2
    exit 1
}

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT="$REPO/dist/relay-bundle"  # /dist/ is ignored by git
PLATFORM="native"
PYVER=""
WHEELS_FROM=""
DEBS=""
DRY=0
PYTHON="${PYTHON:-python3}"

while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="${2:?--out needs a directory}"; shift 2 ;;
        --platform) PLATFORM="${2:?--platform needs native or aarch64}"; shift 2 ;;
        --python-version) PYVER="${2:?--python-version needs e.g. 3.11}"; shift 2 ;;
        --wheels-from) WHEELS_FROM="${2:?--wheels-from needs a directory}"; shift 2 ;;
        --debs) DEBS="${2:?--debs needs a directory}"; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        -h | --help) usage 0 ;;
        *) printf 'make-bundle: unknown option %s\n' "$1" >&2; usage 2 ;;
    esac
done
case "$PLATFORM" in native | aarch64) ;; *) die "--platform must be native or aarch64" ;; esac
[ -z "$WHEELS_FROM" ] || [ -d "$WHEELS_FROM" ] || die "no directory $WHEELS_FROM"
[ -z "$DEBS" ] || [ -d "$DEBS" ] || die "no directory $DEBS"
[ -n "$PYVER" ] || PYVER=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
OUT=$(realpath -m "$OUT")

STEP=0
step() {
    STEP=$((STEP + 1))
    printf '==> [%d/5] %s\n' "$STEP" "$*"
}

run() {
    if [ "$DRY" = 1 ]; then
        printf '    would run:'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}

step "Wheels for Python $PYVER ($PLATFORM) into $OUT/wheels"
run mkdir -p "$OUT/wheels"
if [ -n "$WHEELS_FROM" ]; then
    compgen -G "$WHEELS_FROM/relay-*.whl" >/dev/null || die "$WHEELS_FROM has no relay wheel"
    run cp "$WHEELS_FROM"/*.whl "$OUT/wheels/"
elif [ "$PLATFORM" = native ]; then
    run "$PYTHON" -m pip wheel --quiet "$REPO" -w "$OUT/wheels"
else
    run "$PYTHON" -m pip wheel --quiet --no-deps "$REPO" -w "$OUT/wheels"
    # Every dependency as a binary wheel for the Pi: nothing will be compiled on the day.
    PLATFORMS=(--platform manylinux_2_36_aarch64 --platform manylinux_2_28_aarch64
        --platform manylinux2014_aarch64 --platform linux_aarch64)
    run "$PYTHON" -m pip download --quiet --only-binary=:all: "${PLATFORMS[@]}" \
        --python-version "$PYVER" --implementation cp -d "$OUT/wheels" "$OUT"/wheels/relay-*.whl
fi

step "Provisioning files: hw/ and firmware-config/ (without keys)"
run mkdir -p "$OUT/hw" "$OUT/firmware-config/nodes"
run cp "$REPO"/hw/*.sh "$REPO"/hw/*.md "$REPO"/hw/relay*.service "$REPO/hw/99-meshtastic.rules" \
    "$REPO/hw/chrony-relay.conf" "$OUT/hw/"
run cp "$REPO/firmware-config/region.toml" "$REPO/firmware-config/README.md" "$OUT/firmware-config/"
run cp "$REPO"/firmware-config/nodes/*.yaml "$OUT/firmware-config/nodes/"

step "System packages (debs/)"
if [ -n "$DEBS" ]; then
    compgen -G "$DEBS/*.deb" >/dev/null || die "$DEBS has no .deb files"
    run mkdir -p "$OUT/debs"
    run cp "$DEBS"/*.deb "$OUT/debs/"
else
    printf '    none given: provision.sh expects chrony on the image or warns\n'
fi

step "VERSION"
VERSION=$("$PYTHON" -c 'import tomllib,sys; print(tomllib.load(open(sys.argv[1],"rb"))["project"]["version"])' \
    "$REPO/pyproject.toml")
COMMIT=$(git -C "$REPO" describe --always --dirty 2>/dev/null || printf 'unknown')
if [ "$DRY" = 1 ]; then
    printf '    would write VERSION: relay=%s commit=%s python=%s platform=%s\n' "$VERSION" "$COMMIT" "$PYVER" "$PLATFORM"
else
    printf 'relay=%s\ncommit=%s\npython=%s\nplatform=%s\nbuilt=%s\n' "$VERSION" "$COMMIT" "$PYVER" "$PLATFORM" \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$OUT/VERSION"
fi

step "Refuse keys, write SHA256SUMS"
if [ "$DRY" = 1 ]; then
    printf '    would check for *.psk / *.key and write %s/SHA256SUMS\n' "$OUT"
else
    if [ -n "$(find "$OUT" \( -name '*.psk' -o -name '*.key' \) -print -quit)" ]; then
        die "a key file is in $OUT: keys travel separately, never in the bundle"
    fi
    SUMS=$(cd "$OUT" && find . -type f ! -name SHA256SUMS -printf '%P\0' | sort -z | xargs -0 sha256sum)
    printf '%s\n' "$SUMS" >"$OUT/SHA256SUMS"
    printf 'make-bundle: %s ready (%s files)\n' "$OUT" "$(wc -l <"$OUT/SHA256SUMS")"
fi
