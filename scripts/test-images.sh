#!/usr/bin/env bash
# test-images.sh: build the local Docker images the tests use, only when they are missing
# (`docker image inspect`), so a second run takes about a second.
#
# Why: no container registry is reachable from our machines, so nothing can be pulled. The
# images are assembled from what the machine has (Debian packages, the host's own node and npm)
# and imported with `docker import`:
#   artie-test/busybox:latest  Debian's static busybox and its applets as symlinks; CMD ["sh"].
#   artie-test/node:20         Debian bookworm minbase (debootstrap) with git and ca-certificates,
#                              the host's node, npm and Corepack in /usr/local (like node:24-slim,
#                              which ships Corepack but no pnpm or yarn); WORKDIR /app, CMD ["node"].
# Both have a user `app` (uid/gid 1000, home /home/app), /app and /app/node_modules owned by it,
# /tmp 1777, and the label artie.test-image=1. The node image also carries
# artie.test-image.version: an image from before the current version (no Corepack) is upgraded
# in place by one layer (seconds, no debootstrap), so a machine's tests never run on a stale one.
#
# Each rootfs is built in a temp dir under /var/tmp (removed on exit), imported untagged, smoke
# tested, and only then tagged: a failed or interrupted build never leaves a broken image that a
# later run would take as cached. Prints one line per image: "<tag>: cached" or "<tag>: built in N s".
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SCRIPTS=$(cd "$(dirname "$0")" && pwd)

readonly BUSYBOX_TAG=artie-test/busybox:latest
readonly NODE_TAG=artie-test/node:20
readonly IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly APP_ID=1000
# Bump when the node image's contents change; 2 added Corepack.
readonly NODE_IMAGE_VERSION=2
readonly LOCK_FILE=/var/run/artie-test-images.lock
WORK=""

die() {
  echo "test-images: $*" >&2
  exit 1
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The node image's artie.test-image.version label; empty when the image or the label is missing.
image_version() {
  docker image inspect --format '{{ index .Config.Labels "artie.test-image.version" }}' "$1" 2>/dev/null || true
}

apt_install() {
  echo "test-images: installing $* with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 # no prompts, no service restarts
  apt-get update -qq || die "apt-get update failed: check the network and /etc/apt/sources.list*."
  apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed (output above)."
}

# --- temp dir ---------------------------------------------------------------------------------

make_workdir() {
  [ -n "$WORK" ] && return 0
  WORK=$(mktemp -d /var/tmp/artie-test-images.XXXXXX)
}

# An interrupted debootstrap can leave /proc, /sys or /dev mounted inside the rootfs: unmount
# those (deepest first) before deleting, and never let rm cross into another file system.
cleanup() {
  [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
  awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$WORK"
}

# --- rootfs pieces ----------------------------------------------------------------------------

# User `app` (uid/gid 1000) unless uid 1000 exists, plus the dirs it owns and a sticky /tmp.
add_app_user() {
  local root=$1
  mkdir -p "$root/etc" "$root/tmp" "$root/home/app" "$root/app/node_modules"
  touch "$root/etc/passwd" "$root/etc/group"
  grep -q '^root:' "$root/etc/passwd" || echo 'root:x:0:0:root:/root:/bin/sh' >>"$root/etc/passwd"
  grep -q '^root:' "$root/etc/group" || echo 'root:x:0:' >>"$root/etc/group"
  if ! cut -d: -f3 "$root/etc/passwd" | grep -qx "$APP_ID"; then
    echo "app:x:$APP_ID:$APP_ID:app:/home/app:/bin/sh" >>"$root/etc/passwd"
    [ ! -f "$root/etc/shadow" ] || echo 'app:!:19000:0:99999:7:::' >>"$root/etc/shadow"
  fi
  cut -d: -f3 "$root/etc/group" | grep -qx "$APP_ID" || echo "app:x:$APP_ID:" >>"$root/etc/group"
  chown -R "$APP_ID:$APP_ID" "$root/home/app" "$root/app"
  chmod 1777 "$root/tmp"
}

# Imports rootfs $1 untagged with the --change options that follow, runs the smoke test
# ($SMOKE, a sh -c script run as uid 1000) in it, and only then tags it $2.
commit_image() {
  local root=$1 tag=$2 id
  shift 2
  id=$(tar --numeric-owner -C "$root" -c . | docker import \
    --change "ENV PATH=$IMAGE_PATH" --change 'LABEL artie.test-image=1' "$@" -) ||
    { [ -z "${id:-}" ] || docker rmi "$id" >/dev/null 2>&1 || true; die "docker import of $tag failed."; }
  if ! docker run --rm --network none --user "$APP_ID:$APP_ID" "$id" sh -c "$SMOKE" >"$WORK/smoke.log" 2>&1; then
    cat "$WORK/smoke.log" >&2
    docker rmi "$id" >/dev/null 2>&1 || true
    die "the new $tag image failed its smoke test (output above); it was not tagged."
  fi
  docker tag "$id" "$tag"
}

# --- artie-test/busybox -----------------------------------------------------------------------

# Debian's busybox-static: a dynamically linked busybox would not run in an empty rootfs.
ensure_static_busybox() {
  if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
    apt_install busybox-static
  fi
  [ -x /bin/busybox ] || die "/bin/busybox is still missing after installing busybox-static."
}

build_busybox() {
  local root=$WORK/busybox applet
  ensure_static_busybox
  mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/root"
  cp /bin/busybox "$root/bin/busybox"
  # --list-full gives each applet's usual place (bin/sh, usr/bin/env, ...).
  for applet in $(/bin/busybox --list-full); do
    [[ $applet == */* && $applet != bin/busybox ]] || continue # skip busybox itself, /linuxrc
    ln -s /bin/busybox "$root/$applet"
  done
  add_app_user "$root"
  SMOKE='id && touch /app/node_modules/.probe /tmp/.probe' \
    commit_image "$root" "$BUSYBOX_TAG" --change 'CMD ["sh"]'
}

# --- artie-test/node --------------------------------------------------------------------------

# The Debian mirror apt uses (one-line or deb822 sources). There is no built-in fallback: which
# mirror a machine may reach is the machine's to say (its apt sources), never a host name here.
debian_mirror() {
  local uri
  uri=$({
    sed -nE 's/^deb +(\[[^]]*\] +)?([^ ]+).*/\2/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
    sed -nE 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n'
  } | grep -E '^https?://[^ ]+/debian/?$' | head -n 1 || true)
  [ -n "$uri" ] || die "no Debian mirror in apt's sources (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list or *.sources): add the one this machine uses (a URI ending in /debian), then run again."
  echo "$uri"
}

# The host's npm package directory (…/node_modules/npm), from the npm on PATH.
host_npm_dir() {
  local cli
  cli=$(readlink -f "$(command -v npm)") || die "npm is not on PATH."
  dirname "$(dirname "$cli")"
}

# The host's Corepack package directory, next to npm's (Node's installers put both there).
host_corepack_dir() {
  local dir
  dir="$(dirname "$(host_npm_dir)")/corepack"
  [ -f "$dir/dist/corepack.js" ] || die "no Corepack package at $dir (next to npm): install Node with its bundled Corepack."
  echo "$dir"
}

# Corepack into rootfs $1 at /usr/local, as Node's own images have it: the package and one bin link.
add_host_corepack() {
  local root=$1
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules"
  cp -a "$(host_corepack_dir)" "$root/usr/local/lib/node_modules/corepack"
  ln -sf ../lib/node_modules/corepack/dist/corepack.js "$root/usr/local/bin/corepack"
}

debootstrap_minbase() {
  local root=$1 mirror
  command -v debootstrap >/dev/null || apt_install debootstrap
  mirror=$(debian_mirror)
  echo "test-images: debootstrap bookworm from $mirror (about a minute)" >&2
  if ! debootstrap --variant=minbase --include=git,ca-certificates bookworm "$root" "$mirror" \
    >"$WORK/debootstrap.log" 2>&1; then
    tail -n 20 "$WORK/debootstrap.log" >&2
    die "debootstrap from $mirror failed (last lines above); check that the mirror is reachable."
  fi
  # Package caches, apt lists, docs and translations are dead weight in a test image.
  rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
    "$root"/var/log/*.log "$root"/var/log/apt/*
}

add_host_node() {
  local root=$1 node npm_dir
  node=$(command -v node) || die "node is not on PATH: the node image copies the host's node."
  npm_dir=$(host_npm_dir)
  [ -f "$npm_dir/bin/npm-cli.js" ] || die "no npm package at $npm_dir (from $(command -v npm))."
  case "$(node -v)" in v20.*) ;; *) echo "test-images: warning: host node is $(node -v), tagged $NODE_TAG anyway" >&2 ;; esac
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules"
  cp -L "$node" "$root/usr/local/bin/node"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  add_host_corepack "$root"
}

build_node() {
  local root=$WORK/node
  debootstrap_minbase "$root"
  add_host_node "$root"
  add_app_user "$root"
  SMOKE="$NODE_SMOKE" commit_image "$root" "$NODE_TAG" --change 'WORKDIR /app' --change 'CMD ["node"]' \
    --change "LABEL artie.test-image.version=$NODE_IMAGE_VERSION"
}

readonly NODE_SMOKE='node -v && npm -v && corepack --version && git --version && touch /app/node_modules/.probe'

# An existing node image from before NODE_IMAGE_VERSION gets what it lacks as one more layer:
# Corepack streamed in with `docker cp` (owned by root, as the rest of /usr/local), committed with
# the new label, smoke tested, and only then tagged over the old one.
upgrade_node() {
  local stage=$WORK/upgrade id container
  mkdir -p "$stage"
  add_host_corepack "$stage"
  container=$(docker create "$NODE_TAG") || die "docker create from $NODE_TAG failed."
  if ! tar --numeric-owner --owner=0 --group=0 -C "$stage" -c usr | docker cp - "$container:/"; then
    docker rm -f "$container" >/dev/null 2>&1 || true
    die "copying Corepack into $NODE_TAG failed."
  fi
  id=$(docker commit --change "LABEL artie.test-image.version=$NODE_IMAGE_VERSION" "$container") ||
    { docker rm -f "$container" >/dev/null 2>&1 || true; die "docker commit of the upgraded $NODE_TAG failed."; }
  docker rm -f "$container" >/dev/null 2>&1 || true
  if ! docker run --rm --network none --user "$APP_ID:$APP_ID" "$id" sh -c "$NODE_SMOKE" >"$WORK/smoke.log" 2>&1; then
    cat "$WORK/smoke.log" >&2
    docker rmi "$id" >/dev/null 2>&1 || true
    die "the upgraded $NODE_TAG image failed its smoke test (output above); it was not tagged."
  fi
  docker tag "$id" "$NODE_TAG"
}

# Whether the node image is there and current (the busybox image has no version).
node_current() { [ "$(image_version "$NODE_TAG")" = "$NODE_IMAGE_VERSION" ]; }

# --- main -------------------------------------------------------------------------------------

# ensure_image TAG BUILDER [CURRENT UPGRADER]: builds TAG when it is missing; when it is there
# but CURRENT says it is stale, UPGRADER brings it up to date instead of a full build.
ensure_image() {
  local tag=$1 builder=$2 current=${3:-true} upgrader=${4:-} started=$SECONDS
  if have_image "$tag" && "$current"; then
    echo "$tag: cached"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "$tag is missing or stale and building it needs root (debootstrap, chown)."
  make_workdir
  # One builder at a time; whoever waited finds the image the other one built.
  exec 9>"$LOCK_FILE"
  flock -w 900 9 || die "another test-images.sh holds $LOCK_FILE for too long."
  if have_image "$tag" && "$current"; then
    echo "$tag: cached"
  elif have_image "$tag" && [ -n "$upgrader" ]; then
    "$upgrader"
    echo "$tag: upgraded in $((SECONDS - started)) s"
  else
    "$builder"
    echo "$tag: built in $((SECONDS - started)) s"
  fi
  exec 9>&-
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  bash "$SCRIPTS/ensure-docker.sh" || die "no Docker engine (see above), so no images."
  ensure_image "$BUSYBOX_TAG" build_busybox
  ensure_image "$NODE_TAG" build_node node_current upgrade_node
}

main "$@"
