#!/usr/bin/env bash
# Every test Coffer has, from a fresh Debian/Ubuntu machine with only Rust,
# Node and Python: installs what the tests need, then runs lints, unit and
# black-box tests (with a real Secret Service for the keychain), and short
# fuzz runs. This is the README's test command; CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in gnome-keyring dbus keyutils; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== tests (inside a D-Bus session with an unlocked gnome-keyring)"
# keyctl gives the keyring daemon a session keyring; the daemon is unlocked
# with a throw-away password so the keychain slot is tested against the real
# Secret Service, not a mock.
keyctl session - dbus-run-session -- bash -c '
  set -euo pipefail
  eval "$(echo -n coffer-ci | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)" || true
  export COFFER_TEST_SECRET_SERVICE=1
  cargo test --workspace --no-fail-fast
'

if [ "${COFFER_SKIP_FUZZ:-0}" != 1 ] && [ -x scripts/fuzz-smoke.sh ]; then
  echo "== fuzz smoke runs"
  scripts/fuzz-smoke.sh
fi
echo "== all tests passed"
