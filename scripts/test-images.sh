#!/usr/bin/env bash
# Builds the local images the tests use, only when missing (no registry is reachable here, so
# nothing is pulled):
#   artie-test/busybox:latest  busybox-static, a user `app` (1000:1000), /app and /tmp ready
#   artie-test/node:20         Debian bookworm minbase (debootstrap) with git and CA certificates,
#                              plus this host's node and npm, same user and dirs
# Each is built in a temp dir and imported under its tag only when complete, so an interrupted
# build never leaves a broken image that later runs would take as cached.
set -euo pipefail
cd "$(dirname "$0")/.."

BUSYBOX_TAG=artie-test/busybox:latest
NODE_TAG=artie-test/node:20
APP_UID=1000
WORK=""

cleanup() { [ -n "$WORK" ] && rm -rf "$WORK"; }
trap cleanup EXIT

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Adds user `app` (uid/gid 1000) unless that uid exists, and the workspace dirs it owns.
add_app_user() {
  local root=$1
  mkdir -p "$root/etc" "$root/home/app" "$root/app/node_modules" "$root/tmp"
  touch "$root/etc/passwd" "$root/etc/group"
  grep -q "^root:" "$root/etc/passwd" || echo "root:x:0:0:root:/root:/bin/sh" >>"$root/etc/passwd"
  grep -q "^root:" "$root/etc/group" || echo "root:x:0:" >>"$root/etc/group"
  grep -q ":x:${APP_UID}:" "$root/etc/passwd" || echo "app:x:${APP_UID}:${APP_UID}:app:/home/app:/bin/sh" >>"$root/etc/passwd"
  grep -q ":x:${APP_UID}:" "$root/etc/group" || echo "app:x:${APP_UID}:" >>"$root/etc/group"
  chown -R "${APP_UID}:${APP_UID}" "$root/home/app" "$root/app"
  chmod 1777 "$root/tmp"
}

import_rootfs() {
  local root=$1 tag=$2
  shift 2
  tar -C "$root" -c . | docker import "$@" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL artie.test-image=1' \
    - "$tag" >/dev/null
}

build_busybox() {
  [ -x /bin/busybox ] || apt_install busybox-static
  local root="$WORK/busybox"
  mkdir -p "$root/bin"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  add_app_user "$root"
  import_rootfs "$root" "$BUSYBOX_TAG" --change 'CMD ["sh"]'
}

debian_mirror() {
  local uri
  uri=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n 1 | awk '{print $2}')
  echo "${uri:-http://deb.debian.org/debian}"
}

build_node() {
  command -v debootstrap >/dev/null || apt_install debootstrap
  local root="$WORK/node" npm_dir
  debootstrap --variant=minbase --include=git,ca-certificates bookworm "$root" "$(debian_mirror)" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 20 "$WORK/debootstrap.log" >&2; echo "test-images: debootstrap failed (log above)" >&2; return 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc "$root"/usr/share/man
  cp "$(command -v node)" "$root/usr/local/bin/node"
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  add_app_user "$root"
  import_rootfs "$root" "$NODE_TAG" --change 'WORKDIR /app' --change 'CMD ["node"]'
}

ensure_image() {
  local tag=$1 builder=$2 started
  if have_image "$tag"; then
    echo "$tag: cached"
    return 0
  fi
  started=$(date +%s)
  "$builder"
  echo "$tag: built in $(($(date +%s) - started)) s"
}

bash scripts/ensure-docker.sh
WORK=$(mktemp -d /var/tmp/artie-test-images.XXXXXX)
ensure_image "$BUSYBOX_TAG" build_busybox
ensure_image "$NODE_TAG" build_node
