#!/bin/sh
# Builds Coffer-<version>.pkg on macOS with pkgbuild (Xcode command-line
# tools). NOT YET RUN: written on Linux, checked there only with `sh -n`
# (scripts/package-test.sh). See docs/DEPLOYMENT.md.
#
#   installers/macos/build-pkg.sh [--policy FILE] [--sign "Developer ID Installer: ..."] [--out DIR]
#
# The pkg installs:
#   /usr/local/bin/coffer                      universal (arm64 + x86_64) CLI
#   /usr/local/share/man/man1/coffer*.1        manual pages (`coffer man`)
#   /Library/LaunchAgents/org.coffer.watch.plist  the watcher, per user at login
#   /usr/local/share/doc/coffer/               POLICY.md, DEPLOYMENT.md, schema, examples
#   /Applications/Coffer.app                   only if already built (COFFER_APP_BUNDLE,
#                                              e.g. from `cargo tauri build -b app`)
# and, with --policy, the organisation policy (validated at build time and
# again by the postinstall script) as
#   /Library/Managed Preferences/org.coffer.policy.toml
# Build one pkg per organisation (or per policy) and deploy it with Jamf
# or `sudo installer -pkg Coffer-0.1.0.pkg -target /`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/target/packages"
policy=""
sign=""
while [ $# -gt 0 ]; do
  case "$1" in
    --policy) policy=$2; shift 2 ;;
    --sign) sign=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--policy FILE] [--sign IDENTITY] [--out DIR]" >&2; exit 2 ;;
  esac
done
[ "$(uname -s)" = Darwin ] || { echo "build-pkg.sh runs on macOS (pkgbuild)" >&2; exit 1; }

cd "$root"
for t in aarch64-apple-darwin x86_64-apple-darwin; do
  cargo build --release --locked -p coffer-cli --target "$t"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/root"
mkdir -p "$stage/usr/local/bin" "$stage/usr/local/share/man/man1" \
  "$stage/usr/local/share/doc/coffer/examples" "$stage/Library/LaunchAgents"
lipo -create -output "$stage/usr/local/bin/coffer" \
  target/aarch64-apple-darwin/release/coffer target/x86_64-apple-darwin/release/coffer
"$stage/usr/local/bin/coffer" man --out "$stage/usr/local/share/man/man1"
cp docs/POLICY.md docs/DEPLOYMENT.md docs/CLI.md docs/policy.schema.json "$stage/usr/local/share/doc/coffer/"
cp installers/policy/example.toml "$stage/usr/local/share/doc/coffer/examples/policy.toml"
cp installers/macos/org.coffer.policy.mobileconfig "$stage/usr/local/share/doc/coffer/examples/"
cp installers/macos/org.coffer.watch.plist "$stage/Library/LaunchAgents/"
chmod 0644 "$stage/Library/LaunchAgents/org.coffer.watch.plist"
if [ -n "${COFFER_APP_BUNDLE:-}" ]; then
  mkdir -p "$stage/Applications"
  cp -R "$COFFER_APP_BUNDLE" "$stage/Applications/Coffer.app"
fi

mkdir -p "$work/scripts"
cp installers/macos/scripts/postinstall "$work/scripts/"
if [ -n "$policy" ]; then
  "$stage/usr/local/bin/coffer" policy validate "$policy"
  cp "$policy" "$work/scripts/policy.toml"
fi

version=$("$stage/usr/local/bin/coffer" --version | awk '{print $2}')
mkdir -p "$out"
pkg="$out/Coffer-$version.pkg"
set -- --root "$stage" --scripts "$work/scripts" --identifier org.coffer.pkg \
  --version "$version" --install-location / --ownership recommended
if [ -n "$sign" ]; then set -- "$@" --sign "$sign"; fi
pkgbuild "$@" "$pkg"
echo "built $pkg"
