#!/usr/bin/env bash
# The protected-folder watcher (`coffer watch`, release build) under load.
# Run by hand; never in CI. See bench/README.md.
#
#   bench/watch-latency.sh
#   N=100 BURST=10000 ROUNDS=5 bench/watch-latency.sh
#
# a) N single files (SINGLE_KIB each) written one at a time into a protected
#    folder: latency from the writer's close() to the plaintext being gone
#    (polled every 1 ms), p50/p95/max; afterwards `coffer ls` must list all
#    N files (the plaintext was not just removed: it is in the vault).
# b) a burst of BURST files (BURST_KIB each) written as fast as possible
#    into the protected folder: files/s from the first write to the last
#    plaintext gone, against `coffer protect` and `coffer add` of the same
#    set (fresh folder, fresh vault) in the same round; ROUNDS rounds, each
#    with a fresh vault and watcher, medians reported. The disk is synced
#    before each contender's plaintext is written (and after each round's
#    cleanup) but not after: each one's durability flush also pays for the
#    plaintext it was handed.
# c) idle CPU of the watcher over IDLE_S seconds (utime+stime from
#    /proc/PID/stat, all threads) once the burst is done.
#
# Environment: WORK (/var/tmp/coffer-watch-bench; must not be tmpfs), N (50),
# SINGLE_KIB (64), GAP_MS (300, pause between single files), BURST (5000),
# BURST_KIB (8), ROUNDS (3), IDLE_S (30), NO_BUILD=1 (use the existing
# target/release/coffer), KEEP=1 keeps $WORK afterwards.
set -euo pipefail

WORK=${WORK:-/var/tmp/coffer-watch-bench}
N=${N:-50}
SINGLE_KIB=${SINGLE_KIB:-64}
GAP_MS=${GAP_MS:-300}
BURST=${BURST:-5000}
BURST_KIB=${BURST_KIB:-8}
ROUNDS=${ROUNDS:-3}
IDLE_S=${IDLE_S:-30}
REPO=$(cd "$(dirname "$0")/.." && pwd)
export COFFER_PASSPHRASE=${COFFER_PASSPHRASE:-coffer-bench-passphrase}
unset COFFER_VAULT

say() { printf '\n== %s\n' "$*" >&2; }

if [[ ${NO_BUILD:-0} != 1 ]]; then
    say "building coffer (release)"
    (cd "$REPO" && cargo build --release -q -p coffer-cli)
fi
COFFER=${CARGO_TARGET_DIR:-$REPO/target}/release/coffer
command -v python3 >/dev/null || {
    echo "needs python3 (timing and polling)" >&2
    exit 1
}

mkdir -p "$WORK"
fstype=$(stat -f -c %T "$WORK")
if [[ $fstype == tmpfs || $fstype == ramfs ]]; then
    echo "WORK=$WORK is on $fstype; pick a directory on a real disk" >&2
    exit 1
fi
WORK=$(cd "$WORK" && pwd)
OUT=$WORK/results.txt
: >"$OUT"
WATCH_PID=
stop_watch() {
    if [[ -n $WATCH_PID ]]; then
        kill "$WATCH_PID" 2>/dev/null || true
        wait "$WATCH_PID" 2>/dev/null || true
        WATCH_PID=
    fi
}
cleanup() {
    stop_watch
    [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"/{v,p,set}
}
trap cleanup EXIT

new_vault() {
    rm -rf "$1"
    "$COFFER" --vault "$1" init --kdf-memory 19 --kdf-time 2 --kdf-lanes 1 >/dev/null
}

# start_watch NAME: fresh vault $WORK/v/NAME protecting an empty
# $WORK/p/NAME, watcher started and ready.
start_watch() {
    local v=$WORK/v/$1 d=$WORK/p/$1
    new_vault "$v"
    rm -rf "$d" && mkdir -p "$d"
    "$COFFER" --vault "$v" protect "$d" >/dev/null
    "$COFFER" --vault "$v" --json watch >"$WORK/watch-$1.log" 2>&1 &
    WATCH_PID=$!
    for _ in $(seq 200); do
        grep -q '"ready"' "$WORK/watch-$1.log" && return 0
        sleep 0.05
    done
    echo "the watcher did not report ready:" >&2
    cat "$WORK/watch-$1.log" >&2
    exit 1
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
say "load average at start: $(load)"
echo "started $(date -Is); $(nproc) cores; load average $(load); $fstype under $WORK" >>"$OUT"

# Python does the writing and timing (ns clocks, 1 ms polling).
PY=$(
    cat <<'EOF'
import os, sys, time, statistics

def single(d, n, kib, gap_ms):
    data = os.urandom(kib * 1024)
    lat = []
    for i in range(n):
        p = os.path.join(d, f"single-{i:05}.bin")
        with open(p, "wb") as f:
            f.write(data)
        t0 = time.perf_counter_ns()          # the writer has closed the file
        while os.path.exists(p):
            if time.perf_counter_ns() - t0 > 30e9:
                sys.exit(f"{p} still there after 30 s")
            time.sleep(0.001)
        lat.append((time.perf_counter_ns() - t0) / 1e6)
        time.sleep(gap_ms / 1000)
    lat.sort()
    q = statistics.quantiles(lat, n=100, method="inclusive")
    print(f"p50_ms={q[49]:.1f} p95_ms={q[94]:.1f} min_ms={lat[0]:.1f} max_ms={lat[-1]:.1f} mean_ms={statistics.mean(lat):.1f}")

def make(d, n, kib):
    os.makedirs(d, exist_ok=True)
    data = os.urandom(kib * 1024)
    for i in range(n):
        with open(os.path.join(d, f"f{i:06}"), "wb") as f:
            f.write(data[i % 97:] + data[:i % 97])   # distinct contents

def burst(d, n, kib):
    t0 = time.perf_counter_ns()
    make(d, n, kib)
    t1 = time.perf_counter_ns()
    while True:
        with os.scandir(d) as it:
            if next(it, None) is None:
                break
        if time.perf_counter_ns() - t0 > 600e9:
            sys.exit("burst: files still there after 600 s")
        time.sleep(0.005)
    t2 = time.perf_counter_ns()
    print(f"write_s={(t1 - t0) / 1e9:.3f} total_s={(t2 - t0) / 1e9:.3f} after_last_close_s={(t2 - t1) / 1e9:.3f}")

mode = sys.argv[1]
if mode == "single":
    single(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
elif mode == "make":
    make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
elif mode == "burst":
    burst(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
EOF
)

kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1==k {print $2}'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s%N; }

# ------------------------------------------------------------------- a)
say "a) $N single files of $SINGLE_KIB KiB, one at a time ($GAP_MS ms apart)"
start_watch single
a=$(python3 -c "$PY" single "$WORK/p/single" "$N" "$SINGLE_KIB" "$GAP_MS")
sleep 0.5
enc=$(grep -c '"encrypted"' "$WORK/watch-single.log" || true)
stop_watch
listed=$("$COFFER" --vault "$WORK/v/single" ls | wc -l)
echo "a) $a encrypted_events=$enc listed=$listed of N=$N" | tee -a "$OUT"
[[ $listed -eq $N ]] || echo "a) WARNING: the vault lists $listed files, expected $N" | tee -a "$OUT"

# ------------------------------------------------------------------- b)
say "b) burst of $BURST x $BURST_KIB KiB: watcher vs protect vs add, $ROUNDS rounds"
for ((r = 0; r < ROUNDS; r++)); do
    echo "b) round $r: load average $(load)" >>"$OUT"
    # The watcher: timed from the first write to the last plaintext gone.
    start_watch burst
    sync
    w=$(python3 -c "$PY" burst "$WORK/p/burst" "$BURST" "$BURST_KIB")
    sleep 0.5
    enc=$(grep -c '"encrypted"' "$WORK/watch-burst.log" || true)
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$WATCH_PID/status")
    if ((r == ROUNDS - 1)); then
        # c) idle CPU, on the last round's watcher (its vault holds BURST files).
        sleep 2
        t0=$(awk '{print $14 + $15}' "/proc/$WATCH_PID/stat")
        s0=$(now)
        sleep "$IDLE_S"
        t1=$(awk '{print $14 + $15}' "/proc/$WATCH_PID/stat")
        s1=$(now)
        hz=$(getconf CLK_TCK)
        idle=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s0="$s0" -v s1="$s1" 'BEGIN {
            cpu = (b - a) / hz; wall = (s1 - s0) / 1e9;
            printf "cpu_s=%.2f wall_s=%.1f pct_of_one_core=%.3f", cpu, wall, 100 * cpu / wall }')
    fi
    stop_watch
    echo "b) round $r watcher: $w encrypted_events=$enc of $BURST watcher_VmHWM_KiB=$hwm" | tee -a "$OUT"

    # `coffer protect` of the same set: encrypt + remove the originals.
    new_vault "$WORK/v/protect"
    rm -rf "$WORK/set"
    sync
    python3 -c "$PY" make "$WORK/set/protect" "$BURST" "$BURST_KIB"
    t0=$(now)
    "$COFFER" --vault "$WORK/v/protect" protect "$WORK/set/protect" >/dev/null
    t1=$(now)
    left=$(find "$WORK/set/protect" -type f | wc -l)
    echo "b) round $r protect: total_s=$(awk -v ns=$((t1 - t0)) 'BEGIN {printf "%.3f", ns/1e9}') left=$left" | tee -a "$OUT"

    # `coffer add` of the same set (originals kept).
    new_vault "$WORK/v/add"
    sync
    python3 -c "$PY" make "$WORK/set/add" "$BURST" "$BURST_KIB"
    t0=$(now)
    "$COFFER" --vault "$WORK/v/add" add "$WORK/set/add" >/dev/null
    t1=$(now)
    echo "b) round $r add: total_s=$(awk -v ns=$((t1 - t0)) 'BEGIN {printf "%.3f", ns/1e9}')" | tee -a "$OUT"
    # Settle the deletes (and, with `-o discard`, their discards) before
    # the next round: they slowed the next round's contenders otherwise.
    rm -rf "$WORK/v/protect" "$WORK/v/add" "$WORK/set"
    sync
    sleep 2
done
echo "c) idle watcher over ${IDLE_S} s: $idle" | tee -a "$OUT"

# ---------------------------------------------------------------- table
med() { grep "^b) round .* $1:" "$OUT" | grep -o "$2=[0-9.]*" | cut -d= -f2 | median; }
w_total=$(med watcher total_s)
w_after=$(med watcher after_last_close_s)
w_write=$(med watcher write_s)
p_total=$(med protect total_s)
d_total=$(med add total_s)
fps() { awk -v n="$BURST" -v s="$1" 'BEGIN {printf "%.0f", n/s}'; }
{
    echo
    echo "summary (medians of $ROUNDS rounds for b)"
    echo "a) close -> plaintext gone, $N x $SINGLE_KIB KiB: $(kv "$a" p50_ms) ms p50, $(kv "$a" p95_ms) ms p95, $(kv "$a" max_ms) ms max"
    echo "b) watcher, first write -> last plaintext gone: ${w_total} s = $(fps "$w_total") files/s (writing took ${w_write} s; ${w_after} s after the last close)"
    echo "b) coffer protect: ${p_total} s = $(fps "$p_total") files/s; coffer add: ${d_total} s = $(fps "$d_total") files/s"
    echo "b) watcher files/s / protect files/s = $(awk -v w="$w_total" -v p="$p_total" 'BEGIN {printf "%.2f", p/w}')" \
        "(from the last close: $(awk -v w="$w_after" -v p="$p_total" 'BEGIN {printf "%.2f", p/w}'));" \
        "watcher / add = $(awk -v w="$w_total" -v p="$d_total" 'BEGIN {printf "%.2f", p/w}')"
    # From the first write, no watcher can finish before the writer has
    # written everything and the last file has been quiet for 200 ms: the
    # ratio a watcher that cost nothing would reach.
    echo "b) ceiling of that ratio set by the writer (protect / (writing + 0.2 s quiet)):" \
        "$(awk -v w="$w_write" -v p="$p_total" 'BEGIN {printf "%.2f", p/(w+0.2)}')"
    echo "c) idle: $idle"
    echo "finished $(date -Is); load average $(load)"
} | tee -a "$OUT"
