#!/usr/bin/env bash
# The README's "run it" command: installs what building needs on a fresh
# Debian/Ubuntu machine, builds the web UI and the desktop app, and starts
# it. On a machine without a display it runs the CLI demo instead (a
# throw-away vault: protect, unlock, list, extract, verify, tamper, recover)
# and says how to see the app anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
pkgs=(libwebkit2gtk-4.1-dev librsvg2-dev libayatana-appindicator3-dev libxdo-dev gnome-keyring)
need=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "== building the command-line tool"
cargo build --release -p coffer-cli
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "== no display: running the CLI demo (see below for the desktop app)"
  ./target/release/coffer demo
  cat <<'MSG'

This machine has no display, so the desktop app was not started. To see it:
  - run this script again from a desktop session, or
  - sudo apt-get install xvfb && xvfb-run -a scripts/run.sh   (a virtual display;
    take screenshots with the end-to-end test: python3 tests/e2e/app_e2e.py)
MSG
  exit 0
fi
echo "== building the web UI and the desktop app"
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
cargo build --release -p coffer-app
exec ./target/release/coffer-app
