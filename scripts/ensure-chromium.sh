#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the dashboard's browser tests (driven by
# playwright-core at /usr/bin/chromium; no browser is ever downloaded by Playwright).
# Idempotent: does nothing when it is there.
set -uo pipefail
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available; install Chromium so that $CHROMIUM exists."
  exit 1
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "ensure-chromium: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y chromium >/tmp/ensure-chromium.log 2>&1 ||
  { $SUDO apt-get update >>/tmp/ensure-chromium.log 2>&1 && $SUDO apt-get install -y chromium >>/tmp/ensure-chromium.log 2>&1; } ||
  { tail -20 /tmp/ensure-chromium.log; echo "ensure-chromium: apt-get install chromium failed (output above)."; exit 1; }
[ -x "$CHROMIUM" ] || { echo "ensure-chromium: installed, but $CHROMIUM is still missing."; exit 1; }
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null)"
