#!/usr/bin/env bash
# Builds the Linux packages: a .deb (dpkg-deb) and an .rpm (rpmbuild).
#
#   installers/linux/build-packages.sh [--out DIR] [--no-rpm] [--no-app] [--no-build]
#
# They hold the `coffer` CLI, its manual pages (generated from the clap
# definitions by the hidden `coffer man` command), the systemd user unit for
# the watcher, an empty /etc/coffer/, the policy docs, schema and examples,
# and — only if it has been built (target/release/coffer-app, or
# COFFER_APP_BIN) — the desktop app. The maintainer scripts seed
# /etc/coffer/policy.toml from $COFFER_POLICY at install (docs/DEPLOYMENT.md).
#
# Environment:
#   COFFER_BIN      the CLI to package (default: target/release/coffer, built
#                   with `cargo build --release -p coffer-cli` unless --no-build)
#   COFFER_APP_BIN  the desktop app to package (default: target/release/coffer-app
#                   if present; --no-app leaves it out)
#   COFFER_PKG_RELEASE  package release number (default 1)
#
# Needs dpkg-deb (dpkg), gzip, and for the .rpm rpmbuild (Debian: apt-get
# install rpm). dpkg-shlibdeps (dpkg-dev) is used for Depends if present.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/target/packages"
rpm=1 app=auto build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --no-rpm) rpm=0; shift ;;
    --no-app) app=0; shift ;;
    --no-build) build=0; shift ;;
    *) echo "usage: $0 [--out DIR] [--no-rpm] [--no-app] [--no-build]" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"; out=$(cd "$out" && pwd)

bin=${COFFER_BIN:-$root/target/release/coffer}
if [ -z "${COFFER_BIN:-}" ] && [ "$build" = 1 ]; then
  (cd "$root" && cargo build --release --locked -p coffer-cli)
fi
[ -x "$bin" ] || { echo "no coffer binary at $bin (build it, or set COFFER_BIN)" >&2; exit 1; }
app_bin=""
if [ "$app" != 0 ]; then
  cand=${COFFER_APP_BIN:-$root/target/release/coffer-app}
  if [ -x "$cand" ]; then app_bin=$cand
  elif [ -n "${COFFER_APP_BIN:-}" ]; then echo "COFFER_APP_BIN=$cand is not executable" >&2; exit 1
  fi
fi

version=$("$bin" --version | awk '{print $2}')
release=${COFFER_PKG_RELEASE:-1}
deb_arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
rpm_arch=$(uname -m)
echo "coffer $version-$release: CLI $bin, ${app_bin:+desktop app $app_bin}${app_bin:-no desktop app}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/root
umask 022

# --- the file tree, shared by both packages --------------------------------
install -d "$stage/usr/bin" "$stage/usr/lib/coffer" "$stage/usr/lib/systemd/user" \
  "$stage/usr/share/man/man1" "$stage/usr/share/doc/coffer/examples" "$stage/etc/coffer"
install -m 0755 "$bin" "$stage/usr/bin/coffer"
strip --strip-unneeded "$stage/usr/bin/coffer" 2>/dev/null || true
install -m 0755 "$here/seed-policy" "$stage/usr/lib/coffer/seed-policy"
install -m 0644 "$here/coffer-watch.service" "$stage/usr/lib/systemd/user/coffer-watch.service"
"$bin" man --out "$work/man"
for m in "$work"/man/*.1; do gzip -9n -c "$m" >"$stage/usr/share/man/man1/$(basename "$m").gz"; done
chmod 0644 "$stage"/usr/share/man/man1/*
doc=$stage/usr/share/doc/coffer
install -m 0644 "$root/docs/POLICY.md" "$root/docs/DEPLOYMENT.md" "$root/docs/CLI.md" \
  "$root/docs/policy.schema.json" "$doc/"
install -m 0644 "$root/installers/policy/example.toml" "$doc/examples/policy.toml"
install -m 0644 "$root/installers/policy/minimal.toml" "$doc/examples/minimal-policy.toml"
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: coffer
Source: the Coffer repository

Files: *
Copyright: the Coffer authors
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
EOF
if [ -n "$app_bin" ]; then
  install -m 0755 "$app_bin" "$stage/usr/bin/coffer-app"
  strip --strip-unneeded "$stage/usr/bin/coffer-app" 2>/dev/null || true
  install -d "$stage/usr/share/applications" \
    "$stage/usr/share/icons/hicolor/32x32/apps" "$stage/usr/share/icons/hicolor/128x128/apps"
  install -m 0644 "$here/coffer.desktop" "$stage/usr/share/applications/coffer.desktop"
  install -m 0644 "$root/src-tauri/icons/32x32.png" "$stage/usr/share/icons/hicolor/32x32/apps/coffer.png"
  install -m 0644 "$root/src-tauri/icons/128x128.png" "$stage/usr/share/icons/hicolor/128x128/apps/coffer.png"
fi

summary="encrypted folders for clinic files (CLI, watcher${app_bin:+, desktop app})"
description="Coffer keeps the folders where staff put patient files encrypted at rest
(AES-256-GCM, keys wrapped with HPKE, passphrases stretched with Argon2id),
with an audit trail, recovery and organisation escrow keys, and a policy
file in /etc/coffer/policy.toml that IT sets and users cannot weaken."

# --- .deb ------------------------------------------------------------------
deb=$work/deb
cp -a "$stage" "$deb"
install -d -m 0755 "$deb/DEBIAN"
depends="libc6"
if command -v dpkg-shlibdeps >/dev/null; then
  mkdir -p "$work/shlibs/debian"
  printf 'Source: coffer\n\nPackage: coffer\nArchitecture: any\n' >"$work/shlibs/debian/control"
  exes=("$deb/usr/bin/coffer"); [ -n "$app_bin" ] && exes+=("$deb/usr/bin/coffer-app")
  if line=$(cd "$work/shlibs" && dpkg-shlibdeps -O "${exes[@]}" 2>/dev/null); then
    depends=${line#shlibs:Depends=}
  fi
fi
recommends=""
[ -n "$app_bin" ] && recommends="Recommends: libayatana-appindicator3-1"
{
  echo "Package: coffer"
  echo "Version: $version-$release"
  echo "Architecture: $deb_arch"
  echo "Maintainer: ${COFFER_MAINTAINER:-Coffer maintainers <coffer@localhost>}"
  echo "Installed-Size: $(du -sk --exclude=DEBIAN "$deb" | cut -f1)"
  echo "Depends: $depends"
  [ -n "$recommends" ] && echo "$recommends"
  echo "Section: utils"
  echo "Priority: optional"
  echo "Description: $summary"
  sed 's/^/ /' <<<"$description"
} >"$deb/DEBIAN/control"
for s in postinst prerm postrm; do install -m 0755 "$here/deb/$s" "$deb/DEBIAN/$s"; done
(cd "$deb" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  >"$deb/DEBIAN/md5sums"
chmod 0644 "$deb/DEBIAN/md5sums"
deb_file="$out/coffer_${version}-${release}_${deb_arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$deb" "$deb_file" >/dev/null
echo "built $deb_file"

# --- .rpm ------------------------------------------------------------------
if [ "$rpm" = 1 ]; then
  command -v rpmbuild >/dev/null || { echo "rpmbuild not found (apt-get install rpm), or pass --no-rpm" >&2; exit 1; }
  top=$work/rpmbuild
  mkdir -p "$top"/{BUILD,BUILDROOT,RPMS,SOURCES,SPECS,SRPMS}
  app_files=""
  if [ -n "$app_bin" ]; then
    app_files="/usr/bin/coffer-app
/usr/share/applications/coffer.desktop
/usr/share/icons/hicolor/32x32/apps/coffer.png
/usr/share/icons/hicolor/128x128/apps/coffer.png"
  fi
  printf '%s\n' "$app_files" >"$work/app_files"
  printf '%s\n' "$description" >"$work/description"
  sed -e "s|@VERSION@|$version|; s|@RELEASE@|$release|; s|@SUMMARY@|$summary|" \
      -e "/@DESCRIPTION@/{r $work/description" -e "d}" \
      -e "/@APP_FILES@/{r $work/app_files" -e "d}" \
      "$here/coffer.spec.in" >"$top/SPECS/coffer.spec"
  rpmbuild -bb --quiet --target "$rpm_arch" \
    --define "_topdir $top" --define "_rpmdir $out" \
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
    --define "stage $stage" \
    "$top/SPECS/coffer.spec"
  echo "built $out/coffer-${version}-${release}.${rpm_arch}.rpm"
fi
