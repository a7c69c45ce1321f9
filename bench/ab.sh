#!/usr/bin/env bash
# Two builds of `coffer` against each other, interleaved in the same run:
# the check that a change (a refactor, a dependency bump) did not slow the
# file path. Run by hand, as root (drop_caches); never in CI.
#
#   bench/ab.sh OLD_COFFER NEW_COFFER
#   RUNS=7 BIG_MIB=1024 SMALL_N=10000 bench/ab.sh old/coffer target/release/coffer
#
# Rows (each: median of RUNS rounds, the contenders' order alternating
# from round to round, caches dropped before every timed command):
#   add BIG_MIB, durable   `coffer add` + sync
#   extract, durable       `coffer extract` + sync
#   protect SMALL_N files  `coffer protect` of SMALL_N x 8 KiB (+ sync)
# Prints NEW / OLD as a time ratio per row: below 1 is faster.
set -euo pipefail
[[ $# -eq 2 ]] || { sed -n 2,14p "$0" >&2; exit 2; }
OLD=$(realpath "$1")
NEW=$(realpath "$2")
RUNS=${RUNS:-5}
BIG_MIB=${BIG_MIB:-512}
SMALL_N=${SMALL_N:-5000}
WORK=${WORK:-/var/tmp/coffer-ab}
export COFFER_PASSPHRASE=coffer-bench-passphrase

rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
head -c "$((BIG_MIB << 20))" /dev/urandom >"$WORK/big.bin"
mkdir "$WORK/small"
for ((i = 0; i < SMALL_N; i++)); do head -c 8192 /dev/urandom >"$WORK/small/f$i"; done
drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
ns() { date +%s%N; }
vault() {
    rm -rf "$WORK/v-$1"
    "$2" --vault "$WORK/v-$1" init --kdf-memory 19 --kdf-time 2 --kdf-lanes 1 >/dev/null
}

: >"$WORK/rows.tsv"
one_round() { # NAME BIN
    local name=$1 bin=$2 t0
    vault "$name" "$bin"
    drop; t0=$(ns)
    "$bin" --vault "$WORK/v-$name" add "$WORK/big.bin" >/dev/null; sync
    printf 'add\t%s\t%d\n' "$name" $(($(ns) - t0)) >>"$WORK/rows.tsv"
    rm -rf "$WORK/out-$name"
    drop; t0=$(ns)
    "$bin" --vault "$WORK/v-$name" extract big.bin --to "$WORK/out-$name" >/dev/null; sync
    printf 'extract\t%s\t%d\n' "$name" $(($(ns) - t0)) >>"$WORK/rows.tsv"
    rm -rf "$WORK/p-$name"; cp -r "$WORK/small" "$WORK/p-$name"
    vault "$name" "$bin"
    drop; t0=$(ns)
    "$bin" --vault "$WORK/v-$name" protect "$WORK/p-$name" >/dev/null; sync
    printf 'protect\t%s\t%d\n' "$name" $(($(ns) - t0)) >>"$WORK/rows.tsv"
    rm -rf "$WORK/out-$name" "$WORK/p-$name"
}
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((r = 0; r < RUNS; r++)); do
    if ((r % 2)); then one_round new "$NEW"; one_round old "$OLD"
    else one_round old "$OLD"; one_round new "$NEW"; fi
    echo "round $((r + 1))/$RUNS done" >&2
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
med() { awk -F'\t' -v r="$1" -v c="$2" '$1==r && $2==c {print $3}' "$WORK/rows.tsv" |
    sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf '%-28s %10s %10s %8s\n' "row (median of $RUNS)" "old s" "new s" "new/old"
for row in add extract protect; do
    o=$(med $row old); n=$(med $row new)
    label=$row
    case $row in
        add) label="add ${BIG_MIB} MiB, durable" ;;
        extract) label="extract ${BIG_MIB} MiB, durable" ;;
        protect) label="protect ${SMALL_N} x 8 KiB" ;;
    esac
    awk -v l="$label" -v o="$o" -v n="$n" 'BEGIN {printf "%-28s %10.3f %10.3f %8.2f\n", l, o/1e9, n/1e9, n/o}'
done
