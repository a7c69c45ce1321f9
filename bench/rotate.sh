#!/usr/bin/env bash
# Key rotation at depth 2 (rewrap every DEK to a new key version) against
# depth 3 (re-encrypt every byte under new keys), on the same vault, in one
# run. Prints files/s for each and the ratio. Run by hand; see bench/README.md.
#
#   bench/rotate.sh                    # 10,000 files of 1 MiB (needs ~25 GiB free)
#   N=2000 SIZE_KIB=256 bench/rotate.sh
#
# Environment: N (10000), SIZE_KIB (1024), RUNS (3: depth 2 is repeated, as
# it is short and noisy; depth 3 runs once), WORK (/var/tmp/coffer-rotate;
# must not be tmpfs), KEEP=1 keeps $WORK.
set -euo pipefail

N=${N:-10000}
SIZE_KIB=${SIZE_KIB:-1024}
RUNS=${RUNS:-3}
WORK=${WORK:-/var/tmp/coffer-rotate}
REPO=$(cd "$(dirname "$0")/.." && pwd)
export COFFER_PASSPHRASE=${COFFER_PASSPHRASE:-coffer-bench-passphrase}

need_kib=$((N * SIZE_KIB * 5 / 2))
free_kib=$(df -Pk "$(dirname "$WORK")" | awk 'NR==2 {print $4}')
if ((free_kib < need_kib)); then
    echo "needs ~$((need_kib / 1048576)) GiB free under $(dirname "$WORK"); has $((free_kib / 1048576)) GiB (set N or SIZE_KIB)" >&2
    exit 1
fi

(cd "$REPO" && cargo build --release -q -p coffer-cli)
COFFER=${CARGO_TARGET_DIR:-$REPO/target}/release/coffer
rm -rf "$WORK"
mkdir -p "$WORK/src"
trap '[[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"' EXIT
V="$WORK/vault"

echo "== $N files of $SIZE_KIB KiB ($(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$WORK/src" "$N" "$SIZE_KIB" <<'PY'
import os, sys
root, n, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
block = os.urandom(1 << 20)
for i in range(n):
    d = os.path.join(root, f"d{i // 1000:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        left = kib * 1024
        while left:
            k = min(left, len(block))
            f.write(block[:k])
            left -= k
PY
# A light KDF: unlocking is not what is measured.
"$COFFER" --vault "$V" init --kdf-memory 19 --kdf-time 2 --kdf-lanes 1 >/dev/null

timed() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1"
}
# Cold caches for add and depth 3, which read every byte from the disk.
cold() { sync && { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null || true; }

# add's durable throughput on the same files: depth 3's yardstick.
cold
add_s=$(timed "$COFFER" --vault "$V" add "$WORK/src")
rm -rf "$WORK/src"

d2=()
for _ in $(seq "$RUNS"); do
    sync
    d2+=("$(timed "$COFFER" --vault "$V" rotate)")
done
d2_med=$(printf '%s\n' "${d2[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
cold
# The passphrase was not exposed: this measures re-encryption, not a
# change of credentials.
d3=$(timed "$COFFER" --vault "$V" rotate --reencrypt --keep-passphrase)
"$COFFER" --vault "$V" verify >/dev/null

python3 - "$N" "$SIZE_KIB" "$d2_med" "$d3" "${d2[*]}" "$add_s" <<'PY'
import sys
n, kib, d2, d3, runs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
add = float(sys.argv[6])
mib = n * kib / 1024
print(f"add (durable, cold):          {add:7.2f} s  {n / add:9.0f} files/s  {mib / add:7.0f} MiB/s")
print(f"depth 2 (rewrap):      median {d2:7.2f} s  {n / d2:9.0f} files/s   (runs: {runs})")
print(f"depth 3 (re-encrypt):         {d3:7.2f} s  {n / d3:9.0f} files/s  {n * kib / 1024 / d3:7.0f} MiB/s")
print(f"depth 2 / depth 3 time: 1/{d3 / d2:.1f}   (target: at most 1/20; depth 2 at least 10,000 files/s)")
r = add / d3
print(f"depth 3 throughput / add's: {r:.2f}   target >= 0.8   {'met' if r >= 0.8 else 'MISSED'}")
print(f"depth 2 files/s: {n / d2:.0f}   target >= 10000   {'met' if n / d2 >= 10000 else 'MISSED'}")
PY
echo "(both include process start and one unlock; every file verified afterwards)"
