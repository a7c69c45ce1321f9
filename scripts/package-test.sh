#!/usr/bin/env bash
# The package install test (run by scripts/test.sh; runs alone too, as root
# or with sudo, on a Debian/Ubuntu machine with Rust and Python):
#
# 1. builds the .deb and .rpm (installers/linux/build-packages.sh: a release
#    build of coffer-cli — about 3.5 min cold on 2 cores, the bulk of this
#    test — man pages, unit, policy docs; no desktop app unless
#    COFFER_PACKAGE_APP=path/to/coffer-app; COFFER_BIN=path packages an
#    already-built CLI instead, e.g. target/debug/coffer for a quick run);
# 2. validates the Windows and macOS installer files that cannot be built
#    here (installers/validate.py: XML/plist well-formedness, ADMX<->ADML,
#    settings mapping, the profile's settings through `coffer policy validate`);
# 3. installs the .deb with apt-get and a pre-seeded policy
#    (COFFER_POLICY=…), checks `coffer --version`, `coffer policy show`, the
#    policy file's owner and mode, the systemd user unit (systemd-analyze
#    verify), global enablement, the man page; then `apt-get remove` (policy
#    kept, unit disabled) and `apt-get purge` (nothing left); then that purge
#    leaves a policy the package did not install;
# 4. inspects the .rpm (rpm -qpl, scripts, requires) and installs/erases it
#    in a scratch root (rpm --root, without scriptlets).
#
# Step 3 changes the machine (/usr/bin/coffer, /etc/coffer) for a few
# seconds. So that a policy installed for the test cannot affect anything
# else running here (other test runs read /etc/coffer/policy.toml), it runs
# in a private mount namespace with a private copy of /etc when `unshare`
# allows it (COFFER_PACKAGE_TEST_ISOLATE=0 turns that off). It refuses to run
# where Coffer is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
start=$(date +%s)
step() { echo "-- $* ($(( $(date +%s) - start )) s)"; }
die() { echo "package-test: FAIL: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "needs root (or sudo) to install packages"
  exec sudo --preserve-env=PATH,CARGO_HOME,RUSTUP_HOME,COFFER_BIN,COFFER_PACKAGE_APP,COFFER_PACKAGE_TEST_ISOLATE "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive

# Step 3, run as `package-test.sh --install-phase` (inside the namespace).
install_phase() {
  local deb=$PT_DEB policy_src=$PT_POLICY version=$PT_VERSION
  say() { echo "   $*"; }
  q() { "$@" >/tmp/coffer-package-test.log 2>&1 || { cat /tmp/coffer-package-test.log; die "$* failed"; }; }
  status() { dpkg-query -W -f='${db:Status-Abbrev}' coffer 2>/dev/null | tr -d ' ' || true; }

  # An invalid policy fails the installation loudly, and installs nothing.
  printf '[lock]\nmax_auto_lock_minutes = 0\n' >/tmp/coffer-bad-policy.toml
  if COFFER_POLICY=/tmp/coffer-bad-policy.toml apt-get install -y --no-install-recommends "$deb" \
       >/tmp/coffer-package-test.log 2>&1; then
    die "apt-get install succeeded with an invalid COFFER_POLICY"
  fi
  grep -q "not a valid policy" /tmp/coffer-package-test.log || { cat /tmp/coffer-package-test.log; die "no reason given"; }
  [ ! -e /etc/coffer/policy.toml ] || die "an invalid policy was installed"
  [ "$(status)" = iF ] || die "status after a failed postinst: $(status)"
  q dpkg --purge coffer
  say "COFFER_POLICY=invalid: apt-get install fails (package left half-configured), no policy installed"

  COFFER_POLICY="$policy_src" q apt-get install -y --no-install-recommends "$deb"
  say "installed: $(dpkg-query -W -f='${Package} ${Version}' coffer) ($(status))"
  [ "$(command -v coffer)" = /usr/bin/coffer ] || die "coffer is not /usr/bin/coffer"
  [ "$(coffer --version)" = "coffer $version" ] || die "coffer --version: $(coffer --version)"
  say "coffer --version: $(coffer --version)"

  [ "$(stat -c '%U:%G %a' /etc/coffer/policy.toml)" = "root:root 644" ] \
    || die "policy.toml is $(stat -c '%U:%G %a' /etc/coffer/policy.toml)"
  [ "$(stat -c '%U:%G %a' /etc/coffer)" = "root:root 755" ] || die "/etc/coffer is $(stat -c '%U:%G %a' /etc/coffer)"
  cmp -s /etc/coffer/policy.toml "$policy_src" || die "the installed policy differs from the seeded one"
  local show
  show=$(cd / && env -u COFFER_POLICY_FILE coffer policy show)
  sed 's/^/     /' <<<"$show"
  grep -q "^Policy from /etc/coffer/policy.toml" <<<"$show" || die "policy show does not name /etc/coffer/policy.toml"
  grep -q "every 90 days" <<<"$show" && grep -q "at most 15 minutes" <<<"$show" \
    && grep -q "m=256 MiB, t=3, p=4" <<<"$show" || die "policy show does not report the seeded settings"
  env -u COFFER_POLICY_FILE coffer --json policy show | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["source"] == "/etc/coffer/policy.toml", d["source"]
assert d["policy"]["rotation"]["period_days"] == 90
assert d["policy"]["unlock"]["allowed"] == ["passphrase", "recovery", "escrow"]
' || die "coffer --json policy show"
  say "coffer policy show reports the seeded /etc/coffer/policy.toml"

  # A bad policy is refused, and the one in place stays.
  if /usr/lib/coffer/seed-policy /tmp/coffer-bad-policy.toml >/dev/null 2>&1; then
    die "seed-policy accepted an invalid policy"
  fi
  cmp -s /etc/coffer/policy.toml "$policy_src" || die "a refused policy replaced the installed one"
  rm -f /tmp/coffer-bad-policy.toml
  say "an invalid policy is refused at seeding; the installed one is untouched"

  local unit=/usr/lib/systemd/user/coffer-watch.service
  [ -f "$unit" ] || die "$unit missing"
  grep -q '^ExecStart=/usr/bin/coffer watch$' "$unit" || die "unit ExecStart"
  if command -v systemd-analyze >/dev/null; then
    local rt; rt=$(mktemp -d)
    if XDG_RUNTIME_DIR=$rt systemd-analyze --user verify "$unit" >/tmp/coffer-verify.log 2>&1; then
      say "systemd-analyze --user verify $unit: clean"
    elif systemd-analyze verify "$unit" >/tmp/coffer-verify.log 2>&1; then
      say "systemd-analyze verify $unit: clean (system mode: no user manager can start here)"
    else
      cat /tmp/coffer-verify.log; die "systemd-analyze verify $unit"
    fi
    rm -rf "$rt"
  else
    say "systemd-analyze not installed: unit checked by content only"
  fi
  q systemctl --global enable coffer-watch.service
  [ -L /etc/systemd/user/default.target.wants/coffer-watch.service ] || die "systemctl --global enable did not link the unit"
  say "systemctl --global enable coffer-watch.service: enabled for every user"

  [ -f /usr/share/man/man1/coffer.1.gz ] || die "man page missing"
  zcat /usr/share/man/man1/coffer-policy-validate.1.gz | grep -q "policy" || die "coffer-policy-validate(1)"
  if command -v man >/dev/null && command -v mandb >/dev/null; then
    [ "$(man -w coffer)" = /usr/share/man/man1/coffer.1.gz ] || die "man -w coffer: $(man -w coffer)"
    say "man -w coffer: $(man -w coffer) ($(ls /usr/share/man/man1/coffer*.1.gz | wc -l) pages)"
  else
    say "man-db not installed: man pages checked as files ($(ls /usr/share/man/man1/coffer*.1.gz | wc -l) pages)"
  fi

  q apt-get remove -y coffer
  [ ! -e /usr/bin/coffer ] || die "apt-get remove left /usr/bin/coffer"
  [ ! -e "$unit" ] || die "apt-get remove left the unit"
  [ ! -e /etc/systemd/user/default.target.wants/coffer-watch.service ] || die "apt-get remove left the unit enabled"
  cmp -s /etc/coffer/policy.toml "$policy_src" || die "apt-get remove did not keep the policy"
  [ "$(status)" = rc ] || die "status after remove: $(status)"
  say "apt-get remove: binary, unit and its enablement gone; policy kept (status rc)"

  q apt-get purge -y coffer
  [ ! -e /etc/coffer ] || die "apt-get purge left /etc/coffer: $(ls -la /etc/coffer)"
  [ ! -e /var/lib/coffer ] || die "apt-get purge left /var/lib/coffer"
  case "$(status)" in ""|un|pn) ;; *) die "dpkg still knows coffer: $(status)" ;; esac
  say "apt-get purge: /etc/coffer and /var/lib/coffer gone, dpkg forgot the package"

  # A policy the package did not install (configuration management, by
  # hand) is not the package's to delete.
  q dpkg -i "$deb"
  install -o root -g root -m 0644 "$policy_src" /etc/coffer/policy.toml
  q dpkg --purge coffer
  cmp -s /etc/coffer/policy.toml "$policy_src" || die "purge removed a policy the package did not install"
  [ ! -e /usr/bin/coffer ] || die "purge left /usr/bin/coffer"
  rm -f /etc/coffer/policy.toml /tmp/coffer-package-test.log /tmp/coffer-verify.log
  rmdir /etc/coffer
  say "dpkg --purge leaves a policy put there by other means (and /etc/coffer with it)"
}
if [ "${1:-}" = --install-phase ]; then install_phase; exit 0; fi

need=()
command -v rpmbuild >/dev/null || need+=(rpm)
command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev)
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if dpkg-query -W -f='${Status}' coffer 2>/dev/null | grep -qv "not-installed"; then
  die "a coffer package is already installed here ($(dpkg-query -W -f='${Status}' coffer)); purge it first"
fi
[ ! -e /etc/coffer ] || die "/etc/coffer exists already; this test would change it"

out="$repo/target/packages"
rm -rf "$out"
step "building the packages${COFFER_BIN:+ from $COFFER_BIN}${COFFER_BIN:- (release build of coffer-cli)}"
t0=$(date +%s)
app_args=(--no-app)
if [ -n "${COFFER_PACKAGE_APP:-}" ]; then app_args=(); export COFFER_APP_BIN=$COFFER_PACKAGE_APP; fi
installers/linux/build-packages.sh --out "$out" "${app_args[@]}"
echo "   packages built in $(( $(date +%s) - t0 )) s"
deb=$(ls "$out"/coffer_*.deb)
rpmf=$(ls "$out"/coffer-*.rpm)
bin=${COFFER_BIN:-$repo/target/release/coffer}
version=$("$bin" --version | awk '{print $2}')

step "Windows and macOS installer files (cannot be built here: checked only)"
python3 installers/validate.py --coffer "$bin"
sh -n installers/macos/build-pkg.sh
sh -n installers/macos/scripts/postinstall
sh -n installers/linux/seed-policy
for s in installers/linux/deb/*; do sh -n "$s"; done

step "the .deb: metadata and contents"
dpkg-deb --info "$deb" | sed 's/^/   /'
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/coffer ./usr/lib/systemd/user/coffer-watch.service ./usr/share/man/man1/coffer.1.gz \
         ./usr/share/man/man1/coffer-policy.1.gz ./usr/lib/coffer/seed-policy ./etc/coffer/ \
         ./usr/share/doc/coffer/POLICY.md ./usr/share/doc/coffer/policy.schema.json \
         ./usr/share/doc/coffer/examples/policy.toml ./usr/share/doc/coffer/copyright; do
  grep -q " $f\$" <<<"$contents" || die "$f is not in the .deb"
done
if grep -v " root/root " <<<"$contents" | grep -q .; then die "files in the .deb not owned by root"; fi
if [ -n "${COFFER_PACKAGE_APP:-}" ]; then
  for f in ./usr/bin/coffer-app ./usr/share/applications/coffer.desktop ./usr/share/icons/hicolor/128x128/apps/coffer.png; do
    grep -q " $f\$" <<<"$contents" || die "$f is not in the .deb"
  done
  dpkg-deb --field "$deb" Depends | grep -q libwebkit2gtk-4.1 || die "the app's libraries are not in Depends"
  if command -v desktop-file-validate >/dev/null; then desktop-file-validate installers/linux/coffer.desktop; fi
elif grep -q coffer-app <<<"$contents"; then
  die "desktop app packaged without COFFER_PACKAGE_APP"
fi

step "the .rpm: rpm -qpl, scripts, requires"
rpm -qpi "$rpmf" | sed 's/^/   /'
list=$(rpm -qpl "$rpmf")
echo "$list" | sed 's/^/   /'
for f in /usr/bin/coffer /usr/lib/systemd/user/coffer-watch.service /usr/share/man/man1/coffer.1.gz \
         /usr/lib/coffer/seed-policy /etc/coffer /usr/share/doc/coffer/POLICY.md; do
  grep -qx "$f" <<<"$list" || die "$f is not in the .rpm"
done
rpm -qp --scripts "$rpmf" | grep -q "/usr/lib/coffer/seed-policy" || die ".rpm %post does not seed the policy"
rpm -qp --requires "$rpmf" | grep -q "libc.so.6" || die ".rpm has no libc requirement"
rpm -qp --dump "$rpmf" | awk '$1=="/usr/bin/coffer" {exit !($6=="root" && $7=="root")}' || die ".rpm files not root-owned"
scratch=$(mktemp -d)
rpm --root "$scratch" --initdb
rpm --root "$scratch" -i --nodeps --noscripts "$rpmf"
[ -x "$scratch/usr/bin/coffer" ] && [ -f "$scratch/usr/lib/systemd/user/coffer-watch.service" ] && [ -d "$scratch/etc/coffer" ] \
  || die "the .rpm did not install its files in a scratch root"
"$scratch/usr/bin/coffer" --version >/dev/null
rpm --root "$scratch" -e --noscripts coffer
[ ! -e "$scratch/usr/bin/coffer" ] || die "rpm -e left /usr/bin/coffer behind"
rm -rf "$scratch"
echo "   installed and erased in a scratch root"

# ---------------------------------------------------------------------------
step "the .deb: install with a pre-seeded policy, check, remove, purge"
policy_src=$(mktemp -d)/policy.toml
cp installers/policy/example.toml "$policy_src"
chmod 0600 "$policy_src"   # the installed copy must still come out root:root 0644
export PT_DEB=$deb PT_POLICY=$policy_src PT_VERSION=$version
cleanup() {
  # Whatever happened, leave no package behind.
  if dpkg-query -W -f='${Status}' coffer 2>/dev/null | grep -qv "not-installed"; then
    dpkg --purge coffer >/dev/null 2>&1 || true
  fi
  rm -rf "$(dirname "$policy_src")"
}
trap cleanup EXIT
if [ "${COFFER_PACKAGE_TEST_ISOLATE:-1}" = 1 ] && unshare --mount --propagation private true 2>/dev/null; then
  # /etc as seen by the test (and by dpkg, apt and systemctl inside it) is a
  # copy; the package's files under /usr and the dpkg database are real.
  etc=$(mktemp -d)
  cp -a /etc/. "$etc/"
  unshare --mount --propagation private bash -c 'mount --bind "$1" /etc && exec "$2" --install-phase' _ "$etc" "$0"
  rm -rf "$etc"
  echo "   (ran with a private copy of /etc; COFFER_PACKAGE_TEST_ISOLATE=0 uses the real one)"
else
  "$0" --install-phase
fi
[ ! -e /usr/bin/coffer ] || die "/usr/bin/coffer is still there"
step "package test passed"
