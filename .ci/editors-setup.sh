#!/usr/bin/env bash
# Build (or reuse) the Debian trixie chroot in which the editor tests run real GIMP 3 and
# G'MIC: `pytest -m editors` skips with a reason until this has succeeded once.
#
# Why a chroot: GIMP 3.0 with its Python plug-in support is packaged by Debian trixie, while
# CI and developer machines run older or other distributions. debootstrap needs only a
# Debian mirror (no container runtime, no image registry).
#
#   .ci/editors-setup.sh            build once, then reuse (prints the root and exits 0)
#   .ci/editors-setup.sh --rebuild  throw the cached chroot away and build it again
#   .ci/editors-setup.sh --print-root
#
# Environment:
#   NSTFILTER_EDITORS_ROOT  where the chroot lives [~/.cache/nstfilter-editors/trixie]
#   DEBIAN_MIRROR           [http://deb.debian.org/debian]
#   EDITORS_SETUP_TIMEOUT   seconds allowed for each of the two long steps [600]
#
# Needs root (debootstrap and chroot do). Idempotent: a stamp file records a finished
# build; a half-built tree (interrupted run) is removed and rebuilt. Nothing stays mounted:
# every step that needs /proc runs in its own private mount namespace (unshare -m), so the
# mounts vanish with the process even if it is killed.
set -euo pipefail

ROOT="${NSTFILTER_EDITORS_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/nstfilter-editors/trixie}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
STEP_TIMEOUT="${EDITORS_SETUP_TIMEOUT:-600}"
# xvfb, xauth and xdotool let one test open the plug-in's dialog and press OK.
PACKAGES="gimp python3-gi gir1.2-gimp-3.0 gmic xvfb xauth xdotool"
# A cached chroot with another stamp gets the missing packages installed (not a rebuild);
# bump the leading number when the layout changes and a rebuild is needed.
LAYOUT=1
STAMP_VERSION="$LAYOUT $PACKAGES"
STAMP="$ROOT/.nstfilter-editors-ready"

log() { printf 'editors-setup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

case "${1:-}" in
  --print-root) echo "$ROOT"; exit 0 ;;
  --rebuild) REBUILD=1 ;;
  "") REBUILD=0 ;;
  *) die "unknown argument: $1 (use --rebuild or --print-root)" ;;
esac

# Run a command inside the chroot with /proc and /dev mounted in a private namespace.
in_chroot() {
  unshare --mount --propagation private -- /bin/sh -euc '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      DEBIAN_FRONTEND=noninteractive "$@"
  ' sh "$ROOT" "$@"
}

# Refuse to delete a tree that has anything mounted below it (a leaked bind mount of /tmp
# or / would otherwise be emptied by rm -rf).
safe_remove() {
  local dir=$1
  [ -e "$dir" ] || return 0
  local real
  real=$(realpath "$dir")
  if findmnt -rn -o TARGET | awk -v d="$real" '$0 == d || index($0, d "/") == 1 { f = 1 } END { exit !f }'; then
    die "something is mounted under $dir; unmount it first (findmnt | grep $dir)"
  fi
  rm -rf --one-file-system -- "$dir"
}

ready() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_VERSION" ] \
    && in_chroot gimp-console-3.0 --version >/dev/null 2>&1 \
    && in_chroot gmic version >/dev/null 2>&1
}

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount namespaces)"

if [ "$REBUILD" = 0 ] && ready; then
  log "cached chroot is ready: $ROOT"
  echo "$ROOT"
  exit 0
fi

# Same layout, other packages: add them to the cached chroot instead of rebuilding it.
if [ "$REBUILD" = 0 ] && [ -f "$STAMP" ] && [ "$(cut -d' ' -f1 "$STAMP")" = "$LAYOUT" ]; then
  log "updating the cached chroot's packages: $PACKAGES"
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
  if timeout "$STEP_TIMEOUT" bash -c "$(declare -f in_chroot); ROOT='$ROOT'; \
      in_chroot apt-get update -q && \
      in_chroot apt-get install -y -q --no-install-recommends $PACKAGES && \
      in_chroot apt-get clean" >"$ROOT/.nstfilter-editors-update.log" 2>&1 \
    && in_chroot gimp-console-3.0 --version >/dev/null 2>&1; then
    echo "$STAMP_VERSION" >"$STAMP"
    log "cached chroot is ready: $ROOT"
    echo "$ROOT"
    exit 0
  fi
  log "updating failed (log: $ROOT/.nstfilter-editors-update.log); rebuilding"
fi

for tool in unshare chroot findmnt timeout; do
  command -v "$tool" >/dev/null || die "$tool not found (util-linux / coreutils)"
done
if ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null || die "debootstrap not found and no apt-get to install it"
  log "installing debootstrap"
  apt-get install -y -q debootstrap >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q debootstrap >/dev/null; } \
    || die "could not install debootstrap"
fi

start=$(date +%s)
safe_remove "$ROOT"
mkdir -p "$(dirname "$ROOT")"
BUILD="$ROOT.partial"
safe_remove "$BUILD"

log "debootstrap trixie into $BUILD (mirror $MIRROR)"
keyring=()
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] \
  && keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
timeout "$STEP_TIMEOUT" debootstrap --variant=minbase "${keyring[@]}" trixie "$BUILD" "$MIRROR" \
  >"$BUILD.log" 2>&1 || { tail -20 "$BUILD.log" >&2; die "debootstrap failed (log: $BUILD.log)"; }
log "debootstrap done in $(($(date +%s) - start)) s"

# Let apt resolve names, and never start services inside the chroot.
cp -L /etc/resolv.conf "$BUILD/etc/resolv.conf" 2>/dev/null || true
printf '#!/bin/sh\nexit 101\n' >"$BUILD/usr/sbin/policy-rc.d"
chmod +x "$BUILD/usr/sbin/policy-rc.d"
# Mount points used by the tests (host /tmp and / are bind-mounted there at run time).
mkdir -p "$BUILD/host"

ROOT_FINAL=$ROOT
ROOT=$BUILD
log "apt-get install $PACKAGES"
t1=$(date +%s)
timeout "$STEP_TIMEOUT" bash -c "$(declare -f in_chroot); ROOT='$BUILD'; \
  in_chroot apt-get update -q && \
  in_chroot apt-get install -y -q --no-install-recommends $PACKAGES && \
  in_chroot apt-get clean" >>"$BUILD.log" 2>&1 \
  || { tail -20 "$BUILD.log" >&2; die "apt-get in the chroot failed (log: $BUILD.log)"; }
log "packages installed in $(($(date +%s) - t1)) s"

in_chroot gimp-console-3.0 --version >&2 || die "gimp-console-3.0 does not start"
in_chroot gmic version >/dev/null 2>&1 || die "gmic does not start"

echo "$STAMP_VERSION" >"$BUILD/.nstfilter-editors-ready"
mv "$BUILD.log" "$BUILD/.nstfilter-editors-setup.log"
mv -- "$BUILD" "$ROOT_FINAL"
ROOT=$ROOT_FINAL
log "chroot ready in $(($(date +%s) - start)) s: $ROOT"
echo "$ROOT"
