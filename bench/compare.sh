#!/usr/bin/env bash
# Coffer against cp, age, rage and gocryptfs on the same disk. Run by hand,
# as root (drop_caches, apt-get, FUSE); never in CI. See bench/README.md.
#
#   bench/compare.sh                 # everything, 5 runs per contender
#   RUNS=7 SECTIONS="a b" bench/compare.sh
#
# Environment: RUNS (5), WARMUP (1 unrecorded round), SECTIONS ("a b c d e"), WORK (/var/tmp/coffer-bench;
# must not be tmpfs), BIG_MIB (1024), SMALL_N (10000), SMALL_KIB (8),
# RSS_RUNS (3), HUGE_GIB (section d's file: 10, or 4 with <= 40 GiB free),
# RAGE=0 (skip trying `cargo install rage`), KEEP=1 keeps $WORK afterwards.
#
# Contenders are interleaved: every round runs each contender once, in an
# order rotated from round to round; the table shows the median per
# contender. Timings are wall-clock around the whole command (process
# start, and sync where the row says so).
set -euo pipefail

# SMOKE=1: the CI-sized run of scripts/test.sh (small sizes, 3 rounds, no
# gocryptfs or rage, no 10 GiB file): it prints the same ratios against the
# same goals so a regression shows in every CI log, and never fails on them.
if [[ ${SMOKE:-0} == 1 ]]; then
    : "${RUNS:=3}" "${SECTIONS:=a b c e}" "${BIG_MIB:=128}" "${SMALL_N:=1000}"
    : "${RAGE:=0}" "${GOCRYPTFS:=0}"
fi
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
SECTIONS=${SECTIONS:-"a b c d e"}
WORK=${WORK:-/var/tmp/coffer-bench}
BIG_MIB=${BIG_MIB:-1024}
SMALL_N=${SMALL_N:-10000}
SMALL_KIB=${SMALL_KIB:-8}
RSS_RUNS=${RSS_RUNS:-3}
REPO=$(cd "$(dirname "$0")/.." && pwd)
export COFFER_PASSPHRASE=${COFFER_PASSPHRASE:-coffer-bench-passphrase}

say() { printf '\n== %s\n' "$*" >&2; }
note() { printf '   %s\n' "$*" >&2; NOTES+=("$*"); }
NOTES=("started $(date -Is) on $(nproc) cores")
has() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- setup
say "building coffer (release) and the seal_file example"
(cd "$REPO" && cargo build --release -q -p coffer-cli &&
    cargo build --release -q -p coffer-core --example seal_file)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
COFFER=$TARGET/release/coffer
SEAL_FILE=$TARGET/release/examples/seal_file

say "peers"
missing=()
peers=(age:age age-keygen:age)
if [[ ${GOCRYPTFS:-1} != 0 ]]; then peers+=(gocryptfs:gocryptfs fusermount3:fuse3); fi
for t in "${peers[@]}"; do
    has "${t%%:*}" || missing+=("${t#*:}")
done
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [[ ${RAGE:-1} == 0 ]]; then
    note "rage: skipped (RAGE=0)"
elif ! has rage; then
    start=$(date +%s)
    if timeout 180 cargo install -q --locked rage >/dev/null 2>&1; then
        note "rage installed with cargo install in $(($(date +%s) - start)) s"
    else
        note "rage: cargo install did not finish within 3 min (or failed); rage skipped"
    fi
fi
export PATH=$PATH:${CARGO_HOME:-$HOME/.cargo}/bin
HAVE_RAGE=0
if [[ ${RAGE:-1} != 0 ]] && has rage; then HAVE_RAGE=1; fi

mkdir -p "$WORK"
fstype=$(stat -f -c %T "$WORK")
if [[ $fstype == tmpfs || $fstype == ramfs ]]; then
    echo "WORK=$WORK is on $fstype; pick a directory on a real disk" >&2
    exit 1
fi
WORK=$(cd "$WORK" && pwd)
RES=$WORK/results.tsv
: >"$RES"
cleanup() {
    if [[ -n ${MON_PID:-} ]]; then kill "$MON_PID" 2>/dev/null || true; fi
    if mountpoint -q "$WORK/gc/plain" 2>/dev/null; then fusermount3 -u "$WORK/gc/plain" || true; fi
    [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"/{src,out,v,gc,huge,cpy,*.age,*.obj,*.obj.dek,key.txt}
}
trap cleanup EXIT

DROP=1
drop_caches() {
    sync
    if ((DROP)); then echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || {
        DROP=0
        note "could not drop caches (not root?): every contender runs with whatever is cached"
    }; fi
}
warm() { cat "$@" >/dev/null; }

# Times one command; peak RSS of the last process run under `rt` goes to
# $WORK/last.rss.
rt() { /usr/bin/time -f %M -o "$WORK/last.rss" "$@" >/dev/null; }
new_vault() {
    rm -rf "$1"
    "$COFFER" --vault "$1" init --kdf-memory 19 --kdf-time 2 --kdf-lanes 1 >/dev/null
}

# Waits (up to 20 s) until the kernel has written back the dirty pages of
# earlier runs: on this VM's disk a run that starts while a gigabyte is
# still being written back took 2-8x as long (first rounds of a), b)).
# Not between warming and running: the development VM runs a DAMON
# "pageout" scheme (kdamond) that evicts page-cache pages idle for a few
# seconds, so a warmed file must be used at once.
settle() {
    sync
    local i
    for ((i = 0; i < 200; i++)); do
        (($(awk '/^(Dirty|Writeback):/ {s += $2} END {print s}' /proc/meminfo) < 4096)) && return 0
        sleep 0.1
    done
}

# measure GROUP CONTENDER... : WARMUP unrecorded rounds (the first round
# after a section's setup ran up to 3x slower than the rest), then RUNS
# rounds; each round runs prep_C, settles, then (timed) run_C for every
# contender C, starting at a different one each round. Rows: group,
# contender, round, ns, peak RSS KiB.
measure() {
    local group=$1
    shift
    local cs=("$@") n=$# r k c t0 t1
    for ((r = -WARMUP; r < RUNS; r++)); do
        for ((k = 0; k < n; k++)); do
            c=${cs[$(((k + r + WARMUP) % n))]}
            echo 0 >"$WORK/last.rss"
            # Settled before prep: a prep that warms the source must be
            # the last thing before the run (see settle).
            settle
            "prep_$c"
            t0=$(date +%s%N)
            "run_$c"
            t1=$(date +%s%N)
            if ((r < 0)); then
                printf '   %-4s %-16s warm-up  %8s s\n' "$group" "$c" "$(secs $((t1 - t0)))" >&2
                continue
            fi
            printf '%s\t%s\t%d\t%d\t%s\n' "$group" "$c" "$r" $((t1 - t0)) "$(cat "$WORK/last.rss")" >>"$RES"
            printf '   %-4s %-16s round %d  %8s s\n' "$group" "$c" "$r" "$(secs $((t1 - t0)))" >&2
        done
    done
}

# median GROUP CONTENDER [column] : median of column 4 (ns) or 5 (RSS KiB).
median() {
    awk -F'\t' -v g="$1" -v c="$2" -v col="${3:-4}" '$1==g && $2==c {print $col}' "$RES" |
        sort -n | awk '{a[NR]=$1} END {if (NR==0) print ""; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
secs() { awk -v ns="$1" 'BEGIN {printf "%.3f", ns/1e9}'; }

# Other work on the machine during a section: whole-machine CPU use minus
# our own (bash `times`: this script and everything it waited for), and
# which other processes were seen running (state R, another process group).
MYPGID=$(ps -o pgid= $$ | tr -d ' ')
cpu_jiffies() { head -1 /proc/stat | awk '{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}'; }
# Our CPU seconds so far (this shell and its waited-for children), into
# $1. `times` must run in this shell, not in a $(...) subshell.
our_cpu() {
    times >"$WORK/times.txt"
    printf -v "$1" '%s' "$(awk '{for (i=1; i<=2; i++) {split($i, a, "m"); s += a[1]*60 + a[2]}} END {print s}' "$WORK/times.txt")"
}
mon_start() {
    MON_CPU0=$(cpu_jiffies)
    our_cpu MON_OURS0
    MON_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
    (
        set +e
        while :; do
            ps -eo stat=,pgid=,comm= | awk -v me="$MYPGID" '$1 ~ /^R/ && $2 != me {print $3}'
            echo --
            sleep 1
        done
    ) >"$WORK/mon.txt" 2>/dev/null &
    MON_PID=$!
}
mon_stop() {
    kill "$MON_PID" 2>/dev/null || true
    wait "$MON_PID" 2>/dev/null || true
    local cpu1 ours1 hz others
    cpu1=$(cpu_jiffies)
    our_cpu ours1
    hz=$(getconf CLK_TCK)
    others=$(awk -v a="$MON_CPU0" -v b="$cpu1" -v o0="$MON_OURS0" -v o1="$ours1" -v hz="$hz" -v n="$(nproc)" 'BEGIN {
        split(a, x, " "); split(b, y, " "); busy = (y[1]-x[1])/hz; wall = (y[2]-x[2])/hz/n; ours = o1-o0;
        printf "machine busy %.0f%% of %d cores over %.0f s; others used ~%.1f core-s (%.0f%% of the machine)", 100*busy/(wall*n), n, wall, busy-ours, 100*(busy-ours)/(wall*n) }')
    local seen
    seen=$(awk '$0 == "--" {n++; next} {c[$1]++} END {for (k in c) printf "%s(%d/%d) ", k, c[k], n}' "$WORK/mon.txt" |
        tr ' ' '\n' | sort -t'(' -k2 -rn | head -8 | tr '\n' ' ')
    note "$1: load avg at start $MON_LOAD; $others; other processes seen running (samples/total): ${seen:-none}"
}

mkdir -p "$WORK/src" "$WORK/out"
BIG=$WORK/src/big.bin
if [[ ! -f $BIG || $(stat -c %s "$BIG") -ne $((BIG_MIB << 20)) ]]; then
    say "making a ${BIG_MIB} MiB random file"
    head -c $((BIG_MIB << 20)) /dev/urandom >"$BIG"
fi
BYTES=$((BIG_MIB << 20))

# The small files of c) and e): SMALL_N random files of SMALL_KIB KiB in
# $SMALL, made once.
SMALL=$WORK/src/small
make_small() {
    if [[ ! -d $SMALL || $(find "$SMALL" -type f | wc -l) -ne $SMALL_N ]]; then
        rm -rf "$SMALL" && mkdir -p "$SMALL"
        head -c $((SMALL_N * SMALL_KIB * 1024)) /dev/urandom |
            (cd "$SMALL" && split -b $((SMALL_KIB * 1024)) -a 6 -d - f)
    fi
}

# ------------------------------------------------- a) 1 GiB, durable
if [[ $SECTIONS == *a* ]]; then
    say "a) ${BIG_MIB} MiB file, durable (caches dropped before every run)"
    mon_start
    new_vault "$WORK/v/ex"
    "$COFFER" --vault "$WORK/v/ex" add "$BIG" >/dev/null
    cp "$BIG" "$WORK/src/big.copy"
    prep_coffer_add() { new_vault "$WORK/v/add"; drop_caches; }
    run_coffer_add() { rt "$COFFER" --vault "$WORK/v/add" add "$BIG"; }
    prep_cp_sync() { rm -f "$WORK/out/big.cp"; drop_caches; }
    run_cp_sync() { rt cp "$BIG" "$WORK/out/big.cp" && sync; }
    prep_coffer_extract() { rm -rf "$WORK/out/ex"; drop_caches; }
    run_coffer_extract() { rt "$COFFER" --vault "$WORK/v/ex" extract big.bin --to "$WORK/out/ex"; }
    prep_cp_back_sync() { rm -f "$WORK/out/big.back"; drop_caches; }
    run_cp_back_sync() { rt cp "$WORK/src/big.copy" "$WORK/out/big.back" && sync; }
    measure a coffer_add cp_sync coffer_extract cp_back_sync
    cmp "$BIG" "$WORK/out/ex/big.bin"
    mon_stop a
    rm -rf "$WORK/v/add" "$WORK/out/ex" "$WORK/out/big.cp" "$WORK/out/big.back"
fi

# ---------------------------------------------- b) 1 GiB, no sync
if [[ $SECTIONS == *b* ]]; then
    say "b) ${BIG_MIB} MiB file, no sync (source warm in the page cache; outputs synced away before each run)"
    mon_start
    age-keygen -o "$WORK/key.txt" 2>/dev/null
    RCPT=$(age-keygen -y "$WORK/key.txt")
    "$SEAL_FILE" seal "$BIG" "$WORK/src/big.obj" >/dev/null
    age -r "$RCPT" -o "$WORK/src/big.age" "$BIG"
    if ((HAVE_RAGE)); then rage -r "$RCPT" -o "$WORK/src/big.rage" "$BIG"; fi
    cp "$BIG" "$WORK/src/big.copy"
    # Caches dropped, then only the source warmed: with gigabytes of other
    # files cached, the VM's page-out scheme (see settle) made runs of
    # every contender vary 2-4x.
    clean_b() { rm -f "$WORK"/out/b.*; drop_caches; }
    prep_coffer_seal() { clean_b; warm "$BIG"; }
    run_coffer_seal() { rt "$SEAL_FILE" seal "$BIG" "$WORK/out/b.obj"; }
    prep_cp() { clean_b; warm "$BIG"; }
    run_cp() { rt cp "$BIG" "$WORK/out/b.cp"; }
    # cp copies in the kernel (copy_file_range); dd copies through a user
    # buffer as Coffer must, so it is the floor for a reader-writer.
    prep_dd() { clean_b; warm "$BIG"; }
    run_dd() { rt dd if="$BIG" of="$WORK/out/b.dd" bs=2M status=none; }
    prep_dd_back() { clean_b; warm "$WORK/src/big.copy"; }
    run_dd_back() { rt dd if="$WORK/src/big.copy" of="$WORK/out/b.ddback" bs=2M status=none; }
    prep_age_enc() { clean_b; warm "$BIG"; }
    run_age_enc() { rt age -r "$RCPT" -o "$WORK/out/b.age" "$BIG"; }
    prep_rage_enc() { clean_b; warm "$BIG"; }
    run_rage_enc() { rt rage -r "$RCPT" -o "$WORK/out/b.rage" "$BIG"; }
    prep_coffer_open() { clean_b; warm "$WORK/src/big.obj"; }
    run_coffer_open() { rt "$SEAL_FILE" open "$WORK/src/big.obj" "$WORK/out/b.dec"; }
    prep_cp_back() { clean_b; warm "$WORK/src/big.copy"; }
    run_cp_back() { rt cp "$WORK/src/big.copy" "$WORK/out/b.back"; }
    prep_age_dec() { clean_b; warm "$WORK/src/big.age"; }
    run_age_dec() { rt age -d -i "$WORK/key.txt" -o "$WORK/out/b.agedec" "$WORK/src/big.age"; }
    prep_rage_dec() { clean_b; warm "$WORK/src/big.rage"; }
    run_rage_dec() { rt rage -d -i "$WORK/key.txt" -o "$WORK/out/b.ragedec" "$WORK/src/big.rage"; }
    enc=(coffer_seal cp dd age_enc) dec=(coffer_open cp_back dd_back age_dec)
    if ((HAVE_RAGE)); then enc+=(rage_enc) dec+=(rage_dec); fi
    measure b "${enc[@]}" "${dec[@]}"
    mon_stop b
    cmp "$BIG" "$WORK/out/b.dec" 2>/dev/null || { "$SEAL_FILE" open "$WORK/src/big.obj" "$WORK/out/b.dec" >/dev/null && cmp "$BIG" "$WORK/out/b.dec"; }
    clean_b
    rm -f "$WORK/src/big.obj" "$WORK/src/big.obj.dek" "$WORK/src/big.age" "$WORK/src/big.rage" "$WORK/src/big.copy"
fi

# ------------------------------------ c) many small files, durable
if [[ $SECTIONS == *c* ]]; then
    say "c) ${SMALL_N} x ${SMALL_KIB} KiB files, durable (caches dropped before every run)"
    mon_start
    make_small
    prep_coffer_add_dir() { new_vault "$WORK/v/small"; drop_caches; }
    run_coffer_add_dir() { rt "$COFFER" --vault "$WORK/v/small" add "$SMALL"; }
    prep_cp_r_sync() { rm -rf "$WORK/out/small"; drop_caches; }
    run_cp_r_sync() { rt cp -r "$SMALL" "$WORK/out/small" && sync; }
    prep_gocryptfs() {
        mountpoint -q "$WORK/gc/plain" 2>/dev/null && fusermount3 -u "$WORK/gc/plain"
        rm -rf "$WORK/gc" && mkdir -p "$WORK/gc/cipher" "$WORK/gc/plain"
        gocryptfs -q -init -extpass 'echo pw' -scryptn 10 "$WORK/gc/cipher" >/dev/null
        gocryptfs -q -nosyslog -extpass 'echo pw' "$WORK/gc/cipher" "$WORK/gc/plain"
        drop_caches
    }
    run_gocryptfs() { rt cp -r "$SMALL" "$WORK/gc/plain/small" && sync; }
    if [[ ${GOCRYPTFS:-1} != 0 ]]; then
        measure c coffer_add_dir cp_r_sync gocryptfs
    else
        measure c coffer_add_dir cp_r_sync
    fi
    mon_stop c
    n=$("$COFFER" --vault "$WORK/v/small" ls | wc -l)
    [[ $n -eq $SMALL_N ]] || note "c) the last coffer vault lists $n files, expected $SMALL_N"
    if mountpoint -q "$WORK/gc/plain" 2>/dev/null; then fusermount3 -u "$WORK/gc/plain"; fi
    rm -rf "$WORK/v/small" "$WORK/out/small" "$WORK/gc"
fi

# ---------------------------- e) protect vs add of the same small files
if [[ $SECTIONS == *e* ]]; then
    say "e) protect vs add: ${SMALL_N} x ${SMALL_KIB} KiB files (caches dropped before every run)"
    mon_start
    make_small
    # protect removes the plaintexts: it works on a copy, made before the
    # caches are dropped; add reads the same copy.
    # Every protect run must leave no plaintext: checked before the next
    # prep replaces the copy (outside the timed run).
    protect_ran=0
    check_protected() {
        ((protect_ran)) || return 0
        protect_ran=0
        local left
        left=$(find "$WORK/e" -type f | wc -l)
        [[ $left -eq 0 ]] || note "e) protect left $left plaintexts"
    }
    prep_coffer_add_e() { check_protected; new_vault "$WORK/v/e"; rm -rf "$WORK/e" && cp -r "$SMALL" "$WORK/e"; drop_caches; }
    run_coffer_add_e() { rt "$COFFER" --vault "$WORK/v/e" add "$WORK/e"; }
    prep_coffer_protect() { prep_coffer_add_e; protect_ran=1; }
    run_coffer_protect() { rt "$COFFER" --vault "$WORK/v/e" protect "$WORK/e"; }
    measure e coffer_add_e coffer_protect
    check_protected
    mon_stop e
    rm -rf "$WORK/v/e" "$WORK/e"
fi

# ------------------------------------------------- d) peak RSS
HUGE_GIB=${HUGE_GIB:-10}
if [[ $SECTIONS == *d* ]]; then
    free_gib=$(($(df --output=avail -B1G "$WORK" | tail -1)))
    if ((free_gib <= 40 && HUGE_GIB > 4)); then
        HUGE_GIB=4
        note "d) only ${free_gib} GiB free under $WORK: using a 4 GiB file instead of 10 GiB"
    fi
    say "d) peak RSS of coffer add, ${HUGE_GIB} GiB real file (${free_gib} GiB free)"
    mon_start
    HUGE=$WORK/huge/huge.bin
    mkdir -p "$WORK/huge"
    if [[ ! -f $HUGE || $(stat -c %s "$HUGE") -ne $((HUGE_GIB << 30)) ]]; then
        # Real blocks on disk: the random 1 GiB file repeated.
        : >"$HUGE"
        for ((i = 0; i < HUGE_GIB * 1024 / BIG_MIB; i++)); do cat "$BIG" >>"$HUGE"; done
        truncate -s $((HUGE_GIB << 30)) "$HUGE"
    fi
    prep_coffer_add_huge() { new_vault "$WORK/v/huge"; drop_caches; }
    run_coffer_add_huge() { rt "$COFFER" --vault "$WORK/v/huge" add "$HUGE"; }
    saved=$RUNS
    RUNS=$RSS_RUNS
    measure d coffer_add_huge
    mon_stop d
    RUNS=$saved
    rm -rf "$WORK/v/huge" "$WORK/huge"
fi

# ------------------------------------------------------------ table
say "results (medians of $RUNS runs; d: $RSS_RUNS runs; raw rows in $RES)"
{
    printf '%-4s %-16s %10s %11s %10s %9s\n' sect contender "median s" "MiB/s" "RSS MiB" "spread"
    awk -F'\t' '{print $1"\t"$2}' "$RES" | awk '!seen[$0]++' | while IFS=$'\t' read -r g c; do
        m=$(median "$g" "$c")
        rss=$(median "$g" "$c" 5)
        case $g in
        a | b) mb=$(awk -v b="$BYTES" -v ns="$m" 'BEGIN {printf "%.0f", b/1048576/(ns/1e9)}') ;;
        c | e) mb=$(awk -v b="$((SMALL_N * SMALL_KIB * 1024))" -v ns="$m" 'BEGIN {printf "%.0f", b/1048576/(ns/1e9)}') ;;
        d) mb=$(awk -v b="$((HUGE_GIB << 30))" -v ns="$m" 'BEGIN {printf "%.0f", b/1048576/(ns/1e9)}') ;;
        esac
        # (slowest - fastest) / median: how far one round can be trusted.
        spread=$(awk -F'\t' -v g="$g" -v c="$c" -v m="$m" '$1==g && $2==c {if (!n || $4<lo) lo=$4; if ($4>hi) hi=$4; n++} END {printf "%.0f%%", 100*(hi-lo)/m}' "$RES")
        printf '%-4s %-16s %10s %11s %10s %9s\n' "$g" "$c" "$(secs "$m")" "$mb" "$(awk -v k="$rss" 'BEGIN {printf "%.1f", k/1024}')" "$spread"
    done
} | tee "$WORK/table.txt"

# ratio GROUP NUM DEN : median(DEN)/median(NUM) = NUM's throughput relative to DEN.
ratio() {
    local a b
    a=$(median "$1" "$2") b=$(median "$1" "$3")
    [[ -n $a && -n $b ]] && awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b/a}'
}
check() { # label value op target
    local verdict
    [[ -z $2 ]] && return 0
    verdict=$(awk -v v="$2" -v t="$4" -v op="$3" 'BEGIN {ok = (op == ">=") ? v >= t : v <= t; print ok ? "met" : "MISSED"}')
    printf '%-58s %8s   target %s %s   %s\n' "$1" "$2" "$3" "$4" "$verdict"
}
echo
echo "targets"
{
    # The goals of issue #18.
    if [[ $SECTIONS == *a* ]]; then
        check "a) add: coffer throughput / (cp + sync)" "$(ratio a coffer_add cp_sync)" ">=" 0.9
        check "a) extract: coffer throughput / (cp back + sync)" "$(ratio a coffer_extract cp_back_sync)" ">=" 0.9
    fi
    if [[ $SECTIONS == *b* ]]; then
        check "b) seal, no sync: coffer throughput / cp" "$(ratio b coffer_seal cp)" ">=" 0.8
        check "b) seal, no sync: coffer throughput / age" "$(ratio b coffer_seal age_enc)" ">=" 1.5
        if ((HAVE_RAGE)); then check "b) seal, no sync: coffer throughput / rage" "$(ratio b coffer_seal rage_enc)" ">=" 1.5; fi
        echo "   (seal / dd bs=2M, a copy through user space: $(ratio b coffer_seal dd))"
        check "b) open, no sync: coffer throughput / cp" "$(ratio b coffer_open cp_back)" ">=" 0.8
        echo "   (open / dd bs=2M: $(ratio b coffer_open dd_back))"
        check "b) open, no sync: coffer throughput / age -d" "$(ratio b coffer_open age_dec)" ">=" 1.5
        if ((HAVE_RAGE)); then check "b) open, no sync: coffer throughput / rage -d" "$(ratio b coffer_open rage_dec)" ">=" 1.5; fi
    fi
    if [[ $SECTIONS == *c* ]]; then
        check "c) small files: coffer time / (cp -r + sync)" "$(ratio c cp_r_sync coffer_add_dir)" "<=" 1.5
        if [[ ${GOCRYPTFS:-1} != 0 ]]; then
            echo "   (gocryptfs time / (cp -r + sync): $(ratio c cp_r_sync gocryptfs); coffer time / gocryptfs: $(ratio c gocryptfs coffer_add_dir))"
        fi
    fi
    if [[ $SECTIONS == *e* ]]; then
        check "e) small files: protect time / add time" "$(ratio e coffer_add_e coffer_protect)" "<=" 1.5
    fi
    if [[ $SECTIONS == *d* ]]; then
        max=$(awk -F'\t' '$1=="d" {if ($5>m) m=$5} END {printf "%.1f", m/1024}' "$RES")
        check "d) coffer add ${HUGE_GIB} GiB: max peak RSS (MiB)" "$max" "<=" 64
    fi
} | tee -a "$WORK/table.txt"
{
    echo
    echo "notes"
    printf '   %s\n' "${NOTES[@]}"
    echo "   a) and c): the coffer vaults use Argon2id m=19 MiB, t=2, p=1 (keeps extract's unlock cheap; add needs no unlock)"
    echo "   b) coffer rows run crates/coffer-core/examples/seal_file (Sealed::write / decrypt_stream, no fsync): the CLI always syncs"
} | tee -a "$WORK/table.txt"
